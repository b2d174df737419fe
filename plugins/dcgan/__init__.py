"""DCGAN networks (generator, discriminator, critic) and the ``dcgan`` variant.

Provenance: Radford, Metz & Chintala 2015 (arXiv:1511.06434); the layer layout (dense →
7×7×256 → transposed 5×5 convolutions; two strided 5×5 convolutions in D) follows the
TensorFlow DCGAN tutorial (shared/seeds 001, 003).
"""

from __future__ import annotations

from typing import Any

from ganzoo import OptimizerSettings, Variant, hookimpl

SOURCE = "Radford et al. 2015, arXiv:1511.06434; TensorFlow DCGAN tutorial"


def dcgan_generator(image_shape: tuple[int, int, int], latent_dim: int, **params: Any):
    from ganzoo_plugins.dcgan.networks import DCGANGenerator

    return DCGANGenerator(image_shape, latent_dim, **params)


def dcgan_discriminator(image_shape: tuple[int, int, int], **params: Any):
    from ganzoo_plugins.dcgan.networks import DCGANDiscriminator

    return DCGANDiscriminator(image_shape, **params)


def dcgan_critic(image_shape: tuple[int, int, int], **params: Any):
    from ganzoo_plugins.dcgan.networks import DCGANDiscriminator

    params.setdefault("dropout", 0.0)
    return DCGANDiscriminator(image_shape, **params)


@hookimpl
def register_generators(register):
    register("dcgan", dcgan_generator,
             summary="dense → (H/4)×(W/4)×256 → transposed 5×5 convs, BatchNorm + ReLU, tanh",
             source=SOURCE)


@hookimpl
def register_discriminators(register):
    register("dcgan", dcgan_discriminator,
             summary="two strided 5×5 convs, LeakyReLU(0.2) + dropout 0.3, linear logit",
             source=SOURCE)
    register("dcgan-critic", dcgan_critic,
             summary="the dcgan discriminator without dropout (no BatchNorm): a WGAN critic",
             source="Arjovsky et al. 2017, arXiv:1701.07875; Gulrajani et al. 2017, arXiv:1704.00028")


@hookimpl
def register_variants(register):
    register(Variant(
        name="dcgan",
        summary="deep convolutional GAN: transposed-conv generator, strided-conv discriminator, BCE",
        source=SOURCE,
        generator="dcgan", discriminator="dcgan", loss="bce",
        g_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        d_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        batch_size=64, latent_dim=100, steps=3000,
    ))
