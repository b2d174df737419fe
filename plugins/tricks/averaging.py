"""Generator EMA: sample from an exponential moving average of the generator's weights.

Averaging smooths out the oscillation of adversarial training; samples from the average are
usually better than from the last iterate (Yazıcı et al. 2019, arXiv:1806.04498; Karras et al.).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from ganzoo import StepState, Trick
from ganzoo.errors import ConfigError


class GeneratorEMA(Trick):
    """θ_ema ← d·θ_ema + (1 − d)·θ after every generator step; buffers (BatchNorm statistics)
    are copied, and recomputed for the averaged weights before sampling (the core's standing
    statistics). With ``warmup`` the decay is min(d, (1 + t) / (10 + t)) so the average does not
    stay anchored at the random initial weights in short runs."""

    name = "ema"
    capturable = True

    def __init__(self, decay: float = 0.999, warmup: bool = True) -> None:
        if not 0.0 <= decay < 1.0:
            raise ConfigError(f"trick 'ema': decay must be in [0, 1), got {decay}")
        self.decay, self.warmup = float(decay), bool(warmup)
        self.ema: nn.Module | None = None

    def setup(self, generator: nn.Module, discriminator: nn.Module) -> None:
        self.ema = copy.deepcopy(generator).eval().requires_grad_(False)

    def schedule(self, step: torch.Tensor) -> torch.Tensor:
        """The decay at ``step`` (a tensor: the step's device clock, so a captured step keeps
        following the warm-up)."""
        if not self.warmup:
            return torch.full_like(step, self.decay)
        return torch.clamp((1 + step) / (10 + step), max=self.decay)

    def decay_at(self, step: int) -> float:
        return float(self.schedule(torch.tensor(float(step))))

    @torch.no_grad()
    def after_g_step(self, generator: nn.Module, state: StepState) -> None:
        assert self.ema is not None, "setup() was not called"
        weight: float | torch.Tensor = 1.0 - self.schedule(state.step_tensor) if self.warmup else 1.0 - self.decay
        ema_params = list(self.ema.parameters())
        params = [p.detach() for p in generator.parameters()]
        if isinstance(weight, torch.Tensor):  # a tensor passed as a Scalar would be read on the host
            torch._foreach_lerp_(ema_params, params, [weight] * len(params))
        else:
            torch._foreach_lerp_(ema_params, params, weight)
        for ema_buffer, buffer in zip(self.ema.buffers(), generator.buffers()):
            ema_buffer.copy_(buffer)

    def sampling_generator(self) -> nn.Module | None:
        return self.ema

    def state_dict(self) -> dict[str, Any]:
        return {"ema": self.ema.state_dict()} if self.ema is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.ema is not None and "ema" in state:
            self.ema.load_state_dict(state["ema"])
