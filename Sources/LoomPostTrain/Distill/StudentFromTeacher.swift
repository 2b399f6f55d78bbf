import Foundation
import LoomCore
import LoomIO

/// DistilBERT's student initialisation: the teacher's embeddings, heads and every other
/// transformer layer (0, 2, 4, …), written as a model directory the Auto classes load.
/// Works for BERT / RoBERTa (`encoder.layer.N`), DistilBERT (`transformer.layer.N`), GPT-2
/// (`h.N`) and Llama-style (`layers.N`) checkpoints.
public enum StudentFromTeacher {
  /// The config keys that count layers, by family.
  static let layerCountKeys = ["num_hidden_layers", "n_layers", "n_layer"]

  /// Teacher layers the student keeps: 0, 2, 4, … (⌈L/2⌉ of them).
  public static func keptLayers(teacherLayers: Int) -> [Int] {
    Array(stride(from: 0, to: teacherLayers, by: 2))
  }

  /// The student key for a teacher key, or nil when it belongs to a dropped layer:
  /// `….layer.4.…` → `….layer.2.…` when layer 4 is kept.
  static func studentKey(_ key: String, kept: [Int]) -> String? {
    let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    for (i, p) in parts.enumerated()
    where i + 1 < parts.count && ["layer", "layers", "h"].contains(p) {
      guard let n = Int(parts[i + 1]) else { continue }
      guard let j = kept.firstIndex(of: n) else { return nil }
      var out = parts
      out[i + 1] = String(j)
      return out.joined(separator: ".")
    }
    return key
  }

  /// Writes to `output` the teacher's config.json with half the layers and its
  /// model.safetensors with layers 0, 2, 4, … renumbered 0, 1, 2, …; tokenizer files are
  /// copied. Returns the kept teacher layers.
  @discardableResult
  public static func write(teacher: String, to output: String) throws -> [Int] {
    let fm = FileManager.default
    let configPath = teacher + "/config.json"
    let weightsPath = teacher + "/model.safetensors"
    guard let data = fm.contents(atPath: configPath),
      var config = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    else {
      throw LoomError(
        "\(configPath): not found or not a JSON object; the teacher must be a model directory")
    }
    guard fm.fileExists(atPath: weightsPath) else {
      throw LoomError(
        "\(weightsPath) not found: initialising a student from teacher layers needs a single model.safetensors"
      )
    }
    guard let key = layerCountKeys.first(where: { config[$0] is Int }),
      let layers = config[key] as? Int
    else {
      throw LoomError(
        "\(configPath) has none of \(layerCountKeys.joined(separator: ", ")): cannot tell how many layers the teacher has"
      )
    }
    guard layers >= 2 else {
      throw LoomError("the teacher has \(layers) layer; taking every other layer needs at least 2")
    }
    let kept = keptLayers(teacherLayers: layers)
    config[key] = kept.count
    var tensors: [String: Tensor] = [:]
    for (name, t) in try SafeTensors.load(weightsPath) {
      if let s = studentKey(name, kept: kept) { tensors[s] = t }
    }
    try fm.createDirectory(atPath: output, withIntermediateDirectories: true)
    try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
      .write(to: URL(fileURLWithPath: output + "/config.json"))
    try SafeTensors.save(tensors, metadata: ["format": "pt"], to: output + "/model.safetensors")
    for name in try fm.contentsOfDirectory(atPath: teacher)
    where name.hasPrefix("tokenizer")
      || [
        "vocab.txt", "vocab.json", "merges.txt", "special_tokens_map.json",
        "generation_config.json",
      ].contains(name)
    {
      let dst = output + "/" + name
      try? fm.removeItem(atPath: dst)
      try fm.copyItem(atPath: teacher + "/" + name, toPath: dst)
    }
    return kept
  }
}
