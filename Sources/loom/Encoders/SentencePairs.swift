import Foundation
import LoomCore

/// Next-sentence-prediction pairs (BERT's pretraining data, HF's
/// `TextDatasetForNextSentencePrediction` reduced to one sentence a side): documents are
/// separated by blank lines, sentences are lines; each sentence with a successor in its
/// document makes a pair whose second half is that successor (label 0) or, with
/// probability 0.5, a random sentence of another document (label 1).
enum SentencePairs {
  static func documents(_ lines: [String]) -> [[String]] {
    var docs: [[String]] = [[]]
    for line in lines {
      if line.trimmingCharacters(in: .whitespaces).isEmpty {
        if !docs[docs.count - 1].isEmpty { docs.append([]) }
      } else {
        docs[docs.count - 1].append(line)
      }
    }
    return docs.filter { !$0.isEmpty }
  }

  static func make(_ docs: [[String]], seed: UInt64) throws -> (first: [String], second: [String], labels: [Int]) {
    guard docs.count >= 2 else {
      throw LoomError("--nsp needs at least two documents (separate them with a blank line) to draw random next sentences from")
    }
    var g = SplitMix(seed)
    var a: [String] = [], b: [String] = [], labels: [Int] = []
    for (d, doc) in docs.enumerated() {
      for i in 0..<(doc.count - 1) {
        a.append(doc[i])
        if Double(g.next() >> 11) / Double(1 << 53) < 0.5 {
          var other = Int(g.next() % UInt64(docs.count - 1))
          if other >= d { other += 1 }
          b.append(docs[other][Int(g.next() % UInt64(docs[other].count))])
          labels.append(1)
        } else {
          b.append(doc[i + 1])
          labels.append(0)
        }
      }
    }
    guard !a.isEmpty else { throw LoomError("--nsp: no document has two consecutive sentences (lines)") }
    return (a, b, labels)
  }
}
