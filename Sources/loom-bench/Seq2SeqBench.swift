import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomNN
import LoomOptim

/// `loom-bench seq2seq [--quick] [--only a,b] [--lockstep]`: what bench/pytorch/seq2seq.py
/// measures, fp32, random weights —
/// - bart-train: one BART-base-shaped training step (d_model 768, 6 + 6 layers, 12 heads,
///   FFN 3072, vocabulary 50265; forward with labels, backward, clipping, AdamW) at source
///   and target length 128, batch 4; tokens/s counts source + target tokens.
/// - bart-beam: beam search (4 beams, length penalty 1, 32 new tokens forced by min_new_tokens
///   so random weights cannot stop early) from a 64-token source, batch 1; new tokens/s.
/// - switch-train: one training step of Switch Transformers in google/switch-base-8's shape (d_model 768,
///   d_ff 3072, 12 heads, 8 experts top-1 with capacity 64 in every other block, vocabulary 32128, tied
///   embeddings) at 6 + 6 blocks instead of 12 + 12 (the full depth, 620 M parameters with AdamW state, needs
///   about 10 GiB per side: two sides do not fit the 2-core host's 23 GiB beside other work); router z-loss and
///   load-balancing loss in the loss (output_router_logits, the seeds' Trainer); source and target length 128,
///   batch 4; tokens/s counts source + target tokens.
/// Each bench runs in its own process so that its peak RSS is its own.
func runSeq2SeqBench(_ args: [String]) throws {
  let benches = ["bart-train", "bart-beam", "switch-train"]
  let quick = args.contains("--quick")
  let lockstep = args.contains("--lockstep")
  let only = args.firstIndex(of: "--only").flatMap {
    $0 + 1 < args.count ? args[$0 + 1].split(separator: ",").map(String.init) : nil
  }
  if lockstep && only?.count != 1 { throw BenchUsageError("--lockstep needs --only with exactly one bench") }
  guard let only, only.count == 1 else {
    for name in benches where only?.contains(name) ?? true {
      try runBenchInOwnProcess(suite: "seq2seq", bench: name, args: args)
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
  case "bart-train": try benchBartTrain(seconds: { try time(quick ? 2 : 6, $0) })
  case "bart-beam": try benchBartBeam(newTokens: quick ? 8 : 32, seconds: { try time(quick ? 1 : 3, $0) })
  case "switch-train": try benchSwitchTrain(seconds: { try time(quick ? 2 : 6, $0) })
  default: throw BenchUsageError("unknown bench \(only[0]) (benches: \(benches.joined(separator: ", ")))")
  }
}

/// facebook/bart-base's shape.
func bartBaseShaped() throws -> BartForConditionalGeneration {
  let config = try ModelRegistry.config(
    modelType: "bart",
    fields: [
      "vocab_size": 50265, "d_model": 768, "encoder_layers": 6, "decoder_layers": 6,
      "encoder_attention_heads": 12, "decoder_attention_heads": 12, "encoder_ffn_dim": 3072,
      "decoder_ffn_dim": 3072, "max_position_embeddings": 1024,
    ])
  guard let model = try ModelRegistry.make(.seq2seqLM, config: config) as? BartForConditionalGeneration else {
    throw BenchUsageError("AutoModelForSeq2SeqLM did not build a BartForConditionalGeneration")
  }
  return model
}

/// Random ids in the non-special range, `<s> … </s>`.
func bartRandomIds(_ g: inout SplitMix64, batch: Int, length: Int) -> Tensor {
  var ids = [Int64]()
  for _ in 0..<batch {
    for j in 0..<length {
      ids.append(j == 0 ? 0 : j == length - 1 ? 2 : Int64(4 + Int(g.next() % 50261)))
    }
  }
  return Tensor(ids, shape: [batch, length])
}

func benchBartTrain(seconds: (() throws -> Void) throws -> Double) throws {
  let (batch, seq) = (4, 128)
  manualSeed(0)
  let model = try bartBaseShaped()
  model.train()
  let opt = AdamW(decayGroups(model, lr: 5e-5, weightDecay: 0.01))
  var g = SplitMix64(seed: 0)
  let source = bartRandomIds(&g, batch: batch, length: seq)
  let labels = bartRandomIds(&g, batch: batch, length: seq)
  let mask = Tensor([Int64](repeating: 1, count: batch * seq), shape: [batch, seq])
  func step() throws {
    let loss = try model.forward(inputIds: source, attentionMask: mask, labels: labels).loss!
    loss.backward()
    clipGradNorm(model.parameters(), maxNorm: 1)
    opt.step()
    opt.zeroGrad()
  }
  try step()
  try step()
  let s = try seconds(step)
  emit(
    suite: "seq2seq", bench: "bart-train", config: "bart-base", value: Double(2 * batch * seq) / s,
    unit: "tokens/s",
    extra: [
      "impl": "loom", "peak_rss_mb": peakRSSMegabytes(), "batch": batch, "seq": seq,
      "parameters": model.parameterCount(),
    ])
}

func benchBartBeam(newTokens: Int, seconds: (() throws -> Void) throws -> Double) throws {
  manualSeed(0)
  let model = try bartBaseShaped()
  model.eval()
  var g = SplitMix64(seed: 1)
  let source = bartRandomIds(&g, batch: 1, length: 64).int64s.map(Int.init)
  var config = GenerationConfig(defaultsOf: model.config)
  config.numBeams = 4
  config.maxNewTokens = newTokens
  config.minNewTokens = newTokens
  _ = try Generation.generate(model, inputs: [source], config: { var w = config; w.maxNewTokens = 2; w.minNewTokens = 2; return w }())
  let s = try seconds { _ = try Generation.generate(model, inputs: [source], config: config) }
  emit(
    suite: "seq2seq", bench: "bart-beam", config: "bart-base-beams4", value: Double(newTokens) / s,
    unit: "tokens/s",
    extra: ["impl": "loom", "peak_rss_mb": peakRSSMegabytes(), "beams": 4, "source": 64, "new_tokens": newTokens])
}

/// google/switch-base-8's shape at `layers` + `layers` blocks (every other block sparse, as at full depth).
func switchBase8Shaped(layers: Int) throws -> SwitchTransformersForConditionalGeneration {
  let config = try ModelRegistry.config(
    modelType: "switch_transformers",
    fields: [
      "vocab_size": 32128, "d_model": 768, "d_kv": 64, "d_ff": 3072, "num_heads": 12, "num_experts": 8,
      "expert_capacity": 64, "num_layers": layers, "num_decoder_layers": layers,
      "num_sparse_encoder_layers": layers / 2, "num_sparse_decoder_layers": layers / 2, "decoder_start_token_id": 0,
    ])
  guard let model = try ModelRegistry.make(.seq2seqLM, config: config) as? SwitchTransformersForConditionalGeneration
  else { throw BenchUsageError("AutoModelForSeq2SeqLM did not build a SwitchTransformersForConditionalGeneration") }
  return model
}

/// Random ids past T5's specials (pad 0, eos 1, unk 2), each row ending in eos.
func t5RandomIds(_ g: inout SplitMix64, batch: Int, length: Int, vocab: Int) -> Tensor {
  var ids = [Int64]()
  for _ in 0..<batch {
    for j in 0..<length { ids.append(j == length - 1 ? 1 : Int64(3 + Int(g.next() % UInt64(vocab - 3)))) }
  }
  return Tensor(ids, shape: [batch, length])
}

func benchSwitchTrain(seconds: (() throws -> Void) throws -> Double) throws {
  let (batch, seq, layers) = (4, 128, 6)
  manualSeed(0)
  let model = try switchBase8Shaped(layers: layers)
  model.train()
  let opt = AdamW(decayGroups(model, lr: 5e-5, weightDecay: 0.01))
  var g = SplitMix64(seed: 0)
  let source = t5RandomIds(&g, batch: batch, length: seq, vocab: 32128)
  let labels = t5RandomIds(&g, batch: batch, length: seq, vocab: 32128)
  let mask = Tensor([Int64](repeating: 1, count: batch * seq), shape: [batch, seq])
  func step() throws {
    let loss = try model.forward(inputIds: source, attentionMask: mask, labels: labels, outputRouterLogits: true).loss!
    loss.backward()
    clipGradNorm(model.parameters(), maxNorm: 1)
    opt.step()
    opt.zeroGrad()
  }
  try step()
  try step()
  let misses = BufferPool.shared.mallocCount
  let s = try seconds(step)
  let missesPerStep = BufferPool.shared.mallocCount - misses
  emit(
    suite: "seq2seq", bench: "switch-train", config: "switch-base-8-6+6", value: Double(2 * batch * seq) / s,
    unit: "tokens/s",
    extra: [
      "impl": "loom", "peak_rss_mb": peakRSSMegabytes(), "batch": batch, "seq": seq, "layers": layers,
      "pool_peak_live_mb": Double(BufferPool.shared.peakLiveBytes) / 1_048_576,
      "pool_peak_held_mb": Double(BufferPool.shared.peakHeldBytes) / 1_048_576, "pool_misses_timed": missesPerStep,
      "parameters": model.parameterCount(),
    ])
}
