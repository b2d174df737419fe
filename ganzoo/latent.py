"""Latent vectors: the one place they are drawn (training batches, sample grids, sampling and
the build-time probe), truncated, fixed in part (``--code``), and interpolated.

A latent is a registered list of named parts (:class:`ganzoo.specs.LatentPart`, registered with
``register_latents``); a latent vector is the concatenation of its parts, drawn part by part in
order from one random generator. The built-in ``normal`` and ``uniform`` latents are one part
each, so their draws are what one ``torch.randn``/``torch.rand`` of the whole vector gives.
Nothing here imports torch at module level.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ganzoo.errors import ConfigError
from ganzoo.plugins import get_registry
from ganzoo.specs import LatentPart, check_parts, describe_parts, fit_parts

if TYPE_CHECKING:
    import torch

    Distribution = str | Sequence[LatentPart]
    """A registered latent's name, or its parts."""


MIN_TRUNCATION = 0.01  # redrawing takes ~1/(0.8·T) passes; BigGAN's smallest reported T is 0.04


def check_truncation(truncation: float | None) -> None:
    """A one-line ConfigError unless ``truncation`` is None or a number in [0.01, inf)."""
    if truncation is not None and not (MIN_TRUNCATION <= truncation < float("inf")):
        raise ConfigError(f"--truncation must be a number >= {MIN_TRUNCATION} (values beyond ±T are drawn "
                          f"again), got {truncation}")


# -- parts ---------------------------------------------------------------------------------


def latent_parts(distribution: Distribution, latent_dim: int) -> tuple[LatentPart, ...]:
    """The parts of ``distribution`` (a registered latent's name, or parts) sized for
    ``latent_dim``: every part's size set, in order. An unknown name is an
    :class:`~ganzoo.errors.UnknownNameError`; parts that do not fit a one-line ConfigError."""
    if isinstance(distribution, str):
        parts = get_registry().component("latent", distribution).parts
        try:
            return fit_parts(parts, latent_dim)
        except ConfigError as err:
            raise ConfigError(f"latent {distribution!r}: {err}") from None
    return fit_parts(check_parts(list(distribution)), latent_dim)


def is_structured(parts: Sequence[LatentPart]) -> bool:
    """Whether a latent is more than one vector of numbers (several parts, or a class)."""
    return len(parts) > 1 or not parts[0].continuous


def part_slices(parts: Sequence[LatentPart]) -> dict[str, slice]:
    """Where each (sized) part lies in the latent vector, by name."""
    slices, start = {}, 0
    for part in parts:
        assert part.size is not None, "sized parts: see latent_parts"
        slices[part.name] = slice(start, start + part.size)
        start += part.size
    return slices


# -- fixed codes (ganzoo sample --code NAME=VALUE) -----------------------------------------


Codes = Mapping[str, Any]
"""Fixed values of parts by name: a class index for a categorical part; a number (every value of
the part) or ``size`` numbers for a continuous one."""


def check_codes(parts: Sequence[LatentPart], codes: Codes | None) -> dict[str, tuple[float, ...]]:
    """``codes`` checked against the (sized) ``parts``: each part's fixed slice of the latent
    vector by name (a categorical class as its one-hot values). A one-line ConfigError naming the
    part and listing the parts when a name or value does not fit."""
    fixed: dict[str, tuple[float, ...]] = {}
    by_name = {part.name: part for part in parts}
    listing = f"the parts: {describe_parts(parts)}"
    for name, value in (codes or {}).items():
        part = by_name.get(name)
        if part is None:
            raise ConfigError(f"the latent has no part {name!r} ({listing})")
        assert part.size is not None, "sized parts: see latent_parts"
        if not part.continuous:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < part.size:
                raise ConfigError(f"part {name!r} is categorical: give a class index 0..{part.size - 1}, "
                                  f"got {value!r} ({listing})")
            fixed[name] = tuple(1.0 if i == value else 0.0 for i in range(part.size))
            continue
        values = [value] if isinstance(value, (int, float)) else value
        if (not isinstance(values, (list, tuple)) or len(values) not in (1, part.size)
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                           for v in values)):
            wanted = "a finite number" + (f" or {part.size} comma-separated numbers" if part.size > 1 else "")
            raise ConfigError(f"part {name!r} is {part.kind} with {part.size} value{'s' * (part.size > 1)}: give "
                              f"{wanted}, got {value!r} ({listing})")
        fixed[name] = tuple(float(v) for v in values) * (part.size if len(values) == 1 else 1)
    return fixed


def parse_codes(texts: Sequence[str], parts: Sequence[LatentPart], flag: str = "--code") -> dict[str, Any]:
    """``NAME=VALUE`` texts (repeatable ``--code``) as codes for :func:`check_codes`, checked:
    a categorical part takes a class index, a continuous one a number or comma-separated
    numbers. A one-line ConfigError naming the flag and listing the parts otherwise."""
    codes: dict[str, Any] = {}
    for text in texts:
        name, equals, value = (piece.strip() for piece in text.partition("="))
        try:
            if not equals or not name:
                raise ConfigError(f"give NAME=VALUE ({'the parts: ' + describe_parts(parts)})")
            if name in codes:
                raise ConfigError(f"part {name!r} is fixed twice")
            part = next((p for p in parts if p.name == name), None)
            if part is not None and not part.continuous:
                codes[name] = int(value) if value.lstrip("-").isdigit() else value
            else:
                numbers = [_number(piece) for piece in value.split(",")]
                codes[name] = numbers[0] if len(numbers) == 1 else numbers
            check_codes(parts, {name: codes[name]})
        except ConfigError as err:
            raise ConfigError(f"{flag} {text}: {err}") from None
    return codes


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text.strip()  # check_codes names it as given


# -- drawing -------------------------------------------------------------------------------


def one_hot(index: torch.Tensor, classes: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``index`` (int64 ``N``) as one-hot rows ``N×classes``; no host sync (CUDA-graph safe)."""
    import torch

    arange = torch.arange(classes, device=index.device)
    return (index.unsqueeze(-1) == arange).to(dtype or torch.get_default_dtype())


def _draw(part: LatentPart, n: int, device: torch.device | str, generator: torch.Generator | None,
          truncation: float | None) -> torch.Tensor:
    import torch

    size = part.size
    assert size is not None, "sized parts: see latent_parts"
    if part.kind == "uniform":
        scale = 1.0 if truncation is None else min(1.0, float(truncation))
        return torch.rand(n, size, device=device, generator=generator).mul_(2).sub_(1).mul_(scale)
    if part.kind == "categorical":
        return one_hot(torch.randint(size, (n,), device=device, generator=generator), size)
    z = torch.randn(n, size, device=device, generator=generator)
    if truncation is not None:
        outside = z.abs() > truncation
        while bool(outside.any()):  # each pass redraws ~2·Φ(-T) of the values
            z[outside] = torch.randn(int(outside.sum()), device=device, generator=generator)
            outside = z.abs() > truncation
    return z


def sample_latent(n: int, latent_dim: int, distribution: Distribution = "normal",
                  device: torch.device | str = "cpu",
                  generator: torch.Generator | None = None,
                  truncation: float | None = None, codes: Codes | None = None) -> torch.Tensor:
    """``n×latent_dim`` latent vectors of ``distribution`` (a registered latent's name, or its
    parts): the one latent sampler (training batches, sample grids, sampling and the probe all
    draw here). Each part is drawn in turn from ``generator``: ``normal`` N(0, 1), ``uniform``
    U(-1, 1), ``categorical`` a uniform class as one-hot values. ``truncation`` T (the
    truncation trick, Brock et al. 2018) trades variety for fidelity in the continuous parts:
    normal values beyond ±T are drawn again until they fall within; uniform ones are drawn from
    U(-T, T) when T < 1; classes are never truncated. ``codes`` fix parts by name for every
    latent (:func:`check_codes`), after the draw, so the other parts are the ones drawn without
    them."""
    import torch

    check_truncation(truncation)
    parts = latent_parts(distribution, latent_dim)
    fixed = check_codes(parts, codes)
    chunks = [_draw(part, n, device, generator, truncation) for part in parts]
    z = chunks[0] if len(chunks) == 1 else torch.cat(chunks, dim=1)
    slices = part_slices(parts)
    for name, values in fixed.items():
        z[:, slices[name]] = torch.tensor(values, dtype=z.dtype, device=z.device)
    return z


def draw_sources(sources: torch.Tensor, n: int, device: torch.device | str | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` images drawn uniformly (with replacement) from ``sources``, a translating
    generator's input where a latent generator's is :func:`sample_latent`: the one place they
    are drawn (training batches, sample grids, sampling). The indices come from ``generator``
    on its own device (``sources``' when None); the images land on ``device``."""
    import torch

    rng_device = generator.device if generator is not None else sources.device
    index = torch.randint(sources.shape[0], (n,), device=rng_device, generator=generator)
    return sources[index.to(sources.device)].to(sources.device if device is None else device)


def interpolate_latents(keyframes: torch.Tensor, frames: int, distribution: Distribution = "normal") -> torch.Tensor:
    """The path through ``keyframes`` (``K×latent_dim``), ``frames`` steps from one to the next:
    ``(K−1)·frames + 1`` latents, the keyframes themselves exactly at positions ``0, frames,
    2·frames …``. Part by part: spherical (slerp) for normal parts, which keeps the path at the
    norms training saw; linear for uniform ones, which keeps it inside the cube; a categorical
    part keeps the first keyframe's class up to half way, then takes the next one's (a mixture
    of classes is no input the generator was trained on)."""
    import torch

    if keyframes.shape[0] < 2 or frames < 1:
        raise ConfigError(f"an interpolation needs at least 2 keyframes and 1 frame between them, "
                          f"got {keyframes.shape[0]} and {frames}")
    parts = latent_parts(distribution, keyframes.shape[1])
    slices = part_slices(parts)
    t = torch.arange(frames, device=keyframes.device, dtype=keyframes.dtype).div_(frames).unsqueeze(1)
    path = []
    for start, end in zip(keyframes[:-1], keyframes[1:]):
        pieces = [_segment(part.kind, start[slices[part.name]], end[slices[part.name]], t) for part in parts]
        path.append(pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=1))
    path.append(keyframes[-1:])
    out = torch.cat(path)
    out[::frames] = keyframes  # exactly the keyframes, not their float round trip
    return out


def _segment(kind: str, start: torch.Tensor, end: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``len(t)`` steps of one part from ``start`` towards ``end`` (``t`` in [0, 1), a column)."""
    import torch

    frames = t.shape[0]
    if kind == "categorical":
        return torch.where(t < 0.5, start.expand(frames, -1), end.expand(frames, -1))
    if kind == "uniform":
        return torch.lerp(start.expand(frames, -1), end.expand(frames, -1), t)
    cosine = torch.dot(start, end) / (start.norm() * end.norm()).clamp_min(1e-12)
    angle = torch.arccos(cosine.clamp(-1, 1))
    if float(angle.sin()) < 1e-6:  # (anti)parallel: slerp is undefined, a line is as good
        return torch.lerp(start.expand(frames, -1), end.expand(frames, -1), t)
    return (torch.sin((1 - t) * angle) * start + torch.sin(t * angle) * end) / angle.sin()
