import Foundation
import LoomCore
import LoomDatasets
import LoomTokenizers

/// Word-level tagging data (HF's conll2003 layout: a list of words and a list of tags per
/// row, JSON lines) and its alignment to sub-word tokens.
struct WordTagging {
  var words: [[String]]
  var tags: [[String]]

  static func read(_ path: String, flag: String, wordsColumn: String, tagsColumn: String) throws -> WordTagging {
    let d: Dataset
    do { d = try Dataset.load([path]) } catch { throw LoomError("\(flag) \(path): \(error)") }
    for (option, name) in [("--text-column", wordsColumn), ("--label-column", tagsColumn)] where !d.columnNames.contains(name) {
      throw LoomError(
        "\(flag) \(path) has no column '\(name)' (columns: \(d.columnNames.joined(separator: ", "))); fix the file or pass \(option) NAME")
    }
    var out = WordTagging(words: [], tags: [])
    for (i, (w, t)) in zip(try d.column(wordsColumn), try d.column(tagsColumn)).enumerated() {
      guard let ws = w.list?.compactMap({ $0.string }), ws.count == w.list?.count else {
        throw LoomError("\(flag) \(path) row \(i + 1): '\(wordsColumn)' must be a list of words")
      }
      guard let ts = t.list?.map({ $0.string ?? $0.int.map(String.init) ?? "" }), ts.count == ws.count else {
        throw LoomError("\(flag) \(path) row \(i + 1): '\(tagsColumn)' must be a list of tags, one per word (\(ws.count) words)")
      }
      out.words.append(ws)
      out.tags.append(ts)
    }
    guard !out.words.isEmpty else { throw LoomError("\(flag) \(path) has no rows") }
    return out
  }

  /// Token ids and labels: each word's first sub-token carries its tag id, every other
  /// token −100 (HF run_ner with label_all_tokens=False). Words are joined with spaces and
  /// tokens assigned to words by their character offsets.
  func encode(tokenizer: Tokenizer, tagIds: [String: Int], maxLength: Int, source: String) throws -> (ids: [[Int]], types: [[Int]], labels: [[Int]]) {
    var texts: [String] = [], starts: [[Int]] = []
    for ws in words {
      var s = "", st: [Int] = []
      for w in ws {
        if !s.isEmpty { s += " " }
        st.append(s.count)
        s += w
      }
      texts.append(s)
      starts.append(st)
    }
    let enc = try tokenizer(texts, truncation: .longestFirst, maxLength: maxLength)
    var ids: [[Int]] = [], types: [[Int]] = [], labels: [[Int]] = []
    for (r, e) in enc.encodings.enumerated() {
      var row = [Int](repeating: -100, count: e.ids.count)
      var seen = Set<Int>()
      for (j, off) in e.offsets.enumerated() where e.specialTokensMask[j] == 0 && off.upperBound > off.lowerBound {
        // The word whose span holds the token's first character.
        var w = 0
        while w + 1 < starts[r].count && starts[r][w + 1] <= off.lowerBound { w += 1 }
        if seen.insert(w).inserted {
          guard let id = tagIds[tags[r][w]] else {
            throw LoomError("\(source) row \(r + 1): tag '\(tags[r][w])' is not one of the model's labels (\(tagIds.keys.sorted().joined(separator: ", ")))")
          }
          row[j] = id
        }
      }
      ids.append(e.ids.map(Int.init))
      types.append(e.typeIds.map(Int.init))
      labels.append(row)
    }
    return (ids, types, labels)
  }
}
