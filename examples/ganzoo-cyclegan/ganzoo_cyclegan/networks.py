"""CycleGAN's networks (Zhu et al. 2017, appendix 7.2; the authors' ``networks.py`` of
junyanz/pytorch-CycleGAN-and-pix2pix), scaled to ganzoo's 28×28 digits and a CPU budget: a
ResNet translator and a PatchGAN discriminator, both with instance normalisation."""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import ConfigError


def _count(component: str, name: str, value: int, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{component}: {name} must be a whole number >= {low}, got {value!r}")
    return value


def _check_shape(component: str, image_shape: tuple[int, int, int], factor: int) -> tuple[int, int, int]:
    channels, height, width = (int(s) for s in image_shape)
    if height % factor or width % factor or height < 2 * factor or width < 2 * factor:
        raise ConfigError(f"{component}: images of {height}×{width} do not fit: height and width must be "
                          f"multiples of {factor}, at least {2 * factor}")
    return channels, height, width


def _init(module: nn.Module) -> None:
    """The authors' ``init_type='normal'``: convolution weights N(0, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def _norm(channels: int) -> nn.Module:
    # The authors' instance norm: no affine parameters, no running statistics (the same in
    # training and eval mode, so sampling needs no recomputed statistics).
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    """x + (reflect-pad, 3×3 conv, IN, ReLU, reflect-pad, 3×3 conv, IN)(x)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetTranslator(nn.Module):
    """Images ``N×C×H×W`` in [-1, 1] → images of the same shape in [-1, 1]: the paper's
    ResNet generator (c7s1-k, d2k, d4k, R4k × ``blocks``, u2k, uk, c7s1-C, tanh) with width
    ``ngf`` = k. The paper uses k = 64 and 6 blocks (128×128) or 9 (256×256); 16 and 3 here
    (about 270 K parameters) for 28×28 digits on a CPU. Height and width must be multiples of 4
    (the two stride-2 downsamples)."""

    def __init__(self, image_shape: tuple[int, int, int], ngf: int = 16, blocks: int = 3) -> None:
        super().__init__()
        name = "cyclegan-resnet"
        channels, _, _ = _check_shape(name, image_shape, 4)
        ngf, blocks = _count(name, "ngf", ngf, 1), _count(name, "blocks", blocks, 0)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, ngf, 7), _norm(ngf), nn.ReLU(True)]
        width = ngf
        for _ in range(2):  # d2k, d4k
            layers += [nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), _norm(2 * width), nn.ReLU(True)]
            width *= 2
        layers += [ResidualBlock(width) for _ in range(blocks)]
        for _ in range(2):  # u2k, uk
            layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1),
                       _norm(width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(_init)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class PatchDiscriminator(nn.Module):
    """The paper's 70×70 PatchGAN (C64-C128-C256-C512, 4×4 convolutions, LeakyReLU 0.2, no
    norm on the first layer, stride 1 on the last two) scaled to small images: ``layers``
    stride-2 convolutions of width ``ndf``, 2·ndf … then one of stride 1 and the 1-channel
    score convolution; at 28×28 with the defaults a 5×5 grid of patch scores, each seeing 34×34
    pixels (with padding). One raw score per image, as ganzoo's discriminator contract has it:
    the mean of its patch scores. (The authors' loss is the mean of the per-patch squared
    errors; the least-squares loss of the mean score differs from it by the variance of the
    patch scores: see the README.)"""

    def __init__(self, image_shape: tuple[int, int, int], ndf: int = 16, layers: int = 2,
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        name = "cyclegan-patch"
        layers = _count(name, "layers", layers, 1)
        channels, height, width = (int(s) for s in image_shape)
        if min(height, width) // 2 ** layers < 3:  # the two stride-1 convolutions take 2 off each side
            raise ConfigError(f"{name}: images of {height}×{width} are too small for {layers} stride-2 layers: "
                              f"height and width must be at least {3 * 2 ** layers}")
        ndf = _count(name, "ndf", ndf, 1)
        modules: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, stride=2, padding=1),
                                    nn.LeakyReLU(negative_slope, True)]
        width = ndf
        for _ in range(layers - 1):
            modules += [nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), _norm(2 * width),
                        nn.LeakyReLU(negative_slope, True)]
            width *= 2
        modules += [nn.Conv2d(width, 2 * width, 4, stride=1, padding=1), _norm(2 * width),
                    nn.LeakyReLU(negative_slope, True),
                    nn.Conv2d(2 * width, 1, 4, stride=1, padding=1)]
        self.net = nn.Sequential(*modules)
        self.apply(_init)

    def patches(self, images: torch.Tensor) -> torch.Tensor:
        """The patch scores, ``N×1×h×w``."""
        return self.net(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.patches(images).flatten(1).mean(1)


def translator_network(image_shape: tuple[int, int, int], latent_dim: int, ngf: int = 16,
                       blocks: int = 3) -> ResnetTranslator:
    """The translator as a further role's network (``register_networks``: its factory also gets
    the variant's ``latent_dim``, which a translator has no use for)."""
    return ResnetTranslator(image_shape, ngf=ngf, blocks=blocks)


def patch_network(image_shape: tuple[int, int, int], latent_dim: int, ndf: int = 16, layers: int = 2,
                  negative_slope: float = 0.2) -> PatchDiscriminator:
    """The PatchGAN discriminator as a further role's network (``latent_dim`` unused)."""
    return PatchDiscriminator(image_shape, ndf=ndf, layers=layers, negative_slope=negative_slope)
