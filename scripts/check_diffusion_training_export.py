#!/usr/bin/env python3
"""Checks a pipeline folder written by `loom train diffusion` against diffusers (no fixtures needed).

1. `DDPMPipeline.from_pretrained(DIR)` loads a U-Net folder (unconditional models also run two DDPM steps through
   it); a DiT folder (DiTPipeline layout, no VAE: Loom's DiT works on pixels) loads through
   `DiTTransformer2DModel.from_pretrained(DIR/transformer)` and `DDPMScheduler.from_pretrained(DIR/scheduler)`;
2. the U-Net diffusers loads equals Loom's: `loom sample --scheduler ddim --noise` from noise drawn here and
   diffusers' DDIMScheduler loop from the same noise (with the same labels and guidance for a class-conditional
   model, the null label being the last class-embedding row) agree to 1e-4, or as closely as diffusers' own float32
   run agrees with float64 (ε-prediction under guidance amplifies rounding).

Not run by CI. Run:
  /work/venv/bin/python scripts/check_diffusion_training_export.py DIR [path/to/loom]
"""
import json
import pathlib
import subprocess
import sys
import tempfile

import torch
from diffusers import DDIMScheduler, DDPMPipeline, DDPMScheduler, DiTTransformer2DModel
from safetensors.torch import load_file, save_file

folder = pathlib.Path(sys.argv[1])
loom = sys.argv[2] if len(sys.argv) > 2 else str(pathlib.Path(__file__).resolve().parents[1] / ".build/release/loom")
index = json.loads((folder / "model_index.json").read_text())
dit = index["_class_name"] == "DiTPipeline"
if dit:
    model = DiTTransformer2DModel.from_pretrained(str(folder / "transformer"))
    scheduler_config = DDPMScheduler.from_pretrained(str(folder / "scheduler")).config
    config, k = model.config, model.config.num_embeds_ada_norm + 1
    channels = config.in_channels

    def unet(x, t, class_labels):
        out = model(x, timestep=t.expand(x.shape[0]), class_labels=class_labels).sample
        return out[:, :channels]  # learn_sigma's variance channels dropped, as DiTPipeline does
else:
    assert index["_class_name"] == "DDPMPipeline", index
    pipe = DDPMPipeline.from_pretrained(str(folder))
    model, config, scheduler_config = pipe.unet, pipe.unet.config, pipe.scheduler.config
    k = config.num_class_embeds

    def unet(x, t, class_labels=None):
        return model(x, t, class_labels=class_labels).sample
print(f"loaded {type(model).__name__} {config.sample_size}px, {k} class rows, {scheduler_config.prediction_type}")
if k is None:
    with torch.no_grad():
        out = pipe(batch_size=2, num_inference_steps=2, generator=torch.Generator().manual_seed(0), output_type="np")
    print("DDPMPipeline ran 2 steps:", out.images.shape)

n, steps, guidance = 4, 10, (2.0 if k else 1.0)
labels = [i % (k - 1) for i in range(n)] if k else None
noise = torch.randn(n, config.in_channels, config.sample_size, config.sample_size, generator=torch.Generator().manual_seed(3))


def ddim(dtype):
    """diffusers' DDIM loop (eta 0) from `noise`, in float32 or float64."""
    model.to(dtype)
    sched = DDIMScheduler.from_config(scheduler_config)
    sched.set_timesteps(steps)
    x = noise.to(dtype)
    with torch.no_grad():
        for t in sched.timesteps:
            if k:
                both = unet(torch.cat([x, x]), t, class_labels=torch.tensor([k - 1] * n + labels))
                uncond, cond = both.chunk(2)
                out = uncond + guidance * (cond - uncond)
            else:
                out = unet(x, t)
            x = sched.step(out, t, x, eta=0.0).prev_sample
    model.to(torch.float32)
    return x.float()


x, exact = ddim(torch.float32), ddim(torch.float64)
# ε-prediction divides by √ᾱ_t (≈ 0.006 at t = 999), so float32 rounding grows over the steps, the more so under
# guidance; Loom must be as close as diffusers' own float32 run is to float64, or within 1e-4.
tolerance = max(1e-4, 2 * (x - exact).abs().max().item())

with tempfile.TemporaryDirectory() as tmp:
    save_file({"noise": noise.contiguous()}, f"{tmp}/noise.safetensors")
    cmd = [loom, "sample", "--model", str(folder), "--scheduler", "ddim", "--num-inference-steps", str(steps),
           "--noise", f"{tmp}/noise.safetensors", "--output", f"{tmp}/out.safetensors"]
    if k:
        cmd += ["--class-labels", ",".join(map(str, labels)), "--guidance-scale", str(guidance)]
    subprocess.run(cmd, check=True)
    ours = load_file(f"{tmp}/out.safetensors")["images"]
diff = (ours - x).abs().max().item()
print(f"loom sample vs diffusers DDIM ({steps} steps{', guidance %.1f' % guidance if k else ''}): max abs difference "
      f"{diff:.3g} (diffusers float32 vs float64: {(x - exact).abs().max().item():.3g}; Loom vs float64: "
      f"{(ours - exact).abs().max().item():.3g})")
assert diff <= tolerance, (diff, tolerance)
