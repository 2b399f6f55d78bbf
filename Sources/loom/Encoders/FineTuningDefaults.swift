import LoomTrain

extension TrainingArguments {
  /// The seeds' fine-tuning setup for `loom train classify` / `token-classify`: batch 16, 3 epochs,
  /// lr 5e-5, weight decay 0.01, evaluation and a checkpoint each epoch (two kept), and the best
  /// epoch by `metricForBestModel` (higher is better unless `greaterIsBetter` is false) reloaded at the end.
  static func encoderFineTuning(metricForBestModel metric: String, greaterIsBetter: Bool = true) -> TrainingArguments {
    var a = TrainingArguments(outputDir: "")
    a.numTrainEpochs = 3
    a.perDeviceTrainBatchSize = 16
    a.perDeviceEvalBatchSize = 32
    a.learningRate = 5e-5
    a.weightDecay = 0.01
    a.loggingSteps = 50
    a.evalStrategy = .epoch
    a.saveStrategy = .epoch
    a.saveTotalLimit = 2
    a.loadBestModelAtEnd = true
    a.metricForBestModel = metric
    a.greaterIsBetter = greaterIsBetter
    return a
  }
}
