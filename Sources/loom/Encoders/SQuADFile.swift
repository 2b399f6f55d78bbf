import Foundation
import LoomCore

/// A SQuAD-format JSON file (`{"data": [{"paragraphs": [{"context", "qas": [{"id", "question",
/// "answers": [{"text", "answer_start"}]}]}]}]}`), flattened to one example per question.
struct SQuADFile {
  var ids: [String] = []
  var questions: [String] = []
  var contexts: [String] = []
  /// Every gold answer's text (the metric takes the best match).
  var answers: [[String]] = []
  /// The first answer with its character start (training target).
  var firstAnswer: [(text: String, start: Int)?] = []

  static func read(_ path: String, flag: String) throws -> SQuADFile {
    guard let d = FileManager.default.contents(atPath: path) else { throw LoomError("cannot read \(flag) \(path)") }
    guard let root = try? JSONSerialization.jsonObject(with: d) as? [String: Any], let data = root["data"] as? [[String: Any]] else {
      throw LoomError("\(flag) \(path): not SQuAD JSON (an object with a \"data\" list of articles)")
    }
    var f = SQuADFile()
    for (a, article) in data.enumerated() {
      for (p, paragraph) in (article["paragraphs"] as? [[String: Any]] ?? []).enumerated() {
        guard let context = paragraph["context"] as? String else {
          throw LoomError("\(flag) \(path): data[\(a)].paragraphs[\(p)] has no \"context\" string")
        }
        for (q, qa) in (paragraph["qas"] as? [[String: Any]] ?? []).enumerated() {
          guard let question = qa["question"] as? String else {
            throw LoomError("\(flag) \(path): data[\(a)].paragraphs[\(p)].qas[\(q)] has no \"question\" string")
          }
          let answers = qa["answers"] as? [[String: Any]] ?? []
          let texts = answers.compactMap { $0["text"] as? String }
          f.ids.append(qa["id"] as? String ?? "\(a)-\(p)-\(q)")
          f.questions.append(question)
          f.contexts.append(context)
          f.answers.append(texts)
          if let first = answers.first, let text = first["text"] as? String, let start = first["answer_start"] as? Int {
            let scalars = Array(context.unicodeScalars)
            let end = start + text.unicodeScalars.count
            guard start >= 0, end <= scalars.count, String(String.UnicodeScalarView(scalars[start..<end])) == text else {
              throw LoomError(
                "\(flag) \(path): data[\(a)].paragraphs[\(p)].qas[\(q)]: answer_start \(start) does not point at \"\(text)\" in the context")
            }
            f.firstAnswer.append((text, start))
          } else {
            f.firstAnswer.append(nil)
          }
        }
      }
    }
    guard !f.questions.isEmpty else { throw LoomError("\(flag) \(path) holds no questions") }
    return f
  }
}
