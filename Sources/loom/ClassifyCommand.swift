import ArgumentParser
import Foundation
import LoomCore
import LoomGenerate
import LoomModels

/// `loom classify`: HF's text-classification pipeline; prints `{"label", "score"}` of the best
/// label (every label, best first, with --all-labels).
struct ClassifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "classify", abstract: "Classify a text with a sequence-classification model (label and score).")

  @Option(help: "Model directory (a sequence classifier, e.g. from loom train classify).") var model: String
  @Option(help: InferenceAdapter.help) var adapter: String?
  @Option(help: "Text to classify.") var text: String
  @Option(help: "Second text, for models trained on pairs (--text-pair-column).") var textPair: String?
  @Flag(help: "Print every label, best first (HF's top_k=None).") var allLabels = false
  @Option(help: "Device to run on: cpu or emulated.") var device = "cpu"
  @OptionGroup var dtype: TorchDTypeFlag

  func validate() throws {
    if text.isEmpty { throw ValidationError("--text must not be empty") }
    do { _ = try Device(parsing: device) } catch { throw ValidationError("--device: \(error)") }
  }

  func run() throws {
    Device.default = try Device(parsing: device)
    let pipe = try dtype.loading(model, model: { $0.parts.model }) {
      try adapter.map {
        TextClassificationPipeline(parts: try InferenceAdapter.classifierParts(.sequenceClassification, model: model, adapter: $0))
      } ?? TextClassificationPipeline(directory: model)
    }
    _ = pipe.parts.model.to(device: Device.default)
    let predictions = try pipe(text, pair: textPair)
    for p in allLabels ? predictions : Array(predictions.prefix(1)) { print(p.json) }
  }
}
