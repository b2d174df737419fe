"""The plugin-author kit (ganzoo.testing, its pytest plugin) and ``ganzoo new-plugin``.

The generated suites are run with pytest's own ``pytester`` (in this process, so no torch
import per run); the scaffold is pip-installed into a throwaway environment and tested there.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import types

import pytest

import ganzoo
from ganzoo import conformance, hookimpl
from ganzoo.cli import main
from ganzoo.testing import IMAGE_SHAPES, conformance_tests

pytest_plugins = ["pytester"]

ONE_LINE = 'from ganzoo.testing import conformance_tests; conformance_tests(globals(), distribution="{}")'


@pytest.fixture(scope="module", autouse=True)
def _torch_modules_loaded_once():
    """pytester's in-process runs put sys.modules back as they found it; torch modules that
    register operator libraries when imported (the optimizers pull in torch._dynamo and
    torch._inductor on their first step) cannot be imported a second time. Import them first."""
    import torch

    weight = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.Adam([weight], foreach=True)
    weight.sum().backward()
    optimizer.step()


def _run(pytester: pytest.Pytester, distribution: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_plugin=ONE_LINE.format(distribution))
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly", *args)


def test_image_shapes_match_the_conformance_module():
    assert IMAGE_SHAPES == conformance.IMAGE_SHAPES


def test_one_line_generates_a_test_per_registered_thing(pytester):
    result = _run(pytester, "ganzoo", "--collect-only", "-q", "-m", "ganzoo_conformance")
    ids = {line.split("::")[-1] for line in result.outlines if "::" in line}
    expected = {"test_ganzoo_plugin_loads", "test_ganzoo_generator[dcgan-28x28x1]",
                "test_ganzoo_generator[upsample-conv-32x32x3]", "test_ganzoo_discriminator[timm-28x28x1]",
                "test_ganzoo_loss[wasserstein]", "test_ganzoo_trick[gradient-penalty]",
                "test_ganzoo_metric[frechet-distance]", "test_ganzoo_variant_recipe[vanilla]",
                "test_ganzoo_variant_step[wgan-gp-32x32x3]", "test_ganzoo_variant_checkpoint[dcgan]"}
    assert expected <= ids
    per_kind = {kind: ganzoo.list_components(kind, plugin="ganzoo") for kind in ("generator", "loss")}
    assert len([i for i in ids if i.startswith("test_ganzoo_generator[")]) == 2 * len(per_kind["generator"])
    assert len([i for i in ids if i.startswith("test_ganzoo_loss[")]) == len(per_kind["loss"])


def test_generated_tests_pass_for_builtin_plugins(pytester):
    """A slice of the built-ins' suite (the full one is what tests/test_variants.py runs)."""
    result = _run(pytester, "wgan", "-k", "plugin_loads or wgan-gp-28x28x1 or checkpoint and wgan-gp and not mlp")
    result.assert_outcomes(passed=3)
    result = _run(pytester, "tricks", "-k", "gradient-penalty or label-noise")
    result.assert_outcomes(passed=2)


def test_export_check_is_opt_in_and_passes_for_builtin_generators(pytester):
    assert "test_ganzoo_generator_export" not in conformance_tests({"__name__": "t"}, distribution="mlp")
    pytester.makepyfile(test_plugin=ONE_LINE.format("mlp").removesuffix(")") + ", export=True)")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "export", "-v")
    result.assert_outcomes(passed=len(ganzoo.list_components("generator", plugin="mlp")))
    assert "test_ganzoo_generator_export[mlp] PASSED" in "\n".join(result.outlines)


class _FakeDistribution:
    def __init__(self, name: str, module: str) -> None:
        self.metadata = {"name": name}
        self.version = "0.0.1"
        self.entry_points = [importlib.metadata.EntryPoint("broken-kit", module, "ganzoo")]


def _broken_plugin() -> types.ModuleType:
    """A plugin whose every component breaks one rule the kit checks."""
    import torch
    from torch import nn

    class Backwards(ganzoo.Loss):  # rewards the discriminator for scoring fakes high
        def d_loss(self, real, fake, real_labels, fake_labels):
            return real.mean() - fake.mean()

        def g_loss(self, fake):
            return fake.mean()

    class PixelPenalty(ganzoo.Trick):  # one mixing coefficient per pixel, not per sample
        name = "pixel-penalty"

        def d_loss_term(self, real, fake, state):
            mixed = torch.lerp(fake, real, torch.rand_like(real)).requires_grad_(True)
            (grad,) = torch.autograd.grad(state.discriminator(mixed).sum(), mixed, create_graph=True)
            return (grad.flatten(1).norm(dim=1) - 1).square().mean()

    class ForgetfulNoise(ganzoo.Trick):  # a schedule kept outside state_dict()
        name = "forgetful-noise"

        def __init__(self):
            self.calls = 0

        def d_input(self, images, state):
            self.calls += 1
            return images + 0.5 ** self.calls * torch.randn_like(images)

    def unbounded(image_shape, latent_dim):
        return nn.Sequential(nn.Linear(latent_dim, 28 * 28), nn.Unflatten(1, (1, 28, 28)))

    @hookimpl
    def register_generators(register):
        register("unbounded", unbounded)

    @hookimpl
    def register_losses(register):
        register("backwards", Backwards, tags=("critic",))

    @hookimpl
    def register_tricks(register):
        register("pixel-penalty", PixelPenalty, requires_loss_tags=("critic",))
        register("forgetful-noise", ForgetfulNoise)

    @hookimpl
    def register_variants(register):
        register(ganzoo.Variant(name="forgetful", generator="mlp", discriminator="mlp", loss="bce",
                                tricks=["forgetful-noise"], summary="keeps state outside state_dict"))

    module = types.ModuleType("fake_broken_kit")
    for hook in (register_generators, register_losses, register_tricks, register_variants):
        setattr(module, hook.__name__, hook)
    return module


def test_generated_tests_catch_a_broken_plugin(pytester, monkeypatch, ganzoo_fresh_plugins):
    monkeypatch.setitem(sys.modules, "fake_broken_kit", _broken_plugin())
    real = list(importlib.metadata.distributions())
    monkeypatch.setattr(ganzoo_fresh_plugins, "_distributions",
                        lambda: [*real, _FakeDistribution("ganzoo-broken-kit", "fake_broken_kit")])
    result = _run(pytester, "ganzoo-broken-kit", "-k", "not 32x32x3")
    # Passing: plugin loads, forgetful-noise builds, the recipe, one step. Failing: the rest.
    result.assert_outcomes(passed=4, failed=4)
    failures = "\n".join(result.outlines)
    for message in ("generator 'unbounded': output range",
                    "loss 'backwards': d_loss should be lower when real scores high",
                    "trick 'pixel-penalty': the mixing coefficient varies within a sample",
                    "variant 'forgetful': after a checkpoint round trip the generator continues differently"):
        assert message in failures


def test_a_missing_distribution_fails_instead_of_passing_vacuously(pytester):
    result = _run(pytester, "ganzoo-not-installed")
    result.assert_outcomes(failed=1)
    assert "no ganzoo plugin named 'ganzoo-not-installed' is loaded" in "\n".join(result.outlines)


def test_conformance_tests_never_replaces_a_test():
    namespace = {"__name__": "test_x", "test_ganzoo_plugin_loads": lambda: None}
    with pytest.raises(ValueError, match="already defines 'test_ganzoo_plugin_loads'"):
        conformance_tests(namespace, distribution="ganzoo")


def test_pytest_plugin_is_loaded_and_passive(request, pytestconfig, ganzoo_registry):
    import ganzoo.testing.pytest_plugin as plugin

    assert pytestconfig.pluginmanager.get_plugin("ganzoo") is plugin
    assert ganzoo_registry is ganzoo.get_registry()
    # No autouse fixture: this test asked for ganzoo_registry only.
    assert [name for name in request.fixturenames if name.startswith("ganzoo")] == ["ganzoo_registry"]
    assert any("ganzoo_conformance" in line for line in pytestconfig.getini("markers"))
    code = ("import sys, ganzoo.testing.pytest_plugin; "
            "heavy = [m for m in ('torch', 'timm', 'ganzoo_plugins') if m in sys.modules]; "
            "assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- ganzoo new-plugin ----------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["new-plugin", "9lives"], "plugin name '9lives' is not valid"),
    (["new-plugin", "my--plugin"], "plugin name 'my--plugin' is not valid"),
    (["new-plugin", "lambda"], "'lambda' is a Python keyword"),
    (["new-plugin", "json"], "a module 'json' already exists"),
    (["new-plugin", "ganzoo-wgan-gp"], "variant 'wgan-gp' is already registered"),
    # regression: these were scaffolded, and the package's entry point was then skipped as taken
    (["new-plugin", "wgan"], "the entry-point name 'wgan' is already used by ganzoo"),
    (["new-plugin", "loggers"], "the entry-point name 'loggers' is already used by ganzoo"),
])
def test_new_plugin_refuses_bad_names(args, message, capsys, tmp_path):
    assert main([*args, "--dir", str(tmp_path / "new")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "new").exists()


def test_new_plugin_refuses_a_non_empty_folder(capsys, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert main(["new-plugin", "ganzoo-taken", "--dir", str(tmp_path / "taken")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.endswith("already exists and is not empty; choose another --dir")
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["notes.txt"]


def test_new_plugin_scaffold_installs_and_passes_its_own_tests(ganzoo_scratch_env, tmp_path, capsys):
    env = ganzoo_scratch_env
    env.env["OMP_NUM_THREADS"] = "1"  # tiny batches; avoids thread contention on small machines
    target = tmp_path / "ganzoo-scaffolded"
    target.mkdir()  # an empty folder is fine
    assert main(["new-plugin", "ganzoo-scaffolded", "--dir", str(target)]) == 0
    assert "scaffolded-logistic" in capsys.readouterr().out
    assert (target / "ganzoo_scaffolded" / "__init__.py").is_file()
    env.install(target)
    listed = env.ganzoo("list", "--plugin", "ganzoo-scaffolded", "--json")
    assert listed.returncode == 0 and '"scaffolded"' in listed.stdout and not listed.stderr.strip()
    result = env.run("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=target)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout.splitlines()[-1] and "skipped" not in result.stdout.splitlines()[-1]
    env.uninstall("ganzoo-scaffolded")
    assert env.ganzoo("list", "--plugin", "ganzoo-scaffolded", "--json").stdout.strip() == "[]"


def test_a_failing_command_in_a_scratch_env_says_why(ganzoo_scratch_env):
    """check=True raises with the command's output in the message (CalledProcessError alone
    names only the exit status, so a failing test would not say what went wrong)."""
    from ganzoo.testing import CommandFailed

    with pytest.raises(CommandFailed) as failed:
        ganzoo_scratch_env.ganzoo("train", "no-such-variant", check=True)
    assert failed.value.returncode == 2
    message = str(failed.value)
    assert "exit status 2" in message
    assert "--- stderr" in message and "unknown variant 'no-such-variant'; run 'ganzoo list'" in message
    assert ganzoo_scratch_env.ganzoo("list", "--json", check=True).stdout.startswith("[")
