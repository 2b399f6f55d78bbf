import Foundation
import LoomCore

/// diffusers' `prediction_type`: what the model predicts from x_t.
public enum PredictionType: String, CaseIterable, Sendable {
  case epsilon
  case vPrediction = "v_prediction"
  case sample
}

/// DDPM's `variance_type` (the learned ones need a model with twice the output channels; not supported).
public enum VarianceType: String, CaseIterable, Sendable {
  case fixedSmall = "fixed_small"
  case fixedLarge = "fixed_large"
}

/// The fields of diffusers' DDPMScheduler / DDIMScheduler `scheduler_config.json` (same names and defaults).
public struct SchedulerConfig: Equatable, Sendable {
  public var numTrainTimesteps = 1000
  public var betaStart = 0.0001
  public var betaEnd = 0.02
  public var betaSchedule = BetaSchedule.linear
  public var trainedBetas: [Double]? = nil
  public var predictionType = PredictionType.epsilon
  public var clipSample = true
  public var clipSampleRange = 1.0
  /// Dynamic thresholding (Imagen) is not implemented: must stay false.
  public var thresholding = false
  public var dynamicThresholdingRatio = 0.995
  public var sampleMaxValue = 1.0
  public var timestepSpacing = TimestepSpacing.leading
  public var stepsOffset = 0
  public var rescaleBetasZeroSnr = false
  /// DDPM only.
  public var varianceType = VarianceType.fixedSmall
  /// DDIM only: ᾱ before the first step is 1 (true) or ᾱ_0 (false).
  public var setAlphaToOne = true

  public init() {}

  public func validate() throws {
    guard numTrainTimesteps >= 1, numTrainTimesteps <= 1 << 20 else {
      throw LoomError("scheduler num_train_timesteps must be in 1...\(1 << 20), got \(numTrainTimesteps)")
    }
    if let b = trainedBetas {
      guard b.count == numTrainTimesteps, b.allSatisfy({ $0 > 0 && $0 < 1 }) else {
        throw LoomError(
          "scheduler trained_betas must hold num_train_timesteps (\(numTrainTimesteps)) values in (0, 1), got "
            + "\(b.count) values")
      }
    } else {
      guard betaStart > 0, betaEnd < 1, betaStart <= betaEnd else {
        throw LoomError("scheduler needs 0 < beta_start <= beta_end < 1, got \(betaStart) and \(betaEnd)")
      }
    }
    guard clipSampleRange > 0 else {
      throw LoomError("scheduler clip_sample_range must be positive, got \(clipSampleRange)")
    }
    guard !thresholding else {
      throw LoomError("scheduler thresholding (dynamic thresholding) is not supported by Loom; set it to false")
    }
    // Rescaling divides by (first − last) of √ᾱ, which is 0 with a single step (diffusers gives NaN there).
    guard !rescaleBetasZeroSnr || numTrainTimesteps >= 2 else {
      throw LoomError("scheduler rescale_betas_zero_snr needs num_train_timesteps >= 2, got \(numTrainTimesteps)")
    }
    guard stepsOffset >= 0 else { throw LoomError("scheduler steps_offset must be >= 0, got \(stepsOffset)") }
  }
}
