"""Sample-quality benchmark: train a variant with its defaults for a time budget, then score
1,000 samples against held-out real digits (coverage, two-sample accuracy, Fréchet distance
relative to real-vs-real) and check the quality bar of the trainer issue.

    python benchmarks/quality.py vanilla --minutes 10               # the CPU bar
    python benchmarks/quality.py dcgan wgan-clip wgan-gp vanilla --minutes 3 --device cuda
    python benchmarks/quality.py acgan --minutes 10,30   # scored at 10 and at 30 minutes

With several budgets (cumulative minutes) one run is scored after each: it trains to the first,
is scored, resumes from its checkpoint (bit-exact) for the difference, and so on. Scoring time
is not training time.

The trained generator is scored on --score-seeds independent draws (samples and the metrics'
own randomness, seeds S, S+1, …): for one generator the two-sample accuracy moves by up to
±0.04 and the FD ratio by up to ±0.5 between draws, so one draw can pass or miss the bar by
luck. The bar is judged on the mean of the draws; each draw is in the JSON too.

Prints one JSON line per variant, then a markdown table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BARS = {  # (max two-sample accuracy, max FD ratio to real-vs-real); coverage must be 10/10
    "cpu": (0.70, 4.0),
    "cuda": (0.60, 2.0),
}


def _scores(metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """The bar's scores (and the rest worth recording) from an evaluation's metric rows, as in
    ``EvalReport.to_dict()["metrics"]`` and the ``eval`` records of metrics.jsonl."""
    values = {row["metric"]: row for row in metrics}
    fd = values["frechet-distance"]
    return {"coverage": values["coverage.classes"]["value"], "histogram": values["coverage.histogram"]["value"],
            "two_sample": round(values["two-sample"]["value"], 3), "fd": round(fd["value"], 3),
            "fd_real_vs_real": round(fd["real_vs_real"], 3), "fd_ratio": round(fd["value"] / fd["real_vs_real"], 3),
            "precision": round(values["precision-recall.precision"]["value"], 3),
            "recall": round(values["precision-recall.recall"]["value"], 3),
            "classifier_score": round(values["classifier-score"]["value"], 3),
            **_conditional_scores(values)}


def _conditional_scores(values: dict[str, Any]) -> dict[str, Any]:
    """Class accuracy (overall, worst class, per class) and the intra-class FD of a conditional run."""
    if "class-accuracy.overall" not in values:
        return {}
    per_class = values["class-accuracy.per_class"]["value"]
    intra = values["intra-class-fd.mean"]
    return {"class_accuracy": round(values["class-accuracy.overall"]["value"], 3),
            "class_accuracy_min": round(min(per_class), 3), "class_accuracy_per_class": [round(a, 3) for a in per_class],
            "intra_fd": round(intra["value"], 3), "intra_fd_real_vs_real": round(intra["real_vs_real"], 3)}


def _curve_point(record: dict[str, Any]) -> dict[str, Any]:
    scores = _scores(record["eval"]["metrics"])
    return {"step": record["step"], "coverage": scores["coverage"], "two_sample": scores["two_sample"],
            "fd_ratio": round(scores["fd_ratio"], 2)}


def run_one(variant: str, minutes: float | None, steps: int | None, device: str, seed: int,
            recipe: dict[str, Any], out: Path, samples: int, eval_every: int | None = None,
            precision: str = "auto", score_seeds: int = 3, trainer: Any = None,
            trained_seconds: float = 0.0) -> dict[str, Any]:
    """Train ``variant`` (or, given the ``trainer`` of an earlier budget, resume its run for
    ``minutes`` more) and score it."""
    from ganzoo.training.config import TrainConfig
    from ganzoo.training.trainer import Trainer

    start = time.monotonic()
    if trainer is None:
        config = TrainConfig(variant=variant, minutes=minutes, steps=steps, device=device, seed=seed,
                             recipe=recipe, out=str(out), log_every=500, sample_every=10**9,
                             checkpoint_every=10**9, eval_every=eval_every or 0, precision=precision)
        trainer = Trainer(config)
    else:
        trainer = Trainer.resume(trainer.run_dir.path, minutes=minutes)
    result = trainer.run()
    train_seconds = trained_seconds + time.monotonic() - start
    return score(trainer, result, variant, train_seconds, seed, samples, score_seeds, recipe)


def score(trainer: Any, result: Any, variant: str, train_seconds: float, seed: int, samples: int,
          score_seeds: int, recipe: dict[str, Any]) -> dict[str, Any]:
    import torch

    from ganzoo.evaluation.evaluate import evaluate_gan

    draws = [_scores(evaluate_gan(trainer.gan, samples=samples, seed=seed + k).to_dict()["metrics"])
             | {"seed": seed + k} for k in range(score_seeds)]
    means = ("two_sample", "fd", "fd_real_vs_real", "fd_ratio", "precision", "recall", "classifier_score",
             "class_accuracy", "class_accuracy_min", "intra_fd", "intra_fd_real_vs_real")
    mean = {key: round(statistics.fmean(d[key] for d in draws), 3) for key in means if key in draws[0]}
    coverage = min(d["coverage"] for d in draws)  # every draw must find every class
    kind = "cuda" if trainer.device.type == "cuda" else "cpu"
    max_two_sample, max_fd_ratio = BARS[kind]
    return {
        "variant": variant, "device": str(trainer.device), "steps": result.steps,
        "train_seconds": round(train_seconds, 1), "batch_size": trainer.variant.batch_size,
        "coverage": coverage, "histogram": draws[0]["histogram"], **mean,
        "passes_bar": coverage == 10 and mean["two_sample"] <= max_two_sample and mean["fd_ratio"] <= max_fd_ratio,
        "bar": {"coverage": 10, "two_sample": max_two_sample, "fd_ratio": max_fd_ratio},
        "draws": [{key: d[key] for key in ("seed", "coverage", "two_sample", "fd_ratio", "class_accuracy",
                                           "class_accuracy_per_class") if key in d} for d in draws],
        "run_dir": str(result.run_dir), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "recipe_overrides": recipe, "autocast": trainer.runner.precision,
        "curve": [_curve_point(r) for r in trainer.records if "eval" in r], "trainer": trainer,
    }


def _class_cell(row: dict[str, Any]) -> str:
    if "class_accuracy" not in row:
        return "-"
    return f"{row['class_accuracy']:.3f} ({row['class_accuracy_min']:.2f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--minutes", help="training budget in minutes; several, comma-separated and "
                        "cumulative (10,30), score one run at each")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--score-seeds", type=int, default=3,
                        help="independent scoring draws of the trained generator; the bar uses their mean (default 3)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--eval-every", type=int, help="also score every N steps (a learning curve)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    parser.add_argument("--recipe", default="{}", help="JSON recipe overrides (tuning experiments)")
    parser.add_argument("--out", default="runs/quality", help="parent folder of the run folders")
    args = parser.parse_args(argv)
    if args.score_seeds < 1:
        parser.error(f"--score-seeds must be >= 1 (got {args.score_seeds})")
    import torch

    from ganzoo.benchmarking import machine_name

    if args.threads:
        torch.set_num_threads(args.threads)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    budgets = [float(m) for m in args.minutes.split(",")] if args.minutes else [None]
    if any(b is not None and b <= 0 for b in budgets) or budgets != sorted(budgets, key=lambda b: b or 0):
        parser.error(f"--minutes {args.minutes}: give positive, increasing minutes")
    rows = []
    for variant in args.variants:
        trainer, done, seconds = None, 0.0, 0.0
        for budget in budgets:
            row = run_one(variant, None if budget is None else budget - done, args.steps, args.device, args.seed,
                          json.loads(args.recipe), Path(args.out) / f"{variant}-{stamp}", args.samples,
                          args.eval_every, args.precision, args.score_seeds, trainer, seconds)
            trainer, done, seconds = row.pop("trainer"), budget or 0.0, row["train_seconds"]
            row.update(machine=machine_name(torch.device(row["device"])), date=stamp[:8])
            print(json.dumps(row), flush=True)
            rows.append(row)
    print("\n| variant | device | minutes | steps | coverage | two-sample (each draw) | FD × real-vs-real (each draw) "
          "| class accuracy (worst class) | bar met |")
    print("|---|---|---|---|---|---|---|---|---|")
    def each(row: dict[str, Any], key: str) -> str:
        return ", ".join(f"{d[key]:.3g}" for d in row["draws"])

    for r in rows:
        print(f"| {r['variant']} | {r['device']} | {r['train_seconds'] / 60:.1f} | {r['steps']:,} | {r['coverage']}/10 | "
              f"{r['two_sample']:.3f} ({each(r, 'two_sample')}) | {r['fd_ratio']:.2f}× ({each(r, 'fd_ratio')}) | "
              f"{_class_cell(r)} | {'yes' if r['passes_bar'] else 'no'} |")
    return 0 if all(r["passes_bar"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
