"""Class-conditional GANs, three ways of giving the class to the networks:

- ``cgan``, Mirza & Osindero 2014 (arXiv:1411.1784), with ganzoo's ``vanilla`` layers and
  training defaults: the label, one-hot, joins the generator's latent and the discriminator's
  input;
- ``acgan``, Odena, Olah & Shlens 2017 (arXiv:1610.09585): the DCGAN generator given the one-hot
  label, and a DCGAN discriminator with an auxiliary classifier head; the auxiliary
  cross-entropy on real and generated images joins both players' losses (the built-in updates
  add it for any discriminator registered ``classifier=True``);
- ``cdcgan-proj``, Miyato & Koyama 2018 (arXiv:1802.05637) with the SNGAN recipe (Miyato et
  al. 2018, arXiv:1802.05957) scaled to 28×28: conditional BatchNorm in a DCGAN-size
  generator, a spectrally normalised projection discriminator, hinge loss.
"""

from __future__ import annotations

from ganzoo import OptimizerSettings, Variant, hookimpl, lazy
from ganzoo_plugins.mlp import VANILLA_TRAINING

CGAN_SOURCE = "Mirza & Osindero 2014, arXiv:1411.1784"
ACGAN_SOURCE = "Odena et al. 2017, arXiv:1610.09585"
PROJECTION_SOURCE = "Miyato & Koyama 2018, arXiv:1802.05637; SNGAN, Miyato et al. 2018, arXiv:1802.05957"
PACKAGE = "ganzoo_plugins.conditional"


@hookimpl
def register_generators(register):
    register("cgan-mlp", lazy(f"{PACKAGE}.networks:ConditionalMLPGenerator"), conditional=True,
             summary="dense [z, one-hot(label)]→256→512→1024→image, BatchNorm, tanh", source=CGAN_SOURCE)
    register("acgan-dcgan", lazy(f"{PACKAGE}.networks:ConditionalDCGANGenerator"), conditional=True,
             summary="the dcgan generator on [z, one-hot(label)]", source=ACGAN_SOURCE)
    register("cbn-dcgan", lazy(f"{PACKAGE}.projection:ConditionalBNGenerator"), conditional=True,
             summary="dcgan layout, conditional BatchNorm (per-class gain and bias) before every conv",
             source="de Vries et al. 2017, arXiv:1707.00683; Miyato & Koyama 2018, arXiv:1802.05637")


@hookimpl
def register_discriminators(register):
    register("cgan-mlp", lazy(f"{PACKAGE}.networks:ConditionalMLPDiscriminator"), conditional=True,
             summary="dense [image, one-hot(label)]→1024→512→256→logit, dropout 0.1, minibatch std",
             source=CGAN_SOURCE)
    register("acgan-dcgan", lazy(f"{PACKAGE}.networks:AuxiliaryClassifierDiscriminator"), classifier=True,
             summary="the dcgan discriminator with an auxiliary class-logit head", source=ACGAN_SOURCE)
    register("projection", lazy(f"{PACKAGE}.projection:ProjectionDiscriminator"), conditional=True,
             summary="spectral-norm convs, summed features h; score ψ(h) + ⟨embed(label), h⟩",
             source=PROJECTION_SOURCE)


@hookimpl
def register_variants(register):
    # vanilla's recipe (benchmarks/RESULTS.md) with the label joined to both networks' inputs.
    register(Variant(
        name="cgan",
        summary="conditional GAN: dense MLPs given the digit's class; ask for any digit",
        source=CGAN_SOURCE, generator="cgan-mlp", discriminator="cgan-mlp", **VANILLA_TRAINING,
    ))
    # DCGAN's networks and optimizer settings, as the AC-GAN paper's MNIST/CIFAR models.
    register(Variant(
        name="acgan",
        summary="auxiliary-classifier GAN: the discriminator also names the digit, both players learn from it",
        source=ACGAN_SOURCE, generator="acgan-dcgan", discriminator="acgan-dcgan", loss="bce",
        g_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        d_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        batch_size=64, latent_dim=100, steps=3000,
    ))
    # The two time-scale settings of SAGAN/BigGAN (D 4e-4, G 1e-4, β1 = 0), one D step per G
    # step: at equal CPU time they beat SNGAN's 2e-4/β (0.5, 0.999), whose D zeroed its hinge
    # loss and left G at 1 class in 10 (benchmarks/RESULTS.md).
    register(Variant(
        name="cdcgan-proj",
        summary="projection-discriminator GAN: conditional BatchNorm G, spectral-norm projection D, hinge loss",
        source=PROJECTION_SOURCE, generator="cbn-dcgan", discriminator="projection", loss="hinge-margin",
        g_optimizer=OptimizerSettings("adam", lr=1e-4, betas=(0.0, 0.999)),
        d_optimizer=OptimizerSettings("adam", lr=4e-4, betas=(0.0, 0.999)),
        batch_size=64, latent_dim=128, steps=3000,
    ))
