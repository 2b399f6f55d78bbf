import Foundation

/// trainer_state.json with a NaN or infinite loss in log_history: written as null and
/// read back as NaN (see `LogJSON`), so a diverged run still checkpoints and resumes.
extension TrainerState {
  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    globalStep = try c.decode(Int.self, forKey: .globalStep)
    epoch = try c.decode(Double.self, forKey: .epoch)
    maxSteps = try c.decode(Int.self, forKey: .maxSteps)
    numTrainEpochs = try c.decode(Int.self, forKey: .numTrainEpochs)
    trainBatchSize = try c.decode(Int.self, forKey: .trainBatchSize)
    bestMetric = try c.decodeIfPresent(Double.self, forKey: .bestMetric)
    bestModelCheckpoint = try c.decodeIfPresent(String.self, forKey: .bestModelCheckpoint)
    logHistory = try c.decode([[String: Double?]].self, forKey: .logHistory).map(LogJSON.decoded)
    epochIndex = try c.decode(Int.self, forKey: .epochIndex)
    batchesInEpoch = try c.decode(Int.self, forKey: .batchesInEpoch)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(globalStep, forKey: .globalStep)
    try c.encode(epoch, forKey: .epoch)
    try c.encode(maxSteps, forKey: .maxSteps)
    try c.encode(numTrainEpochs, forKey: .numTrainEpochs)
    try c.encode(trainBatchSize, forKey: .trainBatchSize)
    try c.encodeIfPresent(bestMetric.flatMap { $0.isFinite ? $0 : nil }, forKey: .bestMetric)
    try c.encodeIfPresent(bestModelCheckpoint, forKey: .bestModelCheckpoint)
    try c.encode(logHistory.map(LogJSON.encodable), forKey: .logHistory)
    try c.encode(epochIndex, forKey: .epochIndex)
    try c.encode(batchesInEpoch, forKey: .batchesInEpoch)
  }
}
