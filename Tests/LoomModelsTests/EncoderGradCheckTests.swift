import LoomCore
import LoomNN
import XCTest

@testable import LoomModels

/// Finite differences (float64) through one BERT layer and one DistilBERT block with a
/// padding mask: input and every parameter.
final class EncoderGradCheckTests: XCTestCase {
  func mask() -> Tensor { Tensor([Int64(1), 1, 1, 1, 1, 1, 0, 0], shape: [2, 4]).to(.bool).reshape([2, 1, 1, 4]) }

  func testBertLayerGradients() throws {
    var c = BertConfig(vocabSize: 11, hiddenSize: 6, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 5)
    (c.hiddenDropoutProb, c.attentionProbsDropoutProb) = (0, 0)
    let model = try BertModel(c).to(dtype: .float64)
    let layer = model.encoder.layer[0]
    let x = Tensor.randn([2, 4, 6], dtype: .float64, generator: Generator(seed: 3)).requiringGrad()
    let params = layer.parameters()
    XCTAssertEqual(params.count, 16)
    let keyMask = mask()
    // Both projection paths: three GEMMs, and q/k/v concatenated into one.
    for fuse in [false, true] {
      EncoderAttention.fuseProjections = fuse
      defer { EncoderAttention.fuseProjections = false }
      let r = GradCheck.check([x] + params) { _ in layer(x, keyMask: keyMask) }
      XCTAssertTrue(r.passed, "BertLayer (fused q/k/v: \(fuse)): \(r)")
    }
  }

  func testDistilBertBlockGradients() throws {
    var c = DistilBertConfig()
    (c.vocabSize, c.maxPositionEmbeddings, c.nLayers, c.nHeads, c.dim, c.hiddenDim) = (11, 8, 1, 2, 6, 5)
    (c.dropout, c.attentionDropout) = (0, 0)
    let model = try DistilBertModel(c).to(dtype: .float64)
    let block = model.transformer.layer[0]
    let x = Tensor.randn([2, 4, 6], dtype: .float64, generator: Generator(seed: 4)).requiringGrad()
    let keyMask = mask()
    let r = GradCheck.check([x] + block.parameters()) { _ in block(x, keyMask: keyMask) }
    XCTAssertTrue(r.passed, "DistilBertBlock: \(r)")
  }
}
