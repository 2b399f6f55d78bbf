import ArgumentParser
import Foundation
import LoomIO
import LoomTokenizers

/// `loom tokenizer train|encode|decode`.
struct TokenizerCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tokenizer",
    abstract:
      "Train byte-level BPE tokenizers, encode and decode text (files interchangeable with Hugging Face's).",
    subcommands: [
      TokenizerTrain.self, TokenizerEncode.self, TokenizerDecode.self, TokenizerSave.self,
    ])
}

/// A file or data error: printed as "Error: …" with exit status 1, without the usage text that
/// ArgumentParser adds to flag errors (the flags were fine).
private struct TokenizerCommandFailure: Error, CustomStringConvertible {
  let description: String
}

private func fail(_ e: Error) -> Error { TokenizerCommandFailure(description: "\(e)") }

private func warn(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

struct TokenizerTrain: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract:
      "Train a byte-level BPE tokenizer (as HF ByteLevelBPETokenizer.train) or a Unigram one (HF UnigramTrainer, Metaspace pre-tokenizer)."
  )

  @Option(name: .long, parsing: .upToNextOption, help: "Text files to train on.")
  var files: [String]
  @Option(name: .long, help: "Target vocabulary size.") var vocabSize = 30000
  @Option(name: .long, help: "Minimum pair frequency for a merge.") var minFrequency = 2
  @Option(
    name: .long, help: "Comma-separated special tokens, e.g. \"<s>,<pad>,</s>,<unk>,<mask>\".")
  var specialTokens = ""
  @Option(name: .long, help: "Keep at most this many initial characters.") var limitAlphabet: Int?
  @Option(name: .long, help: "Directory for vocab.json, merges.txt and tokenizer.json.") var output:
    String
  @Option(
    name: .long,
    help:
      "roberta: also write tokenizer_config.json + special_tokens_map.json and a RobertaProcessing tokenizer.json (AutoTokenizer loads it as RobertaTokenizer); needs --special-tokens with <s>,<pad>,</s>,<unk>,<mask>."
  )
  var modelType: String?
  @Option(name: .long, help: "model_max_length written for --model-type roberta.")
  var modelMaxLength = 512
  @Flag(name: .long, help: "No progress bars.") var quiet = false
  @Option(name: .long, help: "bpe (byte-level BPE) or unigram (SentencePiece-style, as T5).")
  var model = "bpe"
  @Option(name: .long, help: "unigram: the unknown token (added first unless in --special-tokens).")
  var unkToken: String?
  @Option(name: .long, help: "unigram: longest piece, in characters.") var maxPieceLength = 16
  @Option(name: .long, help: "unigram: share of pieces kept by each pruning round.")
  var shrinkingFactor = 0.75
  @Option(name: .long, help: "unigram: EM iterations between prunings.") var nSubIterations = 2

  func validate() throws {
    if files.isEmpty { throw ValidationError("--files: give at least one text file") }
    guard model == "bpe" || model == "unigram" else {
      throw ValidationError("--model: unknown model \"\(model)\" (supported: bpe, unigram)")
    }
    if model == "unigram" {
      if modelType != nil {
        throw ValidationError("--model-type roberta needs --model bpe (RoBERTa is byte-level BPE)")
      }
      if maxPieceLength < 1 {
        throw ValidationError("--max-piece-length must be ≥ 1, got \(maxPieceLength)")
      }
      if !(shrinkingFactor > 0 && shrinkingFactor < 1) {
        throw ValidationError("--shrinking-factor must be in (0, 1), got \(shrinkingFactor)")
      }
      if nSubIterations < 1 {
        throw ValidationError("--n-sub-iterations must be ≥ 1, got \(nSubIterations)")
      }
    }
    if vocabSize < 0 { throw ValidationError("--vocab-size must be ≥ 0, got \(vocabSize)") }
    if minFrequency < 0 {
      throw ValidationError("--min-frequency must be ≥ 0, got \(minFrequency)")
    }
    if let l = limitAlphabet, l < 0 {
      throw ValidationError("--limit-alphabet must be ≥ 0, got \(l)")
    }
    if modelMaxLength < 1 {
      throw ValidationError("--model-max-length must be ≥ 1, got \(modelMaxLength)")
    }
    if let m = modelType {
      guard m == "roberta" else {
        throw ValidationError("--model-type: unknown type \"\(m)\" (supported: roberta)")
      }
      let given = Set(specialTokens.split(separator: ",").map(String.init))
      let need = SpecialTokens.roberta.all.filter { !given.contains($0) }
      if !need.isEmpty {
        throw ValidationError(
          "--model-type roberta: --special-tokens lacks \(need.joined(separator: ", ")); use --special-tokens \"<s>,<pad>,</s>,<unk>,<mask>\""
        )
      }
    }
  }

  func run() throws {
    if model == "unigram" { return try runUnigram() }
    var trainer = BPETrainer(
      vocabSize: vocabSize, minFrequency: minFrequency,
      specialTokens: specialTokens.split(separator: ",").map { String($0) }, showProgress: !quiet)
    trainer.limitAlphabet = limitAlphabet
    do {
      let t0 = Date()
      let r = try trainer.train(files: files)
      try r.saveModel(to: output)
      let tok = try r.tokenizer()
      if modelType == "roberta" {
        try tok.makeRoberta(modelMaxLength: modelMaxLength)
        try tok.savePretrained(output)
      } else {
        try tok.save(output + "/tokenizer.json")
      }
      if r.invalidUTF8Lines > 0 {
        warn(
          "warning: \(r.invalidUTF8Lines) line(s) held invalid UTF-8; their bytes were used as they are"
        )
      }
      warn(
        String(
          format: "trained %d tokens (%d merges) in %.2fs -> %@", r.vocab.count, r.merges.count,
          Date().timeIntervalSince(t0), output))
    } catch { throw fail(error) }
  }
}

extension TokenizerTrain {
  /// `--model unigram`: HF's UnigramTrainer over Metaspace words; writes tokenizer.json.
  func runUnigram() throws {
    var trainer = UnigramTrainer(
      vocabSize: vocabSize, specialTokens: specialTokens.split(separator: ",").map { String($0) },
      unkToken: unkToken, showProgress: !quiet)
    trainer.maxPieceLength = maxPieceLength
    trainer.shrinkingFactor = shrinkingFactor
    trainer.nSubIterations = nSubIterations
    do {
      let t0 = Date()
      let words = try UnigramTrainer.metaspaceWords(files: files)
      if words.isEmpty { throw TokenizerError.emptyCorpus(files) }
      let u = try trainer.train(words: words)
      let tok = Tokenizer(model: .unigram(u))
      tok.preTokenizer = .metaspace(Metaspace())
      tok.decoder = .metaspace(Metaspace())
      tok.addSpecialTokens(trainer.specialTokens)
      try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
      try tok.save(output + "/tokenizer.json")
      warn(
        String(
          format: "trained %d Unigram pieces from %d distinct words in %.2fs -> %@", u.vocabSize,
          words.count, Date().timeIntervalSince(t0), output))
    } catch { throw fail(error) }
  }
}

struct TokenizerEncode: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "encode",
    abstract: "Encode text: ids separated by spaces, one line per input line.")

  @Option(
    name: .long,
    help:
      "tokenizer.json, a directory with tokenizer.json, vocab.json + merges.txt or encoder.json + vocab.bpe, or gpt2."
  )
  var tokenizer: String
  @Option(name: .long, help: "Text to encode.") var text: String?
  @Option(name: .long, help: "File to encode, line by line.") var file: String?
  @Option(name: .long, help: "Second sequence of a pair.") var pair: String?
  @Option(name: .long, help: "Truncate to this many tokens.") var maxLength: Int?
  @Option(name: .long, help: "Overlap of the overflowing windows (with --max-length).") var stride =
    0
  @Flag(name: .long, help: "One JSON object per line (ids, tokens, offsets, masks).") var json =
    false
  @Flag(name: .long, help: "Do not add the post-processor's special tokens.") var noSpecialTokens =
    false

  func validate() throws {
    if (text == nil) == (file == nil) {
      throw ValidationError("give exactly one of --text or --file")
    }
    if let m = maxLength, m < 0 { throw ValidationError("--max-length must be ≥ 0, got \(m)") }
    if stride < 0 { throw ValidationError("--stride must be ≥ 0, got \(stride)") }
    if stride > 0 && maxLength == nil { throw ValidationError("--stride needs --max-length") }
  }

  func run() throws {
    do {
      let tok = try Tokenizer.load(nameOrPath: tokenizer)
      if let m = maxLength { tok.truncation = Truncation(maxLength: m, stride: stride) }
      // Lines as bytes, so invalid UTF-8 can still go through byte-level BPE.
      var lines: [[UInt8]]
      if let f = file {
        // Any size of text: the lines are encoded as they come.
        let data = try FileInput.read(f, limit: Int.max)
        lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        if lines.last?.isEmpty == true { lines.removeLast() }
      } else {
        lines = text!.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map {
          Array($0)
        }
      }
      var invalid = 0
      var out = ""
      for line in lines {
        // Not through a C string: a NUL byte is text like any other.
        let decoded = String(decoding: line, as: UTF8.self)
        guard decoded.utf8.elementsEqual(line) else {
          invalid += 1
          var ids = [UInt32]()
          line.withUnsafeBufferPointer { tok.encodeIds(bytes: $0, into: &ids) }
          out +=
            json
            ? "{\"ids\":[\(ids.map(String.init).joined(separator: ","))]}\n"
            : ids.map(String.init).joined(separator: " ") + "\n"
          continue
        }
        let e = try tok.encode(decoded, pair: pair, addSpecialTokens: !noSpecialTokens)
        out += json ? encodingJSON(e) + "\n" : e.ids.map(String.init).joined(separator: " ") + "\n"
      }
      FileHandle.standardOutput.write(Data(out.utf8))
      if invalid > 0 {
        warn("warning: \(invalid) line(s) held invalid UTF-8; encoded as raw bytes")
      }
    } catch let e as ValidationError { throw e } catch { throw fail(error) }
  }

  private func encodingJSON(_ e: Encoding) -> String {
    let obj: [String: Any] = [
      "ids": e.ids, "tokens": e.tokens,
      "offsets": e.offsets.map { [$0.lowerBound, $0.upperBound] },
      "type_ids": e.typeIds, "attention_mask": e.attentionMask,
      "special_tokens_mask": e.specialTokensMask,
      "overflowing": e.overflowing.map { $0.ids },
      "word_ids": e.wordIds.map { $0.map { $0 as Any } ?? NSNull() },
    ]
    guard
      let d = try? JSONSerialization.data(
        withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
    else { return "{}" }
    return String(decoding: d, as: UTF8.self)
  }
}

struct TokenizerDecode: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "decode",
    abstract: "Decode ids (space or comma separated, one sequence a line) back to text.")

  @Option(
    name: .long,
    help:
      "tokenizer.json, a directory with tokenizer.json, vocab.json + merges.txt or encoder.json + vocab.bpe, or gpt2."
  )
  var tokenizer: String
  @Option(name: .long, help: "Ids to decode, e.g. \"15496 995\".") var ids: String?
  @Option(name: .long, help: "File of ids, one sequence a line.") var file: String?
  @Flag(name: .long, help: "Keep special tokens in the output.") var keepSpecialTokens = false

  func validate() throws {
    if (ids == nil) == (file == nil) {
      throw ValidationError("give exactly one of --ids or --file")
    }
  }

  func run() throws {
    do {
      let tok = try Tokenizer.load(nameOrPath: tokenizer)
      let text: String
      if let f = file {
        guard let decoded = String(data: try FileInput.read(f), encoding: .utf8) else {
          throw TokenizerCommandFailure(description: "\(f): not UTF-8 text (expected token ids, one sequence per line)")
        }
        text = decoded
      } else {
        text = ids!
      }
      var seqs = [[UInt32]]()
      var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
      // A blank line is an empty sequence (it decodes to a blank line); only the newline that
      // ends the file does not start another one.
      if lines.count > 1, lines.last?.isEmpty == true { lines.removeLast() }
      for (n, line) in lines.enumerated() {
        var seq = [UInt32]()
        for f in line.split(whereSeparator: {
          $0 == " " || $0 == "," || $0 == "\t" || $0 == "[" || $0 == "]"
        }) {
          guard let v = UInt32(f) else {
            throw ValidationError("\(file ?? "--ids"): line \(n + 1): \"\(f)\" is not a token id")
          }
          seq.append(v)
        }
        seqs.append(seq)
      }
      for s in tok.decodeBatch(seqs, skipSpecialTokens: !keepSpecialTokens) { print(s) }
    } catch let e as ValidationError { throw e } catch { throw fail(error) }
  }
}

struct TokenizerSave: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "save",
    abstract:
      "Write a tokenizer as a directory HF's AutoTokenizer loads (tokenizer.json, tokenizer_config.json, special_tokens_map.json), e.g. from BERT's vocab.txt or RoBERTa's vocab.json + merges.txt."
  )

  @Option(
    name: .long,
    help:
      "A tokenizer directory (with tokenizer_config.json, tokenizer.json, vocab files) or tokenizer.json."
  )
  var tokenizer: String
  @Option(name: .long, help: "Output directory.") var output: String
  @Option(name: .long, help: "model_max_length to record (default: the source's).")
  var modelMaxLength: Int?

  func validate() throws {
    if let m = modelMaxLength, m < 1 {
      throw ValidationError("--model-max-length must be ≥ 1, got \(m)")
    }
  }

  func run() throws {
    do {
      let tok = try Tokenizer.fromPretrained(tokenizer)
      if let m = modelMaxLength { tok.modelMaxLength = m }
      try tok.savePretrained(output)
      warn("saved \(tok.resolvedTokenizerClass) (\(tok.vocabSize) tokens) -> \(output)")
    } catch { throw fail(error) }
  }
}
