"""Distributed data-parallel training with PyTorch's own engine: ``torchrun`` + DDP.

``torchrun --nproc-per-node N -m ganzoo train ...`` (or ``ganzoo train --nproc N``, which runs
exactly that) starts N processes; each finds its rank in the environment torchrun sets,
joins the process group (NCCL on GPUs, gloo on CPU), wraps G and D in
:class:`~torch.nn.parallel.DistributedDataParallel`, and trains on its own shard of every
global batch (see :mod:`ganzoo.training.sampling`). Gradients are averaged by DDP; only rank 0
writes logs, grids and checkpoints; every rank resumes from them.

The trainer talks to the other ranks only through a :class:`Comm` (:func:`setup` gives this
process's): the single-process :class:`Comm` does nothing (identity collectives, no wrappers),
:class:`DistributedComm` does it with ``torch.distributed``, so the trainer never asks which
it has.

Collectives time out (``--dist-timeout``, default 10 minutes) so a rank that dies can never
leave the others hanging forever; torchrun also stops the survivors when one rank fails.
"""

from __future__ import annotations

import datetime
import os
from typing import TYPE_CHECKING, Any

from ganzoo.errors import ConfigError
from ganzoo.runs.checkpoint import seed_everything

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ganzoo.build import GAN


class Comm:
    """How the processes of a run talk to each other. This form is the run of one process:
    every collective is the identity, nothing is wrapped, and it takes Ctrl-C itself.
    :class:`DistributedComm` is the torchrun form; the trainer never asks which it has."""

    rank = 0
    world_size = 1
    is_main = True
    """Rank 0: the one process that writes logs, grids and checkpoints."""
    distributed = False
    """Several processes train together (the step runs eagerly: DDP's collectives are not captured)."""
    catches_interrupts = True
    """Whether a Ctrl-C may end the loop after the running step (ranks would see it at different steps)."""

    def describe(self, device: torch.device) -> str:
        """Where the run trains, for its first line."""
        return str(device)

    def wrap(self, gan: GAN, sync_batchnorm: bool) -> dict[str, nn.Module] | None:
        """The networks the training step runs (None: the GAN's own)."""
        return None

    def seed_ranks(self, seed: int) -> None:
        """Give each rank its own dropout and trick noise from ``seed`` (one process: nothing
        to do, its stream goes on)."""

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """``values`` averaged over the ranks: the whole global batch's figures."""
        return values

    def any(self, flag: Any) -> Any:
        """Whether ``flag`` (a bool or a device tensor) is true on some rank: every rank stops together."""
        return flag

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` (a picklable object) on every rank."""
        return value

    def rank_states(self, gan: GAN, step: int, rng: dict[str, Any]) -> dict[str, Any]:
        """What a checkpoint records about the ranks besides rank 0's ``rng``: nothing for one
        process."""
        return {}

    def barrier(self) -> None:
        """Wait for every rank."""

    def teardown(self) -> None:
        """Leave the process group."""


class DistributedComm(Comm):
    """This process's place in a torchrun launch of several processes."""

    distributed = True
    catches_interrupts = False

    def __init__(self, rank: int, world_size: int, local_rank: int, backend: str, device: torch.device) -> None:
        self.rank, self.world_size, self.local_rank, self.backend = rank, world_size, local_rank, backend
        self.device = device  # where collectives' tensors live (NCCL: this rank's GPU)
        self.is_main = rank == 0

    def describe(self, device: torch.device) -> str:
        return f"{self.world_size} processes ({self.backend})"

    def wrap(self, gan: GAN, sync_batchnorm: bool) -> dict[str, nn.Module] | None:
        return wrap(gan, sync_batchnorm)

    def seed_ranks(self, seed: int) -> None:
        seed_everything(seed + self.rank)

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        values = values.clone()
        dist.all_reduce(values)
        return values / self.world_size

    def any(self, flag: Any) -> Any:
        import torch
        import torch.distributed as dist

        flag = torch.as_tensor(flag, device=self.device).to(torch.int32)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return flag.bool()

    def broadcast(self, value: Any) -> Any:
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, by rank."""
        import torch.distributed as dist

        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, value)
        return gathered

    def rank_states(self, gan: GAN, step: int, rng: dict[str, Any]) -> dict[str, Any]:
        """Every rank's RNG states (each resumes its own) and weight fingerprints, checked equal."""
        prints = self.gather(fingerprint(gan))
        if any(p != prints[0] for p in prints):
            raise RuntimeError(f"distributed ranks hold different weights at step {step}: {prints}")
        return {"rng_per_rank": self.gather(rng), "world_size": self.world_size, "rank_fingerprints": prints}

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()

    def teardown(self) -> None:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and "LOCAL_RANK" in os.environ


def setup(device_setting: str, timeout_s: float) -> tuple[Comm, torch.device]:
    """Join the process group when started by torchrun with more than one process: this
    process's :class:`Comm` and device (a plain :class:`Comm` for a single-process run)."""
    import torch
    import torch.distributed as dist

    from ganzoo.device import resolve_device

    if not launched_by_torchrun() or int(os.environ["WORLD_SIZE"]) < 2:
        return Comm(), resolve_device(device_setting)
    local_rank = int(os.environ["LOCAL_RANK"])
    wants_cuda = device_setting in ("auto", "cuda") and torch.cuda.is_available() or device_setting.startswith("cuda")
    if wants_cuda:
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {device_setting}: CUDA is not available on this machine")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device = torch.device("cpu")
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    return DistributedComm(dist.get_rank(), dist.get_world_size(), local_rank, backend, device), device


def wrap(gan: GAN, sync_batchnorm: bool) -> dict[str, nn.Module]:
    """DDP wrappers of every role's network for the training step to run (after optimizers and tricks were
    set up on the same parameters). ``gan`` keeps its bare modules: checkpoints, sampling and
    fingerprints never see a wrapper."""
    import torch
    from torch.nn.parallel import DistributedDataParallel

    if sync_batchnorm:
        if gan.device.type != "cuda":
            raise ConfigError("--sync-batchnorm needs CUDA devices (PyTorch's SyncBatchNorm runs on GPUs only)")
        # Conversion keeps the same Parameter objects, so the optimizers still hold them.
        for role, net in gan.networks.items():
            gan.networks[role] = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    ids = [gan.device.index] if gan.device.type == "cuda" else None
    # DDP broadcasts rank 0's parameters and buffers now, so every rank starts identical.
    return {role: DistributedDataParallel(net, device_ids=ids) for role, net in gan.networks.items()}


def fingerprint(gan: GAN) -> list[float]:
    """Float64 sums of every role's parameters: equal on every rank when they are in sync."""
    import torch

    with torch.no_grad():
        return [float(sum(p.double().sum() for p in net.parameters())) for net in gan.networks.values()]


