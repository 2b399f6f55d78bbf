import LoomCore

/// diffusers' `DDIMScheduler` (Song et al. 2021): η = 0 is deterministic, η = 1 is DDPM-like.
public final class DDIMScheduler: DiffusionScheduler {
  public static let className = "DDIMScheduler"
  public let config: SchedulerConfig
  public let schedule: NoiseSchedule
  public private(set) var timesteps: [Int]
  public private(set) var numInferenceSteps: Int?
  /// ᾱ before the first training step.
  public let finalAlphaCumprod: Float

  public init(config: SchedulerConfig = SchedulerConfig()) throws {
    try config.validate()
    self.config = config
    schedule = NoiseSchedule(config: config)
    timesteps = Array((0..<config.numTrainTimesteps).reversed())
    finalAlphaCumprod = config.setAlphaToOne ? 1 : schedule.alphasCumprod[0]
  }

  public func setTimesteps(_ numInferenceSteps: Int) throws {
    timesteps = try config.timestepSpacing.timesteps(
      steps: numInferenceSteps, trainSteps: config.numTrainTimesteps, stepsOffset: config.stepsOffset)
    self.numInferenceSteps = numInferenceSteps
  }

  /// diffusers steps back by T / S whatever the spacing; the paper's sub-sequences step to the next τ.
  public func previousTimestep(_ t: Int) throws -> Int {
    guard let s = numInferenceSteps else {
      throw LoomError("DDIM step before setTimesteps: call setTimesteps(numInferenceSteps) first")
    }
    if config.timestepSpacing.isDiffusers { return t - config.numTrainTimesteps / s }
    guard let i = timesteps.firstIndex(of: t) else {
      throw LoomError("timestep \(t) is not one of the scheduler's timesteps \(timesteps.prefix(8))…")
    }
    return i + 1 < timesteps.count ? timesteps[i + 1] : -1
  }

  /// One step with σ_t = η·√((1 − ᾱ_prev)/(1 − ᾱ_t)·(1 − ᾱ_t/ᾱ_prev)); `varianceNoise` is needed when η > 0.
  public func step(
    _ modelOutput: Tensor, timestep t: Int, sample: Tensor, eta: Double = 0, varianceNoise: Tensor? = nil
  ) throws -> SchedulerOutput {
    guard eta >= 0 else { throw LoomError("DDIM eta must be >= 0, got \(eta)") }
    try checkShapes(modelOutput, sample, varianceNoise)
    let prevT = try previousTimestep(t)
    let a = try alphaProd(t)
    let aPrev: Float = try prevT >= 0 ? alphaProd(prevT) : finalAlphaCumprod
    let b = 1 - a
    let bPrev = 1 - aPrev
    let x0 = predictOriginal(modelOutput, sample: sample, alphaProd: a)
    let epsilon: Tensor
    switch config.predictionType {
    case .epsilon: epsilon = modelOutput
    case .sample: epsilon = (sample - Double(a.squareRoot()) * x0) / scalar(b.squareRoot(), sample)
    case .vPrediction: epsilon = Double(a.squareRoot()) * modelOutput + Double(b.squareRoot()) * sample
    }
    let variance = (bPrev / b) * (1 - a / aPrev)
    let std = Float(eta) * variance.squareRoot()
    let direction = Double((1 - aPrev - std * std).squareRoot()) * epsilon
    var prev = Double(aPrev.squareRoot()) * x0 + direction
    if eta > 0 {
      guard let noise = varianceNoise else {
        throw LoomError("DDIM step with eta \(eta) > 0 needs variance noise [\(sample.shape)]")
      }
      prev = prev + Double(std) * noise
    }
    return SchedulerOutput(prevSample: prev, predOriginalSample: x0)
  }

  /// Convenience: η > 0 with noise drawn from `generator`.
  public func step(
    _ modelOutput: Tensor, timestep t: Int, sample: Tensor, eta: Double, generator: Generator
  ) throws -> SchedulerOutput {
    let noise =
      eta > 0 ? Tensor.randn(sample.shape, dtype: sample.dtype, generator: generator, device: sample.device) : nil
    return try step(modelOutput, timestep: t, sample: sample, eta: eta, varianceNoise: noise)
  }
}
