/// Differentiable arithmetic with broadcasting.
extension Tensor {
  public func add(_ other: Tensor) -> Tensor {
    let out = backend(with: other).binary(.add, self, other)
    let (sa, sb) = (shape, other.shape)
    return out.recorded("AddBackward", inputs: [self, other]) { g, _ in
      [g.sum(toShape: sa), g.sum(toShape: sb)]
    }
  }

  public func sub(_ other: Tensor) -> Tensor {
    let out = backend(with: other).binary(.sub, self, other)
    let (sa, sb) = (shape, other.shape)
    return out.recorded("SubBackward", inputs: [self, other]) { g, _ in
      [g.sum(toShape: sa), (-g).sum(toShape: sb)]
    }
  }

  public func mul(_ other: Tensor) -> Tensor {
    let out = backend(with: other).binary(.mul, self, other)
    let (sa, sb) = (shape, other.shape)
    return out.recorded("MulBackward", inputs: [self, other]) { g, _ in
      [
        self.requiresGrad ? (g * other).sum(toShape: sa) : nil,
        other.requiresGrad ? (g * self).sum(toShape: sb) : nil,
      ]
    }
  }

  public func div(_ other: Tensor) -> Tensor {
    let out = backend(with: other).binary(.div, self, other)
    let (sa, sb) = (shape, other.shape)
    return out.recorded("DivBackward", inputs: [self, other]) { g, _ in
      [
        self.requiresGrad ? (g / other).sum(toShape: sa) : nil,
        other.requiresGrad ? (-(g * self) / (other * other)).sum(toShape: sb) : nil,
      ]
    }
  }

  /// Elementwise maximum (gradient goes to the larger input; ties split like PyTorch).
  public func maximum(_ other: Tensor) -> Tensor {
    let out = backend(with: other).binary(.maximum, self, other)
    let (sa, sb) = (shape, other.shape)
    return out.recorded("MaximumBackward", inputs: [self, other]) { g, _ in
      let gt = (self > other).to(g.dtype)
      let eq = (self == other).to(g.dtype) * 0.5
      return [(g * (gt + eq)).sum(toShape: sa), (g * (1 - gt - eq)).sum(toShape: sb)]
    }
  }

  public func minimum(_ other: Tensor) -> Tensor {
    -((-self).maximum(-other))
  }

  /// self ^ exponent elementwise (tensor exponent).
  public func pow(_ exponent: Tensor) -> Tensor {
    let out = backend(with: exponent).binary(.pow, self, exponent)
    let (sa, sb) = (shape, exponent.shape)
    return out.recorded("PowBackward", inputs: [self, exponent]) { g, y in
      [
        self.requiresGrad ? (g * exponent * self.pow(exponent - 1)).sum(toShape: sa) : nil,
        exponent.requiresGrad ? (g * y * self.log()).sum(toShape: sb) : nil,
      ]
    }
  }

  /// self ^ p for a constant p.
  public func pow(_ p: Double) -> Tensor {
    if p == 2 { return square() }
    if p == 1 { return self }
    let out = backend.pow(detach(), exponent: p)
    return out.recorded("PowBackward", inputs: [self]) { g, _ in [g * p * self.pow(p - 1)] }
  }

  /// Sums a broadcast gradient back to `target` (the adjoint of broadcasting).
  public func sum(toShape target: [Int]) -> Tensor {
    if shape == target { return self }
    let lead = rank - target.count
    var dims: [Int] = Array(0..<Swift.max(lead, 0))
    for (i, d) in target.enumerated() where d == 1 && shape[lead + i] != 1 {
      dims.append(lead + i)
    }
    let r = dims.isEmpty ? self : sum(dims: dims, keepDim: true)
    return r.shape == target ? r : r.reshape(target)
  }

  // Scalar conveniences.
  public func add(_ s: Double) -> Tensor { add(Tensor.scalar(s, dtype: dtype.isFloatingPoint ? dtype : .float32, device: device)) }
  public func mul(_ s: Double) -> Tensor {
    let out = backend.binary(.mul, self, Tensor.scalar(s, dtype: dtype.isFloatingPoint ? dtype : .float32, device: device))
    return out.recorded("MulBackward", inputs: [self]) { g, _ in [g * s] }
  }
}

public func + (a: Tensor, b: Tensor) -> Tensor { a.add(b) }
public func - (a: Tensor, b: Tensor) -> Tensor { a.sub(b) }
public func * (a: Tensor, b: Tensor) -> Tensor { a.mul(b) }
public func / (a: Tensor, b: Tensor) -> Tensor { a.div(b) }
public prefix func - (a: Tensor) -> Tensor { a.neg() }

public func + (a: Tensor, s: Double) -> Tensor { a.add(s) }
public func + (s: Double, a: Tensor) -> Tensor { a.add(s) }
public func - (a: Tensor, s: Double) -> Tensor { a.add(-s) }
public func - (s: Double, a: Tensor) -> Tensor { a.neg().add(s) }
public func * (a: Tensor, s: Double) -> Tensor { a.mul(s) }
public func * (s: Double, a: Tensor) -> Tensor { a.mul(s) }
public func / (a: Tensor, s: Double) -> Tensor { a.mul(1 / s) }
public func / (s: Double, a: Tensor) -> Tensor { a.reciprocal().mul(s) }

// Comparisons give bool tensors (no gradient).
public func < (a: Tensor, b: Tensor) -> Tensor { a.backend(with: b).compare(.less, a, b) }
public func <= (a: Tensor, b: Tensor) -> Tensor { a.backend(with: b).compare(.lessEqual, a, b) }
public func > (a: Tensor, b: Tensor) -> Tensor { a.backend(with: b).compare(.greater, a, b) }
public func >= (a: Tensor, b: Tensor) -> Tensor { a.backend(with: b).compare(.greaterEqual, a, b) }
public func == (a: Tensor, b: Tensor) -> Tensor { a.backend(with: b).compare(.equal, a, b) }
public func != (a: Tensor, b: Tensor) -> Tensor { a.backend(with: b).compare(.notEqual, a, b) }
public func < (a: Tensor, s: Double) -> Tensor { a.backend.compare(.less, a, .scalar(s, dtype: a.dtype, device: a.device)) }
public func <= (a: Tensor, s: Double) -> Tensor { a.backend.compare(.lessEqual, a, .scalar(s, dtype: a.dtype, device: a.device)) }
public func > (a: Tensor, s: Double) -> Tensor { a.backend.compare(.greater, a, .scalar(s, dtype: a.dtype, device: a.device)) }
public func >= (a: Tensor, s: Double) -> Tensor { a.backend.compare(.greaterEqual, a, .scalar(s, dtype: a.dtype, device: a.device)) }
public func == (a: Tensor, s: Double) -> Tensor { a.backend.compare(.equal, a, .scalar(s, dtype: a.dtype, device: a.device)) }
public func != (a: Tensor, s: Double) -> Tensor { a.backend.compare(.notEqual, a, .scalar(s, dtype: a.dtype, device: a.device)) }
