"""The training loop: step until the clock says stop, and after every step let each periodic
task (:mod:`ganzoo.training.tasks`) that is due do its work. The loop owns only the clock (the
step limit, the time budget, Ctrl-C) and the step; everything else is a task."""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ganzoo.training.distributed import Comm

if TYPE_CHECKING:
    from ganzoo.training.step import StepStats, TrainingStep
    from ganzoo.training.tasks import Task


class Clock:
    """When a run stops: at ``steps_total``, past ``minutes`` of training (evaluations do not
    count: :meth:`paused`), or after a Ctrl-C. Also the run's training time across resumes
    (``trained_seconds`` before this process), the ``time`` of every record."""

    def __init__(self, comm: Comm, steps_total: float, minutes: float | None, trained_seconds: float) -> None:
        self.comm, self.steps_total = comm, steps_total
        self.budget = minutes * 60 if minutes else math.inf
        self.trained_seconds = trained_seconds
        self.started: float | None = None
        self.excluded = 0.0  # seconds spent paused since started
        self.interrupted = False

    def start(self) -> None:
        self.started, self.excluded = time.monotonic(), 0.0

    def _running(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started - self.excluded

    def train_seconds(self) -> float:
        """Seconds spent training this run, across resumes, evaluations not counted."""
        return self.trained_seconds + self._running()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Time within is not training: neither the budget nor the records' clock counts it."""
        began = time.monotonic()
        try:
            yield
        finally:
            self.excluded += time.monotonic() - began

    def out_of_time(self) -> bool:
        """Past the --minutes budget; in a distributed run any rank's clock stops them all."""
        if math.isinf(self.budget):
            return False
        return bool(self.comm.any(self._running() >= self.budget))

    def stop_reason(self, step: int) -> str | None:
        """Why the run stops before running the step after ``step`` (None: it goes on)."""
        if step >= self.steps_total:
            return "step limit"
        if self.out_of_time():
            return "time limit"
        if self.interrupted:
            return "interrupted"
        return None

    @contextlib.contextmanager
    def catching_interrupts(self) -> Iterator[None]:
        """While the loop runs, a first Ctrl-C (SIGINT) ends it after the running step, so the run
        ends as at any limit: a checkpoint of exactly that step, its grid, its timelapse. A second
        one interrupts at once. Only where the comm takes interrupts (a single process: distributed
        ranks would see the signal at different steps), in the main thread (only it may set a
        handler), and not where SIGINT is ignored."""
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.getsignal(signal.SIGINT) if main_thread else None
        if not self.comm.catches_interrupts or previous in (None, signal.SIG_IGN):  # SIG_IGN: a `cmd &` job
            yield
            return

        def on_interrupt(signum: int, frame: Any) -> None:
            self.interrupted = True
            signal.signal(signal.SIGINT, previous)  # the next Ctrl-C interrupts at once

        signal.signal(signal.SIGINT, on_interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def train_loop(step: TrainingStep, run_step: Callable[[], StepStats], clock: Clock,
               tasks: Sequence[Task]) -> str:
    """Run ``run_step`` (one training step of ``step``) until ``clock`` says stop; after each,
    every task sees its statistics and the due ones do their work. Returns why it stopped."""
    clock.start()
    while (stopped := clock.stop_reason(step.step)) is None:
        # No host sync here: a task that needs one (a record, a checkpoint) makes it.
        stats = run_step()
        done = step.step
        for task in tasks:
            task.observe(stats)
            if task.due(done):
                task.do(done)
    return stopped
