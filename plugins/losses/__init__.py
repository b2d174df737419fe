"""Built-in adversarial losses: ``bce`` (non-saturating, with logits) and ``wasserstein``.

Provenance: Goodfellow et al. 2014 (arXiv:1406.2661) for the non-saturating loss; Arjovsky,
Chintala & Bottou 2017 (arXiv:1701.07875) for the Wasserstein critic loss.
"""

from __future__ import annotations

from ganzoo import hookimpl, lazy


@hookimpl
def register_losses(register):
    register("bce", lazy("ganzoo_plugins.losses.objectives:BCEWithLogits"), tags=("labels",),
             summary="non-saturating binary cross-entropy on logits (uses real/fake targets)",
             source="Goodfellow et al. 2014, arXiv:1406.2661")
    register("wasserstein", lazy("ganzoo_plugins.losses.objectives:Wasserstein"), tags=("critic",),
             summary="Wasserstein critic loss E[D(fake)] − E[D(real)]; G maximises E[D(fake)]",
             source="Arjovsky et al. 2017, arXiv:1701.07875")
