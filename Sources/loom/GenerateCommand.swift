import ArgumentParser
import Foundation
import LoomCore
import LoomGenerate
import LoomModels

/// `loom generate`: text from a model directory, like HF's text-generation pipeline
/// (the prompt is included in the output), or for an encoder–decoder model (BART) like its
/// text2text-generation pipeline (the prompt is the encoder input; only the output is printed).
struct GenerateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "generate",
    abstract:
      "Generate text with a trained model (a causal model continues the prompt, printed with it; an encoder–decoder model prints its output for the prompt)."
  )

  @Option(help: "Model directory (config.json, model.safetensors and a tokenizer).") var model: String
  @Option(
    help:
      "Tokenizer instead of the model directory's: tokenizer.json, a directory with tokenizer.json, vocab.json + merges.txt or encoder.json + vocab.bpe, or gpt2 (Loom's GPT-2 files)."
  ) var tokenizer: String?
  @Option(help: "Text to continue.") var prompt: String
  @Option(parsing: .unconditional, help: "Tokens to generate (default 50, unless --max-length is given).")
  var maxNewTokens: Int?
  @Option(
    parsing: .unconditional,
    help: "Total length instead: prompt + new tokens (causal), or decoder tokens with the start token (encoder–decoder).")
  var maxLength: Int?
  @Option(parsing: .unconditional, help: "Minimum tokens before end-of-text is allowed (default 0).")
  var minNewTokens: Int?
  @Flag(help: "Sample instead of choosing the most likely token.") var doSample = false
  @Option(parsing: .unconditional, help: "Sampling temperature (default 1).") var temperature: Double?
  @Option(parsing: .unconditional, help: "Keep the K most likely tokens (0 = all; default 50).") var topK: Int?
  @Option(parsing: .unconditional, help: "Nucleus sampling mass (default 1).") var topP: Double?
  @Option(parsing: .unconditional, help: "Beams for beam search (default 1).") var numBeams: Int?
  @Option(parsing: .unconditional, help: "Beam length penalty (default 1).") var lengthPenalty: Double?
  @Flag(help: "Stop beam search when num_beams hypotheses are finished.") var earlyStopping = false
  @Option(parsing: .unconditional, help: "Block repeated n-grams of this size (default 0, off).") var noRepeatNgramSize: Int?
  @Option(parsing: .unconditional, help: "Penalty for repeating tokens (> 1 discourages; default 1).")
  var repetitionPenalty: Double?
  @Option(parsing: .unconditional, help: "Sequences to return (default 1).") var numReturnSequences: Int?
  @Option(parsing: .unconditional, help: "Random seed for sampling.") var seed: UInt64?
  @Flag(help: "Print tokens as they are generated (one sequence).") var stream = false
  @Flag(help: "Past n_positions, keep generating over the last n_positions − 1 tokens instead of failing.")
  var slidingWindow = false
  @Option(help: "Device to run on: cpu or emulated.") var device = "cpu"

  /// The generation settings from the flags, HF's defaults for those left out (token ids
  /// come from the model in run()).
  var settings: GenerationConfig {
    var g = GenerationConfig()
    // HF: max_new_tokens wins over max_length.
    g.maxNewTokens = maxNewTokens ?? (maxLength == nil ? 50 : nil)
    g.maxLength = maxLength
    g.slidingWindow = slidingWindow
    g.minNewTokens = minNewTokens ?? g.minNewTokens
    g.doSample = doSample
    g.temperature = temperature ?? g.temperature
    g.topK = topK ?? g.topK
    g.topP = topP ?? g.topP
    g.numBeams = numBeams ?? g.numBeams
    g.lengthPenalty = lengthPenalty ?? g.lengthPenalty
    g.earlyStopping = earlyStopping ? .enabled : .heuristic
    g.noRepeatNgramSize = noRepeatNgramSize ?? g.noRepeatNgramSize
    g.repetitionPenalty = repetitionPenalty ?? g.repetitionPenalty
    g.numReturnSequences = numReturnSequences ?? g.numReturnSequences
    g.seed = seed
    return g
  }

  /// The flags over a model directory's generation_config.json, as HF's `generate` takes
  /// its arguments over the model's generation config: a flag left out takes the file's
  /// value, then HF's default. `decoderStart` says whether max_length counts a decoder
  /// start token (min_length then counts it too).
  func settings(over file: GenerationConfigFile?, decoderStart: Bool) -> GenerationConfig {
    var g = settings
    guard let f = file else { return g }
    if maxNewTokens == nil, maxLength == nil, f.maxNewTokens != nil || f.maxLength != nil {
      (g.maxNewTokens, g.maxLength) = (f.maxNewTokens, f.maxNewTokens == nil ? f.maxLength : nil)
    }
    if minNewTokens == nil {
      if let v = f.minNewTokens {
        g.minNewTokens = v
      } else if let v = f.minLength, decoderStart {
        g.minNewTokens = max(v - 1, 0)
      }
    }
    if !doSample, let v = f.doSample { g.doSample = v }
    if temperature == nil, let v = f.temperature { g.temperature = v }
    if topK == nil, let v = f.topK { g.topK = v }
    if topP == nil, let v = f.topP { g.topP = v }
    if numBeams == nil, let v = f.numBeams { g.numBeams = v }
    if lengthPenalty == nil, let v = f.lengthPenalty { g.lengthPenalty = v }
    if !earlyStopping, let v = f.earlyStopping { g.earlyStopping = v }
    if noRepeatNgramSize == nil, let v = f.noRepeatNgramSize { g.noRepeatNgramSize = v }
    if repetitionPenalty == nil, let v = f.repetitionPenalty { g.repetitionPenalty = v }
    if numReturnSequences == nil, let v = f.numReturnSequences { g.numReturnSequences = v }
    return g
  }

  /// Every flag, checked before the model is read, in the flags' spelling.
  func validate() throws {
    if prompt.isEmpty { throw ValidationError("--prompt must not be empty") }
    do {
      try settings.validate { "--" + $0.replacingOccurrences(of: "_", with: "-") }
    } catch let e as LoomError {
      throw ValidationError(e.message)
    }
    do { _ = try Device(parsing: device) } catch { throw ValidationError("--device: \(error)") }
  }

  func run() throws {
    let target = try Device(parsing: device)
    Device.default = target
    try Generation.checkModelType(directory: model, seq2seq: true)
    if Generation.isSeq2Seq(directory: model) { return try runSeq2Seq() }
    let lm = try Generation.loadCausalLanguageModel(from: model)
    lm.to(device: target)
    lm.eval()
    let codec = try TextCodec.load(tokenizer ?? model, modelVocabSize: lm.config.vocabSize)
    let ids = try codec.encode(prompt)
    guard !ids.isEmpty else { throw ValidationError("the prompt encodes to no tokens") }
    if let bad = ids.first(where: { $0 >= lm.config.vocabSize }) {
      throw ValidationError("the tokenizer gives id \(bad), outside the model's vocab_size \(lm.config.vocabSize): is --tokenizer the model's?")
    }
    var g = settings
    // Checked before any work, in the flags' spelling.
    _ = try Generation.checkedMaxLength(
      promptLength: ids.count, config: g, maxPositions: lm.config.nPositions,
      newTokensName: maxNewTokens == nil && maxLength != nil ? "--max-length" : "--max-new-tokens",
      slidingWindowName: "--sliding-window")
    if let eos = lm.config.eosTokenId ?? codec.eosTokenId, eos < lm.config.vocabSize { g.eosTokenIds = [eos] }
    g.padTokenId = lm.config.padTokenId ?? g.eosTokenIds.first
    g.suppressTokens = codec.unusedIds(modelVocabSize: lm.config.vocabSize)
    let streaming = stream && g.numBeams == 1 && g.numReturnSequences == 1
    var streamer = StreamPrinter(codec: codec)
    if streaming {
      print(prompt, terminator: "")
      fflush(stdout)
    }
    let outputs = try Generation.generate(lm, prompts: [ids], config: g) { _, token in
      if streaming { streamer.add(token) }
    }
    if streaming {
      streamer.finish()
      return
    }
    for (i, out) in outputs.enumerated() {
      if outputs.count > 1 { print("--- sequence \(i + 1) ---") }
      print(prompt + codec.decode(Generation.continuation(out, promptLength: ids.count, eosTokenIds: g.eosTokenIds)))
    }
  }
}
