import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomTrain

/// `loom-bench transformer-reverse [--task reverse|sort] [--steps N] [--batch N] [--d-model N]
/// [--heads N] [--layers N] [--ffn N] [--dropout P] [--lr X] [--warmup N] [--train N] [--test N]
/// [--min-length N] [--max-length N] [--tokens N] [--seed N]`: the original Transformer
/// (TransformerSeq2SeqLM) trained from scratch by the library Trainer on a synthetic task,
/// then greedy exact match on held-out sequences (never seen in training). One JSON line.
func runTransformerReverseBench(_ args: [String]) throws {
  func value(_ name: String) -> String? {
    args.firstIndex(of: "--" + name).flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }
  }
  func int(_ name: String, _ fallback: Int) throws -> Int {
    guard let s = value(name) else { return fallback }
    guard let v = Int(s), v > 0 else { throw LoomError("--\(name) must be a positive integer, got '\(s)'") }
    return v
  }
  func double(_ name: String, _ fallback: Double) throws -> Double {
    guard let s = value(name) else { return fallback }
    guard let v = Double(s), v >= 0 else { throw LoomError("--\(name) must be a number >= 0, got '\(s)'") }
    return v
  }
  guard let task = SyntheticSeq2SeqDataset.Task(rawValue: value("task") ?? "reverse") else {
    throw LoomError("--task must be reverse or sort, got '\(value("task")!)'")
  }
  let (pad, bos, eos, first) = (0, 1, 2, 3)
  let tokens = try int("tokens", 20)
  let lengths = try int("min-length", 3)...max(try int("max-length", 10), try int("min-length", 3))
  let seed = UInt64(try int("seed", 1))
  manualSeed(seed)

  var config = TransformerConfig()
  config.dModel = try int("d-model", 64)
  config.nhead = try int("heads", 4)
  config.numEncoderLayers = try int("layers", 2)
  config.numDecoderLayers = config.numEncoderLayers
  config.dimFeedforward = try int("ffn", 4 * config.dModel)
  config.dropout = try double("dropout", 0.0)
  config.vocabSize = first + tokens
  config.maxPositionEmbeddings = lengths.upperBound + 2
  (config.padTokenId, config.bosTokenId, config.eosTokenId) = (pad, bos, TokenIdList([eos]))
  config.decoderStartTokenId = bos
  let model = try TransformerSeq2SeqLM(config)

  let test = try SyntheticSeq2SeqDataset(
    task: task, count: try int("test", 1000), lengths: lengths, tokens: first..<(first + tokens),
    pad: pad, eos: eos, seed: seed &+ 1000)
  let train = try SyntheticSeq2SeqDataset(
    task: task, count: try int("train", 50000), lengths: lengths,
    tokens: first..<(first + tokens), pad: pad, eos: eos, seed: seed, excluding: Set(test.sources))

  let dir = NSTemporaryDirectory() + "loom-transformer-\(task.rawValue)-\(UUID().uuidString)"
  defer { try? FileManager.default.removeItem(atPath: dir) }
  var targs = TrainingArguments(outputDir: dir)
  targs.maxSteps = try int("steps", 1500)
  targs.perDeviceTrainBatchSize = try int("batch", 64)
  targs.learningRate = try double("lr", 1e-3)
  targs.warmupSteps = try int("warmup", 200)
  targs.weightDecay = 0.01
  targs.loggingSteps = max(1, targs.maxSteps / 10)
  targs.saveStrategy = .no
  targs.seed = seed
  let trainer = Trainer(
    model: model, args: targs, trainDataset: train,
    computeLoss: { b in
      do {
        return try model.forward(
          inputIds: b.inputs, attentionMask: b[Batch.Key.attentionMask], labels: b.labels
        ).loss!
      } catch { fatalError("Loom: \(error)") }
    })
  var lastLoss = Double.nan
  trainer.onLog = { logs in if let l = logs["loss"] { lastLoss = l } }
  let t0 = now()
  _ = try trainer.train()
  let trainSeconds = now() - t0

  model.eval()
  var generation = GenerationConfig(defaultsOf: config)
  generation.maxNewTokens = lengths.upperBound + 1
  var correct = 0
  for start in stride(from: 0, to: test.count, by: 250) {
    let range = start..<min(start + 250, test.count)
    let out = try Generation.generate(
      model, inputs: range.map { test.sources[$0] }, config: generation)
    for (row, i) in zip(out, range)
    where Generation.continuation(row, promptLength: 1, eosTokenIds: [eos]) == test.target(i) {
      correct += 1
    }
  }
  emit(
    suite: "transformer-reverse", bench: "\(task.rawValue)_exact_match",
    config:
      "d\(config.dModel)-h\(config.nhead)-l\(config.numEncoderLayers)-ffn\(config.dimFeedforward)-drop\(config.dropout)-len\(lengths.lowerBound)to\(lengths.upperBound)-tok\(tokens)",
    value: Double(correct) / Double(test.count), unit: "fraction",
    extra: [
      "impl": "loom", "steps": targs.maxSteps, "batch": targs.perDeviceTrainBatchSize,
      "lr": targs.learningRate, "train_examples": train.count, "test_examples": test.count,
      "final_train_loss": lastLoss, "train_seconds": trainSeconds,
      "threads": ProcessInfo.processInfo.environment["LOOM_NUM_THREADS"] ?? "all",
      "peak_rss_mb": peakRSSMegabytes(),
    ])
}
