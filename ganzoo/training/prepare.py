"""Preparing a training run, separate from the loop that trains it: the recipe, the data on the
device, the built GAN, the run folder and its lock, and, for a resumed run, the checkpoint's
state applied. :func:`prepare_run` returns all of it as a :class:`PreparedRun`; nothing here
trains.

The order is part of exact resume: everything that draws from the global random generators
(building the networks and tricks, the throwaway step that observes undeclared trick points)
runs in the same order in a new run and a resumed one, and a resumed run's RNG states are put
back last.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ganzoo.build import GAN, build_gan
from ganzoo.data import describe_source, load_dataset, load_images
from ganzoo.errors import ConfigError, DataError
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry
from ganzoo.runs.checkpoint import Resume, seed_everything
from ganzoo.runs.rundir import FolderLock, RunDir
from ganzoo.specs import Variant
from ganzoo.training import distributed
from ganzoo.training.capture import StepRunner, assemble_step, check_settings, to_channels_last
from ganzoo.training.config import TrainConfig, recipe_changes, recipe_variant
from ganzoo.training.distributed import Comm
from ganzoo.training.loggers import RunLoggers
from ganzoo.training.sampling import BatchSampler, DataField
from ganzoo.training.step import TrainingStep, batches_per_step, check_undeclared_points

if TYPE_CHECKING:
    import torch


class Display(Protocol):
    """Where a run's lines go (:mod:`ganzoo.training.progress`)."""

    def message(self, text: str) -> None: ...


class Notices:
    """One-line notices (e.g. the step runs eagerly, a logger failed): held until the run's
    display exists (:meth:`show_on` shows them there), then shown at once."""

    def __init__(self) -> None:
        self.held: list[str] = []
        self.display: Display | None = None

    def __call__(self, message: str) -> None:
        if self.display is not None:
            self.display.message(message)
        else:
            self.held.append(message)

    def show_on(self, display: Display) -> None:
        for message in self.held:
            display.message(message)
        self.held, self.display = [], display

    def detach(self) -> None:
        self.display = None


@dataclass
class RunData:
    """The training images on the device, their class labels (None: unlabelled) and what
    the run says about them."""

    images: torch.Tensor
    labels: torch.Tensor | None
    description: str
    num_classes: int | None
    class_names: tuple[str, ...] | None
    fields: dict[str, DataField] = field(default_factory=dict)
    """Further fields (``--field``/``--paired-field``) on the device, by name."""


@dataclass
class PreparedRun:
    """Everything a run's loop needs, built and (when resuming) restored."""

    config: TrainConfig
    variant: Variant
    comm: Comm
    device: torch.device
    gan: GAN
    data_description: str
    run_dir: RunDir
    lock: FolderLock | None
    """The run folder's, held by the main process until the run ends."""
    runner: StepRunner
    sampler: BatchSampler
    latent: torch.Tensor
    """The fixed generator inputs (latents, or images to translate) every sample grid of the
    run is drawn from."""
    steps_total: float
    """The step to stop at (infinite: only the time budget ends the run)."""
    loggers: RunLoggers
    notices: Notices
    changes: tuple[str, ...] = ()
    """What the recipe changes in the registered variant of its name (named by the first line
    and config.json)."""
    resumed_from: int | None = None
    trained_seconds: float = 0.0
    """Training time before this process (evaluations excluded), carried across resumes."""
    records: list[dict[str, Any]] = field(default_factory=list)
    checkpoint_step: int = 0
    """The step of the last checkpoint written (or resumed from)."""

    @property
    def step(self) -> TrainingStep:
        return self.runner.step

    def last_good(self) -> str:
        """Where the last good checkpoint is, for a message about a run that stopped."""
        if not self.run_dir.checkpoint.is_file():
            return "no checkpoint was written yet"
        return f"the last good checkpoint (step {self.checkpoint_step}) is {self.run_dir.checkpoint}"


def fixed_latent(gan: GAN, count: int, seed: int) -> torch.Tensor:
    """The generator inputs every sample grid of a run is drawn from: latents, or a translating
    generator's source images (CPU generator: the same on every device)."""
    import torch

    rng = torch.Generator().manual_seed(seed + 1)
    return gan.sample_inputs(count, generator=rng, device="cpu").to(gan.device)


def plan_length(config: TrainConfig, variant: Variant, images: int,
                batches_per_step: Callable[[], float] = lambda: 1.0) -> tuple[float, int | None]:
    """(steps to stop at, planned length for schedules) of a run over ``images`` images, whose
    steps draw ``batches_per_step()`` real batches each (asked only when ``--epochs`` is set)."""
    limits = []
    if config.steps is not None:
        limits.append(config.steps)
    if config.epochs is not None:
        per_step = batches_per_step()
        if per_step <= 0:
            raise ConfigError(f"--epochs: a step of variant {variant.name!r} draws no real batch; give --steps")
        limits.append(max(1, math.ceil(config.epochs * images / variant.batch_size / per_step)))
    if not limits and config.minutes is None:
        limits.append(variant.steps)
    if limits:
        return min(limits), min(limits)
    return math.inf, None  # time-bound only


def load_run_data(config: TrainConfig, device: torch.device) -> RunData:
    """The config's data set on ``device``; an empty one is a one-line error."""
    dataset = load_dataset(config.data, labels=config.labels, image_size=config.image_size,
                           channels=config.channels)
    images = dataset.images.to(device)
    if images.shape[0] < 1:
        raise ConfigError("the data set is empty")
    # Labels travel with their images into every batch (None for unlabelled data).
    labels = None if dataset.labels is None else dataset.labels.to(device)
    data = RunData(images, labels, describe_source(config.data), dataset.num_classes, dataset.class_names)
    for paired, table in ((False, config.fields), (True, config.paired_fields)):
        for name, source in table.items():
            data.fields[name] = _load_field(name, source, paired, images, config, device)
            data.description += f"; field {name} ({'paired' if paired else 'unpaired'}): {describe_source(source)}"
    return data


def _load_field(name: str, source: str, paired: bool, images: torch.Tensor, config: TrainConfig,
                device: torch.device) -> DataField:
    """A further data field, checked against the images: the same image shape (resized and
    converted as they are), and as many images when paired with them."""
    values = load_images(source, image_size=config.image_size, channels=config.channels).to(device)
    flag = "--paired-field" if paired else "--field"
    if tuple(values.shape[1:]) != tuple(images.shape[1:]):
        raise DataError(f"{flag} {name}: {source} holds images of shape {tuple(values.shape[1:])} and the data "
                        f"{tuple(images.shape[1:])}: make them match (--image-size, --channels)")
    if values.shape[0] < 1 or (paired and values.shape[0] != images.shape[0]):
        raise DataError(f"{flag} {name}: {source} holds {values.shape[0]} images"
                        + (f"; a paired field needs one per data image ({images.shape[0]})" if paired else ""))
    return DataField(values, paired)


def check_fields(variant: Variant, data: RunData) -> None:
    """The data has every field ``variant`` reads, and none it would ignore (one line)."""
    missing = [name for name in variant.data_fields if name not in data.fields]
    if missing:
        raise ConfigError(f"variant {variant.name!r} reads the data field {missing[0]!r}, which {data.description} "
                          f"lacks: give it with --field {missing[0]}=SOURCE (or --paired-field)")
    unread = [name for name in data.fields if name not in variant.data_fields]
    if unread:
        reads = ", ".join(variant.data_fields) or "none"
        raise ConfigError(f"field {unread[0]!r}: variant {variant.name!r} does not read it (its data fields: "
                          f"{reads}); leave it out")


def build_for_data(variant: Variant, data: RunData, device: torch.device, registry: Registry,
                   resume: Resume | None) -> GAN:
    """``variant`` built for ``data``'s images and classes; a conditional recipe needs labels
    (and a resumed one the classes it trained on). Names the classes in the data's description."""
    conditional = bool(registry.conditioned_roles(variant))
    if conditional and data.labels is None:
        raise ConfigError(f"variant {variant.name!r} is conditional and {data.description} has no "
                          f"class labels; train it on labelled data: the built-in digits, an image "
                          f"folder with one subfolder per class, or a .npz with a 'labels' array")
    if resume is not None and conditional and resume.num_classes != data.num_classes:
        raise ConfigError(f"the run was trained on {resume.num_classes!r} classes and "
                          f"{data.description} has {data.num_classes}: resume it on the same data")
    gan = build_gan(variant, tuple(data.images.shape[1:]), device, registry, num_classes=data.num_classes)
    if variant.translate_from:
        gan.sources = data.fields[variant.translate_from].values
    if resume is None:
        check_undeclared_points(gan)  # before the run folder: a trick that would not act
    if gan.num_classes:
        gan.class_names = data.class_names
        data.description += f", {gan.num_classes} classes"
        if data.class_names != tuple(map(str, range(gan.num_classes))):  # names worth showing
            data.description += f": {', '.join(data.class_names or ())}"
    return gan


def open_run_dir(comm: Comm, out: str | None, name: str) -> RunDir:
    """Rank 0 creates the run folder; every rank learns where it is, or the same one-line error."""
    outcome = ("", "")
    if comm.is_main:
        try:
            outcome = ("ok", str(RunDir.new(out, name).path))
        except ConfigError as err:
            outcome = ("error", str(err))
    status, text = comm.broadcast(outcome)
    if status == "error":
        raise ConfigError(text)
    return RunDir(text)


def prepare_run(config: TrainConfig, *, resume: Resume | None = None, run_dir: RunDir | None = None,
                lock: FolderLock | None = None) -> PreparedRun:
    """Build the run ``config`` describes, or (with ``resume``, the checkpoint of ``run_dir``,
    whose ``lock`` the caller holds) rebuild and restore the one it continues."""
    registry = get_registry()
    if resume is not None:
        variant = resume.variant()
        registry.check_composition(variant)
    else:
        variant = recipe_variant(config, registry)
    comm, device = distributed.setup(config.device, config.dist_timeout)
    seed_everything(config.seed)  # the same on every rank: identical models and tricks
    data = load_run_data(config, device)
    check_fields(variant, data)
    gan = build_for_data(variant, data, device, registry, resume)
    if config.channels_last:
        data.images = to_channels_last(gan, data.images)
    check_settings(gan, config.graph, config.precision, distributed=comm.distributed)
    steps_total, schedule_steps = plan_length(config, variant, data.images.shape[0], lambda: batches_per_step(gan))
    latent = fixed_latent(gan, config.samples_in_grid, config.seed)
    notices = Notices()
    # Built before the run folder exists: a logger's bad parameter must leave no folder behind.
    loggers = RunLoggers(config.loggers, registry, notices)
    run_dir = run_dir or open_run_dir(comm, config.out, variant.name)
    if comm.is_main and lock is None:
        lock = FolderLock(run_dir.path, "training")
    try:
        restored = _assemble(resume, config, gan, data, comm, run_dir, schedule_steps, notices)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return PreparedRun(config=config, variant=variant, comm=comm, device=device, gan=gan,
                       data_description=data.description, run_dir=run_dir, lock=lock, latent=latent,
                       steps_total=steps_total, loggers=loggers, notices=notices,
                       changes=tuple(recipe_changes(variant, registry)), **restored)


def _assemble(resume: Resume | None, config: TrainConfig, gan: GAN, data: RunData, comm: Comm,
              run_dir: RunDir, schedule_steps: int | None, notices: Notices) -> dict[str, Any]:
    """The training step, assembled around the checkpoint's weights and position when resuming
    (a new run: from scratch, each rank with its own noise); returns the :class:`PreparedRun`
    fields that depend on resuming."""
    restored: dict[str, Any] = {}
    if resume is not None:
        resume.restore_weights(gan)  # before DDP wraps them: it broadcasts rank 0's
        restored.update(resumed_from=resume.step, checkpoint_step=resume.step,
                        trained_seconds=resume.train_seconds())
        # Only rank 0 writes: the records after the checkpoint's step go (the run redoes them).
        restored["records"] = run_dir.truncate_metrics(resume.step) if comm.is_main else []
    runner, sampler = assemble_step(
        gan, data.images, labels=data.labels, fields=data.fields, seed=config.seed, total_steps=schedule_steps,
        graph=config.graph, precision=config.precision, rank=comm.rank, world_size=comm.world_size,
        networks=comm.wrap(gan, config.sync_batchnorm), distributed=comm.distributed, notify=notices)
    if resume is not None:
        resume.restore_position(runner.step, sampler, rank=comm.rank, world_size=comm.world_size,
                                seed=config.seed)
    else:
        comm.seed_ranks(config.seed)  # different dropout and trick noise on each rank
    return {**restored, "runner": runner, "sampler": sampler}
