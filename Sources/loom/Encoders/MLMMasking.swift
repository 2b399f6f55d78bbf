import Foundation

/// `DataCollatorForLanguageModeling(mlm_probability=p)`'s masking of one batch: each
/// non-special token is chosen with probability p; chosen tokens become the mask token
/// (80 %), a random token (10 %) or stay (10 %); labels are the original ids at chosen
/// positions and −100 elsewhere. Draws are seeded by (seed, epoch, batch), so a resumed
/// run masks the same way.
struct MLMMasking: Sendable {
  var probability: Double
  var maskTokenId: Int
  var vocabSize: Int
  var seed: UInt64

  func callAsFunction(_ ids: [[Int]], _ special: [[Bool]], epoch: Int, indices: [Int]) -> (inputs: [[Int]], labels: [[Int]]) {
    var g = SplitMix(seed ^ (UInt64(epoch) &* 0x9E37_79B9) ^ (UInt64(indices.first ?? 0) &* 0xD1B5_4A32_D192_ED03))
    func uniform() -> Double { Double(g.next() >> 11) / Double(1 << 53) }
    var inputs = ids
    var labels = ids.map { $0.map { _ in -100 } }
    for r in ids.indices {
      for j in ids[r].indices where !special[r][j] && uniform() < probability {
        labels[r][j] = ids[r][j]
        if uniform() < 0.8 {
          inputs[r][j] = maskTokenId
        } else if uniform() < 0.5 {
          inputs[r][j] = Int(g.next() % UInt64(vocabSize))
        }
      }
    }
    return (inputs, labels)
  }
}
