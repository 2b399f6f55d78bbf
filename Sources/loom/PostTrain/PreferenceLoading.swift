import Foundation
import LoomCore
import LoomModels
import LoomPostTrain
import LoomTokenizers
import LoomTrain

/// What `loom train reward` and `loom train dpo` share: trl's defaults, the tokenizer with
/// its eos and padding tokens, and the preference files.
enum PreferenceLoading {
  /// trl's base config over TrainingArguments: logging every 10 steps, `learningRate` (DPO
  /// 1e-6, reward 1e-4).
  static func defaults(learningRate: Double) -> TrainingArguments {
    var a = TrainingArguments(outputDir: "")
    a.learningRate = learningRate
    a.loggingSteps = 10
    return a
  }

  /// The tokenizer of `--tokenizer` or the model directory, the eos text trl appends and the
  /// padding id (the pad token, else eos, as trl chooses).
  static func tokenizer(_ path: String?, model: String, vocabularySize: Int?) throws -> (
    Tokenizer, PreferenceTokenizer, pad: Int
  ) {
    let source = path ?? model
    let tok: Tokenizer
    do { tok = try Tokenizer.fromPretrained(source) } catch {
      throw LoomError("\(source): cannot load a tokenizer (\(error)); pass --tokenizer DIR")
    }
    if let v = vocabularySize, tok.vocabSize > v {
      throw LoomError(
        "the tokenizer in \(source) has \(tok.vocabSize) tokens but the model in \(model) only \(v); use the model's own tokenizer")
    }
    guard let eos = tok.specialTokens.eos, let eosId = tok.eosTokenId else {
      throw LoomError(
        "\(source): the tokenizer has no eos token, which trl appends to every completion; set eos_token in tokenizer_config.json")
    }
    let pre = PreferenceTokenizer(eosToken: eos) { try tok.encode($0).ids.map(Int.init) }
    return (tok, pre, Int(tok.padTokenId ?? eosId))
  }

  /// Rows of a preference file, errors prefixed with the flag.
  static func rows(_ path: String, flag: String, requirePrompt: Bool = true) throws -> [PreferenceRow] {
    do { return try PreferenceData.load(path, requirePrompt: requirePrompt) } catch let e as LoomError {
      throw LoomError("\(flag): \(e.message)")
    }
  }

  /// The metric names and last values of a run, for the closing line.
  static func summary(_ logs: [[String: Double]], _ names: [String]) -> String {
    guard let last = logs.last(where: { $0["loss"] != nil }) else { return "no training logs" }
    return (["loss"] + names).compactMap { n in last[n].map { "\(n) " + String(format: "%.4f", $0) } }
      .joined(separator: ", ")
  }
}
