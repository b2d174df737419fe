"""Gradient penalties on the discriminator: WGAN-GP's on interpolates (Gulrajani et al. 2017,
arXiv:1704.00028) and R1 on real images (Mescheder et al. 2018)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ganzoo import StepState, Trick
from ganzoo.errors import ConfigError


def input_gradients(score: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor) -> torch.Tensor:
    """∇ₓ D(x) per sample, flattened, with the graph kept so a penalty on it trains D;
    ``score`` is :attr:`ganzoo.StepState.score` (a conditional discriminator scores the images
    as the classes of the update's real batch)."""
    images = images.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(score(images).sum(), images, create_graph=True)
    return grad.flatten(1)


class GradientPenalty(Trick):
    """λ · E[(‖∇D(x̂)‖₂ − target)²] on x̂ = ε·real + (1 − ε)·fake, one ε ~ U(0, 1) per sample.

    One mixing coefficient per sample (not per pixel) puts x̂ on the straight line between a
    real and a generated image, which is where the optimal critic has unit gradient norm.
    """

    name = "gradient-penalty"
    capturable = True

    def __init__(self, weight: float = 10.0, target: float = 1.0) -> None:
        if weight < 0:
            raise ConfigError(f"trick 'gradient-penalty': weight must be >= 0, got {weight}")
        self.weight, self.target = float(weight), float(target)

    @staticmethod
    def interpolate(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
        # Under bf16 autocast the fakes come out in bf16; mix in the real images' precision.
        return torch.lerp(fake.to(real.dtype), real, eps)

    def d_loss_term(self, real: torch.Tensor, fake: torch.Tensor,
                    state: StepState) -> torch.Tensor:
        mixed = self.interpolate(real.detach(), fake.detach())
        norms = input_gradients(state.score, mixed).norm(2, dim=1)
        penalty = self.weight * (norms - self.target).square().mean()
        state.report("gradient_penalty", penalty)
        return penalty


class R1Penalty(Trick):
    """γ/2 · E[‖∇D(x)‖²] on real images only: a zero-centred penalty that keeps the
    discriminator flat on the data, so the generator is not pushed past it (Mescheder et al. 2018,
    arXiv:1801.04406). Works with any loss. Applied in every discriminator update; StyleGAN2's
    lazy regularisation (every k steps, scaled by k) is the ``lazy-r1`` phase, the one way to
    do it (``every`` > 1 here is refused in one line that names the phase)."""

    name = "r1"
    capturable = True

    def __init__(self, gamma: float = 10.0, every: int = 1) -> None:
        if gamma < 0:
            raise ConfigError(f"trick 'r1': gamma must be >= 0, got {gamma}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError(f"trick 'r1': every must be a positive integer, got {every!r}")
        self.gamma, self.every = float(gamma), every

    def setup(self, generator: nn.Module, discriminator: nn.Module | None) -> None:
        # Refused when training is built, not when constructed: a run saved by ganzoo 0.2 with
        # every > 1 can still be sampled, evaluated and exported (sampling never sets this up).
        if self.every > 1:
            phase = f'{{update = "lazy-r1", every = {self.every}, params = {{gamma = {self.gamma!r}}}}}'
            raise ConfigError(f"trick 'r1': lazy R1 (every={self.every}) is the lazy-r1 phase since ganzoo 0.3: "
                              f"replace the trick with {phase} in the recipe's phases (README: phases)")

    def d_loss_term(self, real: torch.Tensor, fake: torch.Tensor,
                    state: StepState) -> torch.Tensor:
        grad = input_gradients(state.score, real)
        penalty = (0.5 * self.gamma) * grad.square().sum(1).mean()
        state.report("r1_penalty", penalty)
        return penalty
