"""ganzoo-bigan: BiGAN as a third-party ganzoo plugin, using only ganzoo's public contract.

A BiGAN (Donahue, Krähenbühl & Darrell 2017, "Adversarial Feature Learning", arXiv:1605.09782;
the same model as Dumoulin et al.'s ALI, arXiv:1606.00704) trains an **encoder** E: x → z
next to the generator G: z → x. Its discriminator scores (image, latent) pairs, telling
(x, E(x)) from (G(z), z); at the optimum E inverts G, and E(x) is a feature of x learnt
without labels. ganzoo gets:

- the network ``bigan-encoder`` for the extra role ``encoder`` (``register_networks``);
- the discriminator ``bigan-joint`` scoring pairs (``inputs=("image", "latent")``);
- two updates making the step (``register_updates``): ``bigan-discriminator`` (D) and
  ``bigan-generator-encoder`` (G and E together, each with its own optimizer);
- the variant ``bigan``: the paper's permutation-invariant MNIST setting (MLPs, 50-d uniform
  latent, Adam 2e-4, β1 0.5), scaled to ganzoo's 28×28 digits.

Registration is cheap: torch is imported only when something is built.
"""

from __future__ import annotations

from ganzoo import OptimizerSettings, Phase, Role, Variant, hookimpl, lazy

SOURCE = "Donahue et al. 2017, arXiv:1605.09782"
ADAM = OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999), weight_decay=2.5e-5)


@hookimpl
def register_networks(register):
    register("bigan-encoder", lazy("ganzoo_bigan.networks:Encoder"),
             summary="MLP encoder image → latent (BiGAN's E)", source=SOURCE)


@hookimpl
def register_discriminators(register):
    register("bigan-joint", lazy("ganzoo_bigan.networks:JointDiscriminator"), inputs=("image", "latent"),
             summary="MLP discriminator on (image, latent) pairs", source=SOURCE)


@hookimpl
def register_updates(register):
    register("bigan-discriminator", lazy("ganzoo_bigan.updates:DiscriminatorUpdate"),
             roles=("discriminator",), summary="D tells (x, E(x)) from (G(z), z)", source=SOURCE)
    register("bigan-generator-encoder", lazy("ganzoo_bigan.updates:GeneratorEncoderUpdate"),
             roles=("generator", "encoder"), summary="G and E fool D together (inverted targets)",
             source=SOURCE)


@hookimpl
def register_variants(register):
    register(Variant(
        name="bigan", summary="BiGAN: generator, encoder and a discriminator on (image, latent) pairs",
        source=SOURCE, generator="mlp", discriminator="bigan-joint", loss="bce",
        generator_params={"hidden": (1024, 1024)},
        roles={"encoder": Role("bigan-encoder", optimizer=ADAM)},
        phases=(Phase("bigan-discriminator"), Phase("bigan-generator-encoder")),
        g_optimizer=ADAM, d_optimizer=ADAM,
        batch_size=128, latent_dim=50, latent_distribution="uniform", steps=6000,
    ))
