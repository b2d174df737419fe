"""A real third-party plugin package, really pip-installed: examples/ganzoo-lsgan.

The package is installed (``pip install --no-deps --no-build-isolation``, no network) into a
:class:`ganzoo.testing.ScratchEnv`, a throwaway environment layered over this one, so the
environment running the suite never changes (not even for other test runs sharing it), and
``ganzoo`` runs there as a subprocess.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ganzoo-lsgan"
DIST = "ganzoo-lsgan"


def test_this_environment_is_untouched(example_env):
    """The install went into the scratch environment only (this one may have its own copy)."""
    import importlib.metadata

    for dist in importlib.metadata.distributions(name=DIST):
        assert example_env.path not in Path(str(dist.locate_file(""))).resolve().parents
    assert example_env.has(DIST)


def test_scratch_env_sees_this_environment_but_installs_apart(example_env):
    code = "import sys, ganzoo, pip; print(sys.prefix)"
    prefix = example_env.run("-c", code, check=True).stdout.strip()
    assert Path(prefix) == example_env.path and Path(sys.prefix) != example_env.path


def test_list_shows_the_variants_with_their_distribution(example_env):
    rows = {row["name"]: row for row in json.loads(example_env.ganzoo("list", "--json", check=True).stdout)}
    for name in ("lsgan", "hinge-sn"):
        row = rows[name]
        assert (row["distribution"], row["version"], row["plugin"]) == (DIST, "0.1.0", "lsgan")
    assert rows["hinge-sn"]["tricks"] == ["spectral-norm"] and rows["hinge-sn"]["critic_steps"] == 5
    assert rows["dcgan"]["distribution"] == "ganzoo"  # built-ins are still there
    table = example_env.ganzoo("list", check=True).stdout
    assert any("lsgan" in line and f"{DIST} 0.1.0" in line for line in table.splitlines())
    assert not example_env.ganzoo("list").stderr.strip(), "no plugin problems expected"


def test_components_and_plugin_are_listed(example_env):
    listed = example_env.ganzoo("list", "--components", "--plugin", DIST, "--json", check=True)
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert set(rows) == {"least-squares", "hinge", "spectral-norm"}
    assert rows["least-squares"]["tags"] == ["labels"] and rows["hinge"]["tags"] == ["critic"]
    assert rows["spectral-norm"]["conflicts"] == ["weight-clip"]
    plugins = {r["name"]: r for r in json.loads(example_env.ganzoo("plugins", "--json", check=True).stdout)}
    assert plugins["lsgan"]["distribution"] == DIST and plugins["lsgan"]["problems"] == []
    assert plugins["lsgan"]["hooks"] == ["register_losses", "register_tricks", "register_variants"]


def test_train_lsgan_from_the_command_line(example_env, tmp_path):
    run = tmp_path / "run"
    example_env.ganzoo("train", "lsgan", "--steps", "2", "--batch-size", "4", "--out", run, "--seed", "1", check=True)
    config = json.loads((run / "config.json").read_text())
    assert config["variant"]["loss"] == "least-squares"
    assert config["versions"]["plugins"]["lsgan"] == f"{DIST} 0.1.0"
    assert (run / "checkpoints" / "last.pt").is_file() and (run / "samples.png").is_file()


def test_hinge_sn_checkpoint_resumes(example_env, tmp_path):
    """Spectral norm reparametrizes D in Trick.setup(); a resumed run must load into it."""
    run = tmp_path / "run"
    code = ("import sys; from ganzoo.cli import main; "
            f"a = main(['train', 'hinge-sn', '--steps', '1', '--batch-size', '4', '--out', {str(run)!r}]); "
            f"b = main(['train', '--resume', {str(run)!r}, '--steps', '2']); sys.exit(a or b)")
    example_env.run("-c", code, check=True)
    import torch

    payload = torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    assert payload["step"] == 2 and payload["updates"] == {"discriminator": 10, "generator": 2}  # 5 critic steps per step
    d_state = payload["state"]["networks"]["discriminator"]
    assert any(key.endswith("parametrizations.weight.original") for key in d_state)
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_the_package_passes_its_own_kit_tests(example_kit_passed):
    """examples/ganzoo-lsgan/tests uses ganzoo.testing.conformance_tests (one line)."""
    assert {"test_ganzoo_plugin_loads", "test_ganzoo_loss[least-squares]", "test_ganzoo_loss[hinge]",
            "test_ganzoo_trick[spectral-norm]", "test_ganzoo_variant_step[lsgan-28x28x1]",
            "test_ganzoo_variant_step[hinge-sn-32x32x3]", "test_ganzoo_variant_checkpoint[hinge-sn]",
            "test_spectral_norm_parametrizes_every_layer_before_the_optimizer_exists"} <= example_kit_passed


def test_bench_measures_the_plugin_variants(example_env):
    rows = json.loads(example_env.ganzoo("bench", "lsgan", "hinge-sn", "--steps", "1", "--warmup", "0",
                                         "--batch-size", "4", "--json", check=True).stdout)
    assert [row["variant"] for row in rows] == ["hinge-sn", "lsgan"]
    assert all(row["steps_per_sec"] > 0 and row["ratio_vs_plain"] > 0 for row in rows)


def test_uninstalling_removes_the_variants(example_env):
    """Last in this file: uninstall with pip, and ganzoo forgets the plugin."""
    import importlib.metadata

    if any(True for _ in importlib.metadata.distributions(name=DIST)):
        pytest.skip(f"{DIST} is also installed in the environment running the tests")
    example_env.uninstall(DIST)
    assert not example_env.has(DIST)
    names = [row["name"] for row in json.loads(example_env.ganzoo("list", "--json", check=True).stdout)]
    assert "lsgan" not in names and "hinge-sn" not in names and "dcgan" in names
    assert "lsgan" not in {r["name"] for r in json.loads(example_env.ganzoo("plugins", "--json", check=True).stdout)}
    assert json.loads(example_env.ganzoo("list", "--components", "--plugin", DIST, "--json", check=True).stdout) == []

