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

/// `loom train seq2seq`: an encoder–decoder (any `AutoModelForSeq2SeqLM` family) trained on
/// BART's denoising, T5's span corruption or supervised source/target pairs. The output
/// directory holds the model and its tokenizer (transformers' `AutoModelForSeq2SeqLM` /
/// `AutoTokenizer` load it).
struct TrainSeq2SeqCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "seq2seq",
    abstract: "Train an encoder–decoder (BART, T5, …) by denoising, span corruption or on source/target pairs.")

  enum Objective: String, ExpressibleByArgument, CaseIterable {
    case denoising, spanCorruption = "span-corruption", pairs
  }

  @Option(name: .long, parsing: .upToNextOption, help: "Text files (denoising, span-corruption) or CSV / TSV / JSON-lines files (pairs).")
  var data: [String]
  @Option(help: "denoising (BART), span-corruption (T5) or pairs (supervised source → target).") var objective = Objective.denoising
  @Option(help: "Column of the source text (pairs).") var sourceColumn = "source"
  @Option(help: "Column of the target text (pairs).") var targetColumn = "target"
  @Option(help: "Tokenizer directory (default with --model: the model's).") var tokenizer: String?
  @Option(help: "A model_type with a seq2seq LM head (bart, t5, …; ignored with --model or a --config naming one).")
  var modelType = "bart"
  @Option(help: "A config.json to build the model from.") var config: String?
  @Option(help: "Model shape: \(Seq2SeqPresets.names.joined(separator: ", ")) (default: bart-tiny).") var preset: String?
  @Option(parsing: .unconditional, help: "Encoder tokens per example (denoising and span-corruption blocks; pairs truncate the source).")
  var maxSourceLength = 128
  @Option(parsing: .unconditional, help: "Decoder tokens per example (pairs truncate the target).") var maxTargetLength = 128
  @Option(parsing: .unconditional, help: "Fraction of words masked (BART: 0.3).") var maskRatio = 0.3
  @Option(parsing: .unconditional, help: "Mean span length of text infilling, Poisson λ (BART: 3).") var poissonLambda = 3.0
  @Option(help: "span-poisson (text infilling, one <mask> per span), subword (token masking) or word (whole-word masking).")
  var maskLength = "span-poisson"
  @Option(parsing: .unconditional, help: "Fraction of masks replaced by a random token instead (fairseq's --mask-random 0.1).")
  var randomRatio = 0.1
  @Option(parsing: .unconditional, help: "Fraction of tokens deleted (token deletion; 0).") var deleteRatio = 0.0
  @Option(parsing: .unconditional, help: "Fraction of sentences permuted (BART-large: 1.0).") var permuteSentenceRatio = 1.0
  @Option(parsing: .unconditional, help: "Probability of rotating a document (document rotation; 0).") var rotateRatio = 0.0
  @Option(parsing: .unconditional, help: "Fraction of tokens corrupted by span corruption (T5: 0.15).") var noiseDensity = 0.15
  @Option(parsing: .unconditional, help: "Mean corrupted span length (T5: 3).") var meanNoiseSpanLength = 3.0
  @Option(parsing: .unconditional, help: "Fraction of examples held out for evaluation (0 = none).") var validationSplit = 0.05
  @Option(
    parsing: .unconditional,
    help: "Denoising: after training, reconstruct this many held-out corrupted examples greedily and report token accuracy (reconstruction.json).")
  var reconstructionExamples = 0
  @OptionGroup var training: TrainingFlags
  @OptionGroup var adapter: PeftFlags

  static let defaults: TrainingArguments = {
    var a = TrainingArguments(outputDir: "")
    a.learningRate = 1e-4
    a.loggingSteps = 50
    a.evalStrategy = .epoch
    return a
  }()

  func validate() throws {
    if data.isEmpty { throw ValidationError("--data needs at least one file") }
    if tokenizer == nil && training.model == nil { throw ValidationError("pass --tokenizer DIR (or --model DIR to continue training)") }
    if config != nil && preset != nil { throw ValidationError("--config and --preset contradict each other: pick one") }
    if training.model != nil && (config != nil || preset != nil) {
      throw ValidationError("--model loads the model's own config.json: drop --config / --preset")
    }
    if let preset, Seq2SeqPresets.fields(preset) == nil {
      throw ValidationError("--preset must be one of \(Seq2SeqPresets.names.joined(separator: ", ")), got '\(preset)'")
    }
    if BartDenoising.MaskLength(rawValue: maskLength) == nil {
      throw ValidationError("--mask-length must be span-poisson, subword or word, got '\(maskLength)'")
    }
    for (flag, v) in [
      ("--mask-ratio", maskRatio), ("--random-ratio", randomRatio), ("--delete-ratio", deleteRatio),
      ("--permute-sentence-ratio", permuteSentenceRatio), ("--rotate-ratio", rotateRatio),
    ] where !(0...1).contains(v) {
      throw ValidationError("\(flag) must be in [0, 1], got \(v)")
    }
    if !(poissonLambda > 0 && poissonLambda <= 100) { throw ValidationError("--poisson-lambda must be in (0, 100], got \(poissonLambda)") }
    if !(noiseDensity > 0 && noiseDensity < 1) { throw ValidationError("--noise-density must be in (0, 1), got \(noiseDensity)") }
    if !(meanNoiseSpanLength >= 1) { throw ValidationError("--mean-noise-span-length must be ≥ 1, got \(meanNoiseSpanLength)") }
    if maxSourceLength < 4 { throw ValidationError("--max-source-length must be at least 4, got \(maxSourceLength)") }
    if maxTargetLength < 2 { throw ValidationError("--max-target-length must be at least 2, got \(maxTargetLength)") }
    if !(0..<1).contains(validationSplit) { throw ValidationError("--validation-split must be in [0, 1), got \(validationSplit)") }
    if reconstructionExamples < 0 { throw ValidationError("--reconstruction-examples must be ≥ 0, got \(reconstructionExamples)") }
    if reconstructionExamples > 0 && objective != .denoising {
      throw ValidationError("--reconstruction-examples measures denoising: use it with --objective denoising")
    }
    try training.validate(defaults: Self.defaults)
    try adapter.validate()
    try adapter.requirePretrained(training.model != nil, command: "loom train seq2seq")
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    var args = try training.arguments(defaults: Self.defaults)
    let device = try training.useDevice()
    let tokSource = tokenizer ?? training.model!
    let tok: Tokenizer
    do { tok = try Tokenizer.fromPretrained(tokSource) } catch {
      throw LoomError("--tokenizer \(tokSource): cannot load a tokenizer (\(error))")
    }
    manualSeed(args.seed)
    let model = try Seq2SeqModels.build(
      directory: training.model, modelType: modelType, config: config, preset: preset, tokenizer: tok)
    _ = model.to(device: device)
    let prompted = try PromptTuningRun.wrapSeq2Seq(
      adapter, base: model, baseDirectory: training.model, tokenizer: tokSource,
      encode: { try tok.encode($0).ids.map(Int.init) })
    let peft =
      prompted != nil
      ? nil : try training.model.flatMap { try PeftTraining.apply(adapter, to: model, task: .seq2SeqLM, base: $0) }
    // What trains: the prompt-tuned wrapper (only its prompt) or the model (LoRA-wrapped in place).
    let trained: Module & Seq2SeqLanguageModel = prompted ?? model
    try EncoderPipelineParts.checkVocabulary(
      tokenizerSize: tok.vocabSize, modelSize: model.vocabularySize, modelName: training.model ?? "the model config")
    // Prompt tuning's virtual tokens take the first encoder positions.
    let maxSource = min(maxSourceLength, model.maxPositions - (prompted?.numVirtualTokens ?? 0))
    let maxTarget = min(maxTargetLength, model.maxPositions)
    let pad = try Seq2SeqExamples.padId(tok, tokSource)
    let prepared = try Seq2SeqExamples(command: self, tokenizer: tok, tokenizerSource: tokSource)
    let (examples, noise) = try prepared.make(maxSource: maxSource, maxTarget: maxTarget)
    if let longest = examples.compactMap({ $0["labels"]?.count }).max(), longest > model.maxPositions {
      throw LoomError("a target has \(longest) tokens, more than the model's \(model.maxPositions) positions; lower --max-target-length")
    }
    // A held-out share, chosen by a seeded shuffle.
    var order = Array(examples.indices)
    let shuffle = Generator(seed: args.seed)
    for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, shuffle.nextInt(below: i + 1)) }
    let nEval = validationSplit == 0 || examples.count < 4 ? 0 : max(1, Int(Double(examples.count) * validationSplit))
    let collator = DataCollatorForSeq2Seq(padTokenId: pad, decoderStartTokenId: model.decoderStartTokenId)
    let trainSet = try Seq2SeqDataset(
      examples: order[nEval...].map { examples[$0] }, noise: noise, collator: collator, seed: args.seed,
      maxSourceLength: maxSource)
    let evalSet =
      nEval == 0
      ? nil
      : try Seq2SeqDataset(
        examples: order[..<nEval].map { examples[$0] }, noise: noise, collator: collator, seed: args.seed &+ 1,
        maxSourceLength: maxSource)
    if evalSet == nil {
      args.evalStrategy = .no
      args.loadBestModelAtEnd = false
    }
    print(
      "loom train seq2seq: \(type(of: model)), \(model.parameterCount()) parameters, vocabulary \(model.vocabularySize), objective \(objective.rawValue)"
    )
    print("data: \(examples.count) examples → \(trainSet.count) training and \(evalSet?.count ?? 0) evaluation")
    let trainer = Trainer(
      model: trained, args: args, trainDataset: trainSet, evalDataset: evalSet,
      lossAndLogits: { b in
        do {
          let out = try trained.seq2seqForward(
            inputIds: b.inputs, attentionMask: b.attentionMask, decoderInputIds: b.decoderInputIds,
            decoderAttentionMask: b.decoderAttentionMask, labels: b.labels)
          return (LossOutput(loss: out.loss, parts: out.parts), out.logits)
        } catch {
          preconditionFailure("loom train seq2seq: \(error)")
        }
      },
      saveModel: { m, dir in
        if let prompted {
          // The whole wrapped state (what resuming restores) and the adapter in PEFT's layout.
          try SafeTensors.save(prompted.stateDict(), to: dir + "/model.safetensors")
          try prompted.saveAdapter(to: dir)
        } else if let peft {
          try peft.saveCheckpoint(dir)
        } else {
          try m.savePretrained(to: dir)
        }
        try tok.savePretrained(dir)
      })
    trainer.isLanguageModel = true
    let state = try trainer.train()
    guard trainer.isWorldProcessZero() else { return }  // data parallel: rank 0 writes the results
    if let prompted {
      try prompted.saveAdapter(to: args.outputDir)
    } else if let peft {
      try peft.saveFinal(args.outputDir)
    } else {
      try model.savePretrained(to: args.outputDir)
    }
    try tok.savePretrained(args.outputDir)
    if let plot = try LossPlot.write(history: state.logHistory, to: args.outputDir + "/loss.png") {
      print("loss plot: \(plot)")
    }
    print("model saved to \(args.outputDir)")
    if reconstructionExamples > 0, let evalSet {
      let r = try Seq2SeqReconstruction.measure(
        model: trained, dataset: evalSet, count: reconstructionExamples, tokenizer: tok, padId: pad)
      try r.write(to: args.outputDir + "/reconstruction.json")
      print(r.summary)
    }
  }
}
