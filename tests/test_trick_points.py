"""The trick points on the generator's side and the real-only transform: each reaches the step
where the contract says, through an in-process plugin."""

from __future__ import annotations

import math
import types

import torch
from torch import nn

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


# -- tricks see every role (issue 33): setup_networks, and StepState.trained in a joint update ---


class FreezesAllTrained(ganzoo.Trick):
    """Zeroes the gradients of every network its update trains, and records what it was given."""

    name = "freezes-all-trained"
    setups: list[tuple[str, ...]] = []
    handed: list[tuple[nn.Module, tuple[str, ...]]] = []

    def setup_networks(self, networks):
        FreezesAllTrained.setups.append(tuple(networks))

    def g_gradients(self, generator, state):
        FreezesAllTrained.handed.append((generator, tuple(state.trained)))
        for network in state.trained.values():
            for param in network.parameters():
                if param.grad is not None:
                    param.grad.zero_()


class Encoder(nn.Module):
    def __init__(self, image_shape, latent_dim):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(image_shape), latent_dim))

    def forward(self, images):
        return self.net(images)


class JointUpdate(ganzoo.Update):
    """Generator and encoder trained on one loss, as BiGAN's second phase does."""

    name = "joint"

    def run(self, step):
        fake = step.run("generator", step.latent(4))
        loss = step.run("encoder", fake).square().mean() + fake.mean()
        step.optimize(loss, "generator", "encoder", before_step="g_gradients", after_step="after_g_step")
        return {"g_loss": loss.detach()}


def test_a_trick_sees_every_role_at_setup_and_every_trained_network_of_a_joint_update(fresh_plugins):
    # Regression: setup got only (generator, discriminator) and optimize handed the points the
    # first role's network alone, so an encoder trained beside the generator was out of reach.
    def register_tricks(register):
        register("freezes-all-trained", FreezesAllTrained)

    def register_networks(register):
        register("encoder-test", Encoder)

    def register_updates(register):
        register("joint", JointUpdate, roles=("generator", "encoder"), points=("g_gradients",))

    fresh_plugins.get_host().add_plugin(types.SimpleNamespace(
        register_tricks=hookimpl(register_tricks), register_networks=hookimpl(register_networks),
        register_updates=hookimpl(register_updates)), "roles-test")
    FreezesAllTrained.setups.clear()
    FreezesAllTrained.handed.clear()
    variant = ganzoo.Variant(name="joint-test", generator="mlp", discriminator="mlp", loss="bce", batch_size=4,
                             roles={"encoder": ganzoo.Role("encoder-test")}, tricks={"freezes-all-trained": {}},
                             phases=(ganzoo.Phase("discriminator"), ganzoo.Phase("joint")))
    gan = ganzoo.build_gan(variant)
    assert FreezesAllTrained.setups == [("generator", "discriminator", "encoder")]
    before = {role: [p.detach().clone() for p in gan.networks[role].parameters()] for role in ("generator", "encoder")}
    TrainingStep(gan)(lambda: real_batch((1, 28, 28), 4, seed=1))
    [(handed, trained)] = FreezesAllTrained.handed
    assert handed is gan.networks["generator"] and trained == ("generator", "encoder")
    for role, params in before.items():  # zero gradients: Adam leaves both roles where they were
        assert all(torch.equal(a, b) for a, b in zip(params, gan.networks[role].parameters())), role
