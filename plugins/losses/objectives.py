"""Adversarial losses as small classes over raw discriminator outputs."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo import Loss


class BCEWithLogits(Loss):
    """Non-saturating GAN loss: D minimises BCE(D(x), y_real) + BCE(D(G(z)), y_fake); G minimises
    BCE(D(G(z)), 1), i.e. maximises log D(G(z)) instead of minimising log(1 - D(G(z)))."""

    name = "bce"

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor,
               real_labels: torch.Tensor, fake_labels: torch.Tensor) -> torch.Tensor:
        return (F.binary_cross_entropy_with_logits(real_scores, real_labels)
                + F.binary_cross_entropy_with_logits(fake_scores, fake_labels))

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(fake_scores, torch.ones_like(fake_scores))


class Wasserstein(Loss):
    """WGAN critic loss E[D(fake)] - E[D(real)]; generator loss -E[D(fake)]. Labels are unused."""

    name = "wasserstein"

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor,
               real_labels: torch.Tensor, fake_labels: torch.Tensor) -> torch.Tensor:
        return fake_scores.mean() - real_scores.mean()

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return -fake_scores.mean()
