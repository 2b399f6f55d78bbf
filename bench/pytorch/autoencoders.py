"""PyTorch side of `loom-bench autoencoders`: training samples/s of the seeds' Fashion-MNIST
autoencoder (batch 32, Adam lr 1e-3, weight decay 1e-8, MSE) and of the MLP VAE
(784-400-20, batch 128, Adam lr 1e-3, BCE-sum + KL) and of the small conv VAE (Loom's ConvVAE layout,
batch 128), eager fp32, fed by a DataLoader
(shuffle) over the real training images. One JSON line per figure."""
import gzip
import json
import os
import sys
import time

sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
import numpy as np  # noqa: E402
import torch  # noqa: E402

DATA = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
QUICK = "--quick" in sys.argv


def images(path):
    with gzip.open(path) as f:
        raw = f.read()
    n, rows, cols = np.frombuffer(raw[4:16], dtype=">u4")
    return torch.from_numpy(np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, rows * cols).astype(np.float32) / 255.0)


def seeds_autoencoder():
    sizes = [784, 128, 64, 36, 18, 9]
    enc, dec = [], []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        enc += [torch.nn.Linear(a, b)] + ([torch.nn.ReLU()] if i < 4 else [])
    back = sizes[::-1]
    for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
        dec += [torch.nn.Linear(a, b), torch.nn.ReLU() if i < 4 else torch.nn.Sigmoid()]
    return torch.nn.Sequential(torch.nn.Sequential(*enc), torch.nn.Sequential(*dec))


class VAE(torch.nn.Module):
    def __init__(self, latent=20):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = torch.nn.Linear(784, 400), torch.nn.Linear(400, latent), torch.nn.Linear(400, latent)
        self.fc3, self.fc4 = torch.nn.Linear(latent, 400), torch.nn.Linear(400, 784)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(torch.relu(self.fc3(z)))), mu, logvar


class ConvVAE(torch.nn.Module):
    """Loom's ConvVAE: two stride-2 4×4 convs (32, 64 channels), latent 20, two transposed convs."""

    def __init__(self, latent=20, c0=32, c1=64):
        super().__init__()
        nn = torch.nn
        self.encoder = nn.Sequential(nn.Conv2d(1, c0, 4, 2, 1), nn.ReLU(), nn.Conv2d(c0, c1, 4, 2, 1), nn.ReLU(), nn.Flatten())
        self.fc_mu, self.fc_logvar = nn.Linear(c1 * 49, latent), nn.Linear(c1 * 49, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, c1 * 49), nn.ReLU(), nn.Unflatten(1, (c1, 7, 7)),
            nn.ConvTranspose2d(c1, c0, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(c0, 1, 4, 2, 1), nn.Sigmoid())

    def forward(self, x):
        h = self.encoder(x.view(-1, 1, 28, 28))
        mu, logvar = self.fc_mu(h), self.fc_logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z).view(-1, 784), mu, logvar


def measure(name, model, loss_fn, data, batch, steps, rounds):
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-8 if name == "ae_train" else 0)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=batch, shuffle=True, drop_last=True)
    it = iter(loader)

    def step():
        nonlocal it
        try:
            (x,) = next(it)
        except StopIteration:
            it = iter(loader)
            (x,) = next(it)
        loss = loss_fn(model, x)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(min(50, 2 * steps)):
        step()
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        samples.append(steps * batch / (time.perf_counter() - t0))
    samples.sort()
    print(json.dumps({"suite": "autoencoders", "bench": name, "config": f"batch{batch}", "value": samples[len(samples) // 2],
                      "unit": "samples/s", "impl": "torch", "threads": torch.get_num_threads()}), flush=True)


def ae_loss(model, x):
    return torch.nn.functional.mse_loss(model(x), x)


def vae_loss(model, x):
    recon, mu, logvar = model(x)
    bce = torch.nn.functional.binary_cross_entropy(recon, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (bce + kl) / x.shape[0]


train = images(os.path.join(DATA, "train-images-idx3-ubyte.gz"))
torch.manual_seed(0)
measure("ae_train", seeds_autoencoder(), ae_loss, train, 32, 200, 3 if QUICK else 9)
measure("vae_train", VAE(), vae_loss, train, 128, 50, 3 if QUICK else 9)
torch.manual_seed(0)
measure("conv_vae_train", ConvVAE(), vae_loss, train, 128, 10, 3 if QUICK else 9)
