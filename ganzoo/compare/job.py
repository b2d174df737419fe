"""One (variant, seed) run of a comparison, as its own process (so ``--jobs`` runs several at
once, each with its share of the CPU threads):

    python -m ganzoo.compare.job '{"run": ..., "config": {...}, "steps": ..., "minutes": ..., ...}'

It trains the run (or resumes it from its last checkpoint, with what is left of the budget),
then scores the final generator and writes ``final.json`` next to it. Exit status: 0 done,
3 diverged, 2 any other user-facing error (one line on stderr), 130 interrupted (Ctrl-C: the
run saved the step it reached), 1 a bug (traceback).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from ganzoo.atomic import write_atomically
from ganzoo.errors import DivergenceError, GanzooError

DIVERGED = 3
INTERRUPTED = 130  # Ctrl-C: the shell's status for SIGINT


def run_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Train (or resume) and score one job; returns what ``final.json`` holds."""
    from ganzoo.evaluation.evaluate import evaluate_gan
    from ganzoo.runs import checkpoint as ckpt
    from ganzoo.runs.rundir import RunDir
    from ganzoo.training.config import TrainConfig
    from ganzoo.training.trainer import Trainer

    run = Path(spec["run"])
    minutes = spec.get("minutes")
    if RunDir.holds_run(run):
        payload = ckpt.load_checkpoint(RunDir(run).checkpoint, resume=True)
        left = None if minutes is None else max(minutes - ckpt.train_seconds(payload, run) / 60, 1e-3)
        trainer = Trainer.resume(run, steps=spec.get("steps"), minutes=left)
    else:
        if run.exists():  # stopped before its first checkpoint: nothing worth keeping
            shutil.rmtree(run)
        settings = {**spec["config"], "seed": spec["seed"], "out": str(run), "steps": spec.get("steps"),
                    "minutes": minutes}
        trainer = Trainer(TrainConfig.from_dict(settings, origin="ganzoo compare"))
    result = trainer.run()
    if result.stopped_because == "interrupted":
        raise KeyboardInterrupt  # its step is saved; no final.json, so the same command continues it
    scored = [r for r in trainer.records if "eval" in r and r["step"] == result.steps]
    if scored:  # the run's own last score is of this generator, with these samples and seed
        evaluation = scored[-1]["eval"]
    else:
        evaluation = evaluate_gan(trainer.gan, samples=spec["eval_samples"], seed=spec["seed"]).to_dict()
    final = {"step": result.steps, "time": round(trainer.train_seconds(), 3), "stopped": result.stopped_because,
             "eval": evaluation}
    text = json.dumps(final, allow_nan=True) + "\n"
    write_atomically(run / "final.json", lambda handle: handle.write(text.encode()))
    return final


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        run_job(json.loads(args[0]))
    except DivergenceError as err:
        print(f"ganzoo compare: {err}", file=sys.stderr)
        return DIVERGED
    except GanzooError as err:
        print(f"ganzoo compare: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
