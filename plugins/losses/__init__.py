"""Built-in adversarial losses: ``bce`` (non-saturating, with logits), ``wasserstein`` and
``ragan`` (relativistic average), ``hinge-margin``, and the ``ragan`` variant.

Provenance: Goodfellow et al. 2014 (arXiv:1406.2661) for the non-saturating loss; Arjovsky,
Chintala & Bottou 2017 (arXiv:1701.07875) for the Wasserstein critic loss; Jolicoeur-Martineau
2018 (arXiv:1807.00734) for the relativistic average GAN; Lim & Ye 2017 (arXiv:1705.02894)
and Miyato et al. 2018 (arXiv:1802.05957) for the hinge loss.
"""

from __future__ import annotations

from ganzoo import OptimizerSettings, Variant, hookimpl, lazy

RAGAN_SOURCE = "Jolicoeur-Martineau 2018, arXiv:1807.00734"


@hookimpl
def register_losses(register):
    register("bce", lazy("ganzoo_plugins.losses.objectives:BCEWithLogits"), tags=("labels",),
             summary="non-saturating binary cross-entropy on logits (uses real/fake targets)",
             source="Goodfellow et al. 2014, arXiv:1406.2661")
    register("wasserstein", lazy("ganzoo_plugins.losses.objectives:Wasserstein"), tags=("critic",),
             summary="Wasserstein critic loss E[D(fake)] − E[D(real)]; G maximises E[D(fake)]",
             source="Arjovsky et al. 2017, arXiv:1701.07875")
    register("ragan", lazy("ganzoo_plugins.losses.objectives:RelativisticAverage"),
             summary="relativistic average: real vs the mean fake and fake vs the mean real, both "
                     "players (G's loss uses real scores)",
             source=RAGAN_SOURCE)
    # Not "hinge": the third-party example package ganzoo-lsgan already registers that name.
    register("hinge-margin", lazy("ganzoo_plugins.losses.objectives:Hinge"), tags=("critic",),
             summary="hinge: D minimises E[relu(1 − D(real))] + E[relu(1 + D(fake))]; G maximises E[D(fake)]",
             source="Lim & Ye 2017, arXiv:1705.02894; Miyato et al. 2018 (SNGAN), arXiv:1802.05957")


@hookimpl
def register_variants(register):
    register(Variant(
        name="ragan", summary="relativistic average GAN on the DCGAN networks (RaSGAN)",
        source=f"{RAGAN_SOURCE}; networks and optimizer as in DCGAN (Radford et al. 2015)",
        generator="dcgan", discriminator="dcgan", loss="ragan",
        g_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        d_optimizer=OptimizerSettings("adam", lr=2e-4, betas=(0.5, 0.999)),
        batch_size=64, latent_dim=100, steps=3000,
    ))
