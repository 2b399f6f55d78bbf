import CLoomKernels
import Foundation

/// Optimizer updates in place: float32 through the C kernels, float64 in Swift loops.
extension CPUBackend {
  public func adamStep(param p: Tensor, grad g: Tensor, expAvg m: Tensor, expAvgSq v: Tensor, _ o: AdamStepOptions) {
    if p.dtype == .float32 {
      let fn = o.decoupledWeightDecay ? loom_adamw_step_f32 : loom_adam_step_f32
      fn(
        p.pointer(as: Float.self), g.pointer(as: Float.self), m.pointer(as: Float.self), v.pointer(as: Float.self),
        Int64(p.count), Float(o.lr), Float(o.beta1), Float(o.beta2), Float(o.eps), Float(o.weightDecay),
        Int64(o.step))
      return
    }
    let (lr, beta1, beta2, eps, weightDecay) = (o.lr, o.beta1, o.beta2, o.eps, o.weightDecay)
    let pp = p.pointer(as: Double.self), gp = g.pointer(as: Double.self)
    let mp = m.pointer(as: Double.self), vp = v.pointer(as: Double.self)
    let bc1 = 1 - Foundation.pow(beta1, Double(o.step))
    let bc2 = (1 - Foundation.pow(beta2, Double(o.step))).squareRoot()
    for i in 0..<p.count {
      var gi = gp[i]
      if o.decoupledWeightDecay { pp[i] *= 1 - lr * weightDecay } else { gi += weightDecay * pp[i] }
      mp[i] = beta1 * mp[i] + (1 - beta1) * gi
      vp[i] = beta2 * vp[i] + (1 - beta2) * gi * gi
      pp[i] -= lr / bc1 * mp[i] / (vp[i].squareRoot() / bc2 + eps)
    }
  }

  public func sgdStep(param p: Tensor, grad g: Tensor, momentumBuffer buf: Tensor?, _ o: SGDStepOptions) {
    if p.dtype == .float32 {
      loom_sgd_step_f32(
        p.pointer(as: Float.self), g.pointer(as: Float.self), buf?.pointer(as: Float.self), Int64(p.count),
        Float(o.lr), Float(o.momentum), Float(o.dampening), Float(o.weightDecay), o.nesterov ? 1 : 0,
        o.firstStep ? 1 : 0)
      return
    }
    let pp = p.pointer(as: Double.self), gp = g.pointer(as: Double.self)
    let bp = buf?.pointer(as: Double.self)
    for i in 0..<p.count {
      var d = gp[i] + o.weightDecay * pp[i]
      if o.momentum != 0, let bp {
        bp[i] = o.firstStep ? d : o.momentum * bp[i] + (1 - o.dampening) * d
        d = o.nesterov ? d + o.momentum * bp[i] : bp[i]
      }
      pp[i] -= o.lr * d
    }
  }

  public func adafactorStep(
    param p: Tensor, grad g: Tensor, rowVar: Tensor?, colVar: Tensor?, variance: Tensor?,
    _ o: AdafactorStepOptions
  ) {
    if p.dtype == .float32 {
      adafactorUpdate(p, g, rowVar, colVar, variance, Float.self, o)
    } else {
      adafactorUpdate(p, g, rowVar, colVar, variance, Double.self, o)
    }
  }

  /// torch's `lerp_`: the second form keeps precision when the weight is large.
  @inline(__always)
  static func lerp(_ a: Double, _ b: Double, _ w: Double) -> Double {
    Swift.abs(w) < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w)
  }

  func adafactorUpdate<T: BinaryFloatingPoint & TensorElement>(
    _ p: Tensor, _ g: Tensor, _ rowVar: Tensor?, _ colVar: Tensor?, _ variance: Tensor?, _: T.Type,
    _ o: AdafactorStepOptions
  ) {
    let n = p.count
    guard n > 0 else { return }
    let (lr, weightDecay, d) = (o.lr, o.weightDecay, o.clipThreshold)
    let pp = p.buffer(as: T.self)
    let gp = g.buffer(as: T.self)
    let sign: Double = o.maximize ? -1 : 1
    let t = Double(o.step)
    let oneMinusBeta2 = Foundation.pow(t, o.beta2Decay)
    let rho = Swift.min(lr, 1 / t.squareRoot())
    var sumSquares = 0.0
    for i in 0..<n { sumSquares += Double(pp[i]) * Double(pp[i]) }
    let alpha = Swift.max(o.eps2, (sumSquares / Double(n)).squareRoot()) * rho
    if weightDecay != 0 {
      let keep = T(1 - lr * weightDecay)
      for i in 0..<n { pp[i] *= keep }
    }
    let e1 = o.eps1 ?? Double(T.ulpOfOne)
    let floor = e1 * e1
    // The update g / √max(v̂, eps1²) is formed twice: once for its RMS (the clipping
    // factor), then to apply, so no gradient-sized temporary is needed.
    if let rowVar, let colVar {
      let (r, c) = (p.shape[p.rank - 2], p.shape[p.rank - 1])
      let batches = n / (r * c)
      let rv = rowVar.buffer(as: T.self)
      let cv = colVar.buffer(as: T.self)
      // Per matrix: the mean of the row factors (the normaliser of row ⊗ column).
      let rowMeans = UnsafeMutableBufferPointer<Double>.allocate(capacity: batches)
      defer { rowMeans.deallocate() }
      for b in 0..<batches {
        let base = b * r * c
        for i in 0..<r {
          var s = 0.0
          for j in 0..<c { s += Double(gp[base + i * c + j]) * Double(gp[base + i * c + j]) }
          rv[b * r + i] = T(Self.lerp(Double(rv[b * r + i]), s / Double(c), oneMinusBeta2))
        }
        for j in 0..<c {
          var s = 0.0
          for i in 0..<r { s += Double(gp[base + i * c + j]) * Double(gp[base + i * c + j]) }
          cv[b * c + j] = T(Self.lerp(Double(cv[b * c + j]), s / Double(r), oneMinusBeta2))
        }
        var m = 0.0
        for i in 0..<r { m += Double(rv[b * r + i]) }
        rowMeans[b] = Swift.max(m / Double(r), e1)
      }
      func estimate(_ k: Int) -> Double {
        let b = k / (r * c)
        let i = (k / c) % r
        let j = k % c
        return Double(T(Double(rv[b * r + i]) * Double(cv[b * c + j]) / rowMeans[b]))
      }
      sumSquares = 0
      for k in 0..<n {
        let u = sign * Double(gp[k]) / Swift.max(estimate(k), floor).squareRoot()
        sumSquares += u * u
      }
      let scale = alpha / Swift.max(1, (sumSquares / Double(n)).squareRoot() / d)
      for k in 0..<n {
        pp[k] -= T(scale * sign * Double(gp[k]) / Swift.max(estimate(k), floor).squareRoot())
      }
    } else if let variance {
      let vp = variance.buffer(as: T.self)
      sumSquares = 0
      for k in 0..<n {
        let g = Double(gp[k])
        vp[k] = T(Self.lerp(Double(vp[k]), g * g, oneMinusBeta2))
        let u = sign * g / Swift.max(Double(vp[k]), floor).squareRoot()
        sumSquares += u * u
      }
      let scale = alpha / Swift.max(1, (sumSquares / Double(n)).squareRoot() / d)
      for k in 0..<n {
        pp[k] -= T(scale * sign * Double(gp[k]) / Swift.max(Double(vp[k]), floor).squareRoot())
      }
    }
  }
}
