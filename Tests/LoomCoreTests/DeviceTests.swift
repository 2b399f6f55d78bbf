import LoomCore
import XCTest

/// The emulated device runs every op through its own backend (CPU kernels on copies), so
/// each result must match the CPU bit for bit; its memory refuses host access.
final class DeviceTests: XCTestCase {
  override func tearDown() {
    Device.default = .cpu
    super.tearDown()
  }

  /// Runs `body` with new tensors on the CPU, then on the emulated device, from the same seed.
  func onBoth<T>(_ body: () -> T) -> (cpu: T, emulated: T) {
    defer { Device.default = .cpu }
    Device.default = .cpu
    manualSeed(7)
    let c = body()
    Device.default = .emulated
    manualSeed(7)
    let e = body()
    return (c, e)
  }

  func testCreationAndRandomDrawsMatch() {
    let (c, e) = onBoth { () -> [[Double]] in
      var out: [Tensor] = [
        Tensor.zeros([2, 3]), Tensor.ones([4], dtype: .int64), Tensor.full([3], 2.5, dtype: .bfloat16),
        Tensor.arange(1, 4, step: 0.5, dtype: .float32), Tensor.eye(3), Tensor([Float(1), 2, 3], shape: [3, 1]),
        Tensor.rand([5]), Tensor.randn([6], dtype: .float64), Tensor.randint(0, 10, [7]),
        Tensor.bernoulli([8], p: 0.3), Tensor.randperm(6),
      ]
      let t = Tensor.zeros([2, 2])
      t.fill(4)
      out.append(t)
      XCTAssertEqual(out[6].device, Device.default)
      return out.map { $0.doubles } + [[Double(Generator.global.offset)]]
    }
    XCTAssertEqual(c, e)
    XCTAssertEqual(c[4], [1, 0, 0, 0, 1, 0, 0, 0, 1])
    XCTAssertEqual(c[3], [1, 1.5, 2, 2.5, 3, 3.5])
    // Offsets advance by the values drawn (5 + 6 + 7 + 8) plus randperm's 5 host draws.
    XCTAssertEqual(c.last, [31])
  }

  func testGeneratorIsCounterBasedAndRoundTrips() {
    let g = Generator(seed: 42)
    _ = Tensor.randn([10], generator: g, device: .cpu)
    XCTAssertEqual(g.state, [42, 10])
    let again = Generator(seed: 0)
    again.state = g.state
    // Values depend only on (seed, offset), not on the device or what came before.
    let next = Tensor.randn([5], generator: g, device: .cpu).floats
    XCTAssertEqual(Tensor.randn([5], generator: again, device: .emulated).floats, next)
    XCTAssertEqual(again.state, [42, 15])
    let ints = Tensor.randint(0, 1000, [8], generator: Generator(seed: 9)).int64s
    let tail = Generator(seed: 9)
    tail.state = [9, 3]
    // Integer fills take one draw per element: element i is draw offset + i.
    XCTAssertEqual(Tensor.randint(0, 1000, [5], generator: tail, device: .emulated).int64s, Array(ints[3...]))
    let u = Tensor.rand([1000], generator: Generator(seed: 1)).doubles
    XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 < 1 })
    XCTAssertEqual(u.reduce(0, +) / 1000, 0.5, accuracy: 0.05)
    let z = Tensor.randn([1000], generator: Generator(seed: 2)).doubles
    XCTAssertEqual(z.reduce(0, +) / 1000, 0, accuracy: 0.1)
    XCTAssertEqual(z.map { $0 * $0 }.reduce(0, +) / 1000, 1, accuracy: 0.15)
    let mask = Tensor.bernoulli([1000], p: 0.3, generator: Generator(seed: 3)).doubles
    XCTAssertEqual(mask.reduce(0, +) / 1000, 0.3, accuracy: 0.05)
  }

  func testOpsAndGradientsMatchBitForBit() {
    let (c, e) = onBoth { () -> [[Float]] in
      let x = Tensor.randn([2, 4, 8]).requiringGrad()
      let w = Tensor.randn([8, 8]).requiringGrad()
      let b = Tensor.randn([8]).requiringGrad()
      var h = linear(x, weight: w, bias: b).gelu()
      h = layerNorm(h, weight: nil, bias: nil)
      h = dropout(h, p: 0.25)
      let q = h.reshape([2, 1, 4, 8])
      let a = scaledDotProductAttention(q, q, q, isCausal: true).reshape([2, 4, 8])
      let logits = (a + h).softmax(dim: -1).log().reshape([8, 8])
      let targets = Tensor([Int64(0), 1, 2, 3, 4, 5, 6, -100])
      let loss = crossEntropy(logits, targets) + Tensor.cat([w, w], dim: 0).square().mean()
        + Tensor.where(b > 0, b, b * 0.5).sum()
        + Tensor.embedding(Tensor([Int64(3), 1]), weight: w).sum()
      loss.backward()
      let top = logits.topk(2).indices.to(.float32)
      let picked = logits.gather(dim: 1, index: top.long())
      return [loss.floats, a.floats, top.floats, picked.floats, x.grad!.floats, w.grad!.floats, b.grad!.floats]
    }
    XCTAssertEqual(c, e)
    XCTAssertFalse(c[4].allSatisfy { $0 == 0 })
  }

  func testEmulatedMemoryRefusesHostAccess() {
    let t = Tensor.ones([3], device: .emulated)
    XCTAssertEqual(t.device, .emulated)
    XCTAssertTrue(t.backend is EmulatedBackend)
    let refusal = t.storage.hostAccessRefusal
    XCTAssertNotNil(refusal)
    XCTAssertTrue(refusal?.contains("emulated device memory") ?? false)
    XCTAssertNil(Tensor.ones([3], device: .cpu).storage.hostAccessRefusal)
    // Reads go through the backend.
    XCTAssertEqual(t.floats, [1, 1, 1])
    XCTAssertEqual((t * 2).sum().item(), 6)
  }

  func testToDeviceRoundTripsWithGradients() {
    let x = Tensor([Float(1), -2, 3], device: .cpu).requiringGrad()
    let y = x.to(device: .emulated)
    XCTAssertEqual(y.device, .emulated)
    XCTAssertTrue(x.to(device: .cpu) === x)
    let z = (y * y).sum()
    XCTAssertEqual(z.device, .emulated)
    z.backward()
    XCTAssertEqual(x.grad?.device, .cpu)
    XCTAssertEqual(x.grad?.floats, [2, -4, 6])
    let back = y.to(device: .cpu)
    XCTAssertEqual(back.device, .cpu)
    XCTAssertEqual(back.floats, [1, -2, 3])
    // Views move as their elements; a CPU scalar mixes with a device tensor.
    let m = Tensor([Float(1), 2, 3, 4], shape: [2, 2], device: .emulated).transpose(0, 1)
    XCTAssertEqual(m.to(device: .cpu).floats, [1, 3, 2, 4])
    XCTAssertEqual((m * Tensor.scalar(2, device: .cpu)).floats, [2, 6, 4, 8])
  }

  func testInPlaceWritesReachDeviceMemory() {
    let t = Tensor.zeros([2, 3], device: .emulated)
    t.narrow(dim: 1, start: 1, length: 2).copyIn(Tensor([Float(1), 2, 3, 4], shape: [2, 2], device: .cpu))
    t.narrow(dim: 0, start: 0, length: 1).narrow(dim: 1, start: 0, length: 1).fill(9)
    XCTAssertEqual(t.floats, [9, 1, 2, 0, 3, 4])
  }
}
