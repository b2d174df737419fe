"""BiGAN's two updates. Each uses only what :class:`ganzoo.StepContext` gives: the networks by
role, their optimizers, the real batch and latent draws, the recipe's loss and trick points."""

from __future__ import annotations

import torch

from ganzoo import StepContext, Update


def _pairs(step: StepContext, images: torch.Tensor, z: torch.Tensor, discriminator) -> tuple[torch.Tensor, torch.Tensor]:
    """D's scores of (x, E(x)) and (G(z), z)."""
    nets = step.networks
    return discriminator(images, nets["encoder"](images)), discriminator(nets["generator"](z), z)


class DiscriminatorUpdate(Update):
    """D learns to tell real pairs (x, E(x)) from generated ones (G(z), z), with the recipe's
    loss (BCE in the paper) and its discriminator trick points."""

    name = "bigan-discriminator"
    capturable = True

    def run(self, step: StepContext):
        gan, state = step.gan, step.state
        real = step.next_real()
        for trick in step.tricks("real_input"):
            real = trick.real_input(real, state)
        z = step.latent(real.shape[0])
        discriminator = step.networks["discriminator"]
        with torch.no_grad():
            encoded, generated = step.networks["encoder"](real), step.networks["generator"](z)
        real_scores, fake_scores = discriminator(real, encoded), discriminator(generated, z)
        ones, zeros = torch.ones_like(real_scores), torch.zeros_like(fake_scores)
        loss = gan.loss.d_loss(real_scores, fake_scores, ones, zeros)
        step.optimize(loss, "discriminator", before_step="d_gradients", after_step="after_d_step")
        step.carry["real"] = real
        return {"d_loss": loss.detach(), "d_real": real_scores.detach().mean(),
                "d_fake": fake_scores.detach().mean()}


class GeneratorEncoderUpdate(Update):
    """G and E are trained together to make D mistake one kind of pair for the other: the
    "inverted targets" objective the paper uses in practice (the loss's D objective with real
    and generated pairs swapped), through the frozen D, each network with its own optimizer."""

    name = "bigan-generator-encoder"
    capturable = True

    def run(self, step: StepContext):
        gan = step.gan
        real = step.carry.get("real")
        if real is None:
            real = step.next_real()
        z = step.latent(real.shape[0])
        with step.frozen("discriminator") as frozen:
            real_scores, fake_scores = _pairs(step, real, z, frozen["discriminator"])
            ones, zeros = torch.ones_like(real_scores), torch.zeros_like(fake_scores)
            loss = gan.loss.d_loss(fake_scores, real_scores, ones, zeros)
            step.optimize(loss, "generator", "encoder", before_step="g_gradients", after_step="after_g_step")
        return {"g_loss": loss.detach()}
