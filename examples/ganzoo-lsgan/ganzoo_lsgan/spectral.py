"""Spectral normalisation of the discriminator (Miyato et al. 2018, arXiv:1802.05957).

``setup()`` wraps the weight of every convolution and linear layer of D with
``torch.nn.utils.parametrizations.spectral_norm``: the layer then uses W / σ(W), σ estimated by
power iteration (one iteration per forward pass in training mode, the paper's Algorithm 1).

ganzoo calls ``setup()`` before it creates the optimizers, so the D optimizer holds the
parametrization's ``original`` weights, and D's ``state_dict`` (hence every checkpoint) holds
them along with the power-iteration vectors ``_u``/``_v``. A resumed run rebuilds D, runs
``setup()`` again, and loads into the same keys.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo import ConfigError, Trick

# Every convolution (incl. transposed) and linear layer: the layers whose weights bound D's
# Lipschitz constant. Normalisation layers (BatchNorm ...) are left alone.
_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
           nn.ConvTranspose3d, nn.Linear)


class SpectralNorm(Trick):
    """Divide every Conv/Linear weight of the discriminator by its largest singular value."""

    name = "spectral-norm"

    def __init__(self, n_power_iterations: int = 1, eps: float = 1e-12) -> None:
        if int(n_power_iterations) < 1:
            raise ConfigError("trick 'spectral-norm': n_power_iterations must be >= 1, "
                              f"got {n_power_iterations}")
        self.n_power_iterations, self.eps = int(n_power_iterations), float(eps)
        self.layers = 0

    def setup(self, generator: nn.Module, discriminator: nn.Module) -> None:
        layers = [m for m in discriminator.modules() if isinstance(m, _LAYERS)]
        for module in layers:
            if not parametrize.is_parametrized(module, "weight"):  # already normalised: keep
                spectral_norm(module, n_power_iterations=self.n_power_iterations, eps=self.eps)
        self.layers = len(layers)
        if not layers:
            raise ConfigError("trick 'spectral-norm': the discriminator has no convolution or linear "
                              "layer to normalise")
