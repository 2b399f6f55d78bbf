import ArgumentParser
import Foundation
import LoomPostTrain
import LoomTrain

/// `loom train ppo`: PPO with trl's core math. `--env cartpole` trains an actor-critic MLP on Loom's CartPole;
/// without --env, a causal LM against a reward model or builtin reward (LanguageModelPPO.swift).
struct TrainPPOCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ppo",
    abstract: "Train with PPO (trl's losses): a causal LM (--model, --reward-model|--reward, --prompts) or --env cartpole.")

  @Option(help: "Environment to train on: \(Environments.names.joined(separator: ", ")).") var env:
    String?
  @OptionGroup var environment: EnvironmentPPOFlags
  @OptionGroup var lm: PPOLanguageModelFlags
  @OptionGroup var ppo: PPOFlags
  @OptionGroup var training: TrainingFlags

  func validate() throws {
    guard let env else { return try lm.validate(ppo: ppo, training: training) }
    do { _ = try Environments.make(env) } catch { throw ValidationError("--env: \(error)") }
    _ = try environment.arguments(env: env, ppo: ppo, training: training)
  }

  func run() throws {
    guard let env else { return try PPOLanguageModelRun(flags: lm, ppo: ppo, training: training).run() }
    let args = try environment.arguments(env: env, ppo: ppo, training: training)
    _ = try training.useDevice()
    try EnvironmentPPORun(env: env, args: args, outputDir: training.outputDir).run()
  }
}
