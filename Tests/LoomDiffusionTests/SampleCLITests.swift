import Foundation
import LoomCore
import LoomIO
import LoomTestSupport
import XCTest

/// `loom sample` on diffusers pipeline folders assembled from the committed tiny U-Nets and the
/// scheduler config diffusers' DDIMPipeline ran with (scripts/fixtures/make_unet2d_fixtures.py).
final class SampleCLITests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-sample-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }


  /// model_index.json + scheduler/ + unet/ as diffusers' `save_pretrained` lays them out.
  func pipeline(unet: String) throws -> String {
    let fixtures = UNet2DParityTests.fixtures
    let path = dir + "/pipe-" + unet
    let fm = FileManager.default
    try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
    try fm.copyItem(atPath: fixtures + "/ddim-pipeline-scheduler", toPath: path + "/scheduler")
    try fm.copyItem(atPath: fixtures + "/" + unet, toPath: path + "/unet")
    let index = """
      {"_class_name": "DDIMPipeline", "_diffusers_version": "0.42.1",
       "scheduler": ["diffusers", "DDIMScheduler"], "unet": ["diffusers", "UNet2DModel"]}
      """
    try Data(index.utf8).write(to: URL(fileURLWithPath: path + "/model_index.json"))
    return path
  }

  func noiseFile(_ noise: Tensor) throws -> String {
    let path = dir + "/noise-\(UUID().uuidString).safetensors"
    try SafeTensors.save(["noise": noise], to: path)
    return path
  }

  func testDDIMFromNoiseReproducesDiffusersPipeline() throws {
    let pipe = try pipeline(unet: "unet2d-tiny")
    let noise = try noiseFile(try UNet2DParityTests.expected.tensor("ddim.noise"))
    let out = dir + "/out.safetensors"
    let r = try loom([
      "sample", "--model", pipe, "--scheduler", "ddim", "--num-inference-steps", "10", "--noise",
      noise, "--output", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    let images = try XCTUnwrap(try SafeTensors.load(out)["images"])
    XCTAssertEqual(images.shape, [2, 3, 16, 16])
    // The file keeps the model's range [-1, 1]; diffusers' output is (x / 2 + 0.5).clamp(0, 1).
    let raw = images.toArray(Float.self)
    XCTAssertLessThan(raw.min()!, -0.05)
    let expected = try UNet2DParityTests.expected.tensor("ddim.images").toArray(Float.self)
    let worst = zip(raw, expected).map { abs(min(max($0 / 2 + 0.5, 0), 1) - $1) }.max()!
    XCTAssertLessThanOrEqual(
      worst, 1e-4, "loom sample vs diffusers DDIMPipeline: max abs error \(worst)")
  }

  func testPNGGridAndGuidedDDPMSampling() throws {
    let png = dir + "/grid.png"
    let r = try loom([
      "sample", "--model", try pipeline(unet: "unet2d-tiny"), "--num-images", "3",
      "--num-inference-steps", "2",
      "--seed", "1", "--output", png,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    // 3 images of 16×16 at scale 3 in a 2×2 grid: 10 + 2·48 + 4 + 10 pixels each way.
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: png)))
    XCTAssertEqual(Array(bytes[1..<4]), Array("PNG".utf8))
    func be32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
    XCTAssertEqual(be32(16), 120)
    XCTAssertEqual(be32(20), 120)

    // Class-conditional DDPM: same seed → same images; guidance changes them.
    let cls = try pipeline(unet: "unet2d-tiny-cls")
    func ddpm(_ extra: [String], _ name: String) throws -> [Float] {
      let out = dir + "/" + name + ".safetensors"
      let r = try loom(
        [
          "sample", "--model", cls, "--scheduler", "ddpm", "--num-inference-steps", "3",
          "--class-labels", "0,3",
          "--seed", "5", "--output", out,
        ] + extra)
      XCTAssertEqual(r.status, 0, r.err)
      let images = try XCTUnwrap(try SafeTensors.load(out)["images"])
      XCTAssertEqual(images.shape, [2, 3, 16, 16])
      return images.toArray(Float.self)
    }
    let plain = try ddpm([], "plain")
    XCTAssertEqual(try ddpm([], "again"), plain)
    XCTAssertTrue(plain.allSatisfy(\.isFinite))
    let guided = try ddpm(["--guidance-scale", "3"], "guided")
    XCTAssertGreaterThan(zip(plain, guided).map { abs($0 - $1) }.max()!, 1e-3)
  }

  func testBadInputsAreClearErrorsBeforeSampling() throws {
    let pipe = try pipeline(unet: "unet2d-tiny")
    let cls = try pipeline(unet: "unet2d-tiny-cls")
    let out = dir + "/never.safetensors"
    func failure(_ args: [String]) throws -> String {
      let r = try loom(["sample"] + args + ["--output", out])
      XCTAssertNotEqual(r.status, 0, "expected a failure for \(args)")
      XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(args) wrote output")
      return r.err
    }
    var err = try failure(["--model", pipe, "--guidance-scale", "2"])
    XCTAssertTrue(err.contains("--guidance-scale 2.0 needs a class-conditional model"), err)
    err = try failure(["--model", cls, "--class-labels", "1,7"])
    XCTAssertTrue(err.contains("class label 7 is out of range 0..<5"), err)
    err = try failure(["--model", cls, "--class-labels", "4", "--guidance-scale", "2"])
    XCTAssertTrue(err.contains("class label 4 is out of range 0..<4"), err)
    let badNoise = try noiseFile(Tensor.zeros([2, 1, 16, 16]))
    err = try failure(["--model", pipe, "--noise", badNoise])
    XCTAssertTrue(
      err.contains("must be [2, 3, 16, 16]") && err.contains("found [2, 1, 16, 16]"), err)
    err = try failure(["--model", pipe, "--scheduler", "euler"])
    XCTAssertTrue(err.contains("--scheduler must be ddpm or ddim"), err)
    try FileManager.default.removeItem(atPath: pipe + "/unet")
    err = try failure(["--model", pipe])
    XCTAssertTrue(err.contains("missing pipeline component folder"), err)
  }
}
