"""Dense (fully connected) generator and discriminator of the classic MNIST GAN tutorials."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


def _dense_stack(sizes: Sequence[int], negative_slope: float, dropout: float) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.LeakyReLU(negative_slope)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return layers


class MLPGenerator(nn.Module):
    """z → hidden dense layers with LeakyReLU → flat image → tanh, reshaped to ``image_shape``."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int,
                 hidden: Sequence[int] = (256, 512, 1024), negative_slope: float = 0.2,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            *_dense_stack([latent_dim, *hidden], negative_slope, dropout),
            nn.Linear(hidden[-1], math.prod(image_shape)),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """Flat image → hidden dense layers with LeakyReLU and dropout → one raw logit."""

    def __init__(self, image_shape: tuple[int, int, int], hidden: Sequence[int] = (1024, 512, 256),
                 negative_slope: float = 0.2, dropout: float = 0.3) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            *_dense_stack([math.prod(image_shape), *hidden], negative_slope, dropout),
            nn.Linear(hidden[-1], 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).view(-1)
