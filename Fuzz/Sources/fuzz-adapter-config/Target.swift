import Foundation
import FuzzSupport
import LoomAdapt

/// adapter_config.json through both of LoomAdapt's readers (LoRA's and prompt tuning's), then
/// validate(); whatever a reader accepts must write back to a file that reads back the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  Scratch.write("adapter_config.json", UnsafeRawBufferPointer(start: data, count: size))
  do {
    let lora = try PeftModel.config(in: Scratch.directory)
    try lora.validate()
    let again = try JSONDecoder().decode(LoraConfig.self, from: JSONEncoder().encode(lora))
    if again != lora { fatalError("LoRA config does not round-trip: \(lora) → \(again)") }
  } catch { Scratch.check(error) }
  do {
    let prompt = try PromptTuningConfig.load(directory: Scratch.directory)
    try prompt.validate()
    let again = try PromptTuningConfig.decode(Data(prompt.jsonText().utf8), path: "written")
    if again != prompt {
      fatalError("prompt-tuning config does not round-trip: \(prompt) → \(again)")
    }
  } catch { Scratch.check(error) }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
