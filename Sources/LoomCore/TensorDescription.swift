import Foundation

// `print(t)` prints like PyTorch: nested rows, one number format for the whole tensor
// (4 decimals, `1.` for integral floats, scientific when magnitudes span a lot), a
// dtype suffix when it is not the default, and `...` for tensors over 1000 elements.
//
//   tensor([[1., 2.],
//           [3., 4.]])
//   tensor([0.5000, 1.2500], dtype=bfloat16, requires_grad=True)
//
// Values are read through `toArray`, so any device's tensor prints.

extension Tensor: CustomStringConvertible {
  public var description: String {
    var suffix: [String] = []
    if device != .cpu { suffix.append("device='\(device)'") }
    if count == 0 && rank != 1 { suffix.append("size=\(TensorFormat.tuple(shape))") }
    if dtype != .float32 && dtype != .int64 && dtype != .bool { suffix.append("dtype=\(dtype)") }
    if requiresGrad {
      suffix.append(isLeaf ? "requires_grad=True" : "grad_fn=<\(gradFn?.name ?? "Backward")>")
    }
    let body = TensorFormat(self).render()
    return "tensor(" + ([body] + suffix).joined(separator: ", ") + ")"
  }
}

/// PyTorch's `_tensor_str` with its default print options.
struct TensorFormat {
  static let threshold = 1000
  static let edgeItems = 3
  static let lineWidth = 80
  static let prefix = "tensor("

  let shape: [Int]
  /// Shown values (all, or the summarised corners) in row-major order of `shownShape`.
  let strings: [String]
  let summarise: Bool
  let width: Int

  init(_ t: Tensor) {
    shape = t.shape
    summarise = t.count > Self.threshold
    let shown = summarise ? Self.summarised(t) : t
    let strings: [String]
    switch t.dtype {
    case .bool:
      strings = shown.toArray(Bool.self).map { $0 ? "True" : "False" }
    case .int64, .int32, .uint8:
      strings = shown.toArray(Int64.self).map { String($0) }
    default:
      strings = Self.formatFloats(shown.toArray(Double.self))
    }
    self.strings = strings
    width = strings.map(\.count).max() ?? 0
  }

  /// The corners PyTorch shows: each dimension over 2·edgeItems keeps its first and last
  /// `edgeItems` entries.
  static func summarised(_ t: Tensor) -> Tensor {
    var out = t.detach()
    for d in 0..<t.rank where t.shape[d] > 2 * edgeItems {
      let n = out.shape[d]
      out = Tensor.cat(
        [
          out.slice(dim: d, start: 0, end: edgeItems),
          out.slice(dim: d, start: n - edgeItems, end: n),
        ], dim: d)
    }
    return out
  }

  /// One format for every value: integral → "1.", else "%.4f", scientific "%.4e" when
  /// max/min > 1000, max > 1e8 or min < 1e-4 (over finite non-zero magnitudes).
  static func formatFloats(_ values: [Double]) -> [String] {
    let magnitudes = values.filter { $0.isFinite && $0 != 0 }.map(Swift.abs)
    let integral = values.allSatisfy { !$0.isFinite || $0.rounded() == $0 }
    var scientific = false
    if let lo = magnitudes.min(), let hi = magnitudes.max() {
      scientific = hi / lo > 1000 || hi > 1e8 || (!integral && lo < 1e-4)
    }
    return values.map { v in
      if v.isNaN { return "nan" }
      if v.isInfinite { return v > 0 ? "inf" : "-inf" }
      if scientific { return String(format: "%.4e", v) }
      if integral { return String(format: "%.0f.", v) }
      return String(format: "%.4f", v)
    }
  }

  static func tuple(_ xs: [Int]) -> String {
    xs.count == 1 ? "(\(xs[0]),)" : "(" + xs.map(String.init).joined(separator: ", ") + ")"
  }

  func render() -> String {
    if shape.isEmpty { return strings.first ?? "" }
    if shape.contains(0) { return "[]" }
    var next = 0
    return render(dim: 0, indent: Self.prefix.count, next: &next)
  }

  private func pad(_ s: String) -> String { String(repeating: " ", count: width - s.count) + s }

  private func shown(_ d: Int) -> (count: Int, cut: Bool) {
    summarise && shape[d] > 2 * Self.edgeItems ? (2 * Self.edgeItems, true) : (shape[d], false)
  }

  private func render(dim d: Int, indent: Int, next: inout Int) -> String {
    let (n, cut) = shown(d)
    if d == shape.count - 1 {
      var items = (0..<n).map { _ -> String in
        defer { next += 1 }
        return pad(strings[next])
      }
      if cut { items.insert(" ...", at: Self.edgeItems) }
      // Wrap long rows like PyTorch (elements per line from the line width).
      let perLine = Swift.max(1, (Self.lineWidth - indent) / (width + 2))
      let lines = stride(from: 0, to: items.count, by: perLine).map {
        items[$0..<Swift.min($0 + perLine, items.count)].joined(separator: ", ")
      }
      return "[" + lines.joined(separator: ",\n" + String(repeating: " ", count: indent + 1)) + "]"
    }
    var rows = (0..<n).map { _ in render(dim: d + 1, indent: indent + 1, next: &next) }
    if cut { rows.insert("...", at: Self.edgeItems) }
    let separator =
      "," + String(repeating: "\n", count: shape.count - d - 1)
      + String(repeating: " ", count: indent + 1)
    return "[" + rows.joined(separator: separator) + "]"
  }
}
