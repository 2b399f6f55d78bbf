import Foundation
import LoomCage

// loom-bench cage: the cage's C analyser against flawfinder on the same files (all of wolfSSL's headers from
// Debian's libwolfssl-dev, plus its shipped examples), wall time single-threaded and at 2 threads (files split
// between two workers; flawfinder as two processes), and the analyser's time for one 256-token C answer.
// Options: --threads N (default 2), --repeats N (default 3; the median is reported).

func runCageBench(_ args: [String]) throws {
  let threads = Int(option("--threads", in: args) ?? "2") ?? 2
  let repeats = Int(option("--repeats", in: args) ?? "3") ?? 3
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

  // One pass over every file: findings and parse statistics (also warms libclang up).
  var findings = 0
  var parses = 0
  var parseMilliseconds = 0.0
  for text in texts {
    let report = try validator.analyze(text)
    findings += report.findings.count
    parses += report.parses
    parseMilliseconds += report.parseMilliseconds
  }
  let config = "\(files.count) files, \(bytes / 1024) KiB"

  let loomSingle = median((0..<repeats).map { _ in timeLoom(texts, validator: validator, threads: 1) })
  let loomParallel = median((0..<repeats).map { _ in timeLoom(texts, validator: validator, threads: threads) })
  emit(
    suite: "cage", bench: "c_analyser", config: config + ", 1 thread", value: loomSingle, unit: "s",
    extra: ["findings": findings, "parses": parses, "parse_ms": parseMilliseconds])
  emit(suite: "cage", bench: "c_analyser", config: config + ", \(threads) threads", value: loomParallel, unit: "s")

  if let flawfinder = which("flawfinder") {
    let ffSingle = median((0..<repeats).map { _ in timeFlawfinder(flawfinder, files, processes: 1) })
    let ffParallel = median((0..<repeats).map { _ in timeFlawfinder(flawfinder, files, processes: threads) })
    emit(
      suite: "cage", bench: "flawfinder", config: config + ", 1 thread", value: ffSingle, unit: "s",
      extra: ["speedup_loom": ffSingle / loomSingle])
    emit(
      suite: "cage", bench: "flawfinder", config: config + ", \(threads) processes", value: ffParallel, unit: "s",
      extra: ["speedup_loom": ffParallel / loomParallel])
  } else {
    FileHandle.standardError.write("loom-bench cage: flawfinder not on PATH; comparison skipped\n".data(using: .utf8)!)
  }

  // A model's answer of about 256 tokens: prose and one fenced C function.
  let answer = cageBenchAnswer()
  _ = try validator.analyze(answer)
  let perAnswer = median(
    try (0..<max(repeats * 5, 15)).map { _ in
      let start = now()
      _ = try validator.analyze(answer)
      return (now() - start) * 1e3
    })
  emit(
    suite: "cage", bench: "c_answer_256_tokens", config: "\(answer.utf8.count) bytes", value: perAnswer, unit: "ms")
}

private func option(_ name: String, in args: [String]) -> String? {
  guard let index = args.firstIndex(of: name), index + 1 < args.count else { return nil }
  return args[index + 1]
}

func cageBenchFiles() -> [String] {
  var files: [String] = []
  if let walker = FileManager.default.enumerator(atPath: "/usr/include/wolfssl") {
    for case let path as String in walker where path.hasSuffix(".h") { files.append("/usr/include/wolfssl/" + path) }
  }
  let examples = "/usr/share/doc/libwolfssl-dev/examples"
  if let names = try? FileManager.default.contentsOfDirectory(atPath: examples) {
    files += names.filter { $0.hasSuffix(".c") }.map { examples + "/" + $0 }
  }
  return files.sorted()
}

private func timeLoom(_ texts: [String], validator: CCodeValidator, threads: Int) -> Double {
  let start = now()
  if threads <= 1 {
    for text in texts { _ = try? validator.analyze(text) }
  } else {
    DispatchQueue.concurrentPerform(iterations: threads) { worker in
      for index in stride(from: worker, to: texts.count, by: threads) { _ = try? validator.analyze(texts[index]) }
    }
  }
  return now() - start
}

private func timeFlawfinder(_ executable: String, _ files: [String], processes: Int) -> Double {
  let start = now()
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
  return now() - start
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
