"""Textbook reference loops: the one-file GAN recipes most people start from, in plain PyTorch,
trained on ganzoo's built-in digits for a wall-clock budget. A reference for the zoo to beat;
the package never imports this file, and it imports nothing from ganzoo but the data loader.

    python benchmarks/textbook.py wgan-gp --minutes 10 --seed 0    # -> textbook-wgan-gp-seed0.npy
    ganzoo eval textbook-wgan-gp-seed0.npy -n 1000

Recipes (from eriklindernoren/PyTorch-GAN, implementations/*; latent z ~ N(0, 1) of size 100,
batch 64, data 3,000 digits 1×28×28 in [-1, 1] reshuffled every epoch, last batch partial):

  bce      gan/gan.py. Generator 100→128→256→512→1024→784 dense, LeakyReLU(0.2) after each
           hidden layer, BatchNorm1d(eps=0.8) after every hidden layer but the first, tanh.
           Discriminator 784→512→256→1 dense, LeakyReLU(0.2), sigmoid; BCELoss (D loss = mean of
           real and fake terms). Adam lr 2e-4, betas (0.5, 0.999) for both. Per step: one G
           update, then one D update on the same fake batch (the script's order).
  dcgan    dcgan/dcgan.py adapted from img_size 32 to 28: Linear 100→128·7·7, BatchNorm2d(128),
           [Upsample×2, Conv3×3, BatchNorm2d(eps=0.8), LeakyReLU(0.2)] 128→128 then 128→64,
           Conv3×3 64→1, tanh. Discriminator: four [Conv3×3 stride 2, LeakyReLU(0.2),
           Dropout2d(0.25), BatchNorm2d(eps=0.8) except the first] 1→16→32→64→128
           (28→14→7→4→2), Linear 512→1, sigmoid. Conv weights ~ N(0, 0.02), BatchNorm2d
           weights ~ N(1, 0.02) and biases 0 (the script's weights_init_normal; Linear layers
           keep PyTorch's default init). BCE, Adam 2e-4 (0.5, 0.999); step as in bce.
  wgan     wgan/wgan.py. The bce generator; critic 784→512→256→1 without sigmoid. RMSprop lr
           5e-5 for both. Per step: 5 critic updates (loss mean D(fake) - mean D(real)), each
           followed by clipping every critic weight to ±0.01, then one G update (loss
           -mean D(G(z))) reusing the last critic update's z, as the script does.
  wgan-gp  wgan_gp/wgan_gp.py. The wgan networks; Adam 2e-4 (0.5, 0.999) for both. Critic loss
           adds 10 · mean((‖∇D(x̂)‖₂ - 1)²) on per-sample interpolates x̂ = αx + (1-α)G(z),
           α ~ U(0, 1). 5 critic updates per G update, G reuses the last z.

Deviations from the scripts, none of which changes the maths: fakes for the critic are detached
before the critic loss (wgan_gp.py back-propagates it into G too, then zeroes those gradients);
each generator step does its 5 critic updates first (the scripts' `i % n_critic == 0` also
updates G once after the very first critic update); the data come from memory, not a DataLoader.

A "step" is one generator update with its critic updates. Training stops at --steps or when
the training wall clock (data loading, model building and sampling excluded) reaches --minutes
(default 10). All fp32 (torch's defaults), eager, on --device (cpu, the default, or cuda: data
and networks on the GPU, the clock read after the queued work is done), torch's default thread
count unless --threads. Then
--samples images are drawn with the generator in eval mode (BatchNorm running statistics) and
z ~ N(0, 1) from a generator seeded with --seed, saved as float32 N×1×28×28 in [-1, 1] to --out,
and one JSON line describing the run is printed on stdout.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganzoo.data import load_images

LATENT, BATCH, N_CRITIC = 100, 64, 5
RECIPES = ("bce", "dcgan", "wgan", "wgan-gp")


def dense_generator() -> nn.Module:
    def block(n_in, n_out, normalize=True):
        norm = [nn.BatchNorm1d(n_out, 0.8)] if normalize else []
        return [nn.Linear(n_in, n_out), *norm, nn.LeakyReLU(0.2, inplace=True)]

    return nn.Sequential(*block(LATENT, 128, normalize=False), *block(128, 256), *block(256, 512),
                         *block(512, 1024), nn.Linear(1024, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))


def dense_critic(sigmoid: bool) -> nn.Module:
    layers = [nn.Flatten(), nn.Linear(784, 512), nn.LeakyReLU(0.2, inplace=True),
              nn.Linear(512, 256), nn.LeakyReLU(0.2, inplace=True), nn.Linear(256, 1)]
    return nn.Sequential(*layers, *([nn.Sigmoid()] if sigmoid else []))


def conv_generator() -> nn.Module:
    def up(n_in, n_out):
        return [nn.Upsample(scale_factor=2), nn.Conv2d(n_in, n_out, 3, 1, 1), nn.BatchNorm2d(n_out, 0.8),
                nn.LeakyReLU(0.2, inplace=True)]

    return nn.Sequential(nn.Linear(LATENT, 128 * 7 * 7), nn.Unflatten(1, (128, 7, 7)), nn.BatchNorm2d(128),
                         *up(128, 128), *up(128, 64), nn.Conv2d(64, 1, 3, 1, 1), nn.Tanh())


def conv_discriminator() -> nn.Module:
    def block(n_in, n_out, bn=True):
        norm = [nn.BatchNorm2d(n_out, 0.8)] if bn else []
        return [nn.Conv2d(n_in, n_out, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True), nn.Dropout2d(0.25), *norm]

    return nn.Sequential(*block(1, 16, bn=False), *block(16, 32), *block(32, 64), *block(64, 128),
                         nn.Flatten(), nn.Linear(128 * 2 * 2, 1), nn.Sigmoid())


def weights_init_normal(m: nn.Module) -> None:
    if isinstance(m, nn.Conv2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.constant_(m.bias, 0.0)


def batches(data: torch.Tensor):
    """Endless shuffled epochs of BATCH images (DataLoader(shuffle=True) without workers)."""
    while True:
        yield from data[torch.randperm(len(data), device=data.device)].split(BATCH)


def bce_step(G, D, opt_g, opt_d, data):
    real = next(data)
    ones, zeros = torch.ones(len(real), 1, device=real.device), torch.zeros(len(real), 1, device=real.device)
    fake = G(torch.randn(len(real), LATENT, device=real.device))
    opt_g.zero_grad()
    nn.functional.binary_cross_entropy(D(fake), ones).backward()
    opt_g.step()
    opt_d.zero_grad()
    d_loss = (nn.functional.binary_cross_entropy(D(real), ones)
              + nn.functional.binary_cross_entropy(D(fake.detach()), zeros)) / 2
    d_loss.backward()
    opt_d.step()


def gradient_penalty(D, real, fake):
    alpha = torch.rand(len(real), 1, 1, 1, device=real.device)
    x = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def wasserstein_step(G, D, opt_g, opt_d, data, clip=None, gp_weight=None):
    for _ in range(N_CRITIC):
        real = next(data)
        z = torch.randn(len(real), LATENT, device=real.device)
        fake = G(z).detach()
        d_loss = -D(real).mean() + D(fake).mean()
        if gp_weight is not None:
            d_loss = d_loss + gp_weight * gradient_penalty(D, real, fake)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        if clip is not None:
            for p in D.parameters():
                p.data.clamp_(-clip, clip)
    opt_g.zero_grad()
    (-D(G(z)).mean()).backward()
    opt_g.step()


def build(recipe: str):
    """(generator, discriminator, G optimizer, D optimizer, step function) of a recipe."""
    if recipe == "dcgan":
        G, D = conv_generator(), conv_discriminator()
        G.apply(weights_init_normal), D.apply(weights_init_normal)
    else:
        G, D = dense_generator(), dense_critic(sigmoid=recipe == "bce")
    if recipe == "wgan":
        opt_g = torch.optim.RMSprop(G.parameters(), lr=5e-5)
        opt_d = torch.optim.RMSprop(D.parameters(), lr=5e-5)
    else:
        opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    step = {"bce": bce_step, "dcgan": bce_step,
            "wgan": lambda *a: wasserstein_step(*a, clip=0.01),
            "wgan-gp": lambda *a: wasserstein_step(*a, gp_weight=10.0)}[recipe]
    return G, D, opt_g, opt_d, step


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments: one line on stderr, exit status 2 (no usage block)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv=None) -> int:
    parser = OneLineParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe", choices=RECIPES)
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, help="training wall-clock budget (default 10)")
    budget.add_argument("--steps", type=int, help="generator updates to train instead")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--out", help="samples file (default textbook-RECIPE-seedS.npy)")
    parser.add_argument("--data", default="mnist:train")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    parser.add_argument("--device", default="cpu", help="where to train: cpu (default), cuda or cuda:N")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"cpu|cuda(:\d+)?", args.device):
        parser.error(f"--device {args.device}: give cpu, cuda or cuda:N")
    if args.device != "cpu" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: this torch sees no CUDA device")
    minutes = 10.0 if args.minutes is None and args.steps is None else args.minutes
    if minutes is not None and not minutes > 0:
        parser.error("--minutes must be > 0")
    for name in ("steps", "samples", "threads"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    out = Path(args.out or f"textbook-{args.recipe}-seed{args.seed}.npy")
    if out.suffix != ".npy":
        parser.error("--out must end in .npy")
    try:
        data = load_images(args.data)
    except Exception as err:  # ganzoo's DataError names the file and the problem
        parser.error(f"--data: {err}")
    if tuple(data.shape[1:]) != (1, 28, 28):
        parser.error(f"--data: these recipes need 1×28×28 images, got {tuple(data.shape[1:])}")

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    G, D, opt_g, opt_d, step = build(args.recipe)
    G, D = G.to(device), D.to(device)  # before the first step: the optimizers' state follows
    stream = batches(data.to(device))
    done, start = 0, time.perf_counter()
    while (args.steps is None or done < args.steps) and (
            minutes is None or time.perf_counter() - start < minutes * 60):
        step(G, D, opt_g, opt_d, stream)
        done += 1
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start

    G.eval()
    with torch.no_grad():
        z = torch.randn(args.samples, LATENT, generator=torch.Generator().manual_seed(args.seed)).to(device)
        samples = torch.cat([G(chunk) for chunk in z.split(500)]).cpu().numpy().astype(np.float32)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, samples)
    print(json.dumps({
        "recipe": args.recipe, "seed": args.seed, "steps": done, "seconds": round(seconds, 2),
        "steps_per_sec": round(done / seconds, 3), "samples": str(out), "torch": torch.__version__,
        "device": device.type, "machine": device_name(device), "cpu": cpu_model(), "threads": torch.get_num_threads(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
