import Foundation

/// Readers and writers for vocab.json / merges.txt (GPT-2's encoder.json / vocab.bpe).
public enum VocabFiles {
  static func readData(_ path: String) throws -> Data {
    guard FileManager.default.fileExists(atPath: path) else {
      throw TokenizerError.missingFile(path)
    }
    return try Data(contentsOf: URL(fileURLWithPath: path))
  }

  /// Parses JSON, reporting the line and column of a syntax error.
  static func parseJSON(_ data: Data, file: String) throws -> Any {
    do {
      return try JSONSerialization.jsonObject(with: escapingByteOrderMarks(data), options: [.fragmentsAllowed])
    } catch {
      let ns = error as NSError
      var place = "JSON"
      let why = ns.userInfo[NSDebugDescriptionErrorKey] as? String ?? ns.localizedDescription
      // Darwin gives the offset in userInfo; corelibs-foundation only in the message.
      var offset = ns.userInfo["NSJSONSerializationErrorIndex"] as? Int
      if offset == nil, let r = why.range(of: #"character (\d+)"#, options: .regularExpression) {
        offset = Int(why[r].split(separator: " ")[1])
      }
      if let idx = offset, idx <= data.count {
        let prefix = data.prefix(idx)
        let line = prefix.filter { $0 == 0x0A }.count + 1
        let col = idx - (prefix.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0) + 1
        place = "line \(line), column \(col)"
      }
      throw TokenizerError.malformed(file: file, place: place, reason: "malformed JSON (\(why))")
    }
  }

  /// `data` with every raw U+FEFF after the first byte written as the escape `\ufeff`.
  /// corelibs-foundation's JSONSerialization drops a raw U+FEFF that starts a string (a vocabulary
  /// token "\u{FEFF}" would be read as "", one starting "\u{FEFF}x" as "x"), but keeps the escape.
  /// Outside strings the character is invalid JSON either way; a byte-order mark opening the file
  /// is left to the parser.
  static func escapingByteOrderMarks(_ data: Data) -> Data {
    let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    let escape = Array(#"\ufeff"#.utf8)
    return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Data in
      let bytes = raw.bindMemory(to: UInt8.self)
      var out: [UInt8]? = nil
      var copied = 0
      var i = 1
      while i + 2 < bytes.count {
        if bytes[i] == bom[0] && bytes[i + 1] == bom[1] && bytes[i + 2] == bom[2] && !escaped(bytes, before: i) {
          if out == nil { out = []; out!.reserveCapacity(bytes.count + 16) }
          out!.append(contentsOf: bytes[copied..<i])
          out!.append(contentsOf: escape)
          i += 3
          copied = i
        } else {
          i += 1
        }
      }
      guard var out else { return data }
      out.append(contentsOf: bytes[copied...])
      return Data(out)
    }
  }

  /// Whether an odd run of backslashes ends just before `i` (the byte there is escaped: left as
  /// it is, so invalid JSON stays invalid).
  private static func escaped(_ bytes: UnsafeBufferPointer<UInt8>, before i: Int) -> Bool {
    var j = i - 1
    while j >= 0 && bytes[j] == UInt8(ascii: "\\") { j -= 1 }
    return (i - 1 - j) % 2 == 1
  }

  public static func readVocab(_ path: String) throws -> [String: UInt32] {
    let obj = try parseJSON(try readData(path), file: path)
    guard let dict = obj as? [String: Any] else {
      throw TokenizerError.malformed(
        file: path, place: "top level", reason: "expected a JSON object mapping tokens to ids")
    }
    var v = [String: UInt32]()
    v.reserveCapacity(dict.count)
    for (k, x) in dict {
      guard let n = x as? NSNumber, let i = UInt32(exactly: n.doubleValue), Int(i) <= maxTokenId
      else {
        throw TokenizerError.malformed(
          file: path, place: "token \"\(k)\"",
          reason: "id \(x) is not an integer in 0...\(maxTokenId)")
      }
      v[k] = i
    }
    return v
  }

  /// merges.txt: optional `#version` line, then "left right" a line.
  public static func readMerges(_ path: String) throws -> [(String, String)] {
    try readMergesWithLines(path).map { ($0.0, $0.1) }
  }

  /// Merges with the 1-based line each came from.
  static func readMergesWithLines(_ path: String) throws -> [(String, String, Int)] {
    let data = try readData(path)
    guard let text = String(data: data, encoding: .utf8) else {
      throw TokenizerError.malformed(file: path, place: "file", reason: "not valid UTF-8")
    }
    var out = [(String, String, Int)]()
    for (n, l) in splitLines(text).enumerated() {
      if l.isEmpty || (n == 0 && l.hasPrefix("#version")) { continue }
      let parts = l.split(separator: " ", omittingEmptySubsequences: false)
      guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
        throw TokenizerError.malformed(
          file: path, place: "line \(n + 1)",
          reason: "expected two tokens separated by one space, got \"\(l)\"")
      }
      out.append((String(parts[0]), String(parts[1]), n + 1))
    }
    return out
  }

  /// Builds the BPE model, re-labelling merge errors with the merges file.
  public static func bpe(vocab vocabPath: String, merges mergesPath: String) throws -> BPE {
    let vocab = try readVocab(vocabPath)
    let merges = try readMergesWithLines(mergesPath)
    do {
      return try BPE(vocab: vocab, merges: merges.map { ($0.0, $0.1) })
    } catch BPE.BadMerge.unknownToken(let rank, let token) {
      let m = merges[rank]
      throw TokenizerError.malformed(
        file: mergesPath, place: "line \(m.2) \"\(m.0) \(m.1)\"",
        reason: "refers to \"\(token)\", which is not in \(vocabPath)")
    }
  }

  /// vocab.json as HF writes it: compact, ordered by id.
  public static func vocabJSON(_ idToToken: [String]) -> String {
    var s = "{"
    for (i, t) in idToToken.enumerated() {
      if i > 0 { s += "," }
      s += jsonString(t) + ":" + String(i)
    }
    return s + "}"
  }

  public static func mergesText(_ merges: [(String, String)]) -> String {
    var s = "#version: 0.2\n"
    for (a, b) in merges { s += a + " " + b + "\n" }
    return s
  }
}

/// JSON string literal escaped as serde_json does (only quotes, backslashes and controls).
func jsonString(_ s: String) -> String {
  var out = "\""
  for u in s.unicodeScalars {
    switch u {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    case "\u{08}": out += "\\b"
    case "\u{0C}": out += "\\f"
    default:
      if u.value < 0x20 {
        out += String(format: "\\u%04x", u.value)
      } else {
        out.unicodeScalars.append(u)
      }
    }
  }
  return out + "\""
}

/// Lines split on "\n" bytes (a trailing "\r" dropped); String.split would treat "\r\n" as one Character.
func splitLines(_ text: String) -> [String] {
  text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { l in
    String(decoding: l.last == 0x0D ? l.dropLast() : l[...], as: UTF8.self)
  }
}
