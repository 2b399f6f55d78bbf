import Foundation
import FuzzSupport
import LoomCore
import LoomDiffusion
import LoomIO

/// One JSON file as a saved GAN's generator/config.json, read the way `loom sample --model DIR`
/// reads it (GANFiles.generatorDirectory, then loadGenerator), beside real weights: the
/// model.safetensors of a tiny class-conditional DCGAN generator, written once at start. A
/// config that does not match the weights must stop with an error before the generator is
/// built (WeightsSizeCheck) or while loading strictly; one that matches samples one image.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let input else { return 0 }
  Scratch.write("generator/config.json", UnsafeRawBufferPointer(start: input, count: size))
  guard let dir = GANFiles.generatorDirectory(Scratch.directory) else { return 0 }
  do {
    let g = try GANFiles.loadGenerator(directory: dir)
    let labels = g.config.numClasses.map { _ in Tensor([Int64(0)]) }
    let image = g(Tensor.zeros([1, g.config.latentDim]), labels: labels)
    if image.shape != [1, g.config.channels, 28, 28] { fatalError("GAN generator sampled shape \(image.shape)") }
  } catch { Scratch.check(error) }
  return 0
}

@main enum Main {
  static func main() {
    let dir = Scratch.directory + "/generator"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    // The seed corpus's gan-dcgan-tiny.json describes exactly these weights.
    let config = GANConfig(variant: .dcgan, latentDim: 4, generatorFeatures: 2, discriminatorFeatures: 2, numClasses: 3)
    do {
      try SafeTensors.save(GANGenerator(config, generator: Generator(seed: 0)).stateDict(), to: dir + "/model.safetensors")
    } catch { fatalError("cannot write the GAN weights: \(error)") }
    runFuzzer(fuzzOne)
  }
}
