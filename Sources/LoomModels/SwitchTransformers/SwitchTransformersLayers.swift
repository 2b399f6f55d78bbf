import Foundation
import LoomCore
import LoomNN

/// `SwitchTransformersLayerFF`: x + dropout(mlp(layer_norm(x))). `mlp` is T5's dense
/// feed-forward (`wi`, `wo`) or, in sparse blocks, `SwitchTransformersSparseMLP`: a top-1
/// `MixtureOfExperts` (`router.classifier`, `experts.expert_N.wi/wo`) whose experts take at
/// most expert_capacity tokens of a sequence each; the others pass through unchanged.
public final class SwitchTransformersLayerFF: Module, T5FeedForwardLayer {
  @Child public var mlp: Module
  @Child public var layer_norm: T5LayerNorm
  let dropoutP: Double

  public init(_ config: SwitchTransformersConfig, sparse: Bool) throws {
    let t5 = config.t5
    if sparse {
      let experts = try (0..<config.numExperts).map { _ in try T5DenseActDense(t5) }
      mlp = try MixtureOfExperts(
        hidden: config.dModel, numExperts: config.numExperts, topK: 1,
        capacity: .tokens(config.expertCapacity), normalizeTopK: false,
        routerBias: config.routerBias, jitterNoise: config.routerJitterNoise
      ) { experts[$0] }
    } else {
      mlp = try T5DenseActDense(t5)
    }
    layer_norm = T5LayerNorm(config.dModel, eps: config.layerNormEpsilon)
    dropoutP = config.dropoutRate
    super.init()
  }

  /// The sparse MLP, nil in a dense block.
  public var experts: MixtureOfExperts? { mlp as? MixtureOfExperts }

  override public func forward(_ x: Tensor) -> Tensor {
    x + dropout(mlp(layer_norm(x)), p: dropoutP, training: training)
  }
}

/// Building and reading the sparse layers of a T5 stack made of Switch blocks.
enum SwitchStack {
  /// An encoder or decoder: T5's stack with `SwitchTransformersLayerFF` in every block,
  /// sparse where HF's sparse step says.
  static func make(_ config: SwitchTransformersConfig, isDecoder: Bool) throws -> T5Stack {
    let step = isDecoder ? config.decoderSparseStep : config.encoderSparseStep
    return try T5Stack(config.t5, isDecoder: isDecoder) {
      try SwitchTransformersLayerFF(
        config, sparse: SwitchTransformersConfig.isSparse(block: $0, step: step))
    }
  }

  /// The stack's sparse MLPs in block order.
  static func sparseLayers(_ stack: T5Stack) -> [MixtureOfExperts] {
    stack.block.compactMap { ($0.layer.last as? SwitchTransformersLayerFF)?.experts }
  }

  /// The routing of the stack's last forward pass (and forgets it, so no graph is kept alive).
  static func takeRoutings(_ stack: T5Stack) -> [Routing] {
    sparseLayers(stack).compactMap { moe in
      defer { moe.clearRouting() }
      return moe.lastRouting
    }
  }

  /// HF's `_init_weights` on top of T5's: the router N(0, f²), each expert's wi and wo
  /// N(0, f²/d_model).
  static func initialize(_ root: Module, _ config: SwitchTransformersConfig) {
    T5Init.apply(root, config.t5)
    let f = config.initializerFactor
    let std = f / Double(config.dModel).squareRoot()
    noGrad {
      for case let moe as MixtureOfExperts in root.namedModules().map(\.1) {
        EncoderInit.normal(moe.router.classifier.weight, std: f, generator: .global)
        moe.router.classifier.bias?.fill(0)
        for case let e as T5DenseActDense in moe.experts.values {
          EncoderInit.normal(e.wi.weight, std: std, generator: .global)
          EncoderInit.normal(e.wo.weight, std: std, generator: .global)
        }
      }
    }
  }
}
