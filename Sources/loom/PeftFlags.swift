import ArgumentParser
import Foundation
import LoomAdapt

/// Parameter-efficient fine-tuning flags every `loom train …` command that fine-tunes a
/// pretrained --model shares: LoRA (PEFT's `LoraConfig` fields) or prompt tuning
/// (`PromptTuningConfig`), and --merge-adapter. Absent flags take PEFT's defaults.
struct PeftFlags: ParsableArguments {
  @Option(help: "Train a LoRA adapter of this rank instead of the whole model (PEFT's r).")
  var loraR: Int?
  @Option(help: "LoRA's alpha: updates are scaled by alpha / r (default 8).") var loraAlpha: Double?
  @Option(help: "Dropout on LoRA's input, in [0, 1) (default 0).") var loraDropout: Double?
  @Option(
    help:
      "Layers to adapt: comma-separated names (e.g. query,value) or all-linear (default: PEFT's for the model type)."
  )
  var loraTargetModules: String?
  @Option(help: "Biases that train with the adapter: none, all or lora_only (default none).")
  var loraBias: String?
  @Option(
    help:
      "Comma-separated modules trained in full and saved with the adapter (classification heads are added for you)."
  )
  var modulesToSave: String?
  @Option(help: "Train N virtual prompt tokens instead of the model (prompt tuning).")
  var promptTuningVirtualTokens: Int?
  @Option(help: "Initialise the virtual tokens from this text's embeddings (PEFT's TEXT init).")
  var promptTuningInitText: String?
  @Flag(help: "Write the full model with the trained adapter merged in, instead of the adapter.")
  var mergeAdapter = false

  /// What the flags ask for.
  enum Method {
    case lora(LoraConfig)
    case promptTuning(numVirtualTokens: Int, initText: String?)
  }

  var loraFlagsGiven: [String] {
    [
      ("--lora-alpha", loraAlpha != nil), ("--lora-dropout", loraDropout != nil),
      ("--lora-target-modules", loraTargetModules != nil), ("--lora-bias", loraBias != nil),
      ("--modules-to-save", modulesToSave != nil),
    ].filter { $0.1 }.map { $0.0 }
  }

  /// Any PEFT flag at all (commands that cannot adapt reject them).
  var anyGiven: Bool {
    loraR != nil || !loraFlagsGiven.isEmpty || promptTuningVirtualTokens != nil
      || promptTuningInitText != nil || mergeAdapter
  }

  /// Every check that needs no model: `ValidationError`s, so the subcommand's usage prints.
  func validate() throws {
    if loraR != nil && (promptTuningVirtualTokens != nil || promptTuningInitText != nil) {
      throw ValidationError(
        "--lora-r and --prompt-tuning-virtual-tokens pick different adapters: pass one of them")
    }
    if loraR == nil, let flag = loraFlagsGiven.first {
      throw ValidationError("\(flag) sets up a LoRA adapter: pass --lora-r R (its rank) too")
    }
    if promptTuningInitText != nil && promptTuningVirtualTokens == nil {
      throw ValidationError(
        "--prompt-tuning-init-text needs --prompt-tuning-virtual-tokens N (how many virtual tokens)")
    }
    if mergeAdapter && loraR == nil {
      throw ValidationError(
        "--merge-adapter merges a LoRA adapter into the model: pass --lora-r R too"
          + (promptTuningVirtualTokens != nil ? " (prompt-tuning adapters cannot be merged)" : ""))
    }
    if let r = loraR, r <= 0 { throw ValidationError("--lora-r must be a positive integer, got \(r)") }
    if let a = loraAlpha, !(a > 0) { throw ValidationError("--lora-alpha must be > 0, got \(a)") }
    if let p = loraDropout, !(0..<1).contains(p) {
      throw ValidationError("--lora-dropout must be in [0, 1), got \(p)")
    }
    if let b = loraBias, LoraBias(rawValue: b) == nil {
      throw ValidationError("--lora-bias must be none, all or lora_only, got '\(b)'")
    }
    _ = try targetModules()
    _ = try list(modulesToSave, "--modules-to-save")
    if let n = promptTuningVirtualTokens, n <= 0 {
      throw ValidationError("--prompt-tuning-virtual-tokens must be a positive integer, got \(n)")
    }
    if promptTuningInitText?.isEmpty == true {
      throw ValidationError("--prompt-tuning-init-text must not be empty")
    }
  }

  /// Rejects every PEFT flag on a run that does not start from a pretrained model.
  func requirePretrained(_ hasModel: Bool, command: String) throws {
    guard anyGiven, !hasModel else { return }
    throw ValidationError(
      "LoRA / prompt-tuning flags adapt a pretrained model: pass --model DIR to \(command)")
  }

  /// "a,b" → ["a", "b"]; an empty entry is an error.
  func list(_ value: String?, _ flag: String) throws -> [String]? {
    guard let value else { return nil }
    let names = value.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    guard !names.contains(where: \.isEmpty) else {
      throw ValidationError("\(flag) takes comma-separated module names (e.g. query,value), got '\(value)'")
    }
    return names
  }

  func targetModules() throws -> LoraTargetModules? {
    if loraTargetModules == "all-linear" { return .allLinear }
    return try list(loraTargetModules, "--lora-target-modules").map { .names($0) }
  }

  /// The one place the adapter kind is chosen: nil for full fine-tuning. `task` is PEFT's
  /// task_type for the command; `base` the --model directory (base_model_name_or_path).
  func method(task: PeftTaskType?, base: String) throws -> Method? {
    if let r = loraR {
      var saved = try list(modulesToSave, "--modules-to-save")
      if task == .questionAnswering {
        // PeftModelForQuestionAnswering trains and saves the span head with the adapter.
        saved = (saved ?? []) + ((saved ?? []).contains("qa_outputs") ? [] : ["qa_outputs"])
      }
      return .lora(
        LoraConfig(
          r: r, loraAlpha: loraAlpha ?? 8, loraDropout: loraDropout ?? 0,
          targetModules: try targetModules(), bias: LoraBias(rawValue: loraBias ?? "none")!,
          modulesToSave: saved, taskType: task, baseModelNameOrPath: base))
    }
    if let n = promptTuningVirtualTokens {
      return .promptTuning(numVirtualTokens: n, initText: promptTuningInitText)
    }
    return nil
  }
}
