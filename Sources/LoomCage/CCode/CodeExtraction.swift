// Finds the code in a model's answer: the fenced blocks tagged as C or C++ (```c, ```cpp, ~~~c …); failing those,
// the untagged fenced blocks; failing any fence, the whole text. Blocks tagged with another language are not C and
// are left alone. An unterminated fence (a streamed or truncated answer) runs to the end of the text.

enum CLanguage: Sendable, Equatable {
  case c, cplusplus
}

struct CCodeBlock: Equatable {
  /// The block's bytes (without the fence lines).
  var code: [UInt8]
  var language: CLanguage
  /// Where the block starts in the whole text: byte offset and number of lines before it.
  var utf8Offset: Int
  var lineOffset: Int
}

enum CodeExtraction {
  private static let cTags: Set<String> = ["c", "h"]
  private static let cplusplusTags: Set<String> = ["cpp", "c++", "cc", "cxx", "hpp", "hxx", "cplusplus"]

  static func blocks(in text: String) -> [CCodeBlock] {
    let bytes = Array(text.utf8)
    // Line starts and their fence info.
    var tagged: [CCodeBlock] = []
    var untagged: [CCodeBlock] = []
    var sawFence = false
    var open: (fence: [UInt8], tag: String, start: Int, line: Int)?
    var lineStart = 0
    var lineNumber = 0
    while lineStart <= bytes.count {
      var lineEnd = lineStart
      while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
      let line = bytes[lineStart..<lineEnd]
      let trimmed = line.drop(while: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
      let next = min(lineEnd + 1, bytes.count + 1)
      if let current = open {
        if trimmed.starts(with: current.fence)
          && trimmed.dropFirst(current.fence.count).allSatisfy({ $0 == current.fence[0] || isSpace($0) })
        {
          append(
            bytes[current.start..<lineStart], tag: current.tag, offset: current.start, line: current.line,
            tagged: &tagged, untagged: &untagged)
          open = nil
        }
      } else if let fence = fencePrefix(trimmed) {
        sawFence = true
        let info = String(decoding: trimmed.dropFirst(fence.count), as: UTF8.self)
        let tag = info.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "{" || $0 == "\r" }).first
          .map { $0.lowercased() } ?? ""
        open = (fence, tag, min(next, bytes.count), lineNumber + 1)
      }
      if lineEnd >= bytes.count { break }
      lineStart = next
      lineNumber += 1
    }
    if let current = open {
      append(
        bytes[current.start..<bytes.count], tag: current.tag, offset: current.start, line: current.line,
        tagged: &tagged, untagged: &untagged)
    }
    if !tagged.isEmpty { return tagged }
    if !untagged.isEmpty { return untagged }
    if sawFence { return [] }
    return [CCodeBlock(code: bytes, language: .c, utf8Offset: 0, lineOffset: 0)]
  }

  private static func isSpace(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
  }

  /// "```" or "~~~" (or longer runs) at the start of a line.
  private static func fencePrefix(_ line: ArraySlice<UInt8>) -> [UInt8]? {
    guard let first = line.first, first == UInt8(ascii: "`") || first == UInt8(ascii: "~") else { return nil }
    let run = line.prefix(while: { $0 == first }).count
    return run >= 3 ? [UInt8](repeating: first, count: run) : nil
  }

  private static func append(
    _ code: ArraySlice<UInt8>, tag: String, offset: Int, line: Int, tagged: inout [CCodeBlock],
    untagged: inout [CCodeBlock]
  ) {
    if cTags.contains(tag) {
      tagged.append(CCodeBlock(code: Array(code), language: .c, utf8Offset: offset, lineOffset: line))
    } else if cplusplusTags.contains(tag) {
      tagged.append(CCodeBlock(code: Array(code), language: .cplusplus, utf8Offset: offset, lineOffset: line))
    } else if tag.isEmpty {
      untagged.append(CCodeBlock(code: Array(code), language: .c, utf8Offset: offset, lineOffset: line))
    }
  }
}
