import LoomCore
import LoomNN

/// The autoencoders' model directories (config.json + model.safetensors, as
/// `loom train ae|dae|vae` writes them), registered as ae, dae, vae and conv-vae.
extension Autoencoder: PretrainedModel {
  public static func make(config: AutoencoderConfig) throws -> Module {
    try config.validate()
    return Autoencoder(config)
  }
  public static var architecture: String { "Autoencoder" }
  public var modelType: String { config.noise == .none ? "ae" : "dae" }
}

extension VAE: PretrainedModel {
  public static func make(config: VAEConfig) throws -> Module { try AutoencoderKind.vae.make(vae: config) }
  public static var architecture: String { "VAE" }
  public static var unsavedConfigKeys: [String] { ["image_height", "image_width", "channels"] }
}

extension ConvVAE: PretrainedModel {
  public static func make(config: VAEConfig) throws -> Module { try AutoencoderKind.convVAE.make(vae: config) }
  public static var architecture: String { "ConvVAE" }
  public var modelType: String { "conv-vae" }
}
