"""The shared trainer, for any variant on CPU or CUDA, in one process or several: a run is
prepared (:mod:`ganzoo.training.prepare`: recipe, data, GAN, run folder, resume), then trained
by the loop (:mod:`ganzoo.training.loop`) with its periodic tasks (:mod:`ganzoo.training.tasks`:
records, the finite check, sample grids, evaluation, checkpoints). This module starts and ends
a run: config.json, the first lines, the loggers, the loss plot, the lock."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.components import RunInfo
from ganzoo.errors import StorageError, TrickError
from ganzoo.runs.checkpoint import Resume, component_versions
from ganzoo.runs.rundir import FolderLock, RunDir, plot_losses
from ganzoo.training.config import TrainConfig, resumed_config
from ganzoo.training.loop import Clock, train_loop
from ganzoo.training.prepare import PreparedRun, prepare_run
from ganzoo.training.progress import Progress, make_progress
from ganzoo.training.tasks import Tasks, run_tasks

if TYPE_CHECKING:
    import torch

    from ganzoo.build import GAN
    from ganzoo.specs import Variant
    from ganzoo.training.capture import StepRunner
    from ganzoo.training.step import TrainingStep


@dataclass
class RunResult:
    run_dir: Path
    steps: int
    stopped_because: str
    checkpoint: Path
    samples: Path


class Trainer:
    """Runs one training run. ``Trainer(config).run()`` starts a new run folder;
    ``Trainer.resume(run_dir, **changes).run()`` continues one exactly."""

    def __init__(self, config: TrainConfig, *, _resume: Resume | None = None,
                 _run_dir: RunDir | None = None, _lock: FolderLock | None = None) -> None:
        self.prepared: PreparedRun = prepare_run(config, resume=_resume, run_dir=_run_dir, lock=_lock)
        run = self.prepared
        self.clock = Clock(run.comm, run.steps_total, config.minutes, run.trained_seconds)
        self.tasks: Tasks | None = None  # made when the run starts: they report to its display

    @classmethod
    def resume(cls, run_dir: str | Path, **changes: Any) -> Trainer:
        """Continue a run from its last checkpoint; ``changes`` may set
        :data:`~ganzoo.training.config.RESUMABLE_SETTINGS`."""
        run = RunDir.existing(run_dir)
        # Before anything is changed: another process may be training this very run.
        lock = FolderLock(run.path, "training") if int(os.environ.get("RANK", "0")) == 0 else None
        try:
            run.remove_stale_temporaries()  # left by a write that was killed; nobody writes now
            resume = Resume(run.checkpoint)
            config = resumed_config(resume.settings, changes, run.path, origin=str(run.checkpoint))
            return cls(config, _resume=resume, _run_dir=run, _lock=lock)
        except BaseException:
            if lock is not None:
                lock.release()
            raise

    # -- what callers read -------------------------------------------------------------------

    @property
    def config(self) -> TrainConfig:
        """The run's settings."""
        return self.prepared.config

    @property
    def variant(self) -> Variant:
        """The recipe it trains."""
        return self.prepared.variant

    @property
    def gan(self) -> GAN:
        """The GAN being trained."""
        return self.prepared.gan

    @property
    def device(self) -> torch.device:
        """The device it trains on (this rank's)."""
        return self.prepared.device

    @property
    def run_dir(self) -> RunDir:
        """The run folder."""
        return self.prepared.run_dir

    @property
    def runner(self) -> StepRunner:
        """What runs one training step (eagerly or as a CUDA graph)."""
        return self.prepared.runner

    @property
    def step(self) -> TrainingStep:
        """The training step: ``step.step`` counts the steps done."""
        return self.prepared.step

    @property
    def steps_total(self) -> float:
        """The step the run stops at (infinite: only its time budget stops it)."""
        return self.prepared.steps_total

    @property
    def records(self) -> list[dict[str, Any]]:
        """The run's records (on rank 0), those of the run it resumes included."""
        return self.prepared.records

    @property
    def is_main(self) -> bool:
        """Whether this process writes the run's files (rank 0)."""
        return self.prepared.comm.is_main

    def train_seconds(self) -> float:
        """Seconds spent training this run, across resumes, evaluations not counted."""
        return self.clock.train_seconds()

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Train until the step/epoch/time limit; returns where everything was written."""
        run = self.prepared
        settings = write_settings(run)
        progress = make_progress(None if math.isinf(run.steps_total) else int(run.steps_total),
                                 start=run.step.step, quiet=not run.comm.is_main)
        for line in first_lines(run):
            progress.message(line)
        run.notices.show_on(progress)
        self.tasks = run_tasks(run, self.clock, progress)
        if run.comm.is_main:
            run.loggers.open(RunInfo(run.run_dir.path, run.run_dir.metrics, settings, run.resumed_from))
        try:
            with self.clock.catching_interrupts():
                stopped = train_loop(run.step, run.runner, self.clock, self.tasks.each_step)
            if stopped == "interrupted":
                progress.message(f"ganzoo: interrupted; saving step {run.step.step} "
                                 "(Ctrl-C again to stop at once, losing it)")
            for task in self.tasks.at_end:
                task.finish(run.step.step)
            # Leave together: a rank that tears its connections down while rank 0 is still
            # finishing can make gloo abort the other side.
            run.comm.barrier()
        except (StorageError, TrickError) as err:
            raise type(err)(f"{err}; training stopped at step {run.step.step}; {run.last_good()}") from None
        finally:
            close_run(run, progress, failing=sys.exc_info()[0] is not None)
        return RunResult(run.run_dir.path, run.step.step, stopped, run.run_dir.checkpoint, run.run_dir.sample_grid())


def write_settings(run: PreparedRun) -> dict[str, Any]:
    """config.json (rank 0): the resolved settings, recipe, data, versions and step mode."""
    world = run.comm.world_size
    settings = {
        "world_size": world, "global_batch_size": run.variant.batch_size * world,
        "train": run.config.to_dict(), "variant": run.variant.to_dict(), "changes": list(run.changes),
        "image_shape": list(run.gan.image_shape), "num_classes": run.gan.num_classes,
        "class_names": list(run.gan.class_names or ()) or None, "device": str(run.device),
        "data": run.data_description, "versions": component_versions(run.gan),
        "step_mode": {"mode": run.runner.mode, "eager_because": run.runner.fallback_reason,
                      "precision": run.runner.precision},
    }
    if run.comm.is_main:
        run.run_dir.write_config(settings)
    return settings


def close_run(run: PreparedRun, progress: Progress, failing: bool) -> None:
    """Close the loggers and the display, plot the losses, leave the process group, let go
    of the run folder: also when the run failed (then a failing loss plot says nothing, the
    error on its way out, e.g. the same full disk, says it)."""
    if run.comm.is_main:
        run.loggers.close()  # while the progress display can still say a logger failed
    run.notices.detach()
    progress.close()
    try:
        if run.comm.is_main:
            plot_losses(run.records, run.run_dir.loss_plot)
    except StorageError:
        if not failing:
            raise
    finally:
        run.comm.teardown()
        if run.lock is not None:
            run.lock.release()


def first_lines(run: PreparedRun) -> list[str]:
    """What a run says first: where it resumes from, then what trains where, on what data, with
    which precision (results differ across precisions; when auto chose, why)."""
    config, runner, device = run.config, run.runner, run.device
    where = run.comm.describe(device)
    auto = config.precision == "auto" and device.type == "cpu"
    if device.type == "cuda":
        where += f", {'CUDA graph' if runner.graphed else 'eager'} step, {runner.precision}"
    elif runner.precision != "fp32":
        where += f", {runner.precision} autocast" + (" (auto: this CPU has native bf16 matrix units)" if auto else "")
    else:
        where += ", fp32" + (" (auto: this CPU has no native bf16 matrix units)" if auto else "")
    title = run.variant.summary if run.variant.name == "custom" else run.variant.name
    if run.changes:  # a named recipe with overrides is never a different recipe unnoticed
        title += f" ({', '.join(run.changes)})"
    lines = []
    if run.resumed_from is not None:
        lines.append(f"ganzoo: resuming {run.run_dir.path} from step {run.resumed_from} "
                     f"(checkpoint {run.run_dir.checkpoint})")
    lines.append(f"ganzoo: training {title} on {where} with {run.data_description}; run folder {run.run_dir.path}")
    return lines
