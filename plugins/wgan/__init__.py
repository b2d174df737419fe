"""The Wasserstein GAN variants: ``wgan-clip`` (weight clipping) and ``wgan-gp`` (gradient
penalty). Both use the DCGAN generator and the BatchNorm-free ``dcgan-critic``.

Provenance: Arjovsky, Chintala & Bottou 2017 (arXiv:1701.07875): RMSprop 5e-5, clip 0.01,
5 critic steps; Gulrajani et al. 2017 (arXiv:1704.00028): λ = 10, Adam 1e-4 β = (0.5, 0.9),
5 critic steps, no BatchNorm in the critic.
"""

from __future__ import annotations

from ganzoo import OptimizerSettings, Variant, hookimpl


@hookimpl
def register_variants(register):
    register(Variant(
        name="wgan-clip",
        summary="Wasserstein GAN: critic weights clipped to ±0.01, RMSprop, 5 critic steps",
        source="Arjovsky et al. 2017, arXiv:1701.07875",
        generator="dcgan", discriminator="dcgan-critic", loss="wasserstein",
        tricks={"weight-clip": {"value": 0.01}},
        g_optimizer=OptimizerSettings("rmsprop", lr=5e-5),
        d_optimizer=OptimizerSettings("rmsprop", lr=5e-5),
        critic_steps=5, batch_size=64, latent_dim=100, steps=3000,
    ))
    register(Variant(
        name="wgan-gp",
        summary="Wasserstein GAN with gradient penalty λ=10 on per-sample interpolates",
        source="Gulrajani et al. 2017, arXiv:1704.00028",
        generator="dcgan", discriminator="dcgan-critic", loss="wasserstein",
        tricks={"gradient-penalty": {"weight": 10.0}},
        g_optimizer=OptimizerSettings("adam", lr=1e-4, betas=(0.5, 0.9)),
        d_optimizer=OptimizerSettings("adam", lr=1e-4, betas=(0.5, 0.9)),
        critic_steps=5, batch_size=64, latent_dim=100, steps=3000,
    ))
