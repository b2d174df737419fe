"""What a comparison is, and its folder.

::

    OUT/
      compare.json              the plan (variants, seeds, budget, each variant's training
                                config) and every job's state: what makes a re-run resume
      VARIANT/seed-S/           an ordinary run folder per (variant, seed) (ganzoo.runs)
      VARIANT/seed-S/final.json the job's final score (written once its training ended)
      report.json report.md curves.png samples.png report.html
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.atomic import write_atomically
from ganzoo.errors import ConfigError

STATE_FILE = "compare.json"
FINAL_FILE = "final.json"
STATES = ("queued", "running", "done", "diverged", "failed")
"""A job's states; ``done``, ``diverged`` and ``failed`` are final (a re-run retries only
``failed`` and unfinished ones)."""
FINISHED = ("done", "diverged")


@dataclass(frozen=True)
class Job:
    variant: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.variant}/seed-{self.seed}"


@dataclass(frozen=True)
class Plan:
    """Every (variant, seed) trains with its variant's ``configs`` entry (a
    :class:`~ganzoo.training.config.TrainConfig` as a dict, seed and folder left out) for
    ``steps`` steps or ``minutes`` of training, scored every ``eval_every`` steps (at
    ``eval_every`` × 1, 2, 4 … with ``eval_doubling``) and at the end on ``eval_samples`` samples."""

    variants: tuple[str, ...]
    seeds: tuple[int, ...]
    steps: int | None
    minutes: float | None
    eval_every: int
    eval_samples: int
    configs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    eval_doubling: bool = False

    def schedule(self) -> str:
        """When runs are scored, in words."""
        if self.eval_doubling:
            steps = ", ".join(f"{self.eval_every * 2 ** k:,}" for k in range(3))
            return f"scored at {steps} … steps (doubling)"
        return f"scored every {self.eval_every:,} steps"

    def jobs(self) -> list[Job]:
        return [Job(v, s) for v in self.variants for s in self.seeds]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["variants"], data["seeds"] = list(self.variants), list(self.seeds)
        data["configs"] = {name: dict(config) for name, config in self.configs.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        return cls(tuple(data["variants"]), tuple(int(s) for s in data["seeds"]), data["steps"], data["minutes"],
                   int(data["eval_every"]), int(data["eval_samples"]), dict(data["configs"]),
                   bool(data.get("eval_doubling", False)))


def _first_difference(old: Any, new: Any, where: str = "") -> str | None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            found = _first_difference(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))
            if found:
                return found
        return None
    if old == new:
        return None
    shown = [("absent" if value is None else "a table") if isinstance(value, Mapping) or value is None
             else repr(value) for value in (old, new)]
    return f"{where} was {shown[0]}, now {shown[1]}"


class CompareDir:
    """The folder of one comparison: its plan, the jobs' states and their run folders."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.state_file = self.path / STATE_FILE

    def run_dir(self, job: Job) -> Path:
        return self.path / job.variant / f"seed-{job.seed}"

    def final_file(self, job: Job) -> Path:
        return self.run_dir(job) / FINAL_FILE

    def open(self, plan: Plan) -> dict[str, dict[str, Any]]:
        """Start the comparison here, or continue the one already here if it has the same plan
        (a changed plan is refused in one line naming the first difference). Returns the jobs'
        states by key."""
        if self.state_file.is_file():
            try:
                stored = json.loads(self.state_file.read_text())
                old = stored["plan"]
                states = dict(stored["jobs"])
            except (OSError, ValueError, KeyError, TypeError) as err:
                raise ConfigError(f"--out {self.path}: {STATE_FILE} is unreadable ({err}); use another --out") from None
            new = json.loads(json.dumps(plan.to_dict()))
            # What the command line says first (variants, seeds, the budget), then what is
            # derived from it (evaluation points, each variant's settings), which changes with it.
            first = ("variants", "seeds", "steps", "minutes")
            difference = next(filter(None, (_first_difference(old.get(key), new.get(key), key) for key in
                                            (*first, *sorted((set(old) | set(new)) - set(first))))), None)
            if difference:
                raise ConfigError(f"--out {self.path} holds a comparison with other settings ({difference}); "
                                  "re-run it with the same command, or use another --out")
        elif self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise ConfigError(f"--out {self.path}: already exists and holds no comparison; use another --out")
        else:
            states = {}
        for job in plan.jobs():
            states.setdefault(job.key, {"state": "queued"})
        self.save(plan, states)
        return states

    def save(self, plan: Plan, states: Mapping[str, Mapping[str, Any]]) -> None:
        text = json.dumps({"plan": plan.to_dict(), "jobs": dict(states)}, indent=2) + "\n"
        self.path.mkdir(parents=True, exist_ok=True)
        write_atomically(self.state_file, lambda handle: handle.write(text.encode()))

    def load(self) -> tuple[Plan, dict[str, dict[str, Any]]]:
        stored = json.loads(self.state_file.read_text())
        return Plan.from_dict(stored["plan"]), dict(stored["jobs"])
