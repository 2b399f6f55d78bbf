import FuzzSupport
import LoomPostTrain

/// A preference JSON-lines file through PreferenceData.load as `loom train dpo|reward` reads it
/// (prompt required, and reward's implicit prompt), and the same bytes as PPO's `--prompts` file
/// (JSON lines by extension, plain lines otherwise). Every accepted row must hold what the reader promises.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  for requirePrompt in [true, false] {
    Scratch.read(input, size, as: ["prefs.jsonl"]) { path in
      let rows = try PreferenceData.load(path, requirePrompt: requirePrompt)
      if rows.isEmpty { fatalError("PreferenceData.load returned no rows without an error") }
      for r in rows where r.chosen == r.rejected || (r.refChosenLogps == nil) != (r.refRejectedLogps == nil) {
        fatalError("PreferenceData.load accepted a row it must refuse: \(r)")
      }
    }
  }
  Scratch.read(input, size, as: ["prompts.jsonl", "prompts.txt"]) { path in
    let prompts = try PromptsFile.read(path)
    if prompts.isEmpty || prompts.contains(where: \.isEmpty) {
      fatalError("PromptsFile.read returned an empty list or an empty prompt without an error")
    }
  }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
