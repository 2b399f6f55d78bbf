import Foundation

/// A one-line progress bar on a terminal (step/total, ETA, and live figures); plain
/// log lines every `plainEvery` updates when stderr is not a terminal.
public final class ProgressBar {
  let total: Int
  let label: String
  let start = Date()
  let isTerminal = isatty(STDERR_FILENO) != 0
  var lastDraw = Date.distantPast
  let plainEvery: Int

  public init(total: Int, label: String, plainEvery: Int = 50) {
    self.total = max(total, 1)
    self.label = label
    self.plainEvery = max(plainEvery, 1)
  }

  public func update(_ step: Int, _ fields: KeyValuePairs<String, String>) {
    let elapsed = Date().timeIntervalSince(start)
    let rate = Double(step) / max(elapsed, 1e-9)
    let eta = rate > 0 ? Double(total - step) / rate : 0
    let info = fields.map { "\($0.key) \($0.value)" }.joined(separator: "  ")
    if isTerminal {
      guard Date().timeIntervalSince(lastDraw) > 0.1 || step == total else { return }
      lastDraw = Date()
      let width = 24
      let filled = min(width, width * step / total)
      let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
      FileHandle.standardError.write("\r\u{1B}[2K\(label) \(bar) \(step)/\(total) [\(Self.clock(elapsed))<\(Self.clock(eta))] \(info)".data(using: .utf8)!)
      if step == total { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    } else if step % plainEvery == 0 || step == total {
      FileHandle.standardError.write("\(label) step \(step)/\(total) elapsed \(Self.clock(elapsed)) eta \(Self.clock(eta)) \(info)\n".data(using: .utf8)!)
    }
  }

  /// Prints a line under the bar (like tqdm.write); the bar redraws at the next update.
  public func write(_ line: String) {
    FileHandle.standardError.write(((isTerminal ? "\r\u{1B}[2K" : "") + line + "\n").data(using: .utf8)!)
    lastDraw = .distantPast
  }

  public func finish() {
    if isTerminal { FileHandle.standardError.write("\n".data(using: .utf8)!) }
  }

  static func clock(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%02d:%02d", s / 60, s % 60)
  }
}
