import Foundation
import LoomCore
import LoomNN
import LoomOptim

/// `loom-bench autoencoders [--quick]`: training samples/s of the seeds' Fashion-MNIST
/// autoencoder (batch 32, Adam lr 1e-3, weight decay 1e-8, MSE) and of the MLP VAE.
func runAutoencodersBench(_ args: [String]) throws {
  let quick = args.contains("--quick")
  manualSeed(0)
  func mlp(_ sizes: [Int], last: Module?) -> [Module] {
    var layers: [Module] = []
    for (i, (a, b)) in zip(sizes.dropLast(), sizes.dropFirst()).enumerated() {
      layers.append(Linear(a, b))
      if i < sizes.count - 2 { layers.append(ReLU()) }
    }
    if let last { layers.append(last) }
    return layers
  }
  let model = Sequential(mlp([784, 128, 64, 36, 18, 9], last: nil) + mlp([9, 18, 36, 64, 128, 784], last: Sigmoid()))
  let data = Tensor.rand([4096, 784])
  let opt = Adam(model.parameters(), lr: 1e-3, weightDecay: 1e-8)
  let batch = 32
  var cursor = 0
  func step() {
    let x = data.slice(dim: 0, start: cursor, end: cursor + batch)
    cursor = (cursor + batch) % (4096 - batch)
    let loss = Loss.mse(model(x), x)
    loss.backward()
    opt.step()
    opt.zeroGrad()
  }
  for _ in 0..<50 { step() }
  var samples: [Double] = []
  for _ in 0..<(quick ? 3 : 9) {
    let t0 = now()
    for _ in 0..<200 { step() }
    samples.append(Double(200 * batch) / (now() - t0))
  }
  emit(suite: "autoencoders", bench: "ae_train", config: "batch32", value: median(samples), unit: "samples/s",
       extra: ["impl": "loom", "peak_rss_mb": peakRSSMegabytes()])
}
