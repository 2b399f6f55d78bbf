import LoomCore
import LoomNN
import XCTest

/// README's custom module ("A custom module"), verbatim.
final class MLP: Module {
  @Child var fc1 = Linear(784, 128)  // submodule, replaceable by path
  @Child var fc2 = Linear(128, 10)
  @Parameter var temperature = Tensor.ones([1]).requiringGrad()  // trained and saved
  @Buffer var seen = Tensor.zeros([1])  // saved, never trained
  @Buffer(persistent: false) var cache = Tensor.zeros([1])  // neither
  let scratch = Tensor.zeros([4])  // a plain tensor: not part of the model

  override func forward(_ x: Tensor) -> Tensor {
    fc2(fc1(x).relu()) / temperature
  }
}

final class ReadmeModuleSnippetTests: XCTestCase {
  func testCustomModuleSnippetBehavesAsDocumented() throws {
    let model = MLP()
    XCTAssertEqual(
      model.description,
      """
      MLP(
        (fc1): Linear(in_features=784, out_features=128, bias=True)
        (fc2): Linear(in_features=128, out_features=10, bias=True)
      )
      """)
    let logits = model(Tensor.rand([32, 784]))
    XCTAssertEqual(logits[0, 0..<3].shape, [3])
    XCTAssertTrue(logits[0, 0..<3].description.hasPrefix("tensor(["))
    XCTAssertEqual(
      model.stateDict().keys.sorted(),
      ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight", "seen", "temperature"])
    XCTAssertEqual(model.parameterCount(), 784 * 128 + 128 + 128 * 10 + 10 + 1)
    try model.to(dtype: .bfloat16)
    XCTAssertTrue(model.parameters().allSatisfy { $0.dtype == .bfloat16 })
    XCTAssertEqual(model.seen.dtype, .bfloat16)
  }
}
