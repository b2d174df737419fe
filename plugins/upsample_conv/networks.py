"""A generator that upsamples bilinearly and then convolves, instead of transposed convolutions.

Resize-then-convolve avoids the checkerboard artifacts of strided transposed convolutions
(Odena et al. 2016, "Deconvolution and Checkerboard Artifacts").
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo_plugins._shapes import divisible_start


class UpsampleConvGenerator(nn.Module):
    """z → dense S×S×100 → conv 3×3 (valid) → bilinear ×2 → conv 3×3 → bilinear ×2 → conv 5×5 →
    conv 5×5 → tanh, where S = (H + 20) / 4 (12 for 28×28, 13 for 32×32).

    BatchNorm + LeakyReLU between layers. Every convolution is 'valid', which is what makes
    12 → 10 → 20 → 18 → 36 → 32 → 28.
    """

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, width: int = 32,
                 seed_channels: int = 100, negative_slope: float = 0.2) -> None:
        super().__init__()
        channels = image_shape[0]
        self.start = divisible_start(image_shape, "generator 'upsample-conv'", 4, offset=20)
        self.seed_channels = seed_channels
        n_seed = seed_channels * self.start[0] * self.start[1]

        def block(fan_in: int, fan_out: int, kernel: int) -> list[nn.Module]:
            return [nn.Conv2d(fan_in, fan_out, kernel, bias=False), nn.BatchNorm2d(fan_out),
                    nn.LeakyReLU(negative_slope)]

        self.project = nn.Sequential(nn.Linear(latent_dim, n_seed, bias=False),
                                     nn.BatchNorm1d(n_seed), nn.LeakyReLU(negative_slope))
        up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.body = nn.Sequential(
            *block(seed_channels, width * 4, 3), up,
            *block(width * 4, width * 2, 3), up,
            *block(width * 2, width, 5),
            nn.Conv2d(width, channels, 5), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.project(z).view(z.shape[0], self.seed_channels, *self.start))
