"""ganzoo-infogan: InfoGAN as a third-party ganzoo plugin, using only ganzoo's public contract.

InfoGAN (Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel 2016, "InfoGAN: Interpretable
Representation Learning by Information Maximizing Generative Adversarial Nets",
arXiv:1606.03657) feeds the generator noise z *and* latent codes c, and maximises a variational
lower bound on the mutual information I(c; G(z, c)) with a network Q(c | x) that shares the
discriminator's body. Without labels, the categorical code comes to pick the digit and the
continuous codes its style (slant, width). ganzoo gets:

- the latent ``infogan-mnist`` (``register_latents``): 62 normal noise values (what
  ``latent_dim`` leaves), ``digit`` (categorical, 10 classes) and ``style`` (2 values in
  U(-1, 1)): the paper's MNIST latent, so ``ganzoo sample RUN --code digit=3`` fixes the code;
- the network ``infogan-q`` (``register_networks``), declared by the variant as the role ``q``
  built on the discriminator's body (``Role("infogan-q", base="discriminator")``);
- the update ``infogan-mi`` (``register_updates``): G, Q and the shared body learn to make the
  codes recoverable, reporting ``mi_accuracy``;
- the variant ``infogan``: the built-in ``dcgan`` discriminator and generator (``width=32``),
  BCE, and the paper's MNIST optimisers (Adam, 2e-4 for D, 1e-3 for G, β1 = 0.5), scaled to
  ganzoo's 28×28 built-in digits and a CPU budget.

Registration is cheap: torch is imported only when something is built.
"""

from __future__ import annotations

from ganzoo import LatentPart, OptimizerSettings, Phase, Role, Variant, hookimpl, lazy

SOURCE = "Chen et al. 2016, arXiv:1606.03657"
D_ADAM = OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999))  # D, and Q's head with it
G_ADAM = OptimizerSettings("adam", lr=1e-3, betas=(0.5, 0.999))


@hookimpl
def register_latents(register):
    register("infogan-mnist", [LatentPart("noise", "normal"),            # what latent_dim leaves (62)
                               LatentPart("digit", "categorical", 10),   # Cat(K = 10), one-hot
                               LatentPart("style", "uniform", 2)],       # c2, c3 ~ U(-1, 1)
             summary="InfoGAN's MNIST latent: normal noise, a 10-way categorical code, 2 uniform codes",
             source=SOURCE)


@hookimpl
def register_networks(register):
    register("infogan-q", lazy("ganzoo_infogan.networks:InfoGANQ"),
             summary="Q(c|x): the discriminator's body (shared) → FC 128-BN-lReLU → the codes",
             source=SOURCE)


@hookimpl
def register_updates(register):
    register("infogan-mi", lazy("ganzoo_infogan.updates:MutualInformation"),
             roles=("generator", "q", "discriminator"), points=(),
             summary="G and Q (with D's shared body) maximise the mutual-information bound L_I",
             source=SOURCE)


@hookimpl
def register_variants(register):
    register(Variant(
        name="infogan",
        summary="InfoGAN: codes in the latent that a Q head on D's body recovers; digit=K picks a digit, unsupervised",
        source=SOURCE, generator="dcgan", discriminator="dcgan", loss="bce",
        generator_params={"width": 32},  # 128 channels at 7×7, as the paper's G; a quarter of the default's cost
        roles={"q": Role("infogan-q", base="discriminator", optimizer=D_ADAM)},
        phases=(Phase("discriminator"), Phase("generator"), Phase("infogan-mi")),
        g_optimizer=G_ADAM, d_optimizer=D_ADAM,
        batch_size=64, latent_dim=74, latent_distribution="infogan-mnist", steps=3000,
    ))
