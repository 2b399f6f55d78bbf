import Foundation
import LoomCore
import LoomNN

/// diffusers' `EMAModel` (training_utils.py): shadow copies of the parameters moved toward them after
/// every optimizer step, `shadow −= (1 − decay)·(shadow − param)`, with diffusers' decay rule and defaults:
/// no update before `updateAfterStep` (decay 0 copies the weights), then
/// `min(decay, (1 + s)/(10 + s))` — or `1 − (1 + s/invGamma)^−power` with `useEmaWarmup` — floored at
/// `minDecay`, where s = optimization_step − update_after_step − 1. Frozen parameters are copied as they are.
public final class EMAModel {
  public static let defaultDecay = 0.9999
  public let decay: Double
  public let minDecay: Double
  public let updateAfterStep: Int
  public let useEmaWarmup: Bool
  public let invGamma: Double
  public let power: Double
  /// Optimizer steps seen (diffusers' `optimization_step`).
  public private(set) var optimizationStep = 0
  /// The decay of the last `step` (diffusers' `cur_decay_value`).
  public private(set) var curDecayValue: Double?
  /// Parameter names and their moving averages, in the module's parameter order.
  public private(set) var shadowParams: [(String, Tensor)]

  public init(
    parameters: [(String, Tensor)], decay: Double = defaultDecay, minDecay: Double = 0, updateAfterStep: Int = 0,
    useEmaWarmup: Bool = false, invGamma: Double = 1, power: Double = 2.0 / 3.0
  ) throws {
    guard (0...1).contains(decay), (0...1).contains(minDecay), minDecay <= decay else {
      throw LoomError("EMA decay \(decay) and min_decay \(minDecay) must satisfy 0 <= min_decay <= decay <= 1")
    }
    guard updateAfterStep >= 0 else { throw LoomError("EMA update_after_step must be >= 0, got \(updateAfterStep)") }
    guard invGamma > 0, power > 0 else {
      throw LoomError("EMA inv_gamma (\(invGamma)) and power (\(power)) must be positive")
    }
    self.decay = decay
    self.minDecay = minDecay
    self.updateAfterStep = updateAfterStep
    self.useEmaWarmup = useEmaWarmup
    self.invGamma = invGamma
    self.power = power
    shadowParams = noGrad { parameters.map { ($0.0, $0.1.contiguousCopy().detach()) } }
  }

  /// Tracks every parameter of `module`.
  public convenience init(
    _ module: Module, decay: Double = defaultDecay, minDecay: Double = 0, updateAfterStep: Int = 0,
    useEmaWarmup: Bool = false, invGamma: Double = 1, power: Double = 2.0 / 3.0
  ) throws {
    try self.init(
      parameters: module.namedParameters(), decay: decay, minDecay: minDecay, updateAfterStep: updateAfterStep,
      useEmaWarmup: useEmaWarmup, invGamma: invGamma, power: power)
  }

  /// diffusers' `get_decay(optimization_step)`.
  public func decay(at optimizationStep: Int) -> Double {
    let s = max(0, optimizationStep - updateAfterStep - 1)
    if s <= 0 { return 0 }
    let d = useEmaWarmup ? 1 - Foundation.pow(1 + Double(s) / invGamma, -power) : Double(1 + s) / Double(10 + s)
    return max(min(d, decay), minDecay)
  }

  /// One update after an optimizer step, from the current `parameters` (same names and order as at init).
  public func step(_ parameters: [(String, Tensor)]) throws {
    guard parameters.count == shadowParams.count else {
      throw LoomError("EMA step: \(parameters.count) parameters given, \(shadowParams.count) tracked")
    }
    optimizationStep += 1
    let d = decay(at: optimizationStep)
    curDecayValue = d
    try noGrad {
      for (i, (name, p)) in parameters.enumerated() {
        let (tracked, s) = shadowParams[i]
        guard tracked == name, s.shape == p.shape else {
          throw LoomError("EMA step: parameter \(i) is \(name) \(p.shape), the EMA tracks \(tracked) \(s.shape)")
        }
        shadowParams[i].1 = p.requiresGrad ? (s - (1 - d) * (s - p)).detach() : p.contiguousCopy().detach()
      }
    }
  }

  /// One update from `module`'s parameters.
  public func step(_ module: Module) throws { try step(module.namedParameters()) }

  /// The averaged weights by name (what `copy_to` puts into a model).
  public var stateDict: [String: Tensor] { Dictionary(uniqueKeysWithValues: shadowParams) }

  /// diffusers' `copy_to`: loads the averages into `module` (its buffers are left alone).
  public func copy(to module: Module) throws {
    let params = Dictionary(uniqueKeysWithValues: module.namedParameters())
    var state = module.stateDict()
    for (name, s) in shadowParams {
      guard params[name] != nil else { throw LoomError("EMA copy_to: the model has no parameter \(name)") }
      state[name] = s
    }
    _ = try module.loadStateDict(state, source: "EMA weights")
  }

  /// Restores the averages and the step count (e.g. from a checkpoint's EMA weights).
  public func load(_ state: [String: Tensor], optimizationStep: Int) throws {
    for i in shadowParams.indices {
      let (name, s) = shadowParams[i]
      guard let t = state[name], t.shape == s.shape else {
        throw LoomError("EMA weights: \(name) is missing or not shaped \(s.shape)")
      }
      shadowParams[i].1 = t.to(s.dtype).to(device: s.device).contiguousCopy().detach()
    }
    self.optimizationStep = optimizationStep
  }
}
