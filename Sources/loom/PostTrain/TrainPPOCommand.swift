import ArgumentParser
import Foundation
import LoomTrain

/// `loom train ppo`: PPO on a language model (trl's PPOTrainer: --model, --reward-model or --reward,
/// --prompts) or on a classic-control environment (--env cartpole). The language-model flags and run
/// live in TrainPPOLanguageModel.swift.
struct TrainPPOCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ppo",
    abstract: "PPO: a causal LM against a reward model or builtin reward (trl's PPOTrainer), or --env cartpole.")

  @Option(help: "A classic-control environment instead of a language model: cartpole.") var env: String?
  @OptionGroup var lm: PPOLanguageModelFlags
  @OptionGroup var training: TrainingFlags

  func validate() throws {
    if env != nil { return }
    try lm.validate(training: training)
  }

  func run() throws {
    if let env {
      throw ValidationError(
        "--env \(env): environments come with the ppo-core branch (use --env cartpole there); this build trains language models only"
      )
    }
    try PPOLanguageModelRun(flags: lm, training: training).run()
  }
}
