"""ganzoo-cyclegan: CycleGAN as a third-party ganzoo plugin, using only ganzoo's public contract.

CycleGAN (Zhu, Park, Isola & Efros 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", arXiv:1703.10593) learns two translators between two
image domains from unpaired examples: G: B → A and F: A → B, each judged by a discriminator of
its target domain, and tied together by cycle consistency (F(G(b)) ≈ b, G(F(a)) ≈ a). Here A is
the run's data (ganzoo's digits) and B the data field ``thick`` (thickened digits, written by
``ganzoo-cyclegan-domain``). ganzoo gets:

- the translating generator ``cyclegan-resnet`` (``register_generators(...,
  inputs=("image",))``), also registered as the network ``cyclegan-resnet`` for the role
  ``generator_ab`` (F);
- the discriminator ``cyclegan-patch`` (a PatchGAN; one score per image, the mean of its
  patches), also the network ``cyclegan-patch`` for the role ``discriminator_b`` (D_B);
- the loss ``cyclegan-least-squares`` (LSGAN, as the paper);
- the updates ``cyclegan-generators`` (G and F: adversarial, cycle and identity terms) and
  ``cyclegan-discriminators`` (D_A and D_B);
- the variant ``cyclegan``: ``translate_from="thick"``, so ``generator`` (G: thick → thin) is
  what ganzoo samples, evaluates and exports.

Registration is cheap: torch is imported only when something is built.
"""

from __future__ import annotations

from ganzoo import OptimizerSettings, Phase, Role, Variant, hookimpl, lazy

SOURCE = "Zhu et al. 2017, arXiv:1703.10593"
ADAM = OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999))  # every role, as the paper
FIELD = "thick"


@hookimpl
def register_generators(register):
    register("cyclegan-resnet", lazy("ganzoo_cyclegan.networks:ResnetTranslator"), inputs=("image",),
             summary="CycleGAN's ResNet translator: c7s1-16, d32, d64, 3×R64, u32, u16, c7s1, tanh; InstanceNorm",
             source=SOURCE)


@hookimpl
def register_discriminators(register):
    register("cyclegan-patch", lazy("ganzoo_cyclegan.networks:PatchDiscriminator"),
             summary="PatchGAN (70×70 layout scaled to 28×28: C16-C32-C64-score, 4×4, IN, lReLU); mean patch score",
             source=SOURCE)


@hookimpl
def register_networks(register):
    register("cyclegan-resnet", lazy("ganzoo_cyclegan.networks:translator_network"),
             summary="cyclegan-resnet for a further role (the translator A → B)", source=SOURCE)
    register("cyclegan-patch", lazy("ganzoo_cyclegan.networks:patch_network"),
             summary="cyclegan-patch for a further role (the discriminator of domain B)", source=SOURCE)


@hookimpl
def register_losses(register):
    register("cyclegan-least-squares", lazy("ganzoo_cyclegan.objectives:LeastSquares"), tags=("labels",),
             summary="LSGAN as CycleGAN's code: D ½(D(x)−b)² + ½(D(G(x'))−a)²; G (D(G(x'))−1)²",
             source=f"{SOURCE}; Mao et al. 2017, arXiv:1611.04076")


@hookimpl
def register_updates(register):
    register("cyclegan-generators", lazy("ganzoo_cyclegan.updates:Generators"),
             roles=("generator", "generator_ab"), points=(),
             summary="G: B→A and F: A→B together: adversarial + λ·cycle L1 + identity L1",
             source=SOURCE)
    register("cyclegan-discriminators", lazy("ganzoo_cyclegan.updates:Discriminators"),
             roles=("discriminator", "discriminator_b"), points=(),
             summary="D_A (real A vs G(b)) and D_B (real B vs F(a)) on the loss's d_loss",
             source=SOURCE)


@hookimpl
def register_variants(register):
    register(Variant(
        name="cyclegan",
        summary="CycleGAN: unpaired translation thick → thin digits (--field thick=...), two translators, "
                "two PatchGANs, cycle + identity L1, least squares",
        source=f"{SOURCE}; junyanz/pytorch-CycleGAN-and-pix2pix",
        generator="cyclegan-resnet", discriminator="cyclegan-patch", loss="cyclegan-least-squares",
        data_fields=(FIELD,), translate_from=FIELD,
        roles={"generator_ab": Role("cyclegan-resnet", optimizer=ADAM),
               "discriminator_b": Role("cyclegan-patch", optimizer=ADAM)},
        phases=(Phase("cyclegan-generators"), Phase("cyclegan-discriminators")),
        g_optimizer=ADAM, d_optimizer=ADAM,
        batch_size=16, steps=2000,
    ))
