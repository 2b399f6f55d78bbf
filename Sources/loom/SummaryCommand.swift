import ArgumentParser
import Foundation
import LoomCore
import LoomModels
import LoomNN

/// `loom summary ae|dae|vae|conv-vae`: the model's torchsummary table.
struct SummaryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "summary",
    abstract: "Print a model's layers, output shapes and parameter counts (like torchsummary).")

  @Argument(help: "The model: ae, dae, vae or conv-vae.") var model: String
  @Option(help: "Batch size shown in the output shapes (default: -1, any).") var batchSize = -1
  @Option(help: "Latent dimensions (vae, conv-vae).") var latentDim = 20

  func validate() throws {
    guard AutoencoderKind(rawValue: model) != nil else {
      throw ValidationError("unknown model '\(model)': use ae, dae, vae or conv-vae")
    }
    if batchSize == 0 || batchSize < -1 {
      throw ValidationError("--batch-size must be -1 (any) or at least 1, got \(batchSize)")
    }
    if latentDim < 1 { throw ValidationError("--latent-dim must be at least 1, got \(latentDim)") }
  }

  func run() throws {
    let kind = AutoencoderKind(rawValue: model)!
    var vae = VAEConfig()
    vae.latentSize = latentDim
    let net = try kind.make(autoencoder: AutoencoderConfig(), vae: vae)
    print(AutoencoderViews.summary(net, batchSize: batchSize), terminator: "")
  }
}

/// The views of an image autoencoder that `loom summary` and `loom train` share.
enum AutoencoderViews {
  /// Two uniform-random inputs shaped as the model takes them ([2, 784] or [2, 1, 28, 28]).
  static func probe(_ model: any ImageAutoencoder) -> Tensor {
    Tensor.rand(model.takesImages ? [2, 1, 28, 28] : [2, 784], generator: Generator(seed: 0))
  }

  /// The training-mode forward's output: the reconstruction (a VAE samples its code).
  static func forward(_ model: any ImageAutoencoder, _ x: Tensor) -> Tensor {
    if let v = model as? any VariationalAutoencoder { return v(x).recon }
    if let layer = model as? Autoencoder { return layer(x) }
    return model.reconstruct(x)
  }

  static func summary(_ model: any ImageAutoencoder, batchSize: Int) -> ModelSummary {
    ModelSummary(model: model, input: probe(model), batchSize: batchSize) { forward(model, $0) }
  }

  /// The autograd graph of one training loss (forward and loss), with the model's parameter
  /// names: torchviz's `make_dot(loss, params=dict(model.named_parameters()))`.
  static func graphDOT(_ model: any ImageAutoencoder) -> String {
    let x = probe(model)
    return model.graphDOT(output: model.loss(x, target: x).total)
  }
}
