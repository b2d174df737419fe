"""Loggers that write plain files into the run folder: JSON lines and CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ganzoo import ConfigError, Logger, RunInfo, record_scalars


def name_in_run(logger: str, param: str, name: str, suffix: str = "") -> str:
    """``name`` if it is a plain file or folder name (ending in ``suffix``) for the run folder:
    the parameters come with a resumed run's checkpoint, which may be someone else's, so a path
    elsewhere (``/home/...``, ``../x``) or onto the run's own files is refused."""
    reserved = {"metrics.jsonl", "config.json", "loss.png", "samples.png", "timelapse.gif", "samples", "checkpoints"}
    if (not isinstance(name, str) or Path(name).name != name or name in ("", ".", "..")
            or name in reserved or not name.endswith(suffix)):
        raise ConfigError(f"logger {logger}: {param} must be a plain {suffix or 'folder'} name inside the run "
                          f"folder (not a path, not one of the run's own files), got {name!r}")
    return name


class JsonlLogger(Logger):
    """Appends every record to the run's ``metrics.jsonl``, one JSON object per line (NaN and
    infinities as JSON's non-standard tokens, which Python's json reads back)."""

    name = "jsonl"

    def __init__(self) -> None:
        self.path: Path | None = None

    def open(self, run: RunInfo) -> None:
        # The trainer has already cut the records a resumed run voids: this file is the one
        # everything reads back, so it is written by the core's rules.
        self.path = run.metrics_file

    def log(self, record: Mapping[str, Any]) -> None:
        assert self.path is not None, "open() was not called"
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, allow_nan=True) + "\n")


class _Table:
    """One CSV file whose columns grow as new names appear (the file is then rewritten)."""

    def __init__(self, path: Path, first: tuple[str, ...]) -> None:
        self.path, self.first = path, first
        self.columns: list[str] = list(first)
        self.rows: list[dict[str, Any]] = []

    def load(self, keep_up_to: int | None) -> None:
        """Read the rows an earlier part of the run wrote, dropping those after ``keep_up_to``."""
        if not self.path.is_file():
            return
        with self.path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            self.columns = list(reader.fieldnames or self.first)
            self.rows = [row for row in reader if keep_up_to is None or _step(row) <= keep_up_to]
        self._rewrite()

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        new = [name for name in row if name not in self.columns]
        if new:
            self.columns += new
            self._rewrite()
            return
        with self.path.open("a", newline="", encoding="utf-8") as handle:
            csv.DictWriter(handle, self.columns).writerow(row)

    def _rewrite(self) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, self.columns)
        writer.writeheader()
        writer.writerows(self.rows)
        self.path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def _step(row: Mapping[str, Any]) -> int:
    try:
        return int(row.get("step") or 0)
    except ValueError:
        return 0


class CsvLogger(Logger):
    """``metrics.csv``: one row per training record (step, time, every statistic, speed);
    ``eval.csv``: one row per evaluation (step, time, each numeric metric). A resumed run keeps
    the rows up to its checkpoint's step."""

    name = "csv"

    def __init__(self, training_file: str = "metrics.csv", eval_file: str = "eval.csv") -> None:
        self.names = (name_in_run("csv", "training_file", training_file, ".csv"),
                      name_in_run("csv", "eval_file", eval_file, ".csv"))
        self.tables: dict[str, _Table] = {}

    def open(self, run: RunInfo) -> None:
        training, evaluation = (run.folder / name for name in self.names)
        self.tables = {"train": _Table(training, ("step", "time")), "eval": _Table(evaluation, ("step", "time"))}
        for table in self.tables.values():
            table.load(run.resumed_from)

    def log(self, record: Mapping[str, Any]) -> None:
        scalars = record_scalars(record)
        if "eval" in record:
            row = {"step": record["step"], "time": record.get("time"),
                   **{name.removeprefix("eval/"): value for name, value in scalars.items()}}
            self.tables["eval"].add(row)
        else:
            self.tables["train"].add({"step": record["step"], **scalars})
