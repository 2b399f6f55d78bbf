import Foundation
import LoomCore
import LoomTrain

/// Tokenised examples for fine-tuning: ids (and token types) per example, padded per batch
/// to its longest row (HF's `DataCollatorWithPadding`), or to `fixedLength` when evaluation
/// must stack logits of every batch. Per-example integer targets (`labels`,
/// `start_positions`, …) become [B] tensors; per-token labels are padded with −100.
struct EncodedExamples: TrainingDataset {
  var inputIds: [[Int]]
  var tokenTypeIds: [[Int]]?
  var targets: [String: [Int]] = [:]
  var tokenLabels: [[Int]]? = nil
  var padId: Int
  var fixedLength: Int? = nil

  var count: Int { inputIds.count }

  func batch(_ indices: [Int]) -> Batch {
    let width = fixedLength ?? indices.map { inputIds[$0].count }.max() ?? 0
    let b = indices.count
    var ids = [Int64](repeating: Int64(padId), count: b * width)
    var mask = [Int64](repeating: 0, count: b * width)
    var types = [Int64](repeating: 0, count: b * width)
    var tokenTargets = [Int64](repeating: -100, count: tokenLabels == nil ? 0 : b * width)
    for (r, i) in indices.enumerated() {
      for (j, id) in inputIds[i].prefix(width).enumerated() {
        ids[r * width + j] = Int64(id)
        mask[r * width + j] = 1
        if let t = tokenTypeIds { types[r * width + j] = Int64(t[i][j]) }
        if let l = tokenLabels { tokenTargets[r * width + j] = Int64(l[i][j]) }
      }
    }
    var t: [String: Tensor] = [
      Batch.Key.inputIds: Tensor(ids, shape: [b, width]),
      Batch.Key.attentionMask: Tensor(mask, shape: [b, width]),
    ]
    if tokenTypeIds != nil { t[Batch.Key.tokenTypeIds] = Tensor(types, shape: [b, width]) }
    if tokenLabels != nil { t[Batch.Key.labels] = Tensor(tokenTargets, shape: [b, width]) }
    for (k, v) in targets { t[k] = Tensor(indices.map { Int64(v[$0]) }, shape: [b]) }
    return Batch(t, mainInputName: Batch.Key.inputIds)
  }
}
