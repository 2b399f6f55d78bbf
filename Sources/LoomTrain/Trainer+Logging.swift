import Foundation

/// Log records: log_history, the JSON-lines file in output_dir, callbacks.
extension Trainer {
  var logFilePath: String { args.outputDir + "/" + logFileName }

  /// One JSON-lines row; a NaN or infinite value is written as null (`LogJSON`).
  static func jsonLine(_ logs: [String: Double]) throws -> Data { try LogJSON.line(logs) }

  func defaultLog(_ logs: [String: Double]) throws {
    state.logHistory.append(logs)
    guard isWorldProcessZero() else { return }
    callbackHandler.onLog(args, state, &control, logs)
    onLog?(logs)
    let path = logFilePath
    if !FileManager.default.fileExists(atPath: path) {
      _ = FileManager.default.createFile(atPath: path, contents: nil)
    }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: try Self.jsonLine(logs))
  }

  /// Writes the log file from `state.logHistory` (after resuming, the history up to the
  /// checkpoint's step).
  func rewriteLogFile() throws {
    var data = Data()
    for logs in state.logHistory { data += try Self.jsonLine(logs) }
    try data.write(to: URL(fileURLWithPath: logFilePath), options: .atomic)
  }
}
