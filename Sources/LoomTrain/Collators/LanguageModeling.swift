import LoomCore

/// HF's `DataCollatorForLanguageModeling`. With `mlm`, each non-special, non-padding token
/// is selected with `mlmProbability`; a selected token becomes the mask token with
/// `maskReplaceProb`, a random vocabulary token with `randomReplaceProb`, and stays itself
/// otherwise; `labels` hold the original id at selected positions and −100 elsewhere.
/// Without `mlm`, labels are the inputs with padding at −100 (causal LM). Draws come from
/// `generator` (Loom's Philox stream), so a seed reproduces the masks.
public final class DataCollatorForLanguageModeling: DataCollator, @unchecked Sendable {
  public var padding: PaddingOptions
  public let maskTokenId: Int
  public let vocabSize: Int
  /// Ids never masked (HF: the tokenizer's `all_special_ids`, padding included).
  public let specialTokenIds: Set<Int>
  public var mlm: Bool
  public var mlmProbability: Double
  public var maskReplaceProb: Double
  public var randomReplaceProb: Double
  public let generator: Generator

  public init(
    padTokenId: Int, maskTokenId: Int, vocabSize: Int, specialTokenIds: Set<Int>,
    mlm: Bool = true, mlmProbability: Double = 0.15, maskReplaceProb: Double = 0.8,
    randomReplaceProb: Double = 0.1, padToMultipleOf: Int? = nil, seed: UInt64 = 42
  ) throws {
    guard mlmProbability >= 0, mlmProbability <= 1 else {
      throw LoomError("mlm_probability must be in [0, 1], got \(mlmProbability)")
    }
    guard maskReplaceProb >= 0, randomReplaceProb >= 0, maskReplaceProb + randomReplaceProb <= 1
    else {
      throw LoomError(
        "mask_replace_prob (\(maskReplaceProb)) and random_replace_prob (\(randomReplaceProb)) must be ≥ 0 and sum to at most 1"
      )
    }
    guard vocabSize > 0, (0..<vocabSize).contains(maskTokenId) || !mlm else {
      throw LoomError("mask token id \(maskTokenId) is outside the vocabulary of \(vocabSize)")
    }
    padding = PaddingOptions(padTokenId: padTokenId, padToMultipleOf: padToMultipleOf)
    self.maskTokenId = maskTokenId
    self.vocabSize = vocabSize
    self.specialTokenIds = specialTokenIds.union([padTokenId])
    self.mlm = mlm
    self.mlmProbability = mlmProbability
    self.maskReplaceProb = maskReplaceProb
    self.randomReplaceProb = randomReplaceProb
    generator = Generator(seed: seed)
  }

  public func callAsFunction(_ features: [Features]) throws -> Batch {
    var cols = try padding.collate(features)
    // HF pops special_tokens_mask: it steers masking, the model never sees it.
    let given = cols.removeValue(forKey: "special_tokens_mask")
    let mask = cols["attention_mask"]!
    var ids = cols["input_ids"]!
    var labels: [[Int]]
    if mlm {
      let protect = ids.indices.map { b in
        ids[b].indices.map { i in
          mask[b][i] == 0 || specialTokenIds.contains(ids[b][i]) || (given?[b][i] ?? 0) == 1
        }
      }
      let selected = protect.map { row in row.map { p in !p && generator.nextDouble() < mlmProbability } }
      labels = applyMask(&ids, selected)
    } else {
      labels = ids.indices.map { b in
        ids[b].indices.map { mask[b][$0] == 0 ? -100 : ids[b][$0] }
      }
    }
    cols["input_ids"] = ids
    // A labels column the examples bring (e.g. none for MLM) is replaced, as HF does.
    cols["labels"] = labels
    return .ints(cols, scalarKeys: PaddingOptions.scalarKeys.subtracting(["labels"]))
  }

  /// HF's `torch_mask_tokens` after the selection: labels, then 80/10/10 replacement.
  /// Each step draws one number per position of the batch, as torch.bernoulli does.
  func applyMask(_ ids: inout [[Int]], _ selected: [[Bool]]) -> [[Int]] {
    let labels = ids.indices.map { b in ids[b].indices.map { selected[b][$0] ? ids[b][$0] : -100 } }
    let replaced = selected.map { row in row.map { s in generator.nextDouble() < maskReplaceProb && s } }
    let remaining = 1 - maskReplaceProb
    let scaled = remaining > 0 ? randomReplaceProb / remaining : 0
    for b in ids.indices {
      for i in ids[b].indices where replaced[b][i] { ids[b][i] = maskTokenId }
    }
    if maskReplaceProb == 1 || randomReplaceProb == 0 { return labels }
    for b in ids.indices {
      for i in ids[b].indices {
        let r = generator.nextDouble() < scaled
        if r && selected[b][i] && !replaced[b][i] { ids[b][i] = generator.nextInt(below: vocabSize) }
      }
    }
    return labels
  }
}

/// HF's `DataCollatorForWholeWordMask`: selects whole words (all their sub-tokens) until
/// about `mlmProbability` of the example's tokens are covered, then replaces 80/10/10 like
/// `DataCollatorForLanguageModeling`. Words come from a `word_ids` feature (−1 for special
/// tokens) when the examples have one, else from `continuationTokenIds`, the ids that continue
/// the word before them: WordPiece's "##" pieces, or byte-level BPE's tokens without a leading
/// "Ġ" (`CollatorIds` reads both from a tokenizer). Special tokens end a word. Replacement is
/// the v4 class's 80/10/10 (transformers 5's `whole_word_mask=True` masks all with [MASK]).
public final class DataCollatorForWholeWordMask: DataCollator, @unchecked Sendable {
  public let base: DataCollatorForLanguageModeling
  public let continuationTokenIds: Set<Int>
  /// HF's cap on masked tokens per example.
  public var maxPredictions = 512

  public init(
    padTokenId: Int, maskTokenId: Int, vocabSize: Int, specialTokenIds: Set<Int>,
    continuationTokenIds: Set<Int> = [], mlmProbability: Double = 0.15,
    maskReplaceProb: Double = 0.8, randomReplaceProb: Double = 0.1, padToMultipleOf: Int? = nil,
    seed: UInt64 = 42
  ) throws {
    base = try DataCollatorForLanguageModeling(
      padTokenId: padTokenId, maskTokenId: maskTokenId, vocabSize: vocabSize,
      specialTokenIds: specialTokenIds, mlmProbability: mlmProbability,
      maskReplaceProb: maskReplaceProb, randomReplaceProb: randomReplaceProb,
      padToMultipleOf: padToMultipleOf, seed: seed)
    self.continuationTokenIds = continuationTokenIds
  }

  /// Token index groups, one per word (specials excluded), in order.
  func words(_ f: Features) -> [[Int]] {
    let ids = f["input_ids"]!
    var groups = [[Int]]()
    if let w = f["word_ids"] {
      var last = -1
      for (i, wid) in w.enumerated() {
        if wid < 0 || base.specialTokenIds.contains(ids[i]) {
          last = -1
          continue
        }
        if wid == last, !groups.isEmpty { groups[groups.count - 1].append(i) } else { groups.append([i]) }
        last = wid
      }
      return groups
    }
    // A special token ends the word: "</s> <s> x" starts a new word even when x has no "Ġ".
    var afterSpecial = true
    for (i, id) in ids.enumerated() {
      if base.specialTokenIds.contains(id) {
        afterSpecial = true
        continue
      }
      if continuationTokenIds.contains(id), !afterSpecial {
        groups[groups.count - 1].append(i)
      } else {
        groups.append([i])
      }
      afterSpecial = false
    }
    return groups
  }

  public func callAsFunction(_ features: [Features]) throws -> Batch {
    var cols = try base.padding.collate(features)
    cols["special_tokens_mask"] = nil
    cols["word_ids"] = nil
    let g = base.generator
    let L = cols["input_ids"]![0].count
    let selected = features.map { f -> [Bool] in
      var cand = words(f)
      // Fisher–Yates with Loom's generator (HF: random.shuffle).
      if cand.count > 1 {
        for i in stride(from: cand.count - 1, to: 0, by: -1) { cand.swapAt(i, g.nextInt(below: i + 1)) }
      }
      let n = f["input_ids"]!.count
      let toPredict = min(maxPredictions, max(1, Int((Double(n) * base.mlmProbability).rounded())))
      var covered = Set<Int>()
      for w in cand {
        if covered.count >= toPredict { break }
        if covered.count + w.count > toPredict { continue }
        covered.formUnion(w)
      }
      let row = (0..<n).map { covered.contains($0) }
      let pad = [Bool](repeating: false, count: L - n)
      return base.padding.left ? pad + row : row + pad
    }
    var ids = cols["input_ids"]!
    cols["labels"] = base.applyMask(&ids, selected)
    cols["input_ids"] = ids
    return .ints(cols, scalarKeys: PaddingOptions.scalarKeys.subtracting(["labels"]))
  }
}
