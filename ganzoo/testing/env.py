"""Throwaway Python environments for testing packages *installed*, with real pip.

A plugin is only found through its distribution's entry points, so the honest test installs
it. Installing into the environment that runs the tests would change it for every other test
(and for any other test run sharing it) until uninstalled. A :class:`ScratchEnv` is instead a
new virtual environment (no pip of its own, created in a fraction of a second) whose
site-packages chains to the running environment's through a ``.pth`` file: it sees torch,
ganzoo and pip, what is installed into it is invisible everywhere else, and deleting the
folder undoes everything. Installs run ``pip install --no-deps --no-build-isolation --no-index``, so they
need no network, only setuptools (or the package's build backend) in the running environment.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

# What pip leaves in a source tree, and what must not be copied into a build.
_BUILD_LITTER = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "*.pyc",
                                      ".pytest_cache", ".git", ".venv", "venv", ".tox", ".nox")


class InstallError(RuntimeError):
    """pip failed; the message carries its output."""


class CommandFailed(subprocess.CalledProcessError):
    """A command run with ``check=True`` exited non-zero; unlike its base class, the message
    carries the ends of its output, so a failing test says why."""

    TAIL = 3000  # characters of stdout and of stderr in the message

    def __str__(self) -> str:
        parts = [super().__str__()]
        for name, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            if text and text.strip():
                parts.append(f"--- {name} (last {self.TAIL} characters) ---\n{text[-self.TAIL:].rstrip()}")
        return "\n".join(parts)


def _site_dirs() -> list[str]:
    """The running interpreter's site directories (a venv's, or the system's), then any other
    site directory on sys.path (those a ScratchEnv chains, when one runs inside another)."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    dirs += [p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages")]
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


class ScratchEnv:
    """A virtual environment at ``path`` layered over the running one. Example::

        env = ScratchEnv(tmp_path / "env")
        env.install("examples/ganzoo-lsgan")
        assert "lsgan" in env.ganzoo("list").stdout
        env.uninstall("ganzoo-lsgan")
    """

    def __init__(self, path: str | os.PathLike[str], env: dict[str, str] | None = None) -> None:
        """Create the environment at ``path``; ``env`` are environment variables for every
        command run in it (e.g. ``{"OMP_NUM_THREADS": "1"}``)."""
        self.path = Path(path).resolve()
        self.env = dict(env or {})
        venv.EnvBuilder(with_pip=False, clear=False).create(self.path)
        bindir = "Scripts" if sys.platform == "win32" else "bin"
        self.python = self.path / bindir / ("python.exe" if sys.platform == "win32" else "python")
        purelib = self.run("-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                           check=True).stdout.strip()
        self.site_packages = Path(purelib)
        # addsitedir (unlike a plain path line) also runs the chained directories' own .pth
        # files, e.g. the finder of an editable ganzoo install.
        lines = [f"import site; site.addsitedir({d!r})" for d in _site_dirs()]
        (self.site_packages / "_ganzoo_scratch_env.pth").write_text("\n".join(lines) + "\n")

    def environ(self) -> dict[str, str]:
        """Environment variables for commands run in this environment."""
        env = dict(os.environ)
        env.update(VIRTUAL_ENV=str(self.path), PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1",
                   PIP_ROOT_USER_ACTION="ignore", PYTHONDONTWRITEBYTECODE="1")
        env.update(self.env)
        return env

    def run(self, *args: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None,
            env: dict[str, str] | None = None, check: bool = False,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """``python ARGS`` in this environment, output captured as text; ``check=True``
        raises :class:`CommandFailed` (its message ends with the output) on a non-zero exit."""
        environ = self.environ()
        environ.update(env or {})
        result = subprocess.run([str(self.python), *map(str, args)], cwd=cwd, env=environ,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise CommandFailed(result.returncode, result.args, result.stdout, result.stderr)
        return result

    def ganzoo(self, *args: str | os.PathLike[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        """The ``ganzoo`` command in this environment."""
        return self.run("-m", "ganzoo", *args, **kwargs)  # type: ignore[arg-type]

    def pip(self, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        """pip (the running environment's) acting on this environment; raises on failure."""
        result = self.run("-m", "pip", *args)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            hint = ""
            if "BackendUnavailable" in output or "Cannot import 'setuptools" in output:
                hint = ("\n(--no-build-isolation builds with the running environment's build backend: "
                        "install it there, e.g. pip install setuptools)")
            raise InstallError(f"pip {' '.join(map(str, args))} failed:\n{output}{hint}")
        return result

    def install(self, *projects: str | os.PathLike[str], editable: bool = False) -> list[Path]:
        """Install project folders (each with a pyproject.toml), all in one pip call; returns
        the folders pip built from.

        Non-editable installs build from a copy (under ``PATH/src``), so the source folders
        stay clean; an editable install builds in place and leaves its ``*.egg-info`` there,
        as pip always does.
        """
        if not projects:
            raise ValueError("install() needs at least one project folder")
        sources: list[Path] = []
        for project in (Path(p).resolve() for p in projects):
            if not (project / "pyproject.toml").is_file():
                raise ValueError(f"{project}: no pyproject.toml")
            if editable:
                sources.append(project)
                continue
            copy = self.path / "src" / project.name
            if copy in sources:  # two projects in folders of the same name
                copy = copy.with_name(f"{project.name}-{len(sources)}")
            if copy.exists():  # installed before: build the current version
                shutil.rmtree(copy)
            shutil.copytree(project, copy, ignore=_BUILD_LITTER)
            sources.append(copy)
        targets = [arg for source in sources for arg in (["-e", str(source)] if editable else [str(source)])]
        self.pip("install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", *targets)
        return sources

    def uninstall(self, *distributions: str) -> None:
        """``pip uninstall -y`` distributions installed in this environment."""
        self.pip("uninstall", "--yes", "--quiet", *distributions)

    def has(self, distribution: str) -> bool:
        """Whether ``distribution`` is installed in this environment (not the chained ones)."""
        import importlib.metadata

        found = importlib.metadata.distributions(name=distribution, path=[str(self.site_packages)])
        return any(True for _ in found)

    def remove(self) -> None:
        """Delete the environment and everything installed in it."""
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> ScratchEnv:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def write_plugin_package(root: str | os.PathLike[str], distribution: str, source: str,
                         version: str = "0.1") -> Path:
    """A one-module plugin package ``ROOT/DISTRIBUTION`` ready for :meth:`ScratchEnv.install`:
    ``source`` (dedented) is the module ``DISTRIBUTION`` with ``-`` → ``_``, registered as the
    entry point ``DISTRIBUTION`` without its ``ganzoo-`` prefix."""
    import textwrap

    package = distribution.replace("-", "_")
    folder = Path(root) / distribution
    (folder / package).mkdir(parents=True)
    (folder / package / "__init__.py").write_text(textwrap.dedent(source).lstrip())
    (folder / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{distribution}"
        version = "{version}"

        [project.entry-points.ganzoo]
        {distribution.removeprefix("ganzoo-")} = "{package}"

        [tool.setuptools]
        packages = ["{package}"]
    """).lstrip())
    return folder
