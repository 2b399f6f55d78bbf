import LoomCore

/// HF's `TextDatasetForNextSentencePrediction`: BERT pretraining pairs from documents of
/// tokenized sentences. Sentences are packed up to the target length (shorter with
/// `shortSeqProbability`), split at a random point into A and B; with `nspProbability`
/// (or when only one segment is there) B is replaced by text from a random other document
/// (`next_sentence_label` 1), else B is the actual continuation (label 0). Pairs are cut
/// to fit by dropping tokens from a random end of the longer side, and framed as
/// `[CLS] A [SEP] B [SEP]` with token types 0 and 1. Feed the result to
/// `DataCollatorForLanguageModeling` for the masked-LM half.
public struct NextSentencePairs {
  public var blockSize: Int
  public var clsTokenId: Int
  public var sepTokenId: Int
  public var shortSeqProbability = 0.1
  public var nspProbability = 0.5

  public init(
    blockSize: Int, clsTokenId: Int, sepTokenId: Int, shortSeqProbability: Double = 0.1,
    nspProbability: Double = 0.5
  ) throws {
    guard blockSize >= 5 else {
      throw LoomError("next-sentence pairs need a block size of at least 5 tokens, got \(blockSize)")
    }
    self.blockSize = blockSize
    self.clsTokenId = clsTokenId
    self.sepTokenId = sepTokenId
    self.shortSeqProbability = shortSeqProbability
    self.nspProbability = nspProbability
  }

  /// Examples (`input_ids`, `token_type_ids`, `next_sentence_label`) from `documents`
  /// (each a list of tokenized sentences; empty sentences and documents are skipped).
  public func examples(documents raw: [[[Int]]], seed: UInt64 = 42) throws -> [Features] {
    let documents = raw.map { $0.filter { !$0.isEmpty } }.filter { !$0.isEmpty }
    guard documents.count >= 2 else {
      throw LoomError(
        "next-sentence prediction needs at least two documents (blank lines separate documents), got \(documents.count)"
      )
    }
    let g = Generator(seed: seed)
    func randint(_ a: Int, _ b: Int) -> Int { a + g.nextInt(below: b - a + 1) }
    let maxTokens = blockSize - 3
    var out = [Features]()
    for (docIndex, document) in documents.enumerated() {
      var target = maxTokens
      if g.nextDouble() < shortSeqProbability { target = randint(2, maxTokens) }
      var chunk = [[Int]]()
      var length = 0
      var i = 0
      while i < document.count {
        chunk.append(document[i])
        length += document[i].count
        if i == document.count - 1 || length >= target {
          if !chunk.isEmpty {
            let aEnd = chunk.count >= 2 ? randint(1, chunk.count - 1) : 1
            var a = chunk[..<aEnd].flatMap { $0 }
            var b = [Int]()
            let isRandomNext: Bool
            if chunk.count == 1 || g.nextDouble() < nspProbability {
              isRandomNext = true
              let targetB = target - a.count
              var r = 0
              for _ in 0..<10 {
                r = randint(0, documents.count - 1)
                if r != docIndex { break }
              }
              let other = documents[r]
              for j in randint(0, other.count - 1)..<other.count {
                b += other[j]
                if b.count >= targetB { break }
              }
              i -= chunk.count - aEnd
            } else {
              isRandomNext = false
              b = chunk[aEnd...].flatMap { $0 }
            }
            while a.count + b.count > maxTokens {
              let cutA = a.count > b.count
              let front = g.nextDouble() < 0.5
              if cutA {
                if front { a.removeFirst() } else { a.removeLast() }
              } else {
                if front { b.removeFirst() } else { b.removeLast() }
              }
            }
            if !a.isEmpty && !b.isEmpty {
              out.append([
                "input_ids": [clsTokenId] + a + [sepTokenId] + b + [sepTokenId],
                "token_type_ids": [Int](repeating: 0, count: a.count + 2)
                  + [Int](repeating: 1, count: b.count + 1),
                "next_sentence_label": [isRandomNext ? 1 : 0],
              ])
            }
          }
          chunk = []
          length = 0
        }
        i += 1
      }
    }
    return out
  }
}
