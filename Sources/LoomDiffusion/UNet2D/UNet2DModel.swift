import Foundation
import LoomCore
import LoomIO
import LoomNN

/// diffusers' `UNet2DModel`: ε_θ(x_t, t[, class]) with its parameter names, so
/// `diffusion_pytorch_model.safetensors` loads both ways.
public final class UNet2DModel: Module {
  public let config: UNet2DConfig
  @Child public var convIn: Conv2d
  @Child public var timeEmbedding: TimestepEmbedding
  @Child public var classEmbedding: Embedding?
  @Child public var downBlocks: [UNetDownBlock]
  @Child public var midBlock: UNetMidBlock2D?
  @Child public var upBlocks: [UNetUpBlock]
  @Child public var convNormOut: GroupNorm
  @Child public var convOut: Conv2d

  override public var keyOverrides: [String: String] {
    [
      "convIn": "conv_in", "timeEmbedding": "time_embedding", "classEmbedding": "class_embedding",
      "downBlocks": "down_blocks", "midBlock": "mid_block", "upBlocks": "up_blocks", "convNormOut": "conv_norm_out",
      "convOut": "conv_out",
    ]
  }

  public init(_ config: UNet2DConfig, generator: Generator = .global) throws {
    try config.validate()
    self.config = config
    let ch = config.blockOutChannels
    let n = ch.count
    convIn = Conv2d(config.inChannels, ch[0], kernelSize: 3, padding: 1, generator: generator)
    timeEmbedding = TimestepEmbedding(ch[0], config.timeEmbedDim, generator: generator)
    classEmbedding = config.numClassEmbeds.map { Embedding($0, config.timeEmbedDim, generator: generator) }
    downBlocks = (0..<n).map { i in
      UNetDownBlock(
        i == 0 ? ch[0] : ch[i - 1], ch[i], layers: config.layersPerBlock,
        attention: config.downBlockTypes[i] == "AttnDownBlock2D", downsample: i < n - 1, config: config,
        generator: generator)
    }
    midBlock = config.midBlockType == nil ? nil : UNetMidBlock2D(ch[n - 1], config: config, generator: generator)
    let rev = Array(ch.reversed())
    upBlocks = (0..<n).map { i in
      UNetUpBlock(
        rev[min(i + 1, n - 1)], i == 0 ? rev[0] : rev[i - 1], rev[i], layers: config.layersPerBlock + 1,
        attention: config.upBlockTypes[i] == "AttnUpBlock2D", upsample: i < n - 1, config: config,
        generator: generator)
    }
    convNormOut = GroupNorm(groups: config.normNumGroups, channels: ch[0], eps: config.normEps)
    convOut = Conv2d(ch[0], config.outChannels, kernelSize: 3, padding: 1, generator: generator)
    super.init()
  }

  /// The predicted noise (or v / x_0) for `sample` [N, C, H, W] at `timesteps` (one, or one per item).
  public func callAsFunction(_ sample: Tensor, timesteps: [Int], classLabels: Tensor? = nil) throws -> Tensor {
    try checkInput(sample, timesteps: timesteps.count, classLabels: classLabels)
    let ts = timesteps.count == 1 ? Array(repeating: timesteps[0], count: sample.shape[0]) : timesteps
    let t = Tensor(ts.map { Float($0) }, shape: [ts.count], device: sample.device)
    var emb = timeEmbedding(
      timestepEmbedding(
        t, dim: config.blockOutChannels[0], flipSinToCos: config.flipSinToCos, freqShift: config.freqShift))
    if let classEmbedding, let labels = classLabels { emb = emb + classEmbedding(labels) }

    var h = config.centerInputSample ? sample * 2 - 1 : sample
    h = convIn(h)
    var skips = [h]
    for block in downBlocks {
      let (out, states) = block(h, temb: emb)
      h = out
      skips += states
    }
    if let midBlock { h = midBlock(h, temb: emb) }
    for block in upBlocks { h = block(h, skips: &skips, temb: emb) }
    return convOut(convNormOut(h).silu())
  }

  func checkInput(_ x: Tensor, timesteps: Int, classLabels: Tensor?) throws {
    guard x.rank == 4, x.shape[1] == config.inChannels else {
      throw LoomError("UNet2DModel expects samples [N, \(config.inChannels), H, W], got \(x.shape)")
    }
    let f = 1 << config.downsamplings
    guard x.shape[2] % f == 0, x.shape[3] % f == 0 else {
      throw LoomError(
        "UNet2DModel halves the image \(config.downsamplings) times: \(x.shape[2])×\(x.shape[3]) must be a multiple "
          + "of \(f) on each side (resize or pad the images)")
    }
    guard timesteps == 1 || timesteps == x.shape[0] else {
      throw LoomError("UNet2DModel: \(timesteps) timesteps for a batch of \(x.shape[0]); give one or one per item")
    }
    switch (config.numClassEmbeds, classLabels) {
    case (nil, nil): break
    case (nil, _):
      throw LoomError("UNet2DModel: class labels given but the model has no class embedding (num_class_embeds is null)")
    case (_?, nil):
      throw LoomError("UNet2DModel: this model is class-conditional (num_class_embeds set); pass class labels")
    case (let k?, let labels?):
      guard labels.shape == [x.shape[0]] else {
        throw LoomError("UNet2DModel: class labels \(labels.shape) must be [\(x.shape[0])], one per sample")
      }
      if let bad = labels.toArray(Int64.self).first(where: { $0 < 0 || $0 >= k }) {
        throw LoomError("UNet2DModel: class label \(bad) is out of range 0..<\(k) (num_class_embeds)")
      }
    }
  }
}

extension UNet2DModel {
  public static let weightsName = "diffusion_pytorch_model.safetensors"

  /// Loads diffusers' save (config.json + diffusion_pytorch_model.safetensors) from `directory`.
  public static func from(directory: String) throws -> UNet2DModel {
    let configPath = (directory as NSString).appendingPathComponent(UNet2DConfig.fileName)
    let weightsPath = (directory as NSString).appendingPathComponent(weightsName)
    guard let data = FileManager.default.contents(atPath: configPath) else {
      throw LoomError("no UNet2DModel config at \(configPath); a diffusers unet folder holds config.json")
    }
    guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw LoomError("\(configPath) is not a JSON object")
    }
    if let name = json["_class_name"] as? String, name != UNet2DConfig.className {
      throw LoomError("\(configPath): _class_name \(name) is not UNet2DModel")
    }
    let config: UNet2DConfig
    do { config = try UNet2DConfig(json: json) } catch let e as LoomError {
      throw LoomError("\(configPath): \(e.message)")
    }
    guard FileManager.default.fileExists(atPath: weightsPath) else {
      throw LoomError("missing UNet2DModel weights \(weightsPath) (Loom reads safetensors, not .bin)")
    }
    try WeightsSizeCheck.check(
      sizes: config.sizes, estimate: config.parameterEstimate, weights: weightsPath, config: configPath)
    let model = try UNet2DModel(config, generator: Generator(seed: 0))
    try model.loadStateDict(try SafeTensors.load(weightsPath, as: .float32), source: weightsPath)
    return model
  }

  /// Writes config.json and diffusion_pytorch_model.safetensors into `directory`.
  public func save(to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let data = try JSONSerialization.data(
      withJSONObject: config.json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    try data.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(UNet2DConfig.fileName)))
    try SafeTensors.save(
      stateDict(), metadata: ["format": "pt"], to: (directory as NSString).appendingPathComponent(Self.weightsName))
  }
}
