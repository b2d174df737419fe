"""docs/plugins.md documents every hook exactly as ganzoo/hookspecs.py defines it."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from ganzoo import hookspecs
from ganzoo.plugins import HOOK_NAMES

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
HOOKSPECS = [name for name, f in vars(hookspecs).items() if callable(f) and hasattr(f, "ganzoo_spec")]


def _flat(text: str) -> str:
    return " ".join(text.split())


def register_signature(hook: str) -> str:
    """The ``register(...)`` line of a hookspec's docstring, whitespace collapsed."""
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    match = re.search(r"``(register\(.*?\))``", doc, re.S)
    assert match, f"hookspec {hook} documents no ``register(...)`` signature"
    return _flat(match.group(1))


def test_every_hook_is_a_hookspec():
    assert set(HOOKSPECS) == set(HOOK_NAMES)


@pytest.mark.parametrize("hook", HOOKSPECS)
def test_hook_and_register_signature_are_documented(hook):
    doc = _flat(DOC.read_text(encoding="utf-8"))
    parameters = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert f"{hook}({parameters})" in doc, f"docs/plugins.md does not show {hook}({parameters})"
    assert register_signature(hook) in doc, \
        f"docs/plugins.md does not show {hook}'s callback: {register_signature(hook)}"


def test_the_kit_line_in_the_docs_is_the_one_the_scaffold_uses():
    doc = DOC.read_text(encoding="utf-8")
    template = (Path(__file__).resolve().parent.parent / "ganzoo" / "templates" / "plugin-package"
                / "tests" / "test_conformance.py.tmpl").read_text(encoding="utf-8")
    line = 'from ganzoo.testing import conformance_tests; conformance_tests(globals(), distribution="{}")'
    assert line.format("ganzoo-mygan") in doc and line.format("$name") in template
