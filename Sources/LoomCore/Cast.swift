extension Tensor {
  /// Converts to another dtype (a copy; self when already that dtype). Float-to-float
  /// conversions are differentiable.
  public func to(_ target: DType) -> Tensor {
    if target == dtype { return self }
    let out = backend.convert(detach(), to: target)
    let from = dtype
    if dtype.isFloatingPoint && target.isFloatingPoint {
      return out.recorded("ToCopyBackward", inputs: [self]) { g, _ in [g.to(from)] }
    }
    return out
  }

  public func float() -> Tensor { to(.float32) }
  public func double() -> Tensor { to(.float64) }
  public func long() -> Tensor { to(.int64) }
}
