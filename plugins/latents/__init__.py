"""Built-in latents: ``normal`` (every variant's default) and ``uniform``, one part ``z`` each,
taking the variant's whole ``latent_dim``; drawn exactly as one ``torch.randn``/``torch.rand``
of the whole vector (see :mod:`ganzoo.latent`)."""

from __future__ import annotations

from ganzoo import LatentPart, hookimpl


@hookimpl
def register_latents(register):
    register("normal", [LatentPart("z", "normal")], summary="z ~ N(0, 1), latent_dim values (the default)")
    register("uniform", [LatentPart("z", "uniform")], summary="z ~ U(-1, 1), latent_dim values",
             source="the uniform prior of Goodfellow et al. 2014 and BiGAN, Donahue et al. 2016")
