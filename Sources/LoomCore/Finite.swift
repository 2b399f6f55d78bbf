extension Tensor {
  /// Whether every element is finite (no NaN, no ±infinity); integer tensors always are. Read in
  /// stretches of 1 Mi elements, so checking a 150 MB embedding holds 4 MB of temporaries, not
  /// two full copies (inf·0 and NaN·0 are NaN, finite·0 is 0: one sum per stretch decides).
  public func isAllFinite() -> Bool {
    guard dtype.isFloatingPoint, count > 0 else { return true }
    return noGrad {
      let flat = detach().reshape([-1])
      let stretch = 1 << 20
      var start = 0
      while start < count {
        let length = Swift.min(stretch, count - start)
        if !(flat.narrow(dim: 0, start: start, length: length) * 0).sum().item().isFinite {
          return false
        }
        start += length
      }
      return true
    }
  }
}
