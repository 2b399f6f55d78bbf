/// Classification metrics as scikit-learn (and HF `evaluate`) compute them; a class with
/// no predicted (or no true) examples scores 0, sklearn's `zero_division` default.
public enum Metrics {
  /// How per-class scores combine (sklearn's `average`).
  public enum Average: Sendable, Equatable {
    /// The positive class only (at most two classes).
    case binary(positiveLabel: Int = 1)
    /// Unweighted mean over the labels present in either list.
    case macro
    /// Global counts of true positives, false positives and false negatives.
    case micro
    /// Mean weighted by each label's true count.
    case weighted
  }

  public struct PrecisionRecallF1: Sendable, Equatable {
    public let precision: Double
    public let recall: Double
    public let f1: Double
  }

  /// Fraction of predictions equal to the references.
  public static func accuracy(predictions: [Int], references: [Int]) throws -> Double {
    try check(predictions, references)
    guard !predictions.isEmpty else { return 0 }
    return Double(zip(predictions, references).filter { $0 == $1 }.count)
      / Double(predictions.count)
  }

  public static func precisionRecallF1(
    predictions: [Int], references: [Int], average: Average = .binary()
  ) throws -> PrecisionRecallF1 {
    try check(predictions, references)
    let labels = Set(predictions).union(references).sorted()
    var tp = [Int: Int](), fp = [Int: Int](), fn = [Int: Int](), support = [Int: Int]()
    for (p, r) in zip(predictions, references) {
      support[r, default: 0] += 1
      if p == r { tp[p, default: 0] += 1 } else {
        fp[p, default: 0] += 1
        fn[r, default: 0] += 1
      }
    }
    func score(_ t: Int, _ f: Int, _ n: Int) -> PrecisionRecallF1 {
      let p = t + f > 0 ? Double(t) / Double(t + f) : 0
      let r = t + n > 0 ? Double(t) / Double(t + n) : 0
      // sklearn: F = 2tp / (2tp + fp + fn), 0 when the denominator is.
      let d = 2 * t + f + n
      return PrecisionRecallF1(precision: p, recall: r, f1: d > 0 ? Double(2 * t) / Double(d) : 0)
    }
    func perLabel(_ l: Int) -> PrecisionRecallF1 { score(tp[l] ?? 0, fp[l] ?? 0, fn[l] ?? 0) }
    switch average {
    case .binary(let pos):
      guard labels.count <= 2 else {
        throw DatasetError(
          "binary average needs at most two classes, found \(labels); use macro, micro or weighted")
      }
      return perLabel(pos)
    case .micro:
      return score(
        tp.values.reduce(0, +), fp.values.reduce(0, +), fn.values.reduce(0, +))
    case .macro, .weighted:
      guard !labels.isEmpty else { return PrecisionRecallF1(precision: 0, recall: 0, f1: 0) }
      var p = 0.0, r = 0.0, f = 0.0, w = 0.0
      for l in labels {
        let s = perLabel(l)
        let wl = average == .macro ? 1.0 : Double(support[l] ?? 0)
        p += wl * s.precision
        r += wl * s.recall
        f += wl * s.f1
        w += wl
      }
      guard w > 0 else { return PrecisionRecallF1(precision: 0, recall: 0, f1: 0) }
      return PrecisionRecallF1(precision: p / w, recall: r / w, f1: f / w)
    }
  }

  public static func f1(predictions: [Int], references: [Int], average: Average = .binary()) throws
    -> Double
  {
    try precisionRecallF1(predictions: predictions, references: references, average: average).f1
  }

  public static func precision(
    predictions: [Int], references: [Int], average: Average = .binary()
  ) throws -> Double {
    try precisionRecallF1(predictions: predictions, references: references, average: average)
      .precision
  }

  public static func recall(predictions: [Int], references: [Int], average: Average = .binary())
    throws -> Double
  {
    try precisionRecallF1(predictions: predictions, references: references, average: average)
      .recall
  }

  static func check<T>(_ p: [T], _ r: [T]) throws {
    guard p.count == r.count else {
      throw DatasetError("metrics: \(p.count) predictions but \(r.count) references")
    }
  }
}
