import ArgumentParser
import Foundation
import LoomCore
import LoomGenerate
import LoomModels

/// `loom embed`: sentence embeddings (sentence-transformers' encode): one JSON array per input line.
struct EmbedCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "embed", abstract: "Sentence embeddings from an encoder: one JSON array per input text.")

  @Option(help: "Model directory (BERT, RoBERTa or DistilBERT; e.g. ~/.cache/loom/minilm).") var model: String
  @Option(help: InferenceAdapter.help) var adapter: String?
  @Option(name: .long, parsing: .upToNextOption, help: "Texts to embed.") var text: [String] = []
  @Option(help: "A file with one text per line (empty lines skipped).") var file: String?
  @Option(help: "mean (over the attention mask) or cls (default: the directory's 1_Pooling config, else mean).")
  var pooling: String?
  @Flag(help: "L2-normalise each vector (sentence-transformers' Normalize).") var normalize = false
  @Option(help: "Texts per forward pass.") var batchSize = 32
  @Option(help: "Device to run on: cpu or emulated.") var device = "cpu"
  @OptionGroup var dtype: TorchDTypeFlag

  func validate() throws {
    if text.isEmpty == (file == nil) { throw ValidationError("pass --text T … or --file F (one of them)") }
    if let pooling, SentencePooling(rawValue: pooling) == nil {
      throw ValidationError("--pooling must be mean or cls, got '\(pooling)'")
    }
    if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    do { _ = try Device(parsing: device) } catch { throw ValidationError("--device: \(error)") }
  }

  func run() throws {
    Device.default = try Device(parsing: device)
    var texts = text
    if let file {
      guard let d = FileManager.default.contents(atPath: file) else { throw LoomError("cannot read --file \(file)") }
      texts = String(decoding: d, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
      guard !texts.isEmpty else { throw LoomError("--file \(file) has no non-empty lines") }
    }
    let pipe = try dtype.loading(model, model: { (p: SentenceEmbeddingPipeline) in p.parts.model }) {
      let pipe = try SentenceEmbeddingPipeline(
        directory: model, pooling: pooling.flatMap(SentencePooling.init(rawValue:)), normalize: normalize)
      try InferenceAdapter.apply(adapter, to: pipe.parts.model)
      return pipe
    }
    _ = pipe.parts.model.to(device: Device.default)
    for v in try pipe(texts, batchSize: batchSize) {
      print("[" + v.map { "\($0)" }.joined(separator: ", ") + "]")
    }
  }
}
