import Foundation
import LoomCore
import LoomNN

/// HF's loading rules for encoder checkpoints of another class of the same family:
/// weights of heads this class does not have are dropped ("some weights were not
/// used"), and a head or pooler the checkpoint lacks starts freshly initialised ("newly
/// initialized … you should train this model"), so a masked-LM checkpoint fine-tunes
/// as a classifier. Keys of the trunk stay strict.
struct EncoderCheckpoint {
  /// The family's `base_model_prefix` ("bert").
  let prefix: String
  /// Top-level names of the base model's children ("embeddings", "encoder", "pooler").
  let baseChildren: [String]
  /// Every head's top-level key prefixes in the family ("cls.", "classifier.", …).
  let familyHeads: [String]

  /// - ownHeads: this class's head prefixes; fresh: its head weights freshly initialised
  ///   (keys without the base prefix); pooler: fresh pooler weights (keys under "pooler.")
  ///   when this class has one.
  func fixUp(
    _ weights: inout [String: Tensor], className: String, ownHeads: [String], fresh: () -> [String: Tensor],
    pooler: (() -> [String: Tensor])?
  ) {
    // Old buffers and TF-era names.
    for k in Array(weights.keys) {
      if k.hasSuffix("embeddings.position_ids") || k.hasSuffix("embeddings.token_type_ids") {
        weights[k] = nil
      } else if k.hasSuffix(".gamma") || k.hasSuffix(".beta") {
        let t = weights.removeValue(forKey: k)
        weights[String(k.dropLast(k.hasSuffix(".gamma") ? 5 : 4)) + (k.hasSuffix(".gamma") ? "weight" : "bias")] = t
      }
    }
    let p = prefix + "."
    let prefixed = weights.keys.contains { $0.hasPrefix(p) }
    let isBaseModel = ownHeads.isEmpty && className.hasSuffix("Model")
    var unused: [String] = []
    for k in Array(weights.keys) {
      let otherHead = familyHeads.contains { k.hasPrefix($0) } && !ownHeads.contains { k.hasPrefix($0) }
      let strayPooler = pooler == nil && (k.hasPrefix(p + "pooler.") || k.hasPrefix("pooler."))
      if otherHead || strayPooler {
        weights[k] = nil
        unused.append(k)
      }
    }
    var initialised: [String] = []
    if !isBaseModel, !ownHeads.isEmpty, !weights.keys.contains(where: { k in ownHeads.contains { k.hasPrefix($0) } }) {
      for (k, v) in fresh() {
        weights[k] = v
        initialised.append(k)
      }
    }
    if let pooler, baseChildren.contains("pooler") {
      let poolerPrefix = (prefixed ? p : "") + "pooler."
      let hasTrunk = weights.keys.contains { $0.hasPrefix(prefixed ? p : baseChildren[0]) }
      if hasTrunk, !weights.keys.contains(where: { $0.hasPrefix(poolerPrefix) }) {
        for (k, v) in pooler() {
          weights[(prefixed ? p : "") + k] = v
          initialised.append((prefixed ? p : "") + k)
        }
      }
    }
    if !unused.isEmpty {
      Self.note("some checkpoint weights are not used by \(className): \(unused.sorted().prefix(6).joined(separator: ", "))\(unused.count > 6 ? ", …" : "")")
    }
    if !initialised.isEmpty {
      Self.note("\(className) weights newly initialised (not in the checkpoint; train the model before using it): \(initialised.sorted().joined(separator: ", "))")
    }
  }

  /// An untied masked-LM decoder (`key`.weight, and `key`.bias unless `withBias` is false)
  /// that the checkpoint lacks (it was saved tied) starts as a copy of the word embeddings
  /// and the head's bias, so the model predicts as the tied one did; noted on stderr.
  static func addUntiedDecoder(
    _ w: inout [String: Tensor], key: String, embeddings: String, className: String, withBias: Bool = true
  ) {
    guard w[key + ".weight"] == nil else { return }
    let emb = w[embeddings] ?? w[String(embeddings.drop { $0 != "." }.dropFirst())]
    guard let emb else { return }
    w[key + ".weight"] = emb.contiguous()
    let parent = key.split(separator: ".").dropLast().joined(separator: ".")
    if withBias, w[key + ".bias"] == nil, let b = w[parent.isEmpty ? "bias" : parent + ".bias"] {
      w[key + ".bias"] = b.contiguous()
    }
    note("\(className) has tie_word_embeddings false but the checkpoint has no \(key).weight: it starts as a copy of the word embeddings")
  }

  static func note(_ message: String) {
    FileHandle.standardError.write(Data(("Loom: " + message + "\n").utf8))
  }

  /// State dict of freshly initialised head modules, keyed under their names.
  static func fresh(_ modules: [(String, Module)], std: Double) -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (name, m) in modules {
      EncoderInit.apply(m, std: std, paddingIdx: nil)
      for (k, v) in m.stateDict() { out[name + "." + k] = v }
    }
    return out
  }
}
