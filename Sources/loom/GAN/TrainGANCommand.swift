import ArgumentParser
import Foundation
import LoomCore
import LoomDiffusion
import LoomIO
import LoomNN
import LoomPlot
import LoomTrain

/// `loom train gan`: GAN, DCGAN, WGAN or WGAN-GP on Fashion-MNIST / MNIST.
struct TrainGANCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gan",
    abstract: "Train a GAN (MLP), DCGAN, WGAN (weight clipping) or WGAN-GP (gradient penalty) on 28×28 images.")
  @Option(help: "gan, dcgan, wgan or wgan-gp.") var variant = "dcgan"
  @Option(help: "fashion-mnist or mnist.") var dataset = "fashion-mnist"
  @Option(help: "The dataset's IDX directory (default: Debian's dataset-fashion-mnist / dataset-mnist path).")
  var dataDir: String?
  @Option(parsing: .unconditional, help: "Use only the first N training images (quick runs).") var trainLimit: Int?
  @Option(parsing: .unconditional, help: "Critic steps per generator step (gan/dcgan: 1; wgan, wgan-gp: 5).")
  var nCritic: Int?
  @Option(parsing: .unconditional, help: "WGAN-GP's gradient-penalty weight λ (10).") var gpLambda: Double?
  @Option(parsing: .unconditional, help: "WGAN's weight clipping bound (0.01).") var clip: Double?
  @Option(parsing: .unconditional, help: "Latent dimensions (100).") var latentDim = 100
  @Option(parsing: .unconditional, help: "Feature maps of the conv networks (DCGAN's ngf = ndf, 64).")
  var features = 64
  @Flag(help: "Condition both networks on the class label (an embedding concatenated to z and to the input).")
  var classConditional = false
  @OptionGroup var training: TrainingFlags

  var parsedVariant: GANVariant {
    get throws {
      guard let v = GANVariant(rawValue: variant) else {
        throw ValidationError(
          "--variant must be one of \(GANVariant.allCases.map(\.rawValue).joined(separator: ", ")), got '\(variant)'")
      }
      return v
    }
  }

  /// TrainingArguments defaults: the variant's optimiser recipe, batch 64, 5 epochs,
  /// a metrics line every 50 steps, no checkpoints.
  func defaults(_ v: GANVariant) -> TrainingArguments {
    let r = GANRecipe.recipe(for: v)
    var a = TrainingArguments(outputDir: "")
    a.numTrainEpochs = 5
    a.perDeviceTrainBatchSize = 64
    a.learningRate = r.learningRate
    (a.adamBeta1, a.adamBeta2) = r.betas
    a.lrSchedulerType = .constant
    a.maxGradNorm = 0
    a.loggingSteps = 50
    a.saveStrategy = .no
    a.seed = 0
    return a
  }

  var directory: String {
    dataDir ?? (dataset == "mnist" ? MNIST.defaultDirectory : FashionMNIST.defaultDirectory)
  }

  /// Every flag, and the dataset's presence, checked before any data or model is read.
  func validate() throws {
    let v = try parsedVariant
    guard ["fashion-mnist", "mnist"].contains(dataset) else {
      throw ValidationError("--dataset must be fashion-mnist or mnist, got '\(dataset)'")
    }
    if let clip {
      guard v == .wgan else {
        throw ValidationError("--clip applies to --variant wgan only (weight clipping), not \(v.rawValue)")
      }
      guard clip > 0 && clip.isFinite else { throw ValidationError("--clip must be a finite number > 0, got \(clip)") }
    }
    if let gpLambda {
      guard v == .wganGP else {
        throw ValidationError("--gp-lambda applies to --variant wgan-gp only (the gradient penalty), not \(v.rawValue)")
      }
      guard gpLambda > 0 && gpLambda.isFinite else {
        throw ValidationError("--gp-lambda must be a finite number > 0, got \(gpLambda)")
      }
    }
    if let nCritic, !(1...1000).contains(nCritic) {
      throw ValidationError("--n-critic must be in 1...1000, got \(nCritic)")
    }
    if !(1...(1 << 16)).contains(latentDim) { throw ValidationError("--latent-dim must be in 1...65536, got \(latentDim)") }
    if !(1...4096).contains(features) { throw ValidationError("--features must be in 1...4096, got \(features)") }
    if let trainLimit, trainLimit < 1 { throw ValidationError("--train-limit must be at least 1, got \(trainLimit)") }
    if training.model != nil { throw ValidationError("--model is not supported by train gan (it starts from scratch)") }
    try training.validate(defaults: defaults(v))
    let images = directory + "/train-images-idx3-ubyte"
    let fm = FileManager.default
    guard fm.fileExists(atPath: images + ".gz") || fm.fileExists(atPath: images) else {
      throw ValidationError(
        "no \(dataset) training images in \(directory) (train-images-idx3-ubyte[.gz]): "
          + "install Debian's dataset-\(dataset) package or pass --data-dir")
    }
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    let v = try parsedVariant
    let args = try training.arguments(defaults: defaults(v))
    let out = args.outputDir
    _ = try training.useDevice()
    manualSeed(args.seed)
    let norm: (mean: Float, std: Float) = (0.5, 0.5)  // pixels to [−1, 1], the generator's Tanh range
    var data =
      dataset == "mnist"
      ? try ImageDataset.mnist(split: .train, directory: directory, layout: .image, normalization: norm)
      : try ImageDataset.fashionMNIST(split: .train, directory: directory, layout: .image, normalization: norm)
    if let trainLimit { data = data.prefix(trainLimit) }
    guard args.perDeviceTrainBatchSize <= data.count else {
      throw LoomError("--batch-size \(args.perDeviceTrainBatchSize) is larger than the \(data.count) training images")
    }

    var config = GANConfig(
      variant: v, latentDim: latentDim, generatorFeatures: features, discriminatorFeatures: features,
      numClasses: classConditional ? 10 : nil)
    config.channels = 1
    try config.validate()
    var recipe = GANRecipe.recipe(for: v)
    recipe.learningRate = args.learningRate
    recipe.betas = (args.adamBeta1, args.adamBeta2)
    if let nCritic { recipe.nCritic = nCritic }
    if let clip { recipe.clip = clip }
    if let gpLambda { recipe.gpLambda = gpLambda }
    let g = GANGenerator(config)
    let d = GANDiscriminator(config)
    let trainer = GANTrainer(generator: g, discriminator: d, recipe: recipe, seed: args.seed &+ 1)

    let loader = try DataLoader(data, batchSize: args.perDeviceTrainBatchSize, shuffle: true, seed: args.seed, dropLast: true)
    let perEpoch = loader.count
    let epochs = Int(args.numTrainEpochs.rounded(.up))
    let total = args.maxSteps > 0 ? args.maxSteps : perEpoch * epochs
    // The fixed noise batch of the per-epoch grids (and its labels, 0…9 cycled).
    let fixedNoise = Tensor.randn([64, latentDim], generator: Generator(seed: args.seed &+ 2))
    let fixedLabels = classConditional ? Tensor((0..<64).map { Int64($0 % 10) }, shape: [64]) : nil
    try FileManager.default.createDirectory(atPath: out + "/samples", withIntermediateDirectories: true)

    print("training \(v.rawValue): \(data.count) images, \(perEpoch) steps per epoch, \(total) steps")
    let bar = ProgressBar(total: total, label: "train gan")
    var rows: [[String: Double]] = []
    var window: [String: [Double]] = [:]
    var step = 0
    var epoch = 0
    var metrics = Data()
    loop: while step < total {
      for indices in loader.batchIndices(epoch: epoch) {
        let real = data.images(indices)
        let labels = classConditional ? Tensor(indices.map { Int64(data.classLabels[$0]) }, shape: [indices.count]) : nil
        let logs = trainer.step(real: real, labels: labels)
        for (k, x) in logs { window[k, default: []].append(x) }
        step += 1
        bar.update(step, ["loss_d": String(format: "%.4f", logs["loss_d"]!)])
        if step % args.loggingSteps == 0 || step == total {
          var row = window.mapValues { $0.reduce(0, +) / Double($0.count) }
          row["step"] = Double(step)
          row["epoch"] = Double(step) / Double(perEpoch)
          rows.append(row)
          metrics += try LogJSON.line(row)
          try AtomicFile.write(metrics, to: out + "/metrics.jsonl")
          window = [:]
        }
        if step == total { break }
      }
      epoch += 1
      try writeGrid(g, fixedNoise, fixedLabels, title: "\(v.rawValue), epoch \(epoch)", to: out + String(format: "/samples/epoch-%03d.png", epoch))
      if step >= total { break loop }
    }
    bar.finish()
    try writeGrid(g, fixedNoise, fixedLabels, title: "\(v.rawValue) samples (fixed noise)", to: out + "/samples.png")
    try writeLossPlot(rows, wasserstein: v.isWasserstein, to: out + "/loss.png")
    for (name, model) in [("generator", g as Module), ("discriminator", d as Module)] {
      try model.savePretrained(to: out + "/" + name)
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      var json = try JSONSerialization.jsonObject(with: encoder.encode(config)) as! [String: Any]
      json["architectures"] = [name == "generator" ? "GANGenerator" : "GANDiscriminator"]
      json["model_type"] = "gan"
      try AtomicFile.write(
        try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]),
        to: out + "/" + name + "/config.json")
    }
    if let last = rows.last {
      let shown = ["loss_d", "loss_g", "wasserstein_distance", "gradient_norm"].compactMap { k in
        last[k].map { "\(k) " + String(format: "%.4f", $0) }
      }
      print("step \(step): " + shown.joined(separator: "  "))
    }
    print("wrote \(out)/{metrics.jsonl, loss.png, samples.png, samples/, generator/, discriminator/}")
  }

  /// The generator's images for the fixed noise as an 8×8 grid, pixels mapped back to [0, 1].
  func writeGrid(_ g: GANGenerator, _ z: Tensor, _ labels: Tensor?, title: String, to path: String) throws {
    g.eval()
    defer { g.train() }
    let images = noGrad { (g(z, labels: labels) + 1) * 0.5 }.clamp(min: 0, max: 1).contiguous().floats
    let d = images.count / 64
    let rows = (0..<64).map { Array(images[($0 * d)..<(($0 + 1) * d)]) }
    try ImageGrid(images: rows, imageWidth: 28, imageHeight: 28, columns: 8, title: title).write(to: path)
  }

  func writeLossPlot(_ rows: [[String: Double]], wasserstein: Bool, to path: String) throws {
    var plot = LinePlot(title: "GAN losses", xLabel: "step", yLabel: "loss")
    let keys = ["loss_d", "loss_g"] + (wasserstein ? ["wasserstein_distance"] : [])
    for k in keys {
      let pts = rows.compactMap { r in r[k].map { (r["step"]!, $0) } }
      if !pts.isEmpty { plot.add(k, x: pts.map(\.0), y: pts.map(\.1)) }
    }
    _ = try plot.write(to: path)
  }
}
