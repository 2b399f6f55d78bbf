import Foundation
import LoomCore
import LoomTokenizers
import LoomTrain

/// Masked-LM examples: token rows with their special-token masks, padded per batch, masked
/// afresh each epoch by `mask` (a `DataCollatorForLanguageModeling`).
struct MaskedLMExamples: TrainingDataset {
  var rows: [[Int]]
  var special: [[Bool]]
  var padId: Int
  var tokenTypes: Bool
  /// Token type ids per row (sentence pairs); zeros when nil.
  var typeIds: [[Int]]? = nil
  /// `next_sentence_label` per row (NSP pretraining).
  var nextSentenceLabels: [Int]? = nil
  /// (ids [B, S], special [B, S], epoch, indices) → (masked input ids, labels with −100).
  var mask: @Sendable ([[Int]], [[Bool]], Int, [Int]) -> (inputs: [[Int]], labels: [[Int]])

  var count: Int { rows.count }

  func batch(_ indices: [Int]) -> Batch { batch(indices, epoch: 0) }

  func batch(_ indices: [Int], epoch: Int) -> Batch {
    let width = indices.map { rows[$0].count }.max() ?? 0
    let padded = indices.map { rows[$0] + Array(repeating: padId, count: width - rows[$0].count) }
    let specials = indices.map { special[$0] + Array(repeating: true, count: width - special[$0].count) }
    let (inputs, labels) = mask(padded, specials, epoch, indices)
    let b = indices.count
    var t: [String: Tensor] = [
      Batch.Key.inputIds: Tensor(inputs.joined().map(Int64.init), shape: [b, width]),
      Batch.Key.labels: Tensor(labels.joined().map(Int64.init), shape: [b, width]),
      Batch.Key.attentionMask: Tensor(
        indices.flatMap { i in (0..<width).map { Int64($0 < rows[i].count ? 1 : 0) } }, shape: [b, width]),
    ]
    if tokenTypes {
      let types = indices.flatMap { i in (0..<width).map { j in Int64(typeIds.map { j < $0[i].count ? $0[i][j] : 0 } ?? 0) } }
      t[Batch.Key.tokenTypeIds] = Tensor(types, shape: [b, width])
    }
    if let nsp = nextSentenceLabels { t["next_sentence_label"] = Tensor(indices.map { Int64(nsp[$0]) }, shape: [b]) }
    return Batch(t, mainInputName: Batch.Key.inputIds)
  }

  /// HF run_mlm's `group_texts`: every line tokenised with its special tokens, concatenated,
  /// cut into blocks of `blockSize` (the remainder dropped, unless it is all there is).
  static func grouped(_ encodings: [Encoding], blockSize: Int) -> (rows: [[Int]], special: [[Bool]]) {
    var ids = [Int](), special = [Bool]()
    for e in encodings {
      ids += e.ids.map(Int.init)
      special += e.specialTokensMask.map { $0 != 0 }
    }
    var n = ids.count / blockSize * blockSize
    if n == 0 { n = ids.count }
    var rows = [[Int]](), masks = [[Bool]]()
    for start in stride(from: 0, to: n, by: blockSize) {
      let end = min(start + blockSize, n)
      rows.append(Array(ids[start..<end]))
      masks.append(Array(special[start..<end]))
    }
    return (rows, masks)
  }
}
