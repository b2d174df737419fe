"""CycleGAN's two phases. Each uses only what :class:`ganzoo.StepContext` gives: the networks
by role, their optimizers, the real batch (the run's images, domain A, and the field the
variant translates from, domain B) and the recipe's loss.

The roles: ``generator`` G: B → A (the translator ganzoo samples, evaluates and exports),
``generator_ab`` F: A → B, ``discriminator`` D_A (real A vs G(b)) and ``discriminator_b`` D_B
(real B vs F(a)).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch.nn import functional as F

from ganzoo import ConfigError, StepContext, Update


def _weight(update: str, name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ConfigError(f"update {update!r}: {name} must be a number >= 0, got {value!r}")
    return float(value)


def _domains(step: StepContext) -> tuple[torch.Tensor, torch.Tensor]:
    """A real batch of each domain, unpaired: the run's images (A) and the images of the field
    the generator translates from (B), drawn with their own indices."""
    batch = step.next_batch()
    return batch.images, batch[step.gan.variant.translate_from]


class Generators(Update):
    """G (B → A) and F (A → B) trained together on one loss (the paper's eq. 3 and the
    authors' ``backward_G``):

    - adversarial: ``g_loss`` of D_A on G(b) + ``g_loss`` of D_B on F(a), through the frozen
      discriminators, with the recipe's loss (least squares in the paper);
    - cycle consistency: ``cycle_weight`` × (‖F(G(b)) − b‖₁ + ‖G(F(a)) − a‖₁), λ = 10;
    - identity: ``identity_weight`` × (‖G(a) − a‖₁ + ‖F(b) − b‖₁); by default half of
      ``cycle_weight``, as the authors' ``lambda_identity = 0.5`` (scaled by λ).

    The L1 terms are means over pixels. Statistics: ``g_loss`` (the two adversarial terms),
    ``cycle_loss`` and ``identity_loss`` (unweighted). The real batches and the (detached)
    translations go to the discriminators' phase through ``step.carry``.
    """

    name = "cyclegan-generators"
    capturable = True  # the same device work every step: no host reads

    def __init__(self, cycle_weight: float = 10.0, identity_weight: float | None = None) -> None:
        self.cycle_weight = _weight(self.name, "cycle_weight", cycle_weight)
        self.identity_weight = (0.5 * self.cycle_weight if identity_weight is None
                                else _weight(self.name, "identity_weight", identity_weight))

    def run(self, step: StepContext) -> Mapping[str, torch.Tensor]:
        loss_fn = step.gan.loss
        real_a, real_b = _domains(step)
        with step.frozen("discriminator", "discriminator_b") as frozen:
            fake_a = step.run("generator", real_b)        # G(b): B → A
            fake_b = step.run("generator_ab", real_a)     # F(a): A → B
            adversarial = (loss_fn.g_loss(step.discriminate(fake_a, network=frozen["discriminator"])[0])
                           + loss_fn.g_loss(frozen["discriminator_b"](fake_b).reshape(-1)))
            cycle = (F.l1_loss(step.run("generator_ab", fake_a), real_b)
                     + F.l1_loss(step.run("generator", fake_b), real_a))
            loss = adversarial + self.cycle_weight * cycle
            stats = {"g_loss": adversarial.detach(), "cycle_loss": cycle.detach()}
            if self.identity_weight > 0:
                identity = (F.l1_loss(step.run("generator", real_a), real_a)
                            + F.l1_loss(step.run("generator_ab", real_b), real_b))
                loss = loss + self.identity_weight * identity
                stats["identity_loss"] = identity.detach()
            step.optimize(loss, "generator", "generator_ab")
        step.carry.update(real_a=real_a, real_b=real_b, fake_a=fake_a.detach(), fake_b=fake_b.detach())
        return stats


class Discriminators(Update):
    """D_A learns real A from G(b), D_B real B from F(a), each with the recipe's ``d_loss``
    (least squares in the paper, with its ½) on the same batches the generators' phase used
    and its translations, detached (the authors' ``backward_D_A``/``backward_D_B``; without
    their pool of 50 past translations, see the README). Run first, or on its own, it draws
    its own batches and translates them without gradients. Statistics: ``d_loss`` (D_A's),
    ``d_b_loss`` (D_B's), ``d_real`` and ``d_fake`` (D_A's mean scores)."""

    name = "cyclegan-discriminators"
    capturable = True

    def run(self, step: StepContext) -> Mapping[str, torch.Tensor]:
        carry = step.carry
        if "fake_a" in carry:
            real_a, real_b, fake_a, fake_b = (carry.pop(key) for key in ("real_a", "real_b", "fake_a", "fake_b"))
        else:
            real_a, real_b = _domains(step)
            with torch.no_grad():
                fake_a, fake_b = step.run("generator", real_b), step.run("generator_ab", real_a)
        loss_fn = step.gan.loss
        ones = torch.ones(real_a.shape[0], device=real_a.device)
        zeros = torch.zeros(real_a.shape[0], device=real_a.device)
        real_scores, fake_scores = step.discriminate(real_a)[0], step.discriminate(fake_a)[0]
        d_a = loss_fn.d_loss(real_scores, fake_scores, ones, zeros)
        d_b = loss_fn.d_loss(step.run("discriminator_b", real_b).reshape(-1),
                             step.run("discriminator_b", fake_b).reshape(-1), ones, zeros)
        # One backward pass: the two discriminators share no parameters, so the sum trains each
        # on its own loss.
        step.optimize(d_a + d_b, "discriminator", "discriminator_b")
        return {"d_loss": d_a.detach(), "d_b_loss": d_b.detach(),
                "d_real": real_scores.detach().mean(), "d_fake": fake_scores.detach().mean()}
