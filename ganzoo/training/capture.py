"""The fast path: the whole training step captured once as a CUDA graph and replayed.

A GAN step on MNIST-sized networks is hundreds of small kernels; on a fast GPU the time goes to
Python and kernel launches, not arithmetic. Capturing the complete step (every critic update,
the generator update, every trick, the batch and latent draws) as one CUDA graph turns it into a
single launch. What makes that correct:

- the first ``warmup`` steps run eagerly (they are real training steps), so optimizer state,
  cuBLAS/cuDNN handles and lazily built buffers exist before capture;
- capture records device work without running it; the Python counters it advanced are put back,
  and every replay is one real step;
- random numbers: the default CUDA generator and the sampler's generator are registered with the
  graph, so each replay draws fresh numbers exactly where the eager step would have;
- anything that changes from step to step is a device tensor (``TrainingStep.step_tensor``;
  tricks read ``StepState.step_tensor``); tricks that override step points must say they are
  ``capturable``, losses and networks may opt out with ``capturable = False``;
- optimizers run with ``capturable=True`` (their step counts live on the device).

Anything that cannot be captured runs eagerly, with a one-line notice saying why. The graph
path is CUDA-only; :func:`capture_blockers` and the eager runner are plain Python and are tested
on the CPU, and the captured path is checked against the eager one step by step on a GPU
(tests/test_capture.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ganzoo.components import STEP_POINTS
from ganzoo.errors import ConfigError
from ganzoo.training.step import StepStats, TrainingStep

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ganzoo.build import GAN
    from ganzoo.training.sampling import BatchSampler, DataField

GRAPH_MODES = ("auto", "on", "off")
PRECISIONS = ("auto", "fp32", "bf16")


def capture_blockers(gan: GAN, *, distributed: bool = False) -> list[str]:
    """Why ``gan``'s training step cannot be captured as a CUDA graph (empty: it can)."""
    import torch

    reasons = []
    if gan.device.type != "cuda":
        reasons.append(f"CUDA graphs need a CUDA device (training on {gan.device.type})")
    elif not hasattr(torch.cuda.CUDAGraph, "register_generator_state"):
        reasons.append(f"torch {torch.__version__} cannot capture the batch sampler's random generator")
    if distributed:
        reasons.append("distributed runs step eagerly (DDP's collectives are not captured)")
    # The recipe's names where they line up with the built tricks: a trick class may lack one.
    names = list(gan.variant.tricks) if len(gan.variant.tricks) == len(gan.tricks) else [t.name for t in gan.tricks]
    for name, trick in zip(names, gan.tricks):
        points = [p for p in STEP_POINTS if trick.overrides(p)]
        if points and not getattr(trick, "capturable", False):
            reasons.append(getattr(trick, "capture_notice", None)
                           or f"trick {name!r} is not marked capturable (it overrides {', '.join(points)})")
    variant = gan.variant
    for role, net in gan.networks.items():
        if getattr(net, "capturable", True) is False:
            kind, name, _ = variant.role_network(role)
            reasons.append(f"{kind} {name!r} says it is not capturable")
    if getattr(gan.loss, "capturable", True) is False:
        reasons.append(f"loss {variant.loss!r} says it is not capturable")
    for built in gan.phases:
        if not getattr(built.update, "capturable", False):
            reasons.append(f"update {built.phase.update!r} is not marked capturable")
    for role, opt in gan.optimizers.items():
        if "capturable" not in opt.defaults and not isinstance(opt, torch.optim.SGD):
            reasons.append(f"the {role} optimizer {type(opt).__name__} cannot run inside a CUDA graph")
    return reasons


def trick_notices(gan: GAN) -> list[str]:
    """What tricks that cannot be captured as configured say about it (``capture_notice``: one
    line, why and what to use instead). Said when a run starts on every device, not only on
    CUDA, because a recipe means the same everywhere."""
    return [notice for trick in gan.tricks
            if not getattr(trick, "capturable", False) and (notice := getattr(trick, "capture_notice", None))]


def check_modes(graph: str, precision: str) -> None:
    """``--graph``/``--precision`` values, checked as soon as they are read (one-line ConfigError)."""
    if graph not in GRAPH_MODES:
        raise ConfigError(f"--graph must be one of {', '.join(GRAPH_MODES)}, got {graph!r}")
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AVX512-BF16 or AMX), where
    bf16 autocast runs a training step 1.3-1.6x faster than float32 (benchmarks/RESULTS.md).
    Without them bf16 is emulated and slower."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, probe, lambda: False)()) for probe in probes)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` → ``bf16`` on a CPU with native bf16 matrix units, ``fp32`` elsewhere (on CUDA
    float32 matrix products already run on TF32 tensor cores); other values unchanged."""
    if precision != "auto":
        return precision
    return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"


def check_settings(gan: GAN, graph: str, precision: str, *, distributed: bool = False) -> list[str]:
    """Validate ``--graph``/``--precision`` for ``gan`` (one-line ConfigError); returns the
    capture blockers (empty when ``graph`` is off)."""
    check_modes(graph, precision)
    shared = [role for role, spec in gan.variant.roles.items() if spec.base]
    if distributed and shared:
        # Gradients reaching the shared modules through this role would bypass the owner's
        # all-reduce and the ranks' weights would drift apart.
        raise ConfigError(f"variant {gan.variant.name!r}: role {shared[0]!r} is built on "
                          f"{gan.variant.roles[shared[0]].base!r}'s network, which does not train data-parallel "
                          f"yet: train it in one process (without --nproc)")
    if precision == "bf16" and gan.device.type not in ("cuda", "cpu"):
        raise ConfigError(f"--precision bf16 needs a CUDA or CPU device, not {gan.device.type}")
    blockers = [] if graph == "off" else capture_blockers(gan, distributed=distributed)
    if graph == "on" and blockers:
        raise ConfigError(f"--graph on: cannot capture the {gan.variant.name} step: {blockers[0]}")
    return blockers


def to_channels_last(gan: GAN, data: torch.Tensor) -> torch.Tensor:
    """Put every network in channels-last memory format; returns ``data`` in it too."""
    import torch

    for net in gan.networks.values():
        net.to(memory_format=torch.channels_last)
    return data.contiguous(memory_format=torch.channels_last)


def set_capturable(optimizer: torch.optim.Optimizer, capturable: bool) -> None:
    """Switch an optimizer between host-side and device-side step counts (between steps)."""
    import torch

    if "capturable" not in optimizer.defaults:
        return
    fused = any(group.get("fused") for group in optimizer.param_groups)
    for group in optimizer.param_groups:
        group["capturable"] = capturable
    for param, state in optimizer.state.items():
        step = state.get("step")
        if isinstance(step, torch.Tensor):
            # Capturable and fused kernels read the count on the parameter's device; the plain
            # ones expect a CPU scalar.
            device = param.device if capturable or fused else torch.device("cpu")
            state["step"] = step.to(device=device, dtype=torch.float32)


def _fast_cuda_backends() -> None:
    """TF32 matrix products (cuDNN convolutions use TF32 by default already) and cuDNN's
    autotuner, which pays off because a captured step replays the same shapes forever. Left
    alone when deterministic algorithms were asked for."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = True
    if not torch.are_deterministic_algorithms_enabled():
        torch.backends.cudnn.benchmark = True


class StepRunner:
    """Runs a :class:`TrainingStep` on batches from ``next_real`` (a :class:`~ganzoo.Batch` or
    images): eagerly, or (``graph`` is
    ``auto`` on CUDA, or ``on``) captured after ``warmup`` eager steps and replayed.

    Phases with an interval (lazy regularisation) make steps differ: the runner keeps one graph
    per pattern of due phases (:meth:`TrainingStep.due`), each captured after that pattern has
    run eagerly once, and replays the one each step needs.

    ``precision="bf16"`` runs the step under bfloat16 autocast (weights and optimizer stay
    float32), on CUDA or the CPU (fast on CPUs with native bf16 matrix units, e.g. AVX512-BF16);
    ``auto`` chooses it on such CPUs (:func:`resolve_precision`), and :attr:`precision` holds the
    resolved value. ``generators`` are extra ``torch.Generator`` objects the step draws from (the batch
    sampler's), registered with the graph. ``notify`` receives the one-line fallback notice.
    """

    def __init__(self, step: TrainingStep, next_real: Callable[[], torch.Tensor], *,
                 graph: str = "auto", precision: str = "fp32", warmup: int = 3,
                 generators: tuple[torch.Generator, ...] = (), distributed: bool = False,
                 notify: Callable[[str], None] | None = None) -> None:
        if warmup < 1:
            raise ConfigError(f"graph warm-up must be at least one eager step, got {warmup}")
        self.step, self.next_real = step, next_real
        gan = step.gan
        check_modes(graph, precision)
        self.precision = resolve_precision(precision, gan.device)
        self.warmup, self.generators = warmup, tuple(generators)
        self.notify = notify or (lambda message: None)
        blockers = check_settings(gan, graph, self.precision, distributed=distributed)
        self.graphed = graph != "off" and not blockers
        said = trick_notices(gan)
        for notice in said:
            self.notify(f"ganzoo: {notice}")
        if graph == "auto" and gan.device.type == "cuda" and blockers and blockers[0] not in said:
            self.notify(f"ganzoo: running the {gan.variant.name} step eagerly: {blockers[0]}")
        self.fallback_reason: str | None = blockers[0] if blockers else None
        self._graphs: dict[tuple[int, ...], tuple[Any, StepStats]] = {}
        self._seen: set[tuple[int, ...]] = set()
        self._eager_steps = 0
        for optimizer in gan.optimizers.values():
            set_capturable(optimizer, self.graphed)
        if gan.device.type == "cuda":
            _fast_cuda_backends()

    @property
    def mode(self) -> str:
        """``graph`` once captured (or about to be), else ``eager``."""
        return "graph" if self.graphed else "eager"

    @contextlib.contextmanager
    def _precision(self) -> Iterator[None]:
        if self.precision == "bf16":
            import torch

            # The autocast weight cache must be off under capture: cached casts would be stale.
            with torch.autocast(self.step.gan.device.type, dtype=torch.bfloat16, cache_enabled=False):
                yield
        else:
            yield

    def _eager(self) -> StepStats:
        with self._precision():
            return self.step(self.next_real)

    @property
    def graphs(self) -> int:
        """How many step patterns are captured so far."""
        return len(self._graphs)

    def plan(self, pattern: tuple[int, ...]) -> str:
        """What the next step, with due phases ``pattern``, does: ``eager`` (not graphed),
        ``warm`` (an eager step in the warm-up, and the first time a pattern comes up: its
        optimizer state and lazily built buffers must exist before capture), ``capture`` (then
        replay) or ``replay``. Records the decision."""
        if not self.graphed:
            return "eager"
        if pattern in self._graphs:
            return "replay"
        if self._eager_steps < self.warmup or pattern not in self._seen:
            self._eager_steps += 1
            self._seen.add(pattern)
            return "warm"
        return "capture"

    def __call__(self) -> StepStats:
        """Run one training step; returns its statistics (device tensors, not synchronised)."""
        pattern = self.step.due()
        action = self.plan(pattern)
        if action == "eager":
            return self._eager()
        if action == "warm":
            return self._warm_step()
        if action == "capture":
            self._capture(pattern)
            if not self.graphed:  # capture failed: eager from now on
                return self._eager()
        graph, stats = self._graphs[pattern]
        graph.replay()
        step = self.step
        for index in pattern:
            phase = step.phases[index].phase
            step.updates[phase.name] += phase.repeats
        step.step += 1
        return stats

    def _warm_step(self) -> StepStats:
        """An eager step on a side stream, as CUDA graph capture wants for its warm-up."""
        import torch

        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            stats = self._eager()
        torch.cuda.current_stream().wait_stream(side)
        return stats

    def _capture(self, pattern: tuple[int, ...]) -> None:
        import torch

        step = self.step
        position = (step.step, dict(step.updates))
        device = step.gan.device
        rng = (torch.cuda.get_rng_state(device), [g.get_state() for g in self.generators])
        graph = torch.cuda.CUDAGraph()
        for generator in self.generators:
            graph.register_generator_state(generator)
        torch.cuda.synchronize(device)
        try:
            with torch.cuda.graph(graph):
                stats = self._eager()
        except Exception as err:  # noqa: BLE001 - any capture failure falls back, never wrong results
            torch.cuda.synchronize(device)
            step.step, step.updates = position[0], dict(position[1])
            torch.cuda.set_rng_state(rng[0], device)
            for generator, state in zip(self.generators, rng[1]):
                generator.set_state(state)
            for optimizer in step.gan.optimizers.values():
                set_capturable(optimizer, False)
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
            self.fallback_reason = f"capture failed: {type(err).__name__}: {first_line}"[:300]
            self.graphed = False
            self.notify(f"ganzoo: running the {step.gan.variant.name} step eagerly: {self.fallback_reason}")
            return
        # Capture recorded the step without running it: the counters it advanced are undone,
        # and each replay is one real step.
        step.step, step.updates = position[0], dict(position[1])
        self._graphs[pattern] = (graph, stats)


def assemble_step(gan: GAN, data: torch.Tensor, *, seed: int, total_steps: int | None,
                  labels: torch.Tensor | None = None, fields: Mapping[str, DataField] | None = None,
                  graph: str = "auto", precision: str = "auto", rank: int = 0, world_size: int = 1,
                  networks: Mapping[str, nn.Module] | None = None, distributed: bool = False,
                  notify: Callable[[str], None] | None = None) -> tuple[StepRunner, BatchSampler]:
    """The step as the trainer runs it, for the trainer and ``ganzoo bench`` alike: a batch
    sampler over device-resident ``data``, its ``labels`` and further ``fields`` (this rank's
    shard of global batches), the generic
    :class:`TrainingStep` (on ``networks``, e.g. DDP wrappers, when given), and the runner that
    captures it as a CUDA graph where it can."""
    from ganzoo.training.sampling import BatchSampler

    variant = gan.variant
    sampler = BatchSampler(data, variant.batch_size, variant.latent_dim, seed, variant.latent_distribution,
                           rank=rank, world_size=world_size, labels=labels, fields=fields,
                           translate_from=variant.translate_from)
    classes = gan.num_classes
    step = TrainingStep(gan, total_steps=total_steps, latent=sampler.latent, networks=networks,
                        class_labels=(lambda n: sampler.class_labels(n, classes)) if gan.conditional else None)
    runner = StepRunner(step, sampler.batch, graph=graph, precision=precision, generators=(sampler.rng,),
                        distributed=distributed, notify=notify)
    return runner, sampler
