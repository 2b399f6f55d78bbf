import Foundation
import LoomAdapt
import XCTest

/// A seeded, in-process stand-in for Fuzz/fuzz-adapter-config (which needs an ASan build): the
/// seed corpus mutated 1,200 times through both adapter_config.json readers. Each input
/// is either a clear error or a config that validates and writes back to one that reads the same.
final class AdapterConfigMutationTests: XCTestCase {
  static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/adapter-config").path

  func testMutatedAdapterConfigsAreClearErrorsOrRoundTrip() throws {
    let seeds = try FileManager.default.contentsOfDirectory(atPath: Self.corpus).sorted().map {
      try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/" + $0))
    }
    XCTAssertGreaterThanOrEqual(seeds.count, 5)
    let dir = NSTemporaryDirectory() + "loom-adapter-mutate-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    let pieces = [
      "null", "-1", "0", "1e999", "2.5", "[]", "{}", "\"\"", "\"x\"", "true", "[1, -3]",
      "{\"a\": 1}",
    ]
    .map { Array($0.utf8) }
    var state: UInt64 = 17
    func next(_ n: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((state >> 33) % UInt64(max(n, 1)))
    }
    var accepted = (lora: 0, prompt: 0)
    for i in 0..<1200 {
      var bytes = Array(seeds[i % seeds.count])
      for _ in 0..<(1 + next(3)) {
        let at = next(bytes.count + 1)
        switch next(4) {
        case 0 where at < bytes.count: bytes[at] = UInt8(truncatingIfNeeded: next(256))
        case 1 where at < bytes.count:
          bytes.removeSubrange(at..<min(bytes.count, at + 1 + next(12)))
        case 2:
          // Replace a JSON value after a colon with another piece.
          if let colon = bytes[..<at].lastIndex(of: UInt8(ascii: ":")) {
            let end =
              bytes[(colon + 1)...].firstIndex {
                $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\n")
              } ?? bytes.count
            bytes.replaceSubrange(
              (colon + 1)..<end, with: [UInt8(ascii: " ")] + pieces[next(pieces.count)])
          }
        default: bytes.insert(contentsOf: pieces[next(pieces.count)], at: at)
        }
      }
      try Data(bytes).write(to: URL(fileURLWithPath: dir + "/adapter_config.json"))
      do {
        let lora = try PeftModel.config(in: dir)
        try lora.validate()
        let again = try JSONDecoder().decode(LoraConfig.self, from: JSONEncoder().encode(lora))
        XCTAssertEqual(
          again, lora, "LoRA round trip of input \(i): \(String(decoding: bytes, as: UTF8.self))")
        accepted.lora += 1
      } catch { XCTAssertFalse("\(error)".isEmpty) }
      do {
        let prompt = try PromptTuningConfig.load(directory: dir)
        try prompt.validate()
        let again = try PromptTuningConfig.decode(Data(prompt.jsonText().utf8), path: "written")
        XCTAssertEqual(
          again, prompt,
          "prompt-tuning round trip of input \(i): \(String(decoding: bytes, as: UTF8.self))")
        accepted.prompt += 1
      } catch { XCTAssertFalse("\(error)".isEmpty) }
    }
    XCTAssertGreaterThan(accepted.lora, 10, "mutations keep some LoRA configs valid")
    XCTAssertGreaterThan(accepted.prompt, 3, "mutations keep some prompt-tuning configs valid")
  }
}
