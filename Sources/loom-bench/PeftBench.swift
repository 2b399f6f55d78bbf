import Foundation
import LoomAdapt
import LoomCore
import LoomModels
import LoomNN
import LoomOptim

/// `loom-bench peft [--quick] [--only a,b] [--lockstep]`: what bench/pytorch/peft.py measures,
/// fp32, random weights — one LoRA training step (r 16, lora_alpha 16, lora_dropout 0.1, PEFT's
/// default targets for the family; forward with labels, backward, clipping, AdamW over the
/// adapter only) at batch 4 × 256 tokens:
/// - lora-gpt2: GPT-2 small's shape (124 M parameters; c_attn, fan_in_fan_out).
/// - lora-llama: a Llama of about 100 M parameters (hidden 768, 8 layers, 12 heads, 4 key/value
///   heads, intermediate 2048, vocabulary 32000, untied head; q_proj, v_proj).
/// Each bench runs in its own process so that its peak RSS is its own: the frozen base needs no
/// gradients or optimizer state, which the RSS shows.
func runPeftBench(_ args: [String]) throws {
  let benches = ["lora-gpt2", "lora-llama"]
  let quick = args.contains("--quick")
  let lockstep = args.contains("--lockstep")
  let only = args.firstIndex(of: "--only").flatMap {
    $0 + 1 < args.count ? args[$0 + 1].split(separator: ",").map(String.init) : nil
  }
  if lockstep && only?.count != 1 {
    throw BenchUsageError("--lockstep needs --only with exactly one bench")
  }
  guard let only, only.count == 1 else {
    for name in benches where only?.contains(name) ?? true {
      try runBenchInOwnProcess(suite: "peft", bench: name, args: args)
    }
    return
  }
  guard benches.contains(only[0]) else {
    throw BenchUsageError("unknown bench \(only[0]) (benches: \(benches.joined(separator: ", ")))")
  }
  try benchLoraTrain(only[0]) { body in
    if lockstep { return lockstepMedian { try! body() } / 1000 }
    var samples: [Double] = []
    for _ in 0..<(quick ? 2 : 5) {
      let t0 = now()
      try body()
      samples.append(now() - t0)
    }
    return median(samples)
  }
}

/// The base causal LM of a bench, built through the Auto registry like a config.json would.
private func peftBenchBase(_ bench: String) throws -> (model: Module, name: String, vocab: Int) {
  let (type, name, fields): (String, String, [String: Any]) =
    bench == "lora-gpt2"
    ? ("gpt2", "gpt2-small", [:])
    : (
      "llama", "llama-100m",
      [
        "vocab_size": 32000, "hidden_size": 768, "intermediate_size": 2048, "num_hidden_layers": 8,
        "num_attention_heads": 12, "num_key_value_heads": 4, "max_position_embeddings": 1024,
        "tie_word_embeddings": false,
      ]
    )
  let config = try ModelRegistry.config(modelType: type, fields: fields)
  let model = try ModelRegistry.make(.causalLM, config: config)
  return (model, name, bench == "lora-gpt2" ? 50257 : 32000)
}

private func benchLoraTrain(_ bench: String, seconds: (() throws -> Void) throws -> Double) throws {
  let (batch, seq, rank) = (4, 256, 16)
  manualSeed(0)
  let (model, name, vocab) = try peftBenchBase(bench)
  let total = model.parameterCount()
  let peft = try getPeftModel(
    model,
    LoraConfig(
      r: rank, loraAlpha: 16, loraDropout: 0.1, fanInFanOut: bench == "lora-gpt2",
      taskType: .causalLM),
    modelType: bench == "lora-gpt2" ? "gpt2" : "llama")
  model.train()
  let trainable = model.parameters().filter(\.requiresGrad)
  let opt = AdamW(decayGroups(model, lr: 1e-3, weightDecay: 0.01))
  var g = SplitMix64(seed: 0)
  let ids = Tensor(
    (0..<(batch * seq)).map { _ in Int64(g.next() % UInt64(vocab)) }, shape: [batch, seq])
  let mask = Tensor([Int64](repeating: 1, count: batch * seq), shape: [batch, seq])
  let loss: () -> Tensor
  switch model {
  case let gpt as GPT2LMHeadModel: loss = { gpt.loss(ids, labels: ids, attentionMask: mask).loss }
  case let llama as LlamaForCausalLM:
    loss = { llama.loss(ids, labels: ids, attentionMask: mask).loss }
  default: throw BenchUsageError("\(type(of: model)) has no loss entry in this bench")
  }
  func step() {
    loss().backward()
    clipGradNorm(trainable, maxNorm: 1)
    opt.step()
    opt.zeroGrad()
  }
  step()
  step()
  let s = try seconds(step)
  emit(
    suite: "peft", bench: bench, config: name, value: Double(batch * seq) / s, unit: "tokens/s",
    extra: [
      "impl": "loom", "peak_rss_mb": peakRSSMegabytes(), "batch": batch, "seq": seq, "r": rank,
      "parameters": total, "trainable": peft.trainableParameterCounts.trainable,
    ])
}
