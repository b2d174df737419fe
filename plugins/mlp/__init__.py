"""Dense MLP networks and the ``vanilla`` GAN.

Provenance: Goodfellow et al. 2014 (arXiv:1406.2661); layer sizes, LeakyReLU(0.2), dropout 0.3,
tanh output, Adam 2e-4/β1=0.5 and one-sided label smoothing to 0.9 as in the classic Keras and
PyTorch MNIST tutorials (shared/seeds 002, 004).
"""

from __future__ import annotations

from ganzoo import OptimizerSettings, Variant, hookimpl, lazy

SOURCE = "Goodfellow et al. 2014, arXiv:1406.2661; Keras/PyTorch MNIST GAN tutorials"

VANILLA_TRAINING = {
    "loss": "bce",
    "tricks": {"label-smoothing": {"real": 0.9},
               "diffaugment": {"policy": "translation", "translation": 0.0625},
               "ema": {"decay": 0.999}},
    "g_optimizer": OptimizerSettings("adam", lr=8e-4, betas=(0.5, 0.999)),
    "d_optimizer": OptimizerSettings("adam", lr=4e-4, betas=(0.5, 0.999)),
    "batch_size": 128, "latent_dim": 100, "steps": 16000,
}
"""How ``vanilla`` trains (the dense networks aside): also ``cgan``'s recipe."""


@hookimpl
def register_generators(register):
    register("mlp", lazy("ganzoo_plugins.mlp.networks:MLPGenerator"),
             summary="dense z→256→512→1024→image, LeakyReLU(0.2), tanh",
             source=SOURCE)


@hookimpl
def register_discriminators(register):
    register("mlp", lazy("ganzoo_plugins.mlp.networks:MLPDiscriminator"),
             summary="dense image→1024→512→256→logit, LeakyReLU(0.2), dropout 0.3", source=SOURCE)


@hookimpl
def register_variants(register):
    # The tutorials' values, verbatim: on the 3,000 built-in digits the discriminator memorises
    # the data and the generator collapses to two or three digits (benchmarks/RESULTS.md).
    register(Variant(
        name="vanilla-classic",
        summary="the original GAN exactly as the classic tutorials train it (batch 64, Adam 2e-4 for both)",
        source=SOURCE,
        generator="mlp", discriminator="mlp", loss="bce",
        tricks={"label-smoothing": {"real": 0.9}},
        g_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        d_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        batch_size=64, latent_dim=100, steps=6000,
    ))
    # Same layers and loss, defaults tuned on the built-in data (benchmarks/RESULTS.md): BatchNorm
    # in the generator's hidden layers, a stronger discriminator (dropout 0.1, Adam 4e-4), batch
    # 128, DiffAugment translation (up to 2 px) against memorising the 3,000 digits, and
    # sampling from an EMA. The minibatch-std feature in D keeps the digit classes balanced: without
    # it the generator drifts towards 0s and 1s over long runs, and that imbalance alone accounts
    # for most of the Fréchet distance. The generator learns at twice D's rate (8e-4): at 12,000
    # steps two-sample accuracy 0.67 against 0.71-0.72 with 4e-4; faster still lost on the FD.
    register(Variant(
        name="vanilla",
        summary="the original GAN: dense MLPs, BCE with logits, label smoothing 0.9; tuned for small data",
        source=SOURCE + "; DiffAugment (Zhao et al. 2020)",
        generator="mlp", discriminator="mlp",
        generator_params={"batchnorm": True},
        discriminator_params={"dropout": 0.1, "minibatch_std": 4},
        **VANILLA_TRAINING,
    ))
