"""``ganzoo new-plugin NAME``: scaffold a plugin package that passes its own tests at once.

The skeleton (files under ``ganzoo/templates/plugin-package``) registers one loss and one variant
using it, declares the ``ganzoo`` entry point, and tests itself with the plugin-author kit
(:func:`ganzoo.testing.conformance_tests`). Nothing here imports torch.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import keyword
import re
import string
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo.errors import ConfigError
from ganzoo.version import __version__

if TYPE_CHECKING:
    from importlib.abc import Traversable

# A distribution name that is also a usable package name once lower-cased with - → _.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*")
_PACKAGE_PLACEHOLDER = "__package__"


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "new-plugin", help="create a plugin package skeleton",
        description="Create a plugin package (pyproject with the ganzoo entry point, a loss, a "
                    "variant using it, and conformance tests) in ./NAME or --dir.")
    p.add_argument("name", help="distribution name, e.g. ganzoo-mygan (letters, digits, - and _)")
    p.add_argument("--dir", help="folder to create (default ./NAME); must be new or empty")
    p.set_defaults(handler=new_plugin_command)


def plugin_names(name: str) -> dict[str, str]:
    """The names a plugin called ``name`` gets: distribution, package, loss, variant.

    Raises :class:`ConfigError` for a name that is not usable or is already taken.
    """
    if not _NAME.fullmatch(name):
        raise ConfigError(f"plugin name {name!r} is not valid: use letters, digits and single - or _ "
                          "between them, starting with a letter (e.g. ganzoo-mygan)")
    package = name.lower().replace("-", "_")
    if keyword.iskeyword(package):
        raise ConfigError(f"plugin name {name!r}: {package!r} is a Python keyword")
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.origin not in (None, "namespace"):  # an empty folder is fine
        raise ConfigError(f"plugin name {name!r}: a module {package!r} already exists "
                          f"({spec.origin}); choose another name")
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        pass
    else:
        raise ConfigError(f"plugin name {name!r}: a distribution of that name is already installed")
    from ganzoo.plugins import ENTRY_POINT_GROUP, get_registry

    taken = {ep.name: ep.dist.name if ep.dist else "?"
             for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    if name in taken:  # the package's entry point is named after it; a taken one is skipped
        raise ConfigError(f"plugin name {name!r}: the entry-point name {name!r} is already used by "
                          f"{taken[name]}; choose another name")
    short = re.sub(r"^ganzoo[-_]", "", name.lower()).replace("_", "-") or name.lower()
    names = {"name": name, "package": package, "variant": short, "loss": f"{short}-logistic",
             "ganzoo_version": __version__}
    registry = get_registry()
    if names["variant"] in registry.list_variants():
        raise ConfigError(f"plugin name {name!r}: variant {short!r} is already registered by "
                          f"{registry.variant(short).plugin}; choose another name")
    if names["loss"] in registry.list_components("loss"):
        raise ConfigError(f"plugin name {name!r}: loss {names['loss']!r} is already registered; "
                          "choose another name")
    return names


def _templates(folder: Traversable,
               prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Traversable]]:
    """(path parts with .tmpl removed, file) for every template under ``folder``."""
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            found += _templates(entry, (*prefix, entry.name))
        elif entry.name.endswith(".tmpl"):
            found.append(((*prefix, entry.name.removesuffix(".tmpl")), entry))
    return found


def scaffold(name: str, folder: str | Path | None = None) -> tuple[dict[str, str], list[Path]]:
    """Write the plugin skeleton for ``name`` into ``folder`` (default ``./NAME``); returns the
    names used (see :func:`plugin_names`) and the files written. Refuses a folder that exists
    and is not empty."""
    names = plugin_names(name)
    target = Path(folder) if folder is not None else Path.cwd() / name
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(f"{target}: already exists and is not empty; choose another --dir")
    written = []
    for parts, template in _templates(files("ganzoo.templates").joinpath("plugin-package")):
        path = target.joinpath(*(names["package"] if p == _PACKAGE_PLACEHOLDER else p for p in parts))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(string.Template(template.read_text(encoding="utf-8")).substitute(names),
                        encoding="utf-8")
        written.append(path)
    return names, written


def new_plugin_command(args: argparse.Namespace) -> int:
    from ganzoo.cli import output

    target = Path(args.dir) if args.dir else Path.cwd() / args.name
    names, written = scaffold(args.name, target)
    output.stdout.print(f"[bold green]created[/bold green] {target} ({len(written)} files):")
    for path in written:
        output.stdout.print(f"  {path.relative_to(target)}")
    output.stdout.print(
        f"registers the loss [bold]{names['loss']}[/bold] and the variant [bold]{names['variant']}[/bold]\n"
        "next:\n"
        f"  pip install -e {target}        # ganzoo finds the plugin through its entry point\n"
        f"  ganzoo list --plugin {names['name']}\n"
        f"  python -m pytest {target}      # ganzoo's conformance tests for your plugin\n"
        f"  ganzoo train {names['variant']} --steps 500", soft_wrap=True)
    return 0
