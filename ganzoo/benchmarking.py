"""Training-step throughput, measured the same way for every variant.

Two loops run the same recipe (networks, loss, tricks, optimizers, critic steps):

- **ganzoo**: the shared trainer's path — data resident on the device, batches drawn by index
  on the device (:class:`~ganzoo.training.sampling.BatchSampler`), no host synchronisation
  inside a step;
- **plain**: the way the classic tutorials write it — a ``DataLoader`` over the data set on the
  host, each batch copied to the device, and the loss read back every step (``loss.item()``,
  as tutorial loops do to log).

Both are warmed up and synchronised before the clock stops; peak device memory is recorded
on CUDA. Numbers come back as :class:`BenchResult` rows.
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ganzoo.errors import ConfigError

if TYPE_CHECKING:
    import torch


@dataclass
class BenchResult:
    variant: str
    batch_size: int
    device: str
    steps: int
    steps_per_sec: float
    images_per_sec: float
    plain_steps_per_sec: float | None
    ratio_vs_plain: float | None
    peak_memory_mb: float | None
    torch: str
    machine: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sync(device: torch.device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_steps(run_step: Any, steps: int, warmup: int, device: torch.device) -> float:
    """Seconds for ``steps`` calls after ``warmup`` untimed ones (device synchronised)."""
    for _ in range(warmup):
        run_step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        run_step()
    _sync(device)
    return time.perf_counter() - start


def _data(image_shape: tuple[int, int, int], count: int = 2048) -> torch.Tensor:
    """Built-in digits for 28×28×1, random images in [-1, 1] otherwise (speed only)."""
    import torch

    if tuple(image_shape) == (1, 28, 28):
        from ganzoo.data import load_images

        return load_images("mnist", limit=count)
    return torch.rand(count, *image_shape) * 2 - 1


def bench_variant(variant: str, batch_size: int, device: str = "auto", steps: int = 20,
                  warmup: int = 3, plain: bool = True, seed: int = 0,
                  image_shape: tuple[int, int, int] = (1, 28, 28)) -> BenchResult:
    """Throughput of one variant at one batch size, with the plain loop's for comparison."""
    import torch

    from ganzoo.build import create_variant, resolve_device
    from ganzoo.training.sampling import BatchSampler
    from ganzoo.training.step import TrainingStep

    if steps < 1 or warmup < 0:
        raise ConfigError(f"--steps must be >= 1 (got {steps}) and warm-up >= 0 (got {warmup})")
    dev = resolve_device(device)
    data = _data(image_shape)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)

    torch.manual_seed(seed)
    gan = create_variant(variant, image_shape=image_shape, device=dev, batch_size=batch_size)
    sampler = BatchSampler(data.to(dev), batch_size, gan.latent_dim, seed, gan.variant.latent_distribution)
    step = TrainingStep(gan, total_steps=warmup + steps, latent=sampler.latent)
    seconds = _time_steps(lambda: step(sampler.real), steps, warmup, dev)
    peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else None

    plain_rate = None
    if plain:
        torch.manual_seed(seed)
        plain_gan = create_variant(variant, image_shape=image_shape, device=dev, batch_size=batch_size)
        plain_rate = steps / _time_steps(_plain_loop(plain_gan, data, batch_size, warmup + steps), steps, warmup, dev)
    rate = steps / seconds
    return BenchResult(
        variant=variant, batch_size=batch_size, device=str(dev), steps=steps,
        steps_per_sec=round(rate, 3), images_per_sec=round(rate * batch_size, 1),
        plain_steps_per_sec=round(plain_rate, 3) if plain_rate else None,
        ratio_vs_plain=round(rate / plain_rate, 3) if plain_rate else None,
        peak_memory_mb=round(peak, 1) if peak is not None else None,
        torch=torch.__version__, machine=_machine(dev))


def _plain_loop(gan: Any, data: torch.Tensor, batch_size: int, total: int) -> Any:
    """A tutorial-style step: DataLoader batches on the host, copied per batch, loss read back."""
    from torch.utils.data import DataLoader, TensorDataset

    from ganzoo.training.step import TrainingStep

    loader = DataLoader(TensorDataset(data), batch_size=batch_size, shuffle=True, drop_last=True)
    batches = iter(loader)
    step = TrainingStep(gan, total_steps=total)

    def next_real() -> torch.Tensor:
        nonlocal batches
        try:
            (images,) = next(batches)
        except StopIteration:
            batches = iter(loader)
            (images,) = next(batches)
        return images.to(gan.device)

    def run() -> None:
        stats = step(next_real)
        stats.d_loss.item(), stats.g_loss.item()  # tutorials log every step

    return run


def _machine(device: torch.device) -> str:
    import os

    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"
