"""Differentiable augmentation of every discriminator input (DiffAugment).

With little data (the built-in set has 3,000 digits) the discriminator memorises the real
images, wins outright and the generator collapses. Augmenting real *and* generated images the
same random way, differentiably so the generator's gradients pass through, keeps D from
memorising without teaching G to produce augmented images (Zhao et al. 2020,
arXiv:2006.10738; Karras et al. 2020, ADA).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo import StepState, Trick
from ganzoo.errors import ConfigError

POLICIES = ("translation", "cutout")


def translate(images: torch.Tensor, ratio: float, fill: float) -> torch.Tensor:
    """Shift each image by its own random offset of up to ``ratio`` of its size, filling the
    uncovered border with ``fill`` (the background value)."""
    n, _, height, width = images.shape
    pad_h, pad_w = max(1, round(height * ratio)), max(1, round(width * ratio))
    padded = F.pad(images, (pad_w, pad_w, pad_h, pad_h), value=fill)
    dy = torch.randint(0, 2 * pad_h + 1, (n, 1, 1), device=images.device)
    dx = torch.randint(0, 2 * pad_w + 1, (n, 1, 1), device=images.device)
    rows = torch.arange(height, device=images.device).view(1, height, 1) + dy
    cols = torch.arange(width, device=images.device).view(1, 1, width) + dx
    batch = torch.arange(n, device=images.device).view(n, 1, 1)
    # Advanced indexing keeps the operation differentiable with respect to the pixels.
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(images: torch.Tensor, ratio: float, fill: float) -> torch.Tensor:
    """Paint one random square of side ``ratio`` × size per image with ``fill``."""
    n, _, height, width = images.shape
    size_h, size_w = max(1, round(height * ratio)), max(1, round(width * ratio))
    top = torch.randint(0, height - size_h + 1, (n, 1, 1), device=images.device)
    left = torch.randint(0, width - size_w + 1, (n, 1, 1), device=images.device)
    rows = torch.arange(height, device=images.device).view(1, height, 1)
    cols = torch.arange(width, device=images.device).view(1, 1, width)
    inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    return torch.where(inside.unsqueeze(1), torch.full_like(images, fill), images)


class DiffAugment(Trick):
    """Apply the same random augmentation policy to real and fake D inputs, in both updates."""

    name = "diffaugment"
    capturable = True

    def __init__(self, policy: str | list[str] = "translation", translation: float = 0.125,
                 cutout: float = 0.5, fill: float = -1.0) -> None:
        names = policy.split(",") if isinstance(policy, str) else list(policy)
        unknown = [p for p in names if p.strip() not in POLICIES]
        if unknown or not names:
            raise ConfigError(f"trick 'diffaugment': unknown policy {unknown[0] if unknown else policy!r}; "
                              f"choose from {', '.join(POLICIES)}")
        self.policy = [p.strip() for p in names]
        self.translation, self.cutout, self.fill = float(translation), float(cutout), float(fill)

    def d_input(self, images: torch.Tensor, state: StepState) -> torch.Tensor:
        for name in self.policy:
            if name == "translation":
                images = translate(images, self.translation, self.fill)
            else:
                images = cutout(images, self.cutout, self.fill)
        return images
