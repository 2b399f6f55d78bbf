import LoomCore
import LoomNN

/// HF's `DataCollatorForSeq2Seq`: examples with `input_ids` (the encoder's) and `labels`
/// (the decoder's targets) → `input_ids` padded with `padTokenId`, `attention_mask`, `labels`
/// padded with −100 (ignored by the loss), `decoder_input_ids` = labels shifted right after
/// `decoderStartTokenId` (HF's `shift_tokens_right`: −100 becomes the pad) and
/// `decoder_attention_mask` (1 on the decoder's real positions).
public struct DataCollatorForSeq2Seq: DataCollator {
  public var padTokenId: Int
  public var decoderStartTokenId: Int
  public var labelPadTokenId = -100
  public var padToMultipleOf: Int?

  public init(padTokenId: Int, decoderStartTokenId: Int, labelPadTokenId: Int = -100, padToMultipleOf: Int? = nil) {
    self.padTokenId = padTokenId
    self.decoderStartTokenId = decoderStartTokenId
    self.labelPadTokenId = labelPadTokenId
    self.padToMultipleOf = padToMultipleOf
  }

  /// HF's `shift_tokens_right` of one row of labels.
  public static func shiftRight(_ labels: [Int], start: Int, pad: Int) -> [Int] {
    guard !labels.isEmpty else { return [] }
    return ([start] + labels.dropLast()).map { $0 == -100 ? pad : $0 }
  }

  public func callAsFunction(_ features: [Features]) throws -> Batch {
    guard !features.isEmpty else { throw LoomError("seq2seq collator: no examples") }
    for (i, f) in features.enumerated() {
      guard let ids = f["input_ids"], let labels = f["labels"] else {
        throw LoomError(
          "seq2seq collator: example \(i) needs 'input_ids' and 'labels' (it has \(f.keys.sorted().joined(separator: ", ")))")
      }
      guard !ids.isEmpty, !labels.isEmpty else {
        throw LoomError("seq2seq collator: example \(i) has an empty source or target; drop empty rows first")
      }
    }
    func width(_ key: String) -> Int {
      var n = features.map { $0[key]!.count }.max()!
      if let m = padToMultipleOf, m > 0, n % m != 0 { n += m - n % m }
      return n
    }
    let (s, t) = (width("input_ids"), width("labels"))
    func padded(_ row: [Int], to n: Int, with v: Int) -> [Int] { row + [Int](repeating: v, count: n - row.count) }
    func mask(_ n: Int, _ w: Int) -> [Int] { [Int](repeating: 1, count: n) + [Int](repeating: 0, count: w - n) }
    let labels = features.map { padded($0["labels"]!, to: t, with: labelPadTokenId) }
    let cols: [String: [[Int]]] = [
      "input_ids": features.map { padded($0["input_ids"]!, to: s, with: padTokenId) },
      "attention_mask": features.map { mask($0["input_ids"]!.count, s) },
      "labels": labels,
      "decoder_input_ids": labels.map { Self.shiftRight($0, start: decoderStartTokenId, pad: padTokenId) },
      "decoder_attention_mask": features.map { mask($0["labels"]!.count, t) },
    ]
    return .ints(cols, scalarKeys: [])
  }
}

/// A noising objective: a source (the corrupted text) and a target from one example's ids,
/// drawing only from `generator`.
public protocol Seq2SeqNoise: Sendable {
  func apply(_ tokens: [Int], generator: Generator) -> (source: [Int], target: [Int])
}

/// Examples for an encoder–decoder: each example's `input_ids` go through `noise` (fresh per
/// epoch, seeded by (seed, epoch, index) so the DataLoader's worker thread may collate), or
/// without noise the examples already hold `input_ids` and `labels` (supervised pairs); then
/// `DataCollatorForSeq2Seq` pads the batch.
public final class Seq2SeqDataset: TrainingDataset, @unchecked Sendable {
  public let examples: [Features]
  public let noise: (any Seq2SeqNoise)?
  public let collator: DataCollatorForSeq2Seq
  public let seed: UInt64
  /// Noised sources longer than this (masks inserted by 0-length spans) lose tokens before the last.
  public let maxSourceLength: Int?

  public init(
    examples: [Features], noise: (any Seq2SeqNoise)?, collator: DataCollatorForSeq2Seq, seed: UInt64,
    maxSourceLength: Int? = nil
  ) throws {
    guard !examples.isEmpty else { throw LoomError("seq2seq dataset: no examples") }
    self.examples = examples
    self.noise = noise
    self.collator = collator
    self.seed = seed
    self.maxSourceLength = maxSourceLength
    _ = try collator(try features(Array(0..<min(2, examples.count)), epoch: 0))
  }

  public var count: Int { examples.count }

  /// The un-padded (input_ids, labels) examples at `indices` for `epoch`.
  public func features(_ indices: [Int], epoch: Int) throws -> [Features] {
    try indices.map { i in
      let f = examples[i]
      guard let noise else { return f }
      guard let ids = f["input_ids"] else {
        throw LoomError("seq2seq dataset: example \(i) has no 'input_ids'")
      }
      let noised = noise.apply(ids, generator: ImageNoise.generator(seed: seed, epoch: epoch, index: i))
      var source = noised.source
      if let m = maxSourceLength, source.count > m, m >= 2 { source = Array(source.prefix(m - 1)) + [source.last!] }
      return ["input_ids": source, "labels": noised.target]
    }
  }

  public func batch(_ indices: [Int]) -> Batch { batch(indices, epoch: 0) }

  public func batch(_ indices: [Int], epoch: Int) -> Batch {
    do {
      return try collator(try features(indices, epoch: epoch))
    } catch {
      preconditionFailure("seq2seq collator failed on examples \(indices.prefix(8)): \(error)")
    }
  }
}

extension Generator {
  /// A uniform random permutation of 0..<n (Fisher–Yates).
  func permutation(_ n: Int) -> [Int] {
    var p = Array(0..<n)
    if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, nextInt(below: i + 1)) } }
    return p
  }
}
