import LoomCore

/// `torch.amp.GradScaler`: dynamic loss scaling for float16 training. The loss is multiplied
/// by `scale` before backward so small gradients survive float16; `unscale` divides them back
/// and notes any inf/NaN; `step` skips the optimizer step when one was found; `update` halves
/// the scale after an overflow and doubles it after `growthInterval` clean steps in a row.
public final class GradScaler {
  public private(set) var scale: Double
  public let growthFactor: Double, backoffFactor: Double
  public let growthInterval: Int
  /// Clean steps since the last growth or overflow (torch's `_growth_tracker`).
  public private(set) var growthTracker = 0
  /// Optimizer steps skipped for inf/NaN gradients so far.
  public private(set) var skippedSteps = 0
  private var foundInf = false
  private var unscaled = false

  public init(initScale: Double = 65536, growthFactor: Double = 2, backoffFactor: Double = 0.5, growthInterval: Int = 2000) {
    precondition(initScale > 0 && growthFactor > 1 && backoffFactor > 0 && backoffFactor < 1 && growthInterval > 0,
      "GradScaler: need init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1, growth_interval > 0")
    scale = initScale
    (self.growthFactor, self.backoffFactor, self.growthInterval) = (growthFactor, backoffFactor, growthInterval)
  }

  /// The loss times the current scale (call backward on this).
  public func scaled(_ loss: Tensor) -> Tensor { loss * scale }

  /// Divides every gradient of `optimizer`'s parameters by the scale (once per step) and
  /// records whether any is inf or NaN. Call before clipping.
  public func unscale(_ optimizer: any Optimizer) {
    guard !unscaled else { return }
    unscaled = true
    // torch multiplies by the float32 reciprocal of the scale.
    let inverse = Double(Float(1 / scale))
    noGrad {
      for p in optimizer.allParameters {
        guard let g = p.grad else { continue }
        if !foundInf && !g.isAllFinite() { foundInf = true }
        p.grad = g * inverse
      }
    }
  }

  /// Unscales if needed, then steps unless an inf/NaN gradient was found. Returns whether it stepped.
  @discardableResult
  public func step(_ optimizer: any Optimizer) -> Bool {
    unscale(optimizer)
    if foundInf {
      skippedSteps += 1
      return false
    }
    optimizer.step()
    return true
  }

  /// Adjusts the scale for the next step: backoff after an overflow, growth after
  /// `growthInterval` clean steps.
  public func update() {
    if foundInf {
      scale *= backoffFactor
      growthTracker = 0
    } else {
      growthTracker += 1
      if growthTracker == growthInterval {
        scale *= growthFactor
        growthTracker = 0
      }
    }
    (foundInf, unscaled) = (false, false)
  }

  /// torch's state_dict names.
  public func stateDict() -> [String: Double] {
    ["scale": scale, "growth_factor": growthFactor, "backoff_factor": backoffFactor,
     "growth_interval": Double(growthInterval), "_growth_tracker": Double(growthTracker)]
  }

  public func loadStateDict(_ state: [String: Double]) throws {
    guard let s = state["scale"], s > 0, let t = state["_growth_tracker"] else {
      throw LoomError("GradScaler state: needs a positive 'scale' and '_growth_tracker'")
    }
    (scale, growthTracker) = (s, Int(t))
  }
}
