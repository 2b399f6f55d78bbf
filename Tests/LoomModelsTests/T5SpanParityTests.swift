import Foundation
import LoomCore
import LoomTrain
import XCTest

/// `T5SpanCorruption` against Hugging Face's run_t5_mlm_flax.py functions
/// (scripts/fixtures/make_t5_span_fixtures.py): the lengths, and masks, inputs and labels when
/// numpy's recorded shuffles are replayed.
final class T5SpanParityTests: XCTestCase {
  struct Lengths: Decodable {
    let inputs_length: Int
    let noise_density: Double
    let mean_noise_span_length: Double
    let tokens_length: Int
    let targets_length: Int
  }
  struct Mask: Decodable {
    let length: Int
    let noise_density: Double
    let mean_noise_span_length: Double
    let shuffles: [[Bool]]
    let mask: [Bool]
    let tokens: [Int]
    let first_sentinel_id: Int
    let eos_token_id: Int
    let input_ids: [Int]
    let labels: [Int]
  }
  struct Fixture: Decodable {
    let lengths: [Lengths]
    let masks: [Mask]
  }

  static let fixture: Fixture = {
    let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("t5-span-noise.json")
    return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
  }()

  func testInputAndTargetLengthsMatchHF() {
    XCTAssertEqual(Self.fixture.lengths.count, 5)
    for l in Self.fixture.lengths {
      let (t, g) = T5SpanCorruption.inputAndTargetLengths(
        inputsLength: l.inputs_length, noiseDensity: l.noise_density, meanNoiseSpanLength: l.mean_noise_span_length)
      XCTAssertEqual(t, l.tokens_length, "\(l)")
      XCTAssertEqual(g, l.targets_length, "\(l)")
    }
  }

  func testReplayedMasksInputsAndLabelsMatchHF() throws {
    XCTAssertEqual(Self.fixture.masks.count, 5)
    for m in Self.fixture.masks {
      let noise = try T5SpanCorruption(
        eosTokenId: m.eos_token_id, firstSentinelId: m.first_sentinel_id, noiseDensity: m.noise_density,
        meanNoiseSpanLength: m.mean_noise_span_length)
      var recorded = m.shuffles[...]
      let mask = noise.noiseMask(length: m.length) { a in
        a = recorded.removeFirst()
      }
      XCTAssertTrue(recorded.isEmpty, "two segmentations")
      XCTAssertEqual(mask, m.mask, "length \(m.length)")
      XCTAssertEqual(noise.filter(m.tokens, mask: mask), m.input_ids, "length \(m.length)")
      XCTAssertEqual(noise.filter(m.tokens, mask: mask.map { !$0 }), m.labels, "length \(m.length)")
    }
  }

  /// Loom's own draws: HF's token and span counts, sentinels counted down, and every original
  /// token in exactly one of input and target.
  func testSeededCorruptionKeepsHFCounts() throws {
    let noise = try T5SpanCorruption(eosTokenId: 1, firstSentinelId: 999)
    let tokens = Array(10..<(10 + 568))
    let (source, target) = noise.apply(tokens, generator: Generator(seed: 7))
    XCTAssertEqual(source.count, 512)
    XCTAssertEqual(target.count, 114)
    let sentinels = source.filter { $0 > 900 }
    XCTAssertEqual(sentinels, Array((999 - 28 + 1...999).reversed()))
    XCTAssertEqual(target.filter { $0 > 900 }, sentinels)
    XCTAssertEqual(Set(source.filter { $0 < 900 && $0 != 1 }).union(target.filter { $0 < 900 && $0 != 1 }), Set(tokens))
    let again = noise.apply(tokens, generator: Generator(seed: 7))
    XCTAssertEqual(again.source, source)
    XCTAssertNotEqual(noise.apply(tokens, generator: Generator(seed: 8)).source, source)
  }
}
