import Foundation
import LoomCore
import LoomNN

/// `from_pretrained(torch_dtype=…)`: the dtype a model is loaded in. `.auto` takes the one its
/// config.json records (`torch_dtype`, or `dtype` as transformers ≥ 4.56 writes it), float32
/// when it records none.
public enum LoadingDType: Equatable, Sendable {
  case auto
  case exactly(DType)

  /// HF's spellings: "auto", "float32", "bfloat16", "float16" (also "torch.bfloat16", "bf16",
  /// "fp16", "fp32", "half", "float").
  public init(parsing text: String) throws {
    let name = text.hasPrefix("torch.") ? String(text.dropFirst(6)) : text
    switch name.lowercased() {
    case "auto": self = .auto
    case "float32", "fp32", "float": self = .exactly(.float32)
    case "bfloat16", "bf16": self = .exactly(.bfloat16)
    case "float16", "fp16", "half": self = .exactly(.float16)
    default:
      throw LoomError("torch_dtype '\(text)' is not one of auto, float32, bfloat16, float16")
    }
  }

  /// The dtype to build `directory`'s model in.
  public func resolve(for directory: String) throws -> DType {
    switch self {
    case .exactly(let dtype): return dtype
    case .auto:
      let path = directory + "/config.json"
      guard let data = FileManager.default.contents(atPath: path),
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
      else { return .float32 }
      guard let recorded = (object["torch_dtype"] ?? object["dtype"]) as? String else {
        return .float32
      }
      guard case .exactly(let dtype) = try? LoadingDType(parsing: recorded) else {
        throw LoomError(
          "\(path): torch_dtype '\(recorded)' is not float32, bfloat16 or float16; pass the dtype to load in explicitly"
        )
      }
      return dtype
    }
  }

  /// Builds the model with `build` directly in the resolved dtype — parameters stored in it as
  /// they are declared, random initialisation skipped (the weights are loaded next), each loaded
  /// weight converted as it is copied in — then casts the floating-point buffers too (as
  /// `Module.to(dtype:)`). float32 is the ordinary path.
  ///
  /// With `quantization` (`from_pretrained(quantization_config=…)`) the Linear / Conv1D weights are
  /// quantized from the checkpoint as it is read (`QuantizedLoading`) and `report` receives what was
  /// quantized and what stayed float; the other weights are in `dtype`.
  public static func load<M: Module>(
    in dtype: DType, quantization: BitsAndBytesConfig? = nil,
    report: (QuantizationReport) -> Void = { _ in }, _ build: () throws -> M
  ) throws -> M {
    guard let quantization else {
      if dtype == .float32 { return try build() }
      let model = try ParameterCreation.run(dtype: dtype, skippingInitialization: true) {
        try build()
      }
      return try model.to(dtype: dtype)
    }
    let session = QuantizedLoading.Session(quantization)
    let model = try QuantizedLoading.$current.withValue(session) {
      try ParameterCreation.run(dtype: dtype, skippingInitialization: true) { try build() }
    }
    guard let done = session.report else {
      throw LoomError(
        "\(M.self): quantized loading needs a model read from a directory (from_pretrained); quantize a built model with quantize(_:)"
      )
    }
    report(done)
    return try model.to(dtype: dtype)
  }
}

extension PretrainedModel {
  /// `from_pretrained(directory, torch_dtype=dtype)`: the model built and loaded in `dtype`
  /// without a float32 copy of it ever existing (see `LoadingDType.load`).
  public static func fromPretrained(_ directory: String, dtype: DType) throws -> Self {
    try LoadingDType.load(in: dtype) { try fromPretrained(directory) }
  }
}
