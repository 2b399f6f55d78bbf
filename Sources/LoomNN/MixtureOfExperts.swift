import LoomCore

/// How many tokens of one group (a sequence) each expert takes.
public enum ExpertCapacity: Equatable, Sendable {
  /// Every token reaches its experts.
  case unlimited
  /// At most this many tokens per expert and group (HF Switch's `expert_capacity`).
  case tokens(Int)
  /// ⌈factor · tokens per group · k / experts⌉ (the Switch paper's capacity factor).
  case factor(Double)

  /// The capacity for groups of `tokens` tokens with top-`k` routing over `experts`.
  func limit(tokens: Int, k: Int, experts: Int) -> Int {
    switch self {
    case .unlimited: return Int.max
    case .tokens(let c): return c
    case .factor(let f):
      return Swift.max(1, Int((f * Double(tokens * k) / Double(experts)).rounded(.up)))
    }
  }
}

/// What one forward pass routed: the router's logits [..., experts] (float32), each token's
/// chosen experts [..., k] (int64, before capacity; what the load-balancing loss counts), their
/// weights [..., k] and how many tokens each expert processed.
public struct Routing {
  public let routerLogits: Tensor
  public let expertIndices: Tensor
  public let routingWeights: Tensor
  public let tokensPerExpert: [Int]
}

/// A sparse mixture-of-experts feed-forward with Hugging Face Switch Transformers' semantics and
/// names (`SwitchTransformersSparseMLP`: `router.classifier`, `experts.expert_N`), generalised to
/// top-k routing:
/// - the router (`Router`) scores each token in float32; probabilities are its softmax;
/// - each token picks its top-k experts. k = 1 weights the expert's output by the router
///   probability (Switch); k > 1 renormalises the k probabilities to sum to 1 (Mixtral's
///   `norm_topk_prob`, ST-MoE); `normalizeTopK` overrides either;
/// - capacity is counted per group (the dims before the last two; one group for [tokens, C]) in
///   token order, first choices before second ones (GShard); a token over an expert's capacity
///   gets nothing from it — zero output, as transformers 5's SparseMLP gives, so the residual
///   around the layer passes the token through unchanged;
/// - tokens are gathered per expert (`indexSelect`) and the weighted outputs added back in one
///   `indexAdd`, so each expert runs only on its own tokens.
/// Losses: `RouterLosses` on `lastRouting` (or `RouterLosses.losses` over several layers).
open class MixtureOfExperts: Module {
  @Child public var router: Router
  @Child public var experts: ModuleDict
  public let numExperts: Int
  public let topK: Int
  public let capacity: ExpertCapacity
  public let normalizeTopK: Bool
  /// The last forward pass's routing (what the router losses need).
  public private(set) var lastRouting: Routing?
  /// Tokens each expert processed in training since `resetUsage()`.
  public private(set) var usage: [Int]

  /// `expert(i)` builds expert i (any feed-forward from C to C: GPT-2's MLP, `DenseActDense`…).
  public init(
    hidden: Int, numExperts: Int, topK: Int = 1, capacity: ExpertCapacity = .unlimited,
    normalizeTopK: Bool? = nil, routerBias: Bool = false, jitterNoise: Double = 0,
    generator: Generator = .global, expert: (Int) -> Module
  ) throws {
    try Self.check(numExperts: numExperts, topK: topK, capacity: capacity, jitterNoise: jitterNoise)
    router = Router(
      hidden: hidden, numExperts: numExperts, bias: routerBias, jitterNoise: jitterNoise,
      generator: generator)
    experts = ModuleDict((0..<numExperts).map { ("expert_\($0)", expert($0)) })
    self.numExperts = numExperts
    self.topK = topK
    self.capacity = capacity
    self.normalizeTopK = normalizeTopK ?? (topK > 1)
    usage = [Int](repeating: 0, count: numExperts)
    super.init()
  }

  /// Rejects settings no layer can run with, naming the setting and its range.
  public static func check(
    numExperts: Int, topK: Int, capacity: ExpertCapacity, jitterNoise: Double = 0
  ) throws {
    guard numExperts >= 1 else {
      throw LoomError("mixture of experts: num_experts must be >= 1, got \(numExperts)")
    }
    guard (1...numExperts).contains(topK) else {
      throw LoomError(
        "mixture of experts: top-k must be in 1...num_experts (\(numExperts)), got \(topK)")
    }
    switch capacity {
    case .tokens(let c) where c < 1:
      throw LoomError(
        "mixture of experts: expert_capacity must be >= 1 token, got \(c) (no token could reach an expert)"
      )
    case .factor(let f) where !(f > 0 && f.isFinite):
      throw LoomError("mixture of experts: the capacity factor must be a positive number, got \(f)")
    default: break
    }
    guard (0..<1).contains(jitterNoise) else {
      throw LoomError(
        "mixture of experts: router jitter noise must be in [0, 1), got \(jitterNoise)")
    }
  }

  public func resetUsage() { usage = [Int](repeating: 0, count: numExperts) }

  /// Forgets the last routing (so its graph is not kept alive).
  public func clearRouting() { lastRouting = nil }

  /// [..., C] → [..., C]; records `lastRouting`.
  override open func forward(_ x: Tensor) -> Tensor {
    let (y, routing) = route(x)
    lastRouting = routing
    if training { for e in 0..<numExperts { usage[e] += routing.tokensPerExpert[e] } }
    return y
  }

  /// The layer's output and its routing.
  public func route(_ x: Tensor) -> (output: Tensor, routing: Routing) {
    guard x.rank >= 2 else {
      fatalError("Loom: MixtureOfExperts: input must be [..., tokens, hidden], got \(x.shape)")
    }
    let c = x.shape[x.rank - 1]
    let tokens = x.shape[x.rank - 2]
    let n = x.count / Swift.max(c, 1)
    let logits = router(x)
    let probs = logits.softmax(dim: -1)
    let (top, indices) = probs.topk(topK, dim: -1)
    var weights = normalizeTopK ? top / top.sum(dim: -1, keepDim: true) : top
    weights = weights.to(x.dtype).reshape([-1])
    let dispatch = Self.dispatch(
      indices.int64s, groups: n / Swift.max(tokens, 1), tokens: tokens, k: topK,
      experts: numExperts,
      capacity: capacity.limit(tokens: tokens, k: topK, experts: numExperts))
    let flat = x.reshape([n, c])
    var outputs: [Tensor] = []
    var targets: [Int64] = []
    for (e, expert) in experts.values.enumerated() where !dispatch.tokens[e].isEmpty {
      let rows = Tensor(dispatch.tokens[e], shape: [dispatch.tokens[e].count], device: x.device)
      let slots = Tensor(dispatch.slots[e], shape: [dispatch.slots[e].count], device: x.device)
      let w = weights.indexSelect(dim: 0, index: slots).unsqueeze(1)
      outputs.append(expert(flat.indexSelect(dim: 0, index: rows)) * w)
      targets += dispatch.tokens[e]
    }
    var y = Tensor.zeros([n, c], dtype: x.dtype, device: x.device)
    if !outputs.isEmpty {
      y = y.indexAdd(
        index: Tensor(targets, shape: [targets.count], device: x.device),
        source: Tensor.cat(outputs))
    }
    let routing = Routing(
      routerLogits: logits, expertIndices: indices, routingWeights: weights.reshape(indices.shape),
      tokensPerExpert: dispatch.tokens.map(\.count))
    return (recordForward(y.reshape(x.shape), inputs: [x]), routing)
  }

  /// Per expert, the rows it takes and the flat (token · k + choice) weight index of each, in
  /// priority order: within a group, every token's first choice in token order, then the
  /// second choices…; an expert full for the group drops the rest (HF's cumsum ≤ capacity).
  static func dispatch(
    _ indices: [Int64], groups: Int, tokens: Int, k: Int, experts: Int, capacity: Int
  ) -> (tokens: [[Int64]], slots: [[Int64]]) {
    var rows = [[Int64]](repeating: [], count: experts)
    var slots = [[Int64]](repeating: [], count: experts)
    for g in 0..<groups {
      var load = [Int](repeating: 0, count: experts)
      for choice in 0..<k {
        for t in 0..<tokens {
          let token = g * tokens + t
          let e = Int(indices[token * k + choice])
          guard load[e] < capacity else { continue }
          load[e] += 1
          rows[e].append(Int64(token))
          slots[e].append(Int64(token * k + choice))
        }
      }
    }
    return (rows, slots)
  }
}
