#!/usr/bin/env python3
"""The PyTorch / diffusers counterpart of

  loom train diffusion --image-size 28 --block-out-channels 16,32,32 --norm-num-groups 8 --batch-size 32 --lr 1e-3 \
      --warmup-steps 50 --train-limit N --max-steps S --class-conditional --ema-decay 0.999

(same U-Net config, AdamW weight decay 1e-6, cosine schedule with warmup, grad clip 1, EMAModel, label dropout 0.1
to the null row), then a DDIM-50 grid from fixed noise, classes 0..9 twice. For comparing learning side by side.

Not run by CI. Run: /work/venv/bin/python scripts/reference/train_diffusion_fashion_mnist.py STEPS TRAIN_LIMIT OUT.png
"""
import gzip
import pathlib
import sys

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
from diffusers.optimization import get_cosine_schedule_with_warmup
from diffusers.training_utils import EMAModel

steps, limit, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(1)
torch.manual_seed(0)
root = pathlib.Path("/usr/share/datasets/fashion-mnist")


def idx(name, offset):
    p = next(root.glob(name + "*"))
    data = gzip.open(p).read() if p.suffix == ".gz" else p.read_bytes()
    return torch.frombuffer(bytearray(data[offset:]), dtype=torch.uint8)


images = idx("train-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)[:limit].float() / 255 * 2 - 1
labels = idx("train-labels-idx1-ubyte", 8)[:limit].long()
unet = UNet2DModel(
    sample_size=28, in_channels=1, out_channels=1, block_out_channels=(16, 32, 32), layers_per_block=1,
    norm_num_groups=8, attention_head_dim=8, down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
    up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"), num_class_embeds=11)
sched = DDPMScheduler(num_train_timesteps=1000)
opt = torch.optim.AdamW(unet.parameters(), lr=1e-3, weight_decay=1e-6)
lr = get_cosine_schedule_with_warmup(opt, 50, steps)
ema = EMAModel(unet.parameters(), decay=0.999)
for step in range(steps):
    i = torch.randint(0, len(images), (32,))
    x, y = images[i], labels[i]
    y = torch.where(torch.rand(32) < 0.1, 10, y)
    noise = torch.randn_like(x)
    t = torch.randint(0, 1000, (32,))
    loss = F.mse_loss(unet(sched.add_noise(x, noise, t), t, class_labels=y).sample, noise)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
    opt.step(), lr.step(), opt.zero_grad()
    ema.step(unet.parameters())
    if (step + 1) % 50 == 0:
        print(f"step {step + 1} loss {loss.item():.4f}", flush=True)
ema.copy_to(unet.parameters())
ddim = DDIMScheduler.from_config(sched.config)
ddim.set_timesteps(50)
x = torch.randn(20, 1, 28, 28, generator=torch.Generator().manual_seed(1234))
y = torch.arange(20) % 10
with torch.no_grad():
    for t in ddim.timesteps:
        x = ddim.step(unet(x, t, class_labels=y).sample, t, x).prev_sample
grid = ((x / 2 + 0.5).clamp(0, 1) * 255).byte().reshape(2, 10, 28, 28).permute(0, 2, 1, 3).reshape(56, 280)
from PIL import Image  # noqa: E402

Image.fromarray(grid.numpy()).resize((840, 168), Image.NEAREST).save(out)
print("wrote", out)
