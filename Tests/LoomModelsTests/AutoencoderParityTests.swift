import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomOptim
import XCTest

/// The autoencoders against PyTorch (fixtures from scripts/fixtures/autoencoders.py).
/// Weights come from a hash both sides compute; large tensors are compared on a few
/// rows plus every row and column sum.
final class AutoencoderParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static func fixture(_ name: String) -> SafeTensorsFile {
    let url = Bundle.module.url(
      forResource: name, withExtension: "safetensors", subdirectory: "Fixtures")!
    return try! SafeTensorsFile(path: url.path)
  }
  static let ae = fixture("autoencoders")
  static let vaes = fixture("vaes")

  /// Parameter k (in namedParameters order) = bound · uniform(−1, 1) from splitmix64 of
  /// (element index + (salt + k)·golden); bound = 1/√(prod(shape[1...])) for matrices and
  /// kernels, 0.05 for vectors. Mirrors `hashed_init` in the fixture script.
  static func hashedInit(_ module: Module, salt: UInt64) {
    for (k, (_, p)) in module.namedParameters().enumerated() {
      let bound = p.rank >= 2 ? 1 / Double(p.shape.dropFirst().reduce(1, *)).squareRoot() : 0.05
      let key = (salt + UInt64(k)) &* 0x9E37_79B9_7F4A_7C15
      var out = [Float](repeating: 0, count: p.count)
      for i in 0..<p.count {
        var z = UInt64(i) &+ key &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        out[i] = Float(bound * (2 * (Double(z >> 11) * 0x1p-53) - 1))
      }
      p.copyIn(Tensor(out, shape: p.shape, device: p.device))
    }
  }

  func names(_ file: SafeTensorsFile, _ key: String) -> [String] {
    try! JSONDecoder().decode([String].self, from: Data(file.metadata[key]!.utf8))
  }

  /// Largest error of `actual` against `key` (full, or rows + sums), measured as
  /// |a − b| / max(1, |b|) when `relative`, else |a − b|.
  func error(_ actual: Tensor, _ key: String, in file: SafeTensorsFile, relative: Bool = false)
    -> Double
  {
    func err(_ a: Double, _ b: Double) -> Double { abs(a - b) / (relative ? max(1, abs(b)) : 1) }
    let a = actual.toArray(Double.self)
    if file.names.contains(key) {
      let b = try! file.tensor(key)
      XCTAssertEqual(actual.shape, b.shape, key)
      return zip(a, b.toArray(Double.self)).map(err).max() ?? 0
    }
    let rows = actual.shape[0]
    let cols = actual.count / rows
    let picked = try! file.tensor(key + ".rows").toArray(Double.self)
    var worst = 0.0
    for (r, i) in try! file.tensor(key + ".row_index").int64s.enumerated() {
      for j in 0..<cols { worst = max(worst, err(a[Int(i) * cols + j], picked[r * cols + j])) }
    }
    let rowSums = try! file.tensor(key + ".row_sums").doubles
    let colSums = try! file.tensor(key + ".col_sums").doubles
    XCTAssertEqual(rowSums.count, rows, key)
    XCTAssertEqual(colSums.count, cols, key)
    // A sum's error is relative to the sum of magnitudes (its elements' errors add up).
    func sumErr(_ elements: [Double], _ expected: Double) -> Double {
      abs(elements.reduce(0, +) - expected)
        / (relative ? max(1, elements.reduce(0) { $0 + abs($1) }) : 1)
    }
    for i in 0..<rows {
      worst = max(worst, sumErr((0..<cols).map { a[i * cols + $0] }, rowSums[i]))
    }
    for j in 0..<cols {
      worst = max(worst, sumErr((0..<rows).map { a[$0 * cols + j] }, colSums[j]))
    }
    return worst
  }

  func assertClose(
    _ actual: Tensor, _ key: String, in file: SafeTensorsFile, tol: Double, relative: Bool = false,
    line: UInt = #line
  ) {
    let e = error(actual, key, in: file, relative: relative)
    XCTAssertLessThanOrEqual(e, tol, "\(key): error \(e)", line: line)
    worst = max(worst, e)
  }

  /// Largest error seen by the running test (printed at its end).
  var worst = 0.0
  override func tearDown() {
    if worst > 0 { print("\(name): max error \(worst)") }
    worst = 0
  }

  func testAutoencoderForwardLossAndGradientsMatchPyTorch() throws {
    let f = Self.ae
    let model = Autoencoder()
    XCTAssertEqual(model.namedParameters().map(\.0), names(f, "parameters"))
    XCTAssertEqual(model.parameterCount(), 224_601)
    Self.hashedInit(model, salt: 100)
    let x = try f.tensor("input")
    let y = model(x)
    assertClose(y, "output", in: f, tol: 1e-5)
    let loss = model.loss(x, target: x).total
    assertClose(loss.reshape([1]), "loss", in: f, tol: 1e-6)
    loss.backward()
    for (name, p) in model.namedParameters() {
      assertClose(p.grad!, "grad." + name, in: f, tol: 1e-5)
    }
  }

  /// Five torch.optim.Adam(lr=1e-3, weight_decay=1e-8) steps on one batch.
  func testAutoencoderAdamStepsMatchPyTorch() throws {
    let f = Self.ae
    let model = Autoencoder()
    Self.hashedInit(model, salt: 100)
    let x = try f.tensor("input")
    let adam = Adam(model.parameters(), lr: 1e-3, weightDecay: 1e-8)
    var losses: [Double] = []
    for _ in 0..<5 {
      adam.zeroGrad()
      let loss = model.loss(x, target: x).total
      loss.backward()
      adam.step()
      losses.append(loss.item())
    }
    assertClose(Tensor(losses), "adam.losses", in: f, tol: 1e-6)
    for (name, p) in model.namedParameters() { assertClose(p, "adam." + name, in: f, tol: 1e-5) }
  }

  /// BCE-sum + KL per example with a fixed eps: outputs, loss parts and gradients
  /// (relative error, as the summed loss is in the hundreds).
  func testVAEMatchesPyTorch() throws {
    let f = Self.vaes
    let model = VAE()
    XCTAssertEqual(model.namedParameters().map(\.0), names(f, "vae_parameters"))
    Self.hashedInit(model, salt: 200)
    let x = try f.tensor("vae.input")
    let eps = try f.tensor("vae.eps")
    let (recon, mu, logvar) = model(x, eps: eps)
    assertClose(recon, "vae.recon", in: f, tol: 1e-5)
    assertClose(mu, "vae.mu", in: f, tol: 1e-5)
    assertClose(logvar, "vae.logvar", in: f, tol: 1e-5)
    let loss = model.vaeLoss(x, target: x, eps: eps)
    assertClose(
      loss.reconstruction.reshape([1]), "vae.recon_loss", in: f, tol: 1e-5, relative: true)
    assertClose(loss.kl.reshape([1]), "vae.kl_loss", in: f, tol: 1e-5, relative: true)
    assertClose(loss.total.reshape([1]), "vae.loss", in: f, tol: 1e-5, relative: true)
    loss.total.backward()
    for (name, p) in model.namedParameters() {
      assertClose(p.grad!, "vae.grad." + name, in: f, tol: 1e-5, relative: true)
    }
  }

  func testConvVAEMatchesPyTorch() throws {
    let f = Self.vaes
    let model = ConvVAE()
    XCTAssertEqual(model.namedParameters().map(\.0), names(f, "conv_parameters"))
    Self.hashedInit(model, salt: 300)
    let x = try f.tensor("conv.input")
    let eps = try f.tensor("conv.eps")
    let (recon, mu, logvar) = model(x, eps: eps)
    assertClose(recon, "conv.recon", in: f, tol: 1e-4)
    assertClose(mu, "conv.mu", in: f, tol: 1e-4)
    assertClose(logvar, "conv.logvar", in: f, tol: 1e-4)
    let loss = model.vaeLoss(x, target: x, eps: eps)
    assertClose(
      loss.reconstruction.reshape([1]), "conv.recon_loss", in: f, tol: 1e-4, relative: true)
    assertClose(loss.kl.reshape([1]), "conv.kl_loss", in: f, tol: 1e-4, relative: true)
    assertClose(loss.total.reshape([1]), "conv.loss", in: f, tol: 1e-4, relative: true)
    loss.total.backward()
    for (name, p) in model.namedParameters() {
      assertClose(p.grad!, "conv.grad." + name, in: f, tol: 1e-4, relative: true)
    }
  }

  /// Float64 finite differences of the VAE loss through reparameterisation and a
  /// sigmoid decoder, for both likelihoods and β ≠ 1.
  func testVAELossGradCheck() {
    let g = Generator(seed: 11)
    func leaf(_ shape: [Int], scale: Double = 0.5) -> Tensor {
      (Tensor.randn(shape, dtype: .float64, generator: g) * scale).detach().requiringGrad()
    }
    let mu = leaf([3, 4])
    let logvar = leaf([3, 4])
    let w = leaf([6, 4])
    let b = leaf([6])
    let eps = Tensor.randn([3, 4], dtype: .float64, generator: g)
    let target = Tensor.rand([3, 6], dtype: .float64, generator: g)
    for (rec, beta) in [(VAEConfig.Reconstruction.bce, 1.0), (.mse, 0.5)] {
      let r = GradCheck.check([mu, logvar, w, b]) { p in
        let z = VAEMath.reparameterize(mu: p[0], logvar: p[1], eps: eps)
        let recon = linear(z, weight: p[2], bias: p[3]).sigmoid()
        return VAEMath.loss(
          recon: recon, target: target, mu: p[0], logvar: p[1], beta: beta, reconstruction: rec
        ).total
      }
      XCTAssertTrue(r.passed, "\(rec): \(r)")
    }
    // The KL term alone against its closed form.
    let kl = VAEMath.loss(
      recon: target, target: target, mu: mu, logvar: logvar, beta: 1, reconstruction: .mse
    ).kl.item()
    let (m, lv) = (mu.doubles, logvar.doubles)
    var expected = 0.0
    for i in 0..<m.count {
      let term: Double = 1 + lv[i] - m[i] * m[i] - Foundation.exp(lv[i])
      expected -= 0.5 * term / 3
    }
    XCTAssertEqual(kl, expected, accuracy: 1e-12)
  }
}
