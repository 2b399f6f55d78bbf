import Foundation
import LoomCore
import LoomDiffusion
import LoomPlot

/// Per-epoch sample grids of `loom train diffusion`: DDIM (η = 0) from one fixed noise batch, so the
/// grids of successive epochs show the same samples improving; class-conditional grids cycle the labels.
struct DiffusionSampleGrids {
  let directory: String
  let count: Int
  let size: Int
  let classes: Int?
  let steps: Int
  let scheduler: SchedulerConfig
  let noise: Tensor

  init(directory: String, count: Int, size: Int, classes: Int?, steps: Int, scheduler: SchedulerConfig) {
    (self.directory, self.count, self.size, self.classes, self.steps, self.scheduler) = (
      directory, count, size, classes, steps, scheduler
    )
    noise = Tensor.randn([count, 1, size, size], generator: Generator(seed: 1234), device: .cpu)
  }

  /// Samples with `denoiser` and writes samples/epoch-N.png; returns the path.
  func write(_ denoiser: any DiffusionDenoiser, epoch: Int) throws -> String {
    let wasTraining = denoiser.training
    denoiser.eval()
    defer { denoiser.train(wasTraining) }
    let labels = classes.map { k in (0..<count).map { $0 % k } }
    let sampler = DiffusionSampler(denoiser: denoiser, scheduler: try DDIMScheduler(config: scheduler))
    let device = denoiser.parameters().first?.device ?? .cpu
    let x = try sampler(noise: noise.to(device: device), numInferenceSteps: steps, classLabels: labels)
    let pixels = (x / 2 + 0.5).clamp(min: 0, max: 1).toArray(Float.self)
    let per = size * size
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + String(format: "/epoch-%03d.png", epoch)
    let columns = classes ?? Int(Double(count).squareRoot().rounded(.up))
    try ImageGrid(
      images: (0..<count).map { Array(pixels[($0 * per)..<(($0 + 1) * per)]) }, imageWidth: size, imageHeight: size,
      columns: min(columns, count), title: "Epoch \(epoch): DDIM \(steps) steps from fixed noise"
    ).write(to: path)
    return path
  }
}

enum DiffusionReports {
  /// The training (and evaluation) MSE against the step.
  static func lossPlot(_ history: [[String: Double]], to path: String) throws {
    var trainX: [Double] = []
    var trainY: [Double] = []
    var evalX: [Double] = []
    var evalY: [Double] = []
    for r in history {
      guard let step = r["step"] else { continue }
      if let l = r["loss"] { (trainX, trainY) = (trainX + [step], trainY + [l]) }
      if let l = r["eval_loss"] { (evalX, evalY) = (evalX + [step], evalY + [l]) }
    }
    guard !trainX.isEmpty else { return }
    var plot = LinePlot(title: "Diffusion training loss", xLabel: "step", yLabel: "MSE")
    plot.add("train", x: trainX, y: trainY)
    if !evalX.isEmpty { plot.add("eval", x: evalX, y: evalY, markers: true) }
    _ = try plot.write(to: path)
  }
}
