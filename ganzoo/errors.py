"""Exceptions for user mistakes.

A :class:`GanzooError` is something the user can fix (a bad flag, file, name or plugin); the CLI
prints it as one line and exits with status 2. Anything else escaping is a bug and keeps its
traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GanzooError(Exception):
    """Base class for errors caused by user input; the CLI prints ``str(err)`` on one line."""

    exit_status: int = 2
    """What the CLI exits with: 2 for a user mistake, 1 for a run that could not go on."""


class UnknownNameError(GanzooError, KeyError):
    """A variant or component name that nobody registered.

    Subclasses :class:`KeyError` so dict-like lookups behave as expected, but keeps a plain
    message (``KeyError.__str__`` would add quotes).
    """

    def __init__(self, kind: str, name: str, known: Iterable[str], left_out: str | None = None,
                 unloaded: str | None = None) -> None:
        """``left_out``: why a registered ``name`` was dropped; ``unloaded``: the plugins an
        environment variable kept from loading (one of them may provide ``name``)."""
        self.kind, self.name = kind, name
        self.suggestions = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
        message = f"unknown {kind} {name!r}"
        if left_out:  # registered, then left out: say why rather than guess a name
            message = f"{kind} {name!r} is not available: {left_out}"
        elif unloaded:
            message += f" ({unloaded})"
        elif self.suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        else:
            message += f"; run 'ganzoo list{' --components' if kind != 'variant' else ''}' to see what is available"
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0])


class DuplicateNameError(GanzooError):
    """Two plugins registered the same name for the same kind of component."""


class ComponentBuildError(GanzooError):
    """A registered factory failed or broke its contract: the message names the component
    and its plugin."""


class CompositionError(GanzooError):
    """Components that cannot be combined (e.g. weight clipping with a gradient penalty)."""


class PluginError(GanzooError):
    """A plugin failed to load or register (raised only in strict mode; otherwise reported)."""


class ConfigError(GanzooError):
    """A bad setting in a config file or on the command line."""


class DataError(GanzooError):
    """A data file or folder that cannot be used; the message names the file and the problem."""


class CheckpointError(GanzooError):
    """A checkpoint or run folder that cannot be read or resumed."""


class DivergenceError(GanzooError):
    """Training produced a non-finite loss."""

    exit_status = 1


class StorageError(GanzooError):
    """A file could not be written (disk full, read-only file system, no permission); the
    message names the path. What was written before (the last good checkpoint) is intact."""

    exit_status = 1


class TrickError(GanzooError):
    """A trick raised during a training step: the message names the trick, its plugin and the
    step; the run stops with its last good checkpoint kept."""

    exit_status = 1
