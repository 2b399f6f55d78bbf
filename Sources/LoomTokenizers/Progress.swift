import Foundation

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
final class ProgressBar {
  let label: String
  var total: Int
  private var last = -1
  private let enabled: Bool
  private let start = Date()

  init(_ label: String, total: Int, enabled: Bool = true) {
    self.label = label
    self.total = max(total, 1)
    self.enabled = enabled && isatty(2) != 0
  }

  func update(_ n: Int) {
    guard enabled else { return }
    let pct = min(100, n * 100 / total)
    if pct == last { return }
    last = pct
    let width = 30
    let filled = pct * width / 100
    let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
    let line = String(
      format: "\r[%6.1fs] %-24@ %@ %3d%%", Date().timeIntervalSince(start), label as NSString,
      bar as NSString, pct)
    FileHandle.standardError.write(line.data(using: .utf8)!)
  }

  func finish() {
    guard enabled else { return }
    last = -1
    update(total)
    FileHandle.standardError.write("\n".data(using: .utf8)!)
  }
}
