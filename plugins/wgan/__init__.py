"""The Wasserstein GAN variants: ``wgan-clip`` (weight clipping) and ``wgan-gp`` (gradient
penalty) use the DCGAN generator and the BatchNorm-free ``dcgan-critic``; ``wgan-clip-mlp`` and
``wgan-gp-mlp`` are the same losses on dense, CPU-sized networks, tuned on the built-in digits.

Provenance: Arjovsky, Chintala & Bottou 2017 (arXiv:1701.07875): RMSprop 5e-5, clip 0.01,
5 critic steps; Gulrajani et al. 2017 (arXiv:1704.00028): λ = 10, Adam 1e-4 β = (0.5, 0.9),
5 critic steps, no BatchNorm in the critic.
"""

from __future__ import annotations

from ganzoo import OptimizerSettings, Variant, hookimpl


# The dense recipes (issue 36): tuned on the built-in digits against the one-file PyTorch-GAN
# loops of the same losses at equal wall-clock time (benchmarks/RESULTS.md, "Dense Wasserstein
# recipes"). What paid at equal time: a critic of the textbook's size (784→512→256, no dropout:
# the default 1024-wide one halved the steps a minute buys), BatchNorm in the generator, 2 critic
# updates per generator update instead of 5 (3 was worse, 1 worse still for the penalty), and a
# 4× faster RMSprop (2e-4) for clipping. Sampling from an EMA is kept for longer runs (no gain
# yet at 3 minutes); DiffAugment and batch 128 lost. 20,000 steps is about 10 minutes on one core.
DENSE_WASSERSTEIN = {
    "generator": "mlp", "discriminator": "mlp", "loss": "wasserstein",
    "generator_params": {"batchnorm": True},
    "discriminator_params": {"dropout": 0.0, "hidden": [512, 256]},
    "batch_size": 64, "latent_dim": 100,
}
"""The networks and sizes both dense Wasserstein variants share."""


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
    register(Variant(
        name="wgan-gp-mlp",
        summary="WGAN-GP on dense CPU-sized nets: BatchNorm generator, 784→512→256 critic, 2 critic steps, EMA",
        source="Gulrajani et al. 2017, arXiv:1704.00028; tuned on the built-in digits (benchmarks/RESULTS.md)",
        **DENSE_WASSERSTEIN,
        tricks={"gradient-penalty": {"weight": 10.0}, "ema": {"decay": 0.999}},
        g_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        d_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        critic_steps=2, steps=20000,
    ))
    register(Variant(
        name="wgan-clip-mlp",
        summary="WGAN, weights clipped to ±0.01, on dense CPU-sized nets: BatchNorm generator, RMSprop 2e-4, 2 critic steps, EMA",
        source="Arjovsky et al. 2017, arXiv:1701.07875; tuned on the built-in digits (benchmarks/RESULTS.md)",
        **DENSE_WASSERSTEIN,
        tricks={"weight-clip": {"value": 0.01}, "ema": {"decay": 0.999}},
        g_optimizer=OptimizerSettings("rmsprop", lr=2e-4),
        d_optimizer=OptimizerSettings("rmsprop", lr=2e-4),
        critic_steps=2, steps=20000,
    ))
