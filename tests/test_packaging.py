"""What a non-editable install gets: every package folder and every data file the code loads
is declared in pyproject.toml (an undeclared package is silently missing from the wheel)."""

from __future__ import annotations

from pathlib import Path

from ganzoo.training.config import tomllib

ROOT = Path(__file__).resolve().parent.parent


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_declared():
    config = _setuptools()
    declared = set(config["packages"])
    found = set()
    for name, folder in config["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            if "__package__" in init.parts or "plugin-package" in init.parts:
                continue  # the new-plugin templates are data of ganzoo.templates
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *relative)))
    assert found <= declared, f"packages missing from pyproject.toml: {sorted(found - declared)}"


def test_the_data_files_the_code_loads_are_declared():
    from ganzoo.compare.cards import CARDS_FILE
    from ganzoo.evaluation.classifier import WEIGHTS_FILE

    data = _setuptools()["package-data"]
    for path in (WEIGHTS_FILE, CARDS_FILE):
        package = ".".join(path.parent.relative_to(ROOT).parts)
        assert path.is_file() and path.name in data.get(package, []), path


def test_every_declared_package_is_a_tracked_regular_package():
    """Regression: ganzoo/runs/__init__.py was hidden from git by a `runs/` ignore rule, so a
    clone had ganzoo.runs as an implicit namespace package. Every declared package's
    __init__.py must be in git, and no ignore rule may cover the package folders."""
    import shutil
    import subprocess

    import pytest

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    config = _setuptools()
    tracked = set(subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout.splitlines())
    for package in config["packages"]:
        top, *rest = package.split(".")
        init = Path(config["package-dir"][top], *rest, "__init__.py").as_posix()
        assert init in tracked, f"{init} is not in git"
        ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", init], cwd=ROOT)
        assert ignored.returncode != 0, f"an ignore rule covers {init}"
