"""The trick points on the generator's side and the real-only transform: each reaches the step
where the contract says, through an in-process plugin."""

from __future__ import annotations

import types

import torch

import ganzoo
from ganzoo import hookimpl
from ganzoo.conformance import real_batch
from ganzoo.training.capture import capture_blockers
from ganzoo.training.step import TrainingStep


class NegateReals(ganzoo.Trick):
    name = "negate-reals"
    seen: list[torch.Tensor] = []

    def real_input(self, images, state):
        return -images

    def d_loss_term(self, real, fake, state):
        NegateReals.seen.append(real.detach().clone())
        return None


class PullsFakesDown(ganzoo.Trick):  # no name attribute: notices use the registered name
    def g_loss_term(self, fake, state):
        return 100.0 * fake.mean()


class FreezesGenerator(ganzoo.Trick):
    name = "freezes-generator"

    def g_gradients(self, generator, state):
        for param in generator.parameters():
            if param.grad is not None:
                param.grad.zero_()


def _register(fresh_plugins) -> None:
    def register_tricks(register):
        register("negate-reals", NegateReals)
        register("pulls-fakes-down", PullsFakesDown)
        register("freezes-generator", FreezesGenerator)
    fresh_plugins.get_host().add_plugin(types.SimpleNamespace(register_tricks=hookimpl(register_tricks)),
                                        "points-test")


def _one_step(tricks: list[str]) -> ganzoo.GAN:
    torch.manual_seed(0)
    gan = ganzoo.create_variant("dcgan", batch_size=4, tricks=tricks)
    real = real_batch((1, 28, 28), 4, seed=1)
    torch.manual_seed(1)
    TrainingStep(gan)(lambda: real)
    return gan


def _generator_weights(gan: ganzoo.GAN) -> list[torch.Tensor]:
    return [p.detach().clone() for p in gan.generator.parameters()]


def test_real_input_transforms_real_images_for_the_whole_discriminator_update(fresh_plugins):
    _register(fresh_plugins)
    NegateReals.seen.clear()
    _one_step(["negate-reals"])
    [seen] = NegateReals.seen
    assert torch.equal(seen, -real_batch((1, 28, 28), 4, seed=1))


def test_g_loss_term_and_g_gradients_reach_the_generator_update(fresh_plugins):
    _register(fresh_plugins)
    torch.manual_seed(0)
    untrained = _generator_weights(ganzoo.create_variant("dcgan", batch_size=4))
    plain = _generator_weights(_one_step([]))
    pulled = _generator_weights(_one_step(["pulls-fakes-down"]))
    frozen = _generator_weights(_one_step(["freezes-generator"]))
    assert any(not torch.equal(a, b) for a, b in zip(plain, pulled))  # the term changed G's update
    assert all(torch.equal(a, b) for a, b in zip(untrained, frozen))  # zero gradients: no update
    assert any(not torch.equal(a, b) for a, b in zip(untrained, plain))


def test_new_points_count_for_capturability(fresh_plugins):
    """Also a regression: the notice named a trick class without a ``name`` attribute 'trick'."""
    _register(fresh_plugins)
    gan = ganzoo.create_variant("dcgan", batch_size=4, tricks=["pulls-fakes-down", "freezes-generator"])
    reasons = " ".join(capture_blockers(gan))
    assert "'pulls-fakes-down' is not marked capturable (it overrides g_loss_term)" in reasons
    assert "(it overrides g_gradients)" in reasons
