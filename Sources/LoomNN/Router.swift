import LoomCore

/// The router of a mixture of experts (HF's `SwitchTransformersTop1Router`): a bias-free
/// `classifier` from the hidden size to one logit per expert, computed in float32 (float64
/// inputs stay float64, for gradient checks). In training with `jitterNoise` > 0 the router's
/// input is multiplied by uniform noise in [1 − eps, 1 + eps] (Switch's jitter; only the
/// router sees it, as in Mesh TensorFlow).
public final class Router: Module {
  @Child public var classifier: Linear
  public let jitterNoise: Double
  public let generator: Generator

  public init(
    hidden: Int, numExperts: Int, bias: Bool = false, jitterNoise: Double = 0,
    generator: Generator = .global
  ) {
    classifier = Linear(hidden, numExperts, bias: bias, generator: generator)
    self.jitterNoise = jitterNoise
    self.generator = generator
    super.init()
  }

  /// The float type routing runs in for inputs of `dtype`.
  static func routerDType(_ dtype: DType) -> DType { dtype == .float64 ? .float64 : .float32 }

  /// Router logits [..., num_experts] in float32 (float64 for float64 inputs).
  override public func forward(_ x: Tensor) -> Tensor {
    let dt = Self.routerDType(x.dtype)
    var h = x.to(dt)
    if training && jitterNoise > 0 {
      h =
        h
        * Tensor.rand(
          h.shape, low: 1 - jitterNoise, high: 1 + jitterNoise, dtype: dt, generator: generator,
          device: h.device)
    }
    return linear(h, weight: classifier.weight.to(dt), bias: classifier.bias?.to(dt))
  }
}

/// transformers' router losses (`modeling_switch_transformers.py`), over logits of shape
/// [groups, tokens, experts] (a group is a sequence; layers are concatenated along tokens).
public enum RouterLosses {
  /// `router_z_loss_func`: mean over tokens of logsumexp(logits)² (ST-MoE), keeping logits small.
  public static func zLoss(_ routerLogits: Tensor) -> Tensor {
    let logZ = routerLogits.logSumExp(dim: -1)
    return (logZ * logZ).mean()
  }

  /// `load_balancing_loss_func` (Switch eqs. 4–6): E² · mean over groups and experts of
  /// (fraction of the group's tokens routed to the expert) × (mean router probability of the
  /// expert). `expertIndices` [..., tokens] or [..., tokens, k] (top-k: a token counts for each
  /// expert it chose); only the probabilities carry gradients.
  public static func loadBalancingLoss(routerProbs: Tensor, expertIndices: Tensor) -> Tensor {
    let e = routerProbs.shape[routerProbs.rank - 1]
    let idx =
      expertIndices.rank == routerProbs.rank - 1 ? expertIndices.unsqueeze(-1) : expertIndices
    // One-hot per choice, summed over the k choices (distinct experts, so a 0/1 mask).
    let mask = idx.oneHot(numClasses: e, dtype: routerProbs.dtype).sum(dim: -2)
    let tokensPerExpert = mask.mean(dim: -2)
    let probPerExpert = routerProbs.mean(dim: -2)
    return (tokensPerExpert * probPerExpert).mean() * Double(e * e)
  }

  /// Both losses over several layers' routing, as SwitchTransformersForConditionalGeneration
  /// computes them: logits concatenated along tokens, probabilities = softmax(logits), expert
  /// indices = each token's chosen experts (before capacity).
  public static func losses(_ routings: [Routing]) -> (zLoss: Tensor, auxLoss: Tensor)? {
    guard !routings.isEmpty else { return nil }
    let logits = Tensor.cat(routings.map(\.routerLogits), dim: -2)
    let indices = Tensor.cat(routings.map(\.expertIndices), dim: -2)
    return (
      zLoss(logits), loadBalancingLoss(routerProbs: logits.softmax(dim: -1), expertIndices: indices)
    )
  }
}
