import Foundation
import LoomCore
import LoomIO
import LoomModels
import XCTest

/// Seeded mutation fuzzing of the readers this layer adds: config.json through `AutoConfig`
/// (every registered family, then `validate()`) and the sharded `model.safetensors.index.json`.
/// Every mutant must either load or throw; a trap fails the whole run. Deterministic, so a
/// failure reproduces from its iteration number.
final class ModelDirectoryFuzzTests: XCTestCase {
  var dir: String!
  override func setUp() {
    TestDevice.apply()
    dir = NSTemporaryDirectory() + "loom-fuzz-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  /// Byte-level mutations plus JSON-aware ones (hostile numbers, wrong types, nulls).
  struct Mutator {
    var state: UInt64
    mutating func next(_ bound: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((state >> 33) % UInt64(max(bound, 1)))
    }
    static let tokens = [
      "1e20", "-1", "0", "9223372036854775807", "18446744073709551616", "2147483647", "1.5", "null", "true", "\"x\"",
      "[]", "{}", "[1e20]", "\"../model.safetensors\"", "\"model.bin\"", "\"\"", "NaN",
    ]
    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
      var b = input
      for _ in 0...next(3) {
        switch next(6) {
        case 0 where !b.isEmpty: b[next(b.count)] = UInt8(next(256))
        case 1 where !b.isEmpty: b.remove(at: next(b.count))
        case 2: b = Array(b.prefix(next(b.count + 1)))
        case 3: b.insert(UInt8(next(256)), at: next(b.count + 1))
        default:
          // Replace one JSON value (after a colon) by a hostile token.
          let colons = b.indices.filter { b[$0] == UInt8(ascii: ":") }
          guard let c = colons.isEmpty ? nil : colons[next(colons.count)] else { continue }
          var end = c + 1
          while end < b.count, b[end] != UInt8(ascii: ","), b[end] != UInt8(ascii: "}") { end += 1 }
          b.replaceSubrange((c + 1)..<end, with: Array(Self.tokens[next(Self.tokens.count)].utf8))
        }
      }
      return b
    }
  }

  func fixture(_ name: String) -> String {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path + "/" + name
  }

  func testMutatedConfigsLoadOrThrow() throws {
    let seeds: [[UInt8]] = [
      Array(try Data(contentsOf: URL(fileURLWithPath: fixture("gpt2-tiny/config.json")))),
      Array(#"{"model_type": "vae", "latent_size": 20, "hidden_size": 400, "input_size": 784, "beta": 1}"#.utf8),
      Array(#"{"model_type": "ae", "layer_sizes": [784, 128, 9]}"#.utf8),
      Array(#"{"architectures": ["GPT2LMHeadModel"], "n_embd": 48, "n_head": 4}"#.utf8),
    ]
    var loaded = 0, rejected = 0
    for i in 0..<3000 {
      var m = Mutator(state: UInt64(i))
      try Data(m.mutate(seeds[i % seeds.count])).write(to: URL(fileURLWithPath: dir + "/config.json"))
      do {
        try AutoConfig.from(directory: dir).validate()
        loaded += 1
      } catch {
        XCTAssertFalse("\(error)".isEmpty, "iteration \(i): an empty error message")
        rejected += 1
      }
    }
    // Both outcomes happen: the fuzzer reaches past the JSON parser into the field checks.
    XCTAssertGreaterThan(loaded, 100)
    XCTAssertGreaterThan(rejected, 1000)
  }

  func testMutatedShardIndexesLoadOrThrow() throws {
    let weights = try SafeTensors.load(fixture("gpt2-tiny/model.safetensors"))
    let names = weights.keys.sorted()
    var map: [String: String] = [:]
    for (i, half) in [Array(names.prefix(names.count / 2)), Array(names.dropFirst(names.count / 2))].enumerated() {
      let shard = "model-0000\(i + 1)-of-00002.safetensors"
      try SafeTensors.save(Dictionary(uniqueKeysWithValues: half.map { ($0, weights[$0]!) }), to: dir + "/" + shard)
      for n in half { map[n] = shard }
    }
    let index = try JSONSerialization.data(
      withJSONObject: ["metadata": ["total_size": 125_000], "weight_map": map], options: [.sortedKeys])
    let indexPath = dir + "/model.safetensors.index.json"
    try index.write(to: URL(fileURLWithPath: indexPath))
    XCTAssertEqual(try ModelDirectory.readWeights(in: dir).count, names.count, "the unmutated index loads")
    var loaded = 0, rejected = 0
    for i in 0..<1500 {
      var m = Mutator(state: UInt64(i) &+ 77)
      try Data(m.mutate(Array(index))).write(to: URL(fileURLWithPath: indexPath))
      do {
        // Whatever loads must still be the shards' tensors, each from the file the index names.
        for (name, entry) in try ModelDirectory.readWeights(in: dir) {
          XCTAssertEqual(entry.tensor.shape, weights[name]?.shape, "iteration \(i): \(name)")
        }
        loaded += 1
      } catch {
        rejected += 1
      }
    }
    XCTAssertGreaterThan(rejected, 500)
    XCTAssertGreaterThan(loaded + rejected, 0)
  }
}
