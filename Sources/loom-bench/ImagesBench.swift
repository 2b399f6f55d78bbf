import CLoomKernels
import Foundation
import LoomCore
import LoomDiffusion
import LoomModels
import LoomNN
import LoomOptim

/// `loom-bench images [--quick] [--only a,b] [--lockstep]`: what bench/pytorch/images.py measures,
/// milliseconds per step on random data (the work, not the data loading):
/// - conv2d: one layer forward + backward (input, weight and bias gradients) at a U-Net shape
///   (64→64, 3×3, pad 1, 32×32, batch 64) and the DCGAN discriminator's (1→64 and 64→128,
///   4×4 stride 2 pad 1, 28×28 and 14×14, batch 64);
/// - conv-transpose: the DCGAN generator's three layers forward + backward (100→256 7×7 from 1×1,
///   256→128 and 128→1 4×4 stride 2 pad 1), batch 64;
/// - dcgan-step: one discriminator and one generator Adam step (BCE-with-logits), batch 64;
/// - unet-step: one ε-prediction MSE AdamW step of diffusers' `UNet2DModel` with
///   bench/configs/images_unet.json (`loom train diffusion`'s default, 32 px), batch 64;
/// - ddim-sample: 10 DDIM steps (η = 0) of that U-Net, batch 64;
/// - vae-step: one Adam step of the conv VAE (Images I), batch 128.
func runImagesBench(_ args: [String]) throws {
  let benches = ["conv2d", "conv-transpose", "dcgan-step", "unet-step", "ddim-sample", "vae-step"]
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
      try runBenchInOwnProcess(suite: "images", bench: name, args: args)
    }
    return
  }
  let bench = only[0]
  guard benches.contains(bench) else {
    throw BenchUsageError("unknown bench \(bench) (benches: \(benches.joined(separator: ", ")))")
  }
  /// Times `body` (warm-up first) and prints the section's JSON line.
  func section(_ config: String, steps: Int, _ body: () throws -> Void) throws {
    for _ in 0..<2 { try body() }
    let ms: Double
    if lockstep {
      ms = lockstepMedian { try! body() }
    } else {
      var samples: [Double] = []
      for _ in 0..<(quick ? 3 : steps) {
        let t0 = now()
        try body()
        samples.append((now() - t0) * 1000)
      }
      ms = median(samples)
    }
    emit(
      suite: "images", bench: bench, config: config, value: ms, unit: "ms/step",
      extra: ["impl": "loom", "threads": Int(loom_num_threads()), "peak_rss_mb": peakRSSMegabytes()])
  }
  manualSeed(0)
  switch bench {
  case "conv2d":
    for (name, layer, input) in [
      ("unet-64-64-k3-32px-b64", Conv2d(64, 64, kernelSize: 3, padding: 1), [64, 64, 32, 32]),
      ("dcgan-1-64-k4s2-28px-b64", Conv2d(1, 64, kernelSize: 4, stride: 2, padding: 1), [64, 1, 28, 28]),
      ("dcgan-64-128-k4s2-14px-b64", Conv2d(64, 128, kernelSize: 4, stride: 2, padding: 1), [64, 64, 14, 14]),
    ] {
      try section(name, steps: 20, layerStep(layer, input: input))
    }
  case "conv-transpose":
    for (name, layer, input) in [
      ("dcgan-100-256-k7-1px-b64", ConvTranspose2d(100, 256, kernelSize: 7, bias: false), [64, 100, 1, 1]),
      (
        "dcgan-256-128-k4s2-7px-b64", ConvTranspose2d(256, 128, kernelSize: 4, stride: 2, padding: 1, bias: false),
        [64, 256, 7, 7]
      ),
      (
        "dcgan-128-1-k4s2-14px-b64", ConvTranspose2d(128, 1, kernelSize: 4, stride: 2, padding: 1, bias: false),
        [64, 128, 14, 14]
      ),
    ] {
      try section(name, steps: 20, layerStep(layer, input: input))
    }
  case "dcgan-step":
    let config = GANConfig()
    let g = GANGenerator(config), d = GANDiscriminator(config)
    let optG = Adam(g.parameters(), lr: 2e-4, betas: (0.5, 0.999))
    let optD = Adam(d.parameters(), lr: 2e-4, betas: (0.5, 0.999))
    let real = Tensor.rand([64, 1, 28, 28], low: -1, high: 1)
    try section("dcgan-28px-b64", steps: 20) {
      let fake = g(Tensor.randn([64, config.latentDim]), labels: nil)
      optD.zeroGrad()
      GANLoss.discriminator(real: d(real, labels: nil), fake: d(fake.detach(), labels: nil)).backward()
      optD.step()
      optG.zeroGrad()
      GANLoss.generator(fake: d(fake, labels: nil)).backward()
      optG.step()
    }
  case "unet-step":
    let unet = try UNet2DModel(try imagesUNetConfig())
    let opt = AdamW(unet.parameters(), lr: 1e-4)
    let x = Tensor.randn([64, 1, 32, 32]), noise = Tensor.randn([64, 1, 32, 32])
    let timesteps = (0..<64).map { ($0 * 397) % 1000 }
    try section("unet-32px-b64", steps: 10) {
      opt.zeroGrad()
      Loss.mse(try unet(x, timesteps: timesteps), noise).backward()
      opt.step()
    }
  case "ddim-sample":
    let unet = try UNet2DModel(try imagesUNetConfig())
    let pipeline = DDIMPipeline(unet: unet, scheduler: try DDIMScheduler())
    let noise = Tensor.randn([64, 1, 32, 32])
    try section("ddim-10-steps-32px-b64", steps: 5) {
      _ = try pipeline(noise: noise, numInferenceSteps: 10)
    }
  default:  // vae-step
    let vae = ConvVAE()
    let opt = Adam(vae.parameters(), lr: 1e-3)
    let x = Tensor.rand([128, 1, 28, 28])
    try section("conv-vae-28px-b128", steps: 20) {
      opt.zeroGrad()
      vae.loss(x, target: x).total.backward()
      opt.step()
    }
  }
}

/// One forward + backward of a layer: gradients for the input and every parameter.
private func layerStep(_ layer: Module, input shape: [Int]) -> () -> Void {
  let x = Tensor.randn(shape).requiringGrad()
  let gy = Tensor.randn(layer(x).shape)
  return {
    layer(x).backward(gy)
    x.grad = nil
    for p in layer.parameters() { p.grad = nil }
  }
}

/// bench/configs/images_unet.json, the U-Net both sides build.
private func imagesUNetConfig() throws -> UNet2DConfig {
  let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("bench/configs/images_unet.json")
  guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
    throw BenchUsageError("\(url.path) is not a JSON object")
  }
  return try UNet2DConfig(json: object)
}
