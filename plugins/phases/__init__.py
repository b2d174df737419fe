"""Built-in updates, the parts a variant's step is made of: the classic adversarial
discriminator and generator updates (every variant's default phases: ``critic_steps`` of the
first, then one of the second) and lazy R1 regularisation as a phase of its own.

Provenance: Goodfellow et al. 2014 (alternating updates); Arjovsky et al. 2017 (k critic
updates per generator update); Karras et al. 2020, StyleGAN2 (lazy regularisation, the
phase list of stylegan2-ada's training loop).
"""

from __future__ import annotations

from ganzoo import hookimpl, lazy

PACKAGE = "ganzoo_plugins.phases"


@hookimpl
def register_updates(register):
    # points: the trick points each update calls, so a trick none of a recipe's updates calls
    # is refused before training.
    register("discriminator", lazy(f"{PACKAGE}.updates:DiscriminatorUpdate"), roles=("discriminator",),
             points=("real_input", "labels", "d_input", "d_loss_term", "d_gradients", "after_d_step"),
             summary="adversarial D update on a fresh real batch and generated images, every D trick point",
             source="Goodfellow et al. 2014, arXiv:1406.2661")
    register("generator", lazy(f"{PACKAGE}.updates:GeneratorUpdate"), roles=("generator",),
             points=("g_input", "d_input", "g_loss_term", "g_gradients", "after_g_step"),
             summary="adversarial G update through a frozen D, every G trick point",
             source="Goodfellow et al. 2014, arXiv:1406.2661")
    register("lazy-r1", lazy(f"{PACKAGE}.updates:LazyR1"), roles=("discriminator",),
             points=("real_input", "d_gradients", "after_d_step"),
             summary="R1 penalty γ/2·‖∇D(real)‖² as its own D pass, scaled by the phase's interval",
             source="Karras et al. 2020 (StyleGAN2), arXiv:1912.04958")
