import Foundation
import LoomCore
import LoomModels
import LoomTokenizers

/// Extractive question answering's windows: question + context pairs tokenised with
/// `truncation=only_second`, `max_length`, `stride` and overflowing windows (HF run_qa's
/// `prepare_*_features`), with each token's character span in its context (nil outside it).
public struct QAFeatures {
  public var inputIds: [[Int]] = []
  public var tokenTypeIds: [[Int]] = []
  public var attentionMask: [[Int]] = []
  /// Context character offsets (Unicode scalars, as Python indexes strings); nil for
  /// question, special and padding tokens.
  public var offsets: [[Range<Int>?]] = []
  /// The example (question) each window comes from.
  public var exampleIndex: [Int] = []
  /// Training targets: the answer's first and last token, or 0 (the CLS token) when the
  /// window does not hold the whole answer.
  public var startPositions: [Int] = []
  public var endPositions: [Int] = []

  public var count: Int { inputIds.count }

  /// `answers`: each example's first answer as (text, character start) for training targets.
  public static func prepare(
    tokenizer: Tokenizer, questions: [String], contexts: [String], answers: [(text: String, start: Int)?]? = nil,
    maxLength: Int, stride: Int
  ) throws -> QAFeatures {
    guard stride < maxLength / 2 else {
      throw LoomError("question answering: --doc-stride \(stride) must be less than half of the max length \(maxLength)")
    }
    // Questions are stripped of leading spaces (run_qa does; they waste positions).
    let qs = questions.map { String($0.drop { $0 == " " }) }
    let enc = try tokenizer(
      qs, pairs: contexts, padding: .maxLength, truncation: .onlySecond, maxLength: maxLength, stride: stride,
      returnOverflowingTokens: true)
    var f = QAFeatures()
    for (i, e) in enc.encodings.enumerated() {
      let example = enc.overflowToSampleMapping[i]
      let seq = e.sequenceIds
      let offsets: [Range<Int>?] = e.offsets.indices.map { seq[$0] == 1 ? e.offsets[$0] : nil }
      f.inputIds.append(e.ids.map(Int.init))
      f.tokenTypeIds.append(e.typeIds.map(Int.init))
      f.attentionMask.append(e.attentionMask.map(Int.init))
      f.offsets.append(offsets)
      f.exampleIndex.append(example)
      var (s, t) = (0, 0)
      if let answer = answers?[example] ?? nil {
        let (a, b) = (answer.start, answer.start + answer.text.unicodeScalars.count)
        let inContext = offsets.indices.filter { offsets[$0] != nil }
        if let first = inContext.first, let last = inContext.last, offsets[first]!.lowerBound <= a,
          offsets[last]!.upperBound >= b
        {
          s = inContext.last { offsets[$0]!.lowerBound <= a } ?? first
          t = inContext.first { offsets[$0]!.upperBound >= b } ?? last
        }
      }
      f.startPositions.append(s)
      f.endPositions.append(t)
    }
    return f
  }

  /// HF's `postprocess_qa_predictions`: per example, the `nBest` best start and end logits
  /// of each window, spans inside the context with start ≤ end < start + maxAnswerLength,
  /// scored by start + end logit; the best span's text (or "" when none is valid).
  public func bestAnswers(
    startLogits: [[Float]], endLogits: [[Float]], contexts: [String], nBest: Int = 20, maxAnswerLength: Int = 30
  ) -> [(text: String, score: Float)] {
    var best = [(text: String, score: Float)?](repeating: nil, count: contexts.count)
    let scalars = contexts.map { Array($0.unicodeScalars) }
    for w in 0..<count {
      let ex = exampleIndex[w]
      let off = offsets[w]
      let starts = startLogits[w].indices.sorted { startLogits[w][$0] > startLogits[w][$1] }.prefix(nBest)
      let ends = endLogits[w].indices.sorted { endLogits[w][$0] > endLogits[w][$1] }.prefix(nBest)
      for s in starts {
        for e in ends {
          guard let a = off[s], let b = off[e], e >= s, e - s + 1 <= maxAnswerLength else { continue }
          let score = startLogits[w][s] + endLogits[w][e]
          if best[ex] == nil || score > best[ex]!.score {
            let text = String(String.UnicodeScalarView(scalars[ex][a.lowerBound..<b.upperBound]))
            best[ex] = (text, score)
          }
        }
      }
    }
    return best.map { $0 ?? ("", -Float.infinity) }
  }
}

/// Hugging Face's `pipeline("question-answering")`: the best answer span of a context with
/// its probability (softmax over the context tokens of start and end, product of the two),
/// character start and end.
public final class QuestionAnsweringPipeline {
  public let parts: EncoderPipelineParts

  public init(parts: EncoderPipelineParts) { self.parts = parts }

  public convenience init(directory: String) throws {
    self.init(parts: try EncoderPipelineParts.load(.questionAnswering, directory: directory))
  }

  public struct Answer: Equatable {
    public var score: Double
    public var start: Int
    public var end: Int
    public var answer: String
    public var json: String {
      let object: [String: Any] = ["score": score, "start": start, "end": end, "answer": answer]
      let d = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
      return String(decoding: d, as: UTF8.self)
    }
  }

  public func callAsFunction(question: String, context: String, maxAnswerLength: Int = 15, docStride: Int = 128)
    throws -> Answer
  {
    guard !question.trimmingCharacters(in: .whitespaces).isEmpty, !context.isEmpty else {
      throw LoomError("question answering: the question and the context must not be empty")
    }
    let maxLength = min(384, parts.model.maxSequenceLength, parts.tokenizer.modelMaxLength ?? Int.max)
    let f = try QAFeatures.prepare(
      tokenizer: parts.tokenizer, questions: [question], contexts: [context], maxLength: maxLength,
      stride: min(docStride, maxLength / 2 - 1))
    parts.model.eval()
    let scalars = Array(context.unicodeScalars)
    var best: Answer?
    for w in 0..<f.count {
      let enc = Encoding.row(ids: f.inputIds[w], typeIds: f.tokenTypeIds[w], attentionMask: f.attentionMask[w])
      let out = try noGrad { try parts.model.forward(parts.inputs([enc])) }
      guard let sl = out.startLogits, let el = out.endLogits else {
        throw LoomError("question answering: \(type(of: parts.model)) returned no start/end logits")
      }
      let inContext = f.offsets[w].map { $0 != nil }
      func probabilities(_ t: Tensor) -> [Double] {
        let v = t.reshape([-1]).floats.map(Double.init)
        let m = zip(v, inContext).filter { $1 }.map(\.0).max() ?? 0
        let e = zip(v, inContext).map { $1 ? Foundation.exp($0 - m) : 0 }
        let z = e.reduce(0, +)
        return e.map { $0 / z }
      }
      let ps = probabilities(sl), pe = probabilities(el)
      for s in ps.indices where inContext[s] {
        for e in s..<min(s + maxAnswerLength, pe.count) where inContext[e] {
          let score = ps[s] * pe[e]
          if best == nil || score > best!.score {
            let (a, b) = (f.offsets[w][s]!.lowerBound, f.offsets[w][e]!.upperBound)
            best = Answer(score: score, start: a, end: b, answer: String(String.UnicodeScalarView(scalars[a..<b])))
          }
        }
      }
    }
    guard let best else { throw LoomError("question answering: the context holds no tokens") }
    return best
  }
}

extension Encoding {
  /// An encoding of given ids, for rows kept outside the tokenizer's output.
  static func row(ids: [Int], typeIds: [Int], attentionMask: [Int]) -> Encoding {
    var e = Encoding()
    e.ids = ids.map { UInt32($0) }
    e.typeIds = typeIds.map { UInt32($0) }
    e.attentionMask = attentionMask.map { UInt32($0) }
    return e
  }
}
