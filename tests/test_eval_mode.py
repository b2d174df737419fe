"""Sampling runs the generator in eval mode and gives every submodule its own mode back."""

from __future__ import annotations

import math
import types

import torch
from torch import nn

from ganzoo import create_variant, hookimpl
from ganzoo.training.config import TrainConfig
from ganzoo.training.trainer import Trainer


class FrozenBlockGenerator(nn.Module):
    """A generator with a block the plugin keeps in eval mode (a frozen pretrained part: its
    BatchNorm must go on using its running statistics while the rest trains)."""

    def __init__(self, image_shape, latent_dim):
        super().__init__()
        self.shape = tuple(image_shape)
        self.frozen = nn.Sequential(nn.Linear(latent_dim, 16), nn.BatchNorm1d(16)).eval().requires_grad_(False)
        self.head = nn.Linear(16, math.prod(self.shape))

    def forward(self, z):
        return torch.tanh(self.head(self.frozen(z))).view(-1, *self.shape)


def _register(fresh_plugins) -> None:
    plugin = types.SimpleNamespace(register_generators=hookimpl(
        lambda register: register("frozen-block", FrozenBlockGenerator)))
    fresh_plugins.get_host().add_plugin(plugin, "frozen-block-test")


def test_generate_leaves_a_frozen_submodule_in_eval_mode(fresh_plugins):
    """Regression: sampling put the generator back with ``train(True)``, which switched the
    plugin's frozen block to training mode too (its BatchNorm then updated its statistics)."""
    _register(fresh_plugins)
    gan = create_variant("vanilla", generator="frozen-block", tricks={})
    assert gan.generator.training and not gan.generator.frozen.training
    gan.generate(4, seed=0)
    assert gan.generator.training and gan.generator.head.training
    assert not gan.generator.frozen.training and not gan.generator.frozen[1].training


def test_sample_grids_leave_a_frozen_submodule_in_eval_mode(tmp_path, fresh_plugins):
    """Regression: the trainer's sample grids had their own copy of the eval-mode switch, with
    the same bug: after the first grid the frozen block trained."""
    _register(fresh_plugins)
    config = TrainConfig(variant="vanilla", steps=2, recipe={"batch_size": 4, "generator": "frozen-block",
                                                              "tricks": {}},
                         out=str(tmp_path / "run"), log_every=1, sample_every=1, checkpoint_every=2,
                         samples_in_grid=4, data="mnist:test-b", device="cpu")
    trainer = Trainer(config)
    trainer.run()
    generator = trainer.gan.generator
    assert generator.training and generator.head.training
    assert not generator.frozen.training and not generator.frozen[1].training


def test_export_leaves_the_callers_generator_in_its_own_mode():
    """Regression: exporting put the caller's generator (a live run's) in eval mode for good."""
    from torch import nn

    from ganzoo.export import export_check

    net = nn.Sequential(nn.Linear(4, 784), nn.BatchNorm1d(784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28))).train()
    export_check(net, 4, None, formats=("pt2",))
    assert all(m.training for m in net.modules())
