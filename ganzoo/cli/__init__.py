"""The ``ganzoo`` command line.

Each subcommand lives in its own module and imports torch only inside its handler, so
``ganzoo list`` and ``ganzoo --help`` stay fast. A :class:`~ganzoo.errors.GanzooError` (a user
mistake) ends the command with one line on stderr and exit status 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ganzoo.cli import browse
from ganzoo.errors import GanzooError
from ganzoo.version import __version__



def _optional_modules() -> list[str]:
    # Commands added by later parts of the tool register here; missing ones are skipped.
    return ["ganzoo.cli.train", "ganzoo.cli.evaluate", "ganzoo.cli.bench", "ganzoo.cli.new_plugin"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ganzoo", description="A plugin-based GAN zoo for PyTorch.",
        epilog="Run 'ganzoo COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"ganzoo {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    browse.add_parsers(subparsers)
    import importlib

    for name in _optional_modules():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        module.add_parsers(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ganzoo`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for relaunching under torchrun
    handler: Callable[[argparse.Namespace], int | None] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return int(handler(args) or 0)
    except GanzooError as err:
        # Exit status 1 (divergence, a full disk) is not a user mistake, but a clean stop all
        # the same: one line, no traceback.
        label = "error: " if err.exit_status == 2 else ""
        print(f"ganzoo {args.command}: {label}{err}", file=sys.stderr)
        return err.exit_status
    except KeyboardInterrupt:
        print(f"ganzoo {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `ganzoo list | head`
        return 0
