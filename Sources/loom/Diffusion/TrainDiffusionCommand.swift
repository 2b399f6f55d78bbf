import ArgumentParser
import Foundation
import LoomCore
import LoomDiffusion
import LoomIO
import LoomTrain

/// `loom train diffusion`: a denoising-diffusion model on Fashion-MNIST / MNIST through `DiffusionTrainer`,
/// written as a diffusers pipeline folder (model_index.json, scheduler/, unet/ with the EMA weights,
/// model.safetensors with the raw ones) that `DDPMPipeline.from_pretrained` and `loom sample` load.
struct TrainDiffusionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diffusion",
    abstract: "Train a DDPM denoiser (U-Net or DiT) on Fashion-MNIST or MNIST into a diffusers pipeline folder.",
    discussion: """
      --model unet (default) builds a new U-Net, --model dit a DiT (diffusers' DiTTransformer2DModel, always \
      class-conditional: pass --class-conditional); --model DIR continues from a pipeline folder this command wrote. \
      With --class-conditional the model gets one class-embedding row per class plus a last, null row; labels \
      are dropped to it with probability --label-dropout, so `loom sample --guidance-scale` can use it. Training \
      defaults follow diffusers' train_unconditional.py: AdamW (--lr 1e-4, --weight-decay 1e-6), cosine schedule, \
      --max-grad-norm 1; here with --batch-size 64, 100 warmup steps (diffusers: 500) and one epoch; evaluation, \
      a sample grid and a checkpoint every epoch.
      """)

  @OptionGroup var training: TrainingFlags
  @Option(help: "fashion-mnist or mnist.") var dataset = "fashion-mnist"
  @Option(help: "IDX directory (default: the dataset's Debian directory).") var dataDir: String?
  @Option(parsing: .unconditional, help: "Use only the first N training images.") var trainLimit: Int?
  @Option(parsing: .unconditional, help: "Test images for the evaluation loss (0: no evaluation).")
  var testLimit = 1000
  @Option(parsing: .unconditional, help: "Square size the 28×28 images are padded to (background −1).")
  var imageSize = 32
  @Option(help: "epsilon or v_prediction.") var predictionType = "epsilon"
  @Option(help: "linear, scaled_linear or squaredcos_cap_v2.") var betaSchedule = "linear"
  @Option(parsing: .unconditional, help: "Diffusion timesteps.") var numTrainTimesteps = 1000
  @Flag(help: "Condition on the class labels (plus a null label for classifier-free guidance).")
  var classConditional = false
  @Option(parsing: .unconditional, help: "Probability of replacing a label by the null label.")
  var labelDropout = 0.1
  @Option(
    parsing: .unconditional,
    help: "EMA decay cap (diffusers' EMAModel: min(decay, (1 + s)/(10 + s)) after each step; 0 turns EMA off).")
  var emaDecay = EMAModel.defaultDecay
  @Option(parsing: .unconditional, help: "EMA: steps before averaging starts (diffusers' update_after_step).")
  var emaUpdateAfterStep = 0
  @Option(help: "U-Net block_out_channels, comma-separated (one level each).") var blockOutChannels = "32,64,64"
  @Option(parsing: .unconditional, help: "U-Net layers_per_block.") var layersPerBlock = 1
  @Option(parsing: .unconditional, help: "U-Net norm_num_groups.") var normNumGroups = 8
  @Option(parsing: .unconditional, help: "DiT patch_size.") var patchSize = 2
  @Option(parsing: .unconditional, help: "DiT num_layers.") var numLayers = 4
  @Option(parsing: .unconditional, help: "DiT num_attention_heads.") var numAttentionHeads = 4
  @Option(parsing: .unconditional, help: "DiT attention_head_dim.") var attentionHeadDim = 16
  @Flag(
    help: "DiT learn_sigma: out_channels = 2 · in_channels (the variance channels get no loss; sampling drops them).")
  var learnSigma = false
  @Option(parsing: .unconditional, help: "Images in each epoch's sample grid (fixed noise).") var numSampleImages = 20
  @Option(parsing: .unconditional, help: "DDIM steps for the sample grids.") var sampleSteps = 50

  /// diffusers' train_unconditional.py defaults, except the batch size and a shorter warmup.
  var defaults: TrainingArguments {
    var a = TrainingArguments(outputDir: "")
    a.numTrainEpochs = 1
    a.perDeviceTrainBatchSize = 64
    a.perDeviceEvalBatchSize = 250
    a.learningRate = 1e-4
    a.weightDecay = 1e-6
    a.optim = .adamwTorch
    a.lrSchedulerType = .cosine
    a.warmupSteps = 100
    a.maxGradNorm = 1
    a.loggingSteps = 50
    a.evalStrategy = .epoch
    a.saveStrategy = .epoch
    a.saveTotalLimit = 2
    a.seed = 0
    return a
  }

  var architecture: String? { ["unet", "dit"].contains(training.model ?? "unet") ? (training.model ?? "unet") : nil }

  func parsedChannels() throws -> [Int] {
    let parts = blockOutChannels.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) >= 1 }) else {
      throw ValidationError("--block-out-channels must be positive integers like 32,64,64, got '\(blockOutChannels)'")
    }
    return parts.map { $0! }
  }

  func schedulerConfig() throws -> SchedulerConfig {
    var c = SchedulerConfig()
    guard let p = PredictionType(rawValue: predictionType), p != .sample else {
      throw ValidationError("--prediction-type must be epsilon or v_prediction, got '\(predictionType)'")
    }
    guard let b = BetaSchedule(rawValue: betaSchedule) else {
      throw ValidationError(
        "--beta-schedule must be one of \(BetaSchedule.allCases.map(\.rawValue).joined(separator: ", ")), "
          + "got '\(betaSchedule)'"
      )
    }
    c.predictionType = p
    c.betaSchedule = b
    c.numTrainTimesteps = numTrainTimesteps
    do { try c.validate() } catch { throw ValidationError("--num-train-timesteps: \(error)") }
    return c
  }

  func unetConfig(classes: Int?) throws -> UNet2DConfig {
    let ch = try parsedChannels()
    var c = UNet2DConfig()
    c.sampleSize = [imageSize, imageSize]
    c.inChannels = 1
    c.outChannels = 1
    c.blockOutChannels = ch
    c.layersPerBlock = layersPerBlock
    c.normNumGroups = normNumGroups
    c.attentionHeadDim = 8
    // Attention only at the lowest resolution, as small DDPM U-Nets do.
    c.downBlockTypes = ch.indices.map { $0 == ch.count - 1 && ch.count > 1 ? "AttnDownBlock2D" : "DownBlock2D" }
    c.upBlockTypes = ch.indices.map { $0 == 0 && ch.count > 1 ? "AttnUpBlock2D" : "UpBlock2D" }
    c.numClassEmbeds = classes.map { $0 + 1 }
    do { try c.validate() } catch let e as LoomError {
      throw ValidationError(
        "U-Net: \(e.message) (set by --image-size, --block-out-channels, --layers-per-block, --norm-num-groups)")
    }
    return c
  }

  func ditConfig(classes: Int) throws -> DiTConfig {
    var c = DiTConfig()
    (c.inChannels, c.outChannels, c.sampleSize, c.patchSize) = (1, learnSigma ? 2 : nil, imageSize, patchSize)
    (c.numLayers, c.numAttentionHeads, c.attentionHeadDim, c.numEmbedsAdaNorm) = (
      numLayers, numAttentionHeads, attentionHeadDim, classes
    )
    do { try c.validate() } catch let e as LoomError {
      throw ValidationError(
        "DiT: \(e.message) (set by --image-size, --patch-size, --num-layers, --num-attention-heads, "
          + "--attention-head-dim)"
      )
    }
    return c
  }

  func validate() throws {
    _ = try training.arguments(defaults: defaults)
    _ = try training.parsedDevice()
    guard ["fashion-mnist", "mnist"].contains(dataset) else {
      throw ValidationError("--dataset must be fashion-mnist or mnist, got '\(dataset)'")
    }
    if architecture == "dit", !classConditional {
      throw ValidationError(
        "--model dit is class-conditional (diffusers' DiTTransformer2DModel embeds a label in every block); "
          + "pass --class-conditional"
      )
    }
    if let dir = training.model, architecture == nil {
      let fm = FileManager.default
      guard fm.fileExists(atPath: dir + "/unet/config.json") || fm.fileExists(atPath: dir + "/transformer/config.json")
      else {
        throw ValidationError(
          "--model must be unet, dit or a pipeline folder written by loom train diffusion (DIR/unet/ or "
            + "DIR/transformer/), got '\(dir)'"
        )
      }
    }
    if let n = trainLimit, n < 1 { throw ValidationError("--train-limit must be at least 1, got \(n)") }
    if testLimit < 0 { throw ValidationError("--test-limit must be >= 0, got \(testLimit)") }
    guard (28...1024).contains(imageSize) else {
      throw ValidationError(
        "--image-size must be in 28...1024 (the 28×28 images are padded, never cropped), got \(imageSize)")
    }
    let f = 1 << max(try parsedChannels().count - 1, 0)
    if architecture == "unet", imageSize % f != 0 {
      throw ValidationError(
        "--image-size \(imageSize) cannot be halved \(try parsedChannels().count - 1) times by this U-Net "
          + "(--block-out-channels \(blockOutChannels)); use a multiple of \(f), e.g. \(imageSize + f - imageSize % f)")
    }
    _ = try schedulerConfig()
    if architecture == "unet" { _ = try unetConfig(classes: classConditional ? 10 : nil) }
    if architecture == "dit" { _ = try ditConfig(classes: 10) }
    guard (0..<1).contains(labelDropout) else {
      throw ValidationError("--label-dropout must be in [0, 1), got \(labelDropout)")
    }
    guard (0...1).contains(emaDecay) else { throw ValidationError("--ema-decay must be in [0, 1], got \(emaDecay)") }
    if emaUpdateAfterStep < 0 { throw ValidationError("--ema-update-after-step must be >= 0") }
    if numSampleImages < 1 || sampleSteps < 1 {
      throw ValidationError("--num-sample-images and --sample-steps must be at least 1")
    }
  }

  func loadImages() throws -> (train: DiffusionImageDataset, test: DiffusionImageDataset?) {
    let mnist = dataset == "mnist"
    let dir = dataDir ?? (mnist ? MNIST.defaultDirectory : FashionMNIST.defaultDirectory)
    func load(_ split: DatasetSplit) throws -> ImageDataset {
      mnist
        ? try ImageDataset.mnist(split: split, directory: dir, layout: .image, target: .classes)
        : try ImageDataset.fashionMNIST(split: split, directory: dir, layout: .image, target: .classes)
    }
    var train = try load(.train)
    if let n = trainLimit { train = train.prefix(n) }
    // Both datasets have ten classes, whatever labels a subset holds.
    let test =
      testLimit > 0
      ? try DiffusionImageDataset(try load(.test).prefix(testLimit), imageSize: imageSize, numClasses: 10) : nil
    return (try DiffusionImageDataset(train, imageSize: imageSize, numClasses: 10), test)
  }

  /// A new U-Net or DiT, or the model in --model DIR (raw weights from model.safetensors when present).
  func makeDenoiser(classes: Int) throws -> any DiffusionDenoiser {
    switch architecture {
    case "unet": return try UNet2DModel(try unetConfig(classes: classConditional ? classes : nil))
    case "dit": return try DiTTransformer2DModel(try ditConfig(classes: classes))
    default: break
    }
    let dir = training.model!
    let model = try DiffusionPipelineFiles.loadDenoiser(directory: dir)
    let raw = dir + "/model.safetensors"
    if FileManager.default.fileExists(atPath: raw) {
      try model.loadStateDict(try SafeTensors.load(raw, as: .float32), source: raw)
    }
    if let unet = model as? UNet2DModel, (unet.config.numClassEmbeds != nil) != classConditional {
      throw LoomError(
        "\(dir)/unet is \(unet.config.numClassEmbeds == nil ? "unconditional" : "class-conditional"); "
          + (classConditional ? "drop --class-conditional" : "pass --class-conditional") + " to continue training it")
    }
    if model is DiTTransformer2DModel, !classConditional {
      throw LoomError("\(dir)/transformer is a DiT, which is class-conditional; pass --class-conditional")
    }
    guard model.sampleSize == [imageSize, imageSize] else {
      throw LoomError(
        "\(dir)/\(model.componentName) was trained at sample_size \(model.sampleSize ?? []); pass --image-size to match"
      )
    }
    return model
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    let args = try training.arguments(defaults: defaults)
    try Trainer.checkOutputDirectory(args)
    let device = try training.useDevice()
    manualSeed(args.seed)
    let (train, test) = try loadImages()
    guard args.perDeviceTrainBatchSize <= train.count else {
      throw LoomError("--batch-size \(args.perDeviceTrainBatchSize) is larger than the \(train.count) training images")
    }
    let model = try makeDenoiser(classes: train.numClasses)
    try fit(model.to(device: device), train: train, test: test, args: args)
  }

  func fit<D: DiffusionDenoiser>(
    _ model: D, train: DiffusionImageDataset, test: DiffusionImageDataset?, args: TrainingArguments
  ) throws {
    let out = args.outputDir
    let scheduler = try DDPMScheduler(config: try schedulerConfig())
    let ema =
      emaDecay > 0
      ? try EMAModel(model, decay: emaDecay, updateAfterStep: emaUpdateAfterStep) : nil
    var evalArgs = args
    if test == nil { evalArgs.evalStrategy = .no }
    let trainer = try DiffusionTrainer(
      denoiser: model, scheduler: scheduler, args: evalArgs, trainDataset: train, evalDataset: test, ema: ema,
      labelDropout: classConditional ? labelDropout : 0,
      pipelineClassName: model is DiTTransformer2DModel ? "DiTPipeline" : "DDPMPipeline")
    print(
      "\(model is DiTTransformer2DModel ? "DiT" : "U-Net"): \(model.parameterCount()) parameters, "
        + "\(imageSize)×\(imageSize), \(predictionType), "
        + (classConditional ? "\(train.numClasses) classes + null label" : "unconditional"))

    let grids = DiffusionSampleGrids(
      directory: out + "/samples", count: numSampleImages, size: imageSize,
      classes: classConditional ? train.numClasses : nil, steps: sampleSteps, scheduler: scheduler.config)
    trainer.addCallback(
      EpochEndCallback { [unowned trainer] state in
        let epoch = Int(state.epoch.rounded(.up))
        let path = try grids.write(trainer.averagedDenoiser(), epoch: epoch)
        print("epoch \(epoch): wrote \(path)")
      })
    let state = try trainer.train()
    try trainer.saveModel(out)
    try DiffusionReports.lossPlot(state.logHistory, to: out + "/loss.png")
    print(
      "wrote \(out)/{model_index.json, scheduler/, \(model.componentName)/ (EMA weights), model.safetensors, "
        + "metrics.jsonl, "
        + "loss.png, samples/}")
  }
}

/// Runs `body` at the end of every epoch (errors end training).
final class EpochEndCallback: TrainerCallback {
  let body: (TrainerState) throws -> Void
  init(_ body: @escaping (TrainerState) throws -> Void) { self.body = body }
  func onEpochEnd(args: TrainingArguments, state: TrainerState, control: inout TrainerControl) {
    do { try body(state) } catch { fatalError("Loom: epoch-end samples: \(error)") }
  }
}
