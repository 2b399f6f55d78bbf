import LoomCore
import LoomNN

/// The losses HF's encoder heads compute, shared by BERT, RoBERTa and DistilBERT.
enum HeadLoss {
  /// Masked-LM cross-entropy over [B, S, V] logits and [B, S] labels (−100 ignored).
  static func maskedLM(_ logits: Tensor, _ labels: Tensor) -> Tensor {
    let v = logits.shape[logits.rank - 1]
    return crossEntropy(logits.reshape([-1, v]), labels.to(.int64).reshape([-1]))
  }

  /// HF's sequence-classification loss: problem_type, else regression for one label,
  /// single-label for integer labels, multi-label otherwise.
  static func sequenceClassification(_ logits: Tensor, _ labels: Tensor, numLabels: Int, problemType: ProblemType?)
    throws -> Tensor
  {
    let kind =
      problemType
      ?? (numLabels == 1
        ? .regression
        : (labels.dtype == .int64 || labels.dtype == .int32 ? .singleLabelClassification : .multiLabelClassification))
    switch kind {
    case .regression:
      let target = labels.to(logits.dtype)
      if numLabels == 1 { return Loss.mse(logits.reshape([-1]), target.reshape([-1])) }
      try same(logits, target, "regression labels")
      return Loss.mse(logits, target)
    case .singleLabelClassification:
      guard labels.dtype == .int64 || labels.dtype == .int32 else {
        throw LoomError("single_label_classification needs integer class ids as labels, got \(labels.dtype)")
      }
      let ids = labels.to(.int64).reshape([-1])
      if let bad = ids.int64s.first(where: { $0 != -100 && ($0 < 0 || $0 >= Int64(numLabels)) }) {
        throw LoomError("label \(bad) is outside 0..<\(numLabels) (num_labels); is the label column's mapping right?")
      }
      return crossEntropy(logits.reshape([-1, numLabels]), ids)
    case .multiLabelClassification:
      let target = labels.to(logits.dtype)
      try same(logits, target, "multi-label targets")
      return Loss.bceWithLogits(logits, target)
    }
  }

  /// Token classification: cross-entropy per token, −100 ignored.
  static func tokenClassification(_ logits: Tensor, _ labels: Tensor, numLabels: Int) throws -> Tensor {
    let ids = labels.to(.int64).reshape([-1])
    if let bad = ids.int64s.first(where: { $0 != -100 && ($0 < 0 || $0 >= Int64(numLabels)) }) {
      throw LoomError("token label \(bad) is outside 0..<\(numLabels) (num_labels)")
    }
    return crossEntropy(logits.reshape([-1, numLabels]), ids)
  }

  /// HF's QA loss: positions clamped to [0, S], S ignored, mean of start and end losses.
  static func questionAnswering(start: Tensor, end: Tensor, startPositions: Tensor, endPositions: Tensor) -> Tensor {
    let s = start.shape[1]
    func clamped(_ p: Tensor) -> Tensor {
      let v = p.to(.int64).int64s.map { min(max($0, 0), Int64(s)) }
      return Tensor(v, shape: [v.count], device: start.device)
    }
    let a = crossEntropy(start, clamped(startPositions), ignoreIndex: s)
    let b = crossEntropy(end, clamped(endPositions), ignoreIndex: s)
    return (a + b) * 0.5
  }

  static func same(_ a: Tensor, _ b: Tensor, _ what: String) throws {
    guard a.shape == b.shape else { throw LoomError("\(what) have shape \(b.shape), logits have \(a.shape)") }
  }

  /// Logits [B, S, V] of the masked-LM head, or [N, V] for labelled rows only.
  static func labelledRows(_ hidden: Tensor, labels: Tensor) -> (rows: Tensor, targets: Tensor) {
    let c = hidden.shape[hidden.rank - 1]
    let flat = labels.to(.int64).reshape([-1]).int64s
    var idx: [Int64] = [], targets: [Int64] = []
    for (i, l) in flat.enumerated() where l != -100 {
      idx.append(Int64(i))
      targets.append(l)
    }
    let index = Tensor(idx, shape: [idx.count], device: hidden.device)
    return (
      hidden.reshape([-1, c]).indexSelect(dim: 0, index: index),
      Tensor(targets, shape: [targets.count], device: hidden.device)
    )
  }
}
