import ArgumentParser
import Foundation
import LoomCore
import LoomModels
import LoomNN

/// `loom summary MODEL`: the torchsummary table of an autoencoder by name, a GPT-2
/// preset or any model directory `AutoModel` loads (a causal or seq2seq LM with its head).
struct SummaryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "summary",
    abstract: "Print a model's layers, output shapes and parameter counts (like torchsummary).")

  @Argument(help: "ae, dae, vae, conv-vae, a GPT-2 preset (seed, tiny, gpt2, gpt2-medium) or a model directory.")
  var model: String
  @Option(parsing: .unconditional, help: "Batch size shown in the output shapes (default: -1, any).") var batchSize = -1
  @Option(parsing: .unconditional, help: "Latent dimensions (vae, conv-vae).") var latentDim = 20
  @Option(parsing: .unconditional, help: "Vocabulary size of a GPT-2 preset.") var vocabSize = 50257
  @Option(parsing: .unconditional, help: "Tokens in the probe sequence of a language model.") var sequenceLength = 8

  static let presets = ["seed", "scratch", "tiny", "gpt2", "small", "gpt2-small", "gpt2-medium", "medium"]

  var isDirectory: Bool {
    var isDir: ObjCBool = false
    return FileManager.default.fileExists(atPath: model, isDirectory: &isDir) && isDir.boolValue
  }

  func validate() throws {
    guard AutoencoderKind(rawValue: model) != nil || Self.presets.contains(model) || isDirectory else {
      throw ValidationError(
        "unknown model '\(model)': use ae, dae, vae, conv-vae, a GPT-2 preset (seed, tiny, gpt2, gpt2-medium) or a model directory")
    }
    if batchSize == 0 || batchSize < -1 {
      throw ValidationError("--batch-size must be -1 (any) or at least 1, got \(batchSize)")
    }
    // The configs' own limits (VAEConfig latent_size, GPT2Config vocab_size), named by flag.
    if !(1...(1 << 20)).contains(latentDim) {
      throw ValidationError("--latent-dim must be in 1...\(1 << 20), got \(latentDim)")
    }
    if !(1...(1 << 22)).contains(vocabSize) {
      throw ValidationError("--vocab-size must be in 1...\(1 << 22), got \(vocabSize)")
    }
    if sequenceLength < 1 { throw ValidationError("--sequence-length must be at least 1, got \(sequenceLength)") }
  }

  func run() throws {
    if let kind = AutoencoderKind(rawValue: model) {
      var vae = VAEConfig()
      vae.latentSize = latentDim
      let net = try kind.make(autoencoder: AutoencoderConfig(), vae: vae)
      print(AutoencoderViews.summary(net, batchSize: batchSize), terminator: "")
      return
    }
    let net: Module
    if isDirectory {
      // The language model when the family has one (its head shows), else the base model.
      if let lm = try? AutoModelForCausalLM.from(directory: model) {
        net = lm
      } else if let s2s = try? AutoModelForSeq2SeqLM.from(directory: model) {
        net = s2s
      } else {
        net = try AutoModel.from(directory: model)
      }
    } else {
      net = try GPT2LMHeadModel(GPT2Config.preset(model, vocabSize: vocabSize))
    }
    print(try Self.summary(net, batchSize: batchSize, sequenceLength: sequenceLength), terminator: "")
  }

  /// The table of a loaded model, probed with inputs of the shape it takes.
  static func summary(_ net: Module, batchSize: Int, sequenceLength: Int) throws -> ModelSummary {
    if let ae = net as? any ImageAutoencoder { return AutoencoderViews.summary(ae, batchSize: batchSize) }
    func ids(_ positions: Int) -> Tensor { Tensor.zeros([2, min(sequenceLength, positions)], dtype: .int64) }
    if let lm = net as? GPT2LMHeadModel {
      return ModelSummary(model: lm, input: ids(lm.config.nPositions), batchSize: batchSize) { lm($0) }
    }
    if let base = net as? GPT2Model {
      return ModelSummary(model: base, input: ids(base.config.nPositions), batchSize: batchSize) { base($0) }
    }
    if let s2s = net as? any EncoderDecoderModel {
      // BART, T5, Switch, the Transformer: the probe ids are both the source and the target.
      return ModelSummary(model: net, input: ids(s2s.maxPositions), batchSize: batchSize) {
        s2s.decode(ids: $0, state: s2s.encode(ids: $0, attentionMask: nil))
      }
    }
    throw ValidationError("loom summary does not know the inputs of \(type(of: net)) yet")
  }
}

/// The views of an image autoencoder that `loom summary` and `loom train` share.
enum AutoencoderViews {
  /// Two uniform-random inputs shaped as the model takes them (its config's input size, e.g.
  /// [2, 784] or [2, 1, 28, 28]): a loaded model need not be Fashion-MNIST's shape.
  static func probe(_ model: any ImageAutoencoder) -> Tensor {
    let shape: [Int]
    if let ae = model as? Autoencoder {
      shape = [2, ae.config.layerSizes[0]]
    } else if let v = model as? ConvVAE {
      shape = [2, 1, v.config.imageHeight, v.config.imageWidth]
    } else if let v = model as? VAE {
      shape = [2, v.config.inputSize]
    } else {
      shape = model.takesImages ? [2, 1, 28, 28] : [2, 784]
    }
    return Tensor.rand(shape, generator: Generator(seed: 0))
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
