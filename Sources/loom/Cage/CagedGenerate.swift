import ArgumentParser
import Foundation
import LoomCage
import LoomCore
import LoomGenerate
import LoomModels

/// `loom generate … --cage cage.json [--audit-log FILE]`: the prompt and every candidate pass the cage; what is
/// printed is the prompt and the first candidate that passed, or the command fails — never an unchecked candidate.
enum CagedGenerate {
  static func run(
    _ model: any CausalLanguageModel, modelName: String, prompt: String, codec: TextCodec, config: GenerationConfig,
    cagePath: String, auditLog: String?, stream: Bool
  ) throws {
    let cage: SafetyCage
    do { cage = try CageConfig.load(path: cagePath) } catch { throw ValidationError("--cage: \(error)") }
    let audit = try auditLog.map { try AuditLog(path: $0) }
    let streaming = stream && config.numBeams == 1 && config.numReturnSequences == 1
    var printedPrompt = false
    let output: CagedOutput
    do {
      output = try Generation.generate(
        model, prompt: prompt, codec: codec, config: config, cage: cage, audit: audit, modelName: modelName,
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
