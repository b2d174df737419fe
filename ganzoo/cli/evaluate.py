"""``ganzoo eval``: score samples (a file, a folder, a run or a checkpoint) with every metric."""

from __future__ import annotations

import argparse

from ganzoo.errors import ConfigError


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval", help="score sample quality against held-out real digits",
        description="Score samples with every registered metric against held-out real MNIST digits, "
                    "next to the real-vs-real value of each metric. SOURCE is a .npy/.npz file, a folder "
                    "of images, a run folder or a checkpoint (samples are then drawn with --seed).")
    p.add_argument("source", metavar="SAMPLES_OR_RUN")
    p.add_argument("-n", "--num-samples", type=int, default=1000,
                   help="samples to draw from a run, or the most to read from a file (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="sampling and metric seed (default 0)")
    p.add_argument("--metric", action="append", default=[], help="only these metrics (repeatable)")
    p.add_argument("--reference", default="mnist:test-a", help="reference set (default mnist:test-a)")
    p.add_argument("--no-baseline", action="store_true", help="skip the real-vs-real column")
    p.add_argument("--device", default="auto", help="device for sampling from a run")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=eval_command)


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def eval_command(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ganzoo.cli import output
    from ganzoo.evaluation.evaluate import evaluate_images, load_eval_source
    from ganzoo.runs.checkpoint import version_warnings_shown
    from ganzoo.training.config import check_seed

    check_seed(args.seed)
    if args.num_samples < 4:
        raise ConfigError(f"-n/--num-samples must be at least 4, got {args.num_samples}")
    with version_warnings_shown("eval"):  # a run or checkpoint: its plugins' versions
        samples, labels = load_eval_source(args.source, args.num_samples, args.seed, device=args.device)
    report = evaluate_images(samples, reference=args.reference, metrics=args.metric or None,
                             seed=args.seed, baseline=not args.no_baseline, source=str(args.source),
                             sample_labels=labels)
    if args.json:
        output.print_json(report.to_dict())
        return 0
    p = report.provenance
    table = Table(title=f"ganzoo eval {args.source}", title_justify="left",
                  caption=f"{p['num_samples']} samples vs {p['reference']} ({p['reference_size']} digits), "
                          f"seed {p['seed']}; features: {p['extractor']} sha256 {p['extractor_sha256'][:12]}",
                  caption_justify="left")
    table.add_column("metric", style="bold", no_wrap=True)
    table.add_column("value", justify="right")
    table.add_column("real vs real", justify="right")
    table.add_column("better", no_wrap=True)
    for row in report.rows:
        table.add_row(row["metric"], _fmt(row["value"]), _fmt(row["real_vs_real"]), row["better"])
    output.stdout.print(table)
    return 0
