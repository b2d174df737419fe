"""Tricks on the discriminator's targets: one-sided label smoothing and label noise."""

from __future__ import annotations

import torch

from ganzoo import StepState, Trick
from ganzoo.errors import ConfigError


def _check_range(name: str, bounds: tuple[float, float]) -> tuple[float, float]:
    low, high = (float(b) for b in bounds)
    if not low <= high:
        raise ConfigError(f"trick 'label-noise': {name} range must be (low, high) with low <= high, got {bounds}")
    return low, high


class LabelSmoothing(Trick):
    """Real targets become ``real`` (0.9: Salimans et al. 2016's one-sided smoothing); fake
    targets become ``fake`` (0 keeps it one-sided)."""

    name = "label-smoothing"
    capturable = True

    def __init__(self, real: float = 0.9, fake: float = 0.0) -> None:
        self.real, self.fake = float(real), float(fake)

    def labels(self, real: torch.Tensor, fake: torch.Tensor,
               state: StepState) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.full_like(real, self.real), torch.full_like(fake, self.fake)


class LabelNoise(Trick):
    """Per-sample random targets: real ~ U(0.7, 1.2), fake ~ U(0, 0.3) by default."""

    name = "label-noise"
    capturable = True

    def __init__(self, real: tuple[float, float] = (0.7, 1.2),
                 fake: tuple[float, float] = (0.0, 0.3)) -> None:
        self.real, self.fake = _check_range("real", real), _check_range("fake", fake)

    def labels(self, real: torch.Tensor, fake: torch.Tensor,
               state: StepState) -> tuple[torch.Tensor, torch.Tensor]:
        (r_lo, r_hi), (f_lo, f_hi) = self.real, self.fake
        real_targets = torch.rand_like(real).mul_(r_hi - r_lo).add_(r_lo)
        fake_targets = torch.rand_like(fake).mul_(f_hi - f_lo).add_(f_lo)
        return real_targets, fake_targets
