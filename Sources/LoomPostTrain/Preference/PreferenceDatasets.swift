import LoomCore
import LoomTrain

/// trl's batch keys beyond HF's model inputs.
public enum PreferenceKey {
  public static let completionMask = "completion_mask"
  public static let margin = "margin"
  public static let refChosenLogps = "ref_chosen_logps"
  public static let refRejectedLogps = "ref_rejected_logps"
}

/// Right-pads rows of ids into one [rows, longest] int64 tensor.
func padRows(_ rows: [[Int]], value: Int) -> Tensor {
  let width = rows.map(\.count).max() ?? 0
  var flat = [Int64]()
  flat.reserveCapacity(rows.count * width)
  for r in rows {
    flat += r.map(Int64.init)
    flat += Array(repeating: Int64(value), count: width - r.count)
  }
  return Tensor(flat, shape: [rows.count, width])
}

/// DPO's batches (trl's `DataCollatorForPreference`): the first half of the rows is every
/// pair's prompt + chosen, the second half prompt + rejected, each truncated to `maxLength`
/// from the end (keep_start) and right-padded; `completion_mask` is 1 on completion tokens.
public struct PreferenceDataset: TrainingDataset {
  public let pairs: [TokenizedPreference]
  public let padTokenId: Int
  public let maxLength: Int?

  public init(_ pairs: [TokenizedPreference], padTokenId: Int, maxLength: Int? = nil) {
    self.pairs = pairs
    self.padTokenId = padTokenId
    self.maxLength = maxLength
  }

  public var count: Int { pairs.count }

  /// Whether the rows carry precomputed reference log-probabilities.
  public var hasReferenceLogps: Bool { pairs.first?.refChosenLogps != nil }

  public func batch(_ indices: [Int]) -> Batch {
    let examples = indices.map { pairs[$0] }
    func cut<T>(_ a: [T]) -> [T] { maxLength.map { Array(a.prefix($0)) } ?? a }
    let ids = examples.map { cut($0.promptChosenIds) } + examples.map { cut($0.promptRejectedIds) }
    let masks =
      examples.map { cut(Array(repeating: 0, count: $0.promptIds.count) + Array(repeating: 1, count: $0.chosenIds.count)) }
      + examples.map { cut(Array(repeating: 0, count: $0.promptIds.count) + Array(repeating: 1, count: $0.rejectedIds.count)) }
    var tensors = [
      Batch.Key.inputIds: padRows(ids, value: padTokenId),
      Batch.Key.attentionMask: padRows(ids.map { Array(repeating: 1, count: $0.count) }, value: 0),
      PreferenceKey.completionMask: padRows(masks, value: 0),
    ]
    if hasReferenceLogps {
      tensors[PreferenceKey.refChosenLogps] = Tensor(examples.map { Float($0.refChosenLogps ?? 0) })
      tensors[PreferenceKey.refRejectedLogps] = Tensor(examples.map { Float($0.refRejectedLogps ?? 0) })
    }
    return Batch(tensors, mainInputName: Batch.Key.inputIds)
  }

  /// The same pairs with the reference model's log-probabilities attached (trl's
  /// `precompute_ref_log_probs`), computed batch by batch by `logps`.
  public func withReferenceLogps(batchSize: Int, _ logps: (Batch) -> (chosen: [Double], rejected: [Double]))
    -> PreferenceDataset
  {
    var out = pairs
    for start in stride(from: 0, to: pairs.count, by: batchSize) {
      let indices = Array(start..<min(start + batchSize, pairs.count))
      let (c, r) = logps(batch(indices))
      for (k, i) in indices.enumerated() {
        out[i].refChosenLogps = c[k]
        out[i].refRejectedLogps = r[k]
      }
    }
    return PreferenceDataset(out, padTokenId: padTokenId, maxLength: maxLength)
  }
}

/// A reward model's batches (trl's `DataCollatorForPreference` in reward_trainer.py): chosen
/// sequences then rejected ones, right-padded, with `margin` when the rows have one.
public struct RewardDataset: TrainingDataset {
  public let pairs: [TokenizedPreference]
  public let padTokenId: Int

  public init(_ pairs: [TokenizedPreference], padTokenId: Int) {
    self.pairs = pairs
    self.padTokenId = padTokenId
  }

  public var count: Int { pairs.count }

  public func batch(_ indices: [Int]) -> Batch {
    let examples = indices.map { pairs[$0] }
    let ids = examples.map(\.promptChosenIds) + examples.map(\.promptRejectedIds)
    var tensors = [
      Batch.Key.inputIds: padRows(ids, value: padTokenId),
      Batch.Key.attentionMask: padRows(ids.map { Array(repeating: 1, count: $0.count) }, value: 0),
    ]
    if examples.first?.margin != nil {
      tensors[PreferenceKey.margin] = Tensor(examples.map { Float($0.margin ?? 0) })
    }
    return Batch(tensors, mainInputName: Batch.Key.inputIds)
  }
}
