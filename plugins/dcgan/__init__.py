"""DCGAN networks (generator, discriminator, critic) and the ``dcgan`` variant.

Provenance: Radford, Metz & Chintala 2015 (arXiv:1511.06434); the layer layout (dense →
7×7×256 → transposed 5×5 convolutions; two strided 5×5 convolutions in D) follows the
TensorFlow DCGAN tutorial (shared/seeds 001, 003).
"""

from __future__ import annotations

from ganzoo import OptimizerSettings, Variant, hookimpl, lazy

SOURCE = "Radford et al. 2015, arXiv:1511.06434; TensorFlow DCGAN tutorial"
NETWORKS = "ganzoo_plugins.dcgan.networks"


@hookimpl
def register_generators(register):
    register("dcgan", lazy(f"{NETWORKS}:DCGANGenerator"),
             summary="dense → (H/4)×(W/4)×256 → transposed 5×5 convs, BatchNorm + ReLU, tanh",
             source=SOURCE)


@hookimpl
def register_discriminators(register):
    register("dcgan", lazy(f"{NETWORKS}:DCGANDiscriminator"),
             summary="two strided 5×5 convs, LeakyReLU(0.2) + dropout 0.3, linear logit",
             source=SOURCE)
    # The critic is the discriminator with dropout 0 unless the recipe says otherwise.
    register("dcgan-critic", lazy(f"{NETWORKS}:DCGANDiscriminator", dropout=0.0),
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
