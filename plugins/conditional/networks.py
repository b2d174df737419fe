"""The class-conditional networks of ``cgan`` (Mirza & Osindero 2014: the label, one-hot, joins
the generator's latent and the discriminator's flattened image; ganzoo's dense MLPs) and of
``acgan`` (Odena et al. 2017: a DCGAN generator given the one-hot label, a DCGAN discriminator
with an auxiliary classification head)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ganzoo_plugins._layers import MinibatchStd
from ganzoo_plugins.dcgan.networks import DCGANDiscriminator, DCGANGenerator
from ganzoo_plugins.mlp.networks import MLPGenerator, _dense_stack


def _joined(z: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``[z, one-hot(labels)]``: an out-of-range label raises (one_hot checks its range)."""
    return torch.cat([z, F.one_hot(labels, num_classes).to(z.dtype)], 1)


class ConditionalMLPGenerator(MLPGenerator):
    """[z, one-hot(label)] → the ``mlp`` generator's layers → image."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, num_classes: int,
                 hidden: Sequence[int] = (256, 512, 1024), negative_slope: float = 0.2,
                 batchnorm: bool = True) -> None:
        super().__init__(image_shape, latent_dim + num_classes, hidden, negative_slope, 0.0, batchnorm)
        self.num_classes = num_classes

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(_joined(z, labels, self.num_classes))


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
        return self.net(_joined(images.flatten(1), labels, self.num_classes)).view(-1)


class ConditionalDCGANGenerator(DCGANGenerator):
    """[z, one-hot(label)] → the ``dcgan`` generator's layers → image (AC-GAN's generator)."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, num_classes: int,
                 width: int = 64, batch_norm: bool = True) -> None:
        super().__init__(image_shape, latent_dim + num_classes, width, batch_norm)
        self.num_classes = num_classes

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(_joined(z, labels, self.num_classes))


class AuxiliaryClassifierDiscriminator(DCGANDiscriminator):
    """The ``dcgan`` discriminator with a second linear head on the same features: class logits
    (AC-GAN). ``forward`` returns ``(scores, class logits)``."""

    def __init__(self, image_shape: tuple[int, int, int], num_classes: int, width: int = 64,
                 dropout: float = 0.3, negative_slope: float = 0.2) -> None:
        super().__init__(image_shape, width, dropout, negative_slope)
        self.classes = nn.Linear(self.score.in_features, num_classes)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        features = self.features(images)
        return self.score(features).view(-1), self.classes(features)
