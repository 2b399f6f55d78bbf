import Foundation
import LoomTestSupport
import XCTest

/// Running `mpirun` (and the built `loom`) from tests: outputs go to files (no pipe can fill
/// up), and a run past its deadline is terminated, so a hang fails the test instead of CI.
enum MPIRun {
  struct Result {
    var status: Int32
    var out: String
    var err: String
    var seconds: Double
    var timedOut: Bool
  }

  static func loom() throws -> String { try loomBinary().path }

  static func mpirun() throws -> String {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
      let path = "\(dir)/mpirun"
      if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    throw XCTSkip("mpirun is not installed (apt install openmpi-bin libopenmpi-dev)")
  }

  /// mpirun's flags for `n` ranks on this machine (as root, and more ranks than cores, in CI).
  static func flags(_ n: Int) -> [String] {
    ["-np", String(n), "--oversubscribe", "--bind-to", "none"] + (getuid() == 0 ? ["--allow-run-as-root"] : [])
  }

  static func run(_ argv: [String], environment: [String: String] = [:], timeout: Double = 120) throws -> Result {
    let dir = NSTemporaryDirectory() + "loom-mpirun-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    _ = FileManager.default.createFile(atPath: dir + "/out", contents: nil)
    _ = FileManager.default.createFile(atPath: dir + "/err", contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    var env = ProcessInfo.processInfo.environment
    // The test runner's own launch must not leak into the children.
    for k in env.keys where k.hasPrefix("OMPI_") || k.hasPrefix("PMIX_") || k.hasPrefix("LOOM_MPI_WORKER") { env[k] = nil }
    env["LOOM_NUM_THREADS"] = env["LOOM_NUM_THREADS"] ?? "1"
    for (k, v) in environment { env[k] = v }
    p.environment = env
    p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
    let start = Date()
    try p.run()
    var timedOut = false
    while p.isRunning {
      if Date().timeIntervalSince(start) > timeout {
        timedOut = true
        p.terminate()
        Thread.sleep(forTimeInterval: 2)
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        break
      }
      Thread.sleep(forTimeInterval: 0.05)
    }
    p.waitUntilExit()
    return Result(
      status: p.terminationStatus,
      out: (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? "",
      err: (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? "",
      seconds: Date().timeIntervalSince(start), timedOut: timedOut)
  }
}
