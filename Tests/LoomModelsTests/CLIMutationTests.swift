import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomTrain
import LoomTestSupport
import XCTest

/// Seeded mutation test of every reader of untrusted files through the `loom` CLI (issue 13):
/// each mutant must end in a clean exit — success, or a non-zero status with a message — never a
/// signal, a hang (time limit) or runaway memory (address-space limit on the child).
///
/// safetensors, config.json, tokenizer.json, vocab.json + merges.txt, vocab.txt and char vocab run
/// `LOOM_MUTATION_CASES` (default 300) CLI children per kind, four at a time. IDX and trainer
/// state need a training run per CLI case, so their 300 run in-process (the readers the CLI
/// calls) and 30 through the CLI. Seeds come from Fuzz/corpus; mutants from
/// `ModelDirectoryFuzzTests.Mutator`, seeded by the case number, so a failure reproduces.
final class CLIMutationTests: XCTestCase {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
  static var cases: Int { Int(ProcessInfo.processInfo.environment["LOOM_MUTATION_CASES"] ?? "") ?? 300 }
  /// Address-space limit of each child (KiB) and its time limit.
  static let addressSpaceKiB = 4 << 20
  static let secondsPerRun = 60.0

  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-mutants-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  typealias Outcome = SpawnOutcome

  /// Runs `loom args` under the address-space and time limits.
  static func runLimited(_ args: [String]) throws -> Outcome {
    let loom = try loomBinary().path
    var env = ProcessInfo.processInfo.environment
    env["OPENBLAS_NUM_THREADS"] = "1"
    return try spawnLimited(
      ["/bin/sh", "-c", "ulimit -v \(addressSpaceKiB) && exec \"$0\" \"$@\"", loom] + args, environment: env,
      seconds: secondsPerRun)
  }

  /// What is wrong with an outcome (nil when it is clean). `ok` are the statuses that need no message (`loom cage
  /// check` exits 1 for findings, reported on standard output).
  static func problem(_ o: Outcome, ok: Set<Int32> = [0]) -> String? {
    if o.timedOut { return "hung (killed after \(Int(secondsPerRun)) s)" }
    if o.signaled { return "killed by signal \(o.status): \(o.err.prefix(400))" }
    if ok.contains(o.status) { return nil }
    let message = o.err.trimmingCharacters(in: .whitespacesAndNewlines)
    if message.isEmpty { return "exit \(o.status) with no message" }
    for raw in ["NSCocoaErrorDomain", "DecodingError", "Fatal error", "Swift/"] where message.contains(raw) {
      return "exit \(o.status) with a raw \(raw) message: \(message.prefix(300))"
    }
    return nil
  }

  /// tokenizer.json cases that trap inside LoomTokenizers on this branch (fixed by the tokenizers
  /// work of issue 13): still run, printed, not failed. Empty this set once those fixes are merged.
  static let knownTokenizerCrashes: Set<Int> = []

  /// Runs `cases` mutants, four CLI children at a time: `prepare` writes case `i`'s files
  /// into its directory and returns the CLI arguments. Fails listing every bad case not in `known`.
  func runCLI(
    _ kind: String, cases: Int, known: Set<Int> = [], ok: Set<Int32> = [0],
    prepare: @escaping (Int, String) throws -> [String]
  ) throws {
    let workers = 4
    let start = Date()
    let lock = NSLock()
    var failures: [String] = []
    var knownFailures: [Int] = []
    var clean = 0, succeeded = 0
    var thrown: Error?
    DispatchQueue.concurrentPerform(iterations: workers) { w in
      for i in stride(from: w, to: cases, by: workers) {
        do {
          let caseDir = dir + "/\(kind)-\(i)"
          try FileManager.default.createDirectory(atPath: caseDir, withIntermediateDirectories: true)
          let outcome = try Self.runLimited(try prepare(i, caseDir))
          try? FileManager.default.removeItem(atPath: caseDir)
          lock.withLock {
            if let p = Self.problem(outcome, ok: ok) {
              if known.contains(i) { knownFailures.append(i) } else { failures.append("\(kind) case \(i): \(p)") }
            } else {
              clean += 1
            }
            if outcome.status == 0 && !outcome.signaled { succeeded += 1 }
          }
        } catch {
          lock.withLock { thrown = thrown ?? error }
          return
        }
      }
    }
    if let thrown { throw thrown }
    XCTAssertEqual(failures, [], "\(failures.count) of \(cases) \(kind) mutants did not exit cleanly")
    XCTAssertEqual(clean + failures.count + knownFailures.count, cases)
    print(
      "\(kind): \(cases) CLI mutants, \(clean) clean (\(succeeded) succeeded), \(failures.count) not, "
        + String(format: "%.0f s", Date().timeIntervalSince(start)))
    if !knownFailures.isEmpty { print("\(kind): known failures still failing: cases \(knownFailures.sorted())") }
  }

  // MARK: - seeds and mutants

  static func seeds(_ kind: String) throws -> [[UInt8]] {
    let d = repository + "/Fuzz/corpus/" + kind
    return try FileManager.default.contentsOfDirectory(atPath: d).sorted().map {
      Array(try Data(contentsOf: URL(fileURLWithPath: d + "/" + $0)))
    }
  }

  static func mutant(_ seed: [UInt8], _ i: Int, salt: UInt64) -> [UInt8] {
    var m = ModelDirectoryFuzzTests.Mutator(state: UInt64(i) &* 2_654_435_761 &+ salt)
    return m.mutate(seed)
  }

  /// A safetensors file with only its header mutated (its data is mostly floats).
  static func headerMutant(_ file: [UInt8], _ i: Int) -> [UInt8] {
    let length = Int(file[0..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    let header = Array(file[8..<(8 + length)])
    var mutated = mutant(header, i, salt: 11)
    if i % 5 == 0 { return Array(file[0..<8]) + mutated + Array(file[(8 + length)...]) }  // stale length
    while mutated.count % 8 != 0 { mutated.append(0x20) }
    return withUnsafeBytes(of: UInt64(mutated.count).littleEndian, Array.init) + mutated + Array(file[(8 + length)...])
  }

  static func write(_ bytes: [UInt8], _ path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  static func split(_ bytes: [UInt8]) -> ([UInt8], [UInt8]) {
    let sep = Array("\n---\n".utf8)
    for i in 0..<max(0, bytes.count - sep.count + 1) where Array(bytes[i..<(i + sep.count)]) == sep {
      return (Array(bytes[..<i]), Array(bytes[(i + sep.count)...]))
    }
    return (bytes, [])
  }

  // MARK: - kinds run through the CLI

  func testMutatedSafetensorsThroughSummary() throws {
    let gpt2 = Self.fixtures + "/gpt2-tiny"
    let weights = Array(try Data(contentsOf: URL(fileURLWithPath: gpt2 + "/model.safetensors")))
    let seeds = try Self.seeds("safetensors")
    try runCLI("safetensors", cases: Self.cases) { i, d in
      try FileManager.default.copyItem(atPath: gpt2 + "/config.json", toPath: d + "/config.json")
      let bytes = i % 4 == 3 ? Self.mutant(seeds[i % seeds.count], i, salt: 1) : Self.headerMutant(weights, i)
      try Self.write(bytes, d + "/model.safetensors")
      return ["summary", d]
    }
  }

  func testMutatedConfigsOfEveryFamilyThroughSummary() throws {
    // One small model directory per family, each config mutated over its real weights.
    var models: [String] = [Self.fixtures + "/gpt2-tiny"]
    let ae = dir + "/ae", dae = dir + "/dae", vae = dir + "/vae", conv = dir + "/conv-vae"
    try Autoencoder(AutoencoderConfig(layerSizes: [16, 8, 4])).savePretrained(to: ae)
    try Autoencoder(AutoencoderConfig(layerSizes: [16, 8], noise: .masking(fraction: 0.25))).savePretrained(to: dae)
    try VAE(VAEConfig(latentSize: 4, hiddenSize: 8)).savePretrained(to: vae)
    var convConfig = VAEConfig(latentSize: 4, hiddenSize: 8)
    convConfig.channels = [2, 4]
    try ConvVAE(convConfig).savePretrained(to: conv)
    models += [ae, dae, vae, conv]
    let configs = try models.map { Array(try Data(contentsOf: URL(fileURLWithPath: $0 + "/config.json"))) }
    try runCLI("config.json", cases: Self.cases) { i, d in
      let k = i % models.count
      try Self.write(Self.mutant(configs[k], i, salt: 2), d + "/config.json")
      try FileManager.default.copyItem(atPath: models[k] + "/model.safetensors", toPath: d + "/model.safetensors")
      return ["summary", d]
    }
  }

  static let sample = "Hello, world! The quick brown fox; déjà vu 123 <|endoftext|>"

  func testMutatedTokenizerJSONThroughEncode() throws {
    let seeds = try Self.seeds("tokenizer-json")
    try runCLI("tokenizer.json", cases: Self.cases, known: Self.knownTokenizerCrashes) { i, d in
      try Self.write(Self.mutant(seeds[i % seeds.count], i, salt: 3), d + "/tokenizer.json")
      return ["tokenizer", "encode", "--tokenizer", d + "/tokenizer.json", "--text", Self.sample]
    }
  }

  func testMutatedVocabAndMergesThroughEncode() throws {
    let seeds = try Self.seeds("vocab-merges").map(Self.split)
    try runCLI("vocab.json+merges.txt", cases: Self.cases) { i, d in
      var (vocab, merges) = seeds[i % seeds.count]
      if i % 2 == 0 { vocab = Self.mutant(vocab, i, salt: 4) } else { merges = Self.mutant(merges, i, salt: 5) }
      try Self.write(vocab, d + "/vocab.json")
      try Self.write(merges, d + "/merges.txt")
      return ["tokenizer", "encode", "--tokenizer", d, "--text", Self.sample]
    }
  }

  func testMutatedVocabTxtThroughEncode() throws {
    let seeds = try Self.seeds("vocab-txt")
    try runCLI("vocab.txt", cases: Self.cases) { i, d in
      try Self.write(Self.mutant(seeds[i % seeds.count], i, salt: 6), d + "/vocab.txt")
      return ["tokenizer", "encode", "--tokenizer", d, "--text", Self.sample]
    }
  }

  func testMutatedCharVocabThroughGenerate() throws {
    // The tiny GPT-2 has vocab_size 97: a seed of 97 characters matches it.
    let gpt2 = Self.fixtures + "/gpt2-tiny"
    let chars = (0..<97).map { String(UnicodeScalar(UInt8(32 + $0))) }
    let seed = Array(try JSONEncoder().encode(chars))
    try runCLI("char_vocab.json", cases: Self.cases) { i, d in
      for f in ["config.json", "model.safetensors"] { try FileManager.default.copyItem(atPath: gpt2 + "/" + f, toPath: d + "/" + f) }
      try Self.write(Self.mutant(seed, i, salt: 7), d + "/char_vocab.json")
      return ["generate", "--model", d, "--prompt", "ab", "--max-new-tokens", "2"]
    }
  }

  // MARK: - kinds behind a training run: in-process readers, then a CLI sample

  /// A Fashion-MNIST layout of 8 train and 4 test images (plain files).
  func writeIDX(_ d: String) throws -> [String: [UInt8]] {
    func idx(_ magic: UInt32, _ dims: [UInt32], _ data: [UInt8]) -> [UInt8] {
      var b: [UInt8] = []
      for v in [magic] + dims { b += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
      return b + data
    }
    let files: [String: [UInt8]] = [
      "train-images-idx3-ubyte": idx(IDX.imagesMagic, [8, 28, 28], (0..<(8 * 784)).map { UInt8($0 % 251) }),
      "train-labels-idx1-ubyte": idx(IDX.labelsMagic, [8], [0, 1, 2, 3, 4, 5, 6, 7]),
      "t10k-images-idx3-ubyte": idx(IDX.imagesMagic, [4, 28, 28], (0..<(4 * 784)).map { UInt8($0 % 13) }),
      "t10k-labels-idx1-ubyte": idx(IDX.labelsMagic, [4], [9, 8, 7, 6]),
    ]
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    for (name, bytes) in files { try Self.write(bytes, d + "/" + name) }
    return files
  }

  /// Case `i`: one of the four files mutated (its header more often than its pixels).
  func mutateIDX(_ files: [String: [UInt8]], _ i: Int, into d: String) throws {
    let names = files.keys.sorted()
    let name = names[i % names.count]
    var bytes = files[name]!
    if i % 3 == 0 {
      bytes = Self.mutant(bytes, i, salt: 8)
    } else {
      let head = name.contains("images") ? 16 : 8
      bytes = Self.mutant(Array(bytes.prefix(head)), i, salt: 9) + bytes.dropFirst(head)
    }
    try Self.write(bytes, d + "/" + name)
  }

  func testMutatedIDXFiles() throws {
    let files = try writeIDX(dir + "/seed")
    var loaded = 0
    for i in 0..<Self.cases {
      let d = dir + "/idx-\(i)"
      _ = try writeIDX(d)
      try mutateIDX(files, i, into: d)
      let start = Date()
      for split in DatasetSplit.allCases {
        do {
          _ = try FashionMNIST.load(split: split, directory: d)
          loaded += 1
        } catch {
          XCTAssertFalse("\(error)".isEmpty, "case \(i)")
          XCTAssertTrue("\(error)".contains(d), "case \(i): the error names the file: \(error)")
        }
      }
      XCTAssertLessThan(Date().timeIntervalSince(start), 5, "case \(i) is slow")
      try FileManager.default.removeItem(atPath: d)
    }
    XCTAssertGreaterThan(loaded, 0)
    try runCLI("IDX", cases: min(Self.cases, 30)) { i, d in
      _ = try self.writeIDX(d + "/data")
      try self.mutateIDX(files, i, into: d + "/data")
      return [
        "train", "ae", "--data-dir", d + "/data", "--output-dir", d + "/out", "--max-steps", "1", "--batch-size", "4",
        "--per-device-eval-batch-size", "4",
      ]
    }
  }

  func testMutatedTrainerStateFiles() throws {
    // One real checkpoint, then its JSON files mutated.
    let text = dir + "/text.txt"
    try String(repeating: "To be, or not to be: that is the question.\n", count: 20).write(toFile: text, atomically: true, encoding: .utf8)
    let run = try Self.runLimited([
      "train", "gpt", "--data", text, "--char", "--preset", "tiny", "--block-size", "8", "--batch-size", "2",
      "--max-steps", "1", "--save-steps", "1", "--output-dir", dir + "/run",
    ])
    XCTAssertNil(Self.problem(run))
    XCTAssertEqual(run.status, 0, run.err)
    let checkpoint = dir + "/run/checkpoint-1"
    let names = ["trainer_state.json", "rng_state.json", "scheduler.json"]
    let originals = try names.map { Array(try Data(contentsOf: URL(fileURLWithPath: checkpoint + "/" + $0))) }

    for i in 0..<Self.cases {
      let path = dir + "/state-\(i).json"
      try Self.write(Self.mutant(originals[i % 3], i, salt: 10), path)
      do {
        switch i % 3 {
        case 0: _ = try Trainer.readTrainerState(path)
        case 1: _ = try JSONInput.decode([String: [UInt64]].self, at: path)
        default: _ = try JSONInput.decode([String: Int].self, at: path)
        }
      } catch {
        XCTAssertTrue("\(error)".hasPrefix(path), "case \(i): the error names the file: \(error)")
        XCTAssertFalse("\(error)".contains("DecodingError"), "case \(i): \(error)")
      }
    }
    try runCLI("trainer_state", cases: min(Self.cases, 30)) { i, d in
      try FileManager.default.copyItem(atPath: checkpoint, toPath: d + "/checkpoint-1")
      try Self.write(Self.mutant(originals[i % 3], i, salt: 10), d + "/checkpoint-1/" + names[i % 3])
      return [
        "train", "gpt", "--data", text, "--char", "--preset", "tiny", "--block-size", "8", "--batch-size", "2",
        "--max-steps", "2", "--output-dir", d, "--resume-from-checkpoint", d + "/checkpoint-1",
      ]
    }
  }
}
