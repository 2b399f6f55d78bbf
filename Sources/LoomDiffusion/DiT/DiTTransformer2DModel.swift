import Foundation
import LoomCore
import LoomIO
import LoomNN

/// diffusers' `DiTTransformer2DModel` (Peebles & Xie's DiT): patchify, adaLN-Zero transformer blocks
/// conditioned on timestep + class label, a modulated final LayerNorm and a linear unpatchify. Parameter
/// names are diffusers', so `diffusion_pytorch_model.safetensors` loads both ways. Built fresh, the
/// modulation and output projections start at zero as in the paper (adaLN-Zero: each block begins as
/// the identity and the model predicts zero).
public final class DiTTransformer2DModel: Module {
  public let config: DiTConfig
  @Child public var posEmbed: DiTPatchEmbed
  @Child public var transformerBlocks: [DiTBlock]
  @Child public var projOut1: Linear
  @Child public var projOut2: Linear

  override public var keyOverrides: [String: String] {
    [
      "posEmbed": "pos_embed", "transformerBlocks": "transformer_blocks", "projOut1": "proj_out_1",
      "projOut2": "proj_out_2",
    ]
  }

  public init(_ config: DiTConfig, generator: Generator = .global) throws {
    try config.validate()
    self.config = config
    let d = config.innerDim
    posEmbed = DiTPatchEmbed(config, generator: generator)
    transformerBlocks = (0..<config.numLayers).map { _ in DiTBlock(config, generator: generator) }
    projOut1 = Linear(d, 2 * d, generator: generator)
    projOut2 = Linear(d, config.patchSize * config.patchSize * config.resolvedOutChannels, generator: generator)
    super.init()
    for l in transformerBlocks.map(\.norm1.linear) + [projOut1, projOut2] {
      l.weight = Init.zeros(l.weight.shape)
      l.bias = l.bias.map { Init.zeros($0.shape) }
    }
  }

  /// The full output [N, out_channels, H, W] (with learn_sigma: ε then the variance channels).
  public func callAsFunction(_ sample: Tensor, timesteps: [Int], classLabels: Tensor) throws -> Tensor {
    try checkInput(sample, timesteps: timesteps.count, classLabels: classLabels)
    let n = sample.shape[0]
    let ts = timesteps.count == 1 ? Array(repeating: timesteps[0], count: n) : timesteps
    let t = Tensor(ts.map { Float($0) }, shape: [n], device: sample.device)
    var h = posEmbed(sample)
    for block in transformerBlocks { h = block(h, timesteps: t, labels: classLabels) }
    // diffusers conditions the output layer with the first block's embedding.
    let cond = transformerBlocks[0].norm1.emb(timesteps: t, labels: classLabels)
    let ss = projOut1(cond.silu()).chunk(2, dim: 1)
    h = layerNorm(h, weight: nil, bias: nil, eps: 1e-6) * (ss[1].unsqueeze(1) + 1) + ss[0].unsqueeze(1)
    h = projOut2(h)
    let (p, c, g) = (config.patchSize, config.resolvedOutChannels, config.sampleSize / config.patchSize)
    // [N, g·g, p·p·C] → [N, g, g, p, p, C] → [N, C, g, p, g, p].
    return h.reshape([n, g, g, p, p, c]).permute(0, 5, 1, 3, 2, 4).reshape([n, c, g * p, g * p])
  }

  func checkInput(_ x: Tensor, timesteps: Int, classLabels: Tensor) throws {
    let s = config.sampleSize
    guard x.rank == 4, x.shape[1] == config.inChannels, x.shape[2] == s, x.shape[3] == s else {
      throw LoomError(
        "DiTTransformer2DModel expects samples [N, \(config.inChannels), \(s), \(s)] (its sample_size), got \(x.shape)")
    }
    guard timesteps == 1 || timesteps == x.shape[0] else {
      throw LoomError(
        "DiTTransformer2DModel: \(timesteps) timesteps for a batch of \(x.shape[0]); give one or one per item")
    }
    guard classLabels.shape == [x.shape[0]] else {
      throw LoomError(
        "DiTTransformer2DModel: class labels \(classLabels.shape) must be [\(x.shape[0])], one per sample")
    }
    let k = config.numEmbedsAdaNorm
    if let bad = classLabels.toArray(Int64.self).first(where: { $0 < 0 || $0 > k }) {
      throw LoomError(
        "DiTTransformer2DModel: class label \(bad) is out of range 0...\(k) (num_embeds_ada_norm classes, "
          + "\(k) the null label)"
      )
    }
  }
}

extension DiTTransformer2DModel: DiffusionDenoiser {
  public static let weightsName = "diffusion_pytorch_model.safetensors"
  public var componentName: String { "transformer" }
  public var diffusersClassName: String { DiTConfig.className }
  public var inChannels: Int { config.inChannels }
  public var classEmbeddingRows: Int? { config.numEmbedsAdaNorm + 1 }
  public var sampleSize: [Int]? { [config.sampleSize, config.sampleSize] }

  /// ε (or v) only: with learn_sigma the variance channels are dropped, as DiTPipeline does.
  public func denoise(_ sample: Tensor, timesteps: [Int], classLabels: Tensor?) throws -> Tensor {
    guard let classLabels else {
      throw LoomError(
        "DiTTransformer2DModel is class-conditional; pass class labels "
          + "(\(config.numEmbedsAdaNorm), the null label, for none)"
      )
    }
    let out = try self(sample, timesteps: timesteps, classLabels: classLabels)
    return config.learnSigma ? out.split([config.inChannels, config.inChannels], dim: 1)[0] : out
  }

  public func sameArchitecture() throws -> DiTTransformer2DModel {
    try DiTTransformer2DModel(config, generator: Generator(seed: 0))
  }

  /// Loads diffusers' save (config.json + diffusion_pytorch_model.safetensors) from `directory`.
  public static func from(directory: String) throws -> DiTTransformer2DModel {
    let configPath = (directory as NSString).appendingPathComponent(DiTConfig.fileName)
    guard let data = FileManager.default.contents(atPath: configPath) else {
      throw LoomError(
        "no DiTTransformer2DModel config at \(configPath); a diffusers transformer folder holds config.json")
    }
    guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw LoomError("\(configPath) is not a JSON object")
    }
    if let name = json["_class_name"] as? String, name != DiTConfig.className {
      throw LoomError("\(configPath): _class_name \(name) is not DiTTransformer2DModel")
    }
    let config: DiTConfig
    do { config = try DiTConfig(json: json) } catch let e as LoomError {
      throw LoomError("\(configPath): \(e.message)")
    }
    let weightsPath = (directory as NSString).appendingPathComponent(weightsName)
    guard FileManager.default.fileExists(atPath: weightsPath) else {
      throw LoomError("missing DiTTransformer2DModel weights \(weightsPath) (Loom reads safetensors, not .bin)")
    }
    try WeightsSizeCheck.check(
      sizes: config.sizes, estimate: config.parameterEstimate, weights: weightsPath, config: configPath)
    let model = try DiTTransformer2DModel(config, generator: Generator(seed: 0))
    try model.loadStateDict(try SafeTensors.load(weightsPath, as: .float32), source: weightsPath)
    return model
  }

  public func save(to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let data = try JSONSerialization.data(
      withJSONObject: config.json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    try data.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(DiTConfig.fileName)))
    try SafeTensors.save(
      stateDict(), metadata: ["format": "pt"], to: (directory as NSString).appendingPathComponent(Self.weightsName))
  }
}
