import LoomCore

/// Loss functions with PyTorch's semantics and reductions.
public enum Loss {
  static func reduce(_ x: Tensor, _ reduction: Reduction) -> Tensor {
    switch reduction {
    case .mean: return x.mean()
    case .sum: return x.sum()
    case .none: return x
    }
  }

  static func checkSameShape(_ a: Tensor, _ b: Tensor, _ op: String) {
    precondition(a.shape == b.shape, "Loom: \(op): input shape \(a.shape) and target shape \(b.shape) differ")
  }

  public static func mse(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    checkSameShape(input, target, "mse")
    if Autocast.isEnabled { return Autocast.inFloat32([input, target]) { mse($0[0], $0[1], reduction: reduction) } }
    return reduce((input - target).square(), reduction)
  }

  public static func l1(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    checkSameShape(input, target, "l1")
    if Autocast.isEnabled { return Autocast.inFloat32([input, target]) { l1($0[0], $0[1], reduction: reduction) } }
    return reduce((input - target).abs(), reduction)
  }

  /// Huber-style: 0.5·d²/β where |d| < β, else |d| − 0.5·β.
  public static func smoothL1(_ input: Tensor, _ target: Tensor, beta: Double = 1, reduction: Reduction = .mean) -> Tensor {
    checkSameShape(input, target, "smoothL1")
    if Autocast.isEnabled {
      return Autocast.inFloat32([input, target]) { smoothL1($0[0], $0[1], beta: beta, reduction: reduction) }
    }
    let d = (input - target).abs()
    let quadratic = d.square() * (0.5 / beta)
    let linearPart = d - 0.5 * beta
    return reduce(Tensor.where(d < beta, quadratic, linearPart), reduction)
  }

  /// Binary cross-entropy on probabilities; log terms clamped at −100 like PyTorch.
  public static func bce(_ input: Tensor, _ target: Tensor, weight: Tensor? = nil, reduction: Reduction = .mean) -> Tensor {
    checkSameShape(input, target, "bce")
    if Autocast.isEnabled {
      return Autocast.inFloat32([input, target]) { bce($0[0], $0[1], weight: weight, reduction: reduction) }
    }
    var l = input.binaryCrossEntropy(target)
    if let weight { l = l * weight }
    return reduce(l, reduction)
  }

  /// Binary cross-entropy on logits, computed stably: max(x,0) − x·t + log(1 + e^−|x|).
  public static func bceWithLogits(
    _ input: Tensor, _ target: Tensor, posWeight: Tensor? = nil, reduction: Reduction = .mean
  ) -> Tensor {
    checkSameShape(input, target, "bceWithLogits")
    if Autocast.isEnabled {
      return Autocast.inFloat32([input, target]) {
        bceWithLogits($0[0], $0[1], posWeight: posWeight, reduction: reduction)
      }
    }
    let softplusNeg = (-input.abs()).exp().add(1).log() + (-input).relu()  // log(1 + e^−x)
    let l: Tensor
    if let posWeight {
      // (1 − t)·x + (1 + (w − 1)·t)·log(1 + e^−x)
      let coefficient = (posWeight - 1) * target + 1
      l = (1 - target) * input + coefficient * softplusNeg
    } else {
      l = (1 - target) * input + softplusNeg
    }
    return reduce(l, reduction)
  }

  public static func crossEntropy(
    _ logits: Tensor, _ target: Tensor, ignoreIndex: Int = -100, labelSmoothing: Double = 0, reduction: Reduction = .mean
  ) -> Tensor {
    LoomCore.crossEntropy(logits, target, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing, reduction: reduction)
  }

  /// Negative log-likelihood of log-probabilities [N, C] at integer targets [N].
  public static func nll(_ logProbs: Tensor, _ target: Tensor, ignoreIndex: Int = -100, reduction: Reduction = .mean) -> Tensor {
    precondition(logProbs.rank == 2 && target.shape == [logProbs.shape[0]], "Loom: nll: expected [N, C] and [N], got \(logProbs.shape) and \(target.shape)")
    if Autocast.isEnabled {
      return Autocast.inFloat32([logProbs]) { nll($0[0], target, ignoreIndex: ignoreIndex, reduction: reduction) }
    }
    let keep = target != Double(ignoreIndex)
    let safe = Tensor.where(keep, target.to(.int64), Tensor.zeros([], dtype: .int64, device: target.device))
    let picked = -logProbs.gather(dim: 1, index: safe.unsqueeze(1)).squeeze(1)
    let l = Tensor.where(keep, picked, Tensor.zeros([], dtype: logProbs.dtype, device: logProbs.device))
    switch reduction {
    case .none: return l
    case .sum: return l.sum()
    case .mean: return l.sum() / Double(keep.toArray(Bool.self).filter { $0 }.count)
    }
  }

  /// KL(target ‖ input) with input as log-probabilities; `batchmean` divides by N.
  public static func klDiv(
    _ input: Tensor, _ target: Tensor, logTarget: Bool = false, reduction: String = "mean"
  ) -> Tensor {
    checkSameShape(input, target, "klDiv")
    let l: Tensor
    if logTarget {
      l = target.exp() * (target - input)
    } else {
      // 0·log 0 = 0.
      let safeLog = Tensor.where(target > 0, target, Tensor.ones([], dtype: target.dtype, device: target.device)).log()
      l = target * (safeLog - input)
    }
    switch reduction {
    case "none": return l
    case "sum": return l.sum()
    case "batchmean": return l.sum() / Double(input.shape.first ?? 1)
    default: return l.mean()
    }
  }

  /// 1 − cos(x1, x2) for y = 1; max(0, cos − margin) for y = −1.
  public static func cosineEmbedding(
    _ x1: Tensor, _ x2: Tensor, _ y: Tensor, margin: Double = 0, reduction: Reduction = .mean
  ) -> Tensor {
    let eps = 1e-8
    let dot = (x1 * x2).sum(dim: -1)
    let n1 = (x1.square().sum(dim: -1) + eps).sqrt(), n2 = (x2.square().sum(dim: -1) + eps).sqrt()
    let cosine = dot / (n1 * n2)
    let positive = 1 - cosine
    let negative = (cosine - margin).relu()
    return reduce(Tensor.where(y > 0, positive, negative), reduction)
  }
}
