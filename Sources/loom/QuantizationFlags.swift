import ArgumentParser
import Foundation
import LoomCore
import LoomModels
import LoomNN

/// `--load-in-8bit` / `--load-in-4bit [--bnb-4bit-quant-type nf4|fp4] [--bnb-4bit-use-double-quant]`:
/// transformers' BitsAndBytesConfig flags. The loaded float model's Linear / Conv1D layers are quantized in
/// place (module surgery); layers that cannot be are kept in float and listed on stderr.
struct QuantizationFlags: ParsableArguments {
  @Flag(
    name: .customLong("load-in-8bit"),
    help: "Quantize the model's linear layers to int8 (weight-only, per-row absmax) after loading.")
  var loadIn8bit = false
  @Flag(
    name: .customLong("load-in-4bit"),
    help: "Quantize the model's linear layers to 4 bits (bitsandbytes' NF4 or FP4, block 64) after loading.")
  var loadIn4bit = false
  @Option(name: .customLong("bnb-4bit-quant-type"), help: "4-bit data type with --load-in-4bit: nf4 or fp4 (default nf4).")
  var bnb4bitQuantType: String?
  @Flag(
    name: .customLong("bnb-4bit-use-double-quant"),
    help: "With --load-in-4bit, also quantize the block absmax (8-bit, block 256), as QLoRA does.")
  var bnb4bitUseDoubleQuant = false

  func validate() throws {
    if loadIn8bit && loadIn4bit { throw ValidationError("--load-in-8bit and --load-in-4bit exclude each other; pick one") }
    if !loadIn4bit && (bnb4bitQuantType != nil || bnb4bitUseDoubleQuant) {
      throw ValidationError("--bnb-4bit-quant-type and --bnb-4bit-use-double-quant need --load-in-4bit")
    }
    if let t = bnb4bitQuantType, QuantType4bit(rawValue: t) == nil {
      throw ValidationError("--bnb-4bit-quant-type: '\(t)' is not a 4-bit type; use nf4 or fp4")
    }
  }

  var config: BitsAndBytesConfig? {
    guard loadIn8bit || loadIn4bit else { return nil }
    return BitsAndBytesConfig(
      loadIn8bit: loadIn8bit, loadIn4bit: loadIn4bit,
      bnb4bitQuantType: bnb4bitQuantType.flatMap(QuantType4bit.init(rawValue:)) ?? .nf4,
      bnb4bitUseDoubleQuant: bnb4bitUseDoubleQuant)
  }

  /// Quantizes `model` when a flag asks for it; the report goes to stderr.
  func apply(to model: Module) throws {
    guard let config else { return }
    Self.show(try model.quantize(config))
  }

  /// A quantization report, on stderr (also what quantized loading passes back).
  static func show(_ report: QuantizationReport) {
    FileHandle.standardError.write(Data((report.summary + "\n").utf8))
  }
}
