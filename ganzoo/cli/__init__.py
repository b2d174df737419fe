"""The ``ganzoo`` command line.

Each subcommand lives in its own module and imports torch only inside its handler, so
``ganzoo list`` and ``ganzoo --help`` stay fast. A :class:`~ganzoo.errors.GanzooError` (a user
mistake) ends the command with one line on stderr and exit status 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from ganzoo.cli import browse
from ganzoo.errors import GanzooError
from ganzoo.version import __version__


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other user mistake.

    argparse would print the whole usage text above the message; the command's help is one
    flag away, so the line ends with a pointer to it instead.
    """

    def error(self, message: str) -> NoReturn:
        # "argument --steps: invalid int value: 'ten'" -> "--steps: invalid int value 'ten'"
        message = message.removeprefix("argument ")
        message = re.sub(r"(invalid [\w ]+?): ", r"\1 ", message, count=1)
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # argparse reports a subcommand's unknown flags from the top-level parser; blame
            # (and point to the help of) the subcommand that was given them.
            self._innermost(parsed).error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed

    def _innermost(self, parsed: argparse.Namespace) -> argparse.ArgumentParser:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                sub = action.choices.get(getattr(parsed, action.dest, None))
                if isinstance(sub, OneLineErrorParser):
                    return sub._innermost(parsed)
        return self


def _optional_modules() -> list[str]:
    # Commands added by later parts of the tool register here; missing ones are skipped.
    return ["ganzoo.cli.train", "ganzoo.cli.sample", "ganzoo.cli.evaluate", "ganzoo.cli.bench", "ganzoo.cli.compare",
            "ganzoo.cli.export", "ganzoo.cli.new_plugin"]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="ganzoo", description="A plugin-based GAN zoo for PyTorch.",
        epilog="Run 'ganzoo COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"ganzoo {__version__}")
    # Explicit, though argparse defaults to the parent's class: every subcommand's errors are one line.
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrorParser)
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
    except (MemoryError, RuntimeError) as err:
        # torch's allocators raise RuntimeErrors (torch.OutOfMemoryError on CUDA); settings too
        # large for the machine are not a bug to show a traceback for.
        if not (isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError"
                or "can't allocate memory" in str(err)):
            raise
        print(f"ganzoo {args.command}: out of memory; try smaller settings (--batch-size, --image-size, -n)",
              file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `ganzoo list | head`
        return 0
