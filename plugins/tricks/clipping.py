"""Clipping tricks: the discriminator's gradient values, and its weights (the WGAN constraint)."""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import StepState, Trick
from ganzoo.errors import ConfigError


def _positive(trick: str, name: str, value: float) -> float:
    if not value > 0:
        raise ConfigError(f"trick {trick!r}: {name} must be > 0, got {value}")
    return float(value)


class DiscriminatorGradClip(Trick):
    """Clamp every discriminator gradient element to [−value, value] before its update."""

    name = "d-grad-clip"
    capturable = True

    def __init__(self, value: float = 1.0) -> None:
        self.value = _positive(self.name, "value", value)

    def d_gradients(self, discriminator: nn.Module, state: StepState) -> None:
        grads = [p.grad for p in discriminator.parameters() if p.grad is not None]
        if grads:
            torch._foreach_clamp_min_(grads, -self.value)
            torch._foreach_clamp_max_(grads, self.value)


class WeightClip(Trick):
    """Clamp every critic weight to [−value, value] after each critic update (Arjovsky et al.):
    a crude way to keep the critic K-Lipschitz."""

    name = "weight-clip"
    capturable = True

    def __init__(self, value: float = 0.01) -> None:
        self.value = _positive(self.name, "value", value)

    @torch.no_grad()
    def after_d_step(self, discriminator: nn.Module, state: StepState) -> None:
        params = list(discriminator.parameters())
        torch._foreach_clamp_min_(params, -self.value)
        torch._foreach_clamp_max_(params, self.value)
