"""InfoGAN's Q network: the discriminator's body (shared, not copied) and a small head that
predicts the latent codes (:mod:`ganzoo_infogan.codes`)."""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import ConfigError, get_component
from ganzoo_infogan.codes import code_layout, q_outputs


def discriminator_body(discriminator: nn.Module) -> tuple[nn.Module, int]:
    """The layers of a discriminator below its score layer, and how many features they give:
    ganzoo's ``dcgan`` discriminators (``features`` → ``score``) and ``mlp`` one (``net``, a
    ``Sequential`` ending in its score layer)."""
    features, score = getattr(discriminator, "features", None), getattr(discriminator, "score", None)
    if isinstance(features, nn.Module) and isinstance(score, nn.Linear):
        return features, score.in_features
    net = getattr(discriminator, "net", None)
    if isinstance(net, nn.Sequential) and len(net) > 1 and isinstance(net[-1], nn.Linear):
        return net[:-1], net[-1].in_features
    raise ConfigError(f"network 'infogan-q': cannot find the body of a {type(discriminator).__name__} "
                      f"(it takes a dcgan-like discriminator, features → score, or an mlp one, net[-1] "
                      f"its score layer)")


class InfoGANQ(nn.Module):
    """Q(c | x): ``body`` (the discriminator's own modules when built with ``base``) →
    dense ``hidden`` → BatchNorm → LeakyReLU → the codes' predictions, ``N×outputs`` (the
    paper's MNIST Q head: FC 128-BN-lReLU-FC on D's last hidden layer).

    Built without ``base`` (ganzoo's kit builds every network on its own), it makes a fresh
    ``dcgan`` discriminator through the registry and keeps its body: a separate recognition
    network of the same shape.
    """

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, base: nn.Module | None = None,
                 latent: str = "infogan-mnist", hidden: int = 128, negative_slope: float = 0.2) -> None:
        super().__init__()
        self.codes = code_layout(latent, latent_dim)
        if base is None:
            base = get_component("discriminator", "dcgan").create(tuple(image_shape))
        self.body, features = discriminator_body(base)
        self.head = nn.Sequential(
            nn.Linear(features, hidden, bias=False), nn.BatchNorm1d(hidden), nn.LeakyReLU(negative_slope),
            nn.Linear(hidden, q_outputs(self.codes)),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))
