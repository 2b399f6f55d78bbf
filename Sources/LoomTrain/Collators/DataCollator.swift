import LoomCore

/// One tokenized example as collators take it: feature name → integer sequence (HF's
/// dict of lists). Scalar features (`label`, `next_sentence_label`, …) are one-element
/// arrays.
public typealias Features = [String: [Int]]

/// HF's data collators: a list of examples → one padded, named `Batch` of int64 tensors.
/// Collators take special-token ids and the vocabulary size as plain values, so LoomTrain
/// does not depend on LoomTokenizers.
public protocol DataCollator {
  func callAsFunction(_ features: [Features]) throws -> Batch
}

/// Padding shared by the collators (HF's `tokenizer.pad`): right (or left) padding to the
/// longest example, rounded up to `padToMultipleOf`, or to a fixed `maxLength`.
public struct PaddingOptions: Sendable, Equatable {
  public var padTokenId: Int
  public var padToMultipleOf: Int?
  /// Pad every batch to this length (HF's padding="max_length") instead of the longest.
  public var maxLength: Int?
  public var left = false

  public init(padTokenId: Int, padToMultipleOf: Int? = nil, maxLength: Int? = nil, left: Bool = false) {
    self.padTokenId = padTokenId
    self.padToMultipleOf = padToMultipleOf
    self.maxLength = maxLength
    self.left = left
  }

  /// Features that are one value per example, not per token.
  public static let scalarKeys: Set<String> = [
    "label", "labels", "label_ids", "next_sentence_label", "sentence_order_label",
    "start_positions", "end_positions",
  ]

  /// The value a padded position of `key` gets.
  func padValue(_ key: String, labelPad: Int) -> Int {
    switch key {
    case "input_ids": return padTokenId
    case "special_tokens_mask": return 1
    case "labels": return labelPad
    case "word_ids": return -1
    default: return 0
    }
  }

  func length(for longest: Int) -> Int {
    var n = maxLength ?? longest
    if let m = padToMultipleOf, m > 0, n % m != 0 { n += m - n % m }
    return n
  }

  /// Pads the sequence features of `features` into [B, L] int64 tensors and stacks the
  /// scalar ones into [B]; adds `attention_mask` when the examples lack one. `sequenceLabels`
  /// pads `labels` per token (with `labelPad`) instead of treating it as a scalar.
  func collate(_ features: [Features], sequenceLabels: Bool = false, labelPad: Int = -100) throws
    -> [String: [[Int]]]
  {
    guard let first = features.first else { throw LoomError("data collator: no examples") }
    guard let ids0 = first["input_ids"] else {
      throw LoomError(
        "data collator: the examples have no 'input_ids' (they have \(first.keys.sorted().joined(separator: ", "))); tokenize the text first"
      )
    }
    _ = ids0
    // HF renames `label` to `labels`.
    let renamed = features.map { f -> Features in
      var g = f
      if let l = g.removeValue(forKey: "label") { g["labels"] = l }
      if let l = g.removeValue(forKey: "label_ids") { g["labels"] = l }
      return g
    }
    let keys = Set(renamed[0].keys)
    for (i, f) in renamed.enumerated() where Set(f.keys) != keys {
      throw LoomError(
        "data collator: example \(i) has features \(f.keys.sorted()), example 0 has \(keys.sorted())")
    }
    let longest = renamed.map { $0["input_ids"]!.count }.max()!
    let L = length(for: longest)
    if let m = maxLength, longest > m {
      throw LoomError(
        "data collator: an example has \(longest) tokens, more than max_length \(m); truncate when tokenizing")
    }
    var out = [String: [[Int]]]()
    for key in keys {
      let scalar = Self.scalarKeys.contains(key) && !(sequenceLabels && key == "labels")
      if scalar {
        out[key] = try renamed.enumerated().map { i, f in
          guard f[key]!.count == 1 else {
            throw LoomError("data collator: '\(key)' of example \(i) has \(f[key]!.count) values, expected one")
          }
          return f[key]!
        }
        continue
      }
      let pad = padValue(key, labelPad: labelPad)
      out[key] = try renamed.enumerated().map { i, f in
        let s = f[key]!
        guard s.count == f["input_ids"]!.count else {
          throw LoomError(
            "data collator: '\(key)' of example \(i) has \(s.count) values but input_ids has \(f["input_ids"]!.count)")
        }
        let fill = [Int](repeating: pad, count: L - s.count)
        return left ? fill + s : s + fill
      }
    }
    if out["attention_mask"] == nil {
      out["attention_mask"] = renamed.map { f in
        let n = f["input_ids"]!.count
        let ones = [Int](repeating: 1, count: n), zeros = [Int](repeating: 0, count: L - n)
        return left ? zeros + ones : ones + zeros
      }
    }
    return out
  }
}

extension Batch {
  /// A batch of int64 tensors from rows of ints ([B] for scalar features, [B, L] else).
  static func ints(_ columns: [String: [[Int]]], scalarKeys: Set<String>) -> Batch {
    var t = [String: Tensor]()
    for (k, rows) in columns {
      let b = rows.count
      if scalarKeys.contains(k) {
        t[k] = Tensor(rows.map { Int64($0[0]) }, shape: [b])
      } else {
        let l = rows.first?.count ?? 0
        t[k] = Tensor(rows.flatMap { $0.map(Int64.init) }, shape: [b, l])
      }
    }
    return Batch(t)
  }
}

/// HF's `DataCollatorWithPadding` for sequence classification: pads `input_ids`,
/// `attention_mask`, `token_type_ids`; `label`/`labels` become a [B] `labels` tensor.
public struct DataCollatorWithPadding: DataCollator {
  public var padding: PaddingOptions
  public init(padTokenId: Int, padToMultipleOf: Int? = nil, maxLength: Int? = nil) {
    padding = PaddingOptions(padTokenId: padTokenId, padToMultipleOf: padToMultipleOf, maxLength: maxLength)
  }
  public func callAsFunction(_ features: [Features]) throws -> Batch {
    let cols = try padding.collate(features)
    return .ints(cols, scalarKeys: PaddingOptions.scalarKeys)
  }
}

/// HF's `DataCollatorForTokenClassification`: like padding, with per-token `labels` padded
/// with `labelPadTokenId` (−100, ignored by the loss).
public struct DataCollatorForTokenClassification: DataCollator {
  public var padding: PaddingOptions
  public var labelPadTokenId: Int
  public init(padTokenId: Int, labelPadTokenId: Int = -100, padToMultipleOf: Int? = nil) {
    padding = PaddingOptions(padTokenId: padTokenId, padToMultipleOf: padToMultipleOf)
    self.labelPadTokenId = labelPadTokenId
  }
  public func callAsFunction(_ features: [Features]) throws -> Batch {
    let cols = try padding.collate(features, sequenceLabels: true, labelPad: labelPadTokenId)
    return .ints(cols, scalarKeys: PaddingOptions.scalarKeys.subtracting(["labels"]))
  }
}

/// Any examples + a collator as a `TrainingDataset` the Trainer batches (HF's Dataset and
/// `data_collator` pair). The collator is checked on the first examples up front so a
/// malformed dataset fails before training starts.
public final class CollatedDataset: TrainingDataset, @unchecked Sendable {
  public let examples: [Features]
  public let collator: any DataCollator

  public init(examples: [Features], collator: any DataCollator) throws {
    guard !examples.isEmpty else { throw LoomError("dataset: no examples") }
    let keys = Set(examples[0].keys)
    for (i, e) in examples.enumerated() where Set(e.keys) != keys {
      throw LoomError("dataset: example \(i) has features \(e.keys.sorted()), example 0 has \(keys.sorted())")
    }
    self.examples = examples
    self.collator = collator
    _ = try collator(Array(examples.prefix(2)))
  }

  public var count: Int { examples.count }

  public func batch(_ indices: [Int]) -> Batch {
    do {
      return try collator(indices.map { examples[$0] })
    } catch {
      preconditionFailure("data collator failed on examples \(indices.prefix(8)): \(error)")
    }
  }
}
