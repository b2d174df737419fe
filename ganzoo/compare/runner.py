"""Running a comparison's jobs, ``jobs`` at a time, each as its own process
(:mod:`ganzoo.compare.job`) with its share of the CPU threads, and a live table of every run's
state. Finished jobs are skipped; unfinished ones resume from their checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ganzoo.compare.job import DIVERGED
from ganzoo.compare.plan import DAMAGED, FINISHED, CompareDir, Job, Plan

INTERRUPT_GRACE_SECONDS = 60.0  # a job finishes its step (or an evaluation) and saves well within it


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """CPU threads each of ``jobs`` concurrent trainings gets: the cores split evenly."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, jobs))


def cuda_devices(device: str) -> tuple[str, ...]:
    """The CUDA devices a comparison's jobs are spread over (``CUDA_VISIBLE_DEVICES`` ids, the
    ones already set when set): every visible one for ``cuda`` or ``auto`` on a machine with
    CUDA, none for the CPU or a device named by index (``cuda:1``: every job uses that one)."""
    if device not in ("auto", "cuda"):
        return ()
    import torch

    if not torch.cuda.is_available():
        return ()
    count = torch.cuda.device_count()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [i.strip() for i in visible.split(",") if i.strip()] if visible is not None else []
    return tuple(ids[:count] if ids else (str(i) for i in range(count)))


def _last_record(run: Path) -> dict[str, Any] | None:
    """The last complete line of a run's ``metrics.jsonl`` (read from its end)."""
    path = run / "metrics.jsonl"
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 65536))
            lines = handle.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


class Runner:
    """Runs the unfinished jobs of ``plan`` in ``folder`` (``jobs`` processes at a time, each
    with its share of the CPU cores and, when ``gpus`` names CUDA devices (:func:`cuda_devices`),
    one of them: the jobs take them in turn, so several jobs share a device when there are
    more jobs than devices)."""

    def __init__(self, folder: CompareDir, plan: Plan, states: dict[str, dict[str, Any]], jobs: int,
                 gpus: Sequence[str] = (), on_change: Callable[[], None] | None = None) -> None:
        self.folder, self.plan, self.states, self.jobs = folder, plan, states, jobs
        self.gpus = tuple(gpus)
        self.on_change = on_change or (lambda: None)
        self.running: dict[str, tuple[Job, subprocess.Popen[bytes], Any, int]] = {}  # key → (job, process, log, slot)

    def pending(self) -> list[Job]:
        """The jobs to run: neither finished nor damaged (a job whose state in compare.json is
        unreadable may have finished; training it again could overwrite its results)."""
        return [job for job in self.plan.jobs() if self.states[job.key]["state"] not in (*FINISHED, DAMAGED)]

    def _environment(self, slot: int) -> dict[str, str]:
        env = dict(os.environ)
        env["OMP_NUM_THREADS"] = str(threads_per_job(self.jobs))
        if self.gpus and self.jobs > 1:
            env["CUDA_VISIBLE_DEVICES"] = self.gpus[slot % len(self.gpus)]
        return env

    def _start(self, job: Job, slot: int) -> None:
        run = self.folder.run_dir(job)
        run.parent.mkdir(parents=True, exist_ok=True)
        spec = {"run": str(run), "seed": job.seed, "config": dict(self.plan.configs[job.variant]),
                "steps": self.plan.steps, "minutes": self.plan.minutes, "eval_samples": self.plan.eval_samples}
        log = open(run.parent / f"seed-{job.seed}.log", "ab")  # noqa: SIM115 - closed when the job ends
        process = subprocess.Popen([sys.executable, "-m", "ganzoo.compare.job", json.dumps(spec)],
                                   stdout=log, stderr=subprocess.STDOUT, env=self._environment(slot))
        self.running[job.key] = (job, process, log, slot)
        self.states[job.key] = {"state": "running"}
        self._save()

    def _finish(self, key: str, code: int) -> None:
        job, _, log, _ = self.running.pop(key)
        log.close()
        message = _last_line(self.folder.run_dir(job).parent / f"seed-{job.seed}.log")
        if code == 0 and self.folder.final_file(job).is_file():
            self.states[key] = {"state": "done"}
        elif code == DIVERGED:
            self.states[key] = {"state": "diverged", "message": message}
        else:
            self.states[key] = {"state": "failed", "message": message or f"exit status {code}"}
        self._save()

    def _save(self) -> None:
        self.folder.save(self.plan, self.states)
        self.on_change()

    def progress(self, job: Job) -> dict[str, Any]:
        """A job's state with its run's latest step and training time."""
        row = dict(self.states[job.key])
        record = _last_record(self.folder.run_dir(job))
        if record is not None:
            row.update(step=record.get("step"), time=record.get("time"))
        return row

    def run(self, poll: float = 0.5) -> None:
        """Run every unfinished job; on an interrupt, stop the running ones (their checkpoints
        stay: the same command continues them)."""
        queue = self.pending()
        try:
            while queue or self.running:
                busy = {slot for *_, slot in self.running.values()}
                while queue and len(self.running) < self.jobs:
                    slot = min(set(range(self.jobs)) - busy)
                    busy.add(slot)
                    self._start(queue.pop(0), slot)
                for key, (_, process, _, _) in list(self.running.items()):
                    code = process.poll()
                    if code is not None:
                        self._finish(key, code)
                self.on_change()
                time.sleep(poll)
        finally:
            # A Ctrl-C in the terminal reached the jobs too (one process group): give them time
            # to save the step they reached. Anything else stops them at once.
            if isinstance(sys.exc_info()[1], KeyboardInterrupt):
                grace = time.monotonic() + INTERRUPT_GRACE_SECONDS
                try:
                    for _, process, _, _ in self.running.values():
                        process.wait(timeout=max(grace - time.monotonic(), 0))
                except (subprocess.TimeoutExpired, KeyboardInterrupt):  # or a second Ctrl-C
                    pass
            for key, (_, process, log, _) in list(self.running.items()):
                if process.poll() is None:
                    process.terminate()
                    process.wait()
                log.close()
                self.states[key] = {"state": "queued"}
            if self.running:
                self.running.clear()
                self.folder.save(self.plan, self.states)
