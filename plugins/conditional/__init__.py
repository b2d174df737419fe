"""Class-conditional GANs: ``cgan``, the conditional GAN of Mirza & Osindero 2014
(arXiv:1411.1784), with ganzoo's ``vanilla`` layers and training defaults: the label, one-hot,
joins the generator's latent and the discriminator's input."""

from __future__ import annotations

from ganzoo import Variant, hookimpl, lazy
from ganzoo_plugins.mlp import VANILLA_TRAINING

SOURCE = "Mirza & Osindero 2014, arXiv:1411.1784"
PACKAGE = "ganzoo_plugins.conditional.networks"


@hookimpl
def register_generators(register):
    register("cgan-mlp", lazy(f"{PACKAGE}:ConditionalMLPGenerator"), conditional=True,
             summary="dense [z, one-hot(label)]→256→512→1024→image, BatchNorm, tanh", source=SOURCE)


@hookimpl
def register_discriminators(register):
    register("cgan-mlp", lazy(f"{PACKAGE}:ConditionalMLPDiscriminator"), conditional=True,
             summary="dense [image, one-hot(label)]→1024→512→256→logit, dropout 0.1, minibatch std",
             source=SOURCE)


@hookimpl
def register_variants(register):
    # vanilla's recipe (benchmarks/RESULTS.md) with the label joined to both networks' inputs.
    register(Variant(
        name="cgan",
        summary="conditional GAN: dense MLPs given the digit's class; ask for any digit",
        source=SOURCE, generator="cgan-mlp", discriminator="cgan-mlp", **VANILLA_TRAINING,
    ))
