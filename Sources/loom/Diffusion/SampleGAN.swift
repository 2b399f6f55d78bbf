import Foundation
import LoomCore
import LoomDiffusion
import LoomIO

/// `loom sample` on a GAN: the generator maps Gaussian latents z [N, latent_dim] (from --seed,
/// or `noise` in --noise) and class labels to images in [-1, 1], written like diffusion samples.
extension SampleCommand {
  func sampleGAN(_ directory: String) throws {
    let diffusionOnly: [(String, Bool)] = [
      ("--scheduler", scheduler != nil), ("--num-inference-steps", numInferenceSteps != nil),
      ("--eta", eta != 0), ("--timestep-spacing", timestepSpacing != nil), ("--guidance-scale", guidanceScale != nil),
    ]
    if let flag = diffusionOnly.first(where: \.1)?.0 {
      throw LoomError("\(flag) applies to diffusion pipelines; \(directory) is a GAN generator (one forward pass)")
    }
    let generator = try GANFiles.loadGenerator(directory: directory)
    let config = generator.config
    var labels = try parsedLabels()
    if labels != nil, config.numClasses == nil {
      throw LoomError("--class-labels given but \(directory) is unconditional (num_classes is null)")
    }
    if let k = config.numClasses, let bad = labels?.first(where: { $0 < 0 || $0 >= k }) {
      throw LoomError("class label \(bad) is out of range 0..<\(k) for \(directory)")
    }
    let z = try latents(latentDim: config.latentDim, labelCount: labels.flatMap { $0.count > 1 ? $0.count : nil })
    let n = z.shape[0]
    if let k = config.numClasses {
      if labels == nil { labels = (0..<n).map { $0 % k } }
      if labels!.count == 1 { labels = Array(repeating: labels![0], count: n) }
      guard labels!.count == n else {
        throw LoomError("\(labels!.count) class labels for \(n) images; give one label per image (or one for all)")
      }
    }
    let labelTensor = labels.map { Tensor($0.map(Int64.init), shape: [n]) }
    let images = noGrad { generator(z, labels: labelTensor) }
    try write(images)
    print("wrote \(n) images \(images.shape) to \(output) (\(config.variant.rawValue) generator)")
  }

  /// `noise` [N, latent_dim] from --noise, or unit Gaussian latents from --seed.
  func latents(latentDim: Int, labelCount: Int?) throws -> Tensor {
    guard let noise else {
      return Tensor.randn([numImages ?? labelCount ?? 8, latentDim], generator: Generator(seed: seed))
    }
    guard FileManager.default.fileExists(atPath: noise) else { throw LoomError("--noise \(noise) does not exist") }
    let file = try SafeTensorsFile(path: noise)
    guard file.names.contains("noise") else {
      throw LoomError("--noise \(noise) has no tensor named `noise` (found: \(file.names.joined(separator: ", ")))")
    }
    let t = try file.tensor("noise").to(.float32)
    let n = numImages ?? labelCount ?? t.shape.first ?? 0
    let flat = t.rank == 2 || (t.rank == 4 && t.shape[2] == 1 && t.shape[3] == 1)
    guard flat, t.shape[0] == n, t.shape[1] == latentDim else {
      throw LoomError("--noise \(noise): `noise` must be [\(n), \(latentDim)] latents for this GAN, found \(t.shape)")
    }
    return t.reshape([n, latentDim])
  }
}
