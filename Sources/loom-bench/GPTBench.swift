import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomNN
import LoomOptim

/// `loom-bench gpt [--quick]`: training tokens/s (forward, backward, AdamW step) for
/// the seeds' scratch config and GPT-2 small, and greedy generation tokens/s with
/// the KV cache for a GPT-2 small-shaped model (random weights, fp32). `--bf16` trains the
/// seeds' config only, under bfloat16 autocast (float32 master weights, as `--bf16` does).
func runGPTBench(_ args: [String]) throws {
  let quick = args.contains("--quick")
  let bf16 = args.contains("--bf16")
  func train(_ name: String, _ config: GPT2Config, batch: Int, block: Int, steps: Int) throws {
    manualSeed(0)
    let model = try GPT2LMHeadModel(config)
    model.train()
    let opt = AdamW(decayGroups(model, lr: 3e-4, weightDecay: 0.1))
    let ids = Tensor.randint(0, config.vocabSize, [batch, block])
    func step() {
      let loss = Autocast.run(dtype: .bfloat16, enabled: bf16) { model.loss(ids, labels: ids).loss }
      loss.backward()
      clipGradNorm(model.parameters(), maxNorm: 1)
      opt.step()
      opt.zeroGrad()
    }
    step()
    var samples: [Double] = []
    for _ in 0..<steps {
      let t0 = now()
      step()
      samples.append(now() - t0)
    }
    emit(
      suite: "gpt", bench: "train", config: name, value: Double(batch * block) / median(samples), unit: "tokens/s",
      extra: [
        "impl": "loom", "peak_rss_mb": peakRSSMegabytes(), "batch": batch, "block": block,
        "precision": bf16 ? "bf16-autocast" : "fp32",
      ])
  }
  try train("seed", .seed(vocabSize: 65), batch: 8, block: 256, steps: quick ? 2 : 5)
  if bf16 { return }
  try train("gpt2-small", .small, batch: 4, block: 128, steps: quick ? 1 : 3)

  // Greedy generation with the KV cache.
  manualSeed(0)
  let model = try GPT2LMHeadModel(.small)
  model.eval()
  let prompt = (0..<16).map { ($0 * 37) % 50000 }
  var g = GenerationConfig()
  let newTokens = quick ? 16 : 64
  g.maxNewTokens = newTokens
  _ = try Generation.generate(model, prompts: [prompt], config: { var w = g; w.maxNewTokens = 4; return w }())
  var samples: [Double] = []
  for _ in 0..<(quick ? 1 : 3) {
    let t0 = now()
    _ = try Generation.generate(model, prompts: [prompt], config: g)
    samples.append(now() - t0)
  }
  emit(
    suite: "gpt", bench: "generate", config: "gpt2-small", value: Double(newTokens) / median(samples), unit: "tokens/s",
    extra: ["impl": "loom", "peak_rss_mb": peakRSSMegabytes(), "new_tokens": newTokens])
}
