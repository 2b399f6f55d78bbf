import ArgumentParser
import LoomCore
import LoomModels
import LoomNN

/// `--torch-dtype` on the encoder inference commands: the model loaded and run in bfloat16 / float16
/// (`from_pretrained(torch_dtype=…)`); scores are computed from the logits in float32, as HF's pipelines do.
struct TorchDTypeFlag: ParsableArguments {
  @Option(
    name: .customLong("torch-dtype"),
    help:
      "Load and run the model in this dtype: auto (config.json's torch_dtype), float32, bfloat16 or float16 (default float32)."
  )
  var torchDType = "float32"

  func validate() throws {
    do { _ = try LoadingDType(parsing: torchDType) } catch {
      throw ValidationError("--torch-dtype: \(error)")
    }
  }

  /// Builds what `load` builds with every model read from a directory stored in the dtype (no float32
  /// copy), then casts `model`'s remaining floating-point buffers.
  func loading<P>(_ directory: String, model: (P) -> Module, _ load: () throws -> P) throws -> P {
    let dtype = try LoadingDType(parsing: torchDType).resolve(for: directory)
    guard dtype != .float32 else { return try load() }
    let built = try ParameterCreation.run(dtype: dtype) { try load() }
    try model(built).to(dtype: dtype)
    return built
  }
}
