"""The periodic work of a training run, as small objects the loop (:mod:`ganzoo.training.loop`)
goes through after every step: each says when it is due (``due``) and does its work (``do``),
and some have work at the end of the run (``finish``). Records and their log lines, the finite check, sample grids, evaluation
and checkpoints each step (in that order); at the end the last checkpoint, the final grid and
the timelapse.

A task that talks to the other ranks of a distributed run (averaging the figures of a record,
checking every rank is finite, gathering their RNG states for a checkpoint) runs on every rank
(``everywhere``); the others write files and run on rank 0 alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.errors import DivergenceError
from ganzoo.evaluation.evaluate import evaluate_gan
from ganzoo.images import save_image_grid, side_by_side
from ganzoo.runs.checkpoint import capture_rng_states, write_training_checkpoint
from ganzoo.runs.rundir import write_timelapse

if TYPE_CHECKING:
    from ganzoo.training.loop import Clock
    from ganzoo.training.prepare import PreparedRun
    from ganzoo.training.progress import Progress
    from ganzoo.training.step import StepStats


def record_time(seconds: float) -> float:
    """A record's ``time``: training seconds to the millisecond, rounded down, so that no record
    is later than the checkpoint taken after it (a resumed run's clock starts from there)."""
    return math.floor(seconds * 1000) / 1000


class Task:
    """One kind of periodic work. By default never due and nothing to do at the end."""

    everywhere = False
    """Runs on every rank (it talks to the other ranks); else on rank 0 alone."""

    def observe(self, stats: StepStats) -> None:
        """Every step's statistics (device tensors; reading one would synchronise)."""

    def due(self, step: int) -> bool:
        """Whether there is work after ``step`` (a pure question: any rank may ask)."""
        return False

    def do(self, step: int) -> None:
        """The work after ``step``."""

    def finish(self, step: int) -> None:
        """The work at the end of a run that stopped at ``step`` (any limit, or Ctrl-C)."""


class FiniteCheck(Task):
    """Stops the run with a one-line :class:`DivergenceError` once a loss became NaN or
    infinite, before anything of that step is shown or kept. Due before the tasks it guards;
    records and checkpoints call :meth:`check` themselves."""

    everywhere = True

    def __init__(self, run: PreparedRun, guards: Sequence[Task] = ()) -> None:
        self.run, self.guards = run, list(guards)
        self.checked: int | None = None

    def due(self, step: int) -> bool:
        return any(task.due(step) for task in self.guards)

    def do(self, step: int) -> None:
        self.check(step)

    def check(self, step: int) -> None:
        """Reads the step's device flag (a host sync), once per step; every rank stops together."""
        if self.checked == step:
            return
        if bool(self.run.comm.any(self.run.step.nonfinite)):
            raise DivergenceError(f"training diverged: a loss became NaN or infinite by step {step}; "
                                  f"stopped without overwriting anything; {self.run.last_good()}")
        self.checked = step


class Records(Task):
    """Every ``log_every`` steps and at the last: a record of each statistic's latest value
    since the previous record (averaged over the ranks), the training time and the speed, to
    the run's loggers and its records, and a line on the display."""

    everywhere = True

    def __init__(self, run: PreparedRun, clock: Clock, finite: FiniteCheck, display: Progress) -> None:
        self.run, self.clock, self.finite, self.display = run, clock, finite, display
        # Each statistic's latest value since the last record: a phase that skips steps (lazy
        # R1 every 16) would otherwise reach the log only when it happens to run on a logged step.
        self.since: dict[str, Any] = {}
        self.last_step, self.last_time = run.step.step, clock.train_seconds()

    def observe(self, stats: StepStats) -> None:
        self.since.update(stats.values)

    def due(self, step: int) -> bool:
        return step % self.run.config.log_every == 0 or step >= self.run.steps_total

    def do(self, step: int) -> None:
        run = self.run
        now = self.clock.train_seconds()
        record = self.record(step, step - self.last_step, now - self.last_time)
        self.since, self.last_step, self.last_time = {}, step, now
        if run.comm.is_main:
            run.loggers.log(record)
            run.records.append(record)
        self.finite.check(step)
        self.display.update(step, record)

    def record(self, step: int, steps: int, seconds: float) -> dict[str, Any]:
        import torch

        run = self.run
        speed = steps / seconds if seconds > 0 else 0.0
        names = list(self.since)
        values = run.comm.mean(torch.stack([self.since[name].float() for name in names]))
        return {"step": step, "time": record_time(self.clock.train_seconds()),
                **{name: float(v) for name, v in zip(names, values.tolist())},
                "steps_per_sec": round(speed, 3),
                "images_per_sec": round(speed * run.variant.batch_size * run.comm.world_size, 1)}


def draw_grid(run: PreparedRun, path: Path) -> Path:
    """The run's sample grid from its fixed latents, written at ``path``: one row per class
    for a conditional generator, each column one latent across the classes (so a column shows
    what the class alone changes)."""
    gan, latent = run.gan, run.latent
    if gan.translates:  # each fixed input image beside its translation
        images, per_row = side_by_side(latent, gan.draw(latent))
        return save_image_grid(images, path, nrow=per_row)
    if gan.conditional:
        columns = math.ceil(math.sqrt(latent.shape[0]))
        latent = latent[:columns].repeat(gan.num_classes, 1)
    labels, per_row = gan.grid_labels(latent.shape[0])
    return save_image_grid(gan.draw(latent, labels), path, nrow=per_row)


class SampleGrids(Task):
    """A sample grid every ``sample_every`` steps, and ``samples.png`` at the end, each sent to
    the loggers."""

    def __init__(self, run: PreparedRun) -> None:
        self.run = run

    def due(self, step: int) -> bool:
        return step % self.run.config.sample_every == 0

    def do(self, step: int) -> None:
        grid = draw_grid(self.run, self.run.run_dir.sample_grid(step))
        self.run.loggers.log_image("samples", grid, step)

    def finish(self, step: int) -> None:
        draw_grid(self.run, self.run.run_dir.sample_grid())
        if not self.due(step):  # else this step's grid is logged already
            self.run.loggers.log_image("samples", self.run.run_dir.sample_grid(), step)


class Timelapse(Task):
    """``timelapse.gif`` of the run's grids, at the end."""

    def __init__(self, run: PreparedRun) -> None:
        self.run = run

    def finish(self, step: int) -> None:
        write_timelapse(self.run.run_dir, step)


class Evaluation(Task):
    """Sample quality scored at the steps ``eval_every`` (and ``eval_doubling``) choose, as a
    record with an ``eval`` report. Scoring is not training: the clock is paused meanwhile."""

    def __init__(self, run: PreparedRun, clock: Clock) -> None:
        self.run, self.clock = run, clock

    def due(self, step: int) -> bool:
        return self.run.config.evaluates_at(step)

    def do(self, step: int) -> None:
        run = self.run
        trained = record_time(self.clock.train_seconds())
        with self.clock.paused():
            report = evaluate_gan(run.gan, samples=run.config.eval_samples, seed=run.config.seed)
            record = {"step": step, "time": trained, "eval": report.to_dict()}
            run.loggers.log(record)
            run.records.append(record)


class Checkpoint(Task):
    """Every ``checkpoint_every`` steps, and at the end unless that step's is written: the
    checkpoint (:func:`ganzoo.runs.checkpoint.write_training_checkpoint`), never of a diverged
    run. Every rank takes part: a distributed checkpoint holds each rank's RNG states."""

    everywhere = True

    def __init__(self, run: PreparedRun, clock: Clock, finite: FiniteCheck) -> None:
        self.run, self.clock, self.finite = run, clock, finite

    def due(self, step: int) -> bool:
        return step % self.run.config.checkpoint_every == 0

    def do(self, step: int) -> None:
        run = self.run
        self.finite.check(step)
        rng = capture_rng_states()
        ranks = run.comm.rank_states(run.gan, step, rng)
        if run.comm.is_main:
            write_training_checkpoint(run.run_dir.checkpoint, gan=run.gan, position=run.step, sampler=run.sampler,
                                      settings=run.config.to_dict(), fixed_latent=run.latent,
                                      train_seconds=self.clock.train_seconds(), rng=rng, ranks=ranks)
        run.checkpoint_step = step

    def finish(self, step: int) -> None:
        if self.run.checkpoint_step != step or not self.run.run_dir.checkpoint.is_file():
            self.do(step)


@dataclass
class Tasks:
    """A run's tasks: in the order they run after a step, and in the order they finish."""

    each_step: list[Task]
    at_end: list[Task]


def run_tasks(run: PreparedRun, clock: Clock, display: Progress) -> Tasks:
    """The tasks of ``run`` on this rank (rank 0 has them all; the others only those that run
    everywhere). After a step: records, the finite check, grids, evaluation, then the checkpoint,
    so that a resumed run's clock starts past every record it keeps. At the end: the last
    checkpoint (checked finite), then the final grid and the timelapse that ends with it."""
    grids, evaluation = SampleGrids(run), Evaluation(run, clock)
    finite = FiniteCheck(run, guards=[grids, evaluation])
    checkpoint = Checkpoint(run, clock, finite)
    each_step: list[Task] = [Records(run, clock, finite, display), finite, grids, evaluation, checkpoint]
    at_end: list[Task] = [checkpoint, grids, Timelapse(run)]

    def here(tasks: list[Task]) -> list[Task]:
        return [task for task in tasks if task.everywhere or run.comm.is_main]
    return Tasks(here(each_step), here(at_end))
