import Foundation

/// Metrics for float labels: regression (HF's `evaluate` "mse", scipy's `pearsonr`) and
/// multi-label classification (sklearn on 0/1 indicator rows, as run_classification scores).
extension Metrics {
  /// Mean squared error.
  public static func meanSquaredError(predictions: [Double], references: [Double]) throws -> Double
  {
    try check(predictions, references)
    guard !predictions.isEmpty else { return 0 }
    return zip(predictions, references).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
      / Double(predictions.count)
  }

  /// Pearson's correlation; NaN when either side is constant (scipy warns and returns nan).
  public static func pearson(predictions: [Double], references: [Double]) throws -> Double {
    try check(predictions, references)
    let n = Double(predictions.count)
    guard n > 1 else { return .nan }
    let mp = predictions.reduce(0, +) / n
    let mr = references.reduce(0, +) / n
    var sxy = 0.0
    var sxx = 0.0
    var syy = 0.0
    for (p, r) in zip(predictions, references) {
      sxy += (p - mp) * (r - mr)
      sxx += (p - mp) * (p - mp)
      syy += (r - mr) * (r - mr)
    }
    guard sxx > 0, syy > 0 else { return .nan }
    return max(-1, min(1, sxy / (sxx * syy).squareRoot()))
  }

  public struct MultiLabelScores: Sendable, Equatable {
    /// Rows whose every label is right (sklearn's subset accuracy).
    public let exactMatch: Double
    /// F1 of the global true-positive, false-positive and false-negative counts.
    public let microF1: Double
    /// Unweighted mean of each label's F1 (0 for a label never true nor predicted).
    public let macroF1: Double
  }

  /// Scores of 0/1 rows, one column per label (sklearn's `accuracy_score` and `f1_score`
  /// with average micro / macro on indicator arrays).
  public static func multiLabel(predictions: [[Int]], references: [[Int]]) throws
    -> MultiLabelScores
  {
    try check(predictions, references)
    guard let k = references.first?.count else {
      return MultiLabelScores(exactMatch: 0, microF1: 0, macroF1: 0)
    }
    for (i, (p, r)) in zip(predictions, references).enumerated() where p.count != k || r.count != k
    {
      throw DatasetError(
        "metrics: row \(i) has \(p.count) predictions and \(r.count) references, expected \(k) labels"
      )
    }
    var tp = [Int](repeating: 0, count: k)
    var fp = tp
    var fn = tp
    var exact = 0
    for (p, r) in zip(predictions, references) {
      if p == r { exact += 1 }
      for j in 0..<k {
        if p[j] != 0 && r[j] != 0 {
          tp[j] += 1
        } else if p[j] != 0 {
          fp[j] += 1
        } else if r[j] != 0 {
          fn[j] += 1
        }
      }
    }
    func f1(_ t: Int, _ f: Int, _ n: Int) -> Double {
      2 * t + f + n > 0 ? Double(2 * t) / Double(2 * t + f + n) : 0
    }
    let micro = f1(tp.reduce(0, +), fp.reduce(0, +), fn.reduce(0, +))
    let macro = (0..<k).map { f1(tp[$0], fp[$0], fn[$0]) }.reduce(0, +) / Double(k)
    return MultiLabelScores(
      exactMatch: Double(exact) / Double(predictions.count), microF1: micro,
      macroF1: k > 0 ? macro : 0)
  }
}
