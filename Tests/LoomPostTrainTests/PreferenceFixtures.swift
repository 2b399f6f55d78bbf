import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomTokenizers
import XCTest

@testable import LoomPostTrain

/// The files scripts/fixtures/make_dpo_fixtures.py writes (trl 1.16, transformers 5.25).
enum PreferenceFixtures {
  static let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path + "/dpo"
  static var policy: String { dir + "/policy" }
  static var reference: String { dir + "/reference" }
  static var reward: String { dir + "/reward" }
  static var prefs: String { dir + "/prefs.jsonl" }
  static var prefsMargin: String { dir + "/prefs-margin.jsonl" }

  static func expected() throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json"))) as! [String: Any]
  }
  static func grads() throws -> [String: Tensor] { try SafeTensors.load(dir + "/expected-grads.safetensors") }

  static func tokenizer() throws -> (PreferenceTokenizer, pad: Int) {
    let tok = try Tokenizer.fromPretrained(policy)
    let pre = PreferenceTokenizer(eosToken: tok.specialTokens.eos!) { try tok.encode($0).ids.map(Int.init) }
    return (pre, Int(tok.padTokenId!))
  }

  /// The 4 rows as DPO batches (the collator trl's test batch came from).
  static func dpoDataset(maxLength: Int? = 1024) throws -> PreferenceDataset {
    let (tok, pad) = try tokenizer()
    let pairs = try tok.tokenizeForDPO(PreferenceData.load(prefs), maxLength: maxLength, source: prefs)
    return PreferenceDataset(pairs, padTokenId: pad, maxLength: maxLength)
  }
}

/// |a − b| ≤ 1e-5, relative for values above 1 (float32 sums of ~70 in size carry ~1e-5 of rounding).
func assertClose(
  _ a: Double, _ b: Double, _ what: String, tolerance: Double = 1e-5, file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertLessThanOrEqual(abs(a - b), tolerance * max(1, abs(b)), "\(what): \(a) vs trl's \(b)", file: file, line: line)
}

func intList(_ any: Any?) -> [Int] { (any as! [Any]).map { ($0 as! NSNumber).intValue } }
func ints(_ any: Any?) -> [[Int]] { (any as! [[Any]]).map { $0.map { ($0 as! NSNumber).intValue } } }
func doubles(_ any: Any?) -> [Double] { (any as! [Any]).map { ($0 as! NSNumber).doubleValue } }
func rows(_ t: Tensor) -> [[Int]] {
  let v = t.to(.int64).int64s.map(Int.init)
  let w = t.shape[1]
  return (0..<t.shape[0]).map { Array(v[$0 * w..<($0 + 1) * w]) }
}

/// Every key of a metrics.jsonl file's records (parsed: JSONSerialization escapes "/").
func metricsKeys(_ path: String) throws -> Set<String> {
  let text = try String(contentsOfFile: path, encoding: .utf8)
  var keys = Set<String>()
  for line in text.split(separator: "\n") {
    let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
    keys.formUnion(object.keys)
  }
  return keys
}
