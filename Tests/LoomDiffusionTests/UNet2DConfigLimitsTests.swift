import Foundation
import LoomCore
import XCTest

@testable import LoomDiffusion

/// Hostile UNet2DModel config.json values (issue 13): each is a clear error naming the field, thrown
/// before anything is allocated; before the fix these trapped (Int(1e300), 1 << 64 wrapping to 0 in a
/// modulo) or sized an allocation from the file.
final class UNet2DConfigLimitsTests: XCTestCase {
  /// The tiny fixture's keys with `changes` applied.
  func config(_ changes: [String: Any]) throws -> UNet2DConfig {
    var j: [String: Any] = [
      "sample_size": 8, "in_channels": 1, "out_channels": 1, "block_out_channels": [8, 16],
      "down_block_types": ["DownBlock2D", "AttnDownBlock2D"], "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
      "norm_num_groups": 4, "attention_head_dim": 4, "layers_per_block": 1,
    ]
    for (k, v) in changes { j[k] = v }
    return try UNet2DConfig(json: j)
  }

  func assertError(_ changes: [String: Any], mentions text: String, line: UInt = #line) {
    XCTAssertThrowsError(try config(changes), line: line) { error in
      XCTAssertTrue("\(error)".contains(text), "\(error)", line: line)
    }
  }

  func testTinyConfigIsAccepted() throws {
    let c = try config([:])
    XCTAssertEqual(c.sampleSize, [8, 8])
    XCTAssertEqual(c.blockOutChannels, [8, 16])
    XCTAssertEqual(try UNet2DConfig(json: c.json), c)
  }

  func testHugeOrFractionalNumbersAreErrorsNotTraps() {
    assertError(["sample_size": 1e300], mentions: "sample_size must hold integers")
    assertError(["sample_size": [8, 2.5]], mentions: "sample_size must hold integers")
    assertError(["block_out_channels": [8, 1e300]], mentions: "block_out_channels must hold integers")
  }

  func testSizesAreCappedBeforeAllocation() {
    assertError(["block_out_channels": [8, 1 << 40]], mentions: "block_out_channels must hold integers")
    assertError(["block_out_channels": [8, 1 << 20]], mentions: "block_out_channels[1] = 1048576")
    assertError(["in_channels": 1 << 20], mentions: "in_channels = 1048576 is beyond Loom's limit")
    assertError(["layers_per_block": 100_000], mentions: "layers_per_block = 100000 is beyond Loom's limit")
    assertError(["time_embedding_dim": 1 << 29], mentions: "time_embedding_dim = 536870912 is beyond")
    assertError(["num_class_embeds": 1 << 20, "time_embedding_dim": 1024], mentions: "class-embedding weights")
    assertError(["sample_size": 1 << 20], mentions: "up to 65536")
  }

  func testManyBlocksAreAnErrorNotADivisionByZero() {
    let n = 70
    assertError(
      [
        "block_out_channels": Array(repeating: 8, count: n), "down_block_types": Array(repeating: "DownBlock2D", count: n),
        "up_block_types": Array(repeating: "UpBlock2D", count: n), "sample_size": 8,
      ], mentions: "70 blocks; Loom's limit is 16")
  }
}
