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
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.atomic import write_atomically
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.factories import describe_value

STATE_FILE = "compare.json"
FINAL_FILE = "final.json"
STATES = ("queued", "running", "done", "diverged", "failed")
"""A job's states; ``done``, ``diverged`` and ``failed`` are final (a re-run retries only
``failed`` and unfinished ones)."""
FINISHED = ("done", "diverged")
DAMAGED = "damaged"
"""Not a stored state: what a job is while its record in ``compare.json`` (or its
``final.json``) cannot be read. It is neither run nor scored, and its record is written back
as it was, for the user to fix."""


class DamagedFileError(GanzooError):
    """A file of a comparison's job that cannot be read; the message names the file and the
    problem. The job is reported as damaged, the others as usual."""

    exit_status = 1


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def plan_problem(data: Any) -> str | None:
    """What is wrong with a stored plan (``compare.json``'s ``plan``), or None: a hand-edited
    or damaged file would otherwise fail far from here, or silently (``tuple("x")``)."""
    if not isinstance(data, Mapping):
        return f"plan is {describe_value(data)}, not a record"
    checks = (("variants", "a list of names", lambda v: isinstance(v, list) and v
               and all(isinstance(x, str) and x for x in v)),
              ("seeds", "a list of whole numbers", lambda v: isinstance(v, list) and v and all(map(is_int, v))),
              ("steps", "a whole number or null", lambda v: v is None or is_int(v)),
              ("minutes", "a number or null", lambda v: v is None or is_number(v)),
              ("eval_every", "a whole number", is_int),
              ("eval_samples", "a whole number", is_int),
              ("configs", "a record", lambda v: isinstance(v, Mapping)),
              ("eval_doubling", "true or false", lambda v: isinstance(v, bool)))
    for key, wanted, ok in checks:
        if key not in data:
            if key == "eval_doubling":  # written only by newer versions
                continue
            return f"plan has no {key}"
        if not ok(data[key]):
            return f"plan.{key} is {describe_value(data[key])}, not {wanted}"
    for name in data["variants"]:
        if not isinstance(data["configs"].get(name), Mapping):
            return f"plan.configs.{name} is {describe_value(data['configs'].get(name))}, not a record"
    return None


def state_problem(record: Any) -> str | None:
    """What is wrong with a job's stored state record, or None."""
    if not isinstance(record, Mapping):
        return f"the job's state is {describe_value(record)}, not a record such as {{\"state\": \"done\"}}"
    if record.get("state") not in STATES:
        return f"the job's state is {describe_value(record.get('state'))}, not one of {', '.join(STATES)}"
    if not isinstance(record.get("message"), (str, type(None))):
        return f"the job's message is {describe_value(record['message'])}, not text"
    return None


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
        """The plan ``to_dict`` gave; a malformed one is a ValueError saying what is wrong."""
        problem = plan_problem(data)
        if problem:
            raise ValueError(problem)
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
            old, states = self._read()
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
        states = self._checked(plan, states)
        self.save(plan, states)
        return states

    def save(self, plan: Plan, states: Mapping[str, Mapping[str, Any]]) -> None:
        # A damaged job's record goes back as it was found: the user's to fix, not ours to guess.
        jobs = {key: state["stored"] if isinstance(state, Mapping) and state.get("state") == DAMAGED else state
                for key, state in states.items()}
        text = json.dumps({"plan": plan.to_dict(), "jobs": jobs}, indent=2) + "\n"
        self.path.mkdir(parents=True, exist_ok=True)
        write_atomically(self.state_file, lambda handle: handle.write(text.encode()))

    def load(self) -> tuple[Plan, dict[str, dict[str, Any]]]:
        """The plan and the jobs' states (a job whose record is malformed as :data:`DAMAGED`);
        a ``compare.json`` of the wrong shape is a one-line :class:`ConfigError` naming it."""
        stored, states = self._read()
        plan = Plan.from_dict(stored)  # checked by _read
        return plan, self._checked(plan, states)

    def _read(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """``compare.json``'s plan (checked) and its raw job records."""
        def refuse(problem: str) -> ConfigError:
            return ConfigError(f"{self.state_file}: {problem}; fix it or use another --out")

        try:
            stored = json.loads(self.state_file.read_text())
        except (OSError, UnicodeDecodeError) as err:
            raise refuse(f"unreadable ({err})") from None
        except ValueError as err:
            raise refuse(f"not JSON ({err})") from None
        if not isinstance(stored, dict):
            raise refuse(f"holds {describe_value(stored)}, not a record")
        for key in ("plan", "jobs"):
            if key not in stored:
                raise refuse(f"has no {key}")
        problem = plan_problem(stored["plan"])
        if problem:
            raise refuse(problem)
        if not isinstance(stored["jobs"], dict):
            raise refuse(f"jobs is {describe_value(stored['jobs'])}, not a record")
        return stored["plan"], dict(stored["jobs"])

    def _checked(self, plan: Plan, states: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """``states`` with every job of ``plan`` (queued when absent) and each malformed record
        replaced by a :data:`DAMAGED` one that keeps it (``stored``) and says what is wrong."""
        for job in plan.jobs():
            record = states.setdefault(job.key, {"state": "queued"})
            problem = state_problem(record)
            if problem:
                states[job.key] = {"state": DAMAGED, "stored": record, "message": (
                    f"{self.state_file}: {problem}; it is left out of the report (fix it, or write "
                    '{"state": "queued"} to run the job again)')}
        return states
