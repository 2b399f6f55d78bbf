import ArgumentParser
import Foundation
import LoomTokenizers

/// `loom tokenizer train|encode|decode`.
struct TokenizerCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tokenizer",
    abstract:
      "Train byte-level BPE tokenizers, encode and decode text (files interchangeable with Hugging Face's).",
    subcommands: [TokenizerTrain.self, TokenizerEncode.self, TokenizerDecode.self])
}

private func fail(_ e: Error) -> Error { ValidationError("\(e)") }

private func warn(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }

struct TokenizerTrain: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train a byte-level BPE tokenizer (as HF ByteLevelBPETokenizer.train).")

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
  @Flag(name: .long, help: "No progress bars.") var quiet = false

  func run() throws {
    var trainer = BPETrainer(
      vocabSize: vocabSize, minFrequency: minFrequency,
      specialTokens: specialTokens.split(separator: ",").map { String($0) }, showProgress: !quiet)
    trainer.limitAlphabet = limitAlphabet
    do {
      let t0 = Date()
      let r = try trainer.train(files: files)
      try r.saveModel(to: output)
      try r.tokenizer().save(output + "/tokenizer.json")
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

struct TokenizerEncode: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "encode",
    abstract: "Encode text: ids separated by spaces, one line per input line.")

  @Option(
    name: .long,
    help: "tokenizer.json, a directory with tokenizer.json, vocab.json + merges.txt or encoder.json + vocab.bpe, or gpt2.")
  var tokenizer: String
  @Option(name: .long, help: "Text to encode.") var text: String?
  @Option(name: .long, help: "File to encode, line by line.") var file: String?
  @Option(name: .long, help: "Second sequence of a pair.") var pair: String?
  @Option(name: .long, help: "Truncate to this many tokens.") var maxLength: Int?
  @Flag(name: .long, help: "One JSON object per line (ids, tokens, offsets, masks).") var json =
    false
  @Flag(name: .long, help: "Do not add the post-processor's special tokens.") var noSpecialTokens =
    false

  func validate() throws {
    if (text == nil) == (file == nil) {
      throw ValidationError("give exactly one of --text or --file")
    }
  }

  func run() throws {
    do {
      let tok = try Tokenizer.load(nameOrPath: tokenizer)
      if let m = maxLength { tok.truncation = Truncation(maxLength: m) }
      // Lines as bytes, so invalid UTF-8 can still go through byte-level BPE.
      var lines: [[UInt8]]
      if let f = file {
        guard FileManager.default.fileExists(atPath: f) else { throw TokenizerError.missingFile(f) }
        let data = try Data(contentsOf: URL(fileURLWithPath: f))
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
        guard let s = String(validatingUTF8: line.map { CChar(bitPattern: $0) } + [0]) else {
          invalid += 1
          var ids = [UInt32]()
          line.withUnsafeBufferPointer { tok.encodeIds(bytes: $0, into: &ids) }
          out +=
            json
            ? "{\"ids\":[\(ids.map(String.init).joined(separator: ","))]}\n"
            : ids.map(String.init).joined(separator: " ") + "\n"
          continue
        }
        let e = try tok.encode(s, pair: pair, addSpecialTokens: !noSpecialTokens)
        out += json ? encodingJSON(e) + "\n" : e.ids.map(String.init).joined(separator: " ") + "\n"
      }
      FileHandle.standardOutput.write(out.data(using: .utf8)!)
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
    ]
    let d = try! JSONSerialization.data(
      withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: d, as: UTF8.self)
  }
}

struct TokenizerDecode: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "decode",
    abstract: "Decode ids (space or comma separated, one sequence a line) back to text.")

  @Option(
    name: .long,
    help: "tokenizer.json, a directory with tokenizer.json, vocab.json + merges.txt or encoder.json + vocab.bpe, or gpt2.")
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
        guard FileManager.default.fileExists(atPath: f) else { throw TokenizerError.missingFile(f) }
        text = try String(contentsOfFile: f, encoding: .utf8)
      } else {
        text = ids!
      }
      var seqs = [[UInt32]]()
      for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        if line.isEmpty && n > 0 { continue }
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
