import Foundation
import LoomTokenizers

/// HF's run_qa.py pre- and post-processing for extractive question answering.
public enum QuestionAnswering {
  /// Windows of one question + context: question first, context second, the context cut
  /// into `maxLength`-token windows overlapping by `docStride` tokens (the tokenizer's
  /// overflowing windows, truncation "only_second"). Unpadded; the collator pads.
  static func encode(
    _ questions: [String], _ contexts: [String], tokenizer: Tokenizer, maxLength: Int,
    docStride: Int
  ) throws -> [[Encoding]] {
    let saved = tokenizer.truncation, savedPadding = tokenizer.padding
    defer {
      tokenizer.truncation = saved
      tokenizer.padding = savedPadding
    }
    tokenizer.truncation = Truncation(maxLength: maxLength, stride: docStride, strategy: .onlySecond)
    tokenizer.padding = nil
    // HF strips the questions' leading whitespace (it wastes context tokens).
    let qs = questions.map { String($0.drop(while: { $0.isWhitespace })) }
    let encs = try tokenizer.encodeBatch(zip(qs, contexts).map { ($0, $1) })
    return encs.map { e in
      var main = e
      main.overflowing = []
      return [main] + e.overflowing
    }
  }

  static func clsIndex(_ e: Encoding, _ clsTokenId: UInt32?) -> Int {
    clsTokenId.flatMap { e.ids.firstIndex(of: $0) } ?? 0
  }

  static func defaultCLS(_ t: Tokenizer) -> UInt32? { t.tokenToId("[CLS]") ?? t.tokenToId("<s>") }

  /// HF's `prepare_train_features`: one row per window with `input_ids`,
  /// `token_type_ids`, `attention_mask`, `start_positions`, `end_positions`. A window that
  /// does not contain the (first) answer, and a question without answers, point both
  /// positions at the CLS token.
  public static func prepareTrainFeatures(
    _ examples: Dataset, tokenizer: Tokenizer, maxLength: Int = 384, docStride: Int = 128,
    questionColumn: String = "question", contextColumn: String = "context",
    answerColumn: String = "answers"
  ) throws -> Dataset {
    let contexts = try examples.strings(contextColumn)
    let answers = try examples.column(answerColumn)
    let windows = try encode(
      examples.strings(questionColumn), contexts, tokenizer: tokenizer, maxLength: maxLength,
      docStride: docStride)
    let cls = defaultCLS(tokenizer)
    var ids = [Value](), types = [Value](), mask = [Value](), starts = [Value](), ends = [Value]()
    for (i, ws) in windows.enumerated() {
      let (texts, charStarts) = try SQuADAnswers.parse(answers[i], row: i)
      for e in ws {
        ids.append(.ints(e.ids.map(Int.init)))
        types.append(.ints(e.typeIds.map(Int.init)))
        mask.append(.ints(e.attentionMask.map(Int.init)))
        let c = clsIndex(e, cls)
        guard let startChar = charStarts.first, let text = texts.first else {
          starts.append(.int(c))
          ends.append(.int(c))
          continue
        }
        // An unchecked answer_start near Int.max points nowhere rather than overflowing.
        let (endChar, overflow) = startChar.addingReportingOverflow(text.unicodeScalars.count)
        let (s, t) = (overflow ? nil : answerTokens(e, startChar: startChar, endChar: endChar)) ?? (c, c)
        starts.append(.int(s))
        ends.append(.int(t))
      }
    }
    return try Dataset(columns: [
      ("input_ids", ids), ("token_type_ids", types), ("attention_mask", mask),
      ("start_positions", starts), ("end_positions", ends),
    ])
  }

  /// The first and last token of the answer span [startChar, endChar) within the window's
  /// context tokens, or nil when the window does not hold the whole answer.
  static func answerTokens(_ e: Encoding, startChar: Int, endChar: Int) -> (Int, Int)? {
    guard let first = e.sequenceIds.firstIndex(of: 1),
      let last = e.sequenceIds.lastIndex(of: 1)
    else { return nil }
    let off = e.offsets
    guard off[first].lowerBound <= startChar, off[last].upperBound >= endChar else { return nil }
    // run_qa.py walks past the context's end here when the answer starts in its last
    // token (the [SEP] offsets are (0, 0)); stopping at the last context token is what it means.
    var s = first
    while s <= last && off[s].lowerBound <= startChar { s += 1 }
    var t = last
    while t >= first && off[t].upperBound >= endChar { t -= 1 }
    return (s - 1, t + 1)
  }

  /// HF's `prepare_validation_features`: one row per window with `input_ids`,
  /// `token_type_ids`, `attention_mask`, `example_id` and `offset_mapping` (null for
  /// tokens outside the context, so post-processing only picks context spans).
  public static func prepareValidationFeatures(
    _ examples: Dataset, tokenizer: Tokenizer, maxLength: Int = 384, docStride: Int = 128,
    questionColumn: String = "question", contextColumn: String = "context",
    idColumn: String = "id"
  ) throws -> Dataset {
    let exampleIds = try examples.strings(idColumn)
    let windows = try encode(
      examples.strings(questionColumn), examples.strings(contextColumn), tokenizer: tokenizer,
      maxLength: maxLength, docStride: docStride)
    var ids = [Value](), types = [Value](), mask = [Value](), offsets = [Value](), exIds = [Value]()
    for (i, ws) in windows.enumerated() {
      for e in ws {
        ids.append(.ints(e.ids.map(Int.init)))
        types.append(.ints(e.typeIds.map(Int.init)))
        mask.append(.ints(e.attentionMask.map(Int.init)))
        exIds.append(.string(exampleIds[i]))
        offsets.append(
          .list(
            e.offsets.indices.map { k in
              e.sequenceIds[k] == 1 ? .ints([e.offsets[k].lowerBound, e.offsets[k].upperBound]) : .null
            }))
      }
    }
    return try Dataset(columns: [
      ("input_ids", ids), ("token_type_ids", types), ("attention_mask", mask),
      ("offset_mapping", offsets), ("example_id", exIds),
    ])
  }

  /// One candidate answer.
  public struct Answer: Sendable, Equatable {
    public let text: String
    /// Character offsets into the context (0..<0 for the null answer).
    public let start: Int
    public let end: Int
    public let startLogit: Float
    public let endLogit: Float
    /// Softmax of the n-best scores (start + end logits).
    public let probability: Double
  }

  public struct Prediction: Sendable, Equatable {
    public let id: String
    /// The answer (empty when SQuAD v2 predicts "no answer").
    public let text: String
    public let nBest: [Answer]
  }

  /// HF's `postprocess_qa_predictions`: for each example, the `nBestSize` best start and
  /// end logits of each of its windows form spans inside the context (end ≥ start, at most
  /// `maxAnswerLength` tokens); the best-scoring span's text is the prediction. With
  /// `versionTwoWithNegative`, the null answer (CLS) wins when its score beats the best
  /// span by more than `nullScoreDiffThreshold`. `startLogits[f]`, `endLogits[f]` belong to
  /// row f of `features`.
  public static func postprocess(
    examples: Dataset, features: Dataset, startLogits: [[Float]], endLogits: [[Float]],
    nBestSize: Int = 20, maxAnswerLength: Int = 30, versionTwoWithNegative: Bool = false,
    nullScoreDiffThreshold: Float = 0, idColumn: String = "id", contextColumn: String = "context"
  ) throws -> [Prediction] {
    guard startLogits.count == features.count, endLogits.count == features.count else {
      throw DatasetError(
        "postprocess: \(features.count) features but \(startLogits.count) start and \(endLogits.count) end logit rows")
    }
    let ids = try examples.strings(idColumn)
    let contexts = try examples.strings(contextColumn)
    var index = [String: Int]()
    for (i, id) in ids.enumerated() { index[id] = i }
    var perExample = [[Int]](repeating: [], count: ids.count)
    for (f, eid) in try features.strings("example_id").enumerated() {
      guard let i = index[eid] else {
        throw DatasetError("postprocess: feature \(f) belongs to example '\(eid)', which is not among the examples")
      }
      perExample[i].append(f)
    }
    let offsetsCol = try features.column("offset_mapping")
    func topIndices(_ v: [Float]) -> [Int] {
      // np.argsort(v)[-1:-n-1:-1]: descending, ties by larger index first.
      Array(v.indices.sorted { v[$0] != v[$1] ? v[$0] > v[$1] : $0 > $1 }.prefix(nBestSize))
    }
    var out = [Prediction]()
    for (i, feats) in perExample.enumerated() {
      let context = Array(contexts[i].unicodeScalars)
      var prelim = [(start: Int, end: Int, score: Float, s: Float, e: Float)]()
      var null: (start: Int, end: Int, score: Float, s: Float, e: Float)?
      for f in feats {
        let sl = startLogits[f], el = endLogits[f]
        guard let offs = offsetsCol[f].list, sl.count >= offs.count, el.count >= offs.count else {
          throw DatasetError("postprocess: feature \(f) has fewer logits than tokens, or no offset_mapping")
        }
        let nullScore = sl[0] + el[0]
        if null == nil || null!.score > nullScore { null = (0, 0, nullScore, sl[0], el[0]) }
        for s in topIndices(sl) {
          for e in topIndices(el) {
            guard s < offs.count, e < offs.count, let so = offs[s].ints, so.count == 2,
              let eo = offs[e].ints, eo.count == 2
            else { continue }
            if e < s || e - s + 1 > maxAnswerLength { continue }
            prelim.append((so[0], eo[1], sl[s] + el[e], sl[s], el[e]))
          }
        }
      }
      if versionTwoWithNegative, let null { prelim.append(null) }
      // Stable sort by score, best first (Python's sorted(reverse=True)).
      var preds = Array(
        prelim.enumerated().sorted { a, b in
          a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
        }.map(\.element).prefix(nBestSize))
      if versionTwoWithNegative, let null, !preds.contains(where: { $0.start == 0 && $0.end == 0 }) {
        preds.append(null)
      }
      func text(_ p: (start: Int, end: Int, score: Float, s: Float, e: Float)) -> String {
        let a = min(max(p.start, 0), context.count), b = min(max(p.end, a), context.count)
        return String(String.UnicodeScalarView(context[a..<b]))
      }
      var answers = preds.map { (text($0), $0) }
      if answers.isEmpty || (answers.count == 1 && answers[0].0.isEmpty) {
        answers.insert(("empty", (0, 0, 0, 0, 0)), at: 0)
      }
      let m = answers.map { Double($0.1.score) }.max()!
      let ex = answers.map { exp(Double($0.1.score) - m) }
      let z = ex.reduce(0, +)
      let nBest = zip(answers, ex).map { a, x in
        Answer(
          text: a.0, start: a.1.start, end: a.1.end, startLogit: a.1.s, endLogit: a.1.e,
          probability: x / z)
      }
      var best = nBest[0].text
      if versionTwoWithNegative {
        let nonNull = nBest.first { !$0.text.isEmpty } ?? nBest[0]
        let diff = (null?.score ?? 0) - nonNull.startLogit - nonNull.endLogit
        best = diff > nullScoreDiffThreshold ? "" : nonNull.text
      }
      out.append(Prediction(id: ids[i], text: best, nBest: nBest))
    }
    return out
  }
}
