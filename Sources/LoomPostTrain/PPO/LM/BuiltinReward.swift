import Foundation
import LoomCore

/// Reward functions on a response's decoded text, for `--reward builtin:NAME` (in place of a reward
/// model): each maps the text (after truncation at the stop token, special tokens dropped) to a score.
///
///   builtin:length[=N]   −|characters − N| / N: highest (0) for responses of N characters (default 40)
///   builtin:count=TEXT   how many times TEXT occurs in the response
///   builtin:ends=TEXT    1 when the response ends with TEXT (trailing newlines ignored), else 0
public struct BuiltinReward: Sendable {
  public let spec: String
  public let score: @Sendable (String) -> Double

  public static let names = ["length[=N]", "count=TEXT", "ends=TEXT"]

  /// Parses `builtin:NAME[=VALUE]` (the prefix optional).
  public init(parsing text: String) throws {
    let body = text.hasPrefix("builtin:") ? String(text.dropFirst("builtin:".count)) : text
    let parts = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
    let name = String(parts[0])
    let value = parts.count > 1 ? String(parts[1]) : nil
    spec = "builtin:" + body
    func fail(_ why: String) -> LoomError {
      LoomError(
        "--reward \(text): \(why) (builtin rewards: \(Self.names.map { "builtin:" + $0 }.joined(separator: ", ")))"
      )
    }
    switch name {
    case "length":
      let target =
        try value.map { v -> Int in
          guard let n = Int(v), n > 0 else {
            throw fail("the target length must be a positive integer, got '\(v)'")
          }
          return n
        } ?? 40
      score = { text in -abs(Double(text.count - target)) / Double(target) }
    case "count":
      guard let needle = value, !needle.isEmpty else {
        throw fail("count needs the text to count, e.g. builtin:count=the")
      }
      score = { text in Double(text.components(separatedBy: needle).count - 1) }
    case "ends":
      guard let suffix = value, !suffix.isEmpty else {
        throw fail("ends needs a suffix, e.g. builtin:ends=.")
      }
      score = { text in
        var t = Substring(text)
        while t.last?.isNewline == true { t = t.dropLast() }
        return t.hasSuffix(suffix) ? 1 : 0
      }
    default:
      throw fail("unknown reward '\(name)'")
    }
  }
}
