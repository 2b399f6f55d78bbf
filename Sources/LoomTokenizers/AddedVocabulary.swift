/// A token matched in the raw text before the model runs (HF `AddedToken`).
public struct AddedToken: Equatable, Sendable {
  public var content: String
  public var id: UInt32
  public var special: Bool
  public var singleWord = false
  public var lstrip = false
  public var rstrip = false
  public var normalized: Bool

  public init(
    content: String, id: UInt32, special: Bool, singleWord: Bool = false, lstrip: Bool = false,
    rstrip: Bool = false, normalized: Bool? = nil
  ) {
    self.content = content
    self.id = id
    self.special = special
    self.singleWord = singleWord
    self.lstrip = lstrip
    self.rstrip = rstrip
    self.normalized = normalized ?? !special
  }
}

/// Finds added tokens in text, leftmost-longest.
struct AddedMatcher {
  let tokens: [AddedToken]
  private let patterns: [[UInt8]]
  /// Token indices bucketed by first byte.
  private var byFirst = [[Int]](repeating: [], count: 256)

  init(_ tokens: [AddedToken]) {
    self.tokens = tokens
    patterns = tokens.map { Array($0.content.utf8) }
    for (i, p) in patterns.enumerated() where !p.isEmpty { byFirst[Int(p[0])].append(i) }
    for b in 0..<256 { byFirst[b].sort { patterns[$0].count > patterns[$1].count } }
  }

  var isEmpty: Bool { tokens.isEmpty }

  /// Segments of `text`: (range, token index or nil for plain text).
  func split(_ text: [UInt8]) -> [(Range<Int>, Int?)] {
    if tokens.isEmpty { return [(0..<text.count, nil)] }
    var out = [(Range<Int>, Int?)]()
    var plainStart = 0
    var i = 0
    let n = text.count
    while i < n {
      var hit: Int?
      for t in byFirst[Int(text[i])] {
        let p = patterns[t]
        if i + p.count <= n && text[i..<(i + p.count)].elementsEqual(p) {
          if tokens[t].singleWord && !isWordBoundary(text, i, i + p.count) { continue }
          hit = t
          break
        }
      }
      guard let t = hit else {
        i += 1
        continue
      }
      var s = i
      var e = i + patterns[t].count
      if tokens[t].lstrip { while s > plainStart && isSpaceByte(text[s - 1]) { s -= 1 } }
      if tokens[t].rstrip { while e < n && isSpaceByte(text[e]) { e += 1 } }
      if s > plainStart { out.append((plainStart..<s, nil)) }
      out.append((s..<e, t))
      plainStart = e
      i = e
    }
    if plainStart < n { out.append((plainStart..<n, nil)) }
    return out
  }

  private func isSpaceByte(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

  private func isWordBoundary(_ t: [UInt8], _ s: Int, _ e: Int) -> Bool {
    func isWordByte(_ b: UInt8) -> Bool {
      b >= 0x80 || (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == 0x5F
    }
    return (s == 0 || !isWordByte(t[s - 1])) && (e == t.count || !isWordByte(t[e]))
  }
}
