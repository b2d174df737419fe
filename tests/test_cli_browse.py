"""``ganzoo list``, ``info``, ``plugins`` and ``--version`` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import ganzoo
from ganzoo.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True)


def test_list_shows_the_four_variants_with_their_plugin(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("vanilla", "dcgan", "wgan-clip", "wgan-gp"):
        assert name in out
    assert f"ganzoo {ganzoo.__version__}" in out


def test_list_json_schema_and_pattern(capsys):
    assert main(["list", "wgan*", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["wgan-clip", "wgan-clip-mlp", "wgan-gp", "wgan-gp-mlp"]
    assert set(rows[0]) >= {"name", "generator", "discriminator", "loss", "tricks", "plugin",
                            "distribution", "version", "summary", "source", "critic_steps"}
    assert rows[2]["tricks"] == ["gradient-penalty"] and rows[2]["distribution"] == "ganzoo"


def test_list_components_json(capsys):
    assert main(["list", "--components", "--kind", "trick", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_name = {r["name"]: r for r in rows}
    assert by_name["weight-clip"]["conflicts"] == ["gradient-penalty"]
    assert by_name["weight-clip"]["requires_loss_tags"] == ["critic"]
    assert by_name["gradient-penalty"]["roles"] == ["discriminator"] and "roles" not in by_name["weight-clip"]


def test_info_shows_recipe_and_parameter_counts(capsys):
    assert main(["info", "vanilla-classic", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["parameters"]["generator"] == 100 * 256 + 256 + 256 * 512 + 512 + 512 * 1024 + 1024 + 1024 * 784 + 784
    assert info["tricks"] == {"label-smoothing": {"real": 0.9}}
    assert info["g_optimizer"]["lr"] == 2e-4
    assert main(["info", "dcgan", "--kind", "variant", "--channels", "3", "--image-size", "32"]) == 0
    out = capsys.readouterr().out
    assert "parameters" in out and "discriminator" in out and "generator" in out


def test_info_on_a_component(capsys):
    assert main(["info", "gradient-penalty", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "trick"


def test_plugins_json(capsys):
    assert main(["plugins", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["wgan"]["hooks"] == ["register_variants"]
    assert rows["mlp"]["distribution"] == "ganzoo" and rows["mlp"]["problems"] == []


@pytest.mark.parametrize("args, message", [
    (["info", "dcgen"], "unknown variant 'dcgen'; did you mean 'dcgan'"),
    (["info", "vanilla", "--image-size", "0"], "image shape"),
])
def test_user_mistakes_are_one_line_errors_with_status_2(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"ganzoo {ganzoo.__version__}"


def test_plugin_text_with_brackets_is_shown_as_written(fresh_plugins, capsys):
    """Regression: summaries, names and problems went through rich markup, so a plugin summary
    such as "[/bold]" crashed `ganzoo list --components` and "[x]" vanished."""
    import types

    from ganzoo import hookimpl

    summary = "uses pip install 'pkg[extra]' and [/bold] brackets"
    plugin = types.SimpleNamespace(
        register_losses=hookimpl(lambda register: register("bracket-loss", ganzoo.Loss, summary=summary)),
        register_variants=hookimpl(lambda register: register(ganzoo.Variant(
            name="bracket[v]", generator="mlp", discriminator="mlp", loss="bracket-loss", summary=summary))))
    fresh_plugins.get_host().add_plugin(plugin, "bracket-plugin", distribution="ganzoo-[odd]")
    assert main(["list", "--components", "--kind", "loss"]) == 0
    out = capsys.readouterr().out
    assert "[/bold] brackets" in out and "pkg[extra]" in out and "ganzoo-[odd]" in out
    assert main(["info", "bracket-loss"]) == 0
    assert "pkg[extra]" in capsys.readouterr().out
    assert main(["list", "bracket*"]) == 0
    assert "bracket[v]" in capsys.readouterr().out
    assert main(["plugins"]) == 0
    assert "ganzoo-[odd]" in capsys.readouterr().out


def test_plugin_problem_warnings_keep_their_brackets(capsys):
    from ganzoo.cli import output

    output.warn("plugin x (ganzoo-x 1.0): register_losses raised TypeError: list[int] expected [/red]")
    assert capsys.readouterr().err.strip() == ("warning: plugin x (ganzoo-x 1.0): register_losses raised "
                                                "TypeError: list[int] expected [/red]")
