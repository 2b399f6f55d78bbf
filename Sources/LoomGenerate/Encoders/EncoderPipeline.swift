import Foundation
import LoomCore
import LoomModels
import LoomNN
import LoomTokenizers

/// What the encoder pipelines share: an `EncoderModel` from the Auto registry, the
/// directory's tokenizer (AutoTokenizer), and batches of text turned into HF's named inputs.
public struct EncoderPipelineParts {
  public let model: any EncoderModel
  public let tokenizer: Tokenizer
  /// The model's `config.json` fields (labels, problem_type, …); empty when built from objects.
  public let config: [String: Any]

  /// Loads `directory` as `task` (e.g. `.maskedLM`) with its tokenizer; a tokenizer whose
  /// vocabulary is larger than the model's embedding table is an error (its ids would not
  /// index the table). `tokenizer` overrides the directory's own.
  public static func load(_ task: AutoTask, directory: String, tokenizer: String? = nil) throws -> EncoderPipelineParts {
    let module = try ModelRegistry.loadModel(task, from: directory)
    guard let model = module as? any EncoderModel else {
      throw LoomError("\(directory): \(type(of: module)) is not an encoder (BERT, RoBERTa, DistilBERT)")
    }
    let tok: Tokenizer
    do {
      tok = try Tokenizer.fromPretrained(tokenizer ?? directory)
    } catch {
      throw LoomError(
        "\(tokenizer ?? directory): no tokenizer could be loaded (\(error)); save one there (tokenizer.json or vocab files) or pass --tokenizer DIR")
    }
    var config: [String: Any] = [:]
    if let d = FileManager.default.contents(atPath: directory + "/config.json"),
      let json = try? JSONSerialization.jsonObject(with: d) as? [String: Any]
    {
      config = json
    }
    let parts = EncoderPipelineParts(model: model, tokenizer: tok, config: config)
    try parts.checkVocabulary(modelName: directory)
    return parts
  }

  public init(model: any EncoderModel, tokenizer: Tokenizer, config: [String: Any] = [:]) {
    self.model = model
    self.tokenizer = tokenizer
    self.config = config
  }

  /// Rows of the word-embedding table (the model's vocab_size).
  public var modelVocabSize: Int? {
    model.namedParameters().first { $0.0.hasSuffix("word_embeddings.weight") }?.1.shape[0]
  }

  /// Throws when the tokenizer can produce ids the model has no embedding for.
  public func checkVocabulary(modelName: String = "the model") throws {
    try Self.checkVocabulary(tokenizerSize: tokenizer.vocabSize, modelSize: modelVocabSize, modelName: modelName)
  }

  public static func checkVocabulary(tokenizerSize: Int, modelSize: Int?, modelName: String) throws {
    guard let modelSize, tokenizerSize > modelSize else { return }
    throw LoomError(
      "the tokenizer's vocabulary (\(tokenizerSize) tokens) does not match \(modelName)'s vocab_size (\(modelSize)): ids ≥ \(modelSize) have no embedding; use the tokenizer the model was trained with"
    )
  }

  /// HF's named input tensors for encodings of equal length (padded).
  public static func tensors(_ rows: [Encoding]) -> [String: Tensor] {
    let b = rows.count
    let s = rows.first?.ids.count ?? 0
    var ids = [Int64](), mask = [Int64](), types = [Int64]()
    ids.reserveCapacity(b * s)
    for r in rows {
      precondition(r.ids.count == s, "encoder batch: rows must be padded to one length")
      ids += r.ids.map { Int64($0) }
      mask += r.attentionMask.map { Int64($0) }
      types += r.typeIds.map { Int64($0) }
    }
    return [
      EncoderInputs.Key.inputIds: Tensor(ids, shape: [b, s]),
      EncoderInputs.Key.attentionMask: Tensor(mask, shape: [b, s]),
      EncoderInputs.Key.tokenTypeIds: Tensor(types, shape: [b, s]),
    ]
  }

  /// Encoder inputs for a padded batch; DistilBERT and models without a token-type table (no
  /// type_vocab_size: GPT-2, Llama, BLOOM, whose tokenizers return none) take no token types.
  public func inputs(_ rows: [Encoding]) throws -> EncoderInputs {
    var t = Self.tensors(rows)
    let types = config["type_vocab_size"] as? Int
    if (config["model_type"] as? String) == "distilbert" || types == 0 || (types == nil && !config.isEmpty) {
      t[EncoderInputs.Key.tokenTypeIds] = nil
    }
    return try EncoderInputs(named: t)
  }

  /// Throws when a sequence is longer than the model's position table (HF would fail inside the model).
  public func checkLength(_ count: Int, what: String) throws {
    let limit = model.maxSequenceLength
    guard count <= limit else {
      throw LoomError(
        "\(what) is \(count) tokens, more than the model's \(limit) positions (max_position_embeddings); shorten it")
    }
  }

  /// id2label names in id order from config.json (LABEL_i where missing).
  public var labelNames: [String] {
    let map = config["id2label"] as? [String: String] ?? [:]
    let n = max(map.count, config["num_labels"] as? Int ?? 0)
    return (0..<n).map { map[String($0)] ?? "LABEL_\($0)" }
  }
}
