import Foundation
import LoomCore
import LoomIO
import LoomNN

/// A GAN written by `loom train gan`: `DIR/generator/` and `DIR/discriminator/`, each a
/// config.json (`GANConfig`, `model_type` "gan", `architectures` naming the network) and a
/// model.safetensors.
public enum GANFiles {
  /// The generator folder of `directory` (the run's output directory or the generator folder
  /// itself), or nil when `directory` holds no GAN generator.
  public static func generatorDirectory(_ directory: String) -> String? {
    for candidate in [directory + "/generator", directory] {
      guard let data = FileManager.default.contents(atPath: candidate + "/config.json"),
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
        object["model_type"] as? String == "gan",
        (object["architectures"] as? [String])?.contains("GANGenerator") == true
      else { continue }
      return candidate
    }
    return nil
  }

  /// The generator saved in `directory` (a generator folder), in eval mode; the config is
  /// validated and the weights are loaded strictly, so a file from another shape is an error
  /// naming the tensors.
  public static func loadGenerator(directory: String) throws -> GANGenerator {
    let config = try JSONInput.decode(GANConfig.self, at: directory + "/config.json")
    do { try config.validate() } catch { throw LoomError("\(directory)/config.json: \(error)") }
    let weightsPath = directory + "/model.safetensors"
    guard FileManager.default.fileExists(atPath: weightsPath) else {
      throw LoomError("\(directory) has config.json but no model.safetensors")
    }
    try WeightsSizeCheck.check(
      sizes: config.sizes, estimate: config.generatorParameterEstimate, weights: weightsPath,
      config: directory + "/config.json")
    let generator = GANGenerator(config, generator: Generator(seed: 0))
    try generator.loadStateDict(try SafeTensors.load(weightsPath), strict: true, source: weightsPath)
    generator.eval()
    return generator
  }
}
