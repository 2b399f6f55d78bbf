import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import LoomTrain

/// `loom-bench autoencoders [--quick] [--only BENCH]`: training samples/s on the real Fashion-MNIST
/// training images fed by the shuffling `DataLoader` (prefetch on), like
/// bench/pytorch/autoencoders.py: the seeds' autoencoder (batch 32, Adam lr 1e-3,
/// weight decay 1e-8, MSE), the MLP VAE (784-400-20, batch 128, Adam lr 1e-3, BCE-sum + KL) and
/// the small conv VAE (two stride-2 convs, two transposed convs, batch 128).
func runAutoencodersBench(_ args: [String]) throws {
  let quick = args.contains("--quick")
  let only = args.firstIndex(of: "--only").flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }
  let train = try ImageDataset.fashionMNIST(split: .train)

  func measure(
    _ name: String, _ model: any ImageAutoencoder, batch: Int, steps: Int, weightDecay: Double
  ) throws {
    guard only == nil || only == name else { return }
    manualSeed(0)
    let opt = Adam(model.parameters(), lr: 1e-3, weightDecay: weightDecay)
    let loader = try DataLoader(train, batchSize: batch, shuffle: true, seed: 0, dropLast: true)
    var iterator = loader.makeIterator()
    func step() {
      guard let b = iterator.next() else {
        iterator = loader.makeIterator()
        return step()
      }
      let loss = model.loss(b.inputs, target: b.labels).total
      loss.backward()
      opt.step()
      opt.zeroGrad()
    }
    for _ in 0..<min(50, 2 * steps) { step() }
    var samples: [Double] = []
    for _ in 0..<(quick ? 3 : 9) {
      let t0 = now()
      for _ in 0..<steps { step() }
      samples.append(Double(steps * batch) / (now() - t0))
    }
    emit(
      suite: "autoencoders", bench: name, config: "batch\(batch)", value: median(samples),
      unit: "samples/s",
      extra: ["impl": "loom", "peak_rss_mb": peakRSSMegabytes()])
  }
  manualSeed(0)
  try measure("ae_train", Autoencoder(), batch: 32, steps: 200, weightDecay: 1e-8)
  manualSeed(0)
  try measure("vae_train", VAE(), batch: 128, steps: 50, weightDecay: 0)
  manualSeed(0)
  try measure("conv_vae_train", ConvVAE(), batch: 128, steps: 10, weightDecay: 0)
}
