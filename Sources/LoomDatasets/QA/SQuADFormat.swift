import Foundation

extension Dataset {
  /// A SQuAD-format JSON file (`{"data": [{"title", "paragraphs": [{"context", "qas":
  /// [{"id", "question", "answers": [{"text", "answer_start"}]}]}]}]}`) flattened as HF's
  /// `squad` dataset: columns id, title, context, question, answers (`{"text": [...],
  /// "answer_start": [...]}`). `.jsonl` files already in that flat form load as JSON lines.
  /// An answer whose text is not at its `answer_start` is an error naming the question.
  public static func loadSQuAD(_ path: String) throws -> Dataset {
    if path.hasSuffix(".jsonl") { return try checkSQuAD(loadJSONLines(path), path) }
    let text = try readUTF8(path)
    let root: Any
    do {
      root = try JSONSerialization.jsonObject(with: Data(text.utf8))
    } catch {
      throw DatasetError("\(path): not valid JSON (\(error.localizedDescription))")
    }
    guard let data = (root as? [String: Any])?["data"] as? [[String: Any]] else {
      throw DatasetError("\(path): expected SQuAD's {\"data\": [{\"title\", \"paragraphs\": …}]}")
    }
    var ids = [Value](), titles = [Value](), contexts = [Value](), questions = [Value]()
    var answers = [Value]()
    for (a, article) in data.enumerated() {
      let title = article["title"] as? String ?? ""
      guard let paragraphs = article["paragraphs"] as? [[String: Any]] else {
        throw DatasetError("\(path): data[\(a)] has no \"paragraphs\" list")
      }
      for (p, para) in paragraphs.enumerated() {
        guard let context = para["context"] as? String, let qas = para["qas"] as? [[String: Any]]
        else {
          throw DatasetError("\(path): data[\(a)].paragraphs[\(p)] needs \"context\" and \"qas\"")
        }
        for (q, qa) in qas.enumerated() {
          guard let question = qa["question"] as? String else {
            throw DatasetError("\(path): data[\(a)].paragraphs[\(p)].qas[\(q)] has no \"question\"")
          }
          let id = (qa["id"] as? String) ?? (qa["id"].map { "\($0)" } ?? "\(a)-\(p)-\(q)")
          let ans = qa["answers"] as? [[String: Any]] ?? []
          var texts = [Value](), starts = [Int]()
          for (k, an) in ans.enumerated() {
            guard let t = an["text"] as? String, let s = an["answer_start"] as? Int else {
              throw DatasetError(
                "\(path): question \(id) answer \(k) needs \"text\" and an integer \"answer_start\"")
            }
            texts.append(.string(t))
            starts.append(s)
          }
          ids.append(.string(id))
          titles.append(.string(title))
          contexts.append(.string(context))
          questions.append(.string(question))
          answers.append(.dict(["text": .list(texts), "answer_start": .ints(starts)]))
        }
      }
    }
    let d = try Dataset(columns: [
      ("id", ids), ("title", titles), ("context", contexts), ("question", questions),
      ("answers", answers),
    ])
    return try checkSQuAD(d, path)
  }

  static func checkSQuAD(_ d: Dataset, _ path: String) throws -> Dataset {
    for c in ["id", "context", "question", "answers"] where d.columns[c] == nil {
      throw DatasetError("\(path): SQuAD data needs a '\(c)' column (it has \(d.columnNames))")
    }
    for i in 0..<d.count {
      let r = d[i]
      let id = r["id"].map { $0.string ?? $0.description } ?? "\(i)"
      // A JSON-lines row may hold anything in any column.
      for c in ["context", "question"] where r[c]?.string == nil {
        throw DatasetError("\(path): row \(i + 1) (question \(id)): '\(c)' must be a string, got \(r[c] ?? .null)")
      }
      let ctx = Array(r["context"]!.string!.unicodeScalars)
      let texts: [String], starts: [Int]
      do { (texts, starts) = try SQuADAnswers.parse(r["answers"] ?? .null, row: i) } catch {
        throw DatasetError("\(path): question \(id): \(error)")
      }
      for (t, s) in zip(texts, starts) {
        let n = t.unicodeScalars.count
        // s + n could overflow: compare against what is left of the context instead.
        guard s >= 0, s <= ctx.count, n <= ctx.count - s, String(String.UnicodeScalarView(ctx[s..<(s + n)])) == t
        else {
          throw DatasetError(
            "\(path): question \(id): answer \(t.debugDescription) is not at answer_start \(s) of its context"
          )
        }
      }
    }
    return d
  }
}

enum SQuADAnswers {
  /// The answer texts and character starts of an `answers` cell.
  static func parse(_ v: Value, row: Int) throws -> ([String], [Int]) {
    guard let t = v["text"]?.list, let s = v["answer_start"]?.ints, t.count == s.count else {
      throw DatasetError(
        "row \(row): 'answers' must be {\"text\": [...], \"answer_start\": [...]} of equal length, found \(v)")
    }
    return (try t.map { x in
      guard let s = x.string else { throw DatasetError("row \(row): answer text \(x) is not a string") }
      return s
    }, s)
  }
}
