import Foundation
import LoomCore
import LoomIO
import LoomNN
import LoomTrain
import XCTest

@testable import LoomDiffusion

/// DiffusionTrainer's data, label dropout, EMA wiring and saved folder on a tiny U-Net (no files needed).
final class DiffusionTrainerTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  /// `n` 4×4 images with pixel value (i + 1)/10 and labels i % 3.
  func images(_ n: Int) throws -> ImageDataset {
    try ImageDataset(
      pixels: (0..<n).flatMap { i in Array(repeating: Float(i + 1) / 10, count: 16) },
      classLabels: (0..<n).map { $0 % 3 }, height: 4, width: 4, layout: .image, target: .classes)
  }

  func tinyUNet(classes: Int?) throws -> UNet2DModel {
    var c = UNet2DConfig()
    (c.inChannels, c.outChannels, c.sampleSize) = (1, 1, [8, 8])
    (c.blockOutChannels, c.layersPerBlock, c.normNumGroups, c.attentionHeadDim) = ([8, 8], 1, 4, 8)
    c.downBlockTypes = ["DownBlock2D", "AttnDownBlock2D"]
    c.upBlockTypes = ["AttnUpBlock2D", "UpBlock2D"]
    c.numClassEmbeds = classes.map { $0 + 1 }
    return try UNet2DModel(c, generator: Generator(seed: 3))
  }

  func testImagesAreScaledAndPaddedWithBackground() throws {
    let data = try DiffusionImageDataset(try images(2), imageSize: 8)
    XCTAssertEqual(data.numClasses, 2)
    let batch = data.batch([1, 0])
    let px = try XCTUnwrap(batch[Batch.Key.pixelValues])
    XCTAssertEqual(px.shape, [2, 1, 8, 8])
    let v = px.toArray(Float.self)
    XCTAssertEqual(v[0], -1)  // padding
    XCTAssertEqual(v[2 * 8 + 2], 0.2 * 2 - 1, accuracy: 1e-6)  // image 1's first pixel, centred at (2, 2)
    XCTAssertEqual(v[64 + 5 * 8 + 5], 0.1 * 2 - 1, accuracy: 1e-6)
    XCTAssertEqual(v[64 + 6 * 8 + 6], -1)
    XCTAssertEqual(batch[DiffusionImageDataset.classLabelsKey]?.toArray(Int64.self), [1, 0])
    XCTAssertThrowsError(try DiffusionImageDataset(try images(2), imageSize: 3)) {
      XCTAssertTrue("\($0)".contains("smaller than the 4×4 images"), "\($0)")
    }
    XCTAssertThrowsError(try DiffusionImageDataset(try images(4), imageSize: 8, numClasses: 2)) {
      XCTAssertTrue("\($0)".contains("class label 2 is out of range 0..<2"), "\($0)")
    }
  }

  func trainer(classes: Int?, dropout: Double, steps: Int, ema: Bool, dir: String) throws
    -> DiffusionTrainer<UNet2DModel>
  {
    var args = TrainingArguments(outputDir: dir)
    (args.maxSteps, args.perDeviceTrainBatchSize, args.learningRate, args.loggingSteps) = (steps, 4, 1e-3, 1)
    args.saveStrategy = .no
    let unet = try tinyUNet(classes: classes)
    var config = SchedulerConfig()
    config.numTrainTimesteps = 100
    return try DiffusionTrainer(
      denoiser: unet, scheduler: try DDPMScheduler(config: config), args: args,
      trainDataset: try DiffusionImageDataset(try images(8), imageSize: 8, numClasses: 3),
      ema: ema ? try EMAModel(unet, decay: 0.9) : nil, labelDropout: dropout, pipelineClassName: "DDPMPipeline")
  }

  func temporaryDirectory() -> String {
    let dir = NSTemporaryDirectory() + "loom-diffusion-trainer-\(UUID().uuidString)"
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
  }

  func testLabelDropoutUsesTheNullLabelAndRangeIsChecked() throws {
    let t = try trainer(classes: 3, dropout: 0.3, steps: 1, ema: false, dir: temporaryDirectory())
    XCTAssertEqual(t.nullClassLabel, 3)
    let given = (0..<2000).map { Int64($0 % 3) }
    let batch = Batch([DiffusionImageDataset.classLabelsKey: Tensor(given)])
    let labels = try XCTUnwrap(try t.classLabels(batch, count: 2000)).toArray(Int64.self)
    let dropped = zip(labels, given).filter { $0.0 != $0.1 }
    XCTAssertTrue(dropped.allSatisfy { $0.0 == 3 }, "a changed label is always the null label")
    XCTAssertEqual(Double(dropped.count) / 2000, 0.3, accuracy: 0.04)
    let bad = Batch([DiffusionImageDataset.classLabelsKey: Tensor([Int64(0), 3])])
    XCTAssertThrowsError(try t.classLabels(bad, count: 2)) {
      XCTAssertTrue("\($0)".contains("class label 3 is out of range 0..<3"), "\($0)")
    }
    let plain = try trainer(classes: nil, dropout: 0.1, steps: 1, ema: false, dir: temporaryDirectory())
    XCTAssertNil(try plain.classLabels(batch, count: 2000))
  }

  func testTrainingStepsUpdateTheEMAAndSaveAPipelineFolder() throws {
    let dir = temporaryDirectory()
    manualSeed(0)
    let t = try trainer(classes: 3, dropout: 0.1, steps: 3, ema: true, dir: dir)
    let before = t.denoiser.convIn.weight.toArray(Float.self)
    let state = try t.train()
    XCTAssertEqual(state.globalStep, 3)
    XCTAssertEqual(t.ema?.optimizationStep, 3)
    let losses = state.logHistory.compactMap { $0["loss"] }
    XCTAssertEqual(losses.count, 3)
    XCTAssertTrue(losses.allSatisfy { $0.isFinite && $0 > 0 }, "\(losses)")
    XCTAssertNotEqual(t.denoiser.convIn.weight.toArray(Float.self), before)
    // Decays 0, 2/11, 3/12: the average after step 3 from the weights after each step differs from the last.
    let averaged = try t.averagedDenoiser()
    XCTAssertNotEqual(averaged.convIn.weight.toArray(Float.self), t.denoiser.convIn.weight.toArray(Float.self))
    try t.saveModel(dir + "/final")
    let index =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/final/model_index.json")))
      as? [String: Any]
    XCTAssertEqual(index?["_class_name"] as? String, "DDPMPipeline")
    XCTAssertEqual(index?["unet"] as? [String], ["diffusers", "UNet2DModel"])
    XCTAssertEqual(index?["scheduler"] as? [String], ["diffusers", "DDPMScheduler"])
    let loaded = try DDIMPipeline.from(directory: dir + "/final")
    XCTAssertEqual(loaded.unet.config.numClassEmbeds, 4)
    XCTAssertEqual(loaded.unet.convIn.weight.toArray(Float.self), averaged.convIn.weight.toArray(Float.self))
    XCTAssertEqual(loaded.scheduler.config.numTrainTimesteps, 100)
    let raw = try SafeTensors.load(dir + "/final/model.safetensors")
    XCTAssertEqual(raw["conv_in.weight"]?.toArray(Float.self), t.denoiser.convIn.weight.toArray(Float.self))
  }

  func testResumingContinuesTheLossesAndTheEMA() throws {
    func run(_ dir: String, resume: String?) throws -> (losses: [Double], ema: [Float], steps: Int) {
      manualSeed(0)
      var args = TrainingArguments(outputDir: dir)
      (args.maxSteps, args.perDeviceTrainBatchSize, args.learningRate, args.loggingSteps) = (4, 4, 1e-3, 1)
      (args.saveStrategy, args.saveSteps, args.resumeFromCheckpoint, args.overwriteOutputDir) = (
        .steps, 2, resume, true
      )
      let unet = try tinyUNet(classes: 3)
      var config = SchedulerConfig()
      config.numTrainTimesteps = 100
      let t = try DiffusionTrainer(
        denoiser: unet, scheduler: try DDPMScheduler(config: config), args: args,
        trainDataset: try DiffusionImageDataset(try images(8), imageSize: 8, numClasses: 3),
        ema: try EMAModel(unet, decay: 0.9), pipelineClassName: "DDPMPipeline")
      let state = try t.train()
      return (
        state.logHistory.compactMap { $0["loss"] }, t.ema!.stateDict["conv_in.weight"]!.toArray(Float.self),
        t.ema!.optimizationStep
      )
    }
    let whole = try run(temporaryDirectory(), resume: nil)
    let dir = temporaryDirectory()
    _ = try run(dir, resume: nil)
    let resumed = try run(dir, resume: dir + "/checkpoint-2")
    XCTAssertEqual(resumed.losses, whole.losses)
    XCTAssertEqual(resumed.steps, 4)
    let worst = zip(resumed.ema, whole.ema).map { abs($0 - $1) }.max()!
    XCTAssertLessThanOrEqual(worst, 1e-6, "EMA after resuming from checkpoint-2")
  }

  func testSampleTypePredictionIsRejected() throws {
    var config = SchedulerConfig()
    config.predictionType = .sample
    let unet = try tinyUNet(classes: nil)
    XCTAssertThrowsError(
      try DiffusionTrainer(
        denoiser: unet, scheduler: try DDPMScheduler(config: config),
        args: TrainingArguments(outputDir: temporaryDirectory()),
        trainDataset: try DiffusionImageDataset(try images(2), imageSize: 8), pipelineClassName: "DDPMPipeline")
    ) { XCTAssertTrue("\($0)".contains("use epsilon or v_prediction"), "\($0)") }
  }
}
