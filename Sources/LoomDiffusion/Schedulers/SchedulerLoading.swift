import LoomCore

/// Loads the scheduler a diffusers folder (or scheduler_config.json) names by `_class_name`.
public func loadScheduler(_ path: String) throws -> any DiffusionScheduler {
  let (name, config) = try SchedulerConfig.load(path)
  switch name ?? "" {
  case DDPMScheduler.className: return try DDPMScheduler(config: config)
  case DDIMScheduler.className: return try DDIMScheduler(config: config)
  default:
    throw LoomError(
      "\(path): scheduler _class_name \(name ?? "(missing)") is not supported; Loom reads DDPMScheduler and "
        + "DDIMScheduler configs")
  }
}
