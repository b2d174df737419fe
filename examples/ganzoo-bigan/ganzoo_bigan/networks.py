"""BiGAN's encoder and joint discriminator: the permutation-invariant MNIST MLPs of the paper
(1024-unit layers, leaky ReLU, batch norm in E, dropout in D), for any image shape."""

from __future__ import annotations

import math

import torch
from torch import nn


class Encoder(nn.Module):
    """E: images ``N×C×H×W`` → latents ``N×latent_dim`` (linear output: the latent is unbounded
    for a normal prior; a uniform prior's box is learnt)."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, hidden: int = 1024) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(image_shape), hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, latent_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class JointDiscriminator(nn.Module):
    """D: (images, latents) → one logit per pair: each input through its own layer, then a
    joint MLP on both."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, hidden: int = 1024,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.image = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(image_shape), hidden),
                                   nn.LeakyReLU(0.2), nn.Dropout(dropout))
        self.latent = nn.Sequential(nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout))
        self.joint = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout),
                                   nn.Linear(hidden, 1))

    def forward(self, images: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        return self.joint(torch.cat([self.image(images), self.latent(latents)], dim=1)).reshape(-1)
