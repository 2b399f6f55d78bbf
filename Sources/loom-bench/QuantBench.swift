import CLoomKernels
import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomNN

/// `loom-bench quant [--quick] [--bf16] [--model DIR --text FILE]`: float32 vs bitsandbytes-format weights on this
/// CPU; `--bf16` adds each format with the rest of the model in bfloat16.
/// Decode: one-row products of GPT-2 small's MLP shape (768 → 3072) and the whole GPT-2 small-shaped greedy
/// generation with the KV cache (random weights; the tied LM head stays float32, as transformers keeps it).
/// With --model / --text: perplexity of a Loom-trained causal LM over the text, in windows of its context.
func runQuantBench(_ args: [String]) throws {
  let quick = args.contains("--quick")
  let formats: [(String, BitsAndBytesConfig?)] = [
    ("float32", nil),
    ("int8", BitsAndBytesConfig(loadIn8bit: true)),
    ("nf4", BitsAndBytesConfig(loadIn4bit: true, bnb4bitQuantType: .nf4)),
    ("nf4-double-quant", BitsAndBytesConfig(loadIn4bit: true, bnb4bitQuantType: .nf4, bnb4bitUseDoubleQuant: true)),
  ]
  func option(_ name: String) -> String? {
    args.firstIndex(of: name).flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }
  }

  // The decode product alone: x [1, 768] · W [3072, 768]ᵀ.
  manualSeed(0)
  let base = Linear(768, 3072)
  let x = Tensor.randn([1, 768])
  for (name, config) in formats {
    let layer: Module =
      config.map { c -> Module in
        switch c.format! {
        case .int8: return try! Linear8bitLt(quantizing: base)
        case .fourBit(let t, _, let dq): return try! Linear4bit(quantizing: base, quantType: t, doubleQuant: dq)
        }
      } ?? base
    for _ in 0..<20 { _ = layer(x) }
    let reps = quick ? 200 : 2000
    var samples: [Double] = []
    for _ in 0..<5 {
      let t0 = now()
      for _ in 0..<reps { _ = layer(x) }
      samples.append((now() - t0) / Double(reps))
    }
    emit(
      suite: "quant", bench: "gemv", config: name, value: median(samples) * 1e6, unit: "us",
      extra: ["impl": "loom", "shape": "1x768 * 3072x768^T", "simd_bits": Int(loom_simd_width_bits())])
  }

  // Greedy decode of a GPT-2 small-shaped model with the KV cache.
  let prompt = (0..<16).map { ($0 * 37) % 50000 }
  let newTokens = quick ? 16 : 64
  var g = GenerationConfig()
  g.maxNewTokens = newTokens
  // The same with the model in bfloat16 around the quantized layers (torch_dtype=bfloat16, as QLoRA loads
  // models): the tied LM head, embeddings and norms in bf16, the 4-/8-bit layers computing in float32.
  let halfFormats: [(String, BitsAndBytesConfig?)] = args.contains("--bf16") ? formats.map { ($0.0 + "+bf16", $0.1) } : []
  for (name, config) in formats + halfFormats {
    manualSeed(0)
    let model = try GPT2LMHeadModel(.small)
    if name.hasSuffix("+bf16") { try model.to(dtype: .bfloat16) }
    model.eval()
    var report: QuantizationReport?
    if let config { report = try model.quantize(config) }
    _ = try Generation.generate(model, prompts: [prompt], config: { var w = g; w.maxNewTokens = 4; return w }())
    var samples: [Double] = []
    for _ in 0..<(quick ? 1 : 3) {
      let t0 = now()
      _ = try Generation.generate(model, prompts: [prompt], config: g)
      samples.append(now() - t0)
    }
    emit(
      suite: "quant", bench: "generate", config: name, value: Double(newTokens) / median(samples), unit: "tokens/s",
      extra: [
        "impl": "loom", "model": "gpt2-small", "new_tokens": newTokens, "peak_rss_mb": peakRSSMegabytes(),
        "quantized_layers": report?.quantized.count ?? 0,
        "linear_weight_mib": Double(report?.quantizedBytes ?? report?.floatBytes ?? 0) / 1_048_576,
      ])
  }

  // Perplexity of a trained model on held-out text.
  guard let dir = option("--model"), let textFile = option("--text") else { return }
  let text = try String(contentsOfFile: textFile, encoding: .utf8)
  let chars = Int(option("--chars") ?? "") ?? 20000
  for (name, config) in formats {
    guard let model = try Generation.loadTextGenerationModel(from: dir).model as? GPT2LMHeadModel else {
      throw LoomError("--model: perplexity runs on GPT-2 models")
    }
    model.eval()
    if let config { try model.quantize(config) }
    let codec = try TextCodec.load(dir, modelVocabSize: model.vocabularySize)
    let ids = try codec.encode(String(text.prefix(chars)))
    let window = model.maxPositions
    let windows = ids.count / window
    guard windows > 0 else { throw LoomError("--text: fewer than \(window) tokens") }
    var total = 0.0
    let batch = 16
    for start in stride(from: 0, to: windows, by: batch) {
      let rows = min(batch, windows - start)
      let slice = ids[(start * window)..<((start + rows) * window)].map(Int64.init)
      let t = Tensor(slice, shape: [rows, window])
      total += model.loss(t, labels: t).loss.item() * Double(rows)
    }
    let meanLoss = total / Double(windows)
    emit(
      suite: "quant", bench: "perplexity", config: name, value: exp(meanLoss), unit: "ppl",
      extra: ["impl": "loom", "model": dir, "text": textFile, "tokens": windows * window, "loss": meanLoss])
  }
}
