import LoomCore
import LoomNN

/// A set of parameters sharing hyper-parameters (PyTorch's param_groups).
public struct ParamGroup {
  public var params: [Tensor]
  public var lr: Double
  public var weightDecay: Double
  /// The learning rate schedules scale from.
  public var initialLR: Double

  public init(params: [Tensor], lr: Double, weightDecay: Double = 0) {
    self.params = params
    self.lr = lr
    self.weightDecay = weightDecay
    self.initialLR = lr
  }
}

/// An optimizer updates parameters in place from their `.grad`.
public protocol Optimizer: AnyObject {
  var paramGroups: [ParamGroup] { get set }
  /// Applies one update to every parameter that has a gradient.
  func step()
  /// Per-parameter state as tensors (for checkpoints), keyed "<index>.<name>" where
  /// index counts parameters across groups in order, plus "step" counters.
  func stateDict() -> [String: Tensor]
  func loadStateDict(_ state: [String: Tensor]) throws
}

extension Optimizer {
  public func zeroGrad() {
    for g in paramGroups { for p in g.params { p.zeroGrad() } }
  }

  /// Every parameter, in group order.
  public var allParameters: [Tensor] { paramGroups.flatMap(\.params) }

  /// Sets every group's learning rate to its initial rate times `factor`.
  public func scaleLearningRates(by factor: Double) {
    for i in paramGroups.indices { paramGroups[i].lr = paramGroups[i].initialLR * factor }
  }
}

/// A saved step counter ("N.step", one element): a whole number >= 0, else a clear error
/// (a corrupt checkpoint must not trap converting it to Int).
func savedStep(_ t: Tensor, key: String) throws -> Int {
  guard t.count == 1 else { throw LoomError("optimizer state: \(key) must hold one number, has shape \(t.shape)") }
  let v = t.item()
  guard v.isFinite, v >= 0, v < 9.0e15, v == v.rounded() else {
    throw LoomError("optimizer state: \(key) must be a whole number >= 0, got \(v)")
  }
  return Int(v)
}

/// Splits a module's parameters like Hugging Face's Trainer: weight decay on matrices
/// (rank ≥ 2), none on biases and normalisation weights.
public func decayGroups(_ module: Module, lr: Double, weightDecay: Double) -> [ParamGroup] {
  let params = module.parameters().filter(\.requiresGrad)
  return [
    ParamGroup(params: params.filter { $0.rank >= 2 }, lr: lr, weightDecay: weightDecay),
    ParamGroup(params: params.filter { $0.rank < 2 }, lr: lr, weightDecay: 0),
  ]
}

/// Rescales gradients so their global L2 norm is at most `maxNorm` (like
/// `torch.nn.utils.clip_grad_norm_`); returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Double) -> Double {
  var total = 0.0
  for p in parameters {
    guard let g = p.grad else { continue }
    total += noGrad { g.square().sum().item() }
  }
  let norm = total.squareRoot()
  let coefficient = maxNorm / (norm + 1e-6)
  if coefficient < 1 {
    noGrad {
      for p in parameters { if let g = p.grad { g.copyIn(g * coefficient) } }
    }
  }
  return norm
}

enum OptimizerStateError {
  static func missing(_ key: String) -> LoomError {
    LoomError("optimizer state: missing '\(key)' (was the checkpoint written for a different model?)")
  }
}
