import LoomCore

/// bitsandbytes' `AdamW8bit` / `Adam8bit` (optim_bits=8): both moments stored as uint8 codes of
/// the dynamic map with one float32 absmax per block (`optimizer_update_8bit_blockwise`), about
/// 2 bytes per parameter instead of 8. Tensors with fewer than `minEightBitSize` elements keep
/// float32 moments (bnb's min_8bit_size), and so do non-float32 parameters. Weight decay is
/// decoupled (θ ← θ·(1 − lr·λ)), as bnb applies it for both class names; percentile clipping
/// and max_unorm are off (bnb's defaults).
public final class Adam8bit: Optimizer {
  public var paramGroups: [ParamGroup]
  public let beta1: Double, beta2: Double, eps: Double
  /// Elements per absmax block: 256 in bitsandbytes 0.45 and later (2048 before).
  public let blockSize: Int
  public let minEightBitSize: Int
  var steps: [ObjectIdentifier: Int] = [:]
  var quantized: [ObjectIdentifier: QuantizedAdamState] = [:]
  var fullPrecision: [ObjectIdentifier: (m: Tensor, v: Tensor)] = [:]

  public init(
    _ groups: [ParamGroup], betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8, blockSize: Int = 256,
    minEightBitSize: Int = 4096
  ) {
    precondition((1...4096).contains(blockSize), "Adam8bit: block size must be in 1...4096, got \(blockSize)")
    paramGroups = groups
    (beta1, beta2, self.eps) = (betas.0, betas.1, eps)
    self.blockSize = blockSize
    self.minEightBitSize = minEightBitSize
  }

  /// Whether `p` gets 8-bit moments.
  public func isQuantized(_ p: Tensor) -> Bool { p.dtype == .float32 && p.count >= minEightBitSize }

  public func step() {
    noGrad {
      for group in paramGroups {
        for p in group.params {
          guard let g = p.grad else { continue }
          precondition(p.isContiguous, "Adam8bit: parameters must be contiguous")
          let id = ObjectIdentifier(p)
          let t = (steps[id] ?? 0) + 1
          steps[id] = t
          let options = AdamStepOptions(
            lr: group.lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: group.weightDecay, step: t,
            decoupledWeightDecay: true)
          if isQuantized(p) {
            if quantized[id] == nil { quantized[id] = QuantizedAdamState(count: p.count, blockSize: blockSize, device: p.device) }
            p.backend.adam8bitStep(param: p, grad: g.to(.float32).contiguous(), state: quantized[id]!, options)
          } else {
            if fullPrecision[id] == nil { fullPrecision[id] = (Tensor.zeros(like: p), Tensor.zeros(like: p)) }
            let (m, v) = fullPrecision[id]!
            p.backend.adamStep(param: p, grad: g.contiguous(), expAvg: m, expAvgSq: v, options)
          }
        }
      }
    }
  }

  /// Bytes of optimizer state held (moments, absmax, code maps).
  public var stateByteCount: Int {
    (quantized.isEmpty ? 0 : 2 * 256 * 4) + quantized.values.reduce(0) { $0 + $1.momentByteCount }
      + fullPrecision.values.reduce(0) { $0 + ($1.m.count + $1.v.count) * $1.m.dtype.byteSize }
  }

  /// bnb's state names per parameter index: state1/state2 (uint8 or float32), absmax1/absmax2, step.
  public func stateDict() -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (i, p) in allParameters.enumerated() {
      let id = ObjectIdentifier(p)
      if let s = quantized[id] {
        (out["\(i).state1"], out["\(i).state2"]) = (s.state1, s.state2)
        (out["\(i).absmax1"], out["\(i).absmax2"]) = (s.absmax1, s.absmax2)
      } else if let (m, v) = fullPrecision[id] {
        (out["\(i).state1"], out["\(i).state2"]) = (m, v)
      } else {
        continue
      }
      out["\(i).step"] = Tensor(scalar: Int64(steps[id] ?? 0))
    }
    return out
  }

  public func loadStateDict(_ state: [String: Tensor]) throws {
    for (i, p) in allParameters.enumerated() {
      guard let s1 = state["\(i).state1"] else { continue }
      guard let s2 = state["\(i).state2"] else { throw OptimizerStateError.missing("\(i).state2") }
      guard let s = state["\(i).step"] else { throw OptimizerStateError.missing("\(i).step") }
      let id = ObjectIdentifier(p)
      if isQuantized(p) {
        guard let a1 = state["\(i).absmax1"] else { throw OptimizerStateError.missing("\(i).absmax1") }
        guard let a2 = state["\(i).absmax2"] else { throw OptimizerStateError.missing("\(i).absmax2") }
        quantized[id] = try QuantizedAdamState(
          state1: s1, state2: s2, absmax1: a1, absmax2: a2, count: p.count, blockSize: blockSize, device: p.device)
      } else {
        guard s1.shape == p.shape, s2.shape == p.shape else {
          throw LoomError("optimizer state: parameter \(i) has shape \(p.shape) but the saved moments have \(s1.shape)")
        }
        fullPrecision[id] = (s1.to(p.dtype).contiguousCopy().detach(), s2.to(p.dtype).contiguousCopy().detach())
      }
      steps[id] = try savedStep(s, key: "\(i).step")
    }
  }
}
