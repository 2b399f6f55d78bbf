import ArgumentParser
import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomTokenizers

/// `loom token-classify`: HF's token-classification ("ner") pipeline; prints one JSON object per
/// entity: `{"entity", "score", "index", "word", "start", "end"}` per token, or with
/// `--aggregation-strategy simple` `{"entity_group", "score", "word", "start", "end"}` per group of
/// adjacent tokens (B-X starts a group, I-X continues one). Tokens tagged "O" are left out.
struct TokenClassifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "token-classify",
    abstract: "Tag the tokens of a text with a token-classification model (NER).")

  @Option(help: "Model directory (a token classifier, e.g. from loom train token-classify).")
  var model: String
  @Option(help: InferenceAdapter.help) var adapter: String?
  @Option(help: "Text to tag.") var text: String
  @Option(help: "none (one entry per token) or simple (adjacent tokens of one entity grouped).")
  var aggregationStrategy = "none"
  @Option(help: "Device to run on: cpu or emulated.") var device = "cpu"
  @OptionGroup var dtype: TorchDTypeFlag

  func validate() throws {
    if text.trimmingCharacters(in: .whitespaces).isEmpty {
      throw ValidationError("--text must not be empty")
    }
    guard ["none", "simple"].contains(aggregationStrategy) else {
      throw ValidationError(
        "--aggregation-strategy must be none or simple, got '\(aggregationStrategy)'")
    }
    do { _ = try Device(parsing: device) } catch { throw ValidationError("--device: \(error)") }
  }

  func run() throws {
    Device.default = try Device(parsing: device)
    let parts = try dtype.loading(model, model: { $0.model }) {
      try adapter.map {
        try InferenceAdapter.classifierParts(.tokenClassification, model: model, adapter: $0)
      }
        ?? EncoderPipelineParts.load(.tokenClassification, directory: model)
    }
    _ = parts.model.to(device: Device.default)
    let tokens = try TokenTagger(parts: parts).tag(text)
    // As HF: "O" tokens separate groups, then entries tagged "O" are dropped.
    let rows =
      aggregationStrategy == "simple"
      ? TokenTagger.group(tokens, tokenizer: parts.tokenizer).filter {
        $0["entity_group"] as? String != "O"
      }
      : tokens.filter { $0.entity != "O" }.map(\.json)
    for row in rows {
      let d = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys, .withoutEscapingSlashes])
      print(String(decoding: d, as: UTF8.self))
    }
  }
}

/// The pipeline's steps: softmax over each token's logits, the best label and its score; special
/// tokens are skipped.
struct TokenTagger {
  let parts: EncoderPipelineParts

  struct Token {
    var entity: String
    var score: Double
    var index: Int
    var id: UInt32
    var word: String
    var start: Int
    var end: Int
    var json: [String: Any] {
      ["entity": entity, "score": score, "index": index, "word": word, "start": start, "end": end]
    }
  }

  func tag(_ text: String) throws -> [Token] {
    let enc = try parts.tokenizer.encode(text)
    try parts.checkLength(enc.ids.count, what: "token classification: the text")
    parts.model.eval()
    // Scores from float32 logits, as HF's pipelines upcast a half model's.
    let logits = try noGrad { try parts.model.forward(parts.inputs([enc])).mainLogits }.to(.float32)
    let k = logits.shape[logits.rank - 1]
    let probs = logits.reshape([-1, k]).softmax(dim: -1).floats
    var names = parts.labelNames
    if names.count != k { names = (0..<k).map { "LABEL_\($0)" } }
    var out: [Token] = []
    for (i, id) in enc.ids.enumerated() where enc.specialTokensMask[i] == 0 {
      let row = probs[(i * k)..<((i + 1) * k)]
      let best = row.indices.max { row[$0] < row[$1] }!
      out.append(
        Token(
          entity: names[best - i * k], score: Double(row[best]), index: i, id: id,
          word: parts.tokenizer.idToToken(id) ?? "", start: enc.offsets[i].lowerBound,
          end: enc.offsets[i].upperBound))
    }
    return out
  }

  /// HF's "simple" aggregation: a group continues while the tag (B-/I- stripped) stays the same
  /// and the next token is not B-; its score is the tokens' mean and its word their decoded text.
  static func group(_ tokens: [Token], tokenizer: Tokenizer) -> [[String: Any]] {
    func split(_ entity: String) -> (bi: String, tag: String) {
      if entity.hasPrefix("B-") { return ("B", String(entity.dropFirst(2))) }
      if entity.hasPrefix("I-") { return ("I", String(entity.dropFirst(2))) }
      return ("I", entity)
    }
    var groups: [[Token]] = []
    for t in tokens {
      if let last = groups.last?.last, split(t.entity).tag == split(last.entity).tag,
        split(t.entity).bi != "B"
      {
        groups[groups.count - 1].append(t)
      } else {
        groups.append([t])
      }
    }
    return groups.map { g in
      [
        "entity_group": split(g[0].entity).tag,
        "score": g.map(\.score).reduce(0, +) / Double(g.count),
        "word": tokenizer.decode(g.map(\.id)), "start": g[0].start, "end": g[g.count - 1].end,
      ]
    }
  }
}
