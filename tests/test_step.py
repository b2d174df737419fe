"""The composed training step: how many generator passes a step costs, and what the generator
update is trained on."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.training.step import TrainingStep


def _count_generator_calls(gan) -> list[bool]:
    calls: list[bool] = []
    gan.generator.register_forward_hook(lambda module, args, out: calls.append(torch.is_grad_enabled()))
    return calls


@pytest.mark.parametrize("variant", ["vanilla", "wgan-gp"])
def test_generator_update_reuses_the_last_critic_batch(variant):
    gan = ganzoo.create_variant(variant, batch_size=4)
    calls = _count_generator_calls(gan)
    step = TrainingStep(gan)
    data = torch.rand(16, 1, 28, 28) * 2 - 1
    step(lambda: data[:4])
    critic_steps = gan.variant.critic_steps
    # critic_steps passes, the last one with its graph kept for the generator update
    assert calls == [False] * (critic_steps - 1) + [True]


def test_fresh_generator_batch_when_reuse_is_off():
    phases = [ganzoo.Phase("discriminator", params={"reuse_fakes": False}), ganzoo.Phase("generator")]
    gan = ganzoo.create_variant("vanilla", batch_size=4, phases=phases)
    calls = _count_generator_calls(gan)
    TrainingStep(gan)(lambda: torch.zeros(4, 1, 28, 28))
    assert calls == [False, True]


def test_generator_gradient_comes_from_the_reused_batch():
    """The generator's gradient equals the one computed by hand on the latents the last critic
    update drew, scored by the discriminator after its update."""
    torch.manual_seed(0)
    gan = ganzoo.create_variant("vanilla", batch_size=8, tricks={},
                                generator_params={"batchnorm": False},
                                discriminator_params={"dropout": 0.0})
    latents: list[torch.Tensor] = []

    def latent(n: int) -> torch.Tensor:
        latents.append(torch.randn(n, gan.latent_dim))
        return latents[-1]

    step = TrainingStep(gan, latent=latent)
    before = {k: v.clone() for k, v in gan.generator.state_dict().items()}
    gan.g_optimizer.step = lambda: None  # keep the generator's weights to recompute by hand
    step(lambda: torch.rand(8, 1, 28, 28) * 2 - 1)
    assert len(latents) == 1
    reference = ganzoo.create_variant("vanilla", batch_size=8, tricks={},
                                      generator_params={"batchnorm": False},
                                      discriminator_params={"dropout": 0.0})
    reference.generator.load_state_dict(before)
    reference.discriminator.load_state_dict(gan.discriminator.state_dict())
    loss = reference.loss.g_loss(reference.discriminator(reference.generator(latents[0])).reshape(-1))
    loss.backward()
    for mine, theirs in zip(gan.generator.parameters(), reference.generator.parameters()):
        torch.testing.assert_close(mine.grad, theirs.grad)
