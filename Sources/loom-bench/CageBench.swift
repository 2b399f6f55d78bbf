import Foundation
import LoomCage
import LoomCore
import LoomGenerate
import LoomModels
import LoomTokenizers

// loom-bench cage: the cage's C analyser against flawfinder on the same files (wolfSSL's and CyaSSL's headers from
// Debian's libwolfssl-dev, plus its shipped examples), single-threaded and at N threads (files split between N
// workers; flawfinder as N processes), runs interleaved (loom, flawfinder, loom, …) so that the shared machine's load
// hits both alike; wall time and CPU time (this process's, flawfinder's children's). Then the cage's share of a
// 256-token C answer: the C cage's check of a 256-token answer against a 256-token greedy generation (GPT-2 shape,
// 4 layers × 128), and whole caged vs uncaged generation calls, interleaved.
// Options: --threads N (default 2), --repeats N (default 5; medians are reported), --skip-generation.
// LOOM_CAGE_PRELUDE_PCH=0 in the environment times the analyser without its precompiled prelude.

func runCageBench(_ args: [String]) throws {
  let threads = Int(option("--threads", in: args) ?? "2") ?? 2
  let repeats = Int(option("--repeats", in: args) ?? "5") ?? 5
  let files = cageBenchFiles()
  guard !files.isEmpty else {
    throw CageError("no wolfSSL headers under /usr/include/wolfssl: install libwolfssl-dev (scripts/install.sh)")
  }
  let texts = try files.map { path -> String in
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return String(decoding: data, as: UTF8.self)
  }
  let bytes = texts.reduce(0) { $0 + $1.utf8.count }
  let validator = CCodeValidator()

  // One pass over every file: findings and parse statistics (also warms libclang and the prelude's PCH up).
  var findings = 0
  var parses = 0
  var parseMilliseconds = 0.0
  var blocks = 0
  for text in texts {
    let report = try validator.analyze(text)
    findings += report.findings.count
    parses += report.parses
    blocks += report.blocks
    parseMilliseconds += report.parseMilliseconds
  }
  let config = "\(files.count) files, \(bytes / 1024) KiB"
  let pch = ProcessInfo.processInfo.environment["LOOM_CAGE_PRELUDE_PCH"] == "0" ? "inline prelude" : "prelude PCH"
  let flawfinder = which("flawfinder")
  if flawfinder == nil {
    FileHandle.standardError.write("loom-bench cage: flawfinder not on PATH; comparison skipped\n".data(using: .utf8)!)
  }
  for workers in Set([1, threads]).sorted() {
    var loom: [(wall: Double, cpu: Double)] = []
    var ff: [(wall: Double, cpu: Double)] = []
    for _ in 0..<repeats {
      loom.append(timeLoom(texts, validator: validator, threads: workers))
      if let flawfinder { ff.append(timeFlawfinder(flawfinder, files, processes: workers)) }
    }
    let loomWall = median(loom.map(\.wall))
    emit(
      suite: "cage", bench: "c_analyser", config: "\(config), \(workers) thread(s), \(pch)", value: loomWall, unit: "s",
      extra: [
        "cpu_s": median(loom.map(\.cpu)), "findings": findings, "parses": parses, "blocks": blocks,
        "parse_ms": parseMilliseconds, "runs": repeats,
      ])
    if !ff.isEmpty {
      let ffWall = median(ff.map(\.wall))
      emit(
        suite: "cage", bench: "flawfinder", config: "\(config), \(workers) process(es)", value: ffWall, unit: "s",
        extra: [
          "cpu_s": median(ff.map(\.cpu)), "speedup_loom_wall": ffWall / loomWall,
          "speedup_loom_cpu": median(ff.map(\.cpu)) / median(loom.map(\.cpu)), "runs": repeats,
        ])
    }
  }

  // A model's answer of about 256 tokens: prose and one fenced C function.
  let answer = cageBenchAnswer()
  _ = try validator.analyze(answer)
  let answerRuns = try (0..<max(repeats * 3, 15)).map { _ -> (wall: Double, cpu: Double) in
    let start = now()
    let cpu = processCPU()
    _ = try validator.analyze(answer)
    return ((now() - start) * 1e3, (processCPU() - cpu) * 1e3)
  }
  emit(
    suite: "cage", bench: "c_answer_256_tokens", config: "\(answer.utf8.count) bytes, \(pch)",
    value: median(answerRuns.map(\.wall)), unit: "ms", extra: ["cpu_ms": median(answerRuns.map(\.cpu))])
  if !args.contains("--skip-generation") { try cageGenerationOverhead(answer: answer, repeats: repeats) }
}

/// The C cage's share of a 256-token generation, two ways, each interleaved with plain generation: (1) the cage's
/// check (through its timed thread, as in generation) of the 256-token C answer vs a 256-token generation; (2) whole
/// `Generation.generate(…, cage:)` calls vs plain ones (the random model writes C characters, not C, so the analyser
/// sees token soup of the same length; policy noop so every call releases).
private func cageGenerationOverhead(answer: String, repeats: Int) throws {
  let tokenizer = CharTokenizer(corpus: answer)
  let codec = TextCodec.chars(tokenizer)
  let model = try GPT2LMHeadModel(
    GPT2Config(
      vocabSize: tokenizer.vocabSize, nPositions: 300, nEmbd: 128, nLayer: 4, nHead: 4, bosTokenId: nil,
      eosTokenId: nil),
    generator: Generator(seed: 9))
  model.eval()
  var g = GenerationConfig()
  g.maxNewTokens = 256
  let prompt = "int "
  let ids = try codec.encode(prompt)
  let cage = SafetyCage(output: [CageEntry(CCodeValidator(), policy: .noop)])
  _ = try Generation.generate(model, prompts: [ids], config: g)
  var plain: [Double] = []
  var plainCPU: [Double] = []
  var check: [Double] = []
  var checkCPU: [Double] = []
  var caged: [Double] = []
  var plainAgain: [Double] = []
  for _ in 0..<max(repeats, 5) {
    var start = now()
    var cpu = processCPU()
    _ = try Generation.generate(model, prompts: [ids], config: g)
    plain.append(now() - start)
    plainCPU.append(processCPU() - cpu)
    start = now()
    cpu = processCPU()
    _ = cage.check(answer, stage: .output)
    check.append(now() - start)
    checkCPU.append(processCPU() - cpu)
    start = now()
    _ = try Generation.generate(model, prompt: prompt, codec: codec, config: g, cage: cage)
    caged.append(now() - start)
    start = now()
    _ = try Generation.generate(model, prompts: [ids], config: g)
    plainAgain.append(now() - start)
  }
  let generation = median(plain + plainAgain)
  emit(
    suite: "cage", bench: "generation_256_tokens", config: "GPT-2 shape 4x128, greedy, uncaged", value: generation * 1e3,
    unit: "ms", extra: ["runs": plain.count + plainAgain.count, "cpu_ms": median(plainCPU) * 1e3])
  emit(
    suite: "cage", bench: "c_cage_check_share", config: "C cage check of a 256-token C answer / 256-token generation",
    value: median(check) / generation * 100, unit: "%",
    extra: [
      "check_ms": median(check) * 1e3, "check_cpu_ms": median(checkCPU) * 1e3,
      "cpu_share_percent": median(checkCPU) / median(plainCPU) * 100,
    ])
  emit(
    suite: "cage", bench: "caged_generation_overhead", config: "Generation.generate(cage: C cage) vs uncaged, interleaved",
    value: (median(caged) - generation) / generation * 100, unit: "%", extra: ["caged_ms": median(caged) * 1e3])
}

private func option(_ name: String, in args: [String]) -> String? {
  guard let index = args.firstIndex(of: name), index + 1 < args.count else { return nil }
  return args[index + 1]
}

func cageBenchFiles() -> [String] {
  var files: [String] = []
  for root in ["/usr/include/wolfssl", "/usr/include/cyassl"] {
    if let walker = FileManager.default.enumerator(atPath: root) {
      for case let path as String in walker where path.hasSuffix(".h") { files.append(root + "/" + path) }
    }
  }
  let examples = "/usr/share/doc/libwolfssl-dev/examples"
  if let names = try? FileManager.default.contentsOfDirectory(atPath: examples) {
    files += names.filter { $0.hasSuffix(".c") }.map { examples + "/" + $0 }
  }
  return files.sorted()
}

/// This process's CPU time (all threads), seconds.
private func processCPU() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// CPU time of this process's waited-for children, seconds.
private func childrenCPU() -> Double {
  var usage = rusage()
  getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &usage)
  func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
  return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

private func timeLoom(_ texts: [String], validator: CCodeValidator, threads: Int) -> (wall: Double, cpu: Double) {
  let start = now()
  let cpu = processCPU()
  if threads <= 1 {
    for text in texts { _ = try? validator.analyze(text) }
  } else {
    DispatchQueue.concurrentPerform(iterations: threads) { worker in
      for index in stride(from: worker, to: texts.count, by: threads) { _ = try? validator.analyze(texts[index]) }
    }
  }
  return (now() - start, processCPU() - cpu)
}

private func timeFlawfinder(_ executable: String, _ files: [String], processes: Int) -> (wall: Double, cpu: Double) {
  let start = now()
  let cpu = childrenCPU()
  let running = (0..<processes).compactMap { worker -> Process? in
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    let share = stride(from: worker, to: files.count, by: processes).map { files[$0] }
    process.arguments = ["--quiet", "--dataonly"] + share
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    return (try? process.run()) != nil ? process : nil
  }
  running.forEach { $0.waitUntilExit() }
  return (now() - start, childrenCPU() - cpu)
}

private func which(_ name: String) -> String? {
  for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
    let path = "\(directory)/\(name)"
    if FileManager.default.isExecutableFile(atPath: path) { return path }
  }
  return nil
}

func cageBenchAnswer() -> String {
  """
  Here is a function that reads a user name and greets the user. It checks the allocation and bounds the copy:

  ```c
  #include <stdio.h>
  #include <stdlib.h>
  #include <string.h>

  int greet_user(FILE *in, const char *prefix) {
    char name[64];
    if (fgets(name, sizeof name, in) == NULL) {
      return -1;
    }
    name[strcspn(name, "\\n")] = '\\0';
    size_t len = strlen(prefix) + strlen(name) + 2;
    char *line = malloc(len);
    if (line == NULL) {
      return -1;
    }
    snprintf(line, len, "%s %s", prefix, name);
    printf("%s\\n", line);
    free(line);
    return 0;
  }
  ```

  The function returns 0 on success and -1 when reading or allocating fails.
  """
}
