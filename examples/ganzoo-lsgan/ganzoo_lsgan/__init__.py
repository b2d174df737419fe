"""ganzoo-lsgan: an example third-party ganzoo plugin.

Registers the ``least-squares`` and ``hinge`` losses, the ``spectral-norm`` trick, and the
variants ``lsgan`` and ``hinge-sn``, using only ganzoo's public API. Registration is cheap:
torch is imported inside the factories, from :mod:`ganzoo_lsgan.objectives` and
:mod:`ganzoo_lsgan.spectral`.

Provenance: Mao et al. 2017, "Least Squares Generative Adversarial Networks"
(arXiv:1611.04076); Lim & Ye 2017, "Geometric GAN" (arXiv:1705.02894, the hinge loss);
Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks"
(arXiv:1802.05957), with the hyper-parameters of its official unconditional CIFAR-10 config
(pfnet-research/sngan_projection, configs/sn_cifar10_unconditional.yml: hinge loss, Adam
α = 2e-4, β1 = 0, β2 = 0.9, n_dis = 5).
"""

from __future__ import annotations

from typing import Any

from ganzoo import OptimizerSettings, Variant, hookimpl

LSGAN_SOURCE = "Mao et al. 2017, arXiv:1611.04076"
SNGAN_SOURCE = "Miyato et al. 2018, arXiv:1802.05957"


def least_squares(**params: Any):
    from ganzoo_lsgan.objectives import LeastSquares

    return LeastSquares(**params)


def hinge(**params: Any):
    from ganzoo_lsgan.objectives import Hinge

    return Hinge(**params)


def spectral_norm(**params: Any):
    from ganzoo_lsgan.spectral import SpectralNorm

    return SpectralNorm(**params)


@hookimpl
def register_losses(register):
    # least-squares regresses scores onto the real/fake targets: label smoothing and label
    # noise change those targets, so it carries the "labels" tag.
    register("least-squares", least_squares, tags=("labels",),
             summary="LSGAN: D ½(D(x)−b)² + ½(D(G(z))−a)² on the real/fake targets b, a; G ½(D(G(z))−1)²",
             source=LSGAN_SOURCE)
    # hinge scores are unbounded margins, not probabilities, and the targets are unused: it is
    # a critic loss (its G loss is the Wasserstein one), so "critic", not "labels".
    register("hinge", hinge, tags=("critic",),
             summary="hinge: D E[max(0, 1−D(x))] + E[max(0, 1+D(G(z)))]; G −E[D(G(z))]",
             source=f"Lim & Ye 2017, arXiv:1705.02894; {SNGAN_SOURCE}")


@hookimpl
def register_tricks(register):
    # Weight clipping is a second, cruder Lipschitz constraint on the same weights.
    register("spectral-norm", spectral_norm, conflicts=("weight-clip",),
             summary="divide every Conv/Linear weight of D by its spectral norm (1 power iteration/step)",
             source=SNGAN_SOURCE)


@hookimpl
def register_variants(register):
    register(Variant(
        name="lsgan",
        summary="least-squares GAN: DCGAN networks, D regresses scores onto 1 (real) / 0 (fake)",
        source=f"{LSGAN_SOURCE}; optimizer as in DCGAN, Radford et al. 2015, arXiv:1511.06434",
        generator="dcgan", discriminator="dcgan", loss="least-squares",
        g_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        d_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        batch_size=64, latent_dim=100, steps=3000,
    ))
    register(Variant(
        name="hinge-sn",
        summary="SN-GAN: hinge loss, spectrally normalised critic, Adam β=(0, 0.9), 5 critic steps",
        source=f"{SNGAN_SOURCE}; pfnet-research/sngan_projection configs/sn_cifar10_unconditional.yml",
        generator="dcgan", discriminator="dcgan-critic", loss="hinge",
        tricks={"spectral-norm": {}},
        g_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.0, 0.9)),
        d_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.0, 0.9)),
        critic_steps=5, batch_size=64, latent_dim=100, steps=3000,
    ))
