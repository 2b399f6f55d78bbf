import ArgumentParser
import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomPlot
import LoomTrain

/// Flags shared by `loom train ae|dae|vae` (relied on by users' scripts: keep them).
struct AutoencoderFlags: ParsableArguments {
  @Option(help: "Directory for the model, metrics, plots and checkpoints.") var outputDir: String
  @Option(help: "Training epochs.") var epochs = 10
  @Option(help: "Batch size (default: 32 for ae/dae, 128 for vae).") var batchSize: Int?
  @Option(help: "Learning rate (the seeds used 1e-1; 1e-3 trains reliably).") var lr: Double = 1e-3
  @Option(help: "Weight decay (default: 1e-8 for ae/dae as in the seeds, 0 for vae).")
  var weightDecay: Double?
  @Option(help: "adam (L2 weight decay, as the seeds), adamw or sgd.") var optimizer = "adam"
  @Option(help: "Momentum for --optimizer sgd.") var momentum: Double = 0
  @Option(help: "Random seed (weights, shuffling, noise, sampling).") var seed: UInt64 = 0
  @Option(help: "Fashion-MNIST directory (IDX files, gzip or plain).") var dataDir = FashionMNIST
    .defaultDirectory
  @Option(help: "Use only the first N training images (quick runs).") var trainLimit: Int?
  @Option(help: "Use only the first N test images.") var testLimit: Int?
  @Flag(help: "Reuse a non-empty output directory.") var overwriteOutputDir = false

  func validate() throws {
    if epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
    if let b = batchSize, b < 1 {
      throw ValidationError("--batch-size must be at least 1, got \(b)")
    }
    if !(lr > 0) { throw ValidationError("--lr must be > 0, got \(lr)") }
    if let wd = weightDecay, wd < 0 {
      throw ValidationError("--weight-decay must be >= 0, got \(wd)")
    }
    if !["adam", "adamw", "sgd"].contains(optimizer) {
      throw ValidationError("--optimizer must be adam, adamw or sgd, got '\(optimizer)'")
    }
    for (name, v) in [("--train-limit", trainLimit), ("--test-limit", testLimit)] {
      if let v, v < 1 { throw ValidationError("\(name) must be at least 1, got \(v)") }
    }
  }
}

struct TrainAECommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ae",
    abstract: "Train the seeds' Fashion-MNIST autoencoder (784-128-64-36-18-9 and back).")
  @OptionGroup var flags: AutoencoderFlags
  func run() throws { try AutoencoderRun(kind: .ae, flags: flags).run() }
}

struct TrainDAECommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dae", abstract: "Train a denoising autoencoder (noisy inputs, clean targets).")
  @OptionGroup var flags: AutoencoderFlags
  @Option(help: "Input corruption: masking:P (zero a fraction P of pixels) or gaussian:STD.")
  var noise = "masking:0.25"
  func run() throws {
    var r = AutoencoderRun(kind: .dae, flags: flags)
    r.noise = try ImageNoise(parsing: noise)
    try r.run()
  }
}

struct TrainVAECommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vae",
    abstract: "Train a variational autoencoder (MLP, or --conv) with reconstruction + β·KL.")
  @OptionGroup var flags: AutoencoderFlags
  @Option(help: "Latent dimensions.") var latentDim = 20
  @Option(help: "Weight of the KL term (β-VAE).") var beta: Double = 1
  @Option(help: "Reconstruction term: bce (summed over pixels) or mse.") var reconstruction = "bce"
  @Flag(help: "The small convolutional VAE instead of the MLP.") var conv = false
  func run() throws {
    guard let rec = VAEConfig.Reconstruction(rawValue: reconstruction) else {
      throw ValidationError("--reconstruction must be bce or mse, got '\(reconstruction)'")
    }
    var r = AutoencoderRun(kind: conv ? .convVAE : .vae, flags: flags)
    r.vae = VAEConfig(latentSize: latentDim, beta: beta, reconstruction: rec)
    try r.run()
  }
}

/// One `loom train ae|dae|vae` run: data, model, Trainer (eval and checkpoint every
/// epoch), then metrics.jsonl (one line per epoch), model files and pictures.
struct AutoencoderRun {
  let kind: AutoencoderKind
  let flags: AutoencoderFlags
  var noise = ImageNoise.none
  var vae = VAEConfig()

  var isVAE: Bool { kind == .vae || kind == .convVAE }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    let out = flags.outputDir
    manualSeed(flags.seed)
    var aeConfig = AutoencoderConfig()
    aeConfig.noise = noise
    let model = try kind.make(autoencoder: aeConfig, vae: vae)
    let layout: ImageDataset.Layout = model.takesImages ? .image : .flat
    var train = try ImageDataset.fashionMNIST(
      split: .train, directory: flags.dataDir, layout: layout, noise: noise, noiseSeed: flags.seed)
    var test = try ImageDataset.fashionMNIST(
      split: .test, directory: flags.dataDir, layout: layout, noise: noise,
      noiseSeed: flags.seed &+ 1)
    if let n = flags.trainLimit { train = train.prefix(n) }
    if let n = flags.testLimit { test = test.prefix(n) }

    var args = TrainingArguments(outputDir: out)
    args.overwriteOutputDir = flags.overwriteOutputDir
    args.numTrainEpochs = Double(flags.epochs)
    args.perDeviceTrainBatchSize = flags.batchSize ?? (isVAE ? 128 : 32)
    args.perDeviceEvalBatchSize = 500
    args.learningRate = flags.lr
    args.weightDecay = flags.weightDecay ?? (isVAE ? 0 : 1e-8)
    args.optim = ["adam": "adam", "adamw": "adamw_torch", "sgd": "sgd"][flags.optimizer]!
    args.sgdMomentum = flags.momentum
    args.lrSchedulerType = "constant"
    args.maxGradNorm = 0
    args.evalStrategy = .epoch
    args.saveStrategy = .epoch
    args.saveTotalLimit = 2
    args.seed = flags.seed
    guard args.perDeviceTrainBatchSize <= train.count else {
      throw ValidationError(
        "--batch-size \(args.perDeviceTrainBatchSize) is larger than the \(train.count) training images"
      )
    }
    // One training-loss record per epoch: the mean over the epoch's batches.
    args.loggingSteps =
      (train.count + args.perDeviceTrainBatchSize - 1) / args.perDeviceTrainBatchSize
    try args.validate()

    let trainer = Trainer(
      model: model, args: args, trainDataset: train, evalDataset: test,
      computeLossOutput: { batch in
        let l = model.loss(batch.inputs, target: batch.labels)
        return LossOutput(loss: l.total, parts: l.parts)
      })
    trainer.logFileName = "trainer_log.jsonl"
    trainer.throughputUnit = .samples
    var epochs: [[String: Double]] = []
    var pendingTrain = Double.nan
    let metricsPath = out + "/metrics.jsonl"
    trainer.onLog = { logs in
      if let l = logs["loss"] { pendingTrain = l }
      guard let testLoss = logs["eval_loss"], let epoch = logs["epoch"] else { return }
      var row: [String: Double] = [
        "epoch": epoch.rounded(), "train_loss": pendingTrain, "test_loss": testLoss,
      ]
      if let r = logs["eval_recon_loss"], let k = logs["eval_kl_loss"] {
        row["test_recon_loss"] = r
        row["test_kl_loss"] = k
        row["test_elbo"] = -(r + k)
      }
      epochs.append(row)
      print(Self.describe(row))
    }
    try trainer.train()
    try Self.writeJSONLines(epochs, to: metricsPath)

    try model.savePretrained(to: out)
    let rendered = try writeGraphAndSummary(model: model)
    try writePictures(model: model, test: test, epochs: epochs)
    let files =
      ["metrics.jsonl", "loss.png", "reconstructions.png", "latent.png"]
      + (isVAE ? ["samples.png"] : [])
      + ["model.safetensors", "config.json", "summary.txt", "graph.dot"]
      + (rendered ? ["graph.png"] : [])
    print("wrote \(out)/{\(files.joined(separator: ", "))}")
  }

  static func describe(_ row: [String: Double]) -> String {
    var s = String(
      format: "epoch %.0f  train_loss %.5f  test_loss %.5f", row["epoch"]!, row["train_loss"]!,
      row["test_loss"]!)
    if let e = row["test_elbo"] { s += String(format: "  test_elbo %.2f", e) }
    return s
  }

  static func writeJSONLines(_ rows: [[String: Double]], to path: String) throws {
    var text = Data()
    for r in rows {
      text += try JSONSerialization.data(withJSONObject: r, options: [.sortedKeys])
      text += Data("\n".utf8)
    }
    try AtomicFile.write(text, to: path)
  }

  /// summary.txt (torchsummary's table), graph.dot (the autograd graph of one forward)
  /// and graph.png when Graphviz's `dot` is installed; returns whether the PNG was made.
  func writeGraphAndSummary(model: any ImageAutoencoder) throws -> Bool {
    let out = flags.outputDir
    let table = AutoencoderViews.summary(model, batchSize: -1).render()
    try AtomicFile.write(Data(table.utf8), to: out + "/summary.txt")
    let dot = AutoencoderViews.graphDOT(model)
    guard GraphViz.dotExecutable() != nil else {
      try AtomicFile.write(Data(dot.utf8), to: out + "/graph.dot")
      print("note: Graphviz is not installed, so graph.dot was not rendered (apt install graphviz)")
      return false
    }
    try GraphViz.render(dot: dot, toPNG: out + "/graph.png", dotPath: out + "/graph.dot")
    return true
  }

  func writePictures(model: any ImageAutoencoder, test: ImageDataset, epochs: [[String: Double]])
    throws
  {
    let out = flags.outputDir
    model.eval()
    try ImageReports.lossCurves(
      epochs: epochs.map { $0["epoch"]! }, train: epochs.map { $0["train_loss"]! },
      test: epochs.map { $0["test_loss"]! }, lossName: isVAE ? "−ELBO per image" : "MSE",
      to: out + "/loss.png")

    // One test image of each class (the first found), then the reconstructions.
    var firstOfClass: [Int] = []
    for c in 0..<10 { if let i = test.classLabels.firstIndex(of: c) { firstOfClass.append(i) } }
    let clean = test.images(firstOfClass)
    let inputs = noise == .none ? clean : test.images(firstOfClass, noisy: true)
    let recon = noGrad { model.reconstruct(inputs) }
    var rows: [(String, [[Float]])] = [("original", Self.rows(clean))]
    if noise != .none { rows.append(("noisy", Self.rows(inputs))) }
    rows.append(("reconstructed", Self.rows(recon)))
    try ImageReports.reconstructions(
      rows: rows.map { (label: $0.0, images: $0.1) }, to: out + "/reconstructions.png")

    if let v = model as? any VariationalAutoencoder {
      let samples = v.sample(count: 64, generator: Generator(seed: flags.seed &+ 7))
      try ImageReports.samples(
        Self.rows(samples), columns: 8, title: "Samples from the prior", to: out + "/samples.png")
    }
    // Latent space of up to 5000 test images.
    let n = min(test.count, 5000)
    let codes = noGrad { model.encodeMean(test.images(Array(0..<n))) }
    let d = codes.shape[1]
    let flat = codes.floats
    let points = (0..<n).map { i in (0..<d).map { Double(flat[i * d + $0]) } }
    try ImageReports.latent(
      codes: points, labels: Array(test.classLabels[0..<n]), to: out + "/latent.png")
  }

  /// [N, …] images in [0, 1] as N flat rows.
  static func rows(_ t: Tensor) -> [[Float]] {
    let n = t.shape[0]
    let f = t.contiguous().floats
    let d = f.count / max(n, 1)
    return (0..<n).map { Array(f[($0 * d)..<(($0 + 1) * d)]) }
  }
}
