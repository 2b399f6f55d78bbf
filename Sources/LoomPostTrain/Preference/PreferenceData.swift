import Foundation
import LoomCore

/// One row of a preference dataset in trl's standard format: a prompt and two completions
/// of it, the preferred one first. `margin` (RewardTrainer) and the reference model's
/// log-probabilities (DPO's `precompute_ref_log_probs`) are optional columns.
public struct PreferenceRow: Equatable, Sendable {
  public var prompt: String
  public var chosen: String
  public var rejected: String
  public var margin: Double?
  public var refChosenLogps: Double?
  public var refRejectedLogps: Double?

  public init(
    prompt: String, chosen: String, rejected: String, margin: Double? = nil,
    refChosenLogps: Double? = nil, refRejectedLogps: Double? = nil
  ) {
    self.prompt = prompt
    self.chosen = chosen
    self.rejected = rejected
    self.margin = margin
    self.refChosenLogps = refChosenLogps
    self.refRejectedLogps = refRejectedLogps
  }
}

/// Reads trl's preference JSON-lines (`prompt`, `chosen`, `rejected` text per line).
///
/// Conversational rows (lists of `{role, content}` messages) are refused with an error:
/// trl renders them with the tokenizer's Jinja chat template, which Loom does not run, and
/// any other rendering would train on text the model never sees at inference.
public enum PreferenceData {
  public static let requiredColumns = ["prompt", "chosen", "rejected"]

  /// The rows of `path`; `requirePrompt` false lets reward data omit `prompt` (trl's implicit
  /// prompt, then ""). Errors name the file, the line and the field.
  public static func load(_ path: String, requirePrompt: Bool = true) throws -> [PreferenceRow] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw LoomError("\(path): cannot read the preference file (does it exist?)")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw LoomError("\(path): not UTF-8 text")
    }
    var rows: [PreferenceRow] = []
    // "\r\n" is one Character in Swift, so splitting on "\n" alone would keep a CRLF file in one line.
    let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    for (i, line) in lines.enumerated() {
      let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
      if trimmed.isEmpty { continue }
      rows.append(try parse(trimmed, at: "\(path):\(i + 1)", requirePrompt: requirePrompt))
    }
    guard !rows.isEmpty else {
      throw LoomError(
        "\(path): no preference rows; each line must be a JSON object with \(requiredColumns.joined(separator: ", "))"
      )
    }
    return rows
  }

  /// One JSON line; `location` (file:line) prefixes every error.
  public static func parse(_ line: String, at location: String, requirePrompt: Bool = true) throws
    -> PreferenceRow
  {
    let object: Any
    do {
      object = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
    } catch {
      throw LoomError("\(location): not valid JSON (\(error.localizedDescription))")
    }
    guard let row = object as? [String: Any] else {
      throw LoomError("\(location): expected a JSON object with \(requiredColumns.joined(separator: ", "))")
    }
    func text(_ key: String) throws -> String? {
      guard let value = row[key], !(value is NSNull) else { return nil }
      if let s = value as? String { return s }
      if value is [Any] {
        throw LoomError(
          "\(location): '\(key)' is a conversation (a list of messages); trl renders those with the tokenizer's chat template, which Loom does not run. Write the rendered text in prompt/chosen/rejected instead"
        )
      }
      throw LoomError("\(location): '\(key)' must be a string, got \(type(of: value))")
    }
    func number(_ key: String) throws -> Double? {
      guard let value = row[key], !(value is NSNull) else { return nil }
      if let n = value as? NSNumber { return n.doubleValue }
      if let d = value as? Double { return d }
      if let i = value as? Int { return Double(i) }
      throw LoomError("\(location): '\(key)' must be a number")
    }
    let prompt = try text("prompt")
    if prompt == nil && requirePrompt {
      throw LoomError("\(location): the row has no 'prompt' (each row needs prompt, chosen and rejected)")
    }
    guard let chosen = try text("chosen") else {
      throw LoomError("\(location): the row has no 'chosen' (the preferred completion)")
    }
    guard let rejected = try text("rejected") else {
      throw LoomError("\(location): the row has no 'rejected' (the dispreferred completion)")
    }
    guard chosen != rejected else {
      throw LoomError(
        "\(location): 'chosen' and 'rejected' are the same text, so the pair says nothing about preference; remove the row"
      )
    }
    let refChosen = try number("ref_chosen_logps")
    let refRejected = try number("ref_rejected_logps")
    guard (refChosen == nil) == (refRejected == nil) else {
      throw LoomError("\(location): give both ref_chosen_logps and ref_rejected_logps, or neither")
    }
    return PreferenceRow(
      prompt: prompt ?? "", chosen: chosen, rejected: rejected, margin: try number("margin"),
      refChosenLogps: refChosen, refRejectedLogps: refRejected)
  }
}
