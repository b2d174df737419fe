"""The contract's classes for what is behaviour rather than a network: the bases plugin authors
subclass (:class:`Loss`, :class:`Trick`, :class:`Update`, :class:`Logger`) and what the step
hands them (:class:`Batch`, :class:`StepState`, :class:`StepContext`, :class:`RunInfo`).

Plugin authors subclass the bases. Nothing here imports torch (type hints only), so a plugin can
define its classes at module level and still load without torch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.specs import BATCH_FIELDS

if TYPE_CHECKING:
    import torch
    from torch import nn


STEP_STATS: tuple[str, ...] = ("d_loss", "g_loss", "d_real", "d_fake")
"""What every training step reports: both losses, and the mean discriminator output on real
and on generated images (of the last critic update)."""
STEP_POINTS: tuple[str, ...] = ("labels", "real_input", "d_input", "d_loss_term", "d_gradients",
                                "after_d_step", "g_input", "g_loss_term", "g_gradients", "after_g_step")
"""The trick points of a training step, in the order the step reaches them."""
INHERITED_POINTS: Mapping[str, str] = {"g_input": "d_input"}
"""Points whose default implementation calls another point: a trick overriding ``d_input``
acts at ``g_input`` too (both players see the same transformation)."""
RESERVED_STATS: tuple[str, ...] = (*STEP_STATS, "step", "time", "steps_per_sec", "images_per_sec", "eval")
"""Names a reported statistic may not take: the step's own and the run log's bookkeeping."""


class Loss:
    """An adversarial objective on raw discriminator outputs (logits or critic scores).

    ``real_labels``/``fake_labels`` are per-sample targets (1 and 0 unless a trick changes
    them); losses without the ``labels`` tag ignore them.
    """

    name: str = "loss"

    g_uses_real_scores: bool = False
    """Set True when the generator loss needs the discriminator's scores of real images too
    (relativistic losses): :meth:`g_loss` then gets ``real_scores``, computed for the generator
    update by the discriminator as it is after its own update (no gradient flows into them)."""

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor,
               real_labels: torch.Tensor, fake_labels: torch.Tensor) -> torch.Tensor:
        """Discriminator loss to minimise: a scalar tensor."""
        raise NotImplementedError

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        """Generator loss to minimise: a scalar tensor. ``real_scores`` is given only when
        :attr:`g_uses_real_scores` is set (a loss without it may take ``fake_scores`` alone)."""
        raise NotImplementedError


@dataclass
class Batch:
    """A batch of real data as the step draws it: images ``N×C×H×W`` in [-1, 1] and, when the
    data set is labelled (:func:`ganzoo.data.load_dataset`), one class index per image; and the
    further named fields the data has (``batch["domain_b"]``: a second domain, targets)."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    """int64 ``N`` class indices, or None for unlabelled data."""
    fields: Mapping[str, torch.Tensor] = field(default_factory=dict)
    """Further image fields by name, ``N×C×H×W`` in [-1, 1] each: drawn with the images' own
    indices when the field is paired with them (pix2pix), independently when not (CycleGAN)."""

    def __getitem__(self, name: str) -> torch.Tensor:
        """A field by name (``images`` and ``labels`` too); a missing one is a KeyError naming
        the fields there are."""
        if name in BATCH_FIELDS:
            return getattr(self, name)
        try:
            return self.fields[name]
        except KeyError:
            raise KeyError(f"the batch has no field {name!r} (it has: images, labels"
                           f"{''.join(', ' + f for f in self.fields)})") from None


@dataclass
class StepState:
    """What a trick may look at during a training step."""

    step: int
    """Generator steps completed before this one (0 on the first step)."""
    total_steps: int | None
    """Planned length of the run, when known (for schedules that decay to the end)."""
    generator: nn.Module | None = None
    """``networks["generator"]`` unless given."""
    discriminator: nn.Module | None = None
    """``networks["discriminator"]`` unless given."""
    repeat: int = 0
    """Index of the running update among its phase's repeats (0 .. repeats − 1: the critic
    update within a k:1 step, for the default discriminator phase)."""
    step_tensor: torch.Tensor | None = None
    """The step's clock: ``step`` as a 0-d float32 tensor on the training device (made from
    ``step`` on the CPU when not given). A step captured as a CUDA graph is recorded once and
    replayed, so Python values such as ``step`` are frozen at capture time: schedules compute
    from this tensor, once, and stay right eagerly and captured alike."""
    reported: dict[str, torch.Tensor] = field(default_factory=dict)
    """What :meth:`report` collected during this step (shared by every point of the step)."""
    networks: Mapping[str, nn.Module] = field(default_factory=dict)
    """Every role's network as the running update uses it (``generator`` and ``discriminator``
    are two of them)."""
    trained: Mapping[str, nn.Module] = field(default_factory=dict)
    """The networks the running optimizer step trains, by role, at the gradient and after-step
    points (:meth:`StepContext.optimize`): the point's own argument is the first of them, and a
    joint update (BiGAN's generator and encoder) has more. Empty before the first one."""
    labels: torch.Tensor | None = None
    """The class labels of the real batch the running update drew (None for unlabelled data,
    and before the update draws one)."""
    fake_labels: torch.Tensor | None = None
    """The classes the running update asked a conditional generator for, one per generated
    image (None for an unconditional generator, and before the update draws them)."""
    score: Callable[..., torch.Tensor] | None = None
    """``score(images, labels=None)``: the discriminator's scores of ``images``, one per image
    (a flat ``N`` tensor), however the discriminator is called: given ``labels`` when it is
    conditional (default: :attr:`labels`, the real batch's, which only fit images of that
    batch's size: pass :attr:`fake_labels`, or a concatenation, for anything else), its class
    head dropped when it classifies. Tricks that run the discriminator themselves (gradient
    penalties, consistency terms) use this. Defaults to ``discriminator(images)``."""

    def __post_init__(self) -> None:
        if self.generator is None:
            self.generator = self.networks.get("generator")
        if self.discriminator is None:
            self.discriminator = self.networks.get("discriminator")
        if self.step_tensor is None:
            import torch

            self.step_tensor = torch.tensor(float(self.step))
        if self.score is None:
            self.score = lambda images, labels=None: self.discriminator(images).reshape(-1)

    @property
    def critic_step(self) -> int:
        """The former name of :attr:`repeat` (it counts the repeats of any phase)."""
        return self.repeat

    def report(self, name: str, value: torch.Tensor) -> None:
        """A statistic of this step, e.g. ``state.report("gradient_penalty", term)``: its mean,
        detached, appears in the progress line, ``metrics.jsonl`` and the loss plot under
        ``name`` (no host synchronisation; the last value of a step counts, and each record
        holds the latest value since the previous one). Names are
        ``lower_snake_case`` and may not be one of the step's own (``d_loss`` ...)."""
        if not isinstance(name, str) or not name.isidentifier() or name != name.lower() or name in RESERVED_STATS:
            raise ValueError(f"report(): {name!r} is not a free lower_snake_case statistic name "
                             f"(taken: {', '.join(RESERVED_STATS)})")
        self.reported[name] = value.detach().float().mean()


class Trick:
    """A modification of the training step. Override only the points you need.

    Points, in the order one training step reaches them (:data:`STEP_POINTS`): :meth:`labels`
    → :meth:`real_input` → :meth:`d_input` → :meth:`d_loss_term` → :meth:`d_gradients` →
    :meth:`after_d_step` (these repeat for every critic step) → :meth:`g_input` →
    :meth:`g_loss_term` → :meth:`g_gradients` → :meth:`after_g_step`. The trainer calls a
    point only on tricks that override it.
    """

    name: str = "trick"

    capturable: bool = False
    """Whether the step points this trick overrides may be captured once as a CUDA graph and
    replayed (the trainer's fast path on CUDA). Say True only if they launch the same device work
    every step: no reading tensors on the host (``.item()``, ``bool(t)``), no Python state that
    changes between steps, no branching on ``state.step`` (use ``state.step_tensor``). A trick
    that overrides step points and is not capturable makes the trainer run eagerly, with a
    one-line notice. Tricks that only use :meth:`setup` never block capture."""

    def setup_networks(self, networks: Mapping[str, nn.Module]) -> None:
        """Called once after every role's network is built and moved to its device, before the
        optimizers exist, with the networks by role name (a third role such as an encoder is
        one of them). When only sampling is built (``ganzoo sample``/``eval`` of a run) it holds
        just ``generator``, and only tricks that provide :meth:`sampling_generator` are set up.

        The default calls :meth:`setup` with the generator and the discriminator (None when
        there is none): override this for a trick that concerns other roles, else ``setup``."""
        self.setup(networks["generator"], networks.get("discriminator"))

    def setup(self, generator: nn.Module, discriminator: nn.Module | None) -> None:
        """Called once by the default :meth:`setup_networks`, after the networks are built and
        moved to their device.

        ``discriminator`` is None when only sampling is built (``ganzoo sample``/``eval`` of a
        run): then only tricks that provide :meth:`sampling_generator` are set up, and they
        must not need it."""

    def labels(self, real: torch.Tensor, fake: torch.Tensor,
               state: StepState) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the per-sample discriminator targets for real and fake images."""
        return real, fake

    def real_input(self, images: torch.Tensor, state: StepState) -> torch.Tensor:
        """Transform a batch of real images only, before anything else in the discriminator
        update sees it (its ``d_input``, loss, loss terms) and before the real scores a
        generator loss may use are taken (e.g. noise or augmentation for the data alone)."""
        return images

    def d_input(self, images: torch.Tensor, state: StepState) -> torch.Tensor:
        """Transform a batch (real or fake) before the discriminator sees it in its update."""
        return images

    def g_input(self, images: torch.Tensor, state: StepState) -> torch.Tensor:
        """Transform generated images before the discriminator scores them for the generator
        update. Defaults to :meth:`d_input` so both players see the same transformation."""
        return self.d_input(images, state)

    def d_loss_term(self, real: torch.Tensor, fake: torch.Tensor,
                    state: StepState) -> torch.Tensor | None:
        """An extra term added to the discriminator loss (e.g. a gradient penalty).

        ``real`` and ``fake`` are the untransformed batches; ``fake`` is detached.
        """
        return None

    def d_gradients(self, discriminator: nn.Module, state: StepState) -> None:
        """Edit the discriminator's ``.grad`` tensors before its optimizer steps."""

    def after_d_step(self, discriminator: nn.Module, state: StepState) -> None:
        """Called after each discriminator optimizer step (e.g. clip weights)."""

    def g_loss_term(self, fake: torch.Tensor, state: StepState) -> torch.Tensor | None:
        """An extra term added to the generator loss (e.g. a regulariser on the generated
        images). ``fake`` is the generated batch with its graph, before :meth:`g_input`."""
        return None

    def g_gradients(self, generator: nn.Module, state: StepState) -> None:
        """Edit the generator's ``.grad`` tensors before its optimizer steps."""

    def after_g_step(self, generator: nn.Module, state: StepState) -> None:
        """Called after each generator optimizer step (e.g. update an average)."""

    def sampling_generator(self) -> nn.Module | None:
        """A generator to sample from instead of the trained one (e.g. EMA weights), or None.

        Before samples are drawn from it, the core recomputes the running statistics of its
        BatchNorm layers from a fixed latent stream (:mod:`ganzoo.standing_stats`): averaged
        weights have no statistics of their own."""
        return None

    def state_dict(self) -> dict[str, Any]:
        """Trick state to checkpoint (tensors and plain values)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def overrides(self, point: str) -> bool:
        """Whether this trick implements the step point ``point`` (a method name above)."""
        return getattr(type(self), point) is not getattr(Trick, point)

    def step_points(self) -> tuple[str, ...]:
        """The step points this trick acts at, in step order: those it overrides, and those
        whose default calls one it overrides (:data:`INHERITED_POINTS`)."""
        return tuple(point for point in STEP_POINTS
                     if self.overrides(point) or (point in INHERITED_POINTS and self.overrides(INHERITED_POINTS[point])))


@dataclass
class StepContext:
    """What an :class:`Update` gets each time its phase runs (one repeat)."""

    gan: Any
    """The built :class:`~ganzoo.GAN`: ``loss``, ``tricks``, ``optimizers``, ``variant``."""
    networks: Mapping[str, nn.Module]
    """Every role's network as the step runs it (DDP wrappers in a distributed run; see
    :meth:`frozen` for scoring through a network that does not train here)."""
    state: StepState
    """Passed on to the tricks' step points (``repeat`` is the repeat index)."""
    next_batch: Callable[[], Batch]
    """Draws the next real :class:`Batch` (images and, for labelled data, labels; on the
    training device)."""
    latent: Callable[[int], torch.Tensor]
    """``latent(n)``: ``n`` latent vectors from the step's sampler."""
    class_labels: Callable[[int], torch.Tensor | None]
    """``class_labels(n)``: ``n`` classes drawn uniformly from the step's sampler for a
    conditional generator (None when the generator is not conditional)."""
    carry: dict[str, Any]
    """Shared by the phases of one step and cleared before the next (e.g. the last
    discriminator update leaves its generated batch for the generator update)."""
    tricks: Callable[[str], list[Trick]]
    """``tricks(point)``: the recipe's tricks that override the step point ``point``, in order."""
    repeat: int = 0
    """Index of this run among the phase's ``repeats``."""
    repeats: int = 1
    every: int = 1
    """The phase's interval: a lazy regulariser scales its term by it (stylegan2-ada)."""

    def run(self, role: str, inputs: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``networks[role]`` on ``inputs``, given ``labels`` when that role is conditional."""
        return self.gan.run(role, self.networks[role], inputs, labels)

    def discriminate(self, images: torch.Tensor, labels: torch.Tensor | None = None,
                     network: nn.Module | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The discriminator (``network``, e.g. a frozen one, or the step's) on ``images`` of
        classes ``labels``: flat scores, and class logits when it classifies (else None)."""
        return self.gan.discriminate(self.networks["discriminator"] if network is None else network,
                                     images, labels)

    def next_real(self) -> torch.Tensor:
        """The images of the next real batch (for an update that does not use labels)."""
        return self.next_batch().images

    def optimizer(self, role: str) -> torch.optim.Optimizer:
        return self.gan.optimizers[role]

    def optimize(self, loss: torch.Tensor, *roles: str, before_step: str | None = None,
                 after_step: str | None = None) -> None:
        """Train ``roles`` on ``loss``: zero their gradients, backpropagate, call the trick point
        ``before_step`` (e.g. ``"d_gradients"``), step their optimizers, then the point
        ``after_step`` (e.g. ``"after_d_step"``). Both points get the first role's network (the
        role the point is named for) and find every trained one in :attr:`StepState.trained`."""
        optimizers = [self.optimizer(role) for role in roles]
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        network = self.networks[roles[0]]
        self.state.trained = {role: self.networks[role] for role in roles}
        for trick in self.tricks(before_step) if before_step else ():
            getattr(trick, before_step)(network, self.state)
        for optimizer in optimizers:
            optimizer.step()
        for trick in self.tricks(after_step) if after_step else ():
            getattr(trick, after_step)(network, self.state)

    @contextlib.contextmanager
    def frozen(self, *roles: str) -> Iterator[dict[str, nn.Module]]:
        """Stop gradients into the trainable parameters of ``roles`` (e.g. the discriminator
        during the generator's update) and give their bare modules to score through: in a
        distributed run a DDP wrapper would wait for gradients a frozen network never produces.
        Parameters a plugin froze on purpose stay frozen."""
        bare = {role: self.gan.networks[role] for role in roles}
        params = [p for net in bare.values() for p in net.parameters() if p.requires_grad]
        for param in params:
            param.requires_grad_(False)
        try:
            yield bare
        finally:
            for param in params:
                param.requires_grad_(True)


class Update:
    """What one phase of a training step runs, like a phase of stylegan2-ada's
    ``Loss.accumulate_gradients``: compute a loss with the networks, step the optimizers of the
    roles it trains (registered with ``roles=``), return its statistics.

    The built-in ``discriminator`` and ``generator`` updates make the classic alternating step
    and call every trick point; a plugin registers its own for another shape of GAN.
    """

    name: str = "update"

    capturable: bool = False
    """Whether :meth:`run` launches the same device work every time (no host reads, no Python
    state changing between steps), so the step can be captured as a CUDA graph."""

    def run(self, step: StepContext) -> Mapping[str, torch.Tensor]:
        """Run one update; returns detached scalar statistics by name (the built-in updates
        give :data:`STEP_STATS`), which reach the progress line and ``metrics.jsonl``."""
        raise NotImplementedError


@dataclass(frozen=True)
class RunInfo:
    """What a logger is told when a run starts (or resumes)."""

    folder: Path
    """The run folder; a logger writes its files inside it."""
    metrics_file: Path
    """The run's own record, ``metrics.jsonl``: what ``--resume``, the loss plot and ``ganzoo
    compare`` read back (the built-in ``jsonl`` logger writes it)."""
    config: Mapping[str, Any]
    """The run's resolved settings and recipe, as ``config.json`` holds them."""
    resumed_from: int | None = None
    """For a resumed run, the step of the checkpoint it continues from: records logged after it
    by the interrupted run are void (a logger with its own files drops or supersedes them)."""


class Logger:
    """Somewhere a run's records go: ``metrics.jsonl`` (the built-in ``jsonl`` logger, always
    on), a CSV file, TensorBoard, an experiment tracker. Chosen per run with ``--logger NAME``.

    Called on the main process only, in this order: :meth:`open` once, then :meth:`log` and
    :meth:`log_image` as the run goes, then :meth:`close` once (also when training fails). An
    exception from any of them turns this logger off for the rest of the run with one line;
    training and ``metrics.jsonl`` go on. Loggers run between steps: keep them quick.
    """

    name: str = "logger"

    def open(self, run: RunInfo) -> None:
        """The run starts (or resumes): create files, connect, record ``run.config``."""

    def log(self, record: Mapping[str, Any]) -> None:
        """One record, exactly as ``metrics.jsonl`` gets it: a training record (``step``,
        ``time``, the step's statistics, ``steps_per_sec``, ``images_per_sec``) every
        ``--log-every`` steps, or an evaluation record (``step``, ``time``, ``eval``: the
        report). :func:`record_scalars` gives the numbers of either by name."""

    def log_image(self, name: str, path: Path, step: int) -> None:
        """A PNG the run just wrote (``name`` ``"samples"``: the fixed-latent sample grid at
        ``step``)."""

    def close(self) -> None:
        """The run ends: flush and release."""


def record_scalars(record: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of a run record by name: a training record's statistics, time and speed
    (``d_loss``, ``time``, ``steps_per_sec`` ...; not ``step``); an evaluation record's metric
    values as ``eval/METRIC`` (numeric ones; a histogram is left out)."""
    if "eval" in record:
        return {f"eval/{item['metric']}": float(item["value"]) for item in record["eval"].get("metrics", [])
                if isinstance(item.get("value"), (int, float)) and not isinstance(item["value"], bool)}
    return {name: float(value) for name, value in record.items()
            if name != "step" and isinstance(value, (int, float)) and not isinstance(value, bool)}
