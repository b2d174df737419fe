"""Instance noise: Gaussian noise on every discriminator input, decaying linearly to zero.

Noise makes the real and generated distributions overlap early in training, so the
discriminator cannot separate them perfectly and its gradients stay informative
(Sønderby et al. 2016, arXiv:1610.04490; Arjovsky & Bottou 2017).
"""

from __future__ import annotations

import torch

from ganzoo import StepState, Trick
from ganzoo.errors import ConfigError

FALLBACK_ANNEAL_STEPS = 10_000


class InstanceNoise(Trick):
    """Adds N(0, σ_t²) to real and fake D inputs with σ_t = σ · max(0, 1 − step / T).

    T is ``anneal_steps`` if given, else the run's planned length, else 10,000 steps.
    """

    name = "instance-noise"
    capturable = True

    def __init__(self, sigma: float = 0.1, anneal_steps: int | None = None) -> None:
        if sigma < 0:
            raise ConfigError(f"trick 'instance-noise': sigma must be >= 0, got {sigma}")
        if anneal_steps is not None and anneal_steps < 1:
            raise ConfigError(f"trick 'instance-noise': anneal_steps must be >= 1, got {anneal_steps}")
        self.sigma, self.anneal_steps = float(sigma), anneal_steps

    def schedule(self, step: torch.Tensor, total_steps: int | None = None) -> torch.Tensor:
        """σ at ``step`` (a tensor: the step's device clock, so a captured step keeps decaying)."""
        horizon = self.anneal_steps or total_steps or FALLBACK_ANNEAL_STEPS
        return (1.0 - step / horizon).clamp(min=0.0) * self.sigma

    def sigma_at(self, step: int, total_steps: int | None = None) -> float:
        return float(self.schedule(torch.tensor(float(step)), total_steps))

    def d_input(self, images: torch.Tensor, state: StepState) -> torch.Tensor:
        if self.sigma == 0.0:
            return images
        return images + self.schedule(state.step_tensor, state.total_steps) * torch.randn_like(images)
