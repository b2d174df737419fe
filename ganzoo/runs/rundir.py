"""The run folder: what a training run leaves behind, and how to find things in it.

::

    RUN/
      config.json          resolved settings, recipe, image shape, versions
      metrics.jsonl        one JSON object per logged step (losses, D outputs, speed, metrics)
      samples/step-*.png   grids from a fixed latent batch, at intervals
      samples.png          the final grid
      timelapse.gif        the sample grids across training, one frame each (written at the end)
      loss.png             loss curves, written at the end
      checkpoints/last.pt  the latest checkpoint (written atomically)
      .lock                held by the one process training the run (its pid inside)
"""

from __future__ import annotations

import datetime
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ganzoo.atomic import stale_temporaries, write_atomically
from ganzoo.errors import CheckpointError, ConfigError, DataError

CHECKPOINT = Path("checkpoints") / "last.pt"
CONFIG = Path("config.json")
LOCK = Path(".lock")


class FolderLock:
    """One process's exclusive hold on a folder (``fcntl.flock`` on ``FOLDER/.lock``): a second
    trainer of the same run would interleave its records and checkpoints with the first's. The
    system drops the lock when the holder ends, however it ends; without ``fcntl`` (Windows)
    nothing is locked."""

    def __init__(self, folder: Path, doing: str) -> None:
        self.handle: Any = None
        try:
            import fcntl
        except ImportError:
            return
        path = folder / LOCK
        try:
            handle = open(path, "a+")  # noqa: SIM115 - held open as the lock until release()
        except OSError as err:
            raise ConfigError(f"{folder}: cannot create its lock file ({err.strerror})") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise ConfigError(f"{folder}: another ganzoo process (pid {holder}) is {doing} it; wait for "
                              "it to end or stop it") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()  # closing drops the flock
            self.handle = None

    @staticmethod
    def holder(folder: Path) -> str | None:
        """The pid (as the lock file has it) of the live process holding ``folder``'s lock, or
        None when nobody holds it (or nothing can be locked here). Creates no lock file."""
        try:
            import fcntl
        except ImportError:
            return None
        try:
            handle = open(folder / LOCK)  # noqa: SIM115 - flock needs no write access
        except OSError:
            return None  # no lock file: no process ever trained here
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return handle.read(40).strip() or "?"
            return None  # closing the handle drops the probe's own (shared, momentary) lock


class RunDir:
    """Paths and files of one run folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def new(cls, out: str | None, variant: str) -> RunDir:
        """A fresh run folder; refuses to reuse a non-empty folder (never overwrite a run)."""
        if out is None:
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            out = str(Path("runs") / f"{variant}-{stamp}")
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise ConfigError(f"--out {path}: is a file; choose another --out")
        if path.exists() and any(path.iterdir()):
            holder = FolderLock.holder(path)
            if holder is not None and (path / CONFIG).is_file():
                # Live: whatever its files say, never advise deleting the folder of a running job.
                yet = "" if cls.holds_run(path) else " (no checkpoint yet)"
                raise ConfigError(f"--out {path}: holds a run that another ganzoo process (pid {holder}) is "
                                  f"training right now{yet}; choose another --out")
            if cls.holds_run(path):
                raise ConfigError(f"--out {path}: already holds a run; use --resume {path} to continue it, "
                                  "or choose another --out")
            if (path / CONFIG).is_file():
                raise ConfigError(f"--out {path}: holds a run that stopped before its first checkpoint "
                                  "(nothing to resume); delete the folder or choose another --out")
            raise ConfigError(f"--out {path}: already exists and is not empty; choose another --out")
        try:
            (path / "samples").mkdir(parents=True, exist_ok=True)
            (path / "checkpoints").mkdir(exist_ok=True)
        except OSError as err:
            raise ConfigError(f"--out {path}: cannot create the run folder ({err.strerror})") from None
        return cls(path)

    @staticmethod
    def holds_run(path: str | Path) -> bool:
        """Whether ``path`` is a run folder with a checkpoint."""
        return Path(path).is_dir() and (Path(path) / CHECKPOINT).is_file()

    @staticmethod
    def folder_of(source: str | Path) -> Path:
        """The run folder of a run folder or of its checkpoint; for a checkpoint file elsewhere,
        the folder holding it (where ``ganzoo sample`` writes its grid)."""
        path = Path(source)
        if path.is_dir():
            return path
        if path.parent.parent / CHECKPOINT == path:
            return path.parent.parent
        return path.parent

    @classmethod
    def existing(cls, path: str | Path) -> RunDir:
        run = cls(path)
        if run.path.is_file():
            raise CheckpointError(f"{run.path}: is a file, not a run folder (--resume takes the folder)")
        if not run.path.is_dir():
            raise CheckpointError(f"{run.path}: no such run folder")
        if not run.checkpoint.is_file():
            holder = FolderLock.holder(run.path) if run.config.is_file() else None
            if holder is not None:
                raise CheckpointError(f"{run.path}: no checkpoint in this run folder yet: another ganzoo process "
                                      f"(pid {holder}) is training it right now and has not written its first "
                                      "checkpoint")
            stopped = "; the run stopped before its first checkpoint" if run.config.is_file() else ""
            raise CheckpointError(f"{run.path}: no checkpoint in this run folder ({CHECKPOINT} is missing{stopped})")
        return run

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete the half-written files an interrupted write left (call only when no process
        is writing to the run: when it is resumed)."""
        removed = []
        for folder in (self.path, self.checkpoint.parent):
            for path in stale_temporaries(folder):
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def config(self) -> Path:
        return self.path / CONFIG

    def sample_grid(self, step: int | None = None) -> Path:
        return self.path / "samples.png" if step is None else self.path / "samples" / f"step-{step:06d}.png"

    def sample_grids(self, up_to: int | None = None) -> list[tuple[int, Path]]:
        """``(step, path)`` of the grids written along the way, by step (those up to ``up_to``)."""
        grids = []
        for path in (self.path / "samples").glob("step-*.png"):
            step = path.stem.removeprefix("step-")
            if step.isdigit() and (up_to is None or int(step) <= up_to):
                grids.append((int(step), path))
        return sorted(grids)

    @property
    def loss_plot(self) -> Path:
        return self.path / "loss.png"

    @property
    def timelapse(self) -> Path:
        return self.path / "timelapse.gif"

    def write_config(self, data: dict[str, Any]) -> None:
        text = json.dumps(data, indent=2, default=str) + "\n"
        write_atomically(self.config, lambda handle: handle.write(text.encode()))

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics.is_file():
            return []
        records = []
        for line in self.metrics.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
        return records

    def truncate_metrics(self, last_step: int) -> list[dict[str, Any]]:
        """Drop records logged after ``last_step`` (after the checkpoint a resumed run restarts
        from), so the resumed metrics continue without duplicate or orphaned steps."""
        kept = [r for r in self.read_metrics() if r.get("step", 0) <= last_step]
        text = "".join(json.dumps(r, allow_nan=True) + "\n" for r in kept)
        write_atomically(self.metrics, lambda handle: handle.write(text.encode()))
        return kept


BOOKKEEPING: tuple[str, ...] = ("step", "time", "steps_per_sec", "images_per_sec", "eval")
"""What a training record holds besides the statistics the step's updates and tricks report."""


def training_stats(record: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """A training record's statistics, as the updates and tricks reported them, in order:
    ``(losses, others)``, the losses being those named ``*_loss``. Nothing here names one: a
    variant's stats are whatever its updates report."""
    stats = {name: value for name, value in record.items()
             if name not in BOOKKEEPING and isinstance(value, (int, float)) and not isinstance(value, bool)}
    losses = {name: value for name, value in stats.items() if name.endswith("_loss")}
    return losses, {name: value for name, value in stats.items() if name not in losses}


def plot_losses(records: Iterable[dict[str, Any]], path: Path) -> Path | None:
    """Every statistic of the training records over steps, as a PNG: the losses (``*_loss``)
    on top, the others below (nothing if no records)."""
    rows = [r for r in records if "steps_per_sec" in r]
    if not rows:
        return None
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    steps = [r["step"] for r in rows]
    finite = lambda key: [r[key] if isinstance(r.get(key), (int, float)) and math.isfinite(r[key]) else math.nan
                          for r in rows]  # noqa: E731
    panels = [("loss", list(dict.fromkeys(name for r in rows for name in training_stats(r)[0]))),
              ("statistics", list(dict.fromkeys(name for r in rows for name in training_stats(r)[1])))]
    panels = [(label, names) for label, names in panels if names] or [("loss", [])]
    figure, axes = plt.subplots(len(panels), 1, figsize=(8, 3 * len(panels) + 1), sharex=True, squeeze=False)
    for axis, (label, names) in zip(axes[:, 0], panels):
        for name in names:
            axis.plot(steps, finite(name), label=name)
        axis.set_ylabel(label)
        if names:
            axis.legend()
    axes = axes[:, 0]
    axes[-1].set_xlabel("step")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return write_atomically(path, lambda handle: handle.write(buffer.getvalue()))


TIMELAPSE_FRAMES = 120
"""At most this many frames in ``timelapse.gif`` (a long run's grids are thinned evenly, keeping
the first and the last)."""


def write_timelapse(run: RunDir, final_step: int, milliseconds: int = 200) -> Path | None:
    """``timelapse.gif``: the run's sample grids up to ``final_step``, then the final grid when
    no grid was written at that step (nothing if there is no grid at all)."""
    from ganzoo.images import read_png, save_gif

    paths = [path for _, path in run.sample_grids(final_step)]
    if not any(step == final_step for step, _ in run.sample_grids(final_step)) and run.sample_grid().is_file():
        paths.append(run.sample_grid())
    if not paths:
        return None
    if len(paths) > TIMELAPSE_FRAMES:
        last = len(paths) - 1
        paths = [paths[round(i * last / (TIMELAPSE_FRAMES - 1))] for i in range(TIMELAPSE_FRAMES)]
    frames = []
    for path in paths:
        try:
            frames.append(read_png(path))
        except DataError:
            continue  # a damaged grid costs the timelapse a frame, not the run its ending
    frames = [frame for frame in frames if frame.shape == frames[-1].shape]  # a grid of another size is skipped
    return save_gif(frames, run.timelapse, milliseconds) if frames else None
