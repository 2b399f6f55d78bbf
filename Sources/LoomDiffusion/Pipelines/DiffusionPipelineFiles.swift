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
    try data.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(DDIMPipeline.modelIndexName)))
    try scheduler.save(to: (directory as NSString).appendingPathComponent("scheduler"))
    try denoiser.save(to: (directory as NSString).appendingPathComponent(denoiser.componentName))
  }
}
