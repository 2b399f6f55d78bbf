import LoomCore

extension PPOMath {
  /// trl's `masked_mean`: Σ(x·mask) / Σmask over the whole tensor, or along `dim`.
  public static func maskedMean(_ values: Tensor, _ mask: Tensor, dim: Int? = nil) -> Tensor {
    let m = mask.to(values.dtype).detach()
    if let dim { return (values * m).sum(dim: dim) / m.sum(dim: dim) }
    return (values * m).sum() / m.sum()
  }

  /// trl's `masked_var`: the masked mean of squared deviations from the masked mean, times n / (n − 1)
  /// when `unbiased` (n = Σmask). Throws when the mask is empty (trl's ValueError): a mini-batch too small.
  public static func maskedVar(_ values: Tensor, _ mask: Tensor, unbiased: Bool = true) throws
    -> Tensor
  {
    let mean = maskedMean(values, mask)
    let variance = maskedMean((values - mean).square(), mask)
    guard unbiased else { return variance }
    let n = mask.to(.float64).sum().item()
    if n == 0 {
      throw PPOError(
        "masked_var: the mask selects no element (this happens with a mini-batch of one sequence with no "
          + "response token); use a larger mini-batch")
    }
    // As in trl, n = 1 divides by zero (an infinite variance); a larger mini-batch avoids it.
    return variance * (n / (n - 1))
  }

  /// trl's `masked_whiten`: (x − mean) · rsqrt(var + 1e-8) with masked statistics; `shiftMean: false`
  /// adds the mean back (only the scale changes).
  public static func maskedWhiten(_ values: Tensor, _ mask: Tensor, shiftMean: Bool = true) throws
    -> Tensor
  {
    let mean = maskedMean(values, mask)
    let variance = try maskedVar(values, mask)
    let whitened = (values - mean) * (variance + 1e-8).rsqrt()
    return shiftMean ? whitened : whitened + mean
  }
}
