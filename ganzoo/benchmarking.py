"""Training-step throughput, measured the same way for every variant.

Two loops run the same recipe (networks, loss, tricks, optimizers, critic steps):

- **ganzoo**: the shared trainer's path — data resident on the device, batches drawn by index
  on the device (:class:`~ganzoo.training.sampling.BatchSampler`), fused optimizers, no host
  synchronisation inside a step, and on CUDA the whole step captured as one CUDA graph
  (:mod:`ganzoo.training.capture`) unless ``graph="off"``;
- **plain**: the way the classic tutorials write it — a ``DataLoader`` over the data set on the
  host, each batch copied to the device, ``torch.optim`` optimizers with their default
  implementation, eager, and the loss read back every step (``loss.item()``, as tutorial loops
  do to log).

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
    mode: str
    """How the ganzoo step ran: ``graph`` (CUDA graph replay) or ``eager``."""
    precision: str
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


def _data(image_shape: tuple[int, int, int], count: int = 2048) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Built-in digits with their labels for 28×28×1 (as the trainer draws them), random
    unlabelled images in [-1, 1] otherwise (speed only)."""
    import torch

    if tuple(image_shape) == (1, 28, 28):
        from ganzoo.data import load_dataset

        digits = load_dataset("mnist", limit=count)
        return digits.images, digits.labels
    return torch.rand(count, *image_shape) * 2 - 1, None


def ganzoo_step(variant: str, batch_size: int, device: torch.device, data: torch.Tensor, *,
                total_steps: int, labels: torch.Tensor | None = None, seed: int = 0, graph: str = "auto", precision: str = "auto",
                channels_last: bool = False, notify: Any = None, **overrides: Any) -> Any:
    """The trainer's step for ``variant`` (device-resident data, fused optimizers, CUDA graph
    when possible) as a :class:`~ganzoo.training.capture.StepRunner`; ``overrides`` change the
    recipe (:class:`~ganzoo.Variant` fields)."""
    import torch

    from ganzoo.build import create_variant
    from ganzoo.training.capture import assemble_step, to_channels_last
    from ganzoo.training.sampling import DataField

    torch.manual_seed(seed)
    classes = None if labels is None else int(labels.max()) + 1
    gan = create_variant(variant, image_shape=tuple(data.shape[1:]), device=device, num_classes=classes,
                         **{"batch_size": batch_size, **overrides})
    data = data.to(device)
    if channels_last:
        data = to_channels_last(gan, data)
    labels = None if labels is None else labels.to(device)
    # Speed only: every data field the variant reads is fed the same images, drawn on their own.
    fields = {name: DataField(data) for name in gan.variant.data_fields}
    runner, _ = assemble_step(gan, data, labels=labels, fields=fields, seed=seed, total_steps=total_steps,
                              graph=graph, precision=precision, notify=notify)
    return runner


def bench_variant(variant: str, batch_size: int, device: str = "auto", steps: int = 20,
                  warmup: int = 3, plain: bool = True, seed: int = 0,
                  image_shape: tuple[int, int, int] = (1, 28, 28), graph: str = "auto",
                  precision: str = "auto", channels_last: bool = False,
                  notify: Any = None) -> BenchResult:
    """Throughput of one variant at one batch size, with the plain loop's for comparison.

    On CUDA the warm-up is at least 5 steps, so a captured graph is built before timing."""
    import torch

    from ganzoo.device import resolve_device

    if steps < 1 or warmup < 0:
        raise ConfigError(f"--steps must be >= 1 (got {steps}) and warm-up >= 0 (got {warmup})")
    dev = resolve_device(device)
    data, labels = _data(image_shape)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
        warmup = max(warmup, 5)  # 3 eager warm-up steps, the capture, a first replay
    runner = ganzoo_step(variant, batch_size, dev, data, labels=labels, total_steps=warmup + steps, seed=seed,
                         graph=graph, precision=precision, channels_last=channels_last, notify=notify)
    seconds = _time_steps(runner, steps, warmup, dev)
    peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else None

    plain_rate = None
    if plain:
        plain_rate = steps / _time_steps(plain_loop(variant, data, batch_size, dev, warmup + steps, seed, labels),
                                         steps, warmup, dev)
    rate = steps / seconds
    return BenchResult(
        variant=variant, batch_size=batch_size, device=str(dev), mode=runner.mode,
        precision=runner.precision, steps=steps,
        steps_per_sec=round(rate, 3), images_per_sec=round(rate * batch_size, 1),
        plain_steps_per_sec=round(plain_rate, 3) if plain_rate else None,
        ratio_vs_plain=round(rate / plain_rate, 3) if plain_rate else None,
        peak_memory_mb=round(peak, 1) if peak is not None else None,
        torch=torch.__version__, machine=machine_name(dev))


def plain_loop(variant: str, data: torch.Tensor, batch_size: int, device: torch.device,
               total: int, seed: int = 0, labels: torch.Tensor | None = None) -> Any:
    """A tutorial-style step of ``variant``'s recipe: DataLoader batches on the host, copied per
    batch, ``torch.optim`` defaults (no fused kernels), eager, the loss read back every step."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from ganzoo.build import create_variant
    from ganzoo.components import Batch
    from ganzoo.training.step import TrainingStep

    torch.manual_seed(seed)
    classes = None if labels is None else int(labels.max()) + 1
    gan = create_variant(variant, image_shape=tuple(data.shape[1:]), device=device, batch_size=batch_size,
                         num_classes=classes)
    if gan.translates:  # speed only: it translates the data's own images
        gan.sources = data.to(gan.device)
    for role, optimizer in gan.optimizers.items():
        hyper = {k: v for k, v in optimizer.defaults.items()
                 if k not in ("fused", "foreach", "capturable", "differentiable")}
        gan.optimizers[role] = type(optimizer)(optimizer.param_groups[0]["params"], **hyper)
    columns = (data,) if labels is None else (data, labels)
    loader = DataLoader(TensorDataset(*columns), batch_size=batch_size, shuffle=True, drop_last=True)
    batches = iter(loader)
    step = TrainingStep(gan, total_steps=total)

    def next_real() -> Batch:
        nonlocal batches
        try:
            drawn = next(batches)
        except StopIteration:
            batches = iter(loader)
            drawn = next(batches)
        images, *rest = (column.to(gan.device) for column in drawn)
        # Speed only: each data field the variant reads gets this batch's images in another order.
        fields = {name: images.roll(1 + i, 0) for i, name in enumerate(gan.variant.data_fields)}
        return Batch(images, rest[0] if rest else None, fields)

    def run() -> None:
        stats = step(next_real)
        torch.stack([v.float() for v in stats.values.values()]).tolist()  # tutorials log every step: one sync

    return run


def cpu_name() -> str:
    """The CPU's model name ("Intel(R) Xeon(R) …"); `platform.processor()` is only "x86_64" on Linux."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_name(device: torch.device) -> str:
    """What a benchmark ran on: the GPU's name, or the CPU's with its core and thread counts."""
    import os

    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_name()} ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"
