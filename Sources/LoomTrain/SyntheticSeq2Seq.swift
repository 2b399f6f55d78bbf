import LoomCore

/// The classic from-scratch tasks for an encoder–decoder (reverse or sort a random token
/// sequence): source/target pairs batched as a seq2seq model reads them — `input_ids`
/// right-padded with `pad` and its `attention_mask`, `labels` = target + eos, padded with
/// −100 (the model shifts them into decoder_input_ids).
public struct SyntheticSeq2SeqDataset: TrainingDataset {
  public enum Task: String, Sendable {
    case reverse, sort

    public func target(_ source: [Int]) -> [Int] {
      self == .reverse ? Array(source.reversed()) : source.sorted()
    }
  }

  public let task: Task
  public let sources: [[Int]]
  public let pad: Int
  public let eos: Int

  /// `count` distinct sequences of `lengths` tokens drawn uniformly from `tokens`, none of
  /// them in `excluding` (a held-out set), from a seeded generator.
  public init(
    task: Task, count: Int, lengths: ClosedRange<Int>, tokens: Range<Int>, pad: Int, eos: Int,
    seed: UInt64, excluding: Set<[Int]> = []
  ) throws {
    guard count > 0, lengths.lowerBound > 0, tokens.count > 1 else {
      throw LoomError(
        "SyntheticSeq2SeqDataset: count (\(count)), the shortest length (\(lengths.lowerBound)) and the token range size (\(tokens.count)) must be positive (tokens at least 2)"
      )
    }
    var possible = 0.0
    for n in lengths { possible += Double(tokens.count).power(n) }
    guard Double(count + excluding.count) <= possible / 2 else {
      throw LoomError(
        "SyntheticSeq2SeqDataset: \(count) distinct sequences (beside \(excluding.count) held out) is too many for \(Int(min(possible, 1e15))) possible ones; use longer sequences or more tokens"
      )
    }
    let g = Generator(seed: seed)
    var seen = excluding
    var out: [[Int]] = []
    while out.count < count {
      let n = lengths.lowerBound + g.nextInt(below: lengths.count)
      let s = (0..<n).map { _ in tokens.lowerBound + g.nextInt(below: tokens.count) }
      if seen.insert(s).inserted { out.append(s) }
    }
    (self.task, sources, self.pad, self.eos) = (task, out, pad, eos)
  }

  public var count: Int { sources.count }

  /// The expected output of example `i` (without eos).
  public func target(_ i: Int) -> [Int] { task.target(sources[i]) }

  public func batch(_ indices: [Int]) -> Batch {
    let rows = indices.map { sources[$0] }
    let s = rows.map(\.count).max() ?? 1
    let t = s + 1
    var ids = [Int64](), mask = [Int64](), labels = [Int64]()
    for row in rows {
      ids += row.map(Int64.init) + [Int64](repeating: Int64(pad), count: s - row.count)
      mask += [Int64](repeating: 1, count: row.count) + [Int64](repeating: 0, count: s - row.count)
      let target = task.target(row).map(Int64.init) + [Int64(eos)]
      labels += target + [Int64](repeating: -100, count: t - target.count)
    }
    let b = rows.count
    return Batch([
      Batch.Key.inputIds: Tensor(ids, shape: [b, s]),
      Batch.Key.attentionMask: Tensor(mask, shape: [b, s]),
      Batch.Key.labels: Tensor(labels, shape: [b, t]),
    ])
  }
}

extension Double {
  fileprivate func power(_ n: Int) -> Double { (0..<n).reduce(1) { r, _ in r * self } }
}
