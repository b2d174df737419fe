"""Sample-quality benchmark: train a variant with its defaults for a time budget, then score
1,000 samples against held-out real digits (coverage, two-sample accuracy, Fréchet distance
relative to real-vs-real) and check the quality bar of the trainer issue.

    python benchmarks/quality.py vanilla --minutes 10               # the CPU bar
    python benchmarks/quality.py dcgan wgan-clip wgan-gp vanilla --minutes 3 --device cuda

Prints one JSON line per variant (and a table at the end); --record appends a row to
benchmarks/RESULTS.md-ready markdown on stdout.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

BARS = {  # (max two-sample accuracy, max FD ratio to real-vs-real); coverage must be 10/10
    "cpu": (0.70, 4.0),
    "cuda": (0.60, 2.0),
}


def _curve_point(record: dict[str, Any]) -> dict[str, Any]:
    values = {row["metric"]: row for row in record["eval"]["metrics"]}
    fd = values["frechet-distance"]
    return {"step": record["step"], "coverage": values["coverage.classes"]["value"],
            "two_sample": round(values["two-sample"]["value"], 3),
            "fd_ratio": round(fd["value"] / fd["real_vs_real"], 2)}


def run_one(variant: str, minutes: float | None, steps: int | None, device: str, seed: int,
            recipe: dict[str, Any], out: Path, samples: int, eval_every: int | None = None,
            precision: str = "auto") -> dict[str, Any]:
    import torch

    from ganzoo.evaluation.evaluate import evaluate_gan
    from ganzoo.training.config import TrainConfig
    from ganzoo.training.trainer import Trainer

    config = TrainConfig(variant=variant, minutes=minutes, steps=steps, device=device, seed=seed,
                         recipe=recipe, out=str(out), log_every=500, sample_every=10**9,
                         checkpoint_every=10**9, eval_every=eval_every or 0, precision=precision)
    start = time.monotonic()
    trainer = Trainer(config)
    result = trainer.run()
    train_seconds = time.monotonic() - start
    report = evaluate_gan(trainer.gan, samples=samples, seed=seed)
    fd, fd_real = report.value("frechet-distance"), None
    for row in report.rows:
        if row["metric"] == "frechet-distance":
            fd_real = row["real_vs_real"]
    two_sample = report.value("two-sample")
    coverage = report.value("coverage.classes")
    kind = "cuda" if trainer.device.type == "cuda" else "cpu"
    max_two_sample, max_fd_ratio = BARS[kind]
    return {
        "variant": variant, "device": str(trainer.device), "steps": result.steps,
        "train_seconds": round(train_seconds, 1), "batch_size": trainer.variant.batch_size,
        "coverage": coverage, "histogram": report.value("coverage.histogram"),
        "two_sample": round(two_sample, 3), "fd": round(fd, 2), "fd_real_vs_real": round(fd_real, 2),
        "fd_ratio": round(fd / fd_real, 2),
        "precision": round(report.value("precision-recall.precision"), 3),
        "recall": round(report.value("precision-recall.recall"), 3),
        "classifier_score": round(report.value("classifier-score"), 2),
        "passes_bar": coverage == 10 and two_sample <= max_two_sample and fd / fd_real <= max_fd_ratio,
        "bar": {"coverage": 10, "two_sample": max_two_sample, "fd_ratio": max_fd_ratio},
        "run_dir": str(result.run_dir), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "recipe_overrides": recipe, "autocast": trainer.runner.precision,
        "curve": [_curve_point(r) for r in trainer.records if "eval" in r],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--minutes", type=float)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--eval-every", type=int, help="also score every N steps (a learning curve)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    parser.add_argument("--recipe", default="{}", help="JSON recipe overrides (tuning experiments)")
    parser.add_argument("--out", default="runs/quality", help="parent folder of the run folders")
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    rows = []
    for variant in args.variants:
        row = run_one(variant, args.minutes, args.steps, args.device, args.seed, json.loads(args.recipe),
                      Path(args.out) / f"{variant}-{stamp}", args.samples, args.eval_every, args.precision)
        row.update(machine=platform.processor() or platform.machine(), date=stamp[:8])
        print(json.dumps(row), flush=True)
        rows.append(row)
    print("\n| variant | device | minutes | steps | coverage | two-sample | FD / real-vs-real | passes |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['device']} | {r['train_seconds'] / 60:.1f} | {r['steps']} | {r['coverage']}/10 | "
              f"{r['two_sample']} | {r['fd']} / {r['fd_real_vs_real']} = {r['fd_ratio']}× | {r['passes_bar']} |")
    return 0 if all(r["passes_bar"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
