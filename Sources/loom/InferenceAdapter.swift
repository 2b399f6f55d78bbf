import ArgumentParser
import Foundation
import LoomAdapt
import LoomCore
import LoomGenerate
import LoomIO
import LoomModels
import LoomNN

/// `--adapter DIR` on the inference commands: a LoRA adapter in PEFT's layout (from PEFT's
/// save_pretrained or `loom train … --lora-r`) merged into --model's weights at load.
enum InferenceAdapter {
  static let help = ArgumentHelp(
    "Adapter directory in PEFT's layout (adapter_config.json + adapter_model.safetensors, from PEFT or Loom) applied to --model: LoRA, or prompt tuning for loom classify and loom generate."
  )

  /// Merges the adapter into `model` in place (PEFT's from_pretrained + merge_and_unload).
  static func apply(_ directory: String?, to model: Module) throws {
    guard let directory else { return }
    try PeftModel.load(model, from: directory).mergeAndUnload()
  }

  /// A classifier's parts: --model with the head the adapter was trained with. Its labels
  /// come from the config.json `loom train` keeps beside the adapter, else (a PEFT adapter)
  /// from the saved head's rows.
  static func classifierParts(_ task: AutoTask, model: String, adapter: String) throws
    -> EncoderPipelineParts
  {
    var config = try EncoderLoading.configJSON(model)
    let edits = try labelEdits(adapter)
    for (k, v) in edits { config[k] = v }
    let module = try EncoderLoading.load(task, from: model, edits: edits)
    guard let encoder = module as? any EncoderModel else {
      throw LoomError("\(model): \(type(of: module)) is not an encoder (BERT, RoBERTa, DistilBERT)")
    }
    let tok = try EncoderLoading.tokenizer(nil, model: model, modelVocabSize: EncoderLoading.vocabSize(encoder))
    if isPromptTuning(adapter) {
      let peftTasks: [AutoTask: PeftTaskType] = [
        .sequenceClassification: .sequenceClassification, .tokenClassification: .tokenClassification,
        .questionAnswering: .questionAnswering,
      ]
      guard let peftTask = peftTasks[task], let embeddable = encoder as? any Module & EncoderModel & InputEmbeddingsModel
      else {
        throw LoomError(
          "--adapter \(adapter): a prompt-tuning adapter needs a classifier, token classifier or QA model that runs from input embeddings (BERT, RoBERTa, DistilBERT; GPT-2, Llama, BLOOM classifiers); \(type(of: encoder)) does not")
      }
      let prompted = try PromptTuningSequenceClassifier.fromPretrained(
        base: embeddable, adapterDirectory: adapter, task: peftTask)
      return EncoderPipelineParts(model: prompted, tokenizer: tok, config: config)
    }
    try apply(adapter, to: encoder)
    return EncoderPipelineParts(model: encoder, tokenizer: tok, config: config)
  }

  /// Whether the directory's adapter_config.json says PROMPT_TUNING (else LoRA's reader judges it).
  static func isPromptTuning(_ adapter: String) -> Bool {
    let url = URL(fileURLWithPath: adapter + "/adapter_config.json")
    let object = (try? Data(contentsOf: url)).flatMap { try? JSONSerialization.jsonObject(with: $0) }
    return (object as? [String: Any])?["peft_type"] as? String == PeftType.promptTuning.rawValue
  }

  static func labelEdits(_ adapter: String) throws -> [String: Any] {
    if let json = try? EncoderLoading.configJSON(adapter), let id2label = json["id2label"] {
      var edits: [String: Any] = ["id2label": id2label]
      for key in ["label2id", "problem_type"] { if let v = json[key] { edits[key] = v } }
      return edits
    }
    let path = adapter + "/adapter_model.safetensors"
    guard FileManager.default.fileExists(atPath: path) else { return [:] }
    for (key, t) in try SafeTensors.load(path) {
      let name = key.replacingOccurrences(of: ".modules_to_save", with: "")
      guard t.rank == 2,
        ["classifier.weight", "classifier.out_proj.weight", "score.weight"].contains(where: { name.hasSuffix($0) })
      else { continue }
      let n = t.shape[0]
      return [
        "id2label": Dictionary(uniqueKeysWithValues: (0..<n).map { (String($0), "LABEL_\($0)") }),
        "label2id": Dictionary(uniqueKeysWithValues: (0..<n).map { ("LABEL_\($0)", $0) }),
      ]
    }
    return [:]
  }
}
