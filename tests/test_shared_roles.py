"""Roles that share modules (``Role(base=...)``): InfoGAN's Q head on D's body, built from the
discriminator's own submodules, trained by its own optimizer on its own parameters only,
checkpointed and counted once, refused where it cannot train correctly (data-parallel)."""

from __future__ import annotations

import types

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo import Role, StepContext, Update, hookimpl
from ganzoo.conformance import check_checkpoint_round_trip, check_variant_step
from ganzoo.errors import ConfigError
from ganzoo.training.capture import check_settings


class QHead(nn.Module):
    """Class logits from the discriminator's body (every layer of the built-in MLP but its last)."""

    def __init__(self, image_shape, latent_dim, base, classes: int = 10):
        super().__init__()
        self.body = base.net[:-1]  # the same modules: shared parameters
        self.head = nn.Linear(base.net[-1].in_features, classes)

    def forward(self, images):
        return self.head(self.body(images))


class QUpdate(Update):
    name = "q-update"

    def run(self, step: StepContext):
        images = step.next_real()
        loss = step.run("q", images).logsumexp(1).mean()
        step.optimize(loss, "q")
        return {"q_loss": loss.detach()}


@pytest.fixture
def shared_plugin(fresh_plugins):
    def register_networks(register):
        register("q-head", QHead)

    def register_updates(register):
        register("q-update", QUpdate, roles=("q",), points=())

    def register_variants(register):
        register(ganzoo.Variant(name="shared-q", generator="mlp", discriminator="mlp", loss="bce", batch_size=4,
                                roles={"q": Role("q-head", base="discriminator")},
                                phases=(ganzoo.Phase("discriminator"), ganzoo.Phase("generator"),
                                        ganzoo.Phase("q-update"))))
    fresh_plugins.get_host().add_plugin(types.SimpleNamespace(
        register_networks=hookimpl(register_networks), register_updates=hookimpl(register_updates),
        register_variants=hookimpl(register_variants)), "shared-test")


def test_a_role_built_on_another_shares_its_modules_and_trains_only_its_own(shared_plugin):
    torch.manual_seed(0)
    gan = ganzoo.create_variant("shared-q")
    body = {id(p) for p in gan.discriminator.net[:-1].parameters()}
    assert body <= {id(p) for p in gan.networks["q"].parameters()}  # the same tensors, not copies
    trained_by_q = {id(p) for group in gan.optimizers["q"].param_groups for p in group["params"]}
    assert trained_by_q == {id(p) for p in gan.networks["q"].head.parameters()}
    check_variant_step("shared-q")
    check_checkpoint_round_trip("shared-q")


def test_info_counts_shared_parameters_once(shared_plugin, capsys):
    import json

    from ganzoo.cli import main

    assert main(["info", "shared-q", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)["parameters"]
    head = ganzoo.create_variant("shared-q").networks["q"].head
    assert counts["q"] == sum(p.numel() for p in head.parameters())  # the body is the discriminator's


def test_shared_roles_are_refused_data_parallel_and_a_base_must_come_first(shared_plugin):
    gan = ganzoo.create_variant("shared-q")
    with pytest.raises(ConfigError, match="role 'q' is built on 'discriminator'.*does not train data-parallel"):
        check_settings(gan, "off", "fp32", distributed=True)
    check_settings(gan, "off", "fp32")
    with pytest.raises(ConfigError, match="role 'q' is built on 'later', which is not a role before it"):
        ganzoo.Variant(name="x", generator="mlp", discriminator="mlp", loss="bce",
                       roles={"q": Role("q-head", base="later"), "later": Role("q-head")})


class LabelledEncoder(nn.Module):
    """A conditional network for a further role: images and their classes → latents."""

    def __init__(self, image_shape, latent_dim, num_classes):
        super().__init__()
        self.embed = nn.Embedding(num_classes, 4)
        self.net = nn.Linear(int(torch.tensor(image_shape).prod()) + 4, latent_dim)

    def forward(self, images, labels):
        return self.net(torch.cat([images.flatten(1), self.embed(labels)], 1))


def test_a_further_role_may_be_conditional(fresh_plugins):
    fresh_plugins.get_host().add_plugin(types.SimpleNamespace(register_networks=hookimpl(
        lambda register: register("labelled-encoder", LabelledEncoder, conditional=True))), "cond-role")
    gan = ganzoo.create_variant("cgan", num_classes=10, roles={"encoder": Role("labelled-encoder")})
    assert "encoder" in gan.conditioned
    images, labels = torch.zeros(3, 1, 28, 28), torch.tensor([1, 2, 3])
    assert gan.run("encoder", gan.networks["encoder"], images, labels).shape == (3, gan.latent_dim)


def test_the_kit_builds_a_network_on_its_base_role(fresh_plugins):
    # Regression: the kit built every further network alone, so one that needs base= failed it.
    from ganzoo.conformance import check_network

    def register_networks(register):
        register("q-head", QHead)

    def register_variants(register):
        register(ganzoo.Variant(name="shared-q", generator="mlp", discriminator="mlp", loss="bce",
                                roles={"q": Role("q-head", base="discriminator")}))
    fresh_plugins.get_host().add_plugin(types.SimpleNamespace(
        register_networks=hookimpl(register_networks), register_variants=hookimpl(register_variants)), "kit-base")
    for shape in ((1, 28, 28), (3, 32, 32)):
        check_network("q-head", shape)
