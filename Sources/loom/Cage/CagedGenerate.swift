import ArgumentParser
import Foundation
import LoomCage
import LoomCore
import LoomGenerate
import LoomModels

/// `loom generate … --cage cage.json [--audit-log FILE]`: the prompt and every candidate pass the cage; what is
/// printed is the prompt and the first candidate that passed, or the command fails — never an unchecked candidate.
enum CagedGenerate {
  /// A prompt that passed the cage's input validators: `input.text` (after their fixes) is what the model sees.
  struct CheckedPrompt {
    let cage: SafetyCage
    let audit: AuditLog?
    let input: CageCheck
    /// Nothing is to be generated (a `refrain` policy decided).
    var refrained: Bool { input.decision == .refrain }
  }

  /// Loads the cage and runs its input validators on the raw prompt, before the model or tokenizer is loaded: a
  /// prompt the tokenizer could not encode still gets the cage's verdict, and a refused prompt costs no model load.
  static func checkPrompt(_ prompt: String, cagePath: String, auditLog: String?, modelName: String) throws
    -> CheckedPrompt
  {
    let cage: SafetyCage
    do { cage = try CageConfig.load(path: cagePath) } catch { throw ValidationError("--cage: \(error)") }
    let audit = try auditLog.map { try AuditLog(path: $0) }
    do {
      let input = try Generation.checkPrompt(prompt, cage: cage, audit: audit, modelName: modelName)
      if input.decision == .refrain {
        FileHandle.standardError.write(Data("the cage refrained: nothing is released\n".utf8))
      }
      return CheckedPrompt(cage: cage, audit: audit, input: input)
    } catch let refusal as CageRefusal {
      throw CageError(refusal.description)
    }
  }

  static func run(
    _ model: any CausalLanguageModel, modelName: String, prompt: String, codec: TextCodec, config: GenerationConfig,
    checked: CheckedPrompt, stream: Bool
  ) throws {
    let cage = checked.cage
    let audit = checked.audit
    let streaming = stream && config.numBeams == 1 && config.numReturnSequences == 1
    var printedPrompt = false
    let output: CagedOutput
    do {
      output = try Generation.generate(
        model, prompt: prompt, codec: codec, config: config, cage: cage, audit: audit, modelName: modelName,
        checkedInput: checked.input,
        onText: streaming
          ? { chunk in
            if !printedPrompt {
              print(prompt, terminator: "")
              printedPrompt = true
            }
            print(chunk, terminator: "")
            fflush(stdout)
          } : nil)
    } catch let refusal as CageRefusal {
      if printedPrompt { print() }
      throw CageError(refusal.description)
    }
    if streaming {
      if !printedPrompt, let text = output.text { print(output.prompt + text, terminator: "") }
      print()
      return
    }
    guard let text = output.text else {
      FileHandle.standardError.write(Data("the cage refrained: nothing is released\n".utf8))
      return
    }
    print(output.prompt + text)
  }
}
