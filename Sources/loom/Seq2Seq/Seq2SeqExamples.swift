import Foundation
import LoomCore
import LoomDatasets
import LoomTokenizers
import LoomTrain

/// The examples and noise of each `loom train seq2seq` objective, from the --data files.
struct Seq2SeqExamples {
  let command: TrainSeq2SeqCommand
  let tokenizer: Tokenizer
  let tokenizerSource: String

  init(command: TrainSeq2SeqCommand, tokenizer: Tokenizer, tokenizerSource: String) throws {
    self.command = command
    self.tokenizer = tokenizer
    self.tokenizerSource = tokenizerSource
  }

  static func padId(_ tok: Tokenizer, _ source: String) throws -> Int {
    guard let pad = tok.padTokenId else {
      throw LoomError("--tokenizer \(source) has no padding token (<pad>); batches of different lengths need one")
    }
    return Int(pad)
  }

  func special(_ id: UInt32?, _ name: String, _ why: String) throws -> Int {
    guard let id else { throw LoomError("--tokenizer \(tokenizerSource) has no \(name) token; \(why)") }
    return Int(id)
  }

  /// Examples (`input_ids`, plus `labels` for pairs) and the noise that makes sources of them.
  func make(maxSource: Int, maxTarget: Int) throws -> ([Features], (any Seq2SeqNoise)?) {
    switch command.objective {
    case .pairs: return (try pairs(maxSource: maxSource, maxTarget: maxTarget), nil)
    case .denoising: return try denoising(maxSource: maxSource)
    case .spanCorruption: return try spanCorruption(maxSource: maxSource)
    }
  }

  func lines() throws -> [String] {
    var out = [String]()
    for path in command.data {
      let d: Dataset
      do { d = try Dataset.loadText(path, skipEmpty: true) } catch { throw LoomError("--data \(path): \(error)") }
      out += try d.strings("text").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }
    guard !out.isEmpty else { throw LoomError("the --data files contain no text") }
    return out
  }

  /// fairseq's complete-sentence blocks: whole lines (each ending in its newline) packed into
  /// `<s> … </s>` of at most `maxSource` tokens; a longer line is cut.
  func denoising(maxSource: Int) throws -> ([Features], (any Seq2SeqNoise)?) {
    let why = "BART's denoising frames each example as <s> … </s>"
    let bos = try special(tokenizer.bosTokenId, "<s> (bos)", why)
    let eos = try special(tokenizer.eosTokenId, "</s> (eos)", why)
    let mask = try special(
      tokenizer.maskTokenId, "<mask>", "denoising replaces masked spans with it (add one, as BART's tokenizer has)")
    let encoded = try tokenizer(try lines().map { $0 + "\n" }, addSpecialTokens: false).encodings
    let budget = maxSource - 2
    var blocks = [[Int]](), block = [Int]()
    for e in encoded {
      let ids = e.ids.prefix(budget).map(Int.init)
      if block.count + ids.count > budget, !block.isEmpty {
        blocks.append(block)
        block = []
      }
      block += ids
    }
    if !block.isEmpty { blocks.append(block) }
    // A sentence ends at ".", "!" or "?" (fairseq: GPT-2's "." only).
    let stops = Set(
      try [".", "!", "?"].compactMap { s -> Int? in
        let ids = try tokenizer.encode(s, addSpecialTokens: false).ids
        return ids.count == 1 ? Int(ids[0]) : nil
      })
    let continuation = try CollatorIds(tokenizer).continuationTokenIds
    let noise = try BartDenoising(
      maskTokenId: mask, vocabSize: tokenizer.vocabSize, fullStopIds: stops,
      continuationTokenIds: continuation, maskRatio: command.maskRatio, randomRatio: command.randomRatio,
      deleteRatio: command.deleteRatio, permuteSentenceRatio: command.permuteSentenceRatio,
      rotateRatio: command.rotateRatio, poissonLambda: command.poissonLambda,
      maskLength: BartDenoising.MaskLength(rawValue: command.maskLength)!)
    return (blocks.map { ["input_ids": [bos] + $0 + [eos]] }, noise)
  }

  /// run_t5_mlm_flax.py: every line tokenized with its EOS, concatenated, cut into blocks of the
  /// raw length whose corrupted input is `maxSource` tokens.
  func spanCorruption(maxSource: Int) throws -> ([Features], (any Seq2SeqNoise)?) {
    let eos = try special(tokenizer.eosTokenId, "</s> (eos)", "span corruption ends inputs and targets with it")
    let (raw, _) = T5SpanCorruption.inputAndTargetLengths(
      inputsLength: maxSource, noiseDensity: command.noiseDensity, meanNoiseSpanLength: command.meanNoiseSpanLength)
    guard let first = tokenizer.tokenToId("<extra_id_0>") else {
      throw LoomError(
        "--tokenizer \(tokenizerSource) has no sentinel token '<extra_id_0>': span corruption replaces each noise span with <extra_id_0>, <extra_id_1>, … (T5's tokenizers have 100); use a tokenizer with them")
    }
    let noise = try T5SpanCorruption(
      eosTokenId: eos, firstSentinelId: Int(first), noiseDensity: command.noiseDensity,
      meanNoiseSpanLength: command.meanNoiseSpanLength)
    let spans = noise.noiseSpans(length: max(raw, 2)).spans
    for k in 0..<spans where tokenizer.tokenToId("<extra_id_\(k)>").map(Int.init) != Int(first) - k {
      throw LoomError(
        "--tokenizer \(tokenizerSource): sentinel '<extra_id_\(k)>' is missing or not id \(Int(first) - k); span corruption needs \(spans) sentinels counted down from <extra_id_0> (id \(first))")
    }
    var stream = [Int]()
    for e in try tokenizer(try lines(), addSpecialTokens: false).encodings { stream += e.ids.map(Int.init) + [eos] }
    let blocks = stream.count / raw
    guard blocks > 0 else {
      throw LoomError("the --data files hold \(stream.count) tokens, fewer than one block of \(raw); add text or lower --max-source-length")
    }
    return ((0..<blocks).map { ["input_ids": Array(stream[($0 * raw)..<(($0 + 1) * raw)])] }, noise)
  }

  /// run_summarization / run_translation: source and target columns, each tokenized with the
  /// tokenizer's special tokens and truncated.
  func pairs(maxSource: Int, maxTarget: Int) throws -> [Features] {
    var sources = [String](), targets = [String]()
    for path in command.data {
      let d: Dataset
      do { d = try Dataset.load([path]) } catch { throw LoomError("--data \(path): \(error)") }
      for (flag, column) in [("--source-column", command.sourceColumn), ("--target-column", command.targetColumn)]
      where !d.columnNames.contains(column) {
        throw LoomError(
          "--data \(path): no column '\(column)' (\(flag)); the file has \(d.columnNames.joined(separator: ", "))")
      }
      sources += try d.strings(command.sourceColumn)
      targets += try d.strings(command.targetColumn)
    }
    let src = try tokenizer(sources, truncation: .longestFirst, maxLength: maxSource).encodings
    let tgt = try tokenizer(targets, truncation: .longestFirst, maxLength: maxTarget).encodings
    let out = zip(src, tgt).compactMap { s, t -> Features? in
      s.ids.isEmpty || t.ids.isEmpty ? nil : ["input_ids": s.ids.map(Int.init), "labels": t.ids.map(Int.init)]
    }
    guard !out.isEmpty else { throw LoomError("the --data files hold no pair with both a source and a target") }
    return out
  }
}
