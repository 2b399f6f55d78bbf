import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import XCTest

/// The small fixtures of make_encoder_fixtures.py (`<family>-<kind>/` saved by transformers
/// and `<family>-<kind>-expected.safetensors`): one head's logits, loss and the gradient of
/// every parameter that has one in PyTorch.
struct SmallEncoderFixture {
  let directory: String
  let expected: SafeTensorsFile

  init(_ family: String, _ kind: String) throws {
    directory = EncoderFixture.root + "/\(family)-\(kind)"
    expected = try SafeTensorsFile(path: EncoderFixture.root + "/\(family)-\(kind)-expected.safetensors")
  }

  func t(_ name: String) throws -> Tensor { try expected.tensor(name) }

  /// Inputs with the fixture's labels.
  func inputs() throws -> EncoderInputs {
    var inp = EncoderInputs(
      inputIds: try t("input_ids"), attentionMask: try t("attention_mask"),
      tokenTypeIds: expected.names.contains("token_type_ids") ? try t("token_type_ids") : nil)
    inp.labels = try t("labels")
    return inp
  }

  /// Runs `module` in train mode on the fixture and compares logits, loss and gradients
  /// (1e-4); returns the names of the parameters PyTorch gave no gradient.
  @discardableResult
  func check(_ module: Module, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
    let model = try XCTUnwrap(module as? any EncoderModel, file: file, line: line)
    module.train()
    let out = try model.forward(try inputs())
    EncoderFixture.assertClose(out.logits!, try t("logits"), 1e-4, "\(what) logits", file: file, line: line)
    EncoderFixture.assertClose(out.loss!.reshape([1]), try t("loss"), 1e-4, "\(what) loss", file: file, line: line)
    out.loss!.backward()
    var without: [String] = []
    for (name, p) in module.namedParameters() {
      guard expected.names.contains("grad." + name) else {
        without.append(name)
        continue
      }
      guard let g = p.grad else {
        XCTFail("\(what): no gradient for \(name)", file: file, line: line)
        continue
      }
      EncoderFixture.assertClose(g, try t("grad." + name), 1e-4, "\(what) grad \(name)", file: file, line: line)
    }
    return without
  }
}
