"""Dense (fully connected) generator and discriminator of the classic MNIST GAN tutorials."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo_plugins._layers import Dropout, MinibatchStd


def _dense_stack(sizes: Sequence[int], negative_slope: float, dropout: float,
                 batchnorm: bool = False) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        # The first layer, which sees z itself, stays unnormalised (as in PyTorch-GAN's MLP GAN).
        norm = batchnorm and index > 0
        layers.append(nn.Linear(fan_in, fan_out, bias=not norm))
        if norm:
            layers.append(nn.BatchNorm1d(fan_out))
        layers.append(nn.LeakyReLU(negative_slope))
        if dropout > 0:
            layers.append(Dropout(dropout))
    return layers


class MLPGenerator(nn.Module):
    """z → hidden dense layers with LeakyReLU → flat image → tanh, reshaped to ``image_shape``.

    ``batchnorm=True`` normalises every hidden layer after the first (the tutorials' network has
    none; with it the generator learns clean strokes in far fewer steps).
    """

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int,
                 hidden: Sequence[int] = (256, 512, 1024), negative_slope: float = 0.2,
                 dropout: float = 0.0, batchnorm: bool = False) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            *_dense_stack([latent_dim, *hidden], negative_slope, dropout, batchnorm),
            nn.Linear(hidden[-1], math.prod(image_shape)),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """Flat image → hidden dense layers with LeakyReLU and dropout → one raw logit.

    ``minibatch_std=G`` appends the features' spread over groups of G samples before the last
    layer (see :class:`MinibatchStd`): the tutorials' network has none; it lets the
    discriminator notice a generator that produces too little variety.
    """

    def __init__(self, image_shape: tuple[int, int, int], hidden: Sequence[int] = (1024, 512, 256),
                 negative_slope: float = 0.2, dropout: float = 0.3, minibatch_std: int = 0) -> None:
        super().__init__()
        if isinstance(minibatch_std, bool) or not isinstance(minibatch_std, int) or minibatch_std < 0:
            raise ConfigError(f"discriminator 'mlp': minibatch_std must be a group size >= 0, got {minibatch_std!r}")
        spread = [MinibatchStd(minibatch_std)] if minibatch_std else []
        self.net = nn.Sequential(
            nn.Flatten(),
            *_dense_stack([math.prod(image_shape), *hidden], negative_slope, dropout),
            *spread,
            nn.Linear(hidden[-1] + len(spread), 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).view(-1)
