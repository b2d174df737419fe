"""One training step of any variant: its phases in order, each running its update.

The step is generic, like stylegan2-ada's phase loop: the variant declares its roles (named
networks) and phases (which update, how many repeats, how often); the step only calls the
updates (:class:`ganzoo.Update`) with a :class:`ganzoo.StepContext`. The default phases are the
classic alternating step: ``critic_steps`` discriminator updates, then one generator update.

It never synchronises with the device: statistics come back as detached tensors, and the
caller decides when to read them. The same code runs eagerly or captured as CUDA graphs (one
per pattern of due phases, :mod:`ganzoo.training.capture`), so everything that changes from
step to step lives in device tensors (``step_tensor``, ``nonfinite``) as well as in the Python
counters.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ganzoo.build import BuiltPhase, build_gan, check_trick_points
from ganzoo.components import STEP_POINTS, Batch, StepContext, StepState, Trick
from ganzoo.errors import GanzooError, TrickError
from ganzoo.plugins import get_registry

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ganzoo.build import GAN


@dataclass
class StepStats:
    """Detached scalar tensors from one step, by name: what the updates returned (the built-in
    ones: :data:`~ganzoo.components.STEP_STATS`, the D figures of the last critic update), then
    whatever tricks reported."""

    values: dict[str, torch.Tensor]

    def __getattr__(self, name: str) -> torch.Tensor:
        # stats.d_loss and the like, for every statistic of the step.
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def as_floats(self) -> dict[str, float]:
        """Read the values (this synchronises with the device)."""
        return {name: float(value) for name, value in self.values.items()}


def _with(tricks: list[Trick], *points: str) -> list[Trick]:
    return [t for t in tricks if any(t.overrides(p) for p in points)]


def _throwaway_step(gan: GAN, next_batch: Callable[[TrainingStep, Batch], Batch] | None = None) -> TrainingStep:
    """One step (step 0: every phase is due) of a throwaway copy of ``gan``'s recipe on random
    data of its shape, fields and classes; returns the step. Every random number generator it
    touches is restored; ``gan`` itself is not used. ``next_batch(step, batch)`` sees each draw."""
    import torch

    devices = [gan.device] if gan.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        variant = gan.variant.replace(batch_size=min(gan.variant.batch_size, 8))
        copy = build_gan(variant, gan.image_shape, gan.device, num_classes=gan.num_classes)
        n = variant.batch_size
        images, *fields = torch.rand(1 + len(variant.data_fields), n, *gan.image_shape, device=gan.device) * 2 - 1
        labels = None if gan.num_classes is None else torch.randint(gan.num_classes, (n,), device=gan.device)
        if variant.translate_from:
            copy.sources = fields[variant.data_fields.index(variant.translate_from)]
        batch = Batch(images, labels, dict(zip(variant.data_fields, fields)))
        step = TrainingStep(copy)
        step(lambda: batch if next_batch is None else next_batch(step, batch))
    return step


def check_undeclared_points(gan: GAN) -> None:
    """For a step with updates that do not declare their trick points: run one step of a
    throwaway copy of ``gan``'s recipe on random data, so that a trick none of the updates calls
    is refused (one-line :class:`~ganzoo.errors.CompositionError`) before a run starts."""
    if gan.tricks and any(built.points is None for built in gan.phases):
        _throwaway_step(gan)


def batches_per_step(gan: GAN) -> float:
    """How many real batches one training step of ``gan``'s recipe draws, on average: each
    phase's draws, counted on one throwaway step (:func:`_throwaway_step`), a phase that runs
    every k-th step counting 1/k. What an epoch of training is planned from: whatever the
    phases are, not the default phases' ``critic_steps``."""
    draws: dict[str, int] = {}

    def count(step: TrainingStep, batch: Batch) -> Batch:
        running = next(built.phase for built in step.phases if step.updates[built.phase.name] < built.phase.repeats)
        draws[running.name] = draws.get(running.name, 0) + 1
        return batch

    step = _throwaway_step(gan, count)
    return sum(draws.get(built.phase.name, 0) / built.phase.every for built in step.phases)


def _raising_trick(err: BaseException, tricks: list[Trick]) -> Trick | None:
    """The recipe's trick whose method the exception passed through last (innermost), if any."""
    found = None
    ids = {id(trick) for trick in tricks}
    tb = err.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if owner is not None and id(owner) in ids:
            found = owner
        tb = tb.tb_next
    return found


def _owner(kind: str, name: str) -> str:
    """`` (plugin …)`` for a registered component, for messages."""
    try:
        plugin = get_registry().component(kind, name).plugin
    except GanzooError:
        return ""
    return f" (plugin {plugin})" if plugin else ""


class TrainingStep:
    """Callable running one step (every due phase, in order); ``step`` counts completed steps
    and ``updates`` the completed runs of each phase, by phase name; ``nonfinite`` is a device
    flag that turns True once a statistic is NaN or infinite (read it only when you are ready
    to synchronise)."""

    def __init__(self, gan: GAN, total_steps: int | None = None,
                 latent: Callable[[int], torch.Tensor] | None = None,
                 networks: Mapping[str, nn.Module] | None = None,
                 class_labels: Callable[[int], torch.Tensor | None] | None = None) -> None:
        """``networks`` replaces the GAN's own modules inside the step (DDP wrappers); the
        built GAN keeps its bare ones (:meth:`ganzoo.StepContext.frozen` hands those out)."""
        import torch

        self.gan = gan
        self.total_steps = total_steps
        self.latent = latent or gan.sample_inputs
        self.class_labels = class_labels or gan.class_labels
        self.networks = {role: (networks or {}).get(role, net) for role, net in gan.networks.items()}
        self.phases = gan.phases
        self.step = 0
        self.updates: dict[str, int] = {built.phase.name: 0 for built in self.phases}
        self._reported: dict[str, torch.Tensor] = {}
        self._carry: dict[str, object] = {}
        self.step_tensor = torch.zeros((), dtype=torch.float32, device=gan.device)
        self.nonfinite = torch.zeros((), dtype=torch.bool, device=gan.device)
        # Resolve which tricks act where once, so the hot loop calls nothing that does nothing.
        with_g_input = {"g_input": _with(gan.tricks, "g_input", "d_input")}
        self._tricks = {point: with_g_input.get(point) or _with(gan.tricks, point) for point in STEP_POINTS}
        # The trick points each phase's update asks for (the kit compares them with what it
        # declares). Updates that declare none are checked once each has run: a trick acting
        # at none of the points the step reached is refused.
        self.called: dict[str, set[str]] = {built.phase.name: set() for built in self.phases}
        self._asking = {name: functools.partial(self._tricks_at, seen) for name, seen in self.called.items()}
        self._unobserved = {i for i, built in enumerate(self.phases) if built.points is None}
        self._ran: set[int] = set()  # phases run so far, while some are unobserved
        self._trick_names = {id(trick): name for name, trick in zip(gan.variant.tricks, gan.tricks)}

    def updates_of(self, role: str) -> int:
        """Completed updates that trained ``role``."""
        return sum(self.updates[b.phase.name] for b in self.phases if role in b.roles)

    def set_position(self, step: int, updates: Mapping[str, int]) -> None:
        """Continue counting from ``step`` steps and the phases' ``updates`` (a resumed run)."""
        self.step = step
        self.updates.update({name: int(count) for name, count in updates.items() if name in self.updates})
        self.step_tensor.fill_(step)

    def due(self, step: int | None = None) -> tuple[int, ...]:
        """Indices of the phases that run in the step after ``step`` (default: the next one)."""
        step = self.step if step is None else step
        return tuple(i for i, built in enumerate(self.phases) if built.phase.runs_at(step))

    def _tricks_at(self, seen: set[str], point: str) -> list[Trick]:
        seen.add(point)
        return self._tricks.get(point, [])

    def _check_observed(self, due: tuple[int, ...]) -> None:
        """After every undeclared update has run once: refuse a trick none of the step reached."""
        if not self._unobserved:
            return
        self._ran.update(due)
        if not self._unobserved <= self._ran:
            return
        undeclared = [self.phases[i].phase.update for i in sorted(self._unobserved)]
        self._unobserved = set()
        reached = {p for built in self.phases
                   for p in (self.called[built.phase.name] if built.points is None else built.points)}
        check_trick_points(self.gan.variant, self.gan.tricks, reached, undeclared)

    def _run_update(self, built: BuiltPhase, context: StepContext) -> Mapping[str, torch.Tensor]:
        """The update's statistics; an exception raised inside one of the recipe's tricks ends
        the step as a one-line :class:`TrickError` naming the trick and its plugin."""
        try:
            return built.update.run(context)
        except (GanzooError, MemoryError):
            raise
        except Exception as err:
            trick = _raising_trick(err, self.gan.tricks)
            if trick is None or type(err).__name__ == "OutOfMemoryError":
                raise
            name = self._trick_names.get(id(trick), type(trick).__name__)
            plugin = _owner("trick", name)
            message = " ".join(str(err).split()) or "(no message)"
            raise TrickError(f"trick {name!r}{plugin} raised {type(err).__name__} in phase "
                             f"{built.phase.name!r}: {message}") from err

    def __call__(self, next_batch: Callable[[], Batch | torch.Tensor]) -> StepStats:
        """Run one full step: every phase due at this step, each ``repeats`` times, drawing
        real data from ``next_batch`` (a :class:`~ganzoo.Batch`, or bare images)."""
        import torch

        def draw() -> Batch:
            drawn = next_batch()
            return drawn if isinstance(drawn, Batch) else Batch(drawn)

        self._reported.clear()
        self._carry.clear()
        stats: dict[str, torch.Tensor] = {}
        due = self.due()
        for index in due:
            built, networks = self.phases[index], self.networks
            for repeat in range(built.phase.repeats):
                state = StepState(step=self.step, total_steps=self.total_steps, repeat=repeat,
                                  step_tensor=self.step_tensor, reported=self._reported, networks=networks)
                state.score = self.gan.scorer(networks, state)
                context = StepContext(gan=self.gan, networks=networks, state=state, next_batch=draw,
                                      latent=self.latent, class_labels=self.class_labels,
                                      carry=self._carry, tricks=self._asking[built.phase.name],
                                      repeat=repeat, repeats=built.phase.repeats, every=built.phase.every)
                stats.update(self._run_update(built, context))
                self.updates[built.phase.name] += 1
        self._carry.clear()
        self._check_observed(due)
        values = {**stats, **self._reported}
        if values:
            finite = torch.stack([v.float() for v in values.values()]).isfinite().all()
            self.nonfinite.logical_or_(~finite)
        self.step += 1
        self.step_tensor.add_(1)
        return StepStats(values)
