import LoomCore
import LoomNN

/// The denoising objective of diffusers' training scripts: noise the clean images to x_t with the
/// scheduler's `add_noise` at the given timesteps, and regress the model output on ε (`epsilon`) or on
/// `get_velocity`'s v (`v_prediction`) with a mean squared error over every element.
public enum DiffusionLoss {
  /// The regression target for `predictionType`.
  public static func target(
    _ predictionType: PredictionType, scheduler: any DiffusionScheduler, clean: Tensor, noise: Tensor,
    timesteps: [Int]
  ) throws -> Tensor {
    switch predictionType {
    case .epsilon: return noise
    case .vPrediction: return try scheduler.getVelocity(clean, noise: noise, timesteps: timesteps)
    case .sample:
      throw LoomError(
        "training with prediction_type sample is not supported (diffusers' scripts weight it by SNR); use epsilon or "
          + "v_prediction")
    }
  }

  /// The loss and the model's prediction for one batch of clean images with given noise and timesteps.
  public static func compute(
    model: (Tensor, [Int], Tensor?) throws -> Tensor, scheduler: any DiffusionScheduler, clean: Tensor,
    noise: Tensor, timesteps: [Int], classLabels: Tensor? = nil
  ) throws -> (loss: Tensor, prediction: Tensor) {
    let target = try target(
      scheduler.config.predictionType, scheduler: scheduler, clean: clean, noise: noise, timesteps: timesteps)
    let noisy = try scheduler.addNoise(clean, noise: noise, timesteps: timesteps)
    let prediction = try model(noisy, timesteps, classLabels)
    guard prediction.shape == target.shape else {
      throw LoomError(
        "the denoiser returned \(prediction.shape) for images \(clean.shape); it must predict one value per pixel")
    }
    return (Loss.mse(prediction, target), prediction)
  }
}
