"""Progress display: a rich progress bar on a terminal, plain log lines otherwise (CI, files)."""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol, TextIO

from ganzoo.runs.rundir import training_stats


def _fmt_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress(Protocol):
    """What a run's display does: a line per record, one-line messages."""

    def update(self, step: int, record: dict[str, Any]) -> None: ...

    def message(self, text: str) -> None: ...

    def close(self) -> None: ...


class PlainProgress:
    """One line per logged step: step, speed, losses, ETA."""

    def __init__(self, total: int | None, stream: TextIO | None = None) -> None:
        self.total, self.stream = total, stream or sys.stderr
        self.start = time.monotonic()

    def update(self, step: int, record: dict[str, Any]) -> None:
        total = f"/{self.total}" if self.total else ""
        speed = record.get("steps_per_sec", 0.0)
        eta = ""
        if self.total and speed > 0:
            eta = f" | eta {_fmt_duration((self.total - step) / speed)}"
        losses, others = training_stats(record)
        stats = _shown(losses, ".4f") + "".join(_shown({name: value}, ".4g") for name, value in others.items())
        print(f"step {step}{total} | {speed:.1f} steps/s{stats}{eta}", file=self.stream, flush=True)

    def message(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        pass


class RichProgress:
    """A live bar with step, steps/s, losses and ETA."""

    def __init__(self, total: int | None) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[speed]} steps/s"), TextColumn("{task.fields[losses]}"),
            TimeElapsedColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=False)
        self.task = self.progress.add_task("train", total=total, speed="-", losses="")
        self.progress.start()

    def update(self, step: int, record: dict[str, Any]) -> None:
        self.progress.update(self.task, completed=step, speed=f"{record.get('steps_per_sec', 0):.1f}",
                             losses=_shown(training_stats(record)[0], ".3f", separator="").strip())

    def message(self, text: str) -> None:
        self.progress.console.print(text, highlight=False, markup=False)

    def close(self) -> None:
        self.progress.stop()


class QuietProgress:
    """For the non-main ranks of a distributed run: rank 0 reports for everyone."""

    def update(self, step: int, record: dict[str, Any]) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def make_progress(total: int | None, start: int = 0,
                  quiet: bool = False) -> PlainProgress | RichProgress | QuietProgress:
    """A rich bar when stderr is a terminal, plain lines otherwise."""
    if quiet:
        return QuietProgress()
    if sys.stderr.isatty():
        progress = RichProgress(total)
        progress.progress.update(progress.task, completed=start)
        return progress
    return PlainProgress(total)


def _shown(stats: dict[str, float], spec: str, separator: str = " |") -> str:
    """``separator`` and ``name value`` for each statistic (``spec`` its format), or "": a step
    whose phases ran no update reports nothing."""
    shown = [f"{name} {value:{spec}}" for name, value in stats.items()]
    return f"{separator} {' '.join(shown)}" if shown else ""
