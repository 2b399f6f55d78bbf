import ArgumentParser
import Foundation
import LoomCore
import LoomGenerate

/// `loom fill-mask`: HF's fill-mask pipeline; one JSON object per candidate and line,
/// best first (for several mask tokens, each mask's candidates in text order).
struct FillMaskCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fill-mask", abstract: "Predict the tokens behind the mask token of a text (masked language model).")

  @Option(help: "Model directory (a masked LM: config.json, model.safetensors, tokenizer files).") var model: String
  @Option(help: InferenceAdapter.help) var adapter: String?
  @Option(help: "Tokenizer directory instead of the model's.") var tokenizer: String?
  @Option(help: "Text with the mask token (<mask> for RoBERTa, [MASK] for BERT).") var text: String
  @Option(help: "Candidates per mask token.") var topK = 5
  @Option(help: "Device to run on: cpu or emulated.") var device = "cpu"
  @OptionGroup var dtype: TorchDTypeFlag

  func validate() throws {
    if topK < 1 { throw ValidationError("--top-k must be at least 1, got \(topK)") }
    if text.isEmpty { throw ValidationError("--text must not be empty") }
    do { _ = try Device(parsing: device) } catch { throw ValidationError("--device: \(error)") }
  }

  func run() throws {
    Device.default = try Device(parsing: device)
    let pipe = try dtype.loading(model, model: { (p: FillMaskPipeline) in p.parts.model }) {
      let pipe = try FillMaskPipeline(directory: model, tokenizer: tokenizer)
      try InferenceAdapter.apply(adapter, to: pipe.parts.model)
      return pipe
    }
    _ = pipe.parts.model.to(device: Device.default)
    for candidates in try pipe(text, topK: topK) {
      for c in candidates { print(c.json) }
    }
  }
}
