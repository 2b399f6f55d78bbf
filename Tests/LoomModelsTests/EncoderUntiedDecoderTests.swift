import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import XCTest

/// Masked-LM heads with `tie_word_embeddings: false` against transformers 5 (fixtures from
/// make_encoder_fixtures.py): the decoder is its own Linear, loaded, trained and saved.
final class EncoderUntiedDecoderTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  /// Logits, loss and every gradient HF has (the head's unused `bias` gets none), then a save
  /// with HF's names that loads back to the same logits.
  func check(_ family: String, decoder: String, embeddings: String, unusedBias: String?) throws {
    let f = try SmallEncoderFixture(family, "untied")
    let dir = f.directory
    let module = try AutoModelForMaskedLM.from(directory: dir)
    let model = try XCTUnwrap(module as? any EncoderModel)
    let params = Dictionary(uniqueKeysWithValues: module.namedParameters())
    let w = try XCTUnwrap(params[decoder + ".weight"], "no own decoder weight")
    XCTAssertFalse(w === params[embeddings], "decoder is not the word embeddings")
    EncoderFixture.assertClose(
      w, try SafeTensorsFile(path: dir + "/model.safetensors").tensor(decoder + ".weight"), 0, "loaded")
    XCTAssertTrue(f.expected.names.contains("grad.\(decoder).weight"))
    let without = try f.check(module, family)
    XCTAssertEqual(without, unusedBias.map { [$0] } ?? [], "parameters without a gradient in PyTorch")
    if let unusedBias { XCTAssertNil(params[unusedBias]?.grad, "\(unusedBias) is not used when untied") }
    let inp = try f.inputs()

    // One SGD step moves the decoder apart from the embeddings; save, reload, same logits.
    noGrad {
      for (_, p) in params { if let g = p.grad { p.copyIn(p - g * 0.5) } }
    }
    module.eval()
    let before = try noGrad { try model.forward(inp).logits! }
    let tmp = NSTemporaryDirectory() + "loom-untied-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    try module.savePretrained(to: tmp)
    let ours = try SafeTensorsFile(path: tmp + "/model.safetensors")
    let theirs = try SafeTensorsFile(path: dir + "/model.safetensors")
    XCTAssertEqual(ours.names.sorted(), theirs.names.sorted(), "saved names")
    let config =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: tmp + "/config.json")))
      as! [String: Any]
    XCTAssertEqual(config["tie_word_embeddings"] as? Bool, false)
    let back = try AutoModelForMaskedLM.from(directory: tmp) as! any EncoderModel
    back.eval()
    let after = try noGrad { try back.forward(inp).logits! }
    EncoderFixture.assertClose(after, before, 0, "\(family) round trip")
  }

  func testBertUntiedDecoder() throws {
    try check(
      "bert", decoder: "cls.predictions.decoder", embeddings: "bert.embeddings.word_embeddings.weight",
      unusedBias: "cls.predictions.bias")
  }

  func testRobertaUntiedDecoder() throws {
    try check(
      "roberta", decoder: "lm_head.decoder", embeddings: "roberta.embeddings.word_embeddings.weight",
      unusedBias: "lm_head.bias")
  }

  func testDistilBertUntiedProjector() throws {
    try check(
      "distilbert", decoder: "vocab_projector", embeddings: "distilbert.embeddings.word_embeddings.weight",
      unusedBias: nil)
  }

  /// A tied checkpoint loaded with tie_word_embeddings false: the decoder starts as a copy of
  /// the word embeddings (and the head's bias), so the predictions are unchanged.
  func testTiedCheckpointLoadsUntied() throws {
    let f = try EncoderFixture("roberta")
    let tmp = NSTemporaryDirectory() + "loom-untie-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    var config =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.directory + "/config.json")))
      as! [String: Any]
    config["tie_word_embeddings"] = false
    try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: tmp + "/config.json"))
    try FileManager.default.copyItem(atPath: f.directory + "/model.safetensors", toPath: tmp + "/model.safetensors")
    let tied = try AutoModelForMaskedLM.from(directory: f.directory) as! RobertaForMaskedLM
    let untied = try AutoModelForMaskedLM.from(directory: tmp) as! RobertaForMaskedLM
    XCTAssertNil(tied.lm_head.decoder)
    let d = try XCTUnwrap(untied.lm_head.decoder)
    EncoderFixture.assertClose(d.weight, tied.roberta.embeddings.word_embeddings.weight, 0, "decoder copy")
    let inp = try f.inputs()
    tied.eval()
    untied.eval()
    let a = try noGrad { try tied.forward(inp).logits! }
    let b = try noGrad { try untied.forward(inp).logits! }
    EncoderFixture.assertClose(a, b, 1e-5, "same predictions")
  }
}
