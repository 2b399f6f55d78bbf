import Foundation
import LoomAdapt
import XCTest

final class PeftTypeTests: XCTestCase {
  func testPeftSpellingsRoundTrip() throws {
    let json = #"["LORA", "PROMPT_TUNING"]"#
    let types = try JSONDecoder().decode([PeftType].self, from: Data(json.utf8))
    XCTAssertEqual(types, [.lora, .promptTuning])
    XCTAssertEqual(PeftTaskType(rawValue: "TOKEN_CLS"), .tokenClassification)
    XCTAssertNil(PeftTaskType(rawValue: "token_cls"))
  }
}
