import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomNN
import LoomTokenizers

/// Loading encoders for the `loom train …` fine-tuning commands.
enum EncoderLoading {
  /// The directory's config.json as a JSON object.
  static func configJSON(_ directory: String) throws -> [String: Any] {
    let path = directory + "/config.json"
    guard let d = FileManager.default.contents(atPath: path) else {
      throw LoomError("\(path) not found: --model must be a model directory (config.json and model.safetensors)")
    }
    guard let json = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else {
      throw LoomError("\(path) is not a JSON object")
    }
    return json
  }

  /// HF's `from_pretrained(dir, num_labels=…, id2label=…, label2id=…)`: the directory's weights
  /// under its config.json with `edits` applied (a temporary directory of links holds the
  /// edited config), as `task`'s class; heads the checkpoint lacks start fresh.
  static func load(_ task: AutoTask, from directory: String, edits: [String: Any]) throws -> Module {
    var config = try configJSON(directory)
    for (k, v) in edits { config[k] = v }
    let fm = FileManager.default
    let tmp = fm.temporaryDirectory.appendingPathComponent("loom-model-\(UUID().uuidString)").path
    try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    defer { try? fm.removeItem(atPath: tmp) }
    let source = URL(fileURLWithPath: directory).standardizedFileURL.path
    for name in try fm.contentsOfDirectory(atPath: directory) where name.hasSuffix(".safetensors") || (name.hasPrefix("model") && name.hasSuffix(".json")) {
      try fm.createSymbolicLink(atPath: tmp + "/" + name, withDestinationPath: source + "/" + name)
    }
    try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
      .write(to: URL(fileURLWithPath: tmp + "/config.json"))
    return try autoLoad(task, tmp)
  }

  /// `task`'s Auto class.
  static func autoLoad(_ task: AutoTask, _ directory: String) throws -> Module {
    try ModelRegistry.loadModel(task, from: directory)
  }

  /// The tokenizer of `--tokenizer` or the model directory, checked against the model's vocabulary.
  static func tokenizer(_ path: String?, model: String, modelVocabSize: Int?) throws -> Tokenizer {
    let source = path ?? model
    let tok: Tokenizer
    do { tok = try Tokenizer.fromPretrained(source) } catch {
      throw LoomError("\(source): cannot load a tokenizer (\(error)); pass --tokenizer DIR")
    }
    try EncoderPipelineParts.checkVocabulary(tokenizerSize: tok.vocabSize, modelSize: modelVocabSize, modelName: model)
    return tok
  }

  /// Rows of the word-embedding table.
  static func vocabSize(_ model: Module) -> Int? {
    model.namedParameters().first { $0.0.hasSuffix("word_embeddings.weight") || $0.0.hasSuffix("embed_tokens.weight") }?
      .1.shape[0]
  }

  /// Whether the model takes token_type_ids (DistilBERT does not).
  static func takesTokenTypes(_ model: Module) -> Bool {
    model.namedParameters().contains { $0.0.hasSuffix("token_type_embeddings.weight") }
  }

  /// The maximum sequence length: `requested`, else the tokenizer's model_max_length, capped by
  /// the model's positions (an explicit longer request is an error).
  static func maxLength(_ requested: Int?, tokenizer: Tokenizer, model: any EncoderModel) throws -> Int {
    let limit = model.maxSequenceLength
    if let requested {
      guard requested >= 2 else { throw LoomError("--max-seq-length must be at least 2, got \(requested)") }
      guard requested <= limit else {
        throw LoomError(
          "--max-seq-length \(requested) exceeds the model's \(limit) positions (max_position_embeddings); use at most \(limit)")
      }
      return requested
    }
    return min(tokenizer.modelMaxLength ?? limit, limit)
  }
}
