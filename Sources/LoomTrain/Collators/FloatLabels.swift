import LoomCore

/// HF's `DataCollatorWithPadding` for float targets (regression, multi-label 0/1 vectors).
/// Collator features hold only ints, so each example carries the index of its target row as
/// `label_row`; `labels` becomes a float32 [B] tensor for one value per example (HF's
/// regression with num_labels 1) or [B, K] for K values.
public struct DataCollatorWithFloatLabels: DataCollator {
  public static let rowKey = "label_row"
  public var padding: PaddingOptions
  public let targets: [[Float]]

  public init(padTokenId: Int, targets: [[Float]], padToMultipleOf: Int? = nil) throws {
    guard let k = targets.first?.count, k > 0, targets.allSatisfy({ $0.count == k }) else {
      throw LoomError("float labels: every target row needs the same number (≥ 1) of values")
    }
    padding = PaddingOptions(padTokenId: padTokenId, padToMultipleOf: padToMultipleOf)
    self.targets = targets
  }

  public func callAsFunction(_ features: [Features]) throws -> Batch {
    var rest = features
    var flat = [Float]()
    for i in rest.indices {
      guard let r = rest[i].removeValue(forKey: Self.rowKey) else {
        throw LoomError("float labels: example \(i) has no '\(Self.rowKey)' feature")
      }
      guard r.count == 1, let row = r.first, targets.indices.contains(row) else {
        throw LoomError(
          "float labels: \(Self.rowKey) \(r) of example \(i) is not one index in 0..<\(targets.count)"
        )
      }
      flat += targets[row]
    }
    var batch = Batch.ints(try padding.collate(rest), scalarKeys: PaddingOptions.scalarKeys)
    let k = targets[0].count
    batch[Batch.Key.labels] = Tensor(flat, shape: k == 1 ? [rest.count] : [rest.count, k])
    return batch
  }
}
