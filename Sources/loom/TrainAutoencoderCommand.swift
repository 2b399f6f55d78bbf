import ArgumentParser
import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomPlot
import LoomTrain

/// The data flags of `loom train ae|dae|vae` (the training flags are `TrainingFlags`).
struct AutoencoderFlags: ParsableArguments {
  @Option(help: "Fashion-MNIST directory (IDX files, gzip or plain).") var dataDir = FashionMNIST
    .defaultDirectory
  @Option(parsing: .unconditional, help: "Use only the first N training images (quick runs).") var trainLimit: Int?
  @Option(parsing: .unconditional, help: "Use only the first N test images.") var testLimit: Int?

  func validate() throws {
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
  @OptionGroup var training: TrainingFlags
  var setup: AutoencoderRun { AutoencoderRun(kind: .ae, flags: flags, training: training) }
  func validate() throws { try setup.validate() }
  func run() throws { try setup.run() }
}

struct TrainDAECommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dae", abstract: "Train a denoising autoencoder (noisy inputs, clean targets).")
  @OptionGroup var flags: AutoencoderFlags
  @OptionGroup var training: TrainingFlags
  @Option(help: "Input corruption: masking:P (zero a fraction P of pixels) or gaussian:STD.")
  var noise = "masking:0.25"
  func setup() throws -> AutoencoderRun {
    var r = AutoencoderRun(kind: .dae, flags: flags, training: training)
    do { r.noise = try ImageNoise(parsing: noise) } catch {
      throw ValidationError("--noise: \(error)")
    }
    return r
  }
  func validate() throws { try setup().validate() }
  func run() throws { try setup().run() }
}

struct TrainVAECommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vae",
    abstract: "Train a variational autoencoder (MLP, or --conv) with reconstruction + β·KL.")
  @OptionGroup var flags: AutoencoderFlags
  @OptionGroup var training: TrainingFlags
  @Option(parsing: .unconditional, help: "Latent dimensions.") var latentDim = 20
  @Option(parsing: .unconditional, help: "Weight of the KL term (β-VAE).") var beta: Double = 1
  @Option(help: "Reconstruction term: bce (summed over pixels) or mse.") var reconstruction = "bce"
  @Flag(help: "The small convolutional VAE instead of the MLP.") var conv = false
  func setup() throws -> AutoencoderRun {
    if !(1...(1 << 20)).contains(latentDim) {
      throw ValidationError("--latent-dim must be in 1...\(1 << 20), got \(latentDim)")
    }
    if !(beta >= 0 && beta.isFinite) { throw ValidationError("--beta must be a finite number >= 0, got \(beta)") }
    guard let rec = VAEConfig.Reconstruction(rawValue: reconstruction) else {
      throw ValidationError("--reconstruction must be bce or mse, got '\(reconstruction)'")
    }
    var r = AutoencoderRun(kind: conv ? .convVAE : .vae, flags: flags, training: training)
    r.vae = VAEConfig(latentSize: latentDim, beta: beta, reconstruction: rec)
    return r
  }
  func validate() throws { try setup().validate() }
  func run() throws { try setup().run() }
}

/// One `loom train ae|dae|vae` run: data, model, Trainer (eval and checkpoint every
/// epoch), then metrics.jsonl (one line per epoch), model files and pictures.
struct AutoencoderRun {
  let kind: AutoencoderKind
  let flags: AutoencoderFlags
  let training: TrainingFlags
  var noise = ImageNoise.none
  var vae = VAEConfig()

  var isVAE: Bool { kind == .vae || kind == .convVAE }

  /// The autoencoders' TrainingArguments defaults (the seeds' recipe; see the flags' help
  /// for HF's): Adam with L2 decay, constant rate, no clipping, evaluation and a
  /// checkpoint every epoch, one training-loss record per epoch (set once the data is read).
  var defaults: TrainingArguments {
    var a = TrainingArguments(outputDir: "")
    a.numTrainEpochs = 10
    a.perDeviceTrainBatchSize = isVAE ? 128 : 32
    a.perDeviceEvalBatchSize = 500
    a.learningRate = 1e-3
    a.weightDecay = isVAE ? 0 : 1e-8
    a.optim = .adam
    a.lrSchedulerType = .constant
    a.maxGradNorm = 0
    a.evalStrategy = .epoch
    a.saveStrategy = .epoch
    a.saveTotalLimit = 2
    a.seed = 0
    return a
  }

  /// Every flag, checked before the data or a model is read.
  func validate() throws {
    try training.validate(defaults: defaults)
  }

  /// The model: built from the flags, or the one saved in --model (its config.json
  /// gives the shape; its model_type must be this command's).
  func makeModel() throws -> (
    model: any ImageAutoencoder, autoencoder: AutoencoderConfig, vae: VAEConfig
  ) {
    var aeConfig = AutoencoderConfig()
    aeConfig.noise = noise
    guard let dir = training.model else {
      return (try kind.make(autoencoder: aeConfig, vae: vae), aeConfig, vae)
    }
    let configPath = dir + "/config.json"
    guard let data = FileManager.default.contents(atPath: configPath),
      let dict = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { throw LoomError("\(configPath) is missing or not a JSON object") }
    let type = dict["model_type"] as? String ?? "(none)"
    guard type == kind.rawValue else {
      throw LoomError(
        "\(configPath): model_type is '\(type)', but this command trains '\(kind.rawValue)'")
    }
    let model: any ImageAutoencoder
    var savedAE = aeConfig
    var savedVAE = vae
    do {
      if isVAE {
        savedVAE = try JSONDecoder().decode(VAEConfig.self, from: data)
        model = try kind.make(vae: savedVAE)
      } else {
        savedAE = try JSONDecoder().decode(AutoencoderConfig.self, from: data)
        savedAE.noise = noise  // --noise picks this run's corruption
        model = try kind.make(autoencoder: savedAE)
      }
    } catch {
      throw LoomError("\(configPath): \(error)")
    }
    let weights = dir + "/model.safetensors"
    try model.loadStateDict(SafeTensors.load(weights), source: weights)
    return (model, savedAE, savedVAE)
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    var args = try training.arguments(defaults: defaults)
    let out = args.outputDir
    let device = try training.useDevice()
    manualSeed(args.seed)
    let built = try makeModel().model
    let model = built.to(device: device)
    if let dir = training.model { print("starting from \(dir)") }
    let layout: ImageDataset.Layout = model.takesImages ? .image : .flat
    var train = try ImageDataset.fashionMNIST(
      split: .train, directory: flags.dataDir, layout: layout, noise: noise, noiseSeed: args.seed)
    var test = try ImageDataset.fashionMNIST(
      split: .test, directory: flags.dataDir, layout: layout, noise: noise,
      noiseSeed: args.seed &+ 1)
    if let n = flags.trainLimit { train = train.prefix(n) }
    if let n = flags.testLimit { test = test.prefix(n) }
    // Checked before training: the plots and metrics need test images.
    guard test.count > 0 else {
      throw LoomError("the test split in \(flags.dataDir) has no images: evaluation and the pictures need some")
    }

    guard args.perDeviceTrainBatchSize <= train.count else {
      throw LoomError(
        "--batch-size \(args.perDeviceTrainBatchSize) is larger than the \(train.count) training images"
      )
    }
    // One training-loss record per epoch: the mean over the epoch's batches.
    if training.loggingSteps == nil {
      args.loggingSteps =
        (train.count + args.perDeviceTrainBatchSize - 1) / args.perDeviceTrainBatchSize
    }
    try args.validate(naming: training.flagName)

    let trainer = Trainer(
      model: model, args: args, trainDataset: train, evalDataset: test,
      computeLossOutput: { batch in
        let l = model.loss(batch.inputs, target: batch.labels)
        return LossOutput(loss: l.total, parts: l.parts)
      })
    trainer.logFileName = "trainer_log.jsonl"
    trainer.throughputUnit = .samples
    let metricsPath = out + "/metrics.jsonl"
    trainer.onLog = { [unowned trainer] logs in
      if logs["eval_loss"] != nil, let row = Self.epochRows(trainer.state.logHistory).last {
        print(Self.describe(row))
      }
    }
    // From the whole log history, so a resumed run lists the epochs before its checkpoint too.
    let epochs = Self.epochRows(try trainer.train().logHistory)
    guard trainer.isWorldProcessZero() else { return }  // data parallel: rank 0 writes the results
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

  /// metrics.jsonl rows: one per evaluation, with the training loss logged before it.
  static func epochRows(_ history: [[String: Double]]) -> [[String: Double]] {
    var rows: [[String: Double]] = []
    var pendingTrain = Double.nan
    for logs in history {
      if let l = logs["loss"] { pendingTrain = l }
      guard let testLoss = logs["eval_loss"], let epoch = logs["epoch"] else { continue }
      var row: [String: Double] = [
        "epoch": epoch.rounded(), "train_loss": pendingTrain, "test_loss": testLoss,
      ]
      if let r = logs["eval_recon_loss"], let k = logs["eval_kl_loss"] {
        row["test_recon_loss"] = r
        row["test_kl_loss"] = k
        row["test_elbo"] = -(r + k)
      }
      rows.append(row)
    }
    return rows
  }

  static func describe(_ row: [String: Double]) -> String {
    let n = ProgressCallback.number
    var s =
      String(format: "epoch %.0f", row["epoch"]!) + "  train_loss " + n(row["train_loss"]!, "%.5f")
      + "  test_loss " + n(row["test_loss"]!, "%.5f")
    if let e = row["test_elbo"] { s += "  test_elbo " + n(e, "%.2f") }
    return s
  }

  static func writeJSONLines(_ rows: [[String: Double]], to path: String) throws {
    var text = Data()
    for r in rows {
      text += try LogJSON.line(r)  // a NaN loss as null, like every Loom log
    }
    try AtomicFile.write(text, to: path)
  }

  /// summary.txt (torchsummary's table), graph.dot (the autograd graph of one forward)
  /// and graph.png when Graphviz's `dot` is installed; returns whether the PNG was made.
  func writeGraphAndSummary(model: any ImageAutoencoder) throws -> Bool {
    let out = training.outputDir
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
    let out = training.outputDir
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
      let samples = v.sample(count: 64, generator: Generator(seed: (training.seed ?? 0) &+ 7))
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
