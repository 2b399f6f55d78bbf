import CLoomKernels
import Foundation
import LoomCore

#if canImport(Accelerate)
  import Accelerate
#else
  import CBLAS
#endif

/// `loom-bench engine [--quick] [--only BENCH[,BENCH...]]`: matmul vs raw CBLAS, fused kernels forward+backward
/// at GPT sizes, attention, AdamW on 10M parameters and a whole GPT block.
/// Times are medians in milliseconds; matmul is GFLOP/s.
func runEngineBench(_ args: [String]) throws {
  let quick = args.contains("--quick")
  let reps = quick ? 3 : 10
  // `--only A,B` runs just those benches (for profiling).
  let only = args.firstIndex(of: "--only").flatMap {
    $0 + 1 < args.count ? Set(args[$0 + 1].split(separator: ",").map(String.init)) : nil
  }
  func wanted(_ name: String) -> Bool { only?.contains(name) ?? true }
  // `--lockstep` (with `--only BENCH`): bench/paired.py drives the timed steps one at a time,
  // alternating with PyTorch's, so both sides see the same moments of a noisy machine.
  let lockstep = args.contains("--lockstep")
  if lockstep && only?.count != 1 {
    throw BenchUsageError("--lockstep needs --only with exactly one bench")
  }

  func time(_ repeats: Int = reps, warmup: Int = 2, _ body: () -> Void) -> Double {
    for _ in 0..<warmup { body() }
    if lockstep { return lockstepMedian(body) }
    var samples: [Double] = []
    for _ in 0..<repeats {
      let t0 = now()
      body()
      samples.append((now() - t0) * 1000)
    }
    return median(samples)
  }

  // Matmul: Loom's Tensor.matmul (its own pool splitting single-threaded BLAS calls)
  // against one cblas_sgemm call on raw buffers with OpenBLAS's own threads. The two
  // alternate call by call, so a slow phase of a noisy host hits both alike.
  let core = String(cString: loom_blas_core())
  let engine = String(cString: loom_gemm_engine())
  for n in quick ? [1024] : [1024, 2048, 4096] where wanted("matmul") {
    let a = Tensor.randn([n, n])
    let b = Tensor.randn([n, n])
    let c = Tensor(empty: [n, n])
    let flops = 2.0 * Double(n * n * n)
    func loomCall() { _ = noGrad { a.matmul(b) } }
    func cblasCall() {
      setBLASThreads(Int(loom_num_threads()))
      defer { setBLASThreads(1) }
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
        a.benchmarkHostPointer(as: Float.self), Int32(n), b.benchmarkHostPointer(as: Float.self), Int32(n), 0,
        c.benchmarkHostPointer(as: Float.self), Int32(n))
    }
    loomCall()
    cblasCall()
    var loomSamples: [Double] = [], cblasSamples: [Double] = []
    for _ in 0..<(n >= 4096 ? 5 : (quick ? 3 : 15)) {
      var t0 = now()
      loomCall()
      loomSamples.append((now() - t0) * 1000)
      t0 = now()
      cblasCall()
      cblasSamples.append((now() - t0) * 1000)
    }
    let loomMs = median(loomSamples), cblasMs = median(cblasSamples)
    emit(
      suite: "engine", bench: "matmul", config: "n\(n)", value: flops / loomMs / 1e6,
      unit: "GFLOP/s", extra: ["impl": "loom", "n": n, "blas_core": core, "gemm": engine])
    emit(
      suite: "engine", bench: "matmul", config: "n\(n)", value: flops / cblasMs / 1e6,
      unit: "GFLOP/s", extra: ["impl": "cblas", "n": n, "blas_core": core, "gemm": engine])
  }

  func fwdBwd(_ name: String, _ config: String, _ shape: [Int], _ f: (Tensor) -> Tensor) {
    guard wanted(name) else { return }
    let x = Tensor.randn(shape).requiringGrad()
    let g = Tensor.randn(noGrad { f(x) }.shape)
    let ms = time {
      x.zeroGrad()
      f(x).backward(g)
    }
    emit(
      suite: "engine", bench: name, config: config, value: ms, unit: "ms", extra: ["impl": "loom"])
  }

  fwdBwd("softmax", "8x6x256x256", [8 * 6 * 256, 256]) { $0.softmax(dim: -1) }
  let lnW = Tensor.ones([384]).requiringGrad()
  let lnB = Tensor.zeros([384]).requiringGrad()
  fwdBwd("layernorm", "2048x384", [8 * 256, 384]) { layerNorm($0, weight: lnW, bias: lnB) }
  fwdBwd("gelu", "2048x1536", [8 * 256, 1536]) { $0.gelu(approximate: "tanh") }
  let charTargets = Tensor.randint(0, 65, [2048])
  fwdBwd("cross_entropy", "2048x65", [2048, 65]) { crossEntropy($0, charTargets) }
  let bpeTargets = Tensor.randint(0, 50257, [512])
  fwdBwd("cross_entropy", "512x50257", [512, 50257]) { crossEntropy($0, bpeTargets) }

  // Attention forward+backward, causal.
  if wanted("attention") {
    let shape = [8, 6, 256, 64]
    let q = Tensor.randn(shape).requiringGrad()
    let k = Tensor.randn(shape).requiringGrad()
    let v = Tensor.randn(shape).requiringGrad()
    let g = Tensor.randn(shape)
    let ms = time {
      scaledDotProductAttention(q, k, v, isCausal: true).backward(g)
    }
    emit(
      suite: "engine", bench: "attention", config: "b8h6t256d64", value: ms, unit: "ms",
      extra: ["impl": "loom"])
  }

  // AdamW step over 10M parameters (one flat tensor), through the fused kernel.
  if wanted("adamw") {
    let n = 10_000_000
    let p = Tensor.randn([n])
    let g = Tensor.randn([n])
    let m = Tensor.zeros([n])
    let v = Tensor.zeros([n])
    var step: Int64 = 0
    let ms = time {
      step += 1
      adamwStep(p, g, m, v, step: step)
    }
    emit(
      suite: "engine", bench: "adamw", config: "10M", value: ms, unit: "ms", extra: ["impl": "loom"]
    )
  }

  // A whole GPT block, forward + backward.
  if wanted("gpt_block") {
    let block = BenchGPTBlock(channels: 384, heads: 6)
    let x = Tensor.randn([8, 256, 384]).requiringGrad()
    let ms = time(quick ? 3 : 10) {
      x.zeroGrad()
      for p in block.parameters { p.zeroGrad() }
      block(x).square().mean().backward()
    }
    emit(
      suite: "engine", bench: "gpt_block", config: "b8t256c384h6", value: ms, unit: "ms",
      extra: ["impl": "loom", "peak_rss_mb": peakRSSMegabytes()])
  }
  // The block's twelve GEMMs alone, in the layouts its linear layers use (x·Wᵀ forward, dY·W
  // and dYᵀ·X backward): the share of the block figure that is GEMM engine.
  if wanted("gpt_block_gemms") {
    let tokens = 2048
    let layers = [(384, 1152), (384, 384), (384, 1536), (1536, 384)].map { inF, outF in
      (
        x: Tensor.randn([tokens, inF]), w: Tensor.randn([outF, inF]),
        g: Tensor.randn([tokens, outF])
      )
    }
    let ms = time(quick ? 3 : 10) {
      noGrad {
        for l in layers {
          _ = l.x.matmul(l.w.transpose(0, 1))
          _ = l.g.matmul(l.w)
          _ = l.g.transpose(0, 1).matmul(l.x)
        }
      }
    }
    emit(
      suite: "engine", bench: "gpt_block_gemms", config: "b8t256c384h6", value: ms, unit: "ms",
      extra: ["impl": "loom", "gemm": engine])
  }
  // The same block's forward alone (no graph): splits the block figure into forward and backward.
  if wanted("gpt_block_forward") {
    let block = BenchGPTBlock(channels: 384, heads: 6)
    let x = Tensor.randn([8, 256, 384])
    let ms = time(quick ? 3 : 10) { _ = noGrad { block(x) } }
    emit(
      suite: "engine", bench: "gpt_block_forward", config: "b8t256c384h6", value: ms, unit: "ms",
      extra: ["impl": "loom"])
  }
}

func setBLASThreads(_ n: Int) {
  #if !canImport(Accelerate)
    openblas_set_num_threads(Int32(n))
  #endif
}

func adamwStep(_ p: Tensor, _ g: Tensor, _ m: Tensor, _ v: Tensor, step: Int64) {
  loom_adamw_step_f32(
    p.benchmarkHostPointer(as: Float.self), g.benchmarkHostPointer(as: Float.self), m.benchmarkHostPointer(as: Float.self),
    v.benchmarkHostPointer(as: Float.self),
    Int64(p.count), 1e-3, 0.9, 0.999, 1e-8, 0.01, step)
}

/// A GPT-2 block from functional ops (pre-norm, causal attention, tanh-GELU MLP),
/// so the engine bench does not depend on the nn layer.
struct BenchGPTBlock {
  let heads: Int
  let ln1W, ln1B, attnW, attnB, projW, projB, ln2W, ln2B, fcW, fcB, fc2W, fc2B: Tensor

  init(channels c: Int, heads: Int) {
    self.heads = heads
    func w(_ shape: [Int]) -> Tensor { Tensor.randn(shape, std: 0.02).requiringGrad() }
    func z(_ n: Int) -> Tensor { Tensor.zeros([n]).requiringGrad() }
    ln1W = Tensor.ones([c]).requiringGrad()
    ln1B = z(c)
    attnW = w([3 * c, c])
    attnB = z(3 * c)
    projW = w([c, c])
    projB = z(c)
    ln2W = Tensor.ones([c]).requiringGrad()
    ln2B = z(c)
    fcW = w([4 * c, c])
    fcB = z(4 * c)
    fc2W = w([c, 4 * c])
    fc2B = z(c)
  }

  var parameters: [Tensor] {
    [ln1W, ln1B, attnW, attnB, projW, projB, ln2W, ln2B, fcW, fcB, fc2W, fc2B]
  }

  func callAsFunction(_ x: Tensor) -> Tensor {
    let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
    let a = layerNorm(x, weight: ln1W, bias: ln1B)
    let qkv = linear(a, weight: attnW, bias: attnB)
    let parts = qkv.split([c, c, c], dim: 2).map {
      $0.reshape([b, t, heads, c / heads]).transpose(1, 2)
    }
    let y = scaledDotProductAttention(parts[0], parts[1], parts[2], isCausal: true).transpose(1, 2)
      .reshape([b, t, c])
    let x1 = x + linear(y, weight: projW, bias: projB)
    let m = linear(layerNorm(x1, weight: ln2W, bias: ln2B), weight: fcW, bias: fcB).gelu(
      approximate: "tanh")
    return x1 + linear(m, weight: fc2W, bias: fc2B)
  }
}
