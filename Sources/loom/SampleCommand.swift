import ArgumentParser
import Foundation
import LoomCore
import LoomDiffusion
import LoomIO
import LoomPlot

/// `loom sample`: images from a diffusers pipeline folder (model_index.json, scheduler/, unet/ or a DiT's
/// transformer/) with a
/// DDPM or DDIM scheduler built from the saved scheduler_config.json (diffusers' `from_config`), or
/// from a GAN that `loom train gan` saved (its generator on Gaussian latents).
struct SampleCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sample",
    abstract:
      "Sample images from a diffusion pipeline folder (diffusers layout) into a PNG grid or a safetensors file."
  )

  @Option(
    help:
      "Pipeline directory: model_index.json, scheduler/scheduler_config.json, unet/ or transformer/ (DiT); or a loom train gan output directory (generator/).")
  var model: String
  @Option(
    help:
      "ddpm or ddim (default: the saved scheduler's class), built from the saved scheduler config.")
  var scheduler: String?
  @Option(help: "Denoising steps (default 50 for DDIM, 1000 for DDPM).") var numInferenceSteps: Int?
  @Option(help: "DDIM η: 0 is deterministic, 1 is DDPM-like (default 0).") var eta: Double = 0
  @Option(help: "leading, trailing, linspace, linear or quadratic (default: the saved config's).")
  var timestepSpacing: String?
  @Option(
    help:
      "Classifier-free guidance scale for a class-conditional model (> 1 mixes in the null label: the last class-embedding row, which loom train diffusion --class-conditional trains)."
  ) var guidanceScale: Double?
  @Option(help: "Comma-separated class labels, one per image (or one for all).") var classLabels:
    String?
  @Option(
    help: "Images to sample (default: the noise file's batch, else the labels' count, else 8).")
  var numImages: Int?
  @Option(help: "Seed for the initial noise and the sampling noise.") var seed: UInt64 = 0
  @Option(help: "safetensors file whose tensor `noise` [N, C, H, W] is the initial latents.")
  var noise: String?
  @Option(
    help:
      "FILE.png (a grid) or FILE.safetensors (`images` [N, C, H, W] in the model's value range).")
  var output: String

  func validate() throws {
    if let scheduler, !["ddpm", "ddim"].contains(scheduler) {
      throw ValidationError("--scheduler must be ddpm or ddim, got '\(scheduler)'")
    }
    if let s = numInferenceSteps, s < 1 {
      throw ValidationError("--num-inference-steps must be at least 1, got \(s)")
    }
    if eta < 0 { throw ValidationError("--eta must be >= 0, got \(eta)") }
    if eta > 0, scheduler == "ddpm" {
      throw ValidationError("--eta applies to the DDIM scheduler only")
    }
    if let t = timestepSpacing, TimestepSpacing(rawValue: t) == nil {
      throw ValidationError(
        "--timestep-spacing must be one of \(TimestepSpacing.allCases.map(\.rawValue).joined(separator: ", ")), got '\(t)'"
      )
    }
    if let g = guidanceScale, g < 1 {
      throw ValidationError("--guidance-scale must be >= 1, got \(g)")
    }
    if let n = numImages, n < 1 {
      throw ValidationError("--num-images must be at least 1, got \(n)")
    }
    _ = try parsedLabels()
    let ext = (output as NSString).pathExtension.lowercased()
    if ext != "png" && ext != "safetensors" {
      throw ValidationError("--output must end in .png or .safetensors, got '\(output)'")
    }
  }

  func parsedLabels() throws -> [Int]? {
    guard let classLabels else { return nil }
    let parts = classLabels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let labels = parts.compactMap { Int($0) }
    guard !parts.isEmpty, labels.count == parts.count else {
      throw ValidationError(
        "--class-labels must be comma-separated integers like 0,3,7, got '\(classLabels)'")
    }
    return labels
  }

  func run() throws {
    if let generatorDirectory = GANFiles.generatorDirectory(model) {
      try sampleGAN(generatorDirectory)
      return
    }
    let denoiser = try DiffusionPipelineFiles.loadDenoiser(directory: model)
    let component = "\(model)/\(denoiser.componentName)"
    let (savedClass, savedConfig) = try SchedulerConfig.load(
      (model as NSString).appendingPathComponent("scheduler"))
    var config = savedConfig
    if let t = timestepSpacing { config.timestepSpacing = TimestepSpacing(rawValue: t)! }
    let kind = scheduler ?? (savedClass == DDPMScheduler.className ? "ddpm" : "ddim")
    if eta > 0, kind == "ddpm" {
      throw LoomError(
        "--eta applies to DDIM only; \(model) saves a DDPMScheduler (pass --scheduler ddim)")
    }
    let sched: any DiffusionScheduler
    if kind == "ddpm" { sched = try DDPMScheduler(config: config) } else { sched = try DDIMScheduler(config: config) }

    // Every input is checked before sampling starts.
    let k = denoiser.classEmbeddingRows
    if let g = guidanceScale, k == nil {
      throw LoomError(
        "--guidance-scale \(g) needs a class-conditional model; \(component) has no class embedding (num_class_embeds is null)"
      )
    }
    var labels = try parsedLabels()
    if labels != nil, k == nil {
      throw LoomError(
        "--class-labels given but \(component) is unconditional (num_class_embeds is null)")
    }
    let guided = (guidanceScale ?? 1) > 1
    if let k {
      // Under guidance the last embedding is the null label, so real classes are 0..<k−1.
      let classes = guided ? k - 1 : k
      if let bad = labels?.first(where: { $0 < 0 || $0 >= classes }) {
        throw LoomError(
          "class label \(bad) is out of range 0..<\(classes) for \(component) (\(k) class-embedding rows"
            + (guided ? ", the last one being the null label for guidance)" : ")"))
      }
    }
    // One label applies to every image; several set the batch size.
    let initial = try initialNoise(
      channels: denoiser.inChannels, sampleSize: denoiser.sampleSize, labelCount: labels.flatMap { $0.count > 1 ? $0.count : nil })
    let n = initial.shape[0]
    if let k {
      let classes = guided ? k - 1 : k
      if labels == nil { labels = (0..<n).map { $0 % max(classes, 1) } }
      if labels!.count == 1 { labels = Array(repeating: labels![0], count: n) }
      guard labels!.count == n else {
        throw LoomError(
          "\(labels!.count) class labels for \(n) images; give one label per image (or one for all)"
        )
      }
    }

    let steps = numInferenceSteps ?? (kind == "ddpm" ? 1000 : 50)
    let generator = Generator(seed: seed &+ 1)
    let images = try DiffusionSampler(denoiser: denoiser, scheduler: sched)(
      noise: initial, numInferenceSteps: steps, eta: eta, classLabels: labels,
      guidanceScale: guidanceScale ?? 1,
      generator: generator)
    try write(images)
    print(
      "wrote \(n) images \(images.shape) to \(output) (\(kind), \(sched.timesteps.count) steps)")
  }

  /// The `noise` tensor of --noise, or unit Gaussian noise of the model's sample size from --seed.
  func initialNoise(channels: Int, sampleSize: [Int]?, labelCount: Int?) throws -> Tensor {
    if let noise {
      guard FileManager.default.fileExists(atPath: noise) else {
        throw LoomError("--noise \(noise) does not exist")
      }
      let file = try SafeTensorsFile(path: noise)
      guard file.names.contains("noise") else {
        throw LoomError(
          "--noise \(noise) has no tensor named `noise` (found: \(file.names.joined(separator: ", ")))"
        )
      }
      let t = try file.tensor("noise").to(.float32)
      let n = numImages ?? labelCount ?? t.shape.first ?? 0
      let hw = sampleSize.map { "\($0[0]), \($0[1])" } ?? "H, W"
      guard t.rank == 4, t.shape[0] == n, t.shape[1] == channels,
        sampleSize.map({ [t.shape[2], t.shape[3]] == $0 }) ?? true
      else {
        throw LoomError(
          "--noise \(noise): `noise` must be [\(n), \(channels), \(hw)] for this model, found \(t.shape)"
        )
      }
      return t
    }
    guard let size = sampleSize else {
      throw LoomError(
        "\(model)/unet/config.json has no sample_size; pass --noise FILE.safetensors to set the image size"
      )
    }
    let n = numImages ?? labelCount ?? 8
    return Tensor.randn([n, channels, size[0], size[1]], generator: Generator(seed: seed))
  }

  func write(_ images: Tensor) throws {
    if (output as NSString).pathExtension.lowercased() == "safetensors" {
      try SafeTensors.save(["images": images.contiguous()], to: output)
      return
    }
    // diffusers' postprocessing: [-1, 1] → [0, 1].
    let pixels = (images / 2 + 0.5).clamp(min: 0, max: 1)
    let (n, ch, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
    let flat = pixels.toArray(Float.self)
    let per = ch * h * w
    let list = (0..<n).map { Array(flat[($0 * per)..<(($0 + 1) * per)]) }
    let columns = min(n, Int(Double(n).squareRoot().rounded(.up)))
    guard ch == 1 || ch == 3 else {
      throw LoomError(
        "a PNG grid needs 1 or 3 channels, the model makes \(ch); write .safetensors instead")
    }
    try ImageGrid(
      images: list, imageWidth: w, imageHeight: h, channels: ch == 1 ? .gray : .rgb(planar: true),
      columns: columns
    ).write(to: output)
  }
}
