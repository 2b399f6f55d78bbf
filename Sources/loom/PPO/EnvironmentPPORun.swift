import ArgumentParser
import Foundation
import LoomIO
import LoomPlot
import LoomPostTrain
import LoomTrain

/// One `loom train ppo --env …` run: trains, logs each update to metrics.jsonl, and writes the policy
/// (model.safetensors: `actor.*` and `critic.*`), ppo_config.json and the reward curve (reward_curve.png).
struct EnvironmentPPORun {
  let env: String
  let args: EnvironmentPPOArguments
  let outputDir: String

  func run() throws {
    let fm = FileManager.default
    try fm.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
    let metricsPath = outputDir + "/metrics.jsonl"
    _ = fm.createFile(atPath: metricsPath, contents: nil)
    guard let metrics = FileHandle(forWritingAtPath: metricsPath) else {
      throw ValidationError("cannot write \(metricsPath)")
    }
    defer { try? metrics.close() }
    try writeConfig()

    let environment = try Environments.make(env)
    let trainer = try EnvironmentPPOTrainer(args: args) { _ in environment }
    print(
      "PPO on \(env): \(args.numEnvs) environments × \(args.numSteps) steps per rollout, "
        + "\(args.totalTimesteps) timesteps, \(trainer.model.parameterCount()) parameters")
    var steps: [Double] = []
    var returns: [Double] = []
    var solvedAt: (step: Int, seconds: Double)? = nil
    var last: EnvironmentPPOLog? = nil
    try trainer.train { log in
      try metrics.write(contentsOf: LogJSON.line(log.jsonFields.mapValues { $0 ?? .nan }))
      if let mean = log.episodeReturnMean {
        steps.append(Double(log.globalStep))
        returns.append(mean)
        if solvedAt == nil, log.episodes >= 100, mean >= 475 {
          solvedAt = (log.globalStep, log.elapsedSeconds)
        }
      }
      if log.update % 10 == 0 || log.update == 1 {
        print(
          String(
            format: "update %d  step %d  episodes %d  return (last 100) %.1f  entropy %.3f  %.1fs",
            log.update,
            log.globalStep, log.episodes, log.episodeReturnMean ?? 0, log.entropy,
            log.elapsedSeconds))
      }
      last = log
    }
    try SafeTensors.save(trainer.model.stateDict(), to: outputDir + "/model.safetensors")
    if !steps.isEmpty {
      var plot = LinePlot(
        title: "PPO on \(env)", xLabel: "environment steps", yLabel: "mean return (last 100)")
      plot.add("episode_return_mean", x: steps, y: returns)
      _ = try plot.write(to: outputDir + "/reward_curve.png")
    }
    if let last {
      print(
        String(
          format: "done: %d steps, %d episodes, return (last 100) %.1f, %.1fs", last.globalStep,
          last.episodes,
          last.episodeReturnMean ?? 0, last.elapsedSeconds))
    }
    if let solvedAt {
      print(
        String(
          format: "solved (≥ 475 over 100 episodes) at step %d after %.1fs", solvedAt.step,
          solvedAt.seconds))
    }
    print("wrote \(outputDir)/model.safetensors, metrics.jsonl, reward_curve.png")
  }

  /// The run's settings under trl's and CleanRL's names.
  func writeConfig() throws {
    var fields: [String: Any] = [
      "env": env, "num_envs": args.numEnvs, "num_steps": args.numSteps,
      "total_timesteps": args.totalTimesteps,
      "learning_rate": args.learningRate, "anneal_lr": args.annealLearningRate,
      "ent_coef": args.entCoef,
      "max_grad_norm": args.maxGradNorm, "hidden_size": args.hiddenSize, "seed": args.seed,
      "num_ppo_epochs": args.ppo.numPpoEpochs, "num_mini_batches": args.ppo.numMiniBatches,
      "cliprange": args.ppo.cliprange, "cliprange_value": args.ppo.cliprangeValue,
      "vf_coef": args.ppo.vfCoef,
      "gamma": args.ppo.gamma, "lam": args.ppo.lam,
    ]
    if let t = args.targetReturn { fields["target_return"] = t }
    let data = try JSONSerialization.data(
      withJSONObject: fields, options: [.prettyPrinted, .sortedKeys])
    try AtomicFile.write(data, to: outputDir + "/ppo_config.json")
  }
}
