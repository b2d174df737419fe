"""Tests of ganzoo-bigan: ganzoo's conformance kit (one line), then what the kit cannot know."""

from __future__ import annotations

import torch

import ganzoo
from ganzoo.testing import conformance_tests; conformance_tests(globals(), distribution="ganzoo-bigan")  # noqa: E702
from ganzoo_bigan.evaluate import knn_accuracy


def test_the_recipe_adds_an_encoder_role_and_its_own_step():
    gan = ganzoo.create_variant("bigan", batch_size=4)
    assert list(gan.networks) == ["generator", "discriminator", "encoder"]
    assert [b.phase.update for b in gan.phases] == ["bigan-discriminator", "bigan-generator-encoder"]
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    assert gan.networks["encoder"](x).shape == (4, 50)
    assert gan.discriminator(x, gan.networks["encoder"](x)).shape == (4,)


def test_knn_accuracy_on_separable_and_shuffled_features():
    torch.manual_seed(0)
    labels = torch.arange(200) % 4
    centres = torch.randn(4, 8) * 5
    points = centres[labels] + 0.1 * torch.randn(200, 8)
    assert knn_accuracy(points[:100], labels[:100], points[100:], labels[100:]) == 1.0
    shuffled = labels[:100][torch.randperm(100)]
    assert knn_accuracy(points[:100], shuffled, points[100:], labels[100:], k=5) < 0.6
