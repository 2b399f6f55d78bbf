import Foundation

/// Validators around a model: input validators check prompts, output validators check each generated candidate and
/// streamed text at chunk boundaries. Each validator has a policy (`OnFail`), a severity threshold and a time limit;
/// a validator that throws or times out fails the text (fail closed).
public struct SafetyCage: Sendable {
  public var input: [CageEntry]
  public var output: [CageEntry]
  /// Texts larger than this many UTF-8 bytes are not validated: they fail closed.
  public var maxInputBytes: Int
  /// Tokens per chunk when streamed output is checked.
  public var streamChunkTokens: Int

  public static let defaultMaxInputBytes = 16 << 20

  public init(
    input: [CageEntry] = [], output: [CageEntry] = [], maxInputBytes: Int = defaultMaxInputBytes,
    streamChunkTokens: Int = 16
  ) {
    self.input = input
    self.output = output
    self.maxInputBytes = maxInputBytes
    self.streamChunkTokens = streamChunkTokens
  }

  /// Every rule of every validator in the cage, once each.
  public var rules: [RuleDescription] {
    var seen = Set<String>()
    return (input + output).flatMap(\.validator.rules).filter { seen.insert($0.id).inserted }
  }

  /// Runs `stage`'s validators in order on `text`, each on the text the previous ones left (after fixes and filters);
  /// the first that refuses, asks to regenerate or refrains decides and the rest do not run.
  public func check(_ text: String, stage: CageStage) -> CageCheck {
    let entries = stage == .input ? input : output
    var current = text
    var verdicts: [ValidatorVerdict] = []
    for entry in entries {
      let (verdict, next, decision) = apply(entry, to: current, stage: stage)
      verdicts.append(verdict)
      current = next
      if decision != .release {
        return CageCheck(text: text, verdicts: verdicts, decision: decision, decidingEntry: entry)
      }
    }
    return CageCheck(text: current, verdicts: verdicts, decision: .release)
  }

  /// Runs every validator of both stages on `text` and keeps every finding (`loom cage check`); policies are not
  /// applied. A validator that throws or times out becomes a `cage.validator-error` finding (fail closed).
  public func inspect(_ text: String) -> [ValidatorVerdict] {
    (input + output).map { entry in
      let (verdict, _) = validate(entry, text)
      return verdict
    }
  }

  static let validatorError = RuleDescription(
    id: "cage.validator-error", severity: .high,
    summary: "a validator threw, timed out or could not read its input (the text fails closed)")

  /// One validator's verdict and the findings at or above its threshold.
  func validate(_ entry: CageEntry, _ text: String) -> (ValidatorVerdict, [Finding]) {
    let start = DispatchTime.now().uptimeNanoseconds
    let name = entry.validator.name
    func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    func failure(_ result: ValidatorVerdict.Result, _ message: String) -> (ValidatorVerdict, [Finding]) {
      let f = Finding(ruleId: Self.validatorError.id, severity: .high, message: "\(name): \(message)")
      return (
        ValidatorVerdict(
          validator: name, result: result, policy: entry.policy, findings: [f], ignored: 0, error: message,
          seconds: seconds()), [f]
      )
    }
    if text.utf8.count > maxInputBytes {
      return failure(.error, "the text is \(text.utf8.count) bytes, more than max_input_bytes \(maxInputBytes)")
    }
    switch TimedValidation.run(entry.validator, text, timeout: entry.timeout) {
    case .threw(let message):
      return failure(.error, "could not check the text: \(message)")
    case .timedOut(let limit):
      return failure(.timeout, "took longer than its time limit of \(Int(limit * 1000)) ms")
    case .findings(let all):
      let kept = all.filter { $0.severity >= entry.threshold }
      let verdict = ValidatorVerdict(
        validator: name, result: kept.isEmpty ? .pass : .fail, policy: entry.policy, findings: kept,
        ignored: all.count - kept.count, error: nil, seconds: seconds())
      return (verdict, kept)
    }
  }

  /// One entry's verdict on `text`, the text it leaves, and what happens next.
  func apply(_ entry: CageEntry, to text: String, stage: CageStage) -> (ValidatorVerdict, String, CageDecision) {
    var (verdict, findings) = validate(entry, text)
    switch verdict.result {
    case .pass, .fixed: return (verdict, text, .release)
    case .error, .timeout:
      // Nothing was checked: regenerate (an output that does not parse may parse next time) or refuse.
      return (verdict, text, failedCheckDecision(entry, stage))
    case .fail: break
    }
    switch entry.policy {
    case .noop: return (verdict, text, .release)
    case .exception: return (verdict, text, .refuse)
    case .refrain: return (verdict, text, .refrain)
    case .reask, .regenerate: return (verdict, text, stage == .input ? .refuse : .regenerate)
    case .fix, .filter:
      let repaired = entry.policy == .fix ? text.applying(findings.compactMap(\.fix)) : Self.dropLines(of: findings, in: text)
      let (again, remaining) = validate(entry, repaired)
      guard again.result == .pass else {
        findings += remaining.filter { !findings.contains($0) }
        verdict.error =
          "\(entry.policy.rawValue) left \(remaining.count) finding(s): "
          + remaining.map(\.ruleId).joined(separator: ", ")
        return (verdict, text, .refuse)
      }
      verdict.result = .fixed
      verdict.seconds += again.seconds
      return (verdict, repaired, .release)
    }
  }

  func failedCheckDecision(_ entry: CageEntry, _ stage: CageStage) -> CageDecision {
    switch entry.policy {
    case .reask, .regenerate: return stage == .input ? .refuse : .regenerate
    case .refrain: return .refrain
    default: return .refuse
    }
  }

  /// The text without the lines the findings touch; a finding without a location drops everything.
  static func dropLines(of findings: [Finding], in text: String) -> String {
    var drop = Set<Int>()
    for f in findings {
      guard let loc = f.location else { return "" }
      for l in loc.line...max(loc.line, loc.endLine ?? loc.line) { drop.insert(l) }
    }
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    return lines.enumerated().filter { !drop.contains($0.offset + 1) }.map { String($0.element) }.joined(separator: "\n")
  }
}
