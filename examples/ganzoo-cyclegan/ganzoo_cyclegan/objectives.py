"""CycleGAN's adversarial objective: least squares (LSGAN, Mao et al. 2017), as the authors'
``GANLoss('lsgan')`` with their 0.5 on the discriminator's loss."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ganzoo import Loss


class LeastSquares(Loss):
    """D minimises ½E[(D(x) − b)²] + ½E[(D(G(x')) − a)²] (the authors' ``loss_D = (real +
    fake) · 0.5``), G minimises E[(D(G(x')) − 1)²] (their ``loss_G_A = MSE(D_A(G_A(x)), 1)``),
    on raw scores. b and a are the real and fake targets the update passes (1 and 0 unless a
    label trick changes them)."""

    name = "cyclegan-least-squares"

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor,
               real_labels: torch.Tensor, fake_labels: torch.Tensor) -> torch.Tensor:
        return 0.5 * (F.mse_loss(real_scores, real_labels) + F.mse_loss(fake_scores, fake_labels))

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        return (fake_scores - 1.0).square().mean()
