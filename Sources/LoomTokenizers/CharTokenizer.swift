import Foundation

/// Character-level tokenizer, as the seeds' scratch GPT builds it:
/// `chars = sorted(set(text))`, ids are positions in that list (Unicode scalars, as Python's str).
public struct CharTokenizer: Sendable, Equatable {
  public let chars: [Unicode.Scalar]
  private let index: [UInt32: Int]

  public init(corpus: String) {
    self.init(chars: Array(Set(corpus.unicodeScalars)).sorted { $0.value < $1.value })
  }

  public init(chars: [Unicode.Scalar]) {
    self.chars = chars
    index = Dictionary(chars.enumerated().map { ($1.value, $0) }, uniquingKeysWith: { a, _ in a })
  }

  public var vocabSize: Int { chars.count }

  public func encode(_ text: String) throws -> [Int] {
    var out = [Int]()
    out.reserveCapacity(text.utf8.count)
    for (i, u) in text.unicodeScalars.enumerated() {
      guard let id = index[u.value] else {
        throw TokenizerError.invalidArgument(
          "character U+\(String(u.value, radix: 16, uppercase: true)) at position \(i) is not in the vocabulary"
        )
      }
      out.append(id)
    }
    return out
  }

  public func decode(_ ids: [Int]) -> String {
    var s = String.UnicodeScalarView()
    for i in ids where i >= 0 && i < chars.count { s.append(chars[i]) }
    return String(s)
  }
}
