import Foundation

/// Prints one benchmark figure as a JSON line.
func emit(
  suite: String, bench: String, config: String, value: Double, unit: String,
  extra: [String: Any] = [:]
) {
  var record: [String: Any] = [
    "suite": suite, "bench": bench, "config": config, "value": value, "unit": unit,
  ]
  for (key, item) in extra { record[key] = item }
  let data = try! JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes])
  print(String(decoding: data, as: UTF8.self))
  fflush(stdout)
}

/// Median of a sample.
func median(_ xs: [Double]) -> Double {
  let s = xs.sorted()
  return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Monotonic seconds.
func now() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Peak resident set size of this process in MiB (Linux: VmHWM).
func peakRSSMegabytes() -> Double {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
    return 0
  }
  for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
    let digits = line.split(separator: " ").compactMap { Double($0) }
    if let kb = digits.first { return kb / 1024 }
  }
  return 0
}

/// Runs `loom-bench SUITE --only BENCH` (with the other options of `args`) as a child process
/// that writes to this one's standard output, so the bench's peak RSS is its own.
func runBenchInOwnProcess(suite: String, bench: String, args: [String]) throws {
  var rest = args
  if let i = rest.firstIndex(of: "--only") { rest.removeSubrange(i..<min(i + 2, rest.count)) }
  let child = Process()
  child.executableURL = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
  child.arguments = [suite, "--only", bench] + rest
  try child.run()
  child.waitUntilExit()
  guard child.terminationStatus == 0 else {
    throw BenchUsageError("\(suite) \(bench) exited with status \(child.terminationStatus)")
  }
}

/// A bad `loom-bench` command line.
struct BenchUsageError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// The lockstep protocol of bench/paired.py: print `ready`, then for every `step` line read
/// from standard input run `body` once and print `step MS`; on `stop` (or end of input)
/// return the median of the steps.
func lockstepMedian(_ body: () -> Void) -> Double {
  var samples: [Double] = []
  print("ready")
  fflush(stdout)
  while let line = readLine(), line == "step" {
    let t0 = now()
    body()
    let ms = (now() - t0) * 1000
    samples.append(ms)
    print("step \(ms)")
    fflush(stdout)
  }
  if samples.isEmpty { fatalError("lockstep: stopped before any step") }
  return median(samples)
}
