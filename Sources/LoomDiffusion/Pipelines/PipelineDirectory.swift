import Foundation
import LoomCore

/// diffusers' pipeline folder: model_index.json naming the components, one sub-folder each
/// (scheduler/scheduler_config.json, unet/config.json + diffusion_pytorch_model.safetensors).
extension DDIMPipeline {
  public static let modelIndexName = "model_index.json"

  /// Loads a DDPMPipeline / DDIMPipeline folder; the scheduler becomes a DDIMScheduler with the
  /// same config, as diffusers' DDIMPipeline does.
  public static func from(directory: String) throws -> DDIMPipeline {
    let index = (directory as NSString).appendingPathComponent(modelIndexName)
    guard let data = FileManager.default.contents(atPath: index) else {
      throw LoomError("no \(modelIndexName) in \(directory); a diffusers pipeline folder names its components there")
    }
    guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw LoomError("\(index) is not a JSON object")
    }
    for component in ["unet", "scheduler"] where json[component] == nil {
      throw LoomError("\(index) has no \(component) component; a DDIM / DDPM pipeline needs unet and scheduler")
    }
    let schedulerDir = (directory as NSString).appendingPathComponent("scheduler")
    let unetDir = (directory as NSString).appendingPathComponent("unet")
    for dir in [schedulerDir, unetDir] where !FileManager.default.fileExists(atPath: dir) {
      throw LoomError("missing pipeline component folder \(dir) (named in \(modelIndexName))")
    }
    let (_, config) = try SchedulerConfig.load(schedulerDir)
    return DDIMPipeline(unet: try UNet2DModel.from(directory: unetDir), scheduler: try DDIMScheduler(config: config))
  }

  /// Writes model_index.json, scheduler/ and unet/ so `DDIMPipeline.from_pretrained` loads it.
  public func save(to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let index: [String: Any] = [
      "_class_name": "DDIMPipeline", "_diffusers_version": SchedulerConfig.diffusersVersion,
      "scheduler": ["diffusers", DDIMScheduler.className], "unet": ["diffusers", UNet2DConfig.className],
    ]
    let data = try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys])
    try data.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(Self.modelIndexName)))
    try scheduler.save(to: (directory as NSString).appendingPathComponent("scheduler"))
    try unet.save(to: (directory as NSString).appendingPathComponent("unet"))
  }
}
