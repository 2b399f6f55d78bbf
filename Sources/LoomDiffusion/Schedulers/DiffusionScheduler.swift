import LoomCore

/// What `step` returns: x_{t-1} and the model's estimate of x_0 (diffusers' `prev_sample`,
/// `pred_original_sample`).
public struct SchedulerOutput {
  public let prevSample: Tensor
  public let predOriginalSample: Tensor
}

/// A noise scheduler with diffusers' semantics: the forward process (`addNoise`), the v-target
/// (`getVelocity`) and the reverse step over `timesteps` set by `setTimesteps`.
public protocol DiffusionScheduler: AnyObject {
  static var className: String { get }
  var config: SchedulerConfig { get }
  var schedule: NoiseSchedule { get }
  /// Descending inference timesteps (all training timesteps until `setTimesteps`).
  var timesteps: [Int] { get }
  func setTimesteps(_ numInferenceSteps: Int) throws
}

extension DiffusionScheduler {
  /// diffusers' `init_noise_sigma`: the initial latents are unit Gaussian.
  public var initNoiseSigma: Double { 1 }

  /// √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, one timestep per batch item.
  public func addNoise(_ original: Tensor, noise: Tensor, timesteps: [Int]) throws -> Tensor {
    let (a, b) = try coefficients(timesteps, like: original)
    return a * original + b * noise
  }

  /// The v-prediction target √ᾱ_t·ε − √(1 − ᾱ_t)·x_0.
  public func getVelocity(_ sample: Tensor, noise: Tensor, timesteps: [Int]) throws -> Tensor {
    let (a, b) = try coefficients(timesteps, like: sample)
    return a * noise - b * sample
  }

  /// Writes scheduler_config.json into `directory`.
  public func save(to directory: String) throws { try config.save(to: directory, className: Self.className) }

  /// ᾱ_t, checked against the training range.
  func alphaProd(_ t: Int) throws -> Float {
    guard t >= 0, t < schedule.alphasCumprod.count else {
      throw LoomError("timestep \(t) is outside the scheduler's 0..<\(schedule.alphasCumprod.count) training timesteps")
    }
    return schedule.alphasCumprod[t]
  }

  /// Per-item √ᾱ_t and √(1 − ᾱ_t), shaped [B, 1, …] to broadcast over `x`.
  private func coefficients(_ timesteps: [Int], like x: Tensor) throws -> (Tensor, Tensor) {
    guard x.rank >= 1, timesteps.count == x.shape[0] else {
      throw LoomError("\(timesteps.count) timesteps given for a batch of shape \(x.shape); give one per item")
    }
    let ab = try timesteps.map { try alphaProd($0) }
    let shape = [timesteps.count] + Array(repeating: 1, count: x.rank - 1)
    return (
      Tensor(ab.map { $0.squareRoot() }, shape: shape, device: x.device),
      Tensor(ab.map { (1 - $0).squareRoot() }, shape: shape, device: x.device)
    )
  }

  /// x̂_0 from the model output for the configured prediction type, clipped if configured.
  func predictOriginal(_ modelOutput: Tensor, sample: Tensor, alphaProd a: Float) -> Tensor {
    let b = 1 - a
    var x0: Tensor
    switch config.predictionType {
    case .epsilon: x0 = (sample - Double(b.squareRoot()) * modelOutput) / scalar(a.squareRoot(), sample)
    case .sample: x0 = modelOutput
    case .vPrediction: x0 = Double(a.squareRoot()) * sample - Double(b.squareRoot()) * modelOutput
    }
    if config.clipSample { x0 = x0.clamp(min: -config.clipSampleRange, max: config.clipSampleRange) }
    return x0
  }

  func scalar(_ v: Float, _ like: Tensor) -> Tensor { .scalar(Double(v), dtype: like.dtype, device: like.device) }

  func checkShapes(_ modelOutput: Tensor, _ sample: Tensor, _ noise: Tensor?) throws {
    guard modelOutput.shape == sample.shape else {
      throw LoomError(
        "scheduler step: model output \(modelOutput.shape) and sample \(sample.shape) must have one shape")
    }
    if let n = noise, n.shape != sample.shape {
      throw LoomError("scheduler step: variance noise \(n.shape) must have the sample's shape \(sample.shape)")
    }
  }
}
