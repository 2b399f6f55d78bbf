import Foundation
import LoomCore
import LoomModels
import XCTest

/// Sequence classification with num_labels 1 and float labels against transformers (fixtures
/// from make_encoder_fixtures.py): HF infers problem_type regression, MSE of the squeezed logits.
final class EncoderRegressionParityTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  func check(_ family: String) throws {
    let f = try SmallEncoderFixture(family, "regression")
    let module = try AutoModelForSequenceClassification.from(directory: f.directory)
    XCTAssertEqual(try f.t("logits").shape, [3, 1])
    XCTAssertEqual(try f.check(module, "\(family) regression"), [], "every parameter has a gradient")
  }

  func testBertRegression() throws { try check("bert") }
  func testRobertaRegression() throws { try check("roberta") }
  func testDistilBertRegression() throws { try check("distilbert") }
}
