import ArgumentParser
import Foundation
import LoomCore
import LoomModels
import LoomNN
import LoomPostTrain
import LoomTrain

/// `loom train reward`: trl's RewardTrainer — a sequence-classification model with one
/// output trained on preference pairs with the Bradley–Terry loss.
struct TrainRewardCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reward",
    abstract: "Train a reward model (one-output sequence classifier) on preference pairs (trl's RewardTrainer).")

  @Option(help: "Preference JSON-lines: prompt (optional), chosen, rejected, and an optional margin.") var data: String
  @Option(help: "Evaluation pairs in the same format (evaluated each --eval-strategy).") var evalData: String?
  @Option(help: "Tokenizer directory instead of --model's.") var tokenizer: String?
  @Option(help: "Pairs with a side longer than this many tokens are dropped, as trl does (trl: 1024).")
  var maxLength = 1024
  @Option(help: "Adds this × mean((r_chosen + r_rejected)²) to the loss (trl's center_rewards_coefficient).")
  var centerRewardsCoefficient: Double?
  @OptionGroup var training: TrainingFlags
  @OptionGroup var adapter: PeftFlags

  static let defaults = PreferenceLoading.defaults(learningRate: 1e-4)

  func validate() throws {
    guard training.model != nil else { throw ValidationError("--model DIR is required: the model to train as a reward model") }
    if maxLength < 2 { throw ValidationError("--max-length must be at least 2, got \(maxLength)") }
    if let c = centerRewardsCoefficient, !(c >= 0) { throw ValidationError("--center-rewards-coefficient must be >= 0, got \(c)") }
    try training.validate(defaults: Self.defaults)
    try adapter.validate()
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    let device = try training.useDevice()
    let modelDir = training.model!
    var args = try training.arguments(defaults: Self.defaults)
    if evalData == nil { args.evalStrategy = .no }
    let trainRows = try PreferenceLoading.rows(data, flag: "--data", requirePrompt: false)
    let evalRows = try evalData.map { try PreferenceLoading.rows($0, flag: "--eval-data", requirePrompt: false) }

    // trl loads the model with num_labels=1: a head the checkpoint lacks starts fresh; a
    // classifier with several named labels is not a reward model.
    let config = try EncoderLoading.configJSON(modelDir)
    if let labels = config["id2label"] as? [String: Any], labels.count != 1 {
      throw LoomError(
        "--model \(modelDir) is a classifier with \(labels.count) outputs (id2label); a reward model has exactly one (num_labels 1): start from a base model or a one-output checkpoint")
    }
    manualSeed(args.seed)
    let (tok, pre, pad) = try PreferenceLoading.tokenizer(tokenizer, model: modelDir, vocabularySize: nil)
    var edits: [String: Any] = ["id2label": ["0": "LABEL_0"], "label2id": ["LABEL_0": 0]]
    if config["pad_token_id"] == nil || config["pad_token_id"] is NSNull { edits["pad_token_id"] = pad }
    let module = try EncoderLoading.load(.sequenceClassification, from: modelDir, edits: edits)
    guard let model = module as? any EncoderModel else {
      throw LoomError("--model \(modelDir): \(type(of: module)) is not a sequence-classification model")
    }
    _ = model.to(device: device)
    if let v = EncoderLoading.vocabSize(model), tok.vocabSize > v {
      throw LoomError("the tokenizer has \(tok.vocabSize) tokens but --model \(modelDir) only \(v); use the model's own tokenizer")
    }
    var maxLength = maxLength
    if maxLength > model.maxSequenceLength {
      // Longer pairs would not fit the position table: trl's filter drops them at this length.
      print("note: --max-length \(maxLength) is more than the model's \(model.maxSequenceLength) positions; using \(model.maxSequenceLength)")
      maxLength = model.maxSequenceLength
    }
    let peft = try PeftTraining.apply(adapter, to: model, task: .sequenceClassification, base: modelDir)
    let train = RewardDataset(try pre.tokenizeForReward(trainRows, maxLength: maxLength, source: "--data \(data)"), padTokenId: pad)
    let eval = try evalRows.map {
      RewardDataset(try pre.tokenizeForReward($0, maxLength: maxLength, source: "--eval-data \(evalData!)"), padTokenId: pad)
    }
    let trainer = try SavingRewardTrainer(
      model: model, centerRewardsCoefficient: centerRewardsCoefficient, args: args, trainDataset: train, evalDataset: eval)
    trainer.onSave = { dir in
      if let peft { try peft.saveCheckpoint(dir) } else { try model.savePretrained(to: dir) }
      try tok.savePretrained(dir)
    }
    print(
      "loom train reward: \(type(of: model)) from \(modelDir), \(model.parameterCount()) parameters; \(train.count) training pairs (\(trainRows.count - train.count) longer than \(maxLength) dropped), \(eval?.count ?? 0) evaluation pairs"
    )
    try trainer.train()
    guard trainer.isWorldProcessZero() else { return }  // data parallel: rank 0 writes the results
    if let peft { try peft.saveFinal(args.outputDir, labelsConfig: config.merging(edits) { $1 }) } else { try model.savePretrained(to: args.outputDir) }
    try tok.savePretrained(args.outputDir)
    _ = try? LossPlot.write(history: trainer.state.logHistory, to: args.outputDir + "/loss.png")
    print("last log: " + PreferenceLoading.summary(trainer.state.logHistory, ["accuracy", "margin"]))
    print("model saved to \(args.outputDir)")
  }
}

/// RewardTrainer whose checkpoints hold what the command saves (tokenizer, adapter).
final class SavingRewardTrainer: RewardTrainer {
  var onSave: ((String) throws -> Void)?
  override func saveModel(_ outputDir: String) throws {
    if let onSave { try onSave(outputDir) } else { try super.saveModel(outputDir) }
  }
}
