"""Distributed data-parallel training with PyTorch's own engine: ``torchrun`` + DDP.

``torchrun --nproc-per-node N -m ganzoo train ...`` (or ``ganzoo train --nproc N``, which runs
exactly that) starts N processes; each finds its rank in the environment torchrun sets,
joins the process group (NCCL on GPUs, gloo on CPU), wraps G and D in
:class:`~torch.nn.parallel.DistributedDataParallel`, and trains on its own shard of every
global batch (see :mod:`ganzoo.training.sampling`). Gradients are averaged by DDP; only rank 0
writes logs, grids and checkpoints; every rank resumes from them.

Collectives time out (``--dist-timeout``, default 10 minutes) so a rank that dies can never
leave the others hanging forever; torchrun also stops the survivors when one rank fails.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ganzoo.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ganzoo.build import GAN


@dataclass(frozen=True)
class Distributed:
    """This process's place in a distributed run."""

    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and "LOCAL_RANK" in os.environ


def setup(device_setting: str, timeout_s: float) -> tuple[Distributed | None, torch.device]:
    """Join the process group when started by torchrun with more than one process.

    Returns ``(None, device)`` for a plain single-process run.
    """
    import torch
    import torch.distributed as dist

    from ganzoo.device import resolve_device

    if not launched_by_torchrun() or int(os.environ["WORLD_SIZE"]) < 2:
        return None, resolve_device(device_setting)
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
    return Distributed(dist.get_rank(), dist.get_world_size(), local_rank, backend), device


def wrap(gan: GAN, ctx: Distributed, sync_batchnorm: bool) -> dict[str, nn.Module]:
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


def all_gather(value: Any) -> list[Any]:
    import torch.distributed as dist

    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def mean_across_ranks(values: torch.Tensor) -> torch.Tensor:
    import torch.distributed as dist

    values = values.clone()
    dist.all_reduce(values)
    return values / dist.get_world_size()


def any_across_ranks(flag: torch.Tensor) -> torch.Tensor:
    import torch
    import torch.distributed as dist

    flag = flag.to(torch.int32)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return flag.bool()


def broadcast_from_main(value: Any) -> Any:
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def fingerprint(gan: GAN) -> list[float]:
    """Float64 sums of every role's parameters: equal on every rank when they are in sync."""
    import torch

    with torch.no_grad():
        return [float(sum(p.double().sum() for p in net.parameters())) for net in gan.networks.values()]


def barrier() -> None:
    import torch.distributed as dist

    dist.barrier()


def teardown() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
