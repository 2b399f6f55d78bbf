import LoomCore
import LoomNN

/// `from_pretrained(quantization_config=…)` as transformers does it: the model is built with empty
/// (never written) parameters, each Linear / Conv1D weight is quantized straight from the checkpoint's
/// tensor as it is read, and only the rest is copied in. The float weights of the quantized layers never
/// exist in memory: loading a 4-bit model peaks near its 4-bit size, not its float32 size.
///
/// Task-local: `ModelDirectory.loadWeights` consults it while `LoadingDType.load(in:quantization:)` runs.
enum QuantizedLoading {
  final class Session {
    let config: BitsAndBytesConfig
    var report: QuantizationReport?
    init(_ config: BitsAndBytesConfig) { self.config = config }
  }

  @TaskLocal static var current: Session? = nil

  /// Quantizes `model`'s layers from `weights` (already checked to match the model key for key), then
  /// loads what is left. The checkpoint's float tensors of quantized layers are dropped from `weights`
  /// and their file pages given back as each layer is done.
  static func load(
    _ weights: [String: Tensor], into model: Module, session: Session, source: String
  ) throws {
    try BufferPool.shared.withoutCaching {
      try quantizeAndLoad(weights, into: model, session: session, source: source)
    }
  }

  private static func quantizeAndLoad(
    _ weights: [String: Tensor], into model: Module, session: Session, source: String
  ) throws {
    var rest = weights
    // The previous layer's checkpoint tensor: quantized by the time the next one is asked for.
    var done: Tensor? = nil
    let report = try model.quantize(session.config) { path, layerWeight in
      done?.discardMappedPages()
      let key = path + ".weight"
      guard let tensor = rest.removeValue(forKey: key) else {
        throw LoomError("\(source): no \(key) to quantize")
      }
      done = tensor
      // In the layer's dtype first (bitsandbytes quantizes the weights as torch_dtype loaded them).
      return tensor.dtype == layerWeight.dtype ? tensor : tensor.to(layerWeight.dtype)
    }
    done?.discardMappedPages()
    let quantizedPaths = report.quantized.map { $0 + "." }
    let loaded = try model.loadStateDict(
      rest, strict: false, source: source, releasingMappedSources: true)
    // The quantized layers' codes and scales were made here, not read: anything else missing is an error.
    let missing = loaded.missing.filter { key in
      !(quantizedPaths.contains { key.hasPrefix($0) } && !key.hasSuffix(".bias"))
    }
    guard missing.isEmpty, loaded.unexpected.isEmpty else {
      throw LoomError(
        "\(source): quantized loading left \(missing.isEmpty ? "" : "missing keys \(missing)") \(loaded.unexpected.isEmpty ? "" : "unexpected keys \(loaded.unexpected)")"
      )
    }
    session.report = report
  }
}
