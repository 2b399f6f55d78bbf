"""PyTorch side of `loom-bench images`: milliseconds per step on random data, eager fp32 (oneDNN
convolutions), the same work as Sources/loom-bench/ImagesBench.swift:
  conv2d          one layer forward + backward (input, weight, bias grads): U-Net 64->64 3x3 pad 1 at 32x32,
                  DCGAN discriminator 1->64 and 64->128 4x4 stride 2 pad 1 (28x28, 14x14); batch 64
  conv-transpose  the DCGAN generator's layers forward + backward (100->256 7x7 from 1x1, 256->128, 128->1
                  4x4 stride 2 pad 1); batch 64
  dcgan-step      one discriminator + one generator Adam step (BCE-with-logits), batch 64
  unet-step       one epsilon-MSE AdamW step of diffusers' UNet2DModel(bench/configs/images_unet.json), batch 64
  ddim-sample     10 DDIM steps (eta 0) of that U-Net under inference_mode, batch 64
  vae-step        one Adam step of the conv VAE (Images I), batch 128
Each bench runs in the memory format that measured faster for it (CHANNELS_LAST_BENCHES); --channels-last or
--contiguous forces one; impl says which. Each bench runs in its own process so that its peak RSS is its own. --only a,b picks benches;
--quick takes fewer steps; --lockstep (with --only BENCH) speaks bench/paired.py's protocol."""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != here]

BENCHES = ("conv2d", "conv-transpose", "dcgan-step", "unet-step", "ddim-sample", "vae-step")
quick = "--quick" in sys.argv
lockstep = "--lockstep" in sys.argv
# The faster memory format per bench, measured with --quick on the 2-core host (medians, ms):
# channels-last won conv2d (239 vs 394 on the U-Net layer) and dcgan-step (572 vs 704); NCHW won
# conv-transpose (156 vs 294 on 256->128) and tied vae-step (175 vs 187). --channels-last / --contiguous force one.
CHANNELS_LAST_BENCHES = ("conv2d", "dcgan-step")
only = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
if lockstep and (only is None or len(only) != 1):
    sys.exit("--lockstep needs --only with exactly one bench")
if only is None or len(only) > 1:
    passthrough = [a for a in sys.argv[1:] if a in ("--quick", "--channels-last", "--contiguous")]
    for name in only or BENCHES:
        subprocess.run([sys.executable, os.path.abspath(__file__), "--only", name, *passthrough], check=True)
    sys.exit(0)
BENCH = only[0]
if BENCH not in BENCHES:
    sys.exit(f"unknown bench {BENCH} (benches: {', '.join(BENCHES)})")
channels_last = "--channels-last" in sys.argv or (BENCH in CHANNELS_LAST_BENCHES and "--contiguous" not in sys.argv)

# libgomp's threads spin between parallel regions by default; on a host whose cores other work
# shares (ours: other builds), a spinning thread holds a core the next region needs, and the
# convolution benches ran 2-3x slower than with passive waiting. PASSIVE is PyTorch's stronger
# setting there (override by setting OMP_WAIT_POLICY).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

FORMAT = torch.channels_last if channels_last else torch.contiguous_format
IMPL = "torch-channels-last" if channels_last else "torch"


def fmt(t):
    return t.contiguous(memory_format=FORMAT) if t.dim() == 4 else t


def section(config, steps, body):
    """Times body (after a warm-up) and prints the section's JSON line."""
    for _ in range(2):
        body()
    samples = []
    if lockstep:
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip() != "step":
                break
            t0 = time.perf_counter()
            body()
            ms = (time.perf_counter() - t0) * 1000
            samples.append(ms)
            print(f"step {ms}", flush=True)
        if not samples:
            sys.exit("lockstep: stopped before any step")
    else:
        for _ in range(3 if quick else steps):
            t0 = time.perf_counter()
            body()
            samples.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"suite": "images", "bench": BENCH, "config": config, "value": statistics.median(samples),
                      "unit": "ms/step", "impl": IMPL, "threads": torch.get_num_threads(),
                      "omp_wait_policy": os.environ["OMP_WAIT_POLICY"],
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, sort_keys=True),
          flush=True)


def layer_step(layer, shape):
    layer = layer.to(memory_format=FORMAT)
    x = fmt(torch.randn(shape)).requires_grad_()
    gy = fmt(torch.randn(layer(x).shape))

    def body():
        layer(x).backward(gy)
        x.grad = None
        for p in layer.parameters():
            p.grad = None
    return body


def dcgan_init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def dcgan(z=100, f=64):
    """Loom's GANGenerator / GANDiscriminator (variant dcgan, 28x28, scripts/fixtures/make_gan_fixtures.py)."""
    g = nn.Sequential(
        nn.ConvTranspose2d(z, f * 4, 7, 1, 0, bias=False), nn.BatchNorm2d(f * 4), nn.ReLU(),
        nn.ConvTranspose2d(f * 4, f * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(f * 2), nn.ReLU(),
        nn.ConvTranspose2d(f * 2, 1, 4, 2, 1, bias=False), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, f, 4, 2, 1, bias=False), nn.LeakyReLU(0.2), nn.Conv2d(f, f * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(f * 2), nn.LeakyReLU(0.2), nn.Conv2d(f * 2, 1, 7, 1, 0, bias=False))
    g.apply(dcgan_init)
    d.apply(dcgan_init)
    return g, d


class ConvVAE(nn.Module):
    """Loom's ConvVAE: two stride-2 4x4 convs (32, 64 channels), latent 20, two transposed convs."""

    def __init__(self, latent=20, c0=32, c1=64):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, c0, 4, 2, 1), nn.ReLU(), nn.Conv2d(c0, c1, 4, 2, 1), nn.ReLU(),
                                     nn.Flatten())
        self.fc_mu, self.fc_logvar = nn.Linear(c1 * 49, latent), nn.Linear(c1 * 49, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, c1 * 49), nn.ReLU(), nn.Unflatten(1, (c1, 7, 7)),
            nn.ConvTranspose2d(c1, c0, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(c0, 1, 4, 2, 1), nn.Sigmoid())

    def forward(self, x):
        h = self.encoder(x)
        mu, logvar = self.fc_mu(h), self.fc_logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z), mu, logvar


def unet():
    from diffusers import UNet2DModel
    with open(os.path.join(here, "..", "configs", "images_unet.json")) as f:
        config = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    return UNet2DModel(**config).to(memory_format=FORMAT)


torch.manual_seed(0)
if BENCH == "conv2d":
    for name, layer, shape in (
            ("unet-64-64-k3-32px-b64", nn.Conv2d(64, 64, 3, padding=1), (64, 64, 32, 32)),
            ("dcgan-1-64-k4s2-28px-b64", nn.Conv2d(1, 64, 4, 2, 1), (64, 1, 28, 28)),
            ("dcgan-64-128-k4s2-14px-b64", nn.Conv2d(64, 128, 4, 2, 1), (64, 64, 14, 14))):
        section(name, 20, layer_step(layer, shape))
elif BENCH == "conv-transpose":
    for name, layer, shape in (
            ("dcgan-100-256-k7-1px-b64", nn.ConvTranspose2d(100, 256, 7, bias=False), (64, 100, 1, 1)),
            ("dcgan-256-128-k4s2-7px-b64", nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), (64, 256, 7, 7)),
            ("dcgan-128-1-k4s2-14px-b64", nn.ConvTranspose2d(128, 1, 4, 2, 1, bias=False), (64, 128, 14, 14))):
        section(name, 20, layer_step(layer, shape))
elif BENCH == "dcgan-step":
    g, d = dcgan()
    g, d = g.to(memory_format=FORMAT), d.to(memory_format=FORMAT)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = fmt(torch.rand(64, 1, 28, 28) * 2 - 1)
    ones, zeros = torch.ones(64), torch.zeros(64)

    def dcgan_step():
        fake = g(fmt(torch.randn(64, 100, 1, 1)))
        opt_d.zero_grad()
        loss_d = (F.binary_cross_entropy_with_logits(d(real).view(-1), ones)
                  + F.binary_cross_entropy_with_logits(d(fake.detach()).view(-1), zeros))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        F.binary_cross_entropy_with_logits(d(fake).view(-1), ones).backward()
        opt_g.step()
    section("dcgan-28px-b64", 20, dcgan_step)
elif BENCH == "unet-step":
    model = unet()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x, noise = fmt(torch.randn(64, 1, 32, 32)), fmt(torch.randn(64, 1, 32, 32))
    timesteps = torch.tensor([(i * 397) % 1000 for i in range(64)])

    def unet_step():
        opt.zero_grad()
        F.mse_loss(model(x, timesteps).sample, noise).backward()
        opt.step()
    section("unet-32px-b64", 10, unet_step)
elif BENCH == "ddim-sample":
    from diffusers import DDIMScheduler
    model, scheduler = unet(), DDIMScheduler()
    noise = fmt(torch.randn(64, 1, 32, 32))

    def ddim_sample():
        # DDIMPipeline's loop without its numpy / PIL conversion at the end.
        with torch.inference_mode():
            scheduler.set_timesteps(10)
            x = noise
            for t in scheduler.timesteps:
                x = scheduler.step(model(x, t).sample, t, x, eta=0.0).prev_sample
            return (x / 2 + 0.5).clamp(0, 1)
    section("ddim-10-steps-32px-b64", 5, ddim_sample)
else:
    vae = ConvVAE().to(memory_format=FORMAT)
    opt = torch.optim.Adam(vae.parameters(), lr=1e-3)
    x = fmt(torch.rand(128, 1, 28, 28))

    def vae_step():
        opt.zero_grad()
        recon, mu, logvar = vae(x)
        bce = F.binary_cross_entropy(recon, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        ((bce + kl) / x.shape[0]).backward()
        opt.step()
    section("conv-vae-28px-b128", 20, vae_step)
