import Foundation
import LoomCore
import LoomNN

/// BLOOM's ALiBi biases (HF's `build_alibi_tensor`): head h adds slope_h · position(key) to
/// every score, positions counting real tokens only (cumsum(attention_mask) − 1), so a
/// left-padded row starts at 0. The bias depends on the key alone, so it is a dot product:
/// q gets one more column slope_h / scale and k one more column position, and the fused
/// attention kernel computes scale · (q·k + slope_h · position) = scale · q·k + bias without a
/// bias operand (the constant columns get no gradient; q and k keep theirs).
public enum Alibi {
  /// HF's `_get_alibi_slopes`: a geometric sequence for the largest power of two ≤ heads,
  /// then every other slope of the next power's sequence for the remaining heads.
  public static func slopes(heads: Int) -> [Float] {
    let closest = 1 << Int(log2(Double(heads)).rounded(.down))
    func sequence(_ n: Int, powers: StrideTo<Int>) -> [Float] {
      let base = Float(pow(2.0, -pow(2.0, -(log2(Double(n)) - 3))))
      return powers.map { Float(pow(Double(base), Double($0))) }
    }
    var out = sequence(closest, powers: stride(from: 1, to: 1 + closest, by: 1))
    if closest != heads {
      let remaining = min(closest, heads - closest)
      out += sequence(2 * closest, powers: stride(from: 1, to: 1 + 2 * remaining, by: 2))
    }
    return out
  }

  /// Positions [B, length] of the `length` tokens after `past`: (cumsum(mask) − 1) · mask over
  /// the full [B, past + length] mask, or past..<past + length without one.
  public static func positions(batch: Int, past: Int, length: Int, attentionMask: Tensor?)
    -> [Float]
  {
    guard let mask = attentionMask else {
      return (0..<batch).flatMap { _ in (past..<past + length).map(Float.init) }
    }
    return MaskPositions.positions(mask, lastColumns: length, padding: .constant(0)).map(Float.init)
  }

  /// The extra columns for a batch: `query` [B, H, T, 1] (slope_h / scale) and `key`
  /// [B, H, T, 1] (positions), in `dtype` on `device`.
  struct Columns {
    let query: Tensor
    let key: Tensor

    init(
      heads: Int, scale: Double, batch: Int, past: Int, length: Int, attentionMask: Tensor?,
      dtype: DType,
      device: Device
    ) {
      let s = Alibi.slopes(heads: heads).map { Float(Double($0) / scale) }
      query = Tensor(s, shape: [1, heads, 1, 1], device: device).to(dtype).expand([
        batch, heads, length, 1,
      ])
      let p = Alibi.positions(
        batch: batch, past: past, length: length, attentionMask: attentionMask)
      key = Tensor(p, shape: [batch, 1, length, 1], device: device).to(dtype).expand([
        batch, heads, length, 1,
      ])
    }
  }
}
