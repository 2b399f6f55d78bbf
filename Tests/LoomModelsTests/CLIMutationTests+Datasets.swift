import Foundation
import LoomDatasets
import LoomTokenizers
import XCTest

/// The datasets layer's readers under the same mutation test: CSV and JSON lines (`loom train
/// classify|token-classify --data`) and SQuAD JSON (`loom train qa --data`). Each CLI case is a
/// fine-tuning run, so, as for IDX, `cases` mutants go through the readers in process (what the
/// CLI calls: the loader, the columns as text, run_qa's features) and 100 through the CLI (one
/// step of the tiny RoBERTa). Seeds come from Fuzz/corpus/{csv,jsonl,squad}.
extension CLIMutationTests {
  static var encoderCLI: String { fixtures + "/encoder-cli" }

  /// Seeds with their file names (a mutant keeps its seed's extension: the loader picks by it).
  static func namedSeeds(_ kind: String) throws -> [(name: String, bytes: [UInt8])] {
    let d = repository + "/Fuzz/corpus/" + kind
    return try FileManager.default.contentsOfDirectory(atPath: d).sorted().map {
      ($0, Array(try Data(contentsOf: URL(fileURLWithPath: d + "/" + $0))))
    }
  }

  /// `cases` mutants of `kind`'s seeds through `read` in process: each loads, or throws an error
  /// naming the file that is not a raw Foundation dump, within 5 s. Returns how many loaded.
  func readMutants(_ kind: String, salt: UInt64, _ read: (String) throws -> Void) throws -> Int {
    let seeds = try Self.namedSeeds(kind)
    var loaded = 0
    for i in 0..<Self.cases {
      let seed = seeds[i % seeds.count]
      let path = dir + "/\(kind)-\(i)-" + seed.name
      try Self.write(Self.mutant(seed.bytes, i, salt: salt), path)
      let start = Date()
      do {
        try read(path)
        loaded += 1
      } catch {
        let message = "\(error)"
        XCTAssertTrue(message.contains(path), "\(kind) case \(i): the error names the file: \(message)")
        for raw in ["NSCocoaErrorDomain", "DecodingError"] { XCTAssertFalse(message.contains(raw), "\(kind) case \(i): \(message)") }
      }
      XCTAssertLessThan(Date().timeIntervalSince(start), 5, "\(kind) case \(i) is slow")
      try FileManager.default.removeItem(atPath: path)
    }
    return loaded
  }

  /// One step of fine-tuning the tiny RoBERTa: every mutant reaches the model when it loads.
  static func fineTune(_ command: String, _ data: String, _ d: String, _ extra: [String] = []) -> [String] {
    [
      "train", command, "--model", encoderCLI + "/roberta-tiny", "--data", data, "--max-steps", "1", "--batch-size", "2",
      "--output-dir", d + "/out",
    ] + extra
  }

  /// The unmutated seed must fine-tune (so the mutants reach the model when they load).
  func assertSeedTrains(_ args: [String]) throws {
    let o = try Self.runLimited(args)
    XCTAssertEqual(o.status, 0, "\(args): \(o.err)")
  }

  /// The text of every column (what classify's --text-column / --label-column read).
  static func readColumns(_ path: String) throws {
    let d = try Dataset.load([path])
    for c in d.columnNames { _ = try? d.strings(c) }
  }

  func testMutatedCSVThroughTrainClassify() throws {
    XCTAssertGreaterThan(try readMutants("csv", salt: 12, Self.readColumns), 0)
    let path = Self.repository + "/Fuzz/corpus/csv/classify.csv"
    let columns = ["--text-column", "sentence", "--label-column", "label", "--max-seq-length", "32"]
    try assertSeedTrains(Self.fineTune("classify", path, dir, columns))
    let seed = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    try runCLI("CSV", cases: min(Self.cases, 100)) { i, d in
      try Self.write(Self.mutant(seed, i, salt: 13), d + "/data.csv")
      return Self.fineTune("classify", d + "/data.csv", d, columns)
    }
  }

  func testMutatedJSONLinesThroughTrainClassifyAndTokenClassify() throws {
    XCTAssertGreaterThan(try readMutants("jsonl", salt: 14, Self.readColumns), 0)
    let corpus = Self.repository + "/Fuzz/corpus/jsonl/"
    let columns = ["--text-column", "sentence", "--label-column", "label", "--max-seq-length", "32"]
    try assertSeedTrains(Self.fineTune("classify", corpus + "classify.jsonl", dir + "/a", columns))
    try assertSeedTrains(Self.fineTune("token-classify", corpus + "ner.jsonl", dir + "/b", ["--max-seq-length", "32"]))
    let classify = Array(try Data(contentsOf: URL(fileURLWithPath: corpus + "classify.jsonl")))
    let ner = Array(try Data(contentsOf: URL(fileURLWithPath: corpus + "ner.jsonl")))
    try runCLI("JSON lines", cases: min(Self.cases, 100)) { i, d in
      let file = d + "/data.jsonl"
      if i % 2 == 0 {
        try Self.write(Self.mutant(classify, i, salt: 15), file)
        return Self.fineTune("classify", file, d, columns)
      }
      try Self.write(Self.mutant(ner, i, salt: 15), file)
      return Self.fineTune("token-classify", file, d, ["--max-seq-length", "32"])
    }
  }

  func testMutatedSQuADThroughTrainQA() throws {
    let tokenizer = try Tokenizer.load(nameOrPath: Self.encoderCLI + "/roberta-tiny")
    let loaded = try readMutants("squad", salt: 16) { path in
      let d = try Dataset.loadSQuAD(path)
      do {
        _ = try QuestionAnswering.prepareTrainFeatures(d, tokenizer: tokenizer, maxLength: 32, docStride: 8)
        _ = try QuestionAnswering.prepareValidationFeatures(d, tokenizer: tokenizer, maxLength: 32, docStride: 8)
      } catch {
        XCTAssertFalse("\(error)".isEmpty)
      }
    }
    XCTAssertGreaterThan(loaded, 0)
    let seeds = try Self.namedSeeds("squad")
    let windows = ["--max-seq-length", "48", "--doc-stride", "8"]
    for (k, seed) in seeds.enumerated() {
      try assertSeedTrains(Self.fineTune("qa", Self.repository + "/Fuzz/corpus/squad/" + seed.name, dir + "/\(k)", windows))
    }
    try runCLI("SQuAD", cases: min(Self.cases, 100)) { i, d in
      let seed = seeds[i % seeds.count]
      let file = d + "/" + seed.name
      try Self.write(Self.mutant(seed.bytes, i, salt: 17), file)
      return Self.fineTune("qa", file, d, windows)
    }
  }
}
