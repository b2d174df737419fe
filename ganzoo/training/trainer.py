"""The shared trainer: data on the device, the composed step, logging, samples, checkpoints,
exact resume and divergence handling, for any variant on CPU or CUDA."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.build import GAN, build_gan, resolve_device, resolve_variant
from ganzoo.errors import CheckpointError, ConfigError, DivergenceError
from ganzoo.plugins import get_registry
from ganzoo.specs import Variant
from ganzoo.training import checkpoint as ckpt
from ganzoo.training.config import TrainConfig, apply_recipe
from ganzoo.training.progress import make_progress
from ganzoo.training.rundir import RunDir, plot_losses
from ganzoo.training.sampling import BatchSampler
from ganzoo.training.step import StepStats, TrainingStep

if TYPE_CHECKING:
    import torch

# Settings a resumed run may change; everything else must match the checkpoint.
RESUMABLE_SETTINGS = ("steps", "epochs", "minutes", "log_every", "sample_every",
                      "checkpoint_every", "eval_every", "eval_samples", "device")


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
    if gan.variant.latent_distribution == "uniform":
        z = torch.rand(count, gan.latent_dim, generator=rng) * 2 - 1
    else:
        z = torch.randn(count, gan.latent_dim, generator=rng)
    return z.to(gan.device)


class Trainer:
    """Runs one training run. ``Trainer(config).run()`` starts a new run folder;
    ``Trainer.resume(run_dir, **changes).run()`` continues one exactly."""

    def __init__(self, config: TrainConfig, *, _resume: dict[str, Any] | None = None,
                 _run_dir: RunDir | None = None) -> None:
        import torch

        self.config = config
        registry = get_registry()
        if _resume is not None:
            variant = Variant.from_dict(_resume["variant"])
            registry.check_composition(variant)
        else:
            base = registry.variant(config.variant)
            variant = resolve_variant(base, **apply_recipe(base, config.recipe))
        self.device = resolve_device(config.device)
        seed_everything(config.seed)

        from ganzoo.data import describe_source, load_images

        self.data = load_images(config.data, image_size=config.image_size,
                                channels=config.channels).to(self.device)
        self.data_description = describe_source(config.data)
        if self.data.shape[0] < 1:
            raise ConfigError("the data set is empty")
        image_shape = tuple(self.data.shape[1:])
        self.gan = build_gan(variant, image_shape, self.device, registry)
        self.variant = variant
        self.steps_total, self.schedule_steps = self._plan_length()
        self.sampler = BatchSampler(self.data, variant.batch_size, variant.latent_dim, config.seed,
                                    variant.latent_distribution)
        self.step = TrainingStep(self.gan, total_steps=self.schedule_steps, latent=self.sampler.latent)
        self.latent = fixed_latent(self.gan, config.samples_in_grid, config.seed)
        self.run_dir = _run_dir or RunDir.new(config.out, variant.name if variant.name != "custom" else "custom")
        self.records: list[dict[str, Any]] = []
        self.last_checkpoint_step = 0
        if _resume is not None:
            ckpt.load_gan_state(self.gan, _resume["state"])
            self.sampler.load_state_dict(_resume["sampler"])
            self.step.step = _resume["step"]
            self.step.d_updates = _resume["d_updates"]
            self.last_checkpoint_step = _resume["step"]
            self.records = self.run_dir.truncate_metrics(_resume["step"])
            ckpt.restore_rng_states(_resume["rng"])  # last: building consumed random numbers
        self._nonfinite = torch.zeros((), dtype=torch.bool, device=self.device)

    # -- construction helpers ----------------------------------------------------------------

    @classmethod
    def resume(cls, run_dir: str | Path, **changes: Any) -> Trainer:
        """Continue a run from its last checkpoint; ``changes`` may set RESUMABLE_SETTINGS."""
        run = RunDir.existing(run_dir)
        payload = ckpt.load_checkpoint(run.checkpoint)
        settings = dict(payload["config"])
        for key, value in changes.items():
            if key not in RESUMABLE_SETTINGS:
                raise ConfigError(f"--resume: {key.replace('_', '-')} cannot change when resuming "
                                  f"(it is part of the run's recipe or data)")
            if value is not None:
                settings[key] = value
        settings["out"] = str(run.path)
        config = TrainConfig.from_dict(settings, origin=str(run.checkpoint))
        return cls(config, _resume=payload, _run_dir=run)

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

    def _log(self, stats: StepStats, step: int, elapsed: float, interval_steps: int,
             interval_seconds: float) -> dict[str, Any]:
        speed = interval_steps / interval_seconds if interval_seconds > 0 else 0.0
        record = {"step": step, "time": round(elapsed, 3), **stats.as_floats(),
                  "steps_per_sec": round(speed, 3),
                  "images_per_sec": round(speed * self.variant.batch_size, 1)}
        self.run_dir.append_metrics(record)
        self.records.append(record)
        return record

    def _check_finite(self, step: int) -> None:
        if bool(self._nonfinite):
            last = self.last_checkpoint_step
            where = (f"the last good checkpoint (step {last}) is {self.run_dir.checkpoint}"
                     if self.run_dir.checkpoint.is_file() else "no checkpoint was written yet")
            raise DivergenceError(f"training diverged: a loss became NaN or infinite by step {step}; "
                                  f"stopped without overwriting anything; {where}")

    def save_checkpoint(self) -> Path:
        import torch

        step = self.step.step
        self._check_finite(step)
        payload = {
            "step": step, "d_updates": self.step.d_updates,
            "state": ckpt.gan_state(self.gan), "rng": ckpt.capture_rng_states(),
            "sampler": self.sampler.state_dict(),
            "config": self.config.to_dict(), "variant": self.variant.to_dict(),
            "image_shape": list(self.gan.image_shape), "fixed_latent": self.latent.cpu(),
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
        with torch.no_grad():
            images = net(self.latent).float().clamp(-1, 1)
        net.train(was_training)
        return save_image_grid(images, path)

    def _evaluate(self, step: int) -> dict[str, Any]:
        from ganzoo.evaluation.evaluate import evaluate_gan

        report = evaluate_gan(self.gan, samples=self.config.eval_samples, seed=self.config.seed)
        record = {"step": step, "eval": report.to_dict()}
        self.run_dir.append_metrics(record)
        self.records.append(record)
        return record

    def _write_config(self) -> None:
        self.run_dir.write_config({
            "train": self.config.to_dict(), "variant": self.variant.to_dict(),
            "image_shape": list(self.gan.image_shape), "device": str(self.device),
            "data": self.data_description, "versions": ckpt.component_versions(self.gan),
        })

    def run(self) -> RunResult:
        """Train until the step/epoch/time limit; returns where everything was written."""
        import torch

        config = self.config
        self._write_config()
        progress = make_progress(None if math.isinf(self.steps_total) else int(self.steps_total),
                                 start=self.step.step)
        progress.message(f"ganzoo: training {self.variant.name} on {self.device} with "
                         f"{self.data_description}; run folder {self.run_dir.path}")
        start = time.monotonic()
        deadline = start + config.minutes * 60 if config.minutes else math.inf
        last_log_time, last_log_step = start, self.step.step
        stopped = "step limit"
        try:
            while self.step.step < self.steps_total:
                if time.monotonic() >= deadline:
                    stopped = "time limit"
                    break
                stats = self.step(self.sampler.real)
                # Accumulate on the device: no host sync until the next log or checkpoint.
                self._nonfinite |= ~(torch.isfinite(stats.d_loss) & torch.isfinite(stats.g_loss))
                step = self.step.step
                final = step >= self.steps_total
                if step % config.log_every == 0 or final:
                    now = time.monotonic()
                    record = self._log(stats, step, now - start, step - last_log_step, now - last_log_time)
                    last_log_time, last_log_step = now, step
                    self._check_finite(step)
                    progress.update(step, record)
                if step % config.sample_every == 0:
                    self._check_finite(step)
                    self.save_samples(self.run_dir.sample_grid(step))
                if step % config.checkpoint_every == 0:
                    self.save_checkpoint()
                if config.eval_every and step % config.eval_every == 0:
                    self._check_finite(step)
                    self._evaluate(step)
        finally:
            progress.close()
            plot_losses(self.records, self.run_dir.loss_plot)
        checkpoint = (self.run_dir.checkpoint if self.last_checkpoint_step == self.step.step
                      and self.run_dir.checkpoint.is_file() else self.save_checkpoint())
        samples = self.save_samples(self.run_dir.sample_grid())
        return RunResult(self.run_dir.path, self.step.step, stopped, checkpoint, samples)


def load_trained_gan(source: str | Path, device: str = "auto") -> tuple[GAN, dict[str, Any]]:
    """A GAN restored from a run folder or checkpoint file, with the checkpoint's payload."""
    path = Path(source)
    if path.is_dir():
        path = RunDir.existing(path).checkpoint
    elif not path.exists():
        raise CheckpointError(f"{path}: no such run folder or checkpoint")
    payload = ckpt.load_checkpoint(path, map_location="cpu")
    variant = Variant.from_dict(payload["variant"])
    gan = build_gan(variant, tuple(payload["image_shape"]), device)
    ckpt.load_gan_state(gan, payload["state"], weights_only=True)
    return gan, payload
