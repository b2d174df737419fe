"""Broken third-party plugins, really pip-installed, next to working ones.

Four tiny packages are written to a temporary folder and installed with one pip call into a
:class:`ganzoo.testing.ScratchEnv` (so the environment running the suite never sees them): one
raises on import, one registers a name that is taken (generator ``dcgan``), one implements a
hook with a parameter the hook does not have, one has a generator factory that raises. Every
``ganzoo`` command keeps working; each problem is one line naming its distribution.
(tests/test_plugins.py covers the same cases in-process with faked distributions.)
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ganzoo.testing import ScratchEnv, write_plugin_package

PACKAGES: dict[str, str] = {
    "ganzoo-broken-import": """
        raise RuntimeError("this plugin is broken on purpose")
    """,
    "ganzoo-dup-name": """
        from ganzoo import hookimpl

        def tiny(image_shape, latent_dim):
            raise AssertionError("never built: the name is taken")

        @hookimpl
        def register_generators(register):
            register("dcgan", tiny, summary="tries to replace the built-in dcgan generator")
    """,
    "ganzoo-bad-signature": """
        from ganzoo import hookimpl

        @hookimpl
        def register_losses(register, extra_argument):
            pass
    """,
    "ganzoo-intruder": """
        from ganzoo import hookimpl

        def impostor(image_shape):
            raise AssertionError("never built: ganzoo owns 'dcgan'")

        @hookimpl(tryfirst=True)
        def register_discriminators(register):
            register("dcgan", impostor, summary="tries to replace the built-in dcgan discriminator")

        @hookimpl(tryfirst=True)
        def register_losses(register):
            register("bce", impostor, summary="tries to replace the built-in bce loss")
    """,
    "ganzoo-bad-factory": """
        from ganzoo import Variant, hookimpl

        def exploding(image_shape, latent_dim):
            raise ValueError("out of cheese")

        @hookimpl
        def register_generators(register):
            register("exploding", exploding, summary="a generator whose factory raises")

        @hookimpl
        def register_variants(register):
            register(Variant(name="exploding-gan", generator="exploding", discriminator="dcgan",
                             loss="bce", summary="uses the exploding generator"))
    """,
}
PROBLEMS = {  # distribution → what its one-line reports say
    "ganzoo-broken-import": ("failed to import 'ganzoo_broken_import': "
                             "RuntimeError: this plugin is broken on purpose",),
    "ganzoo-dup-name": ("generator 'dcgan' is taken (owned by dcgan (ganzoo",),
    "ganzoo-intruder": ("discriminator 'dcgan' is taken (owned by dcgan (ganzoo",
                        "loss 'bce' is taken (owned by losses (ganzoo"),
    "ganzoo-bad-signature": ("a hook implementation takes exactly one argument, named register",),
}
PROBLEM_COUNT = sum(len(messages) for messages in PROBLEMS.values())


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("robustness")
    scratch = ScratchEnv(root / "env", env={"OMP_NUM_THREADS": "1"})
    scratch.install(*(write_plugin_package(root / "src", name, source) for name, source in PACKAGES.items()))
    yield scratch
    scratch.remove()


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_list_keeps_working_and_warns_once_per_problem(env):
    result = env.ganzoo("list", "--json")
    assert result.returncode == 0, result.stderr
    names = {row["name"] for row in json.loads(result.stdout)}
    assert {"vanilla", "dcgan", "wgan-gp", "exploding-gan"} <= names
    warnings = [line for line in _warnings(result.stderr) if line.startswith("warning: plugin ")]
    assert len(warnings) == PROBLEM_COUNT, result.stderr
    for distribution, messages in PROBLEMS.items():
        lines = [line for line in warnings if f"({distribution} 0.1)" in line]
        assert len(lines) == len(messages)
        for message, line in zip(messages, lines):
            assert message in line, line


def test_every_problem_is_reported_in_one_line(env):
    """Regression: pluggy's PluginValidationError text spans three lines and was passed on as is."""
    result = env.ganzoo("list")
    assert len(_warnings(result.stderr)) == PROBLEM_COUNT, result.stderr


def test_plugins_lists_every_plugin_with_its_problems(env):
    result = env.ganzoo("plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["distribution"]: row for row in json.loads(result.stdout)}
    for distribution, messages in PROBLEMS.items():
        problems = rows[distribution]["problems"]
        assert len(problems) == len(messages)
        for message, problem in zip(messages, problems):
            assert message in problem
    assert rows["ganzoo-bad-factory"]["problems"] == []
    assert rows["ganzoo-bad-factory"]["hooks"] == ["register_generators", "register_variants"]
    table = env.ganzoo("plugins")
    assert table.returncode == 0 and "ganzoo-broken-import" in table.stdout


def test_the_taken_name_keeps_its_first_owner(env):
    result = env.ganzoo("list", "--components", "--kind", "generator", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["dcgan"]["distribution"] == "ganzoo"


def test_strict_mode_stops_at_the_first_problem_in_one_line(env):
    result = env.ganzoo("list", env={"GANZOO_STRICT_PLUGINS": "1"})
    assert result.returncode == 2
    [line] = _warnings(result.stderr)
    assert line.startswith("ganzoo list: error: plugin ") and "GANZOO_STRICT_PLUGINS" in line
    assert any(distribution in line for distribution in PROBLEMS)


def _train(env: ScratchEnv, variant: str, out: Path) -> subprocess.CompletedProcess:
    return env.ganzoo("train", variant, "--steps", "1", "--batch-size", "4", "--out", out)


def test_a_factory_that_raises_is_a_one_line_error_when_built(env, tmp_path):
    result = _train(env, "exploding-gan", tmp_path / "run")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [error] = [line for line in _warnings(result.stderr) if line.startswith("ganzoo train: error:")]
    assert result.stderr.rstrip().endswith(error)
    assert error.startswith("ganzoo train: error: generator 'exploding' from plugin ")
    assert "ganzoo-bad-factory" in error and "ValueError: out of cheese" in error


@pytest.fixture(scope="module")
def dcgan_run(env, tmp_path_factory) -> Path:
    """A built-in variant trained in the environment with every broken and intruding plugin."""
    run = tmp_path_factory.mktemp("dcgan") / "run"
    result = _train(env, "dcgan", run)
    assert result.returncode == 0, result.stderr
    return run


def test_other_variants_still_train(dcgan_run):
    config = json.loads((dcgan_run / "config.json").read_text())
    assert config["versions"]["plugins"]["dcgan"] == f"ganzoo {config['versions']['ganzoo']}"


def test_an_intruder_cannot_take_builtin_names(env, dcgan_run):
    """Regression: a package registering discriminator 'dcgan' and loss 'bce' replaced ganzoo's
    own (depending on install order), and the kit passed it."""
    result = env.ganzoo("list", "--components", "--json")
    owners = {(row["kind"], row["name"]): row["distribution"] for row in json.loads(result.stdout)}
    assert owners[("discriminator", "dcgan")] == owners[("loss", "bce")] == "ganzoo"
    plugins = json.loads((dcgan_run / "config.json").read_text())["versions"]["plugins"]
    assert "intruder" not in plugins and plugins["losses"].startswith("ganzoo ")


def test_the_kit_fails_a_package_that_registers_a_taken_name(env, tmp_path):
    tests = tmp_path / "test_intruder.py"
    tests.write_text('from ganzoo.testing import conformance_tests\n'
                     'conformance_tests(globals(), distribution="ganzoo-intruder")\n')
    result = env.run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "test_ganzoo_plugin_loads FAILED" in result.stdout or "failed" in result.stdout
    assert "is taken" in result.stdout
