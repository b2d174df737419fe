"""The loggers of one run: the always-on ``jsonl`` run log plus those the run chose
(``--logger``), each isolated from the others.

The run log is the record resume, plots and ``ganzoo compare`` read: if it cannot be written the
run stops (a :class:`~ganzoo.errors.StorageError`, its last checkpoint intact). Any other
logger that raises, when built or at any call, is turned off with one line and the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ganzoo.atomic import storage_error
from ganzoo.checks import call_factory
from ganzoo.components import Logger, RunInfo
from ganzoo.errors import ComponentBuildError
from ganzoo.registry import Registry

RUN_LOG = "jsonl"
"""The logger every run has: it writes ``metrics.jsonl``."""


def check_logger_names(loggers: Mapping[str, Mapping[str, Any]], registry: Registry) -> None:
    """Unknown logger names are a one-line error before training starts."""
    for name in loggers:
        registry.component("logger", name)


class RunLoggers:
    """Fans a run's records and grids out to its loggers."""

    def __init__(self, chosen: Mapping[str, Mapping[str, Any]], registry: Registry,
                 notify: Callable[[str], None]) -> None:
        self.notify = notify
        self.loggers: dict[str, Logger] = {}
        self.metrics_file: Path | None = None
        for name, params in {RUN_LOG: {}, **chosen}.items():
            spec = registry.component("logger", name)
            if name == RUN_LOG:
                self.loggers[name] = call_factory(spec, **dict(params))
                continue
            try:
                self.loggers[name] = call_factory(spec, **dict(params))
            except ComponentBuildError as err:
                if err.__cause__ is None:
                    raise  # a bad parameter: the user's to fix, before training starts
                self._drop(name, "could not be built", err.__cause__)

    def _drop(self, name: str, when: str, err: BaseException) -> None:
        self.loggers.pop(name, None)
        text = str(err)
        if isinstance(err, OSError) and err.strerror:  # without errno, with the file when known
            text = f"{err.filename}: {err.strerror}" if err.filename else err.strerror
        message = " ".join(text.split()) or type(err).__name__
        self.notify(f"ganzoo: logger {name!r} {when} ({message}); it is off for the rest of the run, "
                    f"training goes on and metrics.jsonl keeps every record")

    def _call(self, what: str, method: str, *args: Any) -> None:
        for name, logger in list(self.loggers.items()):
            try:
                getattr(logger, method)(*args)
            except OSError as err:
                if name == RUN_LOG:
                    raise storage_error(self.metrics_file or Path("metrics.jsonl"), err) from None
                self._drop(name, f"failed {what}", err)
            except Exception as err:  # noqa: BLE001 - one logger's failure is its own
                if name == RUN_LOG:
                    raise
                self._drop(name, f"failed {what}", err)

    @property
    def names(self) -> list[str]:
        """The loggers still on."""
        return list(self.loggers)

    def open(self, run: RunInfo) -> None:
        self.metrics_file = run.metrics_file
        self._call("to start", "open", run)

    def log(self, record: Mapping[str, Any]) -> None:
        self._call(f"at step {record.get('step')}", "log", record)

    def log_image(self, name: str, path: Path, step: int) -> None:
        self._call(f"at step {step}", "log_image", name, path, step)

    def close(self) -> None:
        self._call("to finish", "close")
