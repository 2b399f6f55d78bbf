import Foundation

/// The official SQuAD v1.1 evaluation (HF `evaluate`'s "squad"): answers normalised by
/// lower-casing, removing punctuation, the articles a/an/the and extra whitespace; exact
/// match and token-overlap F1, each the best over the reference answers, averaged ×100.
public enum SQuADMetric {
  static let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
  static let articles = try! NSRegularExpression(pattern: #"\b(a|an|the)\b"#)

  public static func normalize(_ s: String) -> String {
    let lower = s.lowercased()
    let noPunc = String(lower.filter { !punctuation.contains($0) })
    let ns = noPunc as NSString
    let noArticles = articles.stringByReplacingMatches(
      in: noPunc, range: NSRange(location: 0, length: ns.length), withTemplate: " ")
    return noArticles.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
  }

  public static func exactMatch(_ prediction: String, _ truth: String) -> Bool {
    normalize(prediction) == normalize(truth)
  }

  public static func f1(_ prediction: String, _ truth: String) -> Double {
    let p = normalize(prediction).split(separator: " ").map(String.init)
    let t = normalize(truth).split(separator: " ").map(String.init)
    var counts = [String: Int]()
    for w in t { counts[w, default: 0] += 1 }
    var same = 0
    for w in p where (counts[w] ?? 0) > 0 {
      counts[w]! -= 1
      same += 1
    }
    if same == 0 { return 0 }
    let precision = Double(same) / Double(p.count)
    let recall = Double(same) / Double(t.count)
    return 2 * precision * recall / (precision + recall)
  }

  /// `exact_match` and `f1` in percent over aligned predictions and reference-answer lists.
  public static func compute(predictions: [String], references: [[String]]) throws -> (
    exactMatch: Double, f1: Double
  ) {
    try Metrics.check(predictions, references.map { _ in "" })
    guard !predictions.isEmpty else { return (0, 0) }
    var em = 0.0, f = 0.0
    for (p, refs) in zip(predictions, references) {
      guard !refs.isEmpty else { throw DatasetError("squad: a question with no reference answers") }
      em += refs.contains { exactMatch(p, $0) } ? 1 : 0
      f += refs.map { f1(p, $0) }.max()!
    }
    let n = Double(predictions.count)
    return (100 * em / n, 100 * f / n)
  }
}
