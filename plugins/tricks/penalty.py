"""The WGAN-GP gradient penalty (Gulrajani et al. 2017, arXiv:1704.00028)."""

from __future__ import annotations

import torch

from ganzoo import StepState, Trick
from ganzoo.errors import ConfigError


class GradientPenalty(Trick):
    """λ · E[(‖∇D(x̂)‖₂ − target)²] on x̂ = ε·real + (1 − ε)·fake, one ε ~ U(0, 1) per sample.

    One mixing coefficient per sample (not per pixel) puts x̂ on the straight line between a
    real and a generated image, which is where the optimal critic has unit gradient norm.
    """

    name = "gradient-penalty"

    def __init__(self, weight: float = 10.0, target: float = 1.0) -> None:
        if weight < 0:
            raise ConfigError(f"trick 'gradient-penalty': weight must be >= 0, got {weight}")
        self.weight, self.target = float(weight), float(target)

    @staticmethod
    def interpolate(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
        return torch.lerp(fake, real, eps)

    def d_loss_term(self, real: torch.Tensor, fake: torch.Tensor,
                    state: StepState) -> torch.Tensor:
        mixed = self.interpolate(real.detach(), fake.detach()).requires_grad_(True)
        scores = state.discriminator(mixed)
        (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
        norms = grad.flatten(1).norm(2, dim=1)
        return self.weight * (norms - self.target).square().mean()
