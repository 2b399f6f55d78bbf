import ArgumentParser
import Foundation
import LoomCore
import LoomGenerate

/// `loom qa`: HF's question-answering pipeline; prints `{"answer", "score", "start", "end"}`.
struct QACommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "qa", abstract: "Answer a question from a context with an extractive QA model.")

  @Option(help: "Model directory (e.g. from loom train qa).") var model: String
  @Option(help: InferenceAdapter.help) var adapter: String?
  @Option(help: "The question.") var question: String
  @Option(help: "The text holding the answer.") var context: String
  @Option(help: "Longest answer, in tokens (the pipeline's max_answer_len).") var maxAnswerLen = 15
  @Option(help: "Device to run on: cpu or emulated.") var device = "cpu"
  @OptionGroup var dtype: TorchDTypeFlag

  func validate() throws {
    if question.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--question must not be empty") }
    if context.isEmpty { throw ValidationError("--context must not be empty") }
    if maxAnswerLen < 1 { throw ValidationError("--max-answer-len must be at least 1") }
    do { _ = try Device(parsing: device) } catch { throw ValidationError("--device: \(error)") }
  }

  func run() throws {
    Device.default = try Device(parsing: device)
    let pipe = try dtype.loading(model, model: { (p: QuestionAnsweringPipeline) in p.parts.model }) {
      if let adapter, InferenceAdapter.isPromptTuning(adapter) {
        return QuestionAnsweringPipeline(
          parts: try InferenceAdapter.classifierParts(.questionAnswering, model: model, adapter: adapter))
      }
      let pipe = try QuestionAnsweringPipeline(directory: model)
      try InferenceAdapter.apply(adapter, to: pipe.parts.model)
      return pipe
    }
    _ = pipe.parts.model.to(device: Device.default)
    print(try pipe(question: question, context: context, maxAnswerLength: maxAnswerLen).json)
  }
}
