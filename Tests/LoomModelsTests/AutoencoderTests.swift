import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomTrain
import XCTest

/// Autoencoder behaviour: names, save/load, anomaly scores, sampling, interpolation,
/// the factory, and a short training run on Fashion-MNIST.
final class AutoencoderTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  func testSeedsAutoencoderLayoutAndSafetensorsRoundTrip() throws {
    let model = Autoencoder(generator: Generator(seed: 1))
    XCTAssertEqual(model.parameterCount(), 224_601)
    let names = model.namedParameters().map(\.0)
    XCTAssertEqual(names.first, "encoder.0.weight")
    XCTAssertEqual(names.last, "decoder.8.bias")
    XCTAssertEqual(names.count, 20)
    XCTAssertEqual(model.encoder.layers.count, 9)
    XCTAssertEqual(model.decoder.layers.count, 10)
    XCTAssertTrue(model.decoder.layers.last is Sigmoid)
    let path = NSTemporaryDirectory() + "loom-ae-\(UUID().uuidString).safetensors"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try SafeTensors.save(model.stateDict(), metadata: ["format": "pt"], to: path)
    let copy = Autoencoder(generator: Generator(seed: 2))
    try copy.loadStateDict(SafeTensors.load(path))
    let x = Tensor.rand([3, 784], generator: Generator(seed: 3))
    XCTAssertEqual(copy(x).floats, model(x).floats)
    XCTAssertEqual(model(x).shape, [3, 784])
    XCTAssertEqual(model.encodeMean(x).shape, [3, 9])
  }

  func testAnomalyScoresArePerExampleReconstructionError() {
    let model = Autoencoder(generator: Generator(seed: 4))
    let x = Tensor.rand([5, 784], generator: Generator(seed: 5))
    let scores = model.anomalyScores(x).doubles
    let r = model.reconstruct(x).doubles
    let xs = x.doubles
    XCTAssertEqual(scores.count, 5)
    for i in 0..<5 {
      let expected = (0..<784).reduce(0.0) { $0 + pow(r[i * 784 + $1] - xs[i * 784 + $1], 2) } / 784
      XCTAssertEqual(scores[i], expected, accuracy: 1e-6)
    }
  }

  /// A denoising autoencoder that noises inside the model corrupts only in training mode.
  func testDenoisingAutoencoderNoisesInTrainingModeOnly() throws {
    let model = try AutoencoderKind.dae.make(
      autoencoder: AutoencoderConfig(noise: .masking(fraction: 0.5), noiseInModel: true),
      generator: Generator(seed: 6))
    let dae = try XCTUnwrap(model as? Autoencoder)
    XCTAssertEqual(dae.config.noise, .masking(fraction: 0.5))
    let x = Tensor.full([2, 784], 0.5)
    dae.train()
    let a = dae(x).floats
    let b = dae(x).floats
    XCTAssertNotEqual(a, b, "fresh noise on each call in training mode")
    dae.eval()
    XCTAssertEqual(dae(x).floats, dae.reconstruct(x).floats)
  }

  func testVAESamplingInterpolationAndLossParts() {
    let vae = VAE(VAEConfig(latentSize: 8), generator: Generator(seed: 7))
    XCTAssertEqual(
      vae.namedParameters().map(\.0),
      [
        "fc1.weight", "fc1.bias", "fc21.weight", "fc21.bias", "fc22.weight", "fc22.bias",
        "fc3.weight", "fc3.bias",
        "fc4.weight", "fc4.bias",
      ])
    let samples = vae.sample(count: 6)
    XCTAssertEqual(samples.shape, [6, 784])
    XCTAssertTrue(samples.floats.allSatisfy { $0 > 0 && $0 < 1 })
    let a = Tensor.rand([784], generator: Generator(seed: 8))
    let b = Tensor.rand([784], generator: Generator(seed: 9))
    let path = vae.interpolate(a, b, steps: 5)
    XCTAssertEqual(path.shape, [5, 784])
    let ends = vae.decode(
      Tensor.cat([vae.encodeMean(a.reshape([1, 784])), vae.encodeMean(b.reshape([1, 784]))]))
    let pf = path.floats
    let ef = ends.floats
    var startError: Float = 0
    var endError: Float = 0
    var middleGap: Float = 0
    for j in 0..<784 {
      startError = max(startError, abs(pf[j] - ef[j]))
      endError = max(endError, abs(pf[4 * 784 + j] - ef[784 + j]))
      middleGap = max(middleGap, abs(pf[2 * 784 + j] - ef[j]))
    }
    XCTAssertLessThan(startError, 1e-6)
    XCTAssertLessThan(endError, 1e-6)
    XCTAssertGreaterThan(middleGap, 1e-4, "the middle differs from the ends")
    // total = recon + β·KL, with KL ≥ 0.
    let x = Tensor.rand([4, 784], generator: Generator(seed: 10))
    let eps = Tensor.randn([4, 8], generator: Generator(seed: 11))
    let l = vae.vaeLoss(x, target: x, eps: eps)
    XCTAssertGreaterThan(l.kl.item(), 0)
    XCTAssertEqual(l.total.item(), l.reconstruction.item() + l.kl.item(), accuracy: 1e-3)
    let parts = vae.loss(x, target: x).parts
    XCTAssertEqual(Set(parts.keys), ["recon_loss", "kl_loss"])
  }

  func testConvVAEShapesAndFactory() throws {
    let conv = try AutoencoderKind(name: "conv-vae").make(
      vae: VAEConfig(latentSize: 4), generator: Generator(seed: 12))
    XCTAssertTrue(conv.takesImages)
    let x = Tensor.rand([2, 1, 28, 28], generator: Generator(seed: 13))
    XCTAssertEqual(conv.reconstruct(x).shape, [2, 1, 28, 28])
    XCTAssertEqual(conv.encodeMean(x).shape, [2, 4])
    XCTAssertEqual((conv as! ConvVAE).sample(count: 3).shape, [3, 1, 28, 28])
    XCTAssertEqual(try AutoencoderKind(name: "ae").make().parameterCount(), 224_601)
    XCTAssertEqual(try AutoencoderKind(name: "vae").make().latentSize, 20)
    XCTAssertThrowsError(try AutoencoderKind(name: "gan")) {
      XCTAssertTrue("\($0)".contains("ae, dae, vae, conv-vae"))
    }
    XCTAssertThrowsError(
      try AutoencoderKind.ae.make(autoencoder: AutoencoderConfig(layerSizes: [784]))
    ) {
      XCTAssertTrue("\($0)".contains("layer_sizes"))
    }
    XCTAssertThrowsError(try ImageNoise(parsing: "masking:1.5")) {
      XCTAssertTrue("\($0)".contains("[0, 1]"))
    }
    XCTAssertThrowsError(try ImageNoise(parsing: "salt")) {
      XCTAssertTrue("\($0)".contains("gaussian:<std>"))
    }
    XCTAssertEqual(try ImageNoise(parsing: "gaussian:0.3"), .gaussian(std: 0.3))
    let json = try JSONEncoder().encode(AutoencoderConfig(noise: .masking(fraction: 0.25)))
    XCTAssertEqual(
      try JSONDecoder().decode(AutoencoderConfig.self, from: json).noise, .masking(fraction: 0.25))
  }

  /// 200 steps of the seeds' AE (Adam 1e-3, batch 32) on 2,000 Fashion-MNIST images
  /// lower the reconstruction error well below its start.
  func testAutoencoderTrainsOnFashionMNIST() throws {
    try XCTSkipUnless(
      FileManager.default.fileExists(
        atPath: FashionMNIST.defaultDirectory + "/train-images-idx3-ubyte.gz"),
      "dataset-fashion-mnist is not installed")
    let data = try ImageDataset.fashionMNIST(split: .train).prefix(2000)
    manualSeed(0)
    let model = Autoencoder(generator: Generator(seed: 14))
    var args = TrainingArguments(
      outputDir: NSTemporaryDirectory() + "loom-ae-train-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(atPath: args.outputDir) }
    args.optim = .adam
    args.learningRate = 1e-3
    args.weightDecay = 1e-8
    args.lrSchedulerType = .constant
    args.maxGradNorm = 0
    args.maxSteps = 200
    args.perDeviceTrainBatchSize = 32
    args.loggingSteps = 20
    args.saveStrategy = .no
    let start = Date()
    let trainer = Trainer(
      model: model, args: args, trainDataset: data,
      computeLossOutput: { b in
        let l = model.loss(b.inputs, target: b.labels)
        return LossOutput(loss: l.total, parts: l.parts)
      })
    try trainer.train()
    let losses = trainer.state.logHistory.compactMap { $0["loss"] }
    XCTAssertEqual(losses.count, 10)
    print(
      "AE smoke: loss \(losses.first!) → \(losses.last!) in \(Date().timeIntervalSince(start)) s")
    XCTAssertLessThan(losses.last!, 0.6 * losses.first!)
    XCTAssertLessThan(losses.last!, 0.06)
  }
}
