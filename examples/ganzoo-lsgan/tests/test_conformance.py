"""Tests of ganzoo-lsgan: ganzoo's conformance kit (one line), then what the kit cannot know."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.testing import conformance_tests; conformance_tests(globals(), distribution="ganzoo-lsgan")  # noqa: E702


def _loss(name: str, **params):
    return ganzoo.get_component("loss", name).create(**params)


def test_least_squares_is_half_mean_squared_error_to_the_targets():
    loss = _loss("least-squares")
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0])
    b, a = torch.tensor([1.0, 0.9]), torch.zeros(2)
    expected = 0.5 * (((real - b) ** 2).mean() + ((fake - a) ** 2).mean())
    assert torch.allclose(loss.d_loss(real, fake, b, a), expected)
    assert torch.allclose(loss.g_loss(fake), 0.5 * ((fake - 1) ** 2).mean())
    assert torch.allclose(_loss("least-squares", generator_target=0.5).g_loss(fake),
                          0.5 * ((fake - 0.5) ** 2).mean())


def test_hinge_is_zero_beyond_the_margin_and_ignores_targets():
    loss = _loss("hinge")
    ones, zeros = torch.ones(3), torch.zeros(3)
    assert loss.d_loss(torch.full((3,), 1.5), torch.full((3,), -1.5), ones, zeros) == 0
    assert torch.isclose(loss.d_loss(torch.zeros(3), torch.zeros(3), ones, zeros), torch.tensor(2.0))
    assert loss.d_loss(torch.zeros(3), torch.zeros(3), zeros, ones) == 2.0  # targets unused
    assert loss.g_loss(torch.tensor([1.0, 3.0])) == -2.0


def test_tags_decide_which_tricks_combine():
    assert ganzoo.get_component("loss", "least-squares").tags == {"labels"}
    assert ganzoo.get_component("loss", "hinge").tags == {"critic"}
    ganzoo.compose_variant("dcgan", "dcgan", "least-squares", tricks=["label-smoothing"])
    with pytest.raises(ganzoo.CompositionError, match="needs a loss tagged 'labels'"):
        ganzoo.compose_variant("dcgan", "dcgan-critic", "hinge", tricks=["label-smoothing"])
    with pytest.raises(ganzoo.CompositionError, match="cannot be combined with 'weight-clip'"):
        ganzoo.compose_variant("dcgan", "dcgan-critic", "hinge", tricks=["spectral-norm", "weight-clip"])


def test_recipes_follow_the_papers():
    lsgan, sn = ganzoo.get_variant("lsgan"), ganzoo.get_variant("hinge-sn")
    assert (lsgan.generator, lsgan.discriminator, lsgan.loss) == ("dcgan", "dcgan", "least-squares")
    assert lsgan.d_optimizer.lr == 2e-4 and lsgan.d_optimizer.betas == (0.5, 0.999)
    assert (sn.discriminator, sn.loss, list(sn.tricks)) == ("dcgan-critic", "hinge", ["spectral-norm"])
    assert sn.d_optimizer.betas == (0.0, 0.9) and sn.g_optimizer.betas == (0.0, 0.9)
    assert sn.critic_steps == 5 and sn.d_optimizer.lr == 2e-4


def test_spectral_norm_parametrizes_every_layer_before_the_optimizer_exists():
    gan = ganzoo.create_variant("hinge-sn", batch_size=4)
    layers = [m for m in gan.discriminator.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    originals = {id(m.parametrizations.weight.original) for m in layers}
    optimized = {id(p) for group in gan.d_optimizer.param_groups for p in group["params"]}
    assert originals <= optimized, "the D optimizer must update the un-normalised weights"
    state = gan.discriminator.state_dict()
    assert any(key.endswith("parametrizations.weight.original") for key in state)
    assert any(key.endswith("parametrizations.weight.0._u") for key in state)
    with torch.no_grad():
        for m in layers:
            sigma = torch.linalg.matrix_norm(m.weight.flatten(1), ord=2)
            assert 0.9 < sigma < 1.1, f"{m}: largest singular value {sigma:.3f} after normalisation"


def test_spectral_norm_refuses_a_discriminator_without_weights():
    trick = ganzoo.get_component("trick", "spectral-norm").create()
    with pytest.raises(ganzoo.ConfigError, match="no convolution or linear layer"):
        trick.setup(nn.Identity(), nn.Sequential(nn.Flatten()))
