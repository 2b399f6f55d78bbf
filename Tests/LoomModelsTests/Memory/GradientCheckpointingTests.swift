import LoomCore
import LoomNN
import XCTest

@testable import LoomModels

/// `gradientCheckpointingEnable()`: with dropout on, the loss and every parameter's gradient
/// are bit-identical to a run without it, the generator ends at the same offset, and the
/// blocks really are checkpointed (their outputs come from the checkpoint node).
final class GradientCheckpointingTests: XCTestCase {
  let ids = Tensor([Int64(1), 5, 7, 2, 9, 3, 4, 8, 6, 2, 1, 0], shape: [2, 6])
  /// Left padding in row 0 exercises the key-mask path.
  let mask = Tensor([Int64(0), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], shape: [2, 6])

  /// Loss (a fixed random projection of the output, so every position matters), the
  /// gradients of every parameter, and the generator state after backward.
  func run(_ model: Module, checkpointing: Bool, seed: UInt64 = 11, _ forward: () -> Tensor) -> (Float, [String: [Float]], [UInt64]) {
    checkpointing ? model.gradientCheckpointingEnable() : model.gradientCheckpointingDisable()
    XCTAssertEqual(model.isGradientCheckpointing, checkpointing)
    model.zeroGrad()
    model.train()
    manualSeed(seed)
    let out = forward()
    let w = Tensor.randn(out.shape, generator: Generator(seed: 5))
    let loss = (out * w).sum()
    loss.backward()
    let grads = Dictionary(uniqueKeysWithValues: model.namedParameters().compactMap { n, p in p.grad.map { (n, $0.floats) } })
    return (Float(loss.item()), grads, Generator.global.state)
  }

  func assertIdentical(_ model: Module, file: StaticString = #filePath, line: UInt = #line, _ forward: @escaping () -> Tensor) {
    let plain = run(model, checkpointing: false, forward)
    let ckpt = run(model, checkpointing: true, forward)
    XCTAssertEqual(plain.0.bitPattern, ckpt.0.bitPattern, "loss \(plain.0) vs \(ckpt.0)", file: file, line: line)
    XCTAssertEqual(plain.2, ckpt.2, "generator state after backward", file: file, line: line)
    let trainable = model.namedParameters().filter { $0.1.requiresGrad }.count
    XCTAssertEqual(plain.1.count, trainable, "every trainable parameter has a gradient", file: file, line: line)
    XCTAssertEqual(Set(plain.1.keys), Set(ckpt.1.keys), file: file, line: line)
    for (name, g) in plain.1 {
      XCTAssertEqual(g.map(\.bitPattern), ckpt.1[name]!.map(\.bitPattern), "gradient of \(name)", file: file, line: line)
    }
    // Dropout is on: a different seed must change the loss, so the comparison above can fail.
    XCTAssertNotEqual(run(model, checkpointing: true, seed: 12, forward).0, plain.0, file: file, line: line)
  }

  func testGPT2() throws {
    var c = GPT2Config(vocabSize: 11, nPositions: 8, nEmbd: 8, nLayer: 2, nHead: 2)
    (c.residPdrop, c.embdPdrop, c.attnPdrop) = (0.1, 0.1, 0.1)
    let model = try GPT2LMHeadModel(c, generator: Generator(seed: 1))
    // The first block runs once per step without checkpointing, twice (forward, recompute) with it.
    var calls = 0
    let handle = model.transformer.h[0].registerForwardHook { _, _, _ in calls += 1 }
    defer { handle.remove() }
    _ = run(model, checkpointing: false) { model(self.ids, attentionMask: self.mask) }
    XCTAssertEqual(calls, 1)
    _ = run(model, checkpointing: true) { model(self.ids, attentionMask: self.mask) }
    XCTAssertEqual(calls, 3)
    assertIdentical(model) { model(self.ids, attentionMask: self.mask) }
    // The block outputs come from checkpoint nodes; with a KV cache the blocks run directly.
    let blockOut = model.transformer.h[1].checkpointed(Tensor.randn([1, 2, 8]).requiringGrad()) { $0 * 2 }
    XCTAssertEqual(blockOut.gradFnName, "CheckpointFunctionBackward")
    XCTAssertEqual(model.transformer.h[1].checkpointed(Tensor.randn([1, 2, 8]).requiringGrad(), enabled: false) { $0 * 2 }.gradFnName, "MulBackward")
  }

  func testBert() throws {
    var c = BertConfig(vocabSize: 11, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 12)
    (c.hiddenDropoutProb, c.attentionProbsDropoutProb) = (0.1, 0.1)
    let model = try BertModel(c, addPoolingLayer: false)
    assertIdentical(model) { try! model.forward(EncoderInputs(inputIds: self.ids, attentionMask: self.mask)).lastHiddenState! }
  }

  func testDistilBert() throws {
    var c = DistilBertConfig()
    (c.vocabSize, c.maxPositionEmbeddings, c.nLayers, c.nHeads, c.dim, c.hiddenDim) = (11, 8, 2, 2, 8, 12)
    (c.dropout, c.attentionDropout) = (0.1, 0.1)
    let model = try DistilBertModel(c)
    assertIdentical(model) { try! model.forward(EncoderInputs(inputIds: self.ids, attentionMask: self.mask)).lastHiddenState! }
  }

  func testLlama() throws {
    var c = LlamaConfig()
    (c.vocabSize, c.hiddenSize, c.intermediateSize, c.numHiddenLayers, c.numAttentionHeads, c.numKeyValueHeads) =
      (11, 8, 12, 2, 2, 1)
    c.attentionDropout = 0.1
    let model = try LlamaForCausalLM(c)
    assertIdentical(model) { model.logits(ids: self.ids, attentionMask: self.mask, state: nil) }
  }

  func testBloom() throws {
    var c = BloomConfig(vocabSize: 11, hiddenSize: 8, nLayer: 2, nHead: 2)
    (c.hiddenDropout, c.attentionDropout) = (0.1, 0.1)
    let model = try BloomForCausalLM(c)
    assertIdentical(model) { model.logits(ids: self.ids, attentionMask: self.mask, state: nil) }
  }

  /// A frozen input (LoRA over frozen embeddings): the block's parameters still get gradients.
  func testParametersTrainWithFrozenInput() {
    let lin = Linear(4, 3, generator: Generator(seed: 2))
    lin.gradientCheckpointingEnable()
    let x = Tensor.randn([2, 4], generator: Generator(seed: 3))
    let y = lin.checkpointed(x) { lin($0) }
    XCTAssertEqual(y.gradFnName, "CheckpointFunctionBackward")
    y.sum().backward()
    let expected = noGrad { x.sum(dim: 0) }.floats
    for row in 0..<3 { XCTAssertEqual(Array(lin.weight.grad!.floats[(row * 4)..<(row * 4 + 4)]), expected) }
    XCTAssertEqual(lin.bias!.grad!.floats, [2, 2, 2])
  }
}
