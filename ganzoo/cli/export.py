"""``ganzoo export``: a run's sampling generator as an ONNX model or a torch.export program,
checked against ganzoo's own output before it is written (see :mod:`ganzoo.export`)."""

from __future__ import annotations

import argparse
from pathlib import Path


_FORMATS = ("onnx", "pt2")  # ganzoo.export.FORMATS, spelled here so --help imports no torch


def _batch(text: str) -> int | None:
    if text == "dynamic":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid batch {text!r} (a number or 'dynamic')") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid batch {text!r} (a number >= 1 or 'dynamic')")
    return value


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help="export a run's generator as ONNX or a torch.export program",
        description="Export the generator a run samples from (EMA weights when it has them; a label "
                    "input for conditional variants; one input per part, named after it, for a "
                    "structured latent) as an ONNX model (run by onnxruntime) or a "
                    "torch.export program (.pt2). The export is loaded back by its own runtime and "
                    "compared with ganzoo's output for the same latents before it is written; the "
                    "difference and the run's provenance go into FILE.json. Needs: pip install 'ganzoo[export]' "
                    "(for ONNX).")
    p.add_argument("source", metavar="RUN_OR_CHECKPOINT")
    p.add_argument("--format", required=True, choices=_FORMATS)
    p.add_argument("--out", help="file to write (default RUN/generator.onnx or RUN/generator.pt2)")
    p.add_argument("--batch", type=_batch, default=None, metavar="N|dynamic",
                   help="a fixed batch size, or dynamic (default)")
    p.set_defaults(handler=export_command)


def export_command(args: argparse.Namespace) -> int:
    from ganzoo.cli import output
    from ganzoo.export import default_path, export_generator, require
    from ganzoo.runs.checkpoint import load_trained_gan, version_warnings_shown
    from ganzoo.runs.rundir import RunDir

    require(args.format)  # before loading anything: the missing extra is the first thing to say
    with version_warnings_shown("export"):
        gan, payload = load_trained_gan(args.source, device="cpu")
    path = Path(args.out) if args.out else default_path(RunDir.folder_of(args.source), args.format)
    result = export_generator(gan, payload, args.format, path, batch=args.batch, source=str(args.source))
    check = result.provenance["check"]
    batch = "dynamic batch" if result.batch is None else f"batch {result.batch}"
    opset = f", opset {result.provenance['opset']}" if result.provenance["opset"] else ""
    output.stdout.print(f"wrote {result.path} ({args.format}{opset}, {batch}); checked with {check['runtime']} "
                        f"on batches of {', '.join(map(str, result.checked_batches))}: largest difference "
                        f"from ganzoo {result.max_abs_diff:.2e} (tolerance {check['tolerance']:g})",
                        highlight=False, markup=False, soft_wrap=True)
    output.stdout.print(f"provenance  {result.path}.json", highlight=False, markup=False)
    return 0
