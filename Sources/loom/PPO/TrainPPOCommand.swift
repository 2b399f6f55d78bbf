import ArgumentParser
import Foundation
import LoomPostTrain
import LoomTrain

/// `loom train ppo`: PPO with trl's core math. `--env cartpole` trains an actor-critic MLP on Loom's CartPole.
struct TrainPPOCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ppo",
    abstract: "Train with PPO (trl's losses): --env cartpole for a classic-control task.")

  @Option(help: "Environment to train on: \(Environments.names.joined(separator: ", ")).") var env:
    String?
  @OptionGroup var environment: EnvironmentPPOFlags
  @OptionGroup var ppo: PPOFlags
  @OptionGroup var training: TrainingFlags

  func validate() throws {
    guard let env else {
      throw ValidationError(
        "loom train ppo needs --env (\(Environments.names.joined(separator: ", ")))")
    }
    do { _ = try Environments.make(env) } catch { throw ValidationError("--env: \(error)") }
    _ = try environment.arguments(env: env, ppo: ppo, training: training)
  }

  func run() throws {
    guard let env else { return }
    let args = try environment.arguments(env: env, ppo: ppo, training: training)
    _ = try training.useDevice()
    try EnvironmentPPORun(env: env, args: args, outputDir: training.outputDir).run()
  }
}
