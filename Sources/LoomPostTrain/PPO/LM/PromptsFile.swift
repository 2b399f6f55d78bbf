import Foundation
import LoomCore

/// The prompts PPO samples from: a JSON-lines file whose rows hold a `prompt` string (trl's
/// prompt-only dataset format), or a text file with one prompt per non-empty line.
public enum PromptsFile {
  public static func read(_ path: String) throws -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw LoomError("--prompts \(path): no such file")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw LoomError("--prompts \(path): not UTF-8 text")
    }
    let json = path.hasSuffix(".jsonl") || path.hasSuffix(".json")
    var prompts: [String] = []
    // "\r\n" is one Character in Swift, so splitting on "\n" alone would keep a CRLF file in one line.
    let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    for (i, line) in lines.enumerated() {
      let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
      if trimmed.isEmpty { continue }
      guard json else {
        prompts.append(String(line))
        continue
      }
      guard
        let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any]
      else {
        throw LoomError(
          "\(path):\(i + 1): not a JSON object (each line must be {\"prompt\": \"…\"})")
      }
      guard let prompt = object["prompt"] as? String else {
        throw LoomError(
          "\(path):\(i + 1): no \"prompt\" string (keys: \(object.keys.sorted().joined(separator: ", ")))"
        )
      }
      guard !prompt.isEmpty else { throw LoomError("\(path):\(i + 1): the prompt is empty") }
      prompts.append(prompt)
    }
    guard !prompts.isEmpty else {
      throw LoomError(
        "--prompts \(path) holds no prompts (JSON lines with a \"prompt\" field, or one prompt per line)"
      )
    }
    return prompts
  }
}
