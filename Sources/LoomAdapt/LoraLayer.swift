import LoomCore
import LoomModels
import LoomNN

/// One adapter's rank and scaling in a LoRA layer (alpha/r, or alpha/√r with rsLoRA).
public struct LoraAdapterSettings: Equatable, Sendable {
  public let r: Int
  public let alpha: Double
  public let scaling: Double
  public let dropout: Double
}

/// What every LoRA wrapper keeps besides its factors: a plain object, not part of the
/// module tree (no parameters, not saved).
public final class LoraState {
  public internal(set) var settings: [String: LoraAdapterSettings] = [:]
  /// Adapters added to the layer, in order.
  public internal(set) var names: [String] = []
  /// Adapters whose update the forward adds (PEFT's `active_adapters`).
  public internal(set) var active: [String] = []
  /// True inside `disableAdapter()`: the forward is the base layer's.
  public internal(set) var disabled = false
  /// Adapters merged into the base weight, and the weight before (so unmerge is exact).
  public internal(set) var merged: [String] = []
  var weightBeforeMerge: Tensor?
  let generator: Generator

  init(generator: Generator) { self.generator = generator }
}

/// A layer wrapped by LoRA: the base layer's own tensors (its checkpoint names stay) plus
/// low-rank factors per named adapter, PEFT's `LoraLayer`.
public protocol LoraLayer: Module {
  var lora: LoraState { get }
  /// The weight merging writes into (the wrapped layer's).
  var baseWeight: Tensor { get }
  var baseBias: Tensor? { get }
  /// Adds factors for `name`, initialised as `LoraInit` says.
  func createFactors(_ name: String, r: Int, initialization: LoraInit, generator: Generator)
  /// The factors of one adapter with their key suffixes in PEFT's files ("lora_A.weight", …).
  func factors(_ name: String) -> [(key: String, tensor: Tensor)]
  /// B·A·scaling in the base weight's layout.
  func deltaWeight(_ name: String) -> Tensor
  /// The unwrapped layer over the (possibly merged) base tensors.
  func baseLayer() -> Module
}

extension LoraLayer {
  func addAdapter(
    _ name: String, r: Int, alpha: Double, dropout: Double, rslora: Bool, initialization: LoraInit,
    generator: Generator
  ) {
    let scaling = rslora ? alpha / Double(r).squareRoot() : alpha / Double(r)
    lora.settings[name] = LoraAdapterSettings(
      r: r, alpha: alpha, scaling: scaling, dropout: dropout)
    if !lora.names.contains(name) { lora.names.append(name) }
    createFactors(name, r: r, initialization: initialization, generator: generator)
  }

  /// The base output plus each active adapter's update (dropout on the LoRA path only).
  func adapted(_ x: Tensor, base: Tensor, update: (String, Tensor) -> Tensor) -> Tensor {
    if lora.disabled {
      if !lora.merged.isEmpty { unmerge() }
      return base
    }
    guard lora.merged.isEmpty else { return base }
    var out = base
    for name in lora.active {
      guard let s = lora.settings[name] else { continue }
      // PEFT: the input in the adapter's dtype (float32 factors over a bf16 or quantized base), the
      // sum in the wider type, the result in the base's.
      let adapterType = factors(name).first?.tensor.dtype ?? x.dtype
      let cast = x.dtype == adapterType ? x : x.to(adapterType)
      let input =
        s.dropout > 0 ? dropout(cast, p: s.dropout, training: training, generator: lora.generator) : cast
      out = adding(update(name, input) * s.scaling, to: out)
    }
    return out
  }

  /// Adds the active adapters' updates to the base weight (PEFT's `merge`).
  public func merge(keepOriginal: Bool = true) {
    let pending = lora.active.filter { !lora.merged.contains($0) && lora.settings[$0] != nil }
    guard !pending.isEmpty else { return }
    precondition(
      baseWeight.dtype.isFloatingPoint,
      "Loom: cannot merge a LoRA adapter into quantized (\(baseWeight.dtype)) weights; merge into the float model")
    noGrad {
      if keepOriginal && lora.weightBeforeMerge == nil {
        lora.weightBeforeMerge = baseWeight.clone()
      }
      var w = baseWeight.detach()
      for name in pending { w = w + deltaWeight(name).to(w.dtype) }
      baseWeight.copyIn(w)
    }
    lora.merged += pending
  }

  /// Restores the base weight from before `merge()` (bit for bit when it kept the
  /// original, else by subtracting the updates as PEFT does).
  public func unmerge() {
    guard !lora.merged.isEmpty else { return }
    noGrad {
      if let original = lora.weightBeforeMerge {
        baseWeight.copyIn(original)
      } else {
        var w = baseWeight.detach()
        for name in lora.merged { w = w - deltaWeight(name).to(w.dtype) }
        baseWeight.copyIn(w)
      }
    }
    lora.weightBeforeMerge = nil
    lora.merged = []
  }
}

/// Factors A [r, in] and B [out, r] as bias-free Linears (PEFT's `lora_A` / `lora_B`).
/// `base + delta` in the wider of their dtypes, returned in the base's (PEFT's
/// `result.to(torch_result_dtype)`): one rounding when float32 adapters update a half base.
private func adding(_ delta: Tensor, to base: Tensor) -> Tensor {
  delta.dtype == base.dtype ? base + delta : (base.to(delta.dtype) + delta).to(base.dtype)
}

private func linearFactors(
  inFeatures: Int, outFeatures: Int, r: Int, initialization: LoraInit, generator: Generator
) -> (Linear, Linear) {
  let a = Linear(inFeatures, r, bias: false, generator: generator)  // kaiming-uniform, a = √5
  let b = Linear(r, outFeatures, bias: false, generator: generator)
  switch initialization {
  case .kaiming: b.weight = Init.zeros([outFeatures, r])
  case .gaussian:
    a.weight = Init.normal([r, inFeatures], std: 1 / Double(r), generator: generator)
    b.weight = Init.zeros([outFeatures, r])
  case .random: break
  }
  return (a, b)
}

/// LoRA on a Linear: y = x·Wᵀ + b + B(A(dropout(x)))·scaling.
public final class LoraLinear: Linear, LoraLayer {
  @Child public var lora_A: ModuleDict
  @Child public var lora_B: ModuleDict
  private let _lora: LoraState
  public var lora: LoraState { _lora }

  /// A quantized base (QLoRA: Linear4bit / Linear8bitLt), whose forward runs under the adapters.
  private let _quantizedBase: Linear?

  public init(wrapping base: Linear, generator: Generator = .global) {
    lora_A = ModuleDict()
    lora_B = ModuleDict()
    _lora = LoraState(generator: generator)
    _quantizedBase = base is QuantizedLayer ? base : nil
    super.init(weight: base.weight, bias: base.bias)
  }

  public var baseWeight: Tensor { weight }
  public var baseBias: Tensor? { bias }
  override public var inFeatures: Int { _quantizedBase?.inFeatures ?? super.inFeatures }
  override public var outFeatures: Int { _quantizedBase?.outFeatures ?? super.outFeatures }

  public func createFactors(_ name: String, r: Int, initialization: LoraInit, generator: Generator)
  {
    let (a, b) = linearFactors(
      inFeatures: inFeatures, outFeatures: outFeatures, r: r, initialization: initialization,
      generator: generator)
    lora_A[name] = a
    lora_B[name] = b
  }

  public func factors(_ name: String) -> [(key: String, tensor: Tensor)] {
    guard let a = lora_A[name] as? Linear, let b = lora_B[name] as? Linear else { return [] }
    return [("lora_A.weight", a.weight), ("lora_B.weight", b.weight)]
  }

  public func deltaWeight(_ name: String) -> Tensor {
    let f = factors(name)
    return f[1].tensor.matmul(f[0].tensor) * lora.settings[name]!.scaling
  }

  public func baseLayer() -> Module { _quantizedBase ?? Linear(weight: weight, bias: bias) }

  override public func forward(_ x: Tensor) -> Tensor {
    let base = _quantizedBase?.forward(x) ?? super.forward(x)
    return adapted(x, base: base) { name, input in lora_B[name]!(lora_A[name]!(input)) }
  }
}

/// LoRA on GPT-2's Conv1D (weight [in, out], PEFT's fan_in_fan_out): the factors are
/// stored as for a Linear and the merged update is transposed.
public final class LoraConv1D: Conv1D, LoraLayer {
  @Child public var lora_A: ModuleDict
  @Child public var lora_B: ModuleDict
  private let _lora: LoraState
  public var lora: LoraState { _lora }

  public init(wrapping base: Conv1D, generator: Generator = .global) {
    lora_A = ModuleDict()
    lora_B = ModuleDict()
    _lora = LoraState(generator: generator)
    _quantizedBase = base as? QuantizedConv1D
    super.init(weight: base.weight, bias: base.bias)
  }

  /// A quantized base (QLoRA), whose forward runs under the adapters.
  private let _quantizedBase: QuantizedConv1D?

  public var baseWeight: Tensor { weight }
  public var baseBias: Tensor? { bias }

  public func createFactors(_ name: String, r: Int, initialization: LoraInit, generator: Generator)
  {
    let (a, b) = linearFactors(
      inFeatures: _quantizedBase?.quantizedWeight.inFeatures ?? weight.shape[0],
      outFeatures: _quantizedBase?.quantizedWeight.outFeatures ?? weight.shape[1], r: r,
      initialization: initialization,
      generator: generator)
    lora_A[name] = a
    lora_B[name] = b
  }

  public func factors(_ name: String) -> [(key: String, tensor: Tensor)] {
    guard let a = lora_A[name] as? Linear, let b = lora_B[name] as? Linear else { return [] }
    return [("lora_A.weight", a.weight), ("lora_B.weight", b.weight)]
  }

  public func deltaWeight(_ name: String) -> Tensor {
    let f = factors(name)
    return f[1].tensor.matmul(f[0].tensor).T.contiguous() * lora.settings[name]!.scaling
  }

  public func baseLayer() -> Module { _quantizedBase ?? Conv1D(weight: weight, bias: bias) }

  override public func forward(_ x: Tensor) -> Tensor {
    let base = _quantizedBase?.forward(x) ?? super.forward(x)
    return adapted(x, base: base) { name, input in lora_B[name]!(lora_A[name]!(input)) }
  }
}

/// One tensor as a module (PEFT keeps the embedding factors as bare parameters).
public final class LoraFactor: Module {
  @Parameter public var weight: Tensor
  init(_ weight: Tensor) {
    self.weight = weight
    super.init()
  }
}

/// LoRA on an Embedding: rows of Aᵀ [num, r] times Bᵀ [r, dim]; A [r, num] starts at zero
/// and B [dim, r] normal, as PEFT's `lora_embedding_A` / `lora_embedding_B`.
public final class LoraEmbedding: Embedding, LoraLayer {
  @Child public var lora_embedding_A: ModuleDict
  @Child public var lora_embedding_B: ModuleDict
  private let _lora: LoraState
  public var lora: LoraState { _lora }

  public init(wrapping base: Embedding, generator: Generator = .global) {
    lora_embedding_A = ModuleDict()
    lora_embedding_B = ModuleDict()
    _lora = LoraState(generator: generator)
    // An empty table, then the wrapped one: shares its tensor without drawing a new table.
    super.init(0, base.weight.shape[1], generator: Generator(seed: 0))
    weight = base.weight
  }

  public var baseWeight: Tensor { weight }
  public var baseBias: Tensor? { nil }

  public func createFactors(_ name: String, r: Int, initialization: LoraInit, generator: Generator)
  {
    let (count, dim) = (weight.shape[0], weight.shape[1])
    switch initialization {
    case .random:
      lora_embedding_A[name] = LoraFactor(Init.normal([r, count], std: 1, generator: generator))
    case .kaiming, .gaussian:
      lora_embedding_A[name] = LoraFactor(Init.zeros([r, count]))
    }
    lora_embedding_B[name] = LoraFactor(Init.normal([dim, r], std: 1, generator: generator))
  }

  public func factors(_ name: String) -> [(key: String, tensor: Tensor)] {
    guard let a = lora_embedding_A[name] as? LoraFactor,
      let b = lora_embedding_B[name] as? LoraFactor
    else {
      return []
    }
    return [("lora_embedding_A", a.weight), ("lora_embedding_B", b.weight)]
  }

  public func deltaWeight(_ name: String) -> Tensor {
    let f = factors(name)
    return f[1].tensor.matmul(f[0].tensor).T.contiguous() * lora.settings[name]!.scaling
  }

  public func baseLayer() -> Module {
    let plain = Embedding(0, weight.shape[1], generator: Generator(seed: 0))
    plain.weight = weight
    return plain
  }

  override public func forward(_ ids: Tensor) -> Tensor {
    // PEFT applies no dropout on the embedding path.
    let base = super.forward(ids)
    if lora.disabled {
      if !lora.merged.isEmpty { unmerge() }
      return base
    }
    guard lora.merged.isEmpty else { return base }
    var out = base
    for name in lora.active {
      let f = factors(name)
      guard f.count == 2, let s = lora.settings[name] else { continue }
      let rows = Tensor.embedding(ids, weight: f[0].tensor.T.contiguous())
      out = adding(rows.matmul(f[1].tensor.T) * s.scaling, to: out)
    }
    return out
  }
}
