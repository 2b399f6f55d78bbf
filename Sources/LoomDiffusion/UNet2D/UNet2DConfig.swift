import Foundation
import LoomCore
import LoomIO

/// diffusers' `UNet2DModel` config.json (same keys and defaults; Loom builds the
/// positional-embedding, conv-resampling, default-time-norm variant and rejects the others clearly).
public struct UNet2DConfig: Equatable, Sendable {
  public static let className = "UNet2DModel"
  public var sampleSize: [Int]? = nil
  public var inChannels = 3
  public var outChannels = 3
  public var centerInputSample = false
  public var timeEmbeddingDim: Int? = nil
  public var freqShift = 0.0
  public var flipSinToCos = true
  public var downBlockTypes = ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"]
  public var midBlockType: String? = "UNetMidBlock2D"
  public var upBlockTypes = ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"]
  public var blockOutChannels = [224, 448, 672, 896]
  public var layersPerBlock = 2
  public var downsamplePadding = 1
  public var attentionHeadDim: Int? = 8
  public var normNumGroups = 32
  public var normEps = 1e-5
  public var addAttention = true
  public var numClassEmbeds: Int? = nil

  public init() {}

  /// time_embedding_dim or 4 × the first block's channels.
  public var timeEmbedDim: Int { timeEmbeddingDim ?? blockOutChannels[0] * 4 }
  /// How many times the U-Net halves the image.
  public var downsamplings: Int { max(blockOutChannels.count - 1, 0) }

  public func validate() throws {
    let n = blockOutChannels.count
    // Sizes are capped before anything is allocated (a file's number must not size an allocation unchecked);
    // more than 16 blocks would also halve the image past any size (1 << 64 wraps to 0).
    guard n <= 16 else { throw LoomError("UNet2DModel block_out_channels has \(n) blocks; Loom's limit is 16") }
    for (key, v, limit) in [
      ("in_channels", inChannels, 1 << 16), ("out_channels", outChannels, 1 << 16),
      ("layers_per_block", layersPerBlock, 1 << 8), ("time_embedding_dim", timeEmbeddingDim ?? 1, 1 << 18),
    ] where v > limit {
      throw LoomError("UNet2DModel \(key) = \(v) is beyond Loom's limit of \(limit); is config.json right?")
    }
    guard n >= 1, downBlockTypes.count == n, upBlockTypes.count == n else {
      throw LoomError(
        "UNet2DModel needs as many down_block_types (\(downBlockTypes.count)) and up_block_types "
          + "(\(upBlockTypes.count)) as block_out_channels (\(n)), at least one")
    }
    for t in downBlockTypes where t != "DownBlock2D" && t != "AttnDownBlock2D" {
      throw LoomError("UNet2DModel down_block_types: \(t) is not supported; use DownBlock2D or AttnDownBlock2D")
    }
    for t in upBlockTypes where t != "UpBlock2D" && t != "AttnUpBlock2D" {
      throw LoomError("UNet2DModel up_block_types: \(t) is not supported; use UpBlock2D or AttnUpBlock2D")
    }
    if let m = midBlockType, m != "UNetMidBlock2D" {
      throw LoomError("UNet2DModel mid_block_type \(m) is not supported; use UNetMidBlock2D or null")
    }
    guard inChannels >= 1, outChannels >= 1, layersPerBlock >= 1, normNumGroups >= 1, normEps > 0 else {
      throw LoomError(
        "UNet2DModel in_channels, out_channels, layers_per_block, norm_num_groups and norm_eps must be positive")
    }
    for (i, c) in blockOutChannels.enumerated() where c < 1 || c % normNumGroups != 0 || c > 1 << 16 {
      throw LoomError(
        "UNet2DModel block_out_channels[\(i)] = \(c) must be a positive multiple of norm_num_groups "
          + "(\(normNumGroups)) and at most \(1 << 16)")
    }
    if let h = attentionHeadDim {
      for (i, c) in blockOutChannels.enumerated() where h < 1 || c % h != 0 {
        throw LoomError(
          "UNet2DModel attention_head_dim \(h) must divide block_out_channels[\(i)] = \(c) (heads = channels / head dim)"
        )
      }
    }
    guard downsamplePadding == 1 else {
      throw LoomError(
        "UNet2DModel downsample_padding \(downsamplePadding) is not supported; use 1 (diffusers' default)")
    }
    if let k = numClassEmbeds, k < 1 || k > 1 << 20 {
      throw LoomError("UNet2DModel num_class_embeds must be in 1...\(1 << 20), got \(k)")
    }
    if let k = numClassEmbeds, k * timeEmbedDim > 1 << 28 {
      throw LoomError(
        "UNet2DModel num_class_embeds (\(k)) × the time embedding size (\(timeEmbedDim)) is beyond Loom's limit of "
          + "\(1 << 28) class-embedding weights; is config.json right?")
    }
    if let d = timeEmbeddingDim, d < 1 { throw LoomError("UNet2DModel time_embedding_dim must be positive, got \(d)") }
    if let s = sampleSize {
      let f = 1 << downsamplings
      guard s.count == 2, s.allSatisfy({ $0 >= 1 && $0 <= 1 << 16 && $0 % f == 0 }) else {
        throw LoomError(
          "UNet2DModel sample_size \(s) cannot be halved \(downsamplings) times; use a multiple of \(f) "
            + "up to \(1 << 16)")
      }
    }
  }
}

extension UNet2DConfig {
  public static let fileName = "config.json"

  public init(json j: [String: Any]) throws {
    self.init()
    func value<T>(_ key: String, _: T.Type) throws -> T? {
      guard let v = j[key], !(v is NSNull) else { return nil }
      guard let t = v as? T else { throw LoomError("UNet2DModel config \(key) has the wrong type: \(v)") }
      return t
    }
    func int(_ key: String) throws -> Int? {
      guard let v = j[key], !(v is NSNull) else { return nil }
      guard let d = jsonDouble(v) else { throw LoomError("UNet2DModel config \(key) must be a number, got \(v)") }
      guard d == d.rounded(), abs(d) < 1e9 else {
        throw LoomError("UNet2DModel config \(key) must be an integer, got \(d)")
      }
      return Int(d)
    }
    /// A JSON number that must be a whole number (Int(d) traps on a huge or fractional one).
    func whole(_ key: String, _ d: Double) throws -> Int {
      guard d == d.rounded(), abs(d) < 1e9 else {
        throw LoomError("UNet2DModel config \(key) must hold integers below 10^9, got \(d)")
      }
      return Int(d)
    }
    func require(_ key: String, _ allowed: [String?], _ v: Any?) throws {
      let s = v as? String
      if (v == nil || v is NSNull) ? !allowed.contains(nil) : !allowed.contains(s) {
        throw LoomError(
          "UNet2DModel \(key) \(v.map { "\($0)" } ?? "null") is not supported; Loom builds "
            + allowed.map { $0 ?? "null" }.joined(separator: " / "))
      }
    }
    if let v = j["sample_size"], !(v is NSNull) {
      if let n = jsonDouble(v) {
        sampleSize = try [whole("sample_size", n), whole("sample_size", n)]
      } else if let a = v as? [Any], case let d = a.compactMap(jsonDouble), d.count == a.count {
        sampleSize = try d.map { try whole("sample_size", $0) }
      } else {
        throw LoomError("UNet2DModel config sample_size must be an integer or [height, width], got \(v)")
      }
    }
    if let v = try int("in_channels") { inChannels = v }
    if let v = try int("out_channels") { outChannels = v }
    if let v = try value("center_input_sample", Bool.self) { centerInputSample = v }
    try require("time_embedding_type", ["positional"], j["time_embedding_type"] ?? "positional")
    timeEmbeddingDim = try int("time_embedding_dim")
    if let v = j["freq_shift"], let d = jsonDouble(v) { freqShift = d }
    if let v = try value("flip_sin_to_cos", Bool.self) { flipSinToCos = v }
    if let v = try value("down_block_types", [String].self) { downBlockTypes = v }
    if j.keys.contains("mid_block_type") { midBlockType = try value("mid_block_type", String.self) }
    if let v = try value("up_block_types", [String].self) { upBlockTypes = v }
    if let v = try value("block_out_channels", [Any].self) {
      blockOutChannels = try v.compactMap(jsonDouble).map { try whole("block_out_channels", $0) }
      guard blockOutChannels.count == v.count else {
        throw LoomError("UNet2DModel block_out_channels must be integers")
      }
    }
    if let v = try int("layers_per_block") { layersPerBlock = v }
    if let v = j["mid_block_scale_factor"], let d = jsonDouble(v), d != 1 {
      throw LoomError("UNet2DModel mid_block_scale_factor \(v) is not supported; use 1")
    }
    if let v = try int("downsample_padding") { downsamplePadding = v }
    try require("downsample_type", ["conv"], j["downsample_type"] ?? "conv")
    try require("upsample_type", ["conv"], j["upsample_type"] ?? "conv")
    if let v = j["dropout"], let d = jsonDouble(v), d != 0 {
      throw LoomError("UNet2DModel dropout \(v) is not supported; use 0 (diffusers' default)")
    }
    try require("act_fn", ["silu", "swish"], j["act_fn"] ?? "silu")
    if j.keys.contains("attention_head_dim") { attentionHeadDim = try int("attention_head_dim") }
    if let v = try int("norm_num_groups") { normNumGroups = v }
    if let g = try int("attn_norm_num_groups"), g != normNumGroups {
      throw LoomError("UNet2DModel attn_norm_num_groups \(g) is not supported; leave it null")
    }
    if let v = j["norm_eps"], let d = jsonDouble(v) { normEps = d }
    try require("resnet_time_scale_shift", ["default"], j["resnet_time_scale_shift"] ?? "default")
    if let v = try value("add_attention", Bool.self) { addAttention = v }
    try require("class_embed_type", [nil], j["class_embed_type"])
    numClassEmbeds = try int("num_class_embeds")
    try validate()
  }

  /// Every key diffusers writes for UNet2DModel, with Loom's fixed choices.
  public var json: [String: Any] {
    func opt(_ v: Any?) -> Any { v ?? NSNull() }
    let size: Any = sampleSize.map { $0[0] == $0[1] ? $0[0] as Any : $0 as Any } ?? NSNull()
    return [
      "_class_name": Self.className, "_diffusers_version": "0.42.1", "sample_size": size,
      "in_channels": inChannels, "out_channels": outChannels, "center_input_sample": centerInputSample,
      "time_embedding_type": "positional", "time_embedding_dim": opt(timeEmbeddingDim), "freq_shift": freqShift,
      "flip_sin_to_cos": flipSinToCos, "down_block_types": downBlockTypes, "mid_block_type": opt(midBlockType),
      "up_block_types": upBlockTypes, "block_out_channels": blockOutChannels, "layers_per_block": layersPerBlock,
      "mid_block_scale_factor": 1, "downsample_padding": downsamplePadding, "downsample_type": "conv",
      "upsample_type": "conv", "dropout": 0.0, "act_fn": "silu", "attention_head_dim": opt(attentionHeadDim),
      "norm_num_groups": normNumGroups, "attn_norm_num_groups": NSNull(), "norm_eps": normEps,
      "resnet_time_scale_shift": "default", "add_attention": addAttention, "class_embed_type": NSNull(),
      "num_class_embeds": opt(numClassEmbeds), "num_train_timesteps": NSNull(),
    ]
  }
}

extension UNet2DConfig {
  /// The integer sizes config.json gives, for `WeightsSizeCheck`.
  public var sizes: [(key: String, value: Int)] {
    var out: [(key: String, value: Int)] = [
      ("in_channels", inChannels), ("out_channels", outChannels), ("layers_per_block", layersPerBlock),
      ("time_embedding_dim", timeEmbedDim), ("norm_num_groups", normNumGroups),
    ]
    out += blockOutChannels.enumerated().map { ("block_out_channels[\($0)]", $1) }
    out += (sampleSize ?? []).map { ("sample_size", $0) }
    if let h = attentionHeadDim { out.append(("attention_head_dim", h)) }
    if let k = numClassEmbeds { out.append(("num_class_embeds", k)) }
    return out
  }

  /// A lower bound of the parameters: each resnet's second 3 × 3 convolution (c → c) — the
  /// down path has layers_per_block of them per block, the up path one more —, the mid block's
  /// two resnets, the time embedding's second linear and the class table.
  public var parameterEstimate: Int {
    let t = timeEmbedDim
    var terms = blockOutChannels.map { [2 * layersPerBlock + 1, 9, $0, $0] }
    if midBlockType != nil, let last = blockOutChannels.last { terms.append([4, 9, last, last]) }
    terms += [[t, t], [numClassEmbeds ?? 0, t]]
    return WeightsSizeCheck.parameterCount(terms)
  }
}
