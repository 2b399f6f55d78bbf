import LoomCore

extension Module {
  /// Moves every parameter and buffer to `device` in place (references held by optimizers
  /// and tied weights stay valid), like `module.to(device)`.
  @discardableResult
  public func to(device: Device) -> Self {
    noGrad {
      for p in parameters() where p.device != device { p.setData(p.detach().to(device: device)) }
      for (_, d, _) in bufferDeclarations() {
        if let b = d.tensor, b.device != device { d.assign(b.to(device: device)) }
      }
    }
    return self
  }

  /// Casts every floating-point parameter and buffer to `dtype` in place, like
  /// `module.to(torch.bfloat16)`: parameters keep their identity (optimizers built
  /// before the cast must be rebuilt, as their state keeps the old dtype), integer
  /// buffers (e.g. BatchNorm's `num_batches_tracked`) stay as they are, and so do quantized
  /// layers' scales (their kernels read float32 absmax, as bitsandbytes keeps them). Throws
  /// for a dtype that is not floating point.
  @discardableResult
  public func to(dtype: DType) throws -> Self {
    guard dtype.isFloatingPoint else {
      throw LoomError(
        "Module.to(dtype:): \(dtype) is not a floating-point type; use float32, bfloat16 or float16"
      )
    }
    let scales = Set(
      namedModules().filter { $0.1 is QuantizedLayer }.flatMap { (_, m) in
        m.bufferDeclarations().compactMap { $0.1.tensor.map(ObjectIdentifier.init) }
      })
    noGrad {
      for p in parameters() where p.dtype.isFloatingPoint && p.dtype != dtype {
        p.setData(p.detach().to(dtype))
      }
      for (_, d, _) in bufferDeclarations() {
        if let b = d.tensor, b.dtype.isFloatingPoint, b.dtype != dtype, !scales.contains(ObjectIdentifier(b)) {
          d.assign(b.to(dtype))
        }
      }
    }
    return self
  }
}
