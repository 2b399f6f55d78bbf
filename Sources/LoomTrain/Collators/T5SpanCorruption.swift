import LoomCore

/// T5's span corruption, as Hugging Face's run_t5_mlm_flax.py (`random_spans_noise_mask`,
/// `create_sentinel_ids`, `filter_input_ids` of `FlaxDataCollatorForT5MLM`): about
/// `noiseDensity` of the tokens, in spans of mean length `meanNoiseSpanLength`, are dropped
/// from the input, each span replaced by one sentinel (`<extra_id_0>`, `<extra_id_1>`, … whose
/// ids count down from `firstSentinelId`, the vocabulary's top in T5); the target is the
/// sentinels each followed by the span they replaced. Both end with EOS.
public struct T5SpanCorruption: Seq2SeqNoise {
  public var noiseDensity = 0.15
  public var meanNoiseSpanLength = 3.0
  public let eosTokenId: Int
  /// The id of `<extra_id_0>`; `<extra_id_k>` is `firstSentinelId − k`.
  public let firstSentinelId: Int

  public init(eosTokenId: Int, firstSentinelId: Int, noiseDensity: Double = 0.15, meanNoiseSpanLength: Double = 3) throws {
    guard noiseDensity > 0, noiseDensity < 1 else {
      throw LoomError("T5 span corruption: noise density must be in (0, 1), got \(noiseDensity)")
    }
    guard meanNoiseSpanLength >= 1 else {
      throw LoomError("T5 span corruption: mean noise span length must be ≥ 1, got \(meanNoiseSpanLength)")
    }
    self.eosTokenId = eosTokenId
    self.firstSentinelId = firstSentinelId
    self.noiseDensity = noiseDensity
    self.meanNoiseSpanLength = meanNoiseSpanLength
  }

  /// Python's `round` (half to even), which HF's lengths use.
  static func pyRound(_ x: Double) -> Int { Int(x.rounded(.toNearestOrEven)) }

  /// HF's `compute_input_and_target_lengths`: the raw tokens per example so that the corrupted
  /// input is at most `inputsLength` tokens, and the target length that gives.
  public static func inputAndTargetLengths(inputsLength: Int, noiseDensity: Double = 0.15, meanNoiseSpanLength: Double = 3)
    -> (tokensLength: Int, targetsLength: Int)
  {
    func lengths(_ tokens: Int) -> (Int, Int) {
      let noise = pyRound(Double(tokens) * noiseDensity)
      let spans = pyRound(Double(noise) / meanNoiseSpanLength)
      return (tokens - noise + spans + 1, noise + spans + 1)
    }
    var tokens = inputsLength
    while lengths(tokens + 1).0 <= inputsLength { tokens += 1 }
    var (_, targets) = lengths(tokens)
    if noiseDensity == 0.5 && targets > inputsLength {
      tokens -= 1
      targets -= 1
    }
    return (tokens, targets)
  }

  /// The number of noise spans `random_spans_noise_mask` makes for `length` tokens.
  public func noiseSpans(length: Int) -> (noiseTokens: Int, spans: Int) {
    let rawNoise = Self.pyRound(Double(length) * noiseDensity)
    let nonNoise = length - rawNoise
    let noise = min(max(rawNoise, 1), length - 1)
    let spans = max(Self.pyRound(Double(min(noise, nonNoise)) / meanNoiseSpanLength), 1)
    return (noise, spans)
  }

  /// HF's `random_spans_noise_mask(length)` (length ≥ 2): alternating non-noise and noise spans,
  /// starting with non-noise. `shuffle` stands for `np.random.shuffle` of the segmentation masks.
  public func noiseMask(length: Int, shuffle: (inout [Bool]) -> Void) -> [Bool] {
    let (noise, spans) = noiseSpans(length: length)
    func segmentation(_ items: Int, _ segments: Int) -> [Int] {
      var first = (0..<(items - 1)).map { $0 < segments - 1 }
      shuffle(&first)
      var lengths = [1]
      for f in first {
        if f { lengths.append(1) } else { lengths[lengths.count - 1] += 1 }
      }
      return lengths
    }
    let noiseLengths = segmentation(noise, spans)
    let nonNoiseLengths = segmentation(length - noise, spans)
    var mask = [Bool]()
    mask.reserveCapacity(length)
    for (a, b) in zip(nonNoiseLengths, noiseLengths) {
      mask += [Bool](repeating: false, count: a) + [Bool](repeating: true, count: b)
    }
    return mask
  }

  public func noiseMask(length: Int, generator g: Generator) -> [Bool] {
    noiseMask(length: length) { a in
      if a.count > 1 { for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, g.nextInt(below: i + 1)) } }
    }
  }

  /// `create_sentinel_ids` then `filter_input_ids` for one row: each run of masked positions
  /// becomes its sentinel, the rest of the run is dropped, EOS is appended.
  public func filter(_ tokens: [Int], mask: [Bool]) -> [Int] {
    var out = [Int]()
    var span = 0
    for (i, t) in tokens.enumerated() {
      if !mask[i] {
        out.append(t)
      } else if i == 0 || !mask[i - 1] {
        out.append(firstSentinelId - span)
        span += 1
      }
    }
    return out + [eosTokenId]
  }

  public func apply(_ tokens: [Int], generator: Generator) -> (source: [Int], target: [Int]) {
    guard tokens.count >= 2 else { return (tokens + [eosTokenId], tokens + [eosTokenId]) }
    let mask = noiseMask(length: tokens.count, generator: generator)
    return (filter(tokens, mask: mask), filter(tokens, mask: mask.map { !$0 }))
  }
}
