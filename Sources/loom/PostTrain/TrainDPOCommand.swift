import ArgumentParser
import Foundation
import LoomAdapt
import LoomCore
import LoomModels
import LoomNN
import LoomPlot
import LoomPostTrain
import LoomTrain

/// `loom train dpo`: trl's DPOTrainer on a causal LM (GPT-2, Llama, BLOOM). The reference
/// is --ref-model, else the policy's base with the adapter off (--lora-r), else --model as it
/// starts (its log-probabilities computed once before training, the same values a frozen copy
/// gives); --precompute-ref-log-probs scores the data once with any of them.
struct TrainDPOCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dpo", abstract: "Fine-tune a causal LM on preference pairs with DPO (trl's DPOTrainer).")

  @Option(help: "The frozen reference model (default: --model itself, or its base when training a LoRA adapter).")
  var refModel: String?
  @Option(help: "Preference JSON-lines: prompt, chosen, rejected.") var data: String
  @Option(help: "Evaluation pairs in the same format (evaluated each --eval-strategy).") var evalData: String?
  @Option(help: "Tokenizer directory instead of --model's.") var tokenizer: String?
  @Option(help: "β, the strength of the KL penalty to the reference (IPO's τ).") var beta = 0.1
  @Option(help: "sigmoid (DPO), hinge (SLiC) or ipo.") var lossType = "sigmoid"
  @Option(help: "cDPO's label smoothing ε in [0, 0.5) for the sigmoid loss.") var labelSmoothing = 0.0
  @Option(help: "Sequences are truncated to this many tokens, keeping their start (trl: 1024).") var maxLength = 1024
  @Option(help: "Prompts keep at most their last N tokens (trl < 1.0's max_prompt_length; default: no limit).")
  var maxPromptLength: Int?
  @Flag(help: "Score the data with the reference once before training (trl's precompute_ref_log_probs).")
  var precomputeRefLogProbs = false
  @OptionGroup var training: TrainingFlags
  @OptionGroup var adapter: PeftFlags

  static let defaults = PreferenceLoading.defaults(learningRate: 1e-6)

  func dpoConfig() throws -> DPOConfig {
    var c: DPOConfig
    do {
      c = DPOConfig(beta: beta, lossType: try DPOLossType(parsing: lossType), labelSmoothing: labelSmoothing)
      c.maxLength = maxLength
      c.maxPromptLength = maxPromptLength
      try c.validate()
    } catch let e as LoomError { throw ValidationError(e.message) }
    return c
  }

  func validate() throws {
    guard training.model != nil else { throw ValidationError("--model DIR is required: the causal LM to fine-tune") }
    _ = try dpoConfig()
    try training.validate(defaults: Self.defaults)
    try adapter.validate()
    if adapter.promptTuningVirtualTokens != nil {
      throw ValidationError("--prompt-tuning-virtual-tokens: loom train dpo trains full models or LoRA adapters (--lora-r)")
    }
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    let device = try training.useDevice()
    let modelDir = training.model!
    var config = try dpoConfig()
    var args = try training.arguments(defaults: Self.defaults)
    if evalData == nil { args.evalStrategy = .no }
    let trainRows = try PreferenceLoading.rows(data, flag: "--data")
    let evalRows = try evalData.map { try PreferenceLoading.rows($0, flag: "--eval-data") }

    manualSeed(args.seed)
    let policy = try AutoModelForCausalLM.from(directory: modelDir)
    _ = policy.to(device: device)
    let (tok, pre, pad) = try PreferenceLoading.tokenizer(tokenizer, model: modelDir, vocabularySize: policy.vocabularySize)
    if let m = config.maxLength, m > policy.maxPositions {
      // Longer sequences would not fit the position table: truncate to it instead.
      print("note: --max-length \(m) is more than the model's \(policy.maxPositions) positions; using \(policy.maxPositions)")
      config.maxLength = policy.maxPositions
    }
    func dataset(_ rows: [PreferenceRow], _ source: String) throws -> PreferenceDataset {
      PreferenceDataset(
        try pre.tokenizeForDPO(rows, maxLength: config.maxLength, maxPromptLength: config.maxPromptLength, source: source),
        padTokenId: pad, maxLength: config.maxLength)
    }
    var train = try dataset(trainRows, "--data \(data)")
    var eval = try evalRows.map { try dataset($0, "--eval-data \(evalData!)") }

    let sameAsPolicy = refModel.map { URL(fileURLWithPath: $0).standardizedFileURL == URL(fileURLWithPath: modelDir).standardizedFileURL } ?? true
    let refLoaded: (Module & CausalLanguageModel)? = sameAsPolicy ? nil : try refModel.map { dir in
      let m = try AutoModelForCausalLM.from(directory: dir)
      _ = m.to(device: device)
      return m
    }
    var reference: DPOReference
    if precomputeRefLogProbs || (sameAsPolicy && adapter.loraR == nil) {
      // The reference is the starting policy: scoring the data with it before the first step
      // gives what a frozen copy would (dropout is off in both) without a second model.
      let scorer = refLoaded ?? policy
      try check(scorer, against: policy)
      train = DPOTrainer.precomputeReferenceLogps(scorer, dataset: train, batchSize: args.perDeviceEvalBatchSize)
      eval = eval.map { DPOTrainer.precomputeReferenceLogps(scorer, dataset: $0, batchSize: args.perDeviceEvalBatchSize) }
      reference = .precomputed
    } else if let refLoaded, !sameAsPolicy {
      reference = .model(refLoaded)
    } else {
      reference = .precomputed  // replaced below by the adapter-disabled policy
    }
    let peft = try PeftTraining.apply(adapter, to: policy, task: .causalLM, base: modelDir)
    if let peft, !precomputeRefLogProbs, sameAsPolicy { reference = .adapterDisabled(peft.peft) }

    let trainer = try SavingDPOTrainer(
      model: policy, reference: reference, config: config, args: args, trainDataset: train, evalDataset: eval)
    trainer.onSave = { dir in
      if let peft { try peft.saveCheckpoint(dir) } else { try policy.savePretrained(to: dir) }
      try tok.savePretrained(dir)
    }
    print(
      "loom train dpo: \(type(of: policy)) from \(modelDir), \(policy.parameterCount()) parameters; reference: \(describe(reference)); loss \(config.lossType.rawValue), beta \(config.beta); \(train.count) training pairs, \(eval?.count ?? 0) evaluation pairs"
    )
    try trainer.train()
    guard trainer.isWorldProcessZero() else { return }  // data parallel: rank 0 writes the results
    if let peft { try peft.saveFinal(args.outputDir) } else { try policy.savePretrained(to: args.outputDir) }
    try tok.savePretrained(args.outputDir)
    _ = try? LossPlot.write(history: trainer.state.logHistory, to: args.outputDir + "/loss.png")
    try? Self.plot(trainer.state.logHistory, to: args.outputDir)
    print("last log: " + PreferenceLoading.summary(trainer.state.logHistory, ["rewards/accuracies", "rewards/margins"]))
    print("model saved to \(args.outputDir)")
  }

  /// rewards.png (trl's implicit rewards β·log π/π_ref of chosen and rejected, and their margin: how far the
  /// policy moved from the reference on the pairs) and accuracies.png (rewards/accuracies), training and evaluation.
  static func plot(_ history: [[String: Double]], to dir: String) throws {
    func series(_ key: String) -> (x: [Double], y: [Double]) {
      let rows = history.filter { $0[key] != nil }
      return (rows.map { $0["step"] ?? 0 }, rows.map { $0[key]! })
    }
    var rewards = LinePlot(title: "DPO implicit rewards", xLabel: "step", yLabel: "β·log π/π_ref")
    var accuracies = LinePlot(title: "DPO preference accuracy", xLabel: "step", yLabel: "rewards/accuracies")
    for prefix in ["", "eval_"] {
      for key in ["rewards/chosen", "rewards/rejected", "rewards/margins"] {
        let s = series(prefix + key)
        if !s.x.isEmpty { rewards.add(prefix + key, x: s.x, y: s.y, dashed: !prefix.isEmpty) }
      }
      let a = series(prefix + "rewards/accuracies")
      if !a.x.isEmpty { accuracies.add(prefix + "rewards/accuracies", x: a.x, y: a.y, dashed: !prefix.isEmpty) }
    }
    try rewards.write(to: dir + "/rewards.png")
    try accuracies.write(to: dir + "/accuracies.png")
  }

  func check(_ ref: Module & CausalLanguageModel, against policy: Module & CausalLanguageModel) throws {
    guard ref.vocabularySize == policy.vocabularySize else {
      throw LoomError(
        "--ref-model \(refModel ?? "") has a vocabulary of \(ref.vocabularySize) tokens but --model has \(policy.vocabularySize); the reference must share the policy's tokenizer")
    }
  }

  func describe(_ r: DPOReference) -> String {
    switch r {
    case .model: return refModel.map { "--ref-model \($0)" } ?? "a frozen copy of --model"
    case .adapterDisabled: return "the base model (adapter disabled)"
    case .precomputed:
      return precomputeRefLogProbs ? "precomputed log-probabilities" : "--model before training (log-probabilities precomputed)"
    }
  }
}

/// DPOTrainer whose checkpoints hold what the command saves (tokenizer, adapter).
final class SavingDPOTrainer: DPOTrainer {
  var onSave: ((String) throws -> Void)?
  override func saveModel(_ outputDir: String) throws {
    if let onSave { try onSave(outputDir) } else { try super.saveModel(outputDir) }
  }
}
