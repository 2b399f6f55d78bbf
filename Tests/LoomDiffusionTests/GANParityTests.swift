import Foundation
import LoomCore
import LoomIO
import LoomNN
import XCTest

@testable import LoomDiffusion

/// GAN / DCGAN forward, losses and every gradient, and WGAN-GP's second-order penalty,
/// against PyTorch on the tiny networks of scripts/fixtures/make_gan_fixtures.py.
final class GANParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static let expected = try! SafeTensorsFile(path: UNet2DParityTests.fixtures + "/gan-expected.safetensors")
  func tensor(_ name: String) throws -> Tensor { try Self.expected.tensor(name) }

  func assertClose(
    _ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let worst = zip(a.toArray(Double.self), b.toArray(Double.self)).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max abs error \(worst)", file: file, line: line)
    if ProcessInfo.processInfo.environment["LOOM_PRINT_PARITY"] != nil { print("parity \(what): \(worst)") }
  }

  /// The fixture's tiny shapes: latent 6, 2 feature maps, MLP hidden 2.
  func config(_ variant: GANVariant, classes: Int? = nil) -> GANConfig {
    GANConfig(variant: variant, latentDim: 6, generatorFeatures: 2, discriminatorFeatures: 2, hiddenSize: 2, numClasses: classes)
  }

  func weights(_ prefix: String) throws -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for key in Self.expected.names where key.hasPrefix(prefix) { out[String(key.dropFirst(prefix.count))] = try tensor(key) }
    return out
  }

  func checkGAN(_ name: String, _ config: GANConfig) throws {
    let g = GANGenerator(config)
    let d = GANDiscriminator(config)
    try g.loadStateDict(weights(name + ".g."), source: name)
    try d.loadStateDict(weights(name + ".d."), source: name)
    let labels = config.numClasses == nil ? nil : try tensor(name + ".labels")
    let fake = g(try tensor(name + ".z"), labels: labels)
    assertClose(fake, try tensor(name + ".fake"), 1e-5, "\(name) G(z)")
    let dReal = d(try tensor(name + ".real"), labels: labels)
    let dFake = d(fake.detach(), labels: labels)
    assertClose(dReal, try tensor(name + ".d_real"), 1e-5, "\(name) D(real)")
    assertClose(dFake, try tensor(name + ".d_fake"), 1e-5, "\(name) D(fake)")
    let lossD = GANLoss.discriminator(real: dReal, fake: dFake)
    assertClose(lossD.reshape([1]), try tensor(name + ".loss_d"), 1e-5, "\(name) loss_d")
    lossD.backward()
    for (key, p) in d.namedParameters() {
      assertClose(try XCTUnwrap(p.grad, key), try tensor("\(name).grad_d.\(key)"), 1e-5, "\(name) D grad \(key)")
    }
    d.zeroGrad()
    let lossG = GANLoss.generator(fake: d(fake, labels: labels))
    assertClose(lossG.reshape([1]), try tensor(name + ".loss_g"), 1e-5, "\(name) loss_g")
    lossG.backward()
    let params = g.namedParameters()
    XCTAssertGreaterThanOrEqual(params.count, config.variant.isConvolutional ? 7 : 8)
    for (key, p) in params {
      assertClose(try XCTUnwrap(p.grad, key), try tensor("\(name).grad_g.\(key)"), 1e-5, "\(name) G grad \(key)")
    }
  }

  func testMLPGANMatchesPyTorch() throws { try checkGAN("gan", config(.gan)) }
  func testDCGANForwardBackwardMatchesPyTorch() throws { try checkGAN("dcgan", config(.dcgan)) }
  func testClassConditionalDCGANMatchesPyTorch() throws { try checkGAN("dcgan-cond", config(.dcgan, classes: 5)) }

  func testWGANGPPenaltyAndItsGradientMatchAutogradGrad() throws {
    let c = config(.wganGP)
    XCTAssertEqual(c.criticNorm, .layerNorm)
    let critic = GANDiscriminator(c)
    try critic.loadStateDict(weights("wgan-gp.d."), source: "wgan-gp")
    let gp = GANLoss.gradientPenalty(
      critic: { critic($0, labels: nil) }, real: try tensor("wgan-gp.real"), fake: try tensor("wgan-gp.fake"),
      lambda: 10, epsilon: try tensor("wgan-gp.epsilon"))
    assertClose(gp.penalty.reshape([1]), try tensor("wgan-gp.penalty"), 1e-5, "penalty")
    XCTAssertEqual(gp.gradientNorm, try tensor("wgan-gp.gradient_norm").item(), accuracy: 1e-5)
    gp.penalty.backward()
    let params = critic.namedParameters()
    XCTAssertEqual(params.map(\.0).sorted(), ["main.0.weight", "main.2.weight", "main.3.bias", "main.3.weight", "main.5.weight"])
    for (key, p) in params {
      // LayerNorm's bias only moves LeakyReLU's kinks, so the penalty does not depend on it:
      // PyTorch returns zeros where Loom's graph has no path (nil).
      let g = key == "main.3.bias" ? p.grad ?? Tensor.zeros(like: p) : try XCTUnwrap(p.grad, key)
      assertClose(g, try tensor("wgan-gp.grad_d.\(key)"), 1e-5, "penalty grad \(key)")
    }
    XCTAssertGreaterThan(try tensor("wgan-gp.grad_d.main.3.weight").abs().max().item(), 0.1)
  }
}
