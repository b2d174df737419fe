"""Step throughput of two ganzoo builds, side by side, in alternating rounds.

    python benchmarks/step_ab.py --before /work/base/.venv/bin/ganzoo --after .venv/bin/ganzoo \\
        --rounds 8 --out benchmarks/results/NAME/bench-ab.json -- vanilla dcgan --steps 40

Each round runs ``ganzoo bench ARGS --json --device cpu --no-plain`` once with each build
(the order alternates between rounds, so drift on a shared machine hits both alike) under
``OMP_NUM_THREADS`` (default 1: two threads on a shared 2-core box spread ±25% between identical
runs). Writes every run and prints, per variant, the median steps/s of each build and the median
of the per-round ratios after/before.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path


def bench(ganzoo: str, args: list[str], threads: str) -> list[dict]:
    command = [ganzoo, "bench", *args, "--json", "--device", "cpu", "--no-plain"]
    result = subprocess.run(command, capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": threads}, check=False)
    if result.returncode != 0:
        sys.exit(f"step_ab: {' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the ganzoo executable of the old build")
    parser.add_argument("--after", required=True, help="the ganzoo executable of the new build")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", default="1")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("bench_args", nargs=argparse.REMAINDER, help="-- then ganzoo bench arguments")
    args = parser.parse_args()
    bench_args = [a for a in args.bench_args if a != "--"]
    runs: dict[str, list[dict]] = {}
    for round_ in range(1, args.rounds + 1):
        order = ("before", "after") if round_ % 2 else ("after", "before")
        for build in order:
            runs[f"{build}-{round_}"] = bench(getattr(args, build), bench_args, args.threads)
            print(f"round {round_} {build}: " + ", ".join(
                f"{r['variant']} {r['steps_per_sec']}" for r in runs[f"{build}-{round_}"]), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "what": f"ganzoo bench {' '.join(bench_args)} --json --device cpu --no-plain, "
                    f"OMP_NUM_THREADS={args.threads}, {round_} rounds alternating builds",
            "before": args.before, "after": args.after, "date": date.today().isoformat(),
            "runs": runs}, indent=1))
    speeds: dict[str, dict[str, list[float]]] = {}
    for key, rows in runs.items():
        build = key.split("-")[0]
        for row in rows:
            speeds.setdefault(row["variant"], {}).setdefault(build, []).append(row["steps_per_sec"])
    print("| variant | before, steps/s (median; range) | after | after / before (median of rounds) |")
    print("|---|---|---|---|")
    for variant, by_build in speeds.items():
        before, after = by_build["before"], by_build["after"]
        ratio = statistics.median(a / b for a, b in zip(after, before))
        cell = lambda xs: f"{statistics.median(xs):.3g} ({min(xs):.3g}–{max(xs):.3g})"  # noqa: E731
        print(f"| {variant} | {cell(before)} | {cell(after)} | {ratio:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
