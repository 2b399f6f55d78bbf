import ArgumentParser
import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomNN
import LoomPlot
import LoomPostTrain
import LoomTrain

/// `loom train ppo`'s language-model flags beyond the shared `PPOFlags` (trl's PPOConfig fields as
/// kebab-case flags).
struct PPOLanguageModelFlags: ParsableArguments {
  @Option(
    help:
      "Reward model directory: a GPT-2, Llama or BLOOM sequence-classification model with one output (scores the policy's tokens, as trl does), or any other sequence classifier with its tokenizer, or one picked by --reward-label (scores the decoded response)."
  )
  var rewardModel: String?
  @Option(help: "With a text-classifier --reward-model of several labels: the label (name or index) whose logit is the reward.")
  var rewardLabel: String?
  @Option(
    help:
      "A builtin reward on the decoded response instead of a reward model: \(BuiltinReward.names.map { "builtin:" + $0 }.joined(separator: ", "))."
  )
  var reward: String?
  @Option(
    help: "Prompts: JSON lines with a \"prompt\" field, or a text file with one prompt per line.")
  var prompts: String?
  @Option(help: "Reference model directory (default: a frozen copy of --model).") var refModel:
    String?
  @Option(
    help:
      "Value model directory (default: a token-scoring reward model's, else the policy's trunk with a fresh score head; GPT-2, Llama or BLOOM)."
  )
  var valueModel: String?
  @Option(parsing: .unconditional, help: "Tokens sampled per response (response_length; 53).")
  var responseLength: Int?
  @Option(parsing: .unconditional, help: "Sampling temperature (temperature; 0.7).")
  var temperature: Double?
  @Option(help: "eos: end responses at the tokenizer's EOS (stop_token).") var stopToken: String?
  @Option(parsing: .unconditional, help: "Token id that ends a response (stop_token_id).")
  var stopTokenId: Int?
  @Option(
    parsing: .unconditional,
    help: "Subtracted from the score of a response without EOS (missing_eos_penalty).")
  var missingEosPenalty: Double?
  @Option(
    parsing: .unconditional,
    help: "Prompts to train on in all (total_episodes; default epochs × prompts).")
  var totalEpisodes: Int?
  @Option(
    parsing: .unconditional,
    help: "Padding token id (default: the model's pad_token_id, else the tokenizer's EOS).")
  var padTokenId: Int?

  /// `loom train ppo`'s TrainingArguments defaults: trl's PPOConfig learning rate, one update logged each step.
  static let defaults: TrainingArguments = {
    var a = TrainingArguments(outputDir: "")
    a.learningRate = 3e-6
    a.numTrainEpochs = 1
    a.loggingSteps = 1
    return a
  }()

  func validate(ppo: PPOFlags, training: TrainingFlags) throws {
    guard training.model != nil else {
      throw ValidationError(
        "loom train ppo needs --model DIR (a causal LM to train) or --env (\(Environments.names.joined(separator: ", ")))"
      )
    }
    switch (rewardModel, reward) {
    case (nil, nil): throw ValidationError("pass --reward-model DIR or --reward builtin:NAME")
    case (.some, .some):
      throw ValidationError("--reward-model and --reward contradict each other: pick one")
    default: break
    }
    if rewardLabel != nil && rewardModel == nil {
      throw ValidationError("--reward-label picks a label of --reward-model's classifier: pass --reward-model DIR")
    }
    if let reward {
      do { _ = try BuiltinReward(parsing: reward) } catch let e as LoomError {
        throw ValidationError(e.message)
      }
    }
    guard prompts != nil else { throw ValidationError("--prompts FILE is required") }
    if stopToken != nil && stopTokenId != nil {
      throw ValidationError(
        "--stop-token and --stop-token-id contradict each other: pick one (trl raises the same)")
    }
    if let s = stopToken, s != "eos" {
      throw ValidationError("--stop-token must be eos, got '\(s)'")
    }
    do { _ = try config(ppo) } catch let e as PPOError { throw ValidationError(e.description) }
    try training.validate(defaults: Self.defaults)
  }

  /// PPOConfig from the shared PPO flags over trl's defaults, then these (stop_token resolved later,
  /// with the tokenizer).
  func config(_ ppo: PPOFlags) throws -> PPOConfig {
    var c = try ppo.config(defaults: PPOConfig())
    if let v = responseLength { c.responseLength = v }
    if let v = temperature { c.temperature = v }
    c.stopTokenId = stopTokenId
    c.missingEosPenalty = missingEosPenalty
    c.totalEpisodes = totalEpisodes
    try c.validate { "--" + $0.replacingOccurrences(of: "_", with: "-") }
    return c
  }
}

/// Loads the models, tokenizer and prompts, runs `PPOTrainer`, saves the policy (with its tokenizer)
/// and plots reward and KL per update.
struct PPOLanguageModelRun {
  let flags: PPOLanguageModelFlags
  let ppo: PPOFlags
  let training: TrainingFlags

  func run() throws {
    let args = try training.arguments(defaults: PPOLanguageModelFlags.defaults)
    _ = try training.useDevice()
    var config = try flags.config(ppo)
    let modelDir = training.model!
    let (policy, defaults) = try Generation.loadTextGenerationModel(from: modelDir)
    let ref = try Generation.loadTextGenerationModel(from: flags.refModel ?? modelDir).model
    let codec = try TextCodec.load(modelDir, modelVocabSize: policy.vocabularySize)
    let eos = codec.eosTokenId ?? defaults.eosTokenIds.first
    if flags.stopToken == "eos" {
      guard let eos else {
        throw LoomError("--stop-token eos: \(modelDir)'s tokenizer and config have no EOS token")
      }
      config.stopTokenId = eos
    }
    guard let pad = flags.padTokenId ?? defaults.padTokenId ?? eos else {
      throw LoomError(
        "\(modelDir) has no pad_token_id and its tokenizer no EOS: pass --pad-token-id")
    }
    let reward: PPORewardSource
    // A GPT-2, Llama or BLOOM reward model scores the policy's tokens as trl's get_reward does (and
    // is the default value model); --reward-label, or any other classifier, reads the decoded
    // responses with the classifier's own tokenizer.
    let scoresTokens = flags.rewardModel.map(TokenScoreModel.supports) ?? false && flags.rewardLabel == nil
    if let dir = flags.rewardModel, scoresTokens {
      reward = .model(try TokenScoreModel.load(from: dir, role: "reward model", freshHead: false))
    } else if let dir = flags.rewardModel {
      let classifier = try TextClassifierReward(directory: dir, label: flags.rewardLabel)
      reward = .texts(classifier.scores, decode: { codec.decode($0) })
    } else {
      reward = .function(try BuiltinReward(parsing: flags.reward!), decode: { codec.decode($0) })
    }
    let valueDir = flags.valueModel ?? (scoresTokens ? flags.rewardModel : nil) ?? modelDir
    let value = try TokenScoreModel.load(
      from: valueDir, role: "value model", freshHead: valueDir == modelDir)
    let texts = try PromptsFile.read(flags.prompts!)
    let prompts = try texts.enumerated().map { i, text -> [Int] in
      let ids = try codec.encodePrompt(text)
      guard !ids.isEmpty else {
        throw LoomError("\(flags.prompts!): prompt \(i + 1) encodes to no tokens")
      }
      return ids
    }
    let trainer = try PPOTrainer(
      config: config, args: args, policy: policy, ref: ref, value: value, reward: reward,
      prompts: prompts,
      padTokenId: pad, eosTokenId: eos)
    trainer.suppressTokens = codec.unusedIds(modelVocabSize: policy.vocabularySize)
    let total = trainer.numTotalBatches
    trainer.onLog = { r in
      func f(_ k: String) -> String { String(format: "%.4f", r[k] ?? .nan) }
      print(
        "step \(Int(r["step"] ?? 0))/\(total)  scores \(f("objective/scores"))  kl \(f("objective/kl"))  "
          + "rlhf_reward \(f("objective/rlhf_reward"))  loss/policy \(f("loss/policy_avg"))  loss/value \(f("loss/value_avg"))"
      )
    }
    let history = try trainer.train()
    try policy.savePretrained(to: args.outputDir)
    try codec.save(to: args.outputDir, source: modelDir)
    try Self.plot(history, to: args.outputDir)
    print("saved the policy, metrics.jsonl, reward.png and kl.png to \(args.outputDir)")
  }

  /// reward.png (objective/scores and objective/rlhf_reward) and kl.png (objective/kl) per update.
  static func plot(_ history: [[String: Double]], to dir: String) throws {
    let steps = history.map { $0["step"] ?? 0 }
    var reward = LinePlot(title: "PPO reward", xLabel: "update", yLabel: "mean per response")
    reward.add("objective/scores", x: steps, y: history.map { $0["objective/scores"] ?? .nan })
    reward.add(
      "objective/rlhf_reward", x: steps, y: history.map { $0["objective/rlhf_reward"] ?? .nan },
      dashed: true)
    try reward.write(to: dir + "/reward.png")
    var kl = LinePlot(title: "KL to the reference", xLabel: "update", yLabel: "objective/kl")
    kl.add("objective/kl", x: steps, y: history.map { $0["objective/kl"] ?? .nan })
    try kl.write(to: dir + "/kl.png")
  }
}
