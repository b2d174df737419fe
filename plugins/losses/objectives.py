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


class Hinge(Loss):
    """Hinge loss (Geometric GAN; SNGAN, BigGAN): D minimises E[max(0, 1 − D(x_r))] +
    E[max(0, 1 + D(x_f))], a margin on either side; G minimises −E[D(x_f)]. Targets are unused;
    the scores are unbounded margins, as a critic's (tagged ``critic``)."""

    name = "hinge-margin"

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor,
               real_labels: torch.Tensor, fake_labels: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return -fake_scores.mean()


class RelativisticAverage(Loss):
    """Relativistic average GAN (RaGAN): each player judges whether real images look more
    realistic than the average fake, and fakes than the average real. With C the raw score,
    D minimises BCE(C(x_r) − E C(x_f), 1) + BCE(C(x_f) − E C(x_r), 0) and G the same with the
    targets swapped. G's loss needs the real scores: the exact loss, not a stale copy."""

    name = "ragan"
    g_uses_real_scores = True

    @staticmethod
    def _relativistic(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """BCE of (first − mean second) against 1 plus (second − mean first) against 0."""
        ahead, behind = first - second.mean(), second - first.mean()
        return (F.binary_cross_entropy_with_logits(ahead, torch.ones_like(ahead))
                + F.binary_cross_entropy_with_logits(behind, torch.zeros_like(behind)))

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor,
               real_labels: torch.Tensor, fake_labels: torch.Tensor) -> torch.Tensor:
        return self._relativistic(real_scores, fake_scores)

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        if real_scores is None:
            raise ValueError("ragan's generator loss needs the real scores (g_uses_real_scores)")
        return self._relativistic(fake_scores, real_scores)
