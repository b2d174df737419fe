"""One training step of any variant: ``critic_steps`` discriminator updates, then one generator
update, with every trick point in between.

The step is generic (it knows nothing about a particular GAN, like stylegan2-ada's phases):
the variant supplies networks, loss, tricks, optimizers and the number of critic steps.
It never synchronises with the device: losses come back as detached tensors, and the caller
decides when to read them. The same code runs eagerly or captured once as a CUDA graph
(:mod:`ganzoo.training.capture`), so everything that changes from step to step lives in device
tensors (``step_tensor``, ``nonfinite``) as well as in the Python counters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ganzoo.components import StepState, Trick

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ganzoo.build import GAN


@dataclass
class StepStats:
    """Detached scalar tensors from one step, by name: :data:`~ganzoo.components.STEP_STATS`
    (the D figures of the last critic update), then whatever tricks reported."""

    values: dict[str, torch.Tensor]

    @property
    def d_loss(self) -> torch.Tensor:
        return self.values["d_loss"]

    @property
    def g_loss(self) -> torch.Tensor:
        return self.values["g_loss"]

    @property
    def d_real(self) -> torch.Tensor:
        return self.values["d_real"]

    @property
    def d_fake(self) -> torch.Tensor:
        return self.values["d_fake"]

    def as_floats(self) -> dict[str, float]:
        """Read the values (this synchronises with the device)."""
        return {name: float(value) for name, value in self.values.items()}


def _with(tricks: list[Trick], *points: str) -> list[Trick]:
    return [t for t in tricks if any(t.overrides(p) for p in points)]


class TrainingStep:
    """Callable running one generator step; ``step`` counts completed generator steps and
    ``d_updates`` completed discriminator updates; ``nonfinite`` is a device flag that turns
    True once a loss is NaN or infinite (read it only when you are ready to synchronise)."""

    def __init__(self, gan: GAN, total_steps: int | None = None,
                 latent: Callable[[int], torch.Tensor] | None = None, reuse_fakes: bool = True,
                 networks: Mapping[str, nn.Module] | None = None) -> None:
        """``networks`` replaces the GAN's own modules inside the step (DDP wrappers); the
        built GAN keeps its bare ones."""
        import torch

        self.gan = gan
        networks = networks or {}
        self.generator: nn.Module = networks.get("generator", gan.generator)
        self.discriminator: nn.Module = networks.get("discriminator", gan.discriminator)
        self.total_steps = total_steps
        self.latent = latent or gan.sample_latent
        # The generator update scores the fakes of the last critic update again (as PyTorch's
        # DCGAN example does) instead of generating a fresh batch: one generator forward pass
        # less per step (measured: +9% vanilla steps on 2 CPU cores, +13% dcgan on an H100).
        self.reuse_fakes = reuse_fakes
        # The generator's update scores fakes with the bare discriminator: D's gradients are not
        # wanted there, and a DDP wrapper would wait for gradients that never come.
        self._d_for_generator = gan.discriminator
        self.step = 0
        self.d_updates = 0
        self._reported: dict[str, torch.Tensor] = {}
        self.step_tensor = torch.zeros((), dtype=torch.float32, device=gan.device)
        self.nonfinite = torch.zeros((), dtype=torch.bool, device=gan.device)
        tricks = gan.tricks
        # Resolve which tricks act where once, so the hot loop calls nothing that does nothing.
        self._label_tricks = _with(tricks, "labels")
        self._real_input_tricks = _with(tricks, "real_input")
        self._g_term_tricks = _with(tricks, "g_loss_term")
        self._g_grad_tricks = _with(tricks, "g_gradients")
        self._d_input_tricks = _with(tricks, "d_input")
        self._g_input_tricks = _with(tricks, "g_input", "d_input")
        self._term_tricks = _with(tricks, "d_loss_term")
        self._grad_tricks = _with(tricks, "d_gradients")
        self._after_d_tricks = _with(tricks, "after_d_step")
        self._after_g_tricks = _with(tricks, "after_g_step")
        self._g_uses_real = bool(getattr(gan.loss, "g_uses_real_scores", False))

    def set_position(self, step: int, d_updates: int) -> None:
        """Continue counting from ``step`` generator steps (a resumed run)."""
        self.step, self.d_updates = step, d_updates
        self.step_tensor.fill_(step)

    def _state(self, critic_step: int = 0) -> StepState:
        return StepState(step=self.step, total_steps=self.total_steps, critic_step=critic_step,
                         generator=self.generator, discriminator=self.discriminator,
                         step_tensor=self.step_tensor, reported=self._reported)

    def discriminator_update(self, real: torch.Tensor, critic_step: int = 0,
                             keep_fake: bool = False) -> tuple[torch.Tensor, ...]:
        """One discriminator update on a real batch; returns (loss, mean D(real), mean D(fake))
        and, with ``keep_fake``, the generated batch with its graph for the generator update."""
        import torch

        gan = self.gan
        state = self._state(critic_step)
        for trick in self._real_input_tricks:
            real = trick.real_input(real, state)
        batch = real.shape[0]
        with torch.set_grad_enabled(keep_fake):
            generated = self.generator(self.latent(batch))
        fake = generated.detach()
        real_labels = torch.ones(batch, device=real.device)
        fake_labels = torch.zeros(batch, device=real.device)
        for trick in self._label_tricks:
            real_labels, fake_labels = trick.labels(real_labels, fake_labels, state)
        real_in, fake_in = real, fake
        for trick in self._d_input_tricks:
            real_in, fake_in = trick.d_input(real_in, state), trick.d_input(fake_in, state)
        real_scores = self.discriminator(real_in).reshape(-1)
        fake_scores = self.discriminator(fake_in).reshape(-1)
        loss = gan.loss.d_loss(real_scores, fake_scores, real_labels, fake_labels)
        for trick in self._term_tricks:
            term = trick.d_loss_term(real, fake, state)
            if term is not None:
                loss = loss + term
        gan.d_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for trick in self._grad_tricks:
            trick.d_gradients(self.discriminator, state)
        gan.d_optimizer.step()
        for trick in self._after_d_tricks:
            trick.after_d_step(self.discriminator, state)
        self.d_updates += 1
        stats = (loss.detach(), real_scores.detach().mean(), fake_scores.detach().mean())
        return (*stats, generated) if keep_fake else stats

    def generator_update(self, batch: int, fake: torch.Tensor | None = None,
                         real: torch.Tensor | None = None) -> torch.Tensor:
        """One generator update on ``batch`` fresh latents, or on ``fake`` (generated with its
        graph); returns the detached loss. A loss that uses real scores (``g_uses_real_scores``)
        gets the discriminator's scores of ``real``, as the discriminator is now."""
        import torch

        gan = self.gan
        state = self._state()
        # The generator's backward pass goes through D; D's own gradients are not needed.
        # Freeze exactly the parameters that train (a plugin may have frozen some on purpose).
        trainable = [p for p in self._d_for_generator.parameters() if p.requires_grad]
        for param in trainable:
            param.requires_grad_(False)
        try:
            generated = self.generator(self.latent(batch)) if fake is None else fake
            fake = generated
            for trick in self._g_input_tricks:
                fake = trick.g_input(fake, state)
            fake_scores = self._d_for_generator(fake).reshape(-1)
            if self._g_uses_real:
                assert real is not None, "this loss needs the real batch in the generator update"
                with torch.no_grad():
                    for trick in self._real_input_tricks:
                        real = trick.real_input(real, state)
                    for trick in self._d_input_tricks:
                        real = trick.d_input(real, state)
                    real_scores = self._d_for_generator(real).reshape(-1)
                loss = gan.loss.g_loss(fake_scores, real_scores)
            else:
                loss = gan.loss.g_loss(fake_scores)
            for trick in self._g_term_tricks:
                term = trick.g_loss_term(generated, state)
                if term is not None:
                    loss = loss + term
            gan.g_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for trick in self._g_grad_tricks:
                trick.g_gradients(self.generator, state)
            gan.g_optimizer.step()
        finally:
            for param in trainable:
                param.requires_grad_(True)
        for trick in self._after_g_tricks:
            trick.after_g_step(self.generator, state)
        return loss.detach()

    def __call__(self, next_real: Callable[[], torch.Tensor]) -> StepStats:
        """Run one full step, drawing a fresh real batch for each critic update."""
        batch, kept, real = None, None, None
        critic_steps = self.gan.variant.critic_steps
        self._reported.clear()
        for critic_step in range(critic_steps):
            real = next_real()
            batch = real.shape[0]
            last = self.reuse_fakes and critic_step == critic_steps - 1
            d_loss, d_real, d_fake, *kept = self.discriminator_update(real, critic_step, keep_fake=last)
        assert batch is not None
        g_loss = self.generator_update(batch, kept[0] if kept else None, real)
        self.nonfinite.logical_or_(~(d_loss.isfinite() & g_loss.isfinite()))
        self.step += 1
        self.step_tensor.add_(1)
        return StepStats({"d_loss": d_loss, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake,
                          **self._reported})
