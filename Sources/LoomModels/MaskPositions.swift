import LoomCore

/// Position ids from a [B, T] attention mask (1 = token, 0 = padding), read on the host: a token's position is the
/// number of tokens before it in its row (HF's `cumsum(mask) − 1`); families differ only in what a padding slot
/// gets. GPT-2, Llama, BLOOM's ALiBi and trl's scoring trunks share this one loop.
public enum MaskPositions {
  /// What a padding slot's position is.
  public enum Padding: Sendable {
    /// A fixed value (GPT-2's generation fills 1, Llama's and BLOOM's 0).
    case constant(Int64)
    /// The number of tokens before it (trl's `cumsum(mask) − mask`).
    case tokensBefore
  }

  /// Positions of the last `length` columns of `mask`, [B, length] row-major.
  public static func positions(_ mask: Tensor, lastColumns length: Int, padding: Padding) -> [Int64] {
    let (batch, total) = (mask.shape[0], mask.shape[1])
    let m = mask.to(.int64).int64s
    var out = [Int64](repeating: 0, count: batch * length)
    for r in 0..<batch {
      var running: Int64 = 0
      for c in 0..<total {
        let isToken = m[r * total + c] != 0
        if isToken { running += 1 }
        guard c >= total - length else { continue }
        let position: Int64
        switch (isToken, padding) {
        case (true, _): position = running - 1
        case (false, .constant(let value)): position = value
        case (false, .tokensBefore): position = running
        }
        out[r * length + c - (total - length)] = position
      }
    }
    return out
  }
}
