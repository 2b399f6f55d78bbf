import Foundation
import XCTest

/// Runs the `loom` binary built next to the test bundle and returns its exit status,
/// standard output and standard error; skips when the binary is not built.
func runLoom(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
  let url = Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("loom")
  guard FileManager.default.isExecutableFile(atPath: url.path) else {
    throw XCTSkip("loom binary not built at \(url.path)")
  }
  let p = Process()
  p.executableURL = url
  p.arguments = args
  let o = Pipe(), e = Pipe()
  p.standardOutput = o
  p.standardError = e
  try p.run()
  let od = o.fileHandleForReading.readDataToEndOfFile(), ed = e.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  return (p.terminationStatus, String(decoding: od, as: UTF8.self), String(decoding: ed, as: UTF8.self))
}
