"""Dense MLP networks and the ``vanilla`` GAN.

Provenance: Goodfellow et al. 2014 (arXiv:1406.2661); layer sizes, LeakyReLU(0.2), dropout 0.3,
tanh output, Adam 2e-4/β1=0.5 and one-sided label smoothing to 0.9 as in the classic Keras and
PyTorch MNIST tutorials (shared/seeds 002, 004).
"""

from __future__ import annotations

from typing import Any

from ganzoo import OptimizerSettings, Variant, hookimpl

SOURCE = "Goodfellow et al. 2014, arXiv:1406.2661; Keras/PyTorch MNIST GAN tutorials"


def mlp_generator(image_shape: tuple[int, int, int], latent_dim: int, **params: Any):
    from ganzoo_plugins.mlp.networks import MLPGenerator

    return MLPGenerator(image_shape, latent_dim, **params)


def mlp_discriminator(image_shape: tuple[int, int, int], **params: Any):
    from ganzoo_plugins.mlp.networks import MLPDiscriminator

    return MLPDiscriminator(image_shape, **params)


@hookimpl
def register_generators(register):
    register("mlp", mlp_generator, summary="dense z→256→512→1024→image, LeakyReLU(0.2), tanh",
             source=SOURCE)


@hookimpl
def register_discriminators(register):
    register("mlp", mlp_discriminator,
             summary="dense image→1024→512→256→logit, LeakyReLU(0.2), dropout 0.3", source=SOURCE)


@hookimpl
def register_variants(register):
    register(Variant(
        name="vanilla",
        summary="the original GAN: dense MLPs, BCE with logits, real labels smoothed to 0.9",
        source=SOURCE,
        generator="mlp", discriminator="mlp", loss="bce",
        tricks={"label-smoothing": {"real": 0.9}},
        g_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        d_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        batch_size=64, latent_dim=100, steps=6000,
    ))
