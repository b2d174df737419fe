"""``ganzoo compare``: train every (variant, seed) with the same budget, score them with the
same metrics along the way, and write one report (see :mod:`ganzoo.compare`)."""

from __future__ import annotations

import argparse
import copy
import re
from pathlib import Path
from typing import Any

from ganzoo.errors import ConfigError

_UNITS = {"s": 1 / 60, "m": 1.0, "h": 60.0}


def parse_budget(text: str) -> float:
    """``10m``, ``90s``, ``1.5h`` or plain minutes → minutes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([smh]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"--budget {text}: give a training time such as 10m, 90s or 1h")
    return float(match.group(1)) * _UNITS[match.group(2) or "m"]


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    from ganzoo.cli.train import add_recipe_arguments

    p = subparsers.add_parser(
        "compare", help="compare variants fairly: same budget, several seeds, one report",
        description="Train every variant with every seed under the same budget, score each run along "
                    "the way and at the end with ganzoo's metrics, and write report.md/.json/.html, "
                    "curves.png and samples.png into --out. Re-running the same command continues it.")
    p.add_argument("variants", nargs="+", metavar="VARIANT")
    length = p.add_mutually_exclusive_group(required=True)
    length.add_argument("--budget", metavar="TIME",
                        help="training time per run: 10m, 90s, 1h (evaluations do not count)")
    length.add_argument("--steps", type=int, help="generator steps per run")
    p.add_argument("--seeds", type=int, default=3, help="seeds per variant: 0 … K−1 (default 3)")
    p.add_argument("--eval-every", type=int, help="score every N steps (default: a tenth of --steps; with --budget, at 50, 100, 200, 400 … steps)")
    p.add_argument("--eval-samples", type=int, default=1000, help="samples per score (default 1000)")
    p.add_argument("--jobs", default="1", help="runs at once: N or auto (CPU: the cores split between them; "
                                               "CUDA: the devices taken in turn, one per job while they last) (default 1)")
    p.add_argument("--out", default="runs/compare", help="the comparison's folder (default runs/compare)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), help="as for ganzoo train")
    p.add_argument("--record", nargs="?", const="", metavar="FILE",
                   help="append each variant's results to the zoo cards ganzoo ships (or FILE), which "
                        "ganzoo info VARIANT and ganzoo list --results show")
    add_recipe_arguments(p)
    p.set_defaults(handler=compare_command)


def _jobs(text: str, device: str, runs: int) -> int:
    import os

    if text == "auto":
        if device.startswith("cuda") or device == "auto":
            import torch

            if torch.cuda.is_available():
                return max(1, min(torch.cuda.device_count(), runs))
        return max(1, min(os.cpu_count() or 1, runs))
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise ConfigError(f"--jobs {text}: give a positive number or auto")
    return jobs


def build_plan(args: argparse.Namespace) -> Any:
    """The comparison the flags describe: one checked training config per variant."""
    from ganzoo.cli.train import config_from_args
    from ganzoo.compare.plan import Plan
    from ganzoo.plugins import get_registry
    from ganzoo.training.config import recipe_variant

    if args.seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {args.seeds}")
    if args.steps is not None and args.steps < 1:
        raise ConfigError(f"--steps must be >= 1, got {args.steps}")
    # A time budget gives variants of very different speeds very different lengths: score them
    # at 50, 100, 200 … steps, so every pair shares evaluation points (the equal-steps table).
    doubling = args.budget is not None and args.eval_every is None
    eval_every = args.eval_every or (max(1, args.steps // 10) if args.steps else 50)
    keep_every = 250 if doubling else eval_every  # checkpoints and grids
    if eval_every < 1 or args.eval_samples < 4:
        raise ConfigError("--eval-every must be >= 1 and --eval-samples >= 4")
    registry = get_registry()
    configs = {}
    for name in dict.fromkeys(args.variants):
        flags = copy.copy(args)
        flags.variant = name
        config = config_from_args(flags)
        recipe_variant(config, registry)  # a bad composition: one line, now
        settings = config.to_dict()
        settings.update(eval_every=eval_every, eval_doubling=doubling, checkpoint_every=keep_every,
                        sample_every=keep_every, log_every=min(50, eval_every), eval_samples=args.eval_samples)
        for key in ("seed", "out", "steps", "minutes", "epochs"):
            settings.pop(key, None)
        configs[name] = settings
    minutes = None if args.budget is None else parse_budget(args.budget)
    return Plan(tuple(configs), tuple(range(args.seeds)), args.steps, minutes, eval_every,
                args.eval_samples, configs, doubling)


def compare_command(args: argparse.Namespace) -> int:
    from ganzoo.cli import output
    from ganzoo.compare.plan import CompareDir
    from ganzoo.device import resolve_device
    from ganzoo.runs.rundir import FolderLock

    output.warn_plugin_problems()
    plan = build_plan(args)
    resolve_device(args.device)  # a device this machine lacks: one line now, not a failed job per run
    jobs = _jobs(args.jobs, args.device, len(plan.jobs()))  # checked before the folder is written
    folder = CompareDir(args.out)
    states = folder.open(plan)
    lock = FolderLock(folder.path, "running the comparison in")  # two would train the same runs
    try:
        return _compare(args, plan, jobs, folder, states)
    finally:
        lock.release()


def _compare(args: argparse.Namespace, plan: Any, jobs: int, folder: Any, states: dict[str, Any]) -> int:
    import sys

    from rich.live import Live
    from rich.table import Table

    from ganzoo.cli import output
    from ganzoo.compare.plan import DAMAGED
    from ganzoo.compare.report import ranking_lines, write_report
    from ganzoo.compare.runner import Runner, cuda_devices
    from ganzoo.runs.checkpoint import version_warnings_shown

    def table() -> Table:
        view = Table(title=f"ganzoo compare → {folder.path}", title_justify="left")
        for column in ("run", "state", "step", "training time"):
            view.add_column(column, justify="left" if column in ("run", "state") else "right")
        for job in plan.jobs():
            row = runner.progress(job)
            step = row.get("step")
            seconds = row.get("time")
            view.add_row(job.key, row["state"], "-" if step is None else f"{step:,}",
                         "-" if seconds is None else f"{seconds:.0f} s")
        return view

    live = Live(console=output.stderr, auto_refresh=False, transient=False) if sys.stderr.isatty() else None
    last: list[str] = []

    def changed() -> None:
        if live is not None:
            live.update(table(), refresh=True)
            return
        current = [f"{key}: {state['state']}" for key, state in runner.states.items()]
        for line in current:
            if line not in last:
                output.stderr.print(f"ganzoo compare: {line}", highlight=False, markup=False)
        last[:] = current

    runner = Runner(folder, plan, states, jobs, gpus=cuda_devices(args.device), on_change=changed)
    if live is not None:
        live.start()
    try:
        runner.run()
    finally:
        if live is not None:
            live.stop()
    with version_warnings_shown("compare"):  # the report loads a finished run's checkpoint
        written, summary = write_report(folder, jobs)
    for line in ranking_lines(summary):
        output.stdout.print(line, markup=False, soft_wrap=True)  # each claim whole, with its test, n and p
    output.stdout.print(f"report: {written['report.md']} (and {', '.join(n for n in written if n != 'report.md')})")
    if args.record is not None:
        from ganzoo.compare.cards import record

        path = record(summary, Path(args.record) if args.record else None)
        output.stdout.print(f"recorded {len(summary['variants'])} zoo cards in {path}")
    failed = [f"failed run {key}: {state.get('message')}" for key, state in runner.states.items()
              if state["state"] == "failed"]
    # A job whose state or files could not be read: one line each, naming the file; the other
    # jobs are in the report all the same.
    failed += [f"damaged run {run['variant']}/seed-{run['seed']}: {run['message']}" for run in summary["runs"]
               if run["state"] == DAMAGED]
    for line in failed:
        output.stderr.print(f"ganzoo compare: {line}", highlight=False, markup=False, soft_wrap=True)
    return 1 if failed else 0
