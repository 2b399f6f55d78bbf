import Foundation
import LoomCore
import LoomModels
import LoomTokenizers

/// Hugging Face's `pipeline("text-classification")`: labels (config.json's id2label) with
/// scores, best first. Scores are the softmax of the logits for single-label models, the
/// sigmoid for multi-label ones and single-logit models, the raw logits for regression
/// (HF's `function_to_apply` default).
public final class TextClassificationPipeline {
  public let parts: EncoderPipelineParts

  public init(parts: EncoderPipelineParts) { self.parts = parts }

  public convenience init(directory: String) throws {
    self.init(parts: try EncoderPipelineParts.load(.sequenceClassification, directory: directory))
  }

  public struct Prediction: Equatable {
    public var label: String
    public var score: Double
    public var json: String {
      let d = try! JSONSerialization.data(withJSONObject: ["label": label, "score": score] as [String: Any], options: [.sortedKeys, .withoutEscapingSlashes])
      return String(decoding: d, as: UTF8.self)
    }
  }

  /// The function HF applies to the logits.
  public enum ScoreFunction: String { case softmax, sigmoid, none }

  public var scoreFunction: ScoreFunction {
    let problem = parts.config["problem_type"] as? String
    let n = parts.labelNames.count
    if problem == "regression" { return .none }
    if problem == "multi_label_classification" || n == 1 { return .sigmoid }
    return .softmax
  }

  /// Every label with its score, best first (`top_k=None`); `pair` is the second text of a pair task.
  public func callAsFunction(_ text: String, pair: String? = nil) throws -> [Prediction] {
    let enc = try parts.tokenizer.encode(text, pair: pair)
    try parts.checkLength(enc.ids.count, what: "text classification: the input")
    parts.model.eval()
    // Scores from float32 logits, as HF's pipelines upcast a half model's.
    let logits = try noGrad { try parts.model.forward(parts.inputs([enc])).mainLogits }.reshape([-1]).to(.float32)
    let scores: [Float]
    switch scoreFunction {
    case .softmax: scores = logits.softmax(dim: -1).floats
    case .sigmoid: scores = logits.sigmoid().floats
    case .none: scores = logits.floats
    }
    var names = parts.labelNames
    if names.count != scores.count { names = (0..<scores.count).map { "LABEL_\($0)" } }
    return zip(names, scores).map { Prediction(label: $0, score: Double($1)) }.sorted { $0.score > $1.score }
  }
}
