import Foundation
import LoomGenerate

/// A model-based check: any Loom sequence-classification model directory (loaded with the Auto classes and its
/// tokenizer, as `loom classify` does) fails the text when `label`'s score (softmax; sigmoid for multi-label or
/// one-logit models, HF's text-classification scores) is at least `threshold`. A text longer than the model's
/// positions cannot be classified and throws, which the cage treats as a failure (fail closed).
public struct ClassifierValidator: Validator, @unchecked Sendable {
  public let name = "classifier"
  public let directory: String
  public let label: String
  public let threshold: Double
  public var severity: Severity
  // One model shared by the calls; a lock keeps two cage threads (a timed-out call still running) from interleaving.
  let pipeline: TextClassificationPipeline
  let lock = NSLock()

  public init(directory: String, label: String, threshold: Double = 0.5, severity: Severity = .high) throws {
    guard (0...1).contains(threshold) else {
      throw CageError("classifier: threshold \(threshold) must be a probability in [0, 1]")
    }
    let pipeline: TextClassificationPipeline
    do { pipeline = try TextClassificationPipeline(directory: directory) } catch {
      throw CageError("classifier: \(directory) cannot be loaded as a sequence-classification model: \(error)")
    }
    // The labels as the pipeline names its scores (config.json's id2label, else LABEL_i per output).
    let labels: [String]
    do { labels = try pipeline("a").map(\.label).sorted() } catch {
      throw CageError("classifier: \(directory) cannot classify a test text: \(error)")
    }
    guard labels.contains(label) else {
      throw CageError("classifier: \(directory) has no label '\(label)'; its labels: \(labels.joined(separator: ", "))")
    }
    self.directory = directory
    self.label = label
    self.threshold = threshold
    self.severity = severity
    self.pipeline = pipeline
  }

  static let flagged = RuleDescription(
    id: "model.classifier.flagged", severity: .high, summary: "a classifier scores the text at or above the threshold for the label")
  public static let allRules = [flagged]
  public var rules: [RuleDescription] { Self.allRules }

  /// The label's score for `text`.
  public func score(_ text: String) throws -> Double {
    lock.lock()
    defer { lock.unlock() }
    let predictions = try pipeline(text)
    return predictions.first { $0.label == label }?.score ?? 0
  }

  public func validate(_ text: String) throws -> [Finding] {
    let s = try score(text)
    guard s >= threshold else { return [] }
    return [
      Finding(
        ruleId: Self.flagged.id, severity: severity,
        message: "\(directory): label '\(label)' scores " + String(format: "%.4f", s) + " ≥ threshold \(threshold)")
    ]
  }
}
