"""``cdcgan-proj``'s networks: a DCGAN-size generator whose BatchNorm layers take their gain and
bias from the class (conditional BatchNorm, de Vries et al. 2017; as in SNGAN/BigGAN), and a
spectrally normalised convolutional discriminator that adds the projection of its features on a
class embedding to its score (Miyato & Koyama 2018)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo_plugins._shapes import divisible_start


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without its own affine part; the gain and bias are looked up per sample from
    its class. They start near 1 and 0 (± 0.02, so the classes differ from the first step, as
    StudioGAN's linear gains do)."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.normal_(self.gain.weight, 1.0, 0.02)
        nn.init.normal_(self.bias.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * self.gain(labels)[:, :, None, None] + self.bias(labels)[:, :, None, None]


class ConditionalBNGenerator(nn.Module):
    """z → dense (H/4)×(W/4)×4w → transposed 5×5 convs 4w→2w (stride 1) → w (×2) → C (×2) →
    tanh, each hidden layer followed by conditional BatchNorm and ReLU: the ``dcgan`` generator's
    layout with the class in every normalisation."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, num_classes: int,
                 width: int = 64) -> None:
        super().__init__()
        self.start = divisible_start(image_shape, "generator 'cbn-dcgan'", 4)
        widths = (width * 4, width * 2, width)
        self.project = nn.Linear(latent_dim, widths[0] * self.start[0] * self.start[1])
        self.norms = nn.ModuleList(ConditionalBatchNorm2d(c, num_classes) for c in widths)
        self.convs = nn.ModuleList([  # the norm before each; bias only on the last (no norm after it)
            nn.ConvTranspose2d(widths[0], widths[1], 5, stride=1, padding=2, bias=False),
            nn.ConvTranspose2d(widths[1], widths[2], 5, stride=2, padding=2, output_padding=1, bias=False),
            nn.ConvTranspose2d(widths[2], image_shape[0], 5, stride=2, padding=2, output_padding=1),
        ])
        self.widths = widths

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.widths[0], *self.start)
        for norm, conv in zip(self.norms, self.convs):
            x = conv(torch.relu(norm(x, labels)))
        return torch.tanh(x)


class ProjectionDiscriminator(nn.Module):
    """Spectrally normalised convs C→w (5×5, stride 2) → 2w (5×5, stride 2) → 4w (3×3),
    LeakyReLU(0.1), summed over space to features h; score = ψ(h) + ⟨embed(y), h⟩ (the
    projection), with spectral norm on ψ and the embedding too (Miyato & Koyama 2018)."""

    def __init__(self, image_shape: tuple[int, int, int], num_classes: int, width: int = 64,
                 negative_slope: float = 0.1) -> None:
        super().__init__()
        c1, c2, c3 = width, width * 2, width * 4
        self.features = nn.Sequential(
            spectral_norm(nn.Conv2d(image_shape[0], c1, 5, stride=2, padding=2)), nn.LeakyReLU(negative_slope),
            spectral_norm(nn.Conv2d(c1, c2, 5, stride=2, padding=2)), nn.LeakyReLU(negative_slope),
            spectral_norm(nn.Conv2d(c2, c3, 3, padding=1)), nn.LeakyReLU(negative_slope),
        )
        self.score = spectral_norm(nn.Linear(c3, 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, c3))

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.features(images).sum(dim=(2, 3))
        return self.score(h).view(-1) + (self.embed(labels) * h).sum(1)
