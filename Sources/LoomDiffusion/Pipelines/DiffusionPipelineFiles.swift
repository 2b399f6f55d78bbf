import Foundation
import LoomCore

/// Writes diffusers' pipeline folder for any denoiser: model_index.json naming the scheduler and the
/// denoiser component, scheduler/scheduler_config.json and the component's config + weights.
public enum DiffusionPipelineFiles {
  public static func save(
    pipelineClassName: String, denoiser: any DiffusionDenoiser, scheduler: any DiffusionScheduler,
    to directory: String
  ) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let index: [String: Any] = [
      "_class_name": pipelineClassName, "_diffusers_version": SchedulerConfig.diffusersVersion,
      "scheduler": ["diffusers", type(of: scheduler).className],
      denoiser.componentName: ["diffusers", denoiser.diffusersClassName],
    ]
    let data = try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys])
    try data.write(
      to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(DDIMPipeline.modelIndexName)))
    try scheduler.save(to: (directory as NSString).appendingPathComponent("scheduler"))
    try denoiser.save(to: (directory as NSString).appendingPathComponent(denoiser.componentName))
  }
}

extension DiffusionPipelineFiles {
  /// The denoiser of a pipeline folder: `transformer/` (DiTTransformer2DModel, DiTPipeline's layout) or
  /// `unet/` (UNet2DModel, DDPMPipeline / DDIMPipeline), as model_index.json names it.
  public static func loadDenoiser(directory: String) throws -> any DiffusionDenoiser {
    let index = (directory as NSString).appendingPathComponent(DDIMPipeline.modelIndexName)
    guard let data = FileManager.default.contents(atPath: index) else {
      throw LoomError(
        "no \(DDIMPipeline.modelIndexName) in \(directory); a diffusers pipeline folder names its components there")
    }
    guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw LoomError("\(index) is not a JSON object")
    }
    guard json["transformer"] != nil else { return try DDIMPipeline.from(directory: directory).unet }
    for component in ["transformer", "scheduler"] {
      let dir = (directory as NSString).appendingPathComponent(component)
      guard FileManager.default.fileExists(atPath: dir) else {
        throw LoomError("missing pipeline component folder \(dir) (named in \(DDIMPipeline.modelIndexName))")
      }
    }
    return try DiTTransformer2DModel.from(directory: (directory as NSString).appendingPathComponent("transformer"))
  }
}
