import Foundation
import LoomCore
import LoomGenerate
import LoomModels

/// The cage refused: what failed, after how many attempts, and the last check.
public struct CageRefusal: Error, CustomStringConvertible, Sendable {
  public var description: String
  public var attempts: Int
  public var lastCheck: CageCheck?
}

/// What a caged generation released: the checked continuation (nil when a `refrain` policy released nothing), the
/// prompt the model saw first (after the input validators' fixes), and every check made.
public struct CagedOutput: Sendable {
  public var text: String?
  public var prompt: String
  public var attempts: Int
  public var checks: [CageCheck]
}

extension Generation {
  /// Text generation inside `cage`: the prompt passes the input validators, then each candidate the output validators;
  /// the result is the first candidate that passes (after fixes and filters), an error, or nothing (`refrain`) —
  /// never an unchecked candidate. Regeneration uses seed `seed + attempt − 1` (a random base seed when the config
  /// has none) and, with `append_findings_to_prompt`, the findings after the prompt. With `onText`, text streams in
  /// chunks of `cage.streamChunkTokens` tokens, each emitted only after the text so far passed (generation stops at
  /// the first failing chunk); when an output validator cannot check partial text (`stream: false`) nothing streams
  /// before the whole text passed. `config` is complete (eos, pad, suppressed tokens set as the caller wants).
  /// `checkedInput` is `checkPrompt`'s result when the caller already ran the input validators on the raw prompt
  /// (the CLI does, before it loads and tokenizes anything); it must have been released.
  public static func generate(
    _ model: any CausalLanguageModel, prompt: String, codec: TextCodec, config: GenerationConfig, cage: SafetyCage,
    audit: AuditLog? = nil, modelName: String = "model", checkedInput: CageCheck? = nil,
    onText: ((String) -> Void)? = nil
  ) throws -> CagedOutput {
    var checks: [CageCheck] = []
    let input: CageCheck
    if let checkedInput {
      input = checkedInput
      checks.append(input)
    } else {
      input = try checkPrompt(prompt, cage: cage, audit: audit, modelName: modelName)
      checks.append(input)
    }
    switch input.decision {
    case .release: break
    case .refrain: return CagedOutput(text: nil, prompt: prompt, attempts: 0, checks: checks)
    case .refuse, .regenerate:
      throw CageRefusal(description: "the cage refused the prompt:\n\(input.summary)", attempts: 0, lastCheck: input)
    }
    let checkedPrompt = input.text
    let baseSeed = config.seed ?? UInt64.random(in: 0...(UInt64.max / 2))
    var modelPrompt = checkedPrompt
    var attempt = 0
    while true {
      attempt += 1
      var c = config
      c.seed = baseSeed &+ UInt64(attempt - 1)
      let ids = try codec.encodePrompt(modelPrompt)
      guard !ids.isEmpty else { throw LoomError("caged generation: the prompt encodes to no tokens") }
      let streams = onText != nil && c.numBeams == 1 && c.numReturnSequences == 1
      let candidates: [(text: String, early: CageCheck?, emitted: String)]
      if streams {
        candidates = [try streamCandidate(model, ids: ids, codec: codec, config: c, cage: cage, onText: onText!)]
      } else {
        candidates = try generate(model, prompts: [ids], config: c).map {
          (codec.decode(continuation($0, promptLength: ids.count, eosTokenIds: c.eosTokenIds)), nil, "")
        }
      }
      var decisions: [CageCheck] = []
      for candidate in candidates {
        let check = candidate.early ?? cage.check(candidate.text, stage: .output)
        checks.append(check)
        try audit?.record(
          check, model: modelName, prompt: prompt, stage: candidate.early == nil ? .output : .stream, attempt: attempt)
        if check.released {
          if let onText, streams {
            guard check.text.hasPrefix(candidate.emitted) else {
              throw CageRefusal(
                description: "a fix changed text that was already streamed; the rest is withheld:\n\(check.summary)",
                attempts: attempt, lastCheck: check)
            }
            let rest = String(check.text.dropFirst(candidate.emitted.count))
            if !rest.isEmpty { onText(rest) }
          }
          return CagedOutput(text: check.text, prompt: checkedPrompt, attempts: attempt, checks: checks)
        }
        if !candidate.emitted.isEmpty && check.decision == .regenerate {
          throw CageRefusal(
            description:
              "streaming stopped at the first failing chunk (\(candidate.emitted.count) characters were already streamed, so it is not regenerated):\n\(check.summary)",
            attempts: attempt, lastCheck: check)
        }
        decisions.append(check)
      }
      if let refused = decisions.first(where: { $0.decision == .refuse }) {
        throw CageRefusal(
          description: "the cage refused candidate \(attempt):\n\(refused.summary)", attempts: attempt, lastCheck: refused)
      }
      if decisions.contains(where: { $0.decision == .refrain }) {
        return CagedOutput(text: nil, prompt: checkedPrompt, attempts: attempt, checks: checks)
      }
      // Every candidate asked to regenerate.
      let last = decisions.last!
      let entry = last.decidingEntry!
      if attempt >= entry.maxAttempts {
        throw CageRefusal(
          description:
            "no candidate passed the cage in \(attempt) attempt(s) (max_attempts \(entry.maxAttempts) of '\(entry.validator.name)'); last findings:\n\(last.summary)",
          attempts: attempt, lastCheck: last)
      }
      if !c.doSample && !entry.appendFindingsToPrompt {
        throw CageRefusal(
          description:
            "the candidate failed the cage and greedy decoding would generate it again; sample (do_sample, --do-sample) or set append_findings_to_prompt:\n\(last.summary)",
          attempts: attempt, lastCheck: last)
      }
      if entry.appendFindingsToPrompt {
        modelPrompt =
          checkedPrompt + "\n(The previous answer was rejected: "
          + last.findings.map(\.message).joined(separator: "; ") + ". Answer again without these problems.)\n"
      }
    }
  }

  /// The input validators on the raw prompt text, recorded in the audit log; runs before any tokenization, so a
  /// prompt the tokenizer cannot encode (or that is too long for the model) still gets the cage's verdict.
  /// A refusal throws `CageRefusal`; a `refrain` decision is returned for the caller to release nothing.
  public static func checkPrompt(_ prompt: String, cage: SafetyCage, audit: AuditLog? = nil, modelName: String = "model")
    throws -> CageCheck
  {
    let input = cage.check(prompt, stage: .input)
    try audit?.record(input, model: modelName, prompt: prompt, stage: .input, attempt: 0)
    switch input.decision {
    case .release, .refrain: return input
    case .refuse, .regenerate:
      throw CageRefusal(description: "the cage refused the prompt:\n\(input.summary)", attempts: 0, lastCheck: input)
    }
  }

  /// One streamed candidate: generates `streamChunkTokens` tokens at a time, checks the text so far with the output
  /// validators after each chunk and emits the new text only when it passed. Returns the whole text and, when a
  /// chunk failed, that chunk's check (generation stopped there).
  static func streamCandidate(
    _ model: any CausalLanguageModel, ids: [Int], codec: TextCodec, config: GenerationConfig, cage: SafetyCage,
    onText: (String) -> Void
  ) throws -> (text: String, early: CageCheck?, emitted: String) {
    let total = config.maxNewTokens ?? max(0, (config.maxLength ?? ids.count + 20) - ids.count)
    let chunked = cage.output.allSatisfy(\.checksStreams)
    var generated: [Int] = []
    var emitted = ""
    var chunk = 0
    while generated.count < total {
      var c = config
      c.maxLength = nil
      c.maxNewTokens = min(cage.streamChunkTokens, total - generated.count)
      c.minNewTokens = max(0, config.minNewTokens - generated.count)
      c.seed = config.seed.map { $0 &+ UInt64(chunk) &* 0x9E37_79B9 }
      chunk += 1
      let out = try generate(model, prompts: [ids + generated], config: c)[0]
      let new = continuation(out, promptLength: ids.count + generated.count, eosTokenIds: c.eosTokenIds)
      generated += new
      let ended = new.count < c.maxNewTokens!
      let text = codec.decode(generated)
      if ended { return (text, nil, emitted) }
      guard chunked else { continue }
      let check = cage.check(text, stage: .stream)
      guard check.released, check.text == text else {
        // A fix or filter cannot change text mid-stream: the chunk fails.
        let failed = check.released ? CageCheck(text: text, verdicts: check.verdicts, decision: .refuse) : check
        return (text, failed, emitted)
      }
      onText(String(text.dropFirst(emitted.count)))
      emitted = text
    }
    return (codec.decode(generated), nil, emitted)
  }
}

extension CageEntry {
  /// Whether the validator can judge a prefix of the text (JSON validity and minimum lengths cannot).
  public var checksStreams: Bool { stream ?? !["json", "length"].contains(validator.name) }
}

extension TextGenerationPipeline {
  /// The text-generation pipeline inside `cage`: prompt + the released continuation, or nil when the cage refrained;
  /// a refusal throws `CageRefusal`.
  public func callAsFunction(
    _ prompt: String, config: GenerationConfig = GenerationConfig(), cage: SafetyCage, audit: AuditLog? = nil,
    modelName: String = "model"
  ) throws -> String? {
    model.eval()
    var c = config
    if c.eosTokenIds.isEmpty {
      let eos = model.config.eosTokenIds.isEmpty ? (codec.eosTokenId.map { [$0] } ?? []) : model.config.eosTokenIds
      c.eosTokenIds = eos.filter { $0 < model.config.vocabSize }
    }
    c.suppressTokens += codec.unusedIds(modelVocabSize: model.config.vocabSize)
    let out = try Generation.generate(model, prompt: prompt, codec: codec, config: c, cage: cage, audit: audit, modelName: modelName)
    return out.text.map { out.prompt + $0 }
  }
}
