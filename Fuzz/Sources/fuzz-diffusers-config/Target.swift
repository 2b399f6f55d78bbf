import Foundation
import FuzzSupport
import LoomCore
import LoomDiffusion

/// One JSON file through diffusers' config readers as `loom sample` calls them: as
/// scheduler_config.json (loadScheduler, a round trip, then DDPM's and DDIM's timesteps and one step
/// on a 1×1×1×1 sample for every spacing, as `--scheduler` / `--timestep-spacing` override it), as a
/// U-Net config.json, as a DiT (DiTTransformer2DModel) config.json and as a pipeline's model_index.json with the
/// same bytes in scheduler/, unet/ and transformer/ (loadDenoiser picks unet/ or transformer/ by model_index.json, as
/// `loom sample` does). No weights file is written, so UNet2DModel.from and DiTTransformer2DModel.from must stop with
/// an error before allocating a model.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let input else { return 0 }
  let bytes = UnsafeRawBufferPointer(start: input, count: size)
  for name in ["model_index.json", "scheduler/scheduler_config.json", "unet/config.json", "transformer/config.json"] {
    Scratch.write(name, bytes)
  }
  let dir = Scratch.directory
  do { try schedulers(dir + "/scheduler") } catch { Scratch.check(error) }
  do {
    if let json = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] {
      let config = try UNet2DConfig(json: json)
      let again = try UNet2DConfig(json: config.json)
      if again != config { fatalError("UNet2DModel config does not round-trip: \(config) → \(again)") }
    }
  } catch { Scratch.check(error) }
  do {
    if let json = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] {
      let config = try DiTConfig(json: json)
      let again = try DiTConfig(json: config.json)
      if again != config { fatalError("DiT config does not round-trip: \(config) → \(again)") }
    }
  } catch { Scratch.check(error) }
  do {
    _ = try DiTTransformer2DModel.from(directory: dir + "/transformer")
    fatalError("DiTTransformer2DModel.from loaded a model without a weights file")
  } catch { Scratch.check(error) }
  do {
    _ = try DiffusionPipelineFiles.loadDenoiser(directory: dir)
    fatalError("loadDenoiser loaded a denoiser without a weights file")
  } catch { Scratch.check(error) }
  do {
    _ = try UNet2DModel.from(directory: dir + "/unet")
    fatalError("UNet2DModel.from loaded a model without a weights file")
  } catch { Scratch.check(error) }
  do {
    _ = try DDIMPipeline.from(directory: dir)
    fatalError("DDIMPipeline.from loaded a pipeline without U-Net weights")
  } catch { Scratch.check(error) }
  return 0
}

func schedulers(_ path: String) throws {
  let loaded = try loadScheduler(path)
  let config = loaded.config
  var again = try SchedulerConfig(json: config.json(className: type(of: loaded).className))
  // Like diffusers, each class writes only its own keys: DDPM has no set_alpha_to_one, DDIM no variance_type.
  again.setAlphaToOne = config.setAlphaToOne
  again.varianceType = config.varianceType
  if again != config { fatalError("scheduler config does not round-trip: \(config) → \(again)") }
  let x = Tensor([Float(0.5)], shape: [1, 1, 1, 1])
  for spacing in TimestepSpacing.allCases {
    var c = config
    c.timestepSpacing = spacing
    let ddpm = try DDPMScheduler(config: c)
    let ddim = try DDIMScheduler(config: c)
    for steps in [0, 1, 7, 50, c.numTrainTimesteps + 1] {
      do {
        try ddim.setTimesteps(steps)
        for t in ddim.timesteps { _ = try ddim.previousTimestep(t) }
        if let t = ddim.timesteps.first { _ = try ddim.step(x, timestep: t, sample: x, eta: 0.5, varianceNoise: x) }
      } catch { Scratch.check(error) }
      do {
        try ddpm.setTimesteps(steps)
        if let t = ddpm.timesteps.first { _ = try ddpm.step(x, timestep: t, sample: x, varianceNoise: x) }
      } catch { Scratch.check(error) }
    }
  }
}

@main enum Main {
  static func main() {
    for d in ["scheduler", "unet", "transformer"] {
      try? FileManager.default.createDirectory(
        atPath: Scratch.directory + "/" + d, withIntermediateDirectories: true)
    }
    runFuzzer(fuzzOne)
  }
}
