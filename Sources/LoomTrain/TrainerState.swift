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

/// What a trainer callback can see and decide.
public struct TrainerControl {
  public var shouldStop = false
}

/// Hooks into training (HF's TrainerCallback): logging and early stopping.
public protocol TrainerCallback: AnyObject {
  func onLog(_ logs: [String: Double], state: TrainerState, control: inout TrainerControl)
  func onEvaluate(_ metrics: [String: Double], state: TrainerState, control: inout TrainerControl)
}

extension TrainerCallback {
  public func onLog(_ logs: [String: Double], state: TrainerState, control: inout TrainerControl) {}
  public func onEvaluate(_ metrics: [String: Double], state: TrainerState, control: inout TrainerControl) {}
}

/// Stops training when the best metric has not improved for `patience` evaluations.
public final class EarlyStoppingCallback: TrainerCallback {
  public let patience: Int
  public let threshold: Double
  let metric: String
  let greaterIsBetter: Bool
  var best: Double? = nil
  var bad = 0

  public init(patience: Int, threshold: Double = 0, metric: String = "eval_loss", greaterIsBetter: Bool = false) {
    self.patience = patience
    self.threshold = threshold
    self.metric = metric
    self.greaterIsBetter = greaterIsBetter
  }

  public func onEvaluate(_ metrics: [String: Double], state: TrainerState, control: inout TrainerControl) {
    guard let v = metrics[metric] else { return }
    if let b = best, greaterIsBetter ? v <= b + threshold : v >= b - threshold {
      bad += 1
      if bad >= patience { control.shouldStop = true }
    } else {
      best = v
      bad = 0
    }
  }
}
