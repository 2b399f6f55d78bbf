import LoomCore

/// diffusers' `DDPMScheduler` (Ho et al. 2020): ancestral sampling with fixed small or large variance.
public final class DDPMScheduler: DiffusionScheduler {
  public static let className = "DDPMScheduler"
  public let config: SchedulerConfig
  public let schedule: NoiseSchedule
  public private(set) var timesteps: [Int]
  public private(set) var numInferenceSteps: Int?

  public init(config: SchedulerConfig = SchedulerConfig()) throws {
    try config.validate()
    self.config = config
    schedule = NoiseSchedule(config: config)
    timesteps = Array((0..<config.numTrainTimesteps).reversed())
  }

  public func setTimesteps(_ numInferenceSteps: Int) throws {
    timesteps = try config.timestepSpacing.timesteps(
      steps: numInferenceSteps, trainSteps: config.numTrainTimesteps, stepsOffset: config.stepsOffset)
    self.numInferenceSteps = numInferenceSteps
  }

  /// The timestep after `t` in the sequence (−1 after the last), t − 1 before `setTimesteps`.
  public func previousTimestep(_ t: Int) throws -> Int {
    guard numInferenceSteps != nil else { return t - 1 }
    guard let i = timesteps.firstIndex(of: t) else {
      throw LoomError("timestep \(t) is not one of the scheduler's timesteps \(timesteps.prefix(8))…")
    }
    return i + 1 < timesteps.count ? timesteps[i + 1] : -1
  }

  /// One reverse step; the variance noise is drawn from `generator`.
  public func step(
    _ modelOutput: Tensor, timestep t: Int, sample: Tensor, generator: Generator = .global
  ) throws -> SchedulerOutput {
    let noise =
      t > 0 ? Tensor.randn(sample.shape, dtype: sample.dtype, generator: generator, device: sample.device) : nil
    return try step(modelOutput, timestep: t, sample: sample, varianceNoise: noise)
  }

  /// One reverse step with the given variance noise (ignored at t = 0, as diffusers adds none there).
  public func step(_ modelOutput: Tensor, timestep t: Int, sample: Tensor, varianceNoise: Tensor?) throws
    -> SchedulerOutput
  {
    try checkShapes(modelOutput, sample, varianceNoise)
    let prevT = try previousTimestep(t)
    let a = try alphaProd(t)
    let aPrev: Float = try prevT >= 0 ? alphaProd(prevT) : 1
    let b = 1 - a
    let bPrev = 1 - aPrev
    let currentAlpha = a / aPrev
    let currentBeta = 1 - currentAlpha
    let x0 = predictOriginal(modelOutput, sample: sample, alphaProd: a)
    // Posterior mean μ̃_t(x_t, x̂_0), eq. 7 of the DDPM paper.
    let x0Coeff = aPrev.squareRoot() * currentBeta / b
    let sampleCoeff = currentAlpha.squareRoot() * bPrev / b
    var prev = Double(x0Coeff) * x0 + Double(sampleCoeff) * sample
    if t > 0 {
      guard let noise = varianceNoise else {
        throw LoomError("DDPM step at timestep \(t) needs variance noise (or use the generator overload)")
      }
      var variance = max(bPrev / b * currentBeta, 1e-20)
      if config.varianceType == .fixedLarge { variance = currentBeta }
      prev = prev + Double(variance.squareRoot()) * noise
    }
    return SchedulerOutput(prevSample: prev, predOriginalSample: x0)
  }
}
