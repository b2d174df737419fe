"""``ganzoo bench``: training-step throughput of variants, against a tutorial-style loop."""

from __future__ import annotations

import argparse


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench", help="measure training-step throughput of variants",
        description="Time training steps of each variant (default: every registered one) at each batch "
                    "size, next to a plain tutorial-style loop of the same recipe (DataLoader, eager).")
    p.add_argument("variants", nargs="*", help="variant names or shell patterns (default: all)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--batch-size", type=int, action="append", dest="batch_sizes", metavar="N",
                   help="batch size (repeatable; default 64)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per measurement (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    p.add_argument("--no-plain", action="store_true", help="skip the plain-loop comparison")
    p.add_argument("--graph", choices=("auto", "on", "off"), default="auto",
                   help="CUDA graph capture of the ganzoo step (default auto)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="as for ganzoo train (default auto); the plain loop always runs in fp32")
    p.add_argument("--channels-last", action="store_true", help="channels-last networks and data")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=bench_command)


def bench_command(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ganzoo.benchmarking import bench_variant
    from ganzoo.cli import output
    from ganzoo.errors import UnknownNameError
    from ganzoo.plugins import get_registry

    registry = get_registry()
    output.warn_plugin_problems()
    names = registry.list_variants(args.variants or None)
    if args.variants and not names:
        raise UnknownNameError("variant", args.variants[0], registry.list_variants())
    def notify(message: str) -> None:
        output.stderr.print(message, highlight=False, markup=False)

    rows = [bench_variant(name, batch, device=args.device, steps=args.steps, warmup=args.warmup,
                          plain=not args.no_plain, graph=args.graph, precision=args.precision,
                          channels_last=args.channels_last, notify=notify).to_dict()
            for name in names for batch in (args.batch_sizes or [64])]
    if args.json:
        output.print_json(rows)
        return 0
    table = Table(title="ganzoo bench", title_justify="left",
                  caption=f"{rows[0]['device']} · {rows[0]['machine']} · torch {rows[0]['torch']}"
                  if rows else None, caption_justify="left")
    for column in ("variant", "batch", "step", "steps/s", "images/s", "vs plain loop", "peak memory"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in rows:
        ratio = f"{row['ratio_vs_plain']:.2f}×" if row["ratio_vs_plain"] else "-"
        memory = f"{row['peak_memory_mb']:.0f} MiB" if row["peak_memory_mb"] is not None else "-"
        table.add_row(row["variant"], str(row["batch_size"]), f"{row['mode']} {row['precision']}",
                      f"{row['steps_per_sec']:.2f}",
                      f"{row['images_per_sec']:.0f}", ratio, memory)
    output.stdout.print(table)
    return 0
