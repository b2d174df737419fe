"""The class-conditional MLPs of cGAN (Mirza & Osindero 2014): the label, one-hot, joins the
generator's latent and the discriminator's flattened image; the layers are ganzoo's dense MLPs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ganzoo_plugins._layers import MinibatchStd
from ganzoo_plugins.mlp.networks import MLPGenerator, _dense_stack


class ConditionalMLPGenerator(MLPGenerator):
    """[z, one-hot(label)] → the ``mlp`` generator's layers → image."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, num_classes: int,
                 hidden: Sequence[int] = (256, 512, 1024), negative_slope: float = 0.2,
                 batchnorm: bool = True) -> None:
        super().__init__(image_shape, latent_dim + num_classes, hidden, negative_slope, 0.0, batchnorm)
        self.num_classes = num_classes

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], 1))


class ConditionalMLPDiscriminator(nn.Module):
    """[flat image, one-hot(label)] → dense layers with LeakyReLU and dropout → one logit."""

    def __init__(self, image_shape: tuple[int, int, int], num_classes: int,
                 hidden: Sequence[int] = (1024, 512, 256), negative_slope: float = 0.2,
                 dropout: float = 0.1, minibatch_std: int = 4) -> None:
        super().__init__()
        self.num_classes = num_classes
        spread = [MinibatchStd(minibatch_std)] if minibatch_std else []
        self.net = nn.Sequential(
            *_dense_stack([math.prod(image_shape) + num_classes, *hidden], negative_slope, dropout),
            *spread,
            nn.Linear(hidden[-1] + len(spread), 1),
        )

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        joined = torch.cat([images.flatten(1), F.one_hot(labels, self.num_classes).to(images.dtype)], 1)
        return self.net(joined).view(-1)
