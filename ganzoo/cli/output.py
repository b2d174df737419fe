"""Shared output helpers for the CLI: rich consoles, JSON, plugin-problem warnings."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.text import Text

# When piped (CI logs, grep) rich would wrap tables at 80 columns; a wider page reads better.
stdout = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)
stderr = Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no colour codes, so it pipes into jq)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def warn(message: str) -> None:
    # Text, not markup: messages quote plugin names, summaries and errors, which may hold brackets.
    stderr.print(Text.assemble(("warning:", "yellow"), " ", message), soft_wrap=True)


def warn_plugin_problems() -> None:
    """One line on stderr per plugin problem, naming the plugin and its distribution."""
    from ganzoo.plugins import get_host

    for problem in get_host().problems:
        warn(str(problem))
