"""The least-squares and hinge objectives, over raw discriminator outputs."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo import Loss


class LeastSquares(Loss):
    """LSGAN (Mao et al. 2017): D minimises ½E[(D(x) − b)²] + ½E[(D(G(z)) − a)²] and G
    minimises ½E[(D(G(z)) − c)²], on linear (no sigmoid) outputs.

    b and a are the per-sample real/fake targets the trainer passes (1 and 0, the paper's 0-1
    coding, unless a label trick changes them); ``generator_target`` is c (1: G wants its
    samples scored as real).
    """

    name = "least-squares"

    def __init__(self, generator_target: float = 1.0) -> None:
        self.generator_target = float(generator_target)

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor,
               real_labels: torch.Tensor, fake_labels: torch.Tensor) -> torch.Tensor:
        return 0.5 * (F.mse_loss(real_scores, real_labels) + F.mse_loss(fake_scores, fake_labels))

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return 0.5 * (fake_scores - self.generator_target).square().mean()


class Hinge(Loss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): D minimises
    E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]; G minimises −E[D(G(z))]. Targets are unused."""

    name = "hinge"

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor,
               real_labels: torch.Tensor, fake_labels: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return -fake_scores.mean()
