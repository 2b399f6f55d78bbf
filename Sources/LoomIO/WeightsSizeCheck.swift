import Foundation
import LoomCore

/// Before a model is built from a config.json that sits beside its weights: the config may not
/// ask for a model the weights cannot back. A config that does not belong to the weights (or a
/// hostile one asking for 256 GB) is refused with the field at fault before anything is
/// allocated; only the safetensors headers are read.
public enum WeightsSizeCheck {
  /// Sizes up to this always pass the field check: fields a model does not store as a
  /// dimension (a VAE's input_size, a DiT's sample_size) must not fail it; their cost is
  /// bounded by the config's own `validate()` and the parameter estimate.
  public static let sizeFloor = 4096

  /// Σ Π of `terms` with checked arithmetic (Int.max on overflow; negative factors count as 0).
  public static func parameterCount(_ terms: [[Int]]) -> Int {
    var total = 0
    for factors in terms {
      var product = 1
      for f in factors {
        let (p, o) = product.multipliedReportingOverflow(by: max(f, 0))
        guard !o else { return Int.max }
        product = p
      }
      let (t, o) = total.addingReportingOverflow(product)
      guard !o else { return Int.max }
      total = t
    }
    return total
  }

  /// Throws unless every size in `sizes` is at most the largest dimension of any tensor in
  /// `shapes`, their number or `sizeFloor`, and `estimate` (a lower bound of the model's
  /// parameters, from its config) is at most twice the stored parameters plus 2^20.
  /// `config` names the file in the message; `summary` lists the sizes the estimate uses
  /// (by default `sizes`).
  public static func check(
    sizes: [(key: String, value: Int)], estimate: Int?, shapes: [[Int]], config: String, summary: String = ""
  ) throws {
    let largest = shapes.flatMap { $0 }.max() ?? 0
    let bound = max(largest, shapes.count, sizeFloor)
    for (key, value) in sizes where value > bound {
      throw LoomError(
        "\(config): \(key) = \(value), but no tensor of the weights has a dimension that large (largest: \(largest), \(shapes.count) tensors); does config.json belong to these weights?"
      )
    }
    let stored = parameterCount(shapes)
    let summary = summary.isEmpty ? sizes.map { "\($0.key) \($0.value)" }.joined(separator: ", ") : summary
    if let estimate, estimate > stored.multipliedReportingOverflow(by: 2).partialValue + (1 << 20) {
      throw LoomError(
        "\(config) describes a model of about \(estimate) parameters but the weights hold \(stored); does config.json belong to these weights?\(summary.isEmpty ? "" : " (\(summary))")"
      )
    }
  }

  /// `check` against one safetensors file's header.
  public static func check(
    sizes: [(key: String, value: Int)], estimate: Int?, weights path: String, config: String, summary: String = ""
  ) throws {
    let file = try SafeTensorsFile(path: path)
    let shapes = try file.names.map { try file.entry($0).shape }
    try check(sizes: sizes, estimate: estimate, shapes: shapes, config: config, summary: summary)
  }
}
