import Foundation
import LoomCore
import LoomIO
import LoomNN
import XCTest

@testable import LoomDiffusion

/// A config.json beside real weights that asks for a larger model is refused before the model
/// is built (issue 13): DiT, UNet2D and a saved GAN generator. Before the check, each of these
/// configs built its model first (tens of millions of parameters here, without bound in
/// general) and then failed on the tensors.
final class ConfigWeightsCheckTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  func scratch(_ name: String) throws -> String {
    let dir = NSTemporaryDirectory() + "loom-config-weights-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
  }

  /// Rewrites one key of `dir`/config.json.
  func edit(_ dir: String, _ key: String, _ value: Any) throws {
    let path = dir + "/config.json"
    var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    json[key] = value
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
  }

  func message(_ body: () throws -> Any) -> String {
    do {
      _ = try body()
      return "no error"
    } catch { return "\(error)" }
  }

  func testDiTConfigLargerThanItsWeightsIsRefused() throws {
    var c = DiTConfig()
    (c.numAttentionHeads, c.attentionHeadDim, c.inChannels, c.numLayers, c.sampleSize, c.numEmbedsAdaNorm) = (
      2, 8, 1, 1, 8, 10
    )
    let dir = try scratch("dit")
    try DiTTransformer2DModel(c, generator: Generator(seed: 1)).save(to: dir)
    XCTAssertNoThrow(try DiTTransformer2DModel.from(directory: dir))
    try edit(dir, "num_layers", 2_000)
    let many = message { try DiTTransformer2DModel.from(directory: dir) }
    XCTAssertTrue(many.contains("\(dir)/config.json describes a model of about"), many)
    XCTAssertTrue(many.contains("num_layers 2000"), many)
    try edit(dir, "num_layers", 1)
    try edit(dir, "num_embeds_ada_norm", 100_000)
    let wide = message { try DiTTransformer2DModel.from(directory: dir) }
    XCTAssertTrue(wide.contains("num_embeds_ada_norm = 100000, but no tensor of the weights has a dimension that large"), wide)
  }

  func testUNetConfigLargerThanItsWeightsIsRefused() throws {
    var c = UNet2DConfig()
    (c.inChannels, c.outChannels, c.sampleSize) = (1, 1, [8, 8])
    (c.blockOutChannels, c.layersPerBlock, c.normNumGroups, c.attentionHeadDim) = ([8, 8], 1, 4, 8)
    c.downBlockTypes = ["DownBlock2D", "AttnDownBlock2D"]
    c.upBlockTypes = ["AttnUpBlock2D", "UpBlock2D"]
    let dir = try scratch("unet")
    try UNet2DModel(c, generator: Generator(seed: 3)).save(to: dir)
    XCTAssertNoThrow(try UNet2DModel.from(directory: dir))
    // Each size alone stays under the field check's floor (4096); together they describe ~40 M parameters.
    try edit(dir, "block_out_channels", [8, 800])
    let big = message { try UNet2DModel.from(directory: dir) }
    XCTAssertTrue(big.contains("describes a model of about"), big)
    XCTAssertTrue(big.contains("block_out_channels[1] 800"), big)
  }

  func testSavedGANGeneratorConfigLargerThanItsWeightsIsRefused() throws {
    let config = GANConfig(variant: .dcgan, latentDim: 8, generatorFeatures: 2, discriminatorFeatures: 2)
    let dir = try scratch("gan")
    var json = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any])
    json["model_type"] = "gan"
    json["architectures"] = ["GANGenerator"]
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: dir + "/config.json"))
    try SafeTensors.save(GANGenerator(config, generator: Generator(seed: 0)).stateDict(), to: dir + "/model.safetensors")
    XCTAssertEqual(GANFiles.generatorDirectory(dir), dir)
    XCTAssertNoThrow(try GANFiles.loadGenerator(directory: dir))
    try edit(dir, "generator_features", 400)
    let big = message { try GANFiles.loadGenerator(directory: dir) }
    XCTAssertTrue(big.contains("\(dir)/config.json describes a model of about"), big)
    XCTAssertTrue(big.contains("generator_features 400"), big)
  }
}
