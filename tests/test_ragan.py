"""The relativistic average GAN: its generator loss uses the real scores of the discriminator
as it is after its own update (the exact loss), through the generic step."""

from __future__ import annotations

import torch

import ganzoo
from ganzoo.conformance import real_batch
from ganzoo.training.step import TrainingStep


def test_the_generator_loss_uses_fresh_real_scores():
    torch.manual_seed(0)
    gan = ganzoo.create_variant("ragan", batch_size=8)
    torch.manual_seed(0)
    # The same weights; its step is the discriminator update alone.
    twin = ganzoo.create_variant("ragan", batch_size=8, phases=[ganzoo.Phase("discriminator")])
    real = real_batch((1, 28, 28), 8, seed=3)

    torch.manual_seed(1)
    stats = TrainingStep(gan)(lambda: real)

    # The same step by hand on the twin: D update, then G's loss from D as it is now.
    torch.manual_seed(1)
    latents = []
    step = TrainingStep(twin, latent=lambda n: latents.append(twin.sample_latent(n)) or latents[-1])
    stale_real = twin.discriminator(real).reshape(-1).detach()  # before D's update
    torch.manual_seed(1)
    step(lambda: real)
    d = twin.discriminator
    fake_scores = d(twin.generator(latents[0])).reshape(-1)
    real_scores = d(real).reshape(-1)
    exact = twin.loss.g_loss(fake_scores, real_scores)
    assert torch.allclose(stats.g_loss, exact.detach(), atol=1e-6)
    stale = twin.loss.g_loss(fake_scores, stale_real)
    assert not torch.allclose(stale, exact, atol=1e-4)  # the stale approximation is measurably off


def test_ragan_loss_is_relativistic():
    loss = ganzoo.get_component("loss", "ragan").create()
    assert loss.g_uses_real_scores
    real, fake = torch.tensor([2.0, 1.0]), torch.tensor([-1.0, 0.0])
    # Shifting every score by the same amount changes nothing: only differences matter.
    assert torch.allclose(loss.d_loss(real, fake, None, None), loss.d_loss(real + 5, fake + 5, None, None))
    assert torch.allclose(loss.g_loss(fake, real), loss.d_loss(fake, real, None, None))
