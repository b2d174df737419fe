"""Which parts of a latent are InfoGAN's codes, and where the Q network predicts each one.

InfoGAN (Chen et al. 2016) splits the generator's input into incompressible noise z and latent
codes c that Q must recover from G(z, c). Here the noise is every ``normal`` part of the
registered latent and the codes are its ``categorical`` and ``uniform`` parts, in the latent's
order; Q's output is the codes' predictions side by side, in the same order: a categorical
part of k classes gets k logits, a uniform part of m values gets m means (of a Gaussian of
fixed unit variance, as the paper's MNIST setting). Plain data, no torch: the network, the
update and the evaluation all read the layout from here, through ganzoo's public latent API
(:func:`ganzoo.latent.latent_parts`, :func:`ganzoo.latent.part_slices`), never from offsets.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import ConfigError, LatentPart

CODE_KINDS = ("categorical", "uniform")
"""Latent part kinds that are codes (Q predicts them); ``normal`` parts are the noise."""


@dataclass(frozen=True)
class Code:
    """One code of the latent: its part, its slice of the latent vector, its slice of Q's output."""

    part: LatentPart
    latent: slice
    output: slice

    @property
    def categorical(self) -> bool:
        return self.part.kind == "categorical"


def code_layout(distribution: str, latent_dim: int) -> tuple[Code, ...]:
    """The codes of the registered latent ``distribution`` sized for ``latent_dim``, in order. A
    latent without a code is a one-line :class:`ganzoo.ConfigError`."""
    from ganzoo.latent import latent_parts, part_slices

    parts = latent_parts(distribution, latent_dim)
    where = part_slices(parts)
    codes, start = [], 0
    for part in parts:
        if part.kind in CODE_KINDS:
            assert part.size is not None  # latent_parts sizes every part
            codes.append(Code(part, where[part.name], slice(start, start + part.size)))
            start += part.size
    if not codes:
        listing = ", ".join(str(part) for part in parts)
        raise ConfigError(f"latent {distribution!r} has no code for InfoGAN's Q to recover (no categorical or "
                          f"uniform part; its parts: {listing})")
    return tuple(codes)


def q_outputs(codes: tuple[Code, ...]) -> int:
    """How many numbers Q predicts for ``codes``."""
    return codes[-1].output.stop
