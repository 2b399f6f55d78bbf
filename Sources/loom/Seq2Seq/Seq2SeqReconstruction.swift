import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomNN
import LoomTokenizers
import LoomTrain

/// How well a denoising model restores corrupted held-out examples: greedy reconstructions
/// against the originals, with the corrupted inputs themselves as the baseline. Token accuracy
/// is max(0, 1 − token edit distance / original length), special tokens left out, so a length change
/// (a span collapsed to one mask) counts its tokens once.
struct Seq2SeqReconstruction: Codable {
  var examples: Int
  var corruptedTokenAccuracy: Double
  var reconstructionTokenAccuracy: Double
  var corruptedExactMatch: Double
  var reconstructionExactMatch: Double
  /// The first example as text (special tokens shown) and ids.
  var sample: [String: String]
  var sampleIds: [String: [Int]]

  enum CodingKeys: String, CodingKey {
    case examples, sample
    case sampleIds = "sample_ids"
    case corruptedTokenAccuracy = "corrupted_token_accuracy"
    case reconstructionTokenAccuracy = "reconstruction_token_accuracy"
    case corruptedExactMatch = "corrupted_exact_match"
    case reconstructionExactMatch = "reconstruction_exact_match"
  }

  var summary: String {
    String(
      format: "held-out reconstruction (%ld examples): token accuracy %.4f corrupted input → %.4f greedy reconstruction; exact match %.3f → %.3f",
      examples, corruptedTokenAccuracy, reconstructionTokenAccuracy, corruptedExactMatch, reconstructionExactMatch)
  }

  func write(to path: String) throws {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try e.encode(self).write(to: URL(fileURLWithPath: path))
  }

  /// Levenshtein distance over token ids.
  static func editDistance(_ a: [Int], _ b: [Int]) -> Int {
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
      var current = [i + 1] + [Int](repeating: 0, count: b.count)
      for (j, y) in b.enumerated() {
        current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
      }
      previous = current
    }
    return previous[b.count]
  }

  static func measure(
    model: Module & Seq2SeqLanguageModel, dataset: Seq2SeqDataset, count: Int, tokenizer tok: Tokenizer, padId: Int
  ) throws -> Seq2SeqReconstruction {
    model.eval()
    let specials = Set(tok.allSpecialIds.map(Int.init)).subtracting(tok.maskTokenId.map { [Int($0)] } ?? [])
    func content(_ ids: [Int]) -> [Int] { ids.filter { !specials.contains($0) } }
    let n = min(count, dataset.count)
    let features = try dataset.features(Array(0..<n), epoch: 0)
    var (corrupted, restored, corruptedExact, restoredExact) = (0.0, 0.0, 0, 0)
    var sample = [String: String](), sampleIds = [String: [Int]]()
    // Batched: generation pads encoder inputs on the right, so BART's positions stay put.
    let batch = 8
    for start in stride(from: 0, to: n, by: batch) {
      let rows = Array(features[start..<min(n, start + batch)])
      var g = GenerationConfig()
      g.maxNewTokens = min(rows.map { $0["labels"]!.count }.max()! + 4, model.maxPositions - 1)
      g.eosTokenIds = tok.eosTokenId.map { [Int($0)] } ?? []
      g.padTokenId = padId
      let out = try Generation.generate(model, inputs: rows.map { $0["input_ids"]! }, config: g)
      for (row, generated) in zip(rows, out) {
        let reference = content(row["labels"]!)
        let source = content(row["input_ids"]!), prediction = content(generated)
        let scale = Double(max(1, reference.count))
        corrupted += max(0, 1 - Double(editDistance(source, reference)) / scale)
        restored += max(0, 1 - Double(editDistance(prediction, reference)) / scale)
        corruptedExact += source == reference ? 1 : 0
        restoredExact += prediction == reference ? 1 : 0
        if sample.isEmpty {
          func text(_ ids: [Int]) -> String { tok.decode(ids.map(UInt32.init), skipSpecialTokens: false) }
          sampleIds = ["original": row["labels"]!, "corrupted": row["input_ids"]!, "reconstruction": generated]
          sample = sampleIds.mapValues(text)
        }
      }
    }
    let d = Double(max(1, n))
    return Seq2SeqReconstruction(
      examples: n, corruptedTokenAccuracy: corrupted / d, reconstructionTokenAccuracy: restored / d,
      corruptedExactMatch: Double(corruptedExact) / d, reconstructionExactMatch: Double(restoredExact) / d, sample: sample,
      sampleIds: sampleIds)
  }
}
