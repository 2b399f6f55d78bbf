import Foundation

// Locations and regular-expression matches in UTF-8 byte offsets, the unit `Finding`, `Fix` and SARIF regions use.

/// Line starts of one text, to turn byte spans into 1-based lines and columns.
public struct TextIndex {
  public let text: String
  /// Byte offset of each line's first byte (line 1 starts at 0).
  let lineStarts: [Int]

  public init(_ text: String) {
    self.text = text
    var starts = [0]
    var offset = 0
    for byte in text.utf8 {
      offset += 1
      if byte == UInt8(ascii: "\n") { starts.append(offset) }
    }
    lineStarts = starts
  }

  /// The 1-based line holding byte `offset`.
  public func line(of offset: Int) -> Int {
    var lo = 0
    var hi = lineStarts.count - 1
    while lo < hi {
      let mid = (lo + hi + 1) / 2
      if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
    }
    return lo + 1
  }

  /// The byte span of line `line` (1-based) without its newline.
  public func lineRange(_ line: Int) -> Range<Int> {
    let start = lineStarts[line - 1]
    let end = line < lineStarts.count ? lineStarts[line] - 1 : text.utf8.count
    return start..<max(start, end)
  }

  public func location(_ range: Range<Int>) -> SourceLocation {
    let line = self.line(of: range.lowerBound)
    let endOffset = max(range.lowerBound, range.upperBound - 1)
    let endLine = self.line(of: endOffset)
    return SourceLocation(
      line: line, column: range.lowerBound - lineStarts[line - 1] + 1, endLine: endLine,
      endColumn: range.upperBound - lineStarts[endLine - 1] + 1, utf8Range: range)
  }

  /// Every match of `regex`: the whole match's byte span and each capture group's text (nil when it did not take part).
  public func matches(_ regex: NSRegularExpression) -> [(range: Range<Int>, groups: [String?])] {
    let ns = NSRange(text.startIndex..<text.endIndex, in: text)
    return regex.matches(in: text, range: ns).compactMap { m in
      guard let r = byteRange(m.range) else { return nil }
      let groups = (0..<m.numberOfRanges).map { i -> String? in
        Range(m.range(at: i), in: text).map { String(text[$0]) }
      }
      return (r, groups)
    }
  }

  func byteRange(_ ns: NSRange) -> Range<Int>? {
    guard let r = Range(ns, in: text) else { return nil }
    let lo = text.utf8.distance(from: text.startIndex, to: r.lowerBound)
    return lo..<(lo + text.utf8.distance(from: r.lowerBound, to: r.upperBound))
  }

  /// The text of a byte span.
  public func substring(_ range: Range<Int>) -> String {
    let u = text.utf8
    let lo = u.index(u.startIndex, offsetBy: range.lowerBound)
    let hi = u.index(lo, offsetBy: range.count)
    return String(decoding: u[lo..<hi], as: UTF8.self)
  }
}

/// Compiles a pattern shipped with Loom (a bad one is a programming error caught by the tests).
func builtInRegex(_ pattern: String, caseInsensitive: Bool = false) -> NSRegularExpression {
  try! NSRegularExpression(pattern: pattern, options: caseInsensitive ? [.caseInsensitive] : [])
}

/// Compiles a pattern from a configuration, naming where it came from when it does not compile.
public func configRegex(_ pattern: String, caseInsensitive: Bool = false, what: String) throws
  -> NSRegularExpression
{
  do {
    return try NSRegularExpression(pattern: pattern, options: caseInsensitive ? [.caseInsensitive] : [])
  } catch {
    throw CageError("\(what): '\(pattern)' is not a valid regular expression (ICU syntax, as NSRegularExpression reads it)")
  }
}

extension String {
  /// The text with each fix's byte span replaced (non-overlapping fixes, later ones dropped where they overlap).
  public func applying(_ fixes: [Fix]) -> String {
    var bytes = Array(utf8)
    var kept: [Fix] = []
    for f in fixes.sorted(by: { $0.utf8Range.lowerBound < $1.utf8Range.lowerBound }) {
      if let last = kept.last, f.utf8Range.lowerBound < last.utf8Range.upperBound { continue }
      guard f.utf8Range.upperBound <= bytes.count else { continue }
      kept.append(f)
    }
    for f in kept.reversed() { bytes.replaceSubrange(f.utf8Range, with: Array(f.replacement.utf8)) }
    return String(decoding: bytes, as: UTF8.self)
  }
}
