"""DCGAN generator (dense → transposed convolutions) and convolutional discriminator/critic."""

from __future__ import annotations

import torch
from torch import nn

from ganzoo_plugins._layers import Dropout
from ganzoo_plugins._shapes import divisible_start


class DCGANGenerator(nn.Module):
    """z → dense (H/4)×(W/4)×256 → transposed convs 256→128 (stride 1) → 64 (×2) → C (×2) → tanh.

    BatchNorm + ReLU after every layer but the last, as in Radford et al. and the TensorFlow
    DCGAN tutorial; 5×5 kernels throughout.
    """

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, width: int = 64,
                 batch_norm: bool = True) -> None:
        super().__init__()
        channels = image_shape[0]
        self.start = divisible_start(image_shape, "generator 'dcgan'", 4)
        c4, c2, c1 = width * 4, width * 2, width
        norm2d = (lambda c: nn.BatchNorm2d(c)) if batch_norm else (lambda c: nn.Identity())
        self.project = nn.Sequential(
            nn.Linear(latent_dim, c4 * self.start[0] * self.start[1], bias=not batch_norm),
            nn.BatchNorm1d(c4 * self.start[0] * self.start[1]) if batch_norm else nn.Identity(),
            nn.ReLU(),
        )
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(c4, c2, 5, stride=1, padding=2, bias=not batch_norm),
            norm2d(c2), nn.ReLU(),
            nn.ConvTranspose2d(c2, c1, 5, stride=2, padding=2, output_padding=1, bias=not batch_norm),
            norm2d(c1), nn.ReLU(),
            nn.ConvTranspose2d(c1, channels, 5, stride=2, padding=2, output_padding=1),
            nn.Tanh(),
        )
        self.channels4 = c4

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.channels4, *self.start)
        return self.deconv(x)


class DCGANDiscriminator(nn.Module):
    """Conv C→64 (5×5, stride 2) → 64→128 (5×5, stride 2), LeakyReLU(0.2) + dropout → linear score.

    No BatchNorm. With ``dropout=0`` this is the WGAN critic: a critic must be a deterministic
    function of its input for weight clipping and the gradient penalty to mean what they say.
    """

    def __init__(self, image_shape: tuple[int, int, int], width: int = 64, dropout: float = 0.3,
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        channels, height, width_px = image_shape
        c1, c2 = width, width * 2
        layers: list[nn.Module] = []
        for fan_in, fan_out in ((channels, c1), (c1, c2)):
            layers += [nn.Conv2d(fan_in, fan_out, 5, stride=2, padding=2), nn.LeakyReLU(negative_slope)]
            if dropout > 0:
                layers.append(Dropout(dropout))
        self.features = nn.Sequential(*layers, nn.Flatten())
        out_h, out_w = (height + 3) // 4, (width_px + 3) // 4  # two stride-2 'same' convolutions
        self.score = nn.Linear(c2 * out_h * out_w, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.score(self.features(images)).view(-1)
