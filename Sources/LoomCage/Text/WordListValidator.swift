import Foundation

/// Banned words or phrases (a deny list). Matching ignores case unless `caseSensitive`; with `wholeWords` a word that
/// starts or ends with a letter, digit or `_` must not be part of a longer word there (`gets(` does not match inside
/// `fgets(`). Fixes mask each match with asterisks.
public struct WordListValidator: Validator {
  public let name = "word_list"
  public let words: [String]
  public var severity: Severity
  let regex: NSRegularExpression

  public init(words: [String], caseSensitive: Bool = false, wholeWords: Bool = true, severity: Severity = .high) throws {
    guard !words.isEmpty, words.allSatisfy({ !$0.isEmpty }) else {
      throw CageError("word_list: 'words' must list at least one non-empty word")
    }
    self.words = words
    self.severity = severity
    func isWordChar(_ c: Character?) -> Bool { c.map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false }
    let alternatives = words.sorted { $0.count > $1.count }.map { w -> String in
      let escaped = NSRegularExpression.escapedPattern(for: w)
      guard wholeWords else { return escaped }
      return (isWordChar(w.first) ? "(?<![\\p{L}\\p{N}_])" : "") + escaped + (isWordChar(w.last) ? "(?![\\p{L}\\p{N}_])" : "")
    }
    regex = try configRegex(alternatives.joined(separator: "|"), caseInsensitive: !caseSensitive, what: "word_list")
  }

  static let banned = RuleDescription(id: "text.wordlist.banned", severity: .high, summary: "a word from the deny list")
  public static let allRules = [banned]
  public var rules: [RuleDescription] { Self.allRules }

  public func validate(_ text: String) throws -> [Finding] {
    let index = TextIndex(text)
    return index.matches(regex).map { m in
      let word = m.groups[0] ?? ""
      return Finding(
        ruleId: Self.banned.id, severity: severity, location: index.location(m.range), message: "banned word '\(word)'",
        fix: Fix(
          utf8Range: m.range, replacement: String(repeating: "*", count: word.count), description: "mask the word"))
    }
  }
}
