"""Latent vectors: the one place they are drawn (training batches, sample grids, sampling and
the build-time probe)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def sample_latent(n: int, latent_dim: int, distribution: str = "normal",
                  device: torch.device | str = "cpu",
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """``n×latent_dim`` latent vectors from ``distribution`` (``normal``: N(0, 1); ``uniform``:
    U(-1, 1)): the one latent sampler (training batches, sample grids, sampling and the probe
    all draw here)."""
    import torch

    if distribution == "uniform":
        return torch.rand(n, latent_dim, device=device, generator=generator).mul_(2).sub_(1)
    return torch.randn(n, latent_dim, device=device, generator=generator)
