import ArgumentParser
import LoomPostTrain
import LoomTrain

/// The flags of `loom train ppo --env …` beyond trl's PPO fields (CleanRL's ppo.py names with dashes).
struct EnvironmentPPOFlags: ParsableArguments {
  @Option(parsing: .unconditional, help: "Environment steps over the whole run (500000).")
  var totalTimesteps: Int?
  @Option(parsing: .unconditional, help: "Environments stepped together (4).") var numEnvs: Int?
  @Option(parsing: .unconditional, help: "Steps per environment in each rollout (128).")
  var numSteps: Int?
  @Option(parsing: .unconditional, help: "Entropy bonus coefficient (0.01).") var entCoef: Double?
  @Option(parsing: .unconditional, help: "Width of the actor's and critic's two tanh layers (64).")
  var hiddenSize: Int?
  @Option(
    parsing: .unconditional,
    help:
      "Stop once the mean return of the last 100 episodes reaches this (default: run every timestep)."
  )
  var targetReturn: Double?
  @Flag(inversion: .prefixedNo, help: "Anneal the learning rate linearly to 0 (on).") var annealLr =
    true

  /// The run's settings: defaults, then trl's PPO flags, the shared training flags that apply (--learning-rate,
  /// --max-grad-norm, --seed, --output-dir), then these. Flags that mean nothing here are errors.
  func arguments(env: String, ppo: PPOFlags, training: TrainingFlags) throws
    -> EnvironmentPPOArguments
  {
    let given: [(Bool, String)] = [
      (training.model != nil, "--model"), (training.numTrainEpochs != nil, "--num-train-epochs"),
      (training.epochs != nil, "--epochs"), (training.maxSteps != nil, "--max-steps"),
      (training.perDeviceTrainBatchSize != nil, "--per-device-train-batch-size"),
      (training.batchSize != nil, "--batch-size"),
      (training.resumeFromCheckpoint != nil, "--resume-from-checkpoint"),
    ]
    let unused = ppo.languageModelOnly + given.filter { $0.0 }.map { $0.1 }
    if let flag = unused.first {
      throw ValidationError(
        "\(flag) does not apply to --env \(env) (use --total-timesteps, --num-envs and --num-steps to size the run)"
      )
    }
    var a = EnvironmentPPOArguments()
    var defaults = TrainingArguments(outputDir: training.outputDir)
    defaults.learningRate = a.learningRate
    defaults.maxGradNorm = a.maxGradNorm
    defaults.seed = a.seed
    let t = try training.arguments(defaults: defaults)
    a.learningRate = t.learningRate
    a.maxGradNorm = t.maxGradNorm
    a.seed = t.seed
    a.ppo = try ppo.config(defaults: a.ppo)
    if let v = totalTimesteps { a.totalTimesteps = v }
    if let v = numEnvs { a.numEnvs = v }
    if let v = numSteps { a.numSteps = v }
    if let v = entCoef { a.entCoef = v }
    if let v = hiddenSize { a.hiddenSize = v }
    a.targetReturn = targetReturn
    a.annealLearningRate = annealLr
    do { try a.validate(naming: PPOFlags.flag) } catch let e as PPOError {
      throw ValidationError(e.description)
    }
    return a
  }
}
