import ArgumentParser
import Foundation
import LoomAdapt
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN
import LoomTokenizers
import LoomTrain

struct TrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train", abstract: "Train a model.",
    subcommands: [
      TrainGPTCommand.self, TrainAECommand.self, TrainDAECommand.self, TrainVAECommand.self, TrainMLMCommand.self,
      TrainClassifyCommand.self, TrainTokenClassifyCommand.self, TrainQACommand.self, TrainSeq2SeqCommand.self,
      TrainDistillCommand.self, TrainRewardCommand.self, TrainDPOCommand.self, TrainPPOCommand.self,
      TrainGANCommand.self, TrainDiffusionCommand.self,
    ])
}

/// `loom train gpt`: a GPT-2-architecture language model on text files.
struct TrainGPTCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gpt", abstract: "Train a GPT (GPT-2 architecture) on text files.")

  @Option(name: .long, parsing: .upToNextOption, help: "Text files to train on.") var data: [String]
  @Option(help: "A tokenizer.json, or a directory with tokenizer.json or vocab.json + merges.txt (default with --model: the model's).")
  var tokenizer: String?
  @Flag(help: "Character-level vocabulary built from the data (the seeds' scratch GPT; with --model, the model's char_vocab.json).")
  var char = false
  @Option(help: "Model shape: seed, tiny, gpt2, gpt2-medium (default: seed).") var preset: String?
  @Option(help: "A config.json (GPT-2 fields) instead of a preset.") var config: String?
  @Option(parsing: .unconditional, help: "Tokens per training example (default: the model's n_positions).") var blockSize: Int?
  @Option(parsing: .unconditional, help: "Fraction of the text held out for evaluation.") var validationFraction: Double = 0.1
  @Option(parsing: .unconditional, help: "Samples to print at the end.") var samples = 1
  @Option(parsing: .unconditional, help: "Tokens per printed sample (past the context, the window slides).") var sampleTokens = 200
  @Option(parsing: .unconditional, help: "Temperature of the printed samples (nanoGPT's sample.py uses 0.8).") var sampleTemperature = 0.8
  @Option(parsing: .unconditional, help: "Top-k of the printed samples (0 = off; nanoGPT's sample.py uses 200).") var sampleTopK = 200
  @Option(parsing: .unconditional, help: "Mixture of experts: every block's MLP becomes N experts behind a router (Switch Transformers' sparse MLP; config.json num_experts).")
  var moeExperts: Int?
  @Option(parsing: .unconditional, help: "Experts per token (num_experts_per_tok; 1 = Switch, k > 1 renormalises the k router probabilities as Mixtral does). Default 1.")
  var moeTopK: Int?
  @Option(parsing: .unconditional, help: "Tokens each expert takes per sequence, as a factor of sequence length · k / experts; overflowing tokens skip the expert (expert_capacity_factor; default: unlimited).")
  var moeCapacityFactor: Double?
  @Option(parsing: .unconditional, help: "Weight of the router's load-balancing loss (router_aux_loss_coef; default 0.001, HF Switch's).")
  var routerAuxLossCoef: Double?
  @Option(parsing: .unconditional, help: "Weight of the router z-loss (router_z_loss_coef; default 0.001, HF Switch's).")
  var routerZLossCoef: Double?
  @OptionGroup var training: TrainingFlags
  @OptionGroup var adapter: PeftFlags
  @OptionGroup var quantization: QuantizationFlags
  @Option(
    name: .customLong("torch-dtype"),
    help: "With --model and an adapter (--lora-r, prompt tuning): load the frozen base in this dtype, auto (config.json's torch_dtype), float32, bfloat16 or float16 (default float32); adapters train in float32.")
  var torchDType = "float32"

  /// `loom train gpt`'s TrainingArguments defaults (see the flags' help for HF's).
  static let defaults: TrainingArguments = {
    var a = TrainingArguments(outputDir: "")
    a.numTrainEpochs = 1
    a.learningRate = 3e-4
    a.weightDecay = 0.01
    a.loggingSteps = 50
    a.evalStrategy = .steps
    return a
  }()

  /// Every flag is checked here, before data or model is read, so mistakes are reported
  /// at once with this command's usage.
  func validate() throws {
    if char && tokenizer != nil { throw ValidationError("--char and --tokenizer contradict each other: pick one") }
    if !char && tokenizer == nil && training.model == nil {
      throw ValidationError("pass --char for a character vocabulary, --tokenizer PATH, or --model DIR")
    }
    if training.model != nil && (config != nil || preset != nil) {
      throw ValidationError("--model loads the model's own config.json: drop --config / --preset")
    }
    if config != nil && preset != nil { throw ValidationError("--config and --preset contradict each other: pick one") }
    try validateExperts()
    if data.isEmpty { throw ValidationError("--data needs at least one text file") }
    if !(0..<1).contains(validationFraction) {
      throw ValidationError("--validation-fraction must be in [0, 1), got \(validationFraction)")
    }
    // An example needs an input token and the next one to predict.
    if let b = blockSize, b < 2 { throw ValidationError("--block-size must be >= 2, got \(b)") }
    if samples < 0 { throw ValidationError("--samples must be >= 0, got \(samples)") }
    do {
      try sampleSettings(0).validate(naming: Self.sampleFlag)
      _ = try Generation.checkedMaxLength(
        promptLength: 1, config: sampleSettings(0), maxPositions: .max, newTokensName: "--sample-tokens")
    } catch let e as LoomError {
      throw ValidationError(e.message)
    }
    try training.validate(defaults: Self.defaults)
    try adapter.validate()
    try adapter.requirePretrained(training.model != nil, command: "loom train gpt")
    if quantization.config != nil {
      // QLoRA: quantized weights are frozen, so only LoRA adapters over them train.
      guard adapter.loraR != nil, training.model != nil else {
        throw ValidationError("--load-in-8bit / --load-in-4bit train LoRA adapters over a frozen quantized base (QLoRA): pass --model DIR and --lora-r R")
      }
      if adapter.mergeAdapter {
        throw ValidationError("--merge-adapter cannot merge into quantized weights; save the adapter and merge it into the float model (loom generate --model DIR --adapter OUT)")
      }
    }
    do { _ = try LoadingDType(parsing: torchDType) } catch { throw ValidationError("--torch-dtype: \(error)") }
    if torchDType != "float32" && training.model == nil {
      throw ValidationError("--torch-dtype is the dtype a pretrained --model is loaded in: pass --model DIR")
    }
    let positions = try declaredPositions()  // also checks --preset
    if let block = blockSize, let positions, block > positions {
      throw ValidationError("--block-size \(block) exceeds the model's n_positions (\(positions))")
    }
  }

  /// The mixture-of-experts flags: ranges, and the others only beside --moe-experts.
  func validateExperts() throws {
    let others: [(String, Bool)] = [
      ("--moe-top-k", moeTopK != nil), ("--moe-capacity-factor", moeCapacityFactor != nil),
      ("--router-aux-loss-coef", routerAuxLossCoef != nil), ("--router-z-loss-coef", routerZLossCoef != nil),
    ]
    guard let experts = moeExperts else {
      if let hit = others.first(where: \.1) { throw ValidationError("\(hit.0) needs --moe-experts N") }
      return
    }
    if training.model != nil {
      throw ValidationError("--model loads the model's own config.json (and its experts): drop --moe-experts")
    }
    guard experts >= 1 else { throw ValidationError("--moe-experts must be >= 1, got \(experts)") }
    if let k = moeTopK, !(1...experts).contains(k) {
      throw ValidationError("--moe-top-k must be in 1...\(experts) (--moe-experts), got \(k)")
    }
    if let f = moeCapacityFactor, !(f > 0 && f.isFinite) {
      throw ValidationError("--moe-capacity-factor must be a positive number, got \(f)")
    }
    for (flag, v) in [("--router-aux-loss-coef", routerAuxLossCoef), ("--router-z-loss-coef", routerZLossCoef)] {
      if let v, !(v >= 0 && v.isFinite) { throw ValidationError("\(flag) must be a finite number >= 0, got \(v)") }
    }
  }

  /// The config with the mixture-of-experts flags applied.
  func withExperts(_ config: GPT2Config) -> GPT2Config {
    guard let experts = moeExperts else { return config }
    var c = config
    c.numExperts = experts
    c.numExpertsPerTok = moeTopK ?? c.numExpertsPerTok
    c.expertCapacityFactor = moeCapacityFactor ?? c.expertCapacityFactor
    c.routerAuxLossCoef = routerAuxLossCoef ?? c.routerAuxLossCoef
    c.routerZLossCoef = routerZLossCoef ?? c.routerZLossCoef
    return c
  }

  /// The n_positions of --config, --preset or --model's config.json, read without the
  /// data (nil when the file is unreadable: run() reports that).
  func declaredPositions() throws -> Int? {
    let file = config ?? training.model.map { $0 + "/config.json" }
    if let file {
      guard let d = FileManager.default.contents(atPath: file) else { return nil }
      return (try? ConfigFile.decode(GPT2Config.self, from: d, path: file))?.nPositions
    }
    do { return try GPT2Config.preset(preset ?? "seed", vocabSize: 1).nPositions } catch {
      throw ValidationError("--preset: \(error)")
    }
  }

  /// The printed samples' flags, as their GenerationConfig fields are named.
  static func sampleFlag(_ field: String) -> String {
    ["max_new_tokens": "--sample-tokens", "temperature": "--sample-temperature", "top_k": "--sample-top-k"][field]
      ?? "--" + field.replacingOccurrences(of: "_", with: "-")
  }

  /// How the printed sample number `s` (from 0) is generated: nanoGPT's sampling, the
  /// context sliding past n_positions.
  func sampleSettings(_ s: Int, seed: UInt64 = 0) -> GenerationConfig {
    var g = GenerationConfig()
    g.maxNewTokens = sampleTokens
    g.slidingWindow = true
    g.doSample = true
    g.temperature = sampleTemperature
    g.topK = sampleTopK
    g.seed = seed &+ UInt64(s)
    return g
  }

  /// The pretrained language model in `dir`, in --torch-dtype, its Linear / Conv1D weights quantized as they
  /// are read under --load-in-8bit / --load-in-4bit (QLoRA's base).
  func loadPretrained(_ dir: String) throws -> GPT2LMHeadModel {
    let dtype = try LoadingDType(parsing: torchDType).resolve(for: dir)
    // Training a half model's own weights would round every update away: that is what --bf16 / --fp16
    // (float32 master weights) are for. A frozen base under adapters is what a half load is for.
    if dtype != .float32 && adapter.loraR == nil && adapter.promptTuningVirtualTokens == nil {
      throw LoomError(
        "--torch-dtype \(dtype) loads \(dir) in \(dtype) for adapter training over a frozen base (--lora-r R or prompt tuning); to train all weights in mixed precision keep float32 and pass --bf16 or --fp16"
      )
    }
    return try Generation.loadCausalLanguageModel(
      from: dir, dtype: dtype, quantization: quantization.config, report: QuantizationFlags.show)
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // interleave with the progress bar on stderr
    let args = try training.arguments(defaults: Self.defaults)
    let device = try training.useDevice()
    var text = ""
    for path in data {
      let d: Data
      do { d = try FileInput.read(path) } catch let e as FileReadError {
        throw LoomError("cannot read --data file \(path): \(e.reason)")
      }
      text += String(decoding: d, as: UTF8.self)
      if !text.hasSuffix("\n") { text += "\n" }
    }
    guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
      throw LoomError("the --data files contain no text")
    }
    let pretrained = try training.model.map(loadPretrained)
    let codec: TextCodec
    if let tokenizer {
      codec = try TextCodec.load(tokenizer)
    } else if let dir = training.model {
      codec = try TextCodec.load(dir)
      if char, case .hf = codec { throw LoomError("--char: \(dir) has no \(TextCodec.charVocabFile) (it is not a character-level model)") }
    } else {
      codec = .chars(CharTokenizer(corpus: text))
    }
    var modelConfig: GPT2Config
    if let pretrained {
      modelConfig = pretrained.config
    } else if let config {
      let d: Data
      do { d = try FileInput.read(config, limit: ConfigFile.maxBytes) } catch let e as FileReadError {
        throw LoomError("cannot read --config \(config): \(e.reason)")
      }
      modelConfig = try ConfigFile.decode(GPT2Config.self, from: d, path: config)
    } else {
      modelConfig = try GPT2Config.preset(preset ?? "seed", vocabSize: codec.vocabSize)
    }
    modelConfig = withExperts(modelConfig)
    let isChar: Bool
    if case .chars = codec { isChar = true } else { isChar = false }
    if pretrained == nil {
      if isChar { modelConfig.vocabSize = codec.vocabSize }  // the characters define the vocabulary
      // Special token ids must exist in the vocabulary (a character vocabulary has none).
      let inVocab = { (id: Int?) in id.flatMap { $0 < modelConfig.vocabSize ? $0 : nil } }
      modelConfig.bosTokenId = isChar ? nil : inVocab(modelConfig.bosTokenId ?? codec.eosTokenId)
      if isChar {
        modelConfig.eosTokenId = nil
      } else if let ids = modelConfig.eosTokenId?.ids {
        let kept = ids.filter { $0 < modelConfig.vocabSize }
        modelConfig.eosTokenId = kept.isEmpty ? nil : TokenIdList(kept)
      } else {
        modelConfig.eosTokenId = inVocab(codec.eosTokenId).map { TokenIdList([$0]) }
      }
      modelConfig.padTokenId = inVocab(modelConfig.padTokenId)
    }
    if modelConfig.vocabSize < codec.vocabSize {
      throw LoomError("the model's vocab_size (\(modelConfig.vocabSize)) is smaller than the tokenizer's (\(codec.vocabSize))")
    }
    let block = blockSize ?? modelConfig.nPositions
    guard block <= modelConfig.nPositions else {
      throw LoomError("--block-size \(block) exceeds the model's n_positions (\(modelConfig.nPositions))")
    }
    let ids = try codec.encode(text).map(Int32.init)
    let split = Int(Double(ids.count) * (1 - validationFraction))
    let trainSet = try CausalLMBlocks(tokens: Array(ids[..<split]), blockSize: block)
    let evalSet = validationFraction > 0 ? try? CausalLMBlocks(tokens: Array(ids[split...]), blockSize: block) : nil
    var trainingArgs = args
    if evalSet == nil { trainingArgs.evalStrategy = .no; trainingArgs.loadBestModelAtEnd = false }
    manualSeed(trainingArgs.seed)
    let model = try pretrained?.to(device: device) ?? GPT2LMHeadModel(modelConfig)
    if let dir = training.model { print("starting from \(dir)") }
    let tokenizerSource = tokenizer ?? training.model
    let prompted = try PromptTuningRun.wrap(
      adapter, base: model, baseDirectory: training.model, tokenizer: tokenizerSource,
      encode: { try codec.encode($0) })
    let peft =
      prompted != nil
      ? nil
      : try training.model.flatMap {
        try PeftTraining.apply(adapter, to: model, task: .causalLM, base: $0)
      }
    print("loom train gpt: \(modelConfig.nLayer) layers, \(modelConfig.nHead) heads, width \(modelConfig.nEmbd), block \(block), vocabulary \(codec.vocabSize); \(model.parameterCount()) parameters")
    if modelConfig.numExperts > 0 {
      print("mixture of experts: \(modelConfig.numExperts) experts per block, top-\(modelConfig.numExpertsPerTok), capacity \(modelConfig.expertCapacityFactor.map { "factor \($0)" } ?? "unlimited")")
    }
    print("data: \(ids.count) tokens → \(trainSet.count) training blocks, \(evalSet?.count ?? 0) evaluation blocks")
    let trainer = Trainer(
      model: prompted ?? model, args: trainingArgs, trainDataset: trainSet, evalDataset: evalSet,
      lossAndLogits: { b in
        if let prompted {
          // Logits [B, n + T, V] include the virtual positions, as PEFT returns them.
          let o = prompted.forward(inputIds: b.inputs, attentionMask: b.attentionMask, labels: b.labels)
          return (LossOutput(loss: o.loss!, parts: [:]), o.logits)
        }
        let o = model.lossOutput(b.inputs, labels: b.labels, attentionMask: b.attentionMask)
        return (LossOutput(loss: o.loss, parts: o.parts), o.logits)
      },
      saveModel: { m, dir in
        if let prompted {
          // The whole wrapped state (what resuming restores) and the adapter in PEFT's layout.
          try SafeTensors.save(prompted.stateDict(), to: dir + "/model.safetensors")
          try prompted.saveAdapter(to: dir)
        } else {
          try (m as! GPT2LMHeadModel).save(to: dir)
          try peft?.peft.save(to: dir)
        }
        try codec.save(to: dir, source: tokenizerSource)
      })
    trainer.isLanguageModel = true
    let state = try trainer.train()
    guard trainer.isWorldProcessZero() else { return }  // data parallel: rank 0 writes the results
    if let prompted {
      try prompted.saveAdapter(to: trainingArgs.outputDir)
    } else if let peft, !peft.merge {
      try peft.saveFinal(trainingArgs.outputDir)
    } else {
      try peft?.peft.mergeAndUnload()
      try model.save(to: trainingArgs.outputDir)
    }
    try codec.save(to: trainingArgs.outputDir, source: tokenizerSource)
    if let plot = try LossPlot.write(history: state.logHistory, to: trainingArgs.outputDir + "/loss.png") {
      print("loss plot: \(plot)")
    }
    print("model saved to \(trainingArgs.outputDir)")
    for (i, layer) in model.expertLayers.enumerated() {
      let total = Swift.max(layer.usage.reduce(0, +), 1)
      let shares = layer.usage.map { String(format: "%.3f", Double($0) / Double(total)) }
      print("expert usage, block \(i) (fraction of training tokens per expert): \(shares.joined(separator: " "))")
    }
    model.eval()
    prompted?.eval()
    for s in 0..<samples {
      var g = sampleSettings(s, seed: trainingArgs.seed)
      if let eos = codec.eosTokenId { g.eosTokenIds = [eos] }
      g.suppressTokens = codec.unusedIds(modelVocabSize: modelConfig.vocabSize)
      let prompt = [try codec.encode("\n").first ?? 0]
      let lm: any CausalLanguageModel = prompted.map { $0 as any CausalLanguageModel } ?? model
      let out = try Generation.generate(lm, prompts: [prompt], config: g)
      print("--- sample \(s + 1) ---")
      print(codec.decode(Generation.continuation(out[0], promptLength: prompt.count, eosTokenIds: g.eosTokenIds)))
    }
  }
}
