import Foundation
import LoomCore
import LoomDatasets
import LoomModels
import LoomTokenizers

/// Hugging Face's `pipeline("question-answering")`: the best answer span of a context with
/// its score, character start and end. Windows and span selection are run_qa's
/// (`QuestionAnswering.prepareValidationFeatures` / `postprocess`: the n-best start and
/// end logits of each window, spans inside the context of at most `maxAnswerLength`
/// tokens); the score is the span's softmax probability among the n-best.
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
      let d = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
      return String(decoding: d, as: UTF8.self)
    }
  }

  /// `maxAnswerLength` is the pipeline's max_answer_len (15); windows of at most 384 tokens
  /// (the model's positions if fewer) overlap by `docStride` tokens.
  public func callAsFunction(question: String, context: String, maxAnswerLength: Int = 15, docStride: Int = 128)
    throws -> Answer
  {
    guard !question.trimmingCharacters(in: .whitespaces).isEmpty, !context.isEmpty else {
      throw LoomError("question answering: the question and the context must not be empty")
    }
    let maxLength = min(384, parts.model.maxSequenceLength, parts.tokenizer.modelMaxLength ?? Int.max)
    let example = try Dataset(columns: [("id", ["0"]), ("question", [.string(question)]), ("context", [.string(context)])])
    let features = try QuestionAnswering.prepareValidationFeatures(
      example, tokenizer: parts.tokenizer, maxLength: maxLength, docStride: min(docStride, maxLength / 2 - 1))
    let ids = try features.intSequences("input_ids"), types = try features.intSequences("token_type_ids")
    let masks = try features.intSequences("attention_mask")
    parts.model.eval()
    var starts: [[Float]] = [], ends: [[Float]] = []
    for w in ids.indices {
      var e = Encoding()
      e.ids = ids[w].map { UInt32($0) }
      e.typeIds = types[w].map { UInt32($0) }
      e.attentionMask = masks[w].map { UInt32($0) }
      let out = try noGrad { try parts.model.forward(parts.inputs([e])) }
      guard let sl = out.startLogits, let el = out.endLogits else {
        throw LoomError("question answering: \(type(of: parts.model)) returned no start/end logits")
      }
      starts.append(sl.reshape([-1]).floats)
      ends.append(el.reshape([-1]).floats)
    }
    let best = try QuestionAnswering.postprocess(
      examples: example, features: features, startLogits: starts, endLogits: ends, maxAnswerLength: maxAnswerLength)
    guard let top = best.first?.nBest.first else { throw LoomError("question answering: no answer span found") }
    return Answer(score: top.probability, start: top.start, end: top.end, answer: top.text)
  }
}
