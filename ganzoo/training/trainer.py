"""The shared trainer: data on the device, the composed step, logging, samples, checkpoints,
exact resume and divergence handling, for any variant on CPU or CUDA."""

from __future__ import annotations

import contextlib
import math
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.build import GAN, build_gan, resolve_variant
from ganzoo.components import RunInfo
from ganzoo.latent import sample_latent
from ganzoo.errors import ConfigError, DivergenceError, StorageError, TrickError
from ganzoo.plugins import get_registry
from ganzoo.runs import checkpoint as ckpt
from ganzoo.training import distributed
from ganzoo.training.capture import assemble_step, check_settings, to_channels_last
from ganzoo.training.config import BASE_VARIANT, TrainConfig, apply_recipe
from ganzoo.training.loggers import RunLoggers
from ganzoo.training.progress import make_progress
from ganzoo.runs.rundir import FolderLock, RunDir, plot_losses, write_timelapse
from ganzoo.training.step import StepStats, check_undeclared_points

if TYPE_CHECKING:
    import torch

# Settings a resumed run may change; everything else must match the checkpoint.
RESUMABLE_SETTINGS = ("steps", "epochs", "minutes", "log_every", "sample_every",
                      "checkpoint_every", "eval_every", "eval_doubling", "eval_samples", "device", "dist_timeout",
                      "graph", "precision", "channels_last", "loggers")


@dataclass
class RunResult:
    run_dir: Path
    steps: int
    stopped_because: str
    checkpoint: Path
    samples: Path


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def fixed_latent(gan: GAN, count: int, seed: int) -> torch.Tensor:
    """The latent batch every sample grid of a run is drawn from (CPU generator: the same on
    every device)."""
    import torch

    rng = torch.Generator().manual_seed(seed + 1)
    return sample_latent(count, gan.latent_dim, gan.variant.latent_distribution, "cpu", rng).to(gan.device)


class Trainer:
    """Runs one training run. ``Trainer(config).run()`` starts a new run folder;
    ``Trainer.resume(run_dir, **changes).run()`` continues one exactly."""

    def __init__(self, config: TrainConfig, *, _resume: dict[str, Any] | None = None,
                 _run_dir: RunDir | None = None, _lock: FolderLock | None = None) -> None:
        self.config = config
        self._lock = _lock  # the run folder's, held by the main process until run() ends
        registry = get_registry()
        if _resume is not None:
            source = _run_dir.checkpoint if _run_dir else "checkpoint"
            variant = ckpt.read_variant(_resume, source)
            ckpt.require_installed(_resume, source, variant.components())
            registry.check_composition(variant)
        else:
            base = registry.variant(config.variant or BASE_VARIANT)
            variant = resolve_variant(base, **apply_recipe(base, config.recipe))
            changes = variant.changes_from(base)
            if config.variant is None and changes:  # composed from flags: say what it is
                variant = variant.replace(name="custom", summary=f"custom (from {base.name}: "
                                                                 f"{', '.join(changes)})")
        self.dist, self.device = distributed.setup(config.device, config.dist_timeout)
        self.is_main = self.dist is None or self.dist.is_main
        rank, world = (self.dist.rank, self.dist.world_size) if self.dist else (0, 1)
        seed_everything(config.seed)  # the same on every rank: identical models and tricks

        from ganzoo.data import describe_source, load_dataset

        dataset = load_dataset(config.data, labels=config.labels, image_size=config.image_size,
                               channels=config.channels)
        self.data = dataset.images.to(self.device)
        # Labels travel with their images into every batch (None for unlabelled data).
        self.labels = None if dataset.labels is None else dataset.labels.to(self.device)
        self.data_description = describe_source(config.data)
        if self.data.shape[0] < 1:
            raise ConfigError("the data set is empty")
        image_shape = tuple(self.data.shape[1:])
        if registry.conditioned_roles(variant) and self.labels is None:
            raise ConfigError(f"variant {variant.name!r} is conditional and {self.data_description} has no "
                              f"class labels; train it on labelled data: the built-in digits, an image "
                              f"folder with one subfolder per class, or a .npz with a 'labels' array")
        classes = dataset.num_classes
        if _resume is not None and registry.conditioned_roles(variant) and _resume.get("num_classes") != classes:
            raise ConfigError(f"the run was trained on {_resume.get('num_classes')!r} classes and "
                              f"{self.data_description} has {classes}: resume it on the same data")
        self.gan = build_gan(variant, image_shape, self.device, registry, num_classes=classes)
        if _resume is None:
            check_undeclared_points(self.gan)  # before the run folder: a trick that would not act
        if self.gan.num_classes:
            self.gan.class_names = dataset.class_names
            self.data_description += f", {classes} classes"
            if dataset.class_names != tuple(map(str, range(classes))):  # names worth showing
                self.data_description += f": {', '.join(dataset.class_names)}"
        if config.channels_last:
            self.data = to_channels_last(self.gan, self.data)
        self.variant = variant
        check_settings(self.gan, config.graph, config.precision, distributed=self.dist is not None)
        self.steps_total, self.schedule_steps = self._plan_length()
        self.latent = fixed_latent(self.gan, config.samples_in_grid, config.seed)
        self.records: list[dict[str, Any]] = []
        self._notices: list[str] = []
        self._progress: Any = None
        self._interrupted = False
        # Built before the run folder exists: a logger's bad parameter must leave no folder behind.
        self.loggers = RunLoggers(config.loggers, registry, self._notice)
        self.run_dir = self._open_run_dir(_run_dir)
        if self.is_main and self._lock is None:
            self._lock = FolderLock(self.run_dir.path, "training")
        self.resumed_from: int | None = None if _resume is None else _resume["step"]
        self.last_checkpoint_step = 0
        # Training time so far (evaluations excluded), carried across resumes: the "time" of
        # every record, so curves over time continue where the interrupted run left off.
        self.trained_seconds = 0.0
        self._segment: tuple[float, float] | None = None  # (loop start, evaluation seconds since)
        if _resume is not None:
            ckpt.load_gan_state(self.gan, _resume["state"], source=self.run_dir.checkpoint)
            self.last_checkpoint_step = _resume["step"]
            self.trained_seconds = ckpt.train_seconds(_resume, self.run_dir.checkpoint)
            if self.is_main:
                self.records = self.run_dir.truncate_metrics(_resume["step"])
        wrapped = distributed.wrap(self.gan, self.dist, config.sync_batchnorm) if self.dist else None
        self.runner, self.sampler = assemble_step(
            self.gan, self.data, labels=self.labels, seed=config.seed, total_steps=self.schedule_steps,
            graph=config.graph,
            precision=config.precision, rank=rank, world_size=world, networks=wrapped,
            distributed=self.dist is not None, notify=self._notice)
        self.step = self.runner.step
        if _resume is not None:
            # load_checkpoint checked these states' types and shapes; what is still wrong with
            # one (a state of another size ...) is a one-line error naming the checkpoint.
            with ckpt.applying(self.run_dir.checkpoint):
                self.sampler.load_state_dict(_resume["sampler"])
                self.step.set_position(_resume["step"], _resume["updates"])
                ckpt.restore_rng_states(self._rng_for_this_rank(_resume))  # last: building consumed some
        elif self.dist is not None:
            seed_everything(config.seed + rank)  # different dropout and trick noise on each rank

    # -- construction helpers ----------------------------------------------------------------

    def _notice(self, message: str) -> None:
        """One-line notices (e.g. the step runs eagerly): shown when the run starts, or at once."""
        if self._progress is not None:
            self._progress.message(message)
        else:
            self._notices.append(message)

    def _open_run_dir(self, given: RunDir | None) -> RunDir:
        """Rank 0 creates (or reuses) the run folder; the other ranks learn where it is, or
        the same one-line error."""
        if given is not None:
            return given
        name = self.variant.name
        if self.dist is None:
            return RunDir.new(self.config.out, name)
        outcome: tuple[str, str]
        if self.is_main:
            try:
                outcome = ("ok", str(RunDir.new(self.config.out, name).path))
            except ConfigError as err:
                outcome = ("error", str(err))
        else:
            outcome = ("", "")
        status, text = distributed.broadcast_from_main(outcome)
        if status == "error":
            raise ConfigError(text)
        return RunDir(text)

    def _rng_for_this_rank(self, payload: dict[str, Any]) -> dict[str, Any]:
        per_rank = payload.get("rng_per_rank")
        rank, world = (self.dist.rank, self.dist.world_size) if self.dist else (0, 1)
        if per_rank and len(per_rank) == world:
            return per_rank[rank]
        if rank == 0:
            return payload["rng"]
        # Another world size: rank 0 continues the saved stream, the others start their own.
        seed_everything(self.config.seed + rank + payload["step"])
        return ckpt.capture_rng_states()

    @classmethod
    def resume(cls, run_dir: str | Path, **changes: Any) -> Trainer:
        """Continue a run from its last checkpoint; ``changes`` may set RESUMABLE_SETTINGS."""
        run = RunDir.existing(run_dir)
        # Before anything is changed: another process may be training this very run.
        lock = FolderLock(run.path, "training") if int(os.environ.get("RANK", "0")) == 0 else None
        try:
            return cls._resume(run, lock, changes)
        except BaseException:
            if lock is not None:
                lock.release()
            raise

    @classmethod
    def _resume(cls, run: RunDir, lock: FolderLock | None, changes: dict[str, Any]) -> Trainer:
        run.remove_stale_temporaries()  # left by a write that was killed; nobody writes now
        payload = ckpt.load_checkpoint(run.checkpoint, resume=True)
        settings = dict(payload["config"])
        for key, value in changes.items():
            if key not in RESUMABLE_SETTINGS:
                raise ConfigError(f"--resume: {key.replace('_', '-')} cannot change when resuming "
                                  f"(it is part of the run's recipe or data)")
            if value is not None:
                settings[key] = value
        settings["out"] = str(run.path)
        config = TrainConfig.from_dict(settings, origin=str(run.checkpoint))
        return cls(config, _resume=payload, _run_dir=run, _lock=lock)

    def _plan_length(self) -> tuple[float, int | None]:
        """(steps to stop at, planned length for schedules)."""
        config, variant = self.config, self.variant
        limits = []
        if config.steps is not None:
            limits.append(config.steps)
        if config.epochs is not None:
            batches = config.epochs * self.data.shape[0] / variant.batch_size
            limits.append(max(1, math.ceil(batches / variant.critic_steps)))
        if not limits and config.minutes is None:
            limits.append(variant.steps)
        if limits:
            return min(limits), min(limits)
        return math.inf, None  # time-bound only

    # -- the loop ----------------------------------------------------------------------------

    def train_seconds(self) -> float:
        """Seconds spent training this run, across resumes, evaluations not counted."""
        if self._segment is None:
            return self.trained_seconds
        started, evaluating = self._segment
        return self.trained_seconds + time.monotonic() - started - evaluating

    def _log(self, stats: StepStats, step: int, interval_steps: int,
             interval_seconds: float) -> dict[str, Any]:
        import torch

        speed = interval_steps / interval_seconds if interval_seconds > 0 else 0.0
        names = list(stats.values)
        values = torch.stack([stats.values[name].float() for name in names])
        if self.dist is not None:
            values = distributed.mean_across_ranks(values)  # the whole global batch's figures
        world = self.dist.world_size if self.dist else 1
        record = {"step": step, "time": round(self.train_seconds(), 3),
                  **{name: float(v) for name, v in zip(names, values.tolist())},
                  "steps_per_sec": round(speed, 3),
                  "images_per_sec": round(speed * self.variant.batch_size * world, 1)}
        if self.is_main:
            self.loggers.log(record)
            self.records.append(record)
        return record

    def _check_finite(self, step: int) -> None:
        flag = self.step.nonfinite
        if self.dist is not None:
            flag = distributed.any_across_ranks(flag)  # every rank stops together
        if bool(flag):
            raise DivergenceError(f"training diverged: a loss became NaN or infinite by step {step}; "
                                  f"stopped without overwriting anything; {self._last_good()}")

    def _last_good(self) -> str:
        if not self.run_dir.checkpoint.is_file():
            return "no checkpoint was written yet"
        return f"the last good checkpoint (step {self.last_checkpoint_step}) is {self.run_dir.checkpoint}"

    def save_checkpoint(self) -> Path:
        import torch

        step = self.step.step
        self._check_finite(step)
        rng = ckpt.capture_rng_states()
        extra: dict[str, Any] = {}
        if self.dist is not None:
            prints = distributed.all_gather(distributed.fingerprint(self.gan))
            if any(p != prints[0] for p in prints):
                raise RuntimeError(f"distributed ranks hold different weights at step {step}: {prints}")
            extra = {"rng_per_rank": distributed.all_gather(rng), "world_size": self.dist.world_size,
                     "rank_fingerprints": prints}
            if not self.is_main:
                self.last_checkpoint_step = step
                return self.run_dir.checkpoint
        payload = {
            "step": step, "updates": dict(self.step.updates),
            "state": ckpt.gan_state(self.gan), "rng": rng, **extra,
            "sampler": self.sampler.state_dict(),
            "config": self.config.to_dict(), "variant": self.variant.to_dict(),
            "image_shape": list(self.gan.image_shape), "num_classes": self.gan.num_classes,
            "class_names": list(self.gan.class_names or ()) or None, "fixed_latent": self.latent.cpu(),
            "train_seconds": self.train_seconds(),
            "versions": ckpt.component_versions(self.gan), "torch_threads": torch.get_num_threads(),
        }
        path = ckpt.save_checkpoint(self.run_dir.checkpoint, payload)
        self.last_checkpoint_step = step
        return path

    def save_samples(self, path: Path) -> Path:
        import torch

        from ganzoo.images import save_image_grid

        net = self.gan.sampling_generator()
        was_training = net.training
        net.eval()
        latent = self.latent
        if self.gan.conditional:
            # One row per class; each column keeps one latent across the classes, so a column
            # shows what the class alone changes.
            columns = math.ceil(math.sqrt(latent.shape[0]))
            latent = latent[:columns].repeat(self.gan.num_classes, 1)
        labels, per_row = self.gan.grid_labels(latent.shape[0])
        with torch.no_grad():
            images = self.gan.run("generator", net, latent, labels).float().clamp(-1, 1)
        net.train(was_training)
        return save_image_grid(images, path, nrow=per_row)

    def _evaluate(self, step: int) -> dict[str, Any] | None:
        from ganzoo.evaluation.evaluate import evaluate_gan

        if not self.is_main:
            return None
        trained = round(self.train_seconds(), 3)
        report = evaluate_gan(self.gan, samples=self.config.eval_samples, seed=self.config.seed)
        record = {"step": step, "time": trained, "eval": report.to_dict()}
        self.loggers.log(record)
        self.records.append(record)
        return record

    def _write_config(self) -> dict[str, Any]:
        world = self.dist.world_size if self.dist else 1
        settings = {
            "world_size": world, "global_batch_size": self.variant.batch_size * world,
            "train": self.config.to_dict(), "variant": self.variant.to_dict(),
            "image_shape": list(self.gan.image_shape), "num_classes": self.gan.num_classes,
            "class_names": list(self.gan.class_names or ()) or None, "device": str(self.device),
            "data": self.data_description, "versions": ckpt.component_versions(self.gan),
            "step_mode": {"mode": self.runner.mode, "eager_because": self.runner.fallback_reason,
                          "precision": self.runner.precision},
        }
        if self.is_main:
            self.run_dir.write_config(settings)
        return settings

    def run(self) -> RunResult:
        """Train until the step/epoch/time limit; returns where everything was written."""
        config = self.config
        settings = self._write_config()
        progress = make_progress(None if math.isinf(self.steps_total) else int(self.steps_total),
                                 start=self.step.step, quiet=not self.is_main)
        where = f"{self.dist.world_size} processes ({self.dist.backend})" if self.dist else str(self.device)
        mode = "CUDA graph" if self.runner.graphed else "eager"
        precision = self.runner.precision
        # The precision on every machine (results differ across precisions), and why when auto chose.
        auto = config.precision == "auto" and self.device.type == "cpu"
        if self.device.type == "cuda":
            where += f", {mode} step, {precision}"
        elif precision != "fp32":
            where += f", {precision} autocast" + (" (auto: this CPU has native bf16 matrix units)" if auto else "")
        else:
            where += ", fp32" + (" (auto: this CPU has no native bf16 matrix units)" if auto else "")
        title = self.variant.summary if self.variant.name == "custom" else self.variant.name
        if self.resumed_from is not None:
            progress.message(f"ganzoo: resuming {self.run_dir.path} from step {self.resumed_from} "
                             f"(checkpoint {self.run_dir.checkpoint})")
        progress.message(f"ganzoo: training {title} on {where} with "
                         f"{self.data_description}; run folder {self.run_dir.path}")
        for notice in self._notices:
            progress.message(notice)
        self._progress = progress
        if self.is_main:
            self.loggers.open(RunInfo(self.run_dir.path, self.run_dir.metrics, settings, self.resumed_from))
        try:
            with self._stop_on_interrupt():
                stopped = self._loop(progress)
            checkpoint = (self.run_dir.checkpoint if self.last_checkpoint_step == self.step.step
                          and self.run_dir.checkpoint.is_file() else self.save_checkpoint())
            samples = self.run_dir.sample_grid()
            if self.is_main:
                self.save_samples(samples)
                if self.step.step % config.sample_every:  # else this step's grid is logged already
                    self.loggers.log_image("samples", samples, self.step.step)
                write_timelapse(self.run_dir, self.step.step)
            if self.dist is not None:
                # Leave together: a rank that tears its connections down while rank 0 is still
                # finishing can make gloo abort the other side.
                distributed.barrier()
        except (StorageError, TrickError) as err:
            raise type(err)(f"{err}; training stopped at step {self.step.step}; "
                            f"{self._last_good()}") from None
        finally:
            failing = sys.exc_info()[0] is not None
            if self.is_main:
                self.loggers.close()  # while the progress display can still say a logger failed
            self._progress = None
            progress.close()
            if self.is_main:
                try:
                    plot_losses(self.records, self.run_dir.loss_plot)
                except StorageError:
                    if not failing:
                        raise  # else the error on its way out (e.g. the same full disk) says it
            if self.dist is not None:
                distributed.teardown()
            if self._lock is not None:
                self._lock.release()
        return RunResult(self.run_dir.path, self.step.step, stopped, checkpoint, samples)

    @contextlib.contextmanager
    def _stop_on_interrupt(self) -> Iterator[None]:
        """While the loop runs, a first Ctrl-C (SIGINT) ends it after the running step, so the run
        ends as at any limit: a checkpoint of exactly that step, its grid, its timelapse. A second
        one interrupts at once. Only in a single process's main thread (distributed ranks would
        see the signal at different steps; only the main thread may set a handler), and not where
        SIGINT is ignored."""
        previous = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
        if self.dist is not None or previous in (None, signal.SIG_IGN):  # SIG_IGN: e.g. a `cmd &` job
            yield
            return

        def on_interrupt(signum: int, frame: Any) -> None:
            self._interrupted = True
            signal.signal(signal.SIGINT, previous)  # the next Ctrl-C interrupts at once

        signal.signal(signal.SIGINT, on_interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _loop(self, progress: Any) -> str:
        """Train until a limit is reached; returns which one."""
        config = self.config
        start = time.monotonic()
        deadline = start + config.minutes * 60 if config.minutes else math.inf
        self._segment = (start, 0.0)
        last_log_time, last_log_step = start, self.step.step
        # Each statistic's latest value since the last record: a phase that skips steps (lazy
        # R1 every 16) would otherwise reach the log only when it happens to run on a logged step.
        since_log: dict[str, Any] = {}
        while self.step.step < self.steps_total:
            if self._out_of_time(deadline):
                return "time limit"
            if self._interrupted:
                progress.message(f"ganzoo: interrupted; saving step {self.step.step} "
                                 "(Ctrl-C again to stop at once, losing it)")
                return "interrupted"
            # No host sync until the next log or checkpoint: the step accumulates a
            # non-finite flag on the device.
            since_log.update(self.runner().values)
            step = self.step.step
            final = step >= self.steps_total
            if step % config.log_every == 0 or final:
                now = time.monotonic()
                record = self._log(StepStats(since_log), step, step - last_log_step, now - last_log_time)
                since_log = {}
                last_log_time, last_log_step = now, step
                self._check_finite(step)
                progress.update(step, record)
            if step % config.sample_every == 0:
                self._check_finite(step)
                if self.is_main:
                    grid = self.save_samples(self.run_dir.sample_grid(step))
                    self.loggers.log_image("samples", grid, step)
            if config.evaluates_at(step):
                self._check_finite(step)
                began = time.monotonic()
                self._evaluate(step)
                # Scoring is not training: the budget and the clock of the records skip it.
                spent = time.monotonic() - began
                deadline += spent
                last_log_time += spent
                self._segment = (self._segment[0], self._segment[1] + spent)
            # After the evaluation: a resumed run's clock starts past every record it keeps.
            if step % config.checkpoint_every == 0:
                self.save_checkpoint()
        return "step limit"

    def _out_of_time(self, deadline: float) -> bool:
        """Past the --minutes budget; in a distributed run rank 0's clock decides for all."""
        if math.isinf(deadline):
            return False
        late = time.monotonic() >= deadline
        if self.dist is None:
            return late
        import torch

        return bool(distributed.any_across_ranks(torch.tensor(late, device=self.device)))
