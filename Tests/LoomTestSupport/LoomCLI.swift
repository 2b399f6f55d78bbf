import Foundation
import XCTest

// Runs the `loom` executable that `swift build --build-tests` puts next to the test bundle, for every test target's
// CLI tests (one copy instead of one per file).

/// The built `loom` binary; a skip (not a failure) when it is not built, e.g. under `swift test --filter` after
/// building only the tests.
public func loomBinary() throws -> URL {
  var directories: [URL] = Bundle.allBundles.filter { $0.bundlePath.hasSuffix(".xctest") }
    .map { $0.bundleURL.deletingLastPathComponent() }
  directories.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
  directories.append(Bundle.main.bundleURL)
  for directory in directories {
    let url = directory.appendingPathComponent("loom")
    if FileManager.default.isExecutableFile(atPath: url.path) { return url }
  }
  throw XCTSkip("loom binary not built next to the tests (looked in \(directories.map(\.path)))")
}

/// Runs `loom args` and returns its exit status, standard output (bytes) and standard error. Both pipes are drained
/// at once, so a command that writes a lot to standard error cannot block on a full pipe. Death by a signal (a trap
/// or a crash) is a test failure at the caller's line.
public func loomData(
  _ args: [String], stdin: Data? = nil, environment: [String: String]? = nil, file: StaticString = #filePath,
  line: UInt = #line
) throws -> (status: Int32, out: Data, err: String) {
  let process = Process()
  process.executableURL = try loomBinary()
  process.arguments = args
  if let environment {
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  }
  let out = Pipe()
  let err = Pipe()
  process.standardOutput = out
  process.standardError = err
  let input = stdin.map { _ in Pipe() }
  process.standardInput = input ?? FileHandle.nullDevice
  try process.run()
  if let input, let stdin {
    DispatchQueue.global().async {
      input.fileHandleForWriting.write(stdin)
      try? input.fileHandleForWriting.close()
    }
  }
  let errData = DrainedPipe(err)
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  errData.done.wait()
  process.waitUntilExit()
  XCTAssertEqual(
    process.terminationReason, .exit,
    "loom \(args.joined(separator: " ")) died of signal \(process.terminationStatus)", file: file, line: line)
  return (process.terminationStatus, outData, String(decoding: errData.data, as: UTF8.self))
}

/// Reads a pipe to its end on another thread.
private final class DrainedPipe: @unchecked Sendable {
  var data = Data()
  let done = DispatchGroup()

  init(_ pipe: Pipe) {
    done.enter()
    DispatchQueue.global().async {
      self.data = pipe.fileHandleForReading.readDataToEndOfFile()
      self.done.leave()
    }
  }
}

/// `loomData` with standard output as text.
@discardableResult
public func loom(
  _ args: [String], stdin: Data? = nil, environment: [String: String]? = nil, file: StaticString = #filePath,
  line: UInt = #line
) throws -> (status: Int32, out: String, err: String) {
  let r = try loomData(args, stdin: stdin, environment: environment, file: file, line: line)
  return (r.status, String(decoding: r.out, as: UTF8.self), r.err)
}
