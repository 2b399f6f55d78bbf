import Foundation
import LoomCore
import LoomIO

/// diffusers' `DiTTransformer2DModel` config.json (same keys and defaults). `learn_sigma` is
/// out_channels = 2 · in_channels: the extra channels (the variance) are dropped at sampling.
public struct DiTConfig: Equatable, Sendable {
  public static let className = "DiTTransformer2DModel"
  public var numAttentionHeads = 16
  public var attentionHeadDim = 72
  public var inChannels = 4
  public var outChannels: Int? = nil
  public var numLayers = 28
  public var attentionBias = true
  public var sampleSize = 32
  public var patchSize = 2
  public var numEmbedsAdaNorm = 1000
  public var normEps = 1e-5

  public init() {}

  public var innerDim: Int { numAttentionHeads * attentionHeadDim }
  public var resolvedOutChannels: Int { outChannels ?? inChannels }
  public var learnSigma: Bool { resolvedOutChannels == 2 * inChannels }

  public func validate() throws {
    guard numAttentionHeads >= 1, attentionHeadDim >= 1, inChannels >= 1, numLayers >= 1, patchSize >= 1,
      numEmbedsAdaNorm >= 1, normEps > 0, innerDim <= 1 << 16
    else {
      throw LoomError(
        "DiTTransformer2DModel num_attention_heads, attention_head_dim, in_channels, num_layers, patch_size, "
          + "num_embeds_ada_norm and norm_eps must be positive (inner dim at most 65536)")
    }
    guard innerDim % 4 == 0 else {
      throw LoomError(
        "DiTTransformer2DModel: heads × head dim = \(innerDim) must be a multiple of 4 for the 2-D sin-cos positions")
    }
    let out = resolvedOutChannels
    guard out == inChannels || out == 2 * inChannels else {
      throw LoomError(
        "DiTTransformer2DModel out_channels \(out) must be in_channels (\(inChannels)) or twice it (learn_sigma)")
    }
    guard sampleSize >= patchSize, sampleSize % patchSize == 0 else {
      throw LoomError(
        "DiTTransformer2DModel sample_size \(sampleSize) must be a multiple of patch_size \(patchSize); use e.g. "
          + "\(max(patchSize, sampleSize - sampleSize % patchSize))")
    }
  }
}

extension DiTConfig {
  public static let fileName = "config.json"

  public init(json j: [String: Any]) throws {
    self.init()
    func int(_ key: String) throws -> Int? {
      guard let v = j[key], !(v is NSNull) else { return nil }
      guard let d = jsonDouble(v), d == d.rounded(), abs(d) < 1e9 else {
        throw LoomError("DiTTransformer2DModel config \(key) must be an integer, got \(v)")
      }
      return Int(d)
    }
    func require(_ key: String, _ allowed: String, _ v: Any?) throws {
      if let v, !(v is NSNull), (v as? String) != allowed {
        throw LoomError("DiTTransformer2DModel \(key) \(v) is not supported; Loom builds \(allowed)")
      }
    }
    if let v = try int("num_attention_heads") { numAttentionHeads = v }
    if let v = try int("attention_head_dim") { attentionHeadDim = v }
    if let v = try int("in_channels") { inChannels = v }
    outChannels = try int("out_channels")
    if let v = try int("num_layers") { numLayers = v }
    if let v = j["attention_bias"] as? Bool { attentionBias = v }
    if let v = try int("sample_size") { sampleSize = v }
    if let v = try int("patch_size") { patchSize = v }
    guard let k = try int("num_embeds_ada_norm") ?? (j.keys.contains("num_embeds_ada_norm") ? nil : 1000) else {
      throw LoomError("DiTTransformer2DModel num_embeds_ada_norm must be set for ada_norm_zero")
    }
    numEmbedsAdaNorm = k
    if let v = j["norm_eps"], let d = jsonDouble(v) { normEps = d }
    try require("norm_type", "ada_norm_zero", j["norm_type"])
    try require("activation_fn", "gelu-approximate", j["activation_fn"])
    if let v = j["dropout"], let d = jsonDouble(v), d != 0 {
      throw LoomError("DiTTransformer2DModel dropout \(v) is not supported; use 0 (diffusers' default)")
    }
    if let v = j["norm_elementwise_affine"] as? Bool, v {
      throw LoomError("DiTTransformer2DModel norm_elementwise_affine true is not supported; use false")
    }
    if let v = j["upcast_attention"] as? Bool, v {
      throw LoomError("DiTTransformer2DModel upcast_attention true is not supported; use false")
    }
    try validate()
  }

  /// Every key diffusers writes for DiTTransformer2DModel.
  public var json: [String: Any] {
    [
      "_class_name": Self.className, "_diffusers_version": "0.42.1", "num_attention_heads": numAttentionHeads,
      "attention_head_dim": attentionHeadDim, "in_channels": inChannels,
      "out_channels": outChannels.map { $0 as Any } ?? NSNull(), "num_layers": numLayers, "dropout": 0.0,
      "norm_num_groups": 32, "attention_bias": attentionBias, "sample_size": sampleSize, "patch_size": patchSize,
      "activation_fn": "gelu-approximate", "num_embeds_ada_norm": numEmbedsAdaNorm, "upcast_attention": false,
      "norm_type": "ada_norm_zero", "norm_elementwise_affine": false, "norm_eps": normEps,
    ]
  }
}

extension DiTConfig {
  /// The integer sizes config.json gives, for `WeightsSizeCheck`.
  public var sizes: [(key: String, value: Int)] {
    [
      ("num_attention_heads", numAttentionHeads), ("attention_head_dim", attentionHeadDim), ("in_channels", inChannels),
      ("out_channels", resolvedOutChannels), ("num_layers", numLayers), ("sample_size", sampleSize),
      ("patch_size", patchSize), ("num_embeds_ada_norm", numEmbedsAdaNorm),
    ]
  }

  /// A lower bound of the parameters: per block q, k, v, out (4 d²), the feed-forward (8 d²),
  /// adaLN-Zero's modulation (6 d²) and its class table; the patch projections.
  public var parameterEstimate: Int {
    let d = innerDim
    return WeightsSizeCheck.parameterCount([
      [numLayers, 18, d, d], [numLayers, numEmbedsAdaNorm + 1, d], [patchSize, patchSize, inChannels + resolvedOutChannels, d],
    ])
  }
}
