import Foundation
import LoomCore
import LoomGenerate
import LoomModels

/// `loom train ppo --reward-model DIR` when DIR is not a token-scoring model (GPT-2, Llama, BLOOM with one output) or --reward-label is given: a sequence classifier
/// (BERT, RoBERTa, DistilBERT, … with its own tokenizer, e.g. from `loom train classify`) that reads
/// each decoded response and rewards it with one label's logit — trl's sentiment recipe, which scores
/// responses with a text-classification pipeline (`function_to_apply="none"`).
struct TextClassifierReward {
  let parts: EncoderPipelineParts
  /// The label whose logit is the reward.
  let label: Int

  /// `label`: a label name from id2label or an index; nil for a one-output model.
  init(directory: String, label: String?) throws {
    parts = try EncoderPipelineParts.load(.sequenceClassification, directory: directory)
    let names = parts.labelNames
    if let label {
      guard let i = names.firstIndex(of: label) ?? Int(label).flatMap({ names.indices.contains($0) ? $0 : nil }) else {
        throw LoomError(
          "--reward-label \(label): \(directory) has the labels \(names.joined(separator: ", ")) (give a name or an index)")
      }
      self.label = i
    } else {
      guard names.count == 1 else {
        throw LoomError(
          "--reward-model \(directory) has \(names.count) labels (\(names.joined(separator: ", "))): pick the one whose logit is the reward with --reward-label"
        )
      }
      self.label = 0
    }
  }

  /// The chosen label's logit for each text.
  func scores(_ texts: [String]) throws -> [Double] {
    parts.model.eval()
    return try texts.map { text in
      let enc = try parts.tokenizer.encode(text)
      try parts.checkLength(enc.ids.count, what: "the PPO reward model's input (a decoded response)")
      let logits = try noGrad { try parts.model.forward(parts.inputs([enc])).mainLogits }.reshape([-1])
      return Double(logits.floats[label])
    }
  }
}
