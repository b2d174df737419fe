"""Latent vectors: the one place they are drawn (training batches, sample grids, sampling and
the build-time probe), truncated, and interpolated."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ganzoo.errors import ConfigError

if TYPE_CHECKING:
    import torch


MIN_TRUNCATION = 0.01  # redrawing takes ~1/(0.8·T) passes; BigGAN's smallest reported T is 0.04


def check_truncation(truncation: float | None) -> None:
    """A one-line ConfigError unless ``truncation`` is None or a number in [0.01, inf)."""
    if truncation is not None and not (MIN_TRUNCATION <= truncation < float("inf")):
        raise ConfigError(f"--truncation must be a number >= {MIN_TRUNCATION} (values beyond ±T are drawn "
                          f"again), got {truncation}")


def sample_latent(n: int, latent_dim: int, distribution: str = "normal",
                  device: torch.device | str = "cpu",
                  generator: torch.Generator | None = None,
                  truncation: float | None = None) -> torch.Tensor:
    """``n×latent_dim`` latent vectors from ``distribution`` (``normal``: N(0, 1); ``uniform``:
    U(-1, 1)): the one latent sampler (training batches, sample grids, sampling and the probe
    all draw here). ``truncation`` T (the truncation trick, Brock et al. 2018) trades variety for
    fidelity: normal values beyond ±T are drawn again until they fall within; uniform ones are
    drawn from U(-T, T) when T < 1."""
    import torch

    check_truncation(truncation)
    if distribution == "uniform":
        scale = 1.0 if truncation is None else min(1.0, float(truncation))
        return torch.rand(n, latent_dim, device=device, generator=generator).mul_(2).sub_(1).mul_(scale)
    z = torch.randn(n, latent_dim, device=device, generator=generator)
    if truncation is not None:
        outside = z.abs() > truncation
        while bool(outside.any()):  # each pass redraws ~2·Φ(-T) of the values
            z[outside] = torch.randn(int(outside.sum()), device=device, generator=generator)
            outside = z.abs() > truncation
    return z


def interpolate_latents(keyframes: torch.Tensor, frames: int, distribution: str = "normal") -> torch.Tensor:
    """The path through ``keyframes`` (``K×latent_dim``), ``frames`` steps from one to the next:
    ``(K−1)·frames + 1`` latents, the keyframes themselves exactly at positions ``0, frames,
    2·frames …``. Spherical (slerp) for normal latents, which keeps the path at the norms
    training saw; linear for uniform ones, which keeps it inside the cube."""
    import torch

    if keyframes.shape[0] < 2 or frames < 1:
        raise ConfigError(f"an interpolation needs at least 2 keyframes and 1 frame between them, "
                          f"got {keyframes.shape[0]} and {frames}")
    t = torch.arange(frames, device=keyframes.device, dtype=keyframes.dtype).div_(frames).unsqueeze(1)
    path = []
    for start, end in zip(keyframes[:-1], keyframes[1:]):
        if distribution == "uniform":
            path.append(torch.lerp(start.expand(frames, -1), end.expand(frames, -1), t))
            continue
        cosine = torch.dot(start, end) / (start.norm() * end.norm()).clamp_min(1e-12)
        angle = torch.arccos(cosine.clamp(-1, 1))
        if float(angle.sin()) < 1e-6:  # (anti)parallel: slerp is undefined, a line is as good
            path.append(torch.lerp(start.expand(frames, -1), end.expand(frames, -1), t))
            continue
        path.append((torch.sin((1 - t) * angle) * start + torch.sin(t * angle) * end) / angle.sin())
    path.append(keyframes[-1:])
    out = torch.cat(path)
    out[::frames] = keyframes  # exactly the keyframes, not their float round trip
    return out
