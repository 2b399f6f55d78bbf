import Foundation

/// trainer_state.json, as Hugging Face writes it in each checkpoint.
public struct TrainerState: Codable, Equatable {
  public var globalStep = 0
  public var epoch: Double = 0
  public var maxSteps = 0
  public var numTrainEpochs = 0
  public var trainBatchSize = 0
  public var bestMetric: Double? = nil
  public var bestModelCheckpoint: String? = nil
  public var logHistory: [[String: Double]] = []
  /// Micro-batches of the current epoch already consumed (for exact resumption).
  public var epochIndex = 0
  public var batchesInEpoch = 0

  enum CodingKeys: String, CodingKey {
    case globalStep = "global_step", epoch, maxSteps = "max_steps", numTrainEpochs = "num_train_epochs"
    case trainBatchSize = "train_batch_size", bestMetric = "best_metric", bestModelCheckpoint = "best_model_checkpoint"
    case logHistory = "log_history", epochIndex = "loom_epoch_index", batchesInEpoch = "loom_batches_in_epoch"
  }
}
