import Foundation
import LoomCore
import LoomNN
import LoomOptim
import XCTest

@testable import LoomDiffusion

/// GAN pieces without PyTorch: RMSprop's update, the trainer's alternation and clipping,
/// output shapes and the config file.
final class GANTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  /// v ← 0.99·v + 0.01·g², p ← p − lr·g/(√v + ε) with g = 2 every step (v = 0.04, then
  /// 0.0796); the values torch.optim.RMSprop(lr=0.01) gives.
  func testRMSpropFollowsPyTorchsUpdate() {
    let p = Tensor([1.0 as Float], shape: [1]).requiringGrad()
    let opt = RMSprop([p], lr: 0.01)
    for expected in [0.9, 0.8291119] {
      opt.zeroGrad()
      (p * 2).sum().backward()
      opt.step()
      XCTAssertEqual(p.item(), expected, accuracy: 1e-6)
    }
    XCTAssertEqual(opt.stateDict()["0.square_avg"]!.item(), 0.0796, accuracy: 1e-7)
  }

  func testShapesForEveryVariantAndConditioning() {
    for v in GANVariant.allCases {
      for classes in [nil, 10] as [Int?] {
        let c = GANConfig(variant: v, latentDim: 8, generatorFeatures: 2, discriminatorFeatures: 2, hiddenSize: 4, numClasses: classes)
        let labels = classes == nil ? nil : Tensor([Int64(3), 9, 0], shape: [3])
        let images = GANGenerator(c)(Tensor.randn([3, 8]), labels: labels)
        XCTAssertEqual(images.shape, [3, 1, 28, 28], "\(v) \(String(describing: classes))")
        XCTAssertLessThanOrEqual(images.abs().max().item(), 1)
        XCTAssertEqual(GANDiscriminator(c)(images, labels: labels).shape, [3])
      }
    }
  }

  func testWGANGPCriticHasNoBatchNormAndDCGANInitIsNarrow() {
    let gp = GANDiscriminator(GANConfig(variant: .wganGP))
    XCTAssertFalse(gp.namedParameters().contains { $0.0.contains("running") })
    XCTAssertTrue(gp.main.layers.contains { $0 is LayerNorm2d })
    XCTAssertFalse(gp.main.layers.contains { $0 is BatchNorm })
    let g = GANGenerator(GANConfig(variant: .dcgan))
    let w = g.main.layers[0].namedParameters()[0].1.toArray(Double.self)
    let std = (w.map { $0 * $0 }.reduce(0, +) / Double(w.count)).squareRoot()
    XCTAssertEqual(std, 0.02, accuracy: 0.001)
    var bad = GANConfig(variant: .wganGP)
    bad.criticNorm = .batchNorm
    XCTAssertThrowsError(try bad.validate())
  }

  func testWGANClipsTheCriticAndStepsTheGeneratorEveryNCritic() {
    let c = GANConfig(variant: .wgan, latentDim: 4, generatorFeatures: 2, discriminatorFeatures: 2)
    let trainer = GANTrainer(
      generator: GANGenerator(c), discriminator: GANDiscriminator(c), recipe: .recipe(for: .wgan), seed: 1)
    XCTAssertTrue(trainer.optimizerD is RMSprop)
    let real = Tensor.rand([4, 1, 28, 28], low: -1, high: 1)
    for call in 1...5 {
      let logs = trainer.step(real: real, labels: nil)
      XCTAssertEqual(logs["loss_g"] != nil, call == 5, "call \(call)")
      XCTAssertEqual(logs["wasserstein_distance"]!, -logs["loss_d"]!, accuracy: 1e-6)
      XCTAssertNotNil(logs["gradient_norm"])
    }
    for p in trainer.discriminator.parameters() {
      XCTAssertLessThanOrEqual(p.abs().max().item(), 0.01 + 1e-7)
    }
  }

  func testConfigRoundTripsWithSnakeCaseKeys() throws {
    let c = GANConfig(variant: .wganGP, latentDim: 32, numClasses: 10)
    let data = try JSONEncoder().encode(c)
    let text = String(decoding: data, as: UTF8.self)
    for key in ["\"latent_dim\":32", "\"critic_norm\":\"layer_norm\"", "\"variant\":\"wgan-gp\"", "\"num_classes\":10"] {
      XCTAssertTrue(text.contains(key), "\(key) in \(text)")
    }
    XCTAssertEqual(try JSONDecoder().decode(GANConfig.self, from: data), c)
  }
}
