"""A timm image model wrapped as a discriminator: resize small images, one logit per sample.

Small images: most timm CNNs reduce the resolution 32-fold in five stride-2 stages, and some
(ConvNeXt: a stride-4 stem and 2×2 downsampling convolutions without padding) fail outright
below 32×32. Rather than editing strides per architecture, images smaller than ``min_size``
(default 32) are bilinearly upsampled to it: 28×28 MNIST becomes 32×32, 32×32 CIFAR-sized
images pass unchanged. Models with a fixed input size (ViT, Swin, DeiT: position embeddings or
attention windows tied to the size) are built for the image size with timm's ``img_size``
argument; if a model does not take it, images are resized to the model's own input size.
"""

from __future__ import annotations

import difflib
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.compat import import_timm
from ganzoo.errors import ConfigError


def _check_model_name(timm: Any, model_name: str) -> None:
    if timm.is_model(model_name):
        return
    close = difflib.get_close_matches(model_name, timm.list_models(), n=3, cutoff=0.6)
    hint = ("; did you mean " + " or ".join(repr(c) for c in close) + "?") if close else \
        "; see timm.list_models() for the names"
    raise ConfigError(f"unknown timm model {model_name!r}{hint}")


class TimmDiscriminator(nn.Module):
    """``timm.create_model(model_name, pretrained=False, num_classes=1, in_chans=C)`` on
    images upsampled to at least ``min_size``; returns one raw logit per sample (shape N)."""

    def __init__(self, image_shape: tuple[int, int, int], model_name: str, min_size: int = 32,
                 **model_kwargs: Any) -> None:
        super().__init__()
        if model_kwargs.get("pretrained"):
            raise ConfigError("the timm discriminator is always trained from scratch: "
                              "ganzoo never downloads weights (drop pretrained=true)")
        model_kwargs.pop("pretrained", None)
        min_size = int(min_size)
        if min_size < 1:
            raise ConfigError(f"discriminator 'timm:{model_name}': min_size must be >= 1, got {min_size}")
        timm = import_timm()
        _check_model_name(timm, model_name)
        channels, height, width = image_shape
        size = (max(height, min_size), max(width, min_size))
        cfg = timm.get_pretrained_cfg(model_name)
        if cfg is not None and getattr(cfg, "fixed_input_size", False):
            try:
                model = timm.create_model(model_name, pretrained=False, num_classes=1,
                                          in_chans=channels, img_size=size, **model_kwargs)
            except TypeError:  # no img_size argument: feed the model its own input size
                size = tuple(cfg.input_size[1:])
                model = timm.create_model(model_name, pretrained=False, num_classes=1,
                                          in_chans=channels, **model_kwargs)
        else:
            model = timm.create_model(model_name, pretrained=False, num_classes=1,
                                      in_chans=channels, **model_kwargs)
        self.model = model
        self.model_name = model_name
        self.input_size: tuple[int, int] = (int(size[0]), int(size[1]))
        self.resize = self.input_size != (height, width)
        # What tricks must know of this member of the family (the gradient penalty refuses
        # batch normalisation, which mixes a batch's samples): resnet18 has it, convnext none.
        norm = nn.modules.batchnorm._BatchNorm  # SyncBatchNorm too
        self.tags = frozenset({"batchnorm"} if any(isinstance(m, norm) for m in model.modules()) else ())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.resize:
            images = F.interpolate(images, size=self.input_size, mode="bilinear", align_corners=False)
        return self.model(images).reshape(-1)

    def extra_repr(self) -> str:
        return f"model_name={self.model_name!r}, input_size={self.input_size}"
