"""Plugin loading: entry points, isolation of broken plugins, duplicates, env vars, the registry.

Installed distributions are faked (as pluggy's own tests do) by replacing
``ganzoo.plugins._distributions``; the fake plugin modules live in ``sys.modules``.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import types

import pytest

import ganzoo
from ganzoo import hookimpl, plugins
from ganzoo.errors import PluginError, UnknownNameError


class FakeDistribution:
    def __init__(self, name: str, entry_points: dict[str, str], version: str = "1.0") -> None:
        self.metadata = {"name": name}
        self.version = version
        self.entry_points = [importlib.metadata.EntryPoint(ep, value, "ganzoo")
                             for ep, value in entry_points.items()]


def _module(monkeypatch, name: str, **attributes) -> types.ModuleType:
    module = types.ModuleType(name)
    for key, value in attributes.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)
    return module


def _tiny_generator(image_shape, latent_dim):
    import torch

    return torch.nn.Sequential(torch.nn.Linear(latent_dim, 1))


@pytest.fixture
def fake_dists(monkeypatch, fresh_plugins):
    """Install fake distributions beside the real ones; returns a function adding one."""
    real = list(importlib.metadata.distributions())
    extra: list[FakeDistribution] = []
    monkeypatch.setattr(plugins, "_distributions", lambda: [*real, *extra])

    def add(name: str, entry_points: dict[str, str], version: str = "1.0") -> None:
        extra.append(FakeDistribution(name, entry_points, version))
    return add


def _good_plugin(monkeypatch, module_name="fake_good", generator="tiny"):
    @hookimpl
    def register_generators(register):
        register(generator, _tiny_generator, summary="tiny")

    @hookimpl
    def register_variants(register):
        register(ganzoo.Variant(name="tiny-gan", generator=generator, discriminator="mlp", loss="bce",
                                summary="a tiny test variant"))
    return _module(monkeypatch, module_name, register_generators=register_generators,
                   register_variants=register_variants)


def test_builtin_plugins_come_from_entry_points():
    host = plugins.get_host()
    assert {"mlp", "dcgan", "upsample-conv", "losses", "tricks", "wgan", "metrics"} <= set(host.plugins)
    for name in ("vanilla", "dcgan", "wgan-clip", "wgan-gp"):
        variant = ganzoo.get_variant(name)
        assert variant.plugin.distribution == "ganzoo" and variant.plugin.version == ganzoo.__version__


def test_third_party_plugin_adds_variant_with_its_distribution(monkeypatch, fake_dists):
    _good_plugin(monkeypatch)
    fake_dists("ganzoo-tiny", {"tiny": "fake_good"}, version="2.5")
    variant = ganzoo.get_variant("tiny-gan")
    assert (variant.plugin.name, variant.plugin.distribution, variant.plugin.version) == ("tiny", "ganzoo-tiny", "2.5")
    assert ganzoo.list_variants(plugin="ganzoo-tiny") == ["tiny-gan"]
    assert "vanilla" in ganzoo.list_variants()


def test_plugin_that_fails_to_import_is_reported_and_skipped(monkeypatch, fake_dists):
    _good_plugin(monkeypatch)
    fake_dists("ganzoo-broken", {"broken": "fake_missing_module_xyz"})
    fake_dists("ganzoo-tiny", {"tiny": "fake_good"})
    host = plugins.get_host()
    [problem] = host.problems
    assert "ganzoo-broken" in str(problem) and "failed to import" in str(problem)
    assert "ModuleNotFoundError" in str(problem)
    assert "tiny-gan" in ganzoo.list_variants() and "vanilla" in ganzoo.list_variants()


def test_duplicate_name_is_rejected_naming_both_sources(monkeypatch, fake_dists):
    _good_plugin(monkeypatch, "fake_dup", generator="mlp")  # 'mlp' is a built-in generator
    fake_dists("ganzoo-dup", {"dup": "fake_dup"})
    problems = [str(p) for p in plugins.get_host().problems]
    [dup] = [p for p in problems if "is taken" in p]
    assert dup.startswith("plugin dup (ganzoo-dup 1.0): generator 'mlp' is taken (owned by mlp (ganzoo")
    assert ganzoo.get_component("generator", "mlp").plugin.distribution == "ganzoo"


def test_builtin_names_cannot_be_hijacked_whatever_the_install_order(monkeypatch, fresh_plugins):
    """Regression: a package listed before ganzoo by importlib.metadata (and asking pluggy to
    run first) took 'dcgan' and 'bce'; the warning blamed ganzoo's own plugin."""
    def intruder_discriminator(image_shape):
        raise AssertionError("the intruder's network must never be built")

    @hookimpl(tryfirst=True)
    def register_discriminators(register):
        register("dcgan", intruder_discriminator, summary="not ganzoo's")

    @hookimpl(tryfirst=True)
    def register_losses(register):
        register("bce", lambda: None, summary="not ganzoo's")
        register("intruder-loss", lambda: None, summary="its own name: still loads")

    @hookimpl(tryfirst=True)
    def register_variants(register):
        register(ganzoo.Variant(name="dcgan", generator="dcgan", discriminator="dcgan", loss="bce"))

    _module(monkeypatch, "fake_intruder", register_discriminators=register_discriminators,
            register_losses=register_losses, register_variants=register_variants)
    real = list(importlib.metadata.distributions())
    intruder = FakeDistribution("aaa-intruder", {"aaa": "fake_intruder"})
    monkeypatch.setattr(plugins, "_distributions", lambda: [intruder, *real])
    host = plugins.get_host()
    for kind, name in (("discriminator", "dcgan"), ("loss", "bce")):
        assert ganzoo.get_component(kind, name).plugin.distribution == "ganzoo"
    assert ganzoo.get_variant("dcgan").plugin.distribution == "ganzoo"
    assert ganzoo.get_component("loss", "intruder-loss").plugin.distribution == "aaa-intruder"
    assert host.plugins["aaa"].problems and all("is taken" in p for p in host.plugins["aaa"].problems)
    assert len(host.plugins["aaa"].problems) == 3
    blamed = {problem.plugin.distribution for problem in host.problems}
    assert blamed == {"aaa-intruder"}


def test_third_party_plugins_load_in_a_documented_order():
    """ganzoo first, then distributions by normalised name, entry points by name, whatever
    order importlib.metadata lists them in; a name found twice (PEP 503) counts once."""
    dists = [FakeDistribution("Zeta_GAN", {"z": "m"}), FakeDistribution("ganzoo", {"b": "m", "a": "m"}),
             FakeDistribution("alpha-gan", {"y": "m", "x": "m"})]
    expected = [("ganzoo", "a"), ("ganzoo", "b"), ("alpha-gan", "x"), ("alpha-gan", "y"), ("Zeta_GAN", "z")]
    for listing in (dists, dists[::-1]):
        assert [(dist, ep.name) for dist, _, ep in plugins.load_order(listing)] == expected
    shadowed = [*dists, FakeDistribution("Alpha.Gan", {"q": "m"})]
    assert [ep.name for _, _, ep in plugins.load_order(shadowed)] == ["a", "b", "x", "y", "z"]


def test_misspelled_hook_is_reported_with_a_suggestion(monkeypatch, fake_dists):
    @hookimpl
    def register_variant(register):  # missing the final 's'
        pass
    _module(monkeypatch, "fake_typo", register_variant=register_variant)
    fake_dists("ganzoo-typo", {"typo": "fake_typo"})
    [problem] = plugins.get_host().problems
    assert "ganzoo-typo" in str(problem) and "unknown hook 'register_variant'" in str(problem)
    assert "did you mean 'register_variants'" in str(problem)
    assert "vanilla" in ganzoo.list_variants()


def test_hook_with_wrong_signature_is_reported(monkeypatch, fake_dists):
    @hookimpl
    def register_losses(register, extra_argument):
        pass
    _module(monkeypatch, "fake_sig", register_losses=register_losses)
    fake_dists("ganzoo-sig", {"sig": "fake_sig"})
    [problem] = plugins.get_host().problems
    assert str(problem) == ("plugin sig (ganzoo-sig 1.0): register_losses(register, extra_argument): a hook "
                            "implementation takes exactly one argument, named register; plugin skipped")


def test_a_far_off_hook_name_gets_no_suggestion(monkeypatch, fake_dists):
    """Regression: 'register_foo' was asked "did you mean 'register_losses'?" (the shared prefix)."""
    @hookimpl
    def register_foo(register):
        pass
    _module(monkeypatch, "fake_foo", register_foo=register_foo)
    fake_dists("ganzoo-foo", {"foo": "fake_foo"})
    [problem] = plugins.get_host().problems
    assert str(problem) == "plugin foo (ganzoo-foo 1.0): implements unknown hook 'register_foo'; plugin skipped"


def test_hook_that_raises_is_reported_and_others_keep_working(monkeypatch, fake_dists):
    @hookimpl
    def register_tricks(register):
        raise RuntimeError("boom")
    _module(monkeypatch, "fake_raise", register_tricks=register_tricks)
    fake_dists("ganzoo-raise", {"raise": "fake_raise"})
    [problem] = plugins.get_host().problems
    assert "ganzoo-raise" in str(problem) and "RuntimeError: boom" in str(problem)
    assert "ema" in ganzoo.list_components("trick")


def test_variant_with_unknown_component_is_reported_and_left_out(monkeypatch, fake_dists):
    @hookimpl
    def register_variants(register):
        register(ganzoo.Variant(name="ghost", generator="nope", discriminator="mlp", loss="bce"))
    _module(monkeypatch, "fake_ghost", register_variants=register_variants)
    fake_dists("ganzoo-ghost", {"ghost": "fake_ghost"})
    [problem] = plugins.get_host().problems
    assert "variant 'ghost' skipped: it uses unknown generator 'nope'" in str(problem)
    assert "ghost" not in ganzoo.list_variants()


def test_strict_mode_makes_plugin_problems_fatal(monkeypatch, fake_dists):
    fake_dists("ganzoo-broken", {"broken": "fake_missing_module_xyz"})
    monkeypatch.setenv("GANZOO_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="ganzoo-broken"):
        plugins.get_host()


def test_load_plugins_env_var_restricts_loading(monkeypatch, fresh_plugins):
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "mlp,losses,tricks,phases,latents")
    assert ganzoo.list_variants() == ["vanilla", "vanilla-classic"]
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "")
    plugins.reset()
    assert ganzoo.list_variants() == []


def test_disable_plugins_env_var(monkeypatch, fresh_plugins):
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "wgan")
    assert ganzoo.list_variants() == ["acgan", "cdcgan-proj", "cgan", "dcgan", "ragan", "vanilla", "vanilla-classic"]


def test_registry_listing_filters():
    assert ganzoo.list_variants("wgan*") == ["wgan-clip", "wgan-clip-mlp", "wgan-gp", "wgan-gp-mlp"]
    assert ganzoo.list_variants(["vanilla", "dc*"]) == ["dcgan", "vanilla"]
    assert ganzoo.list_variants(exclude_filters="wgan*") == ["acgan", "cdcgan-proj", "cgan", "dcgan", "ragan", "vanilla", "vanilla-classic"]
    assert ganzoo.list_variants("vanilla*", exclude_filters="*classic") == ["vanilla"]
    assert ganzoo.list_variants(plugin="wgan") == ["wgan-clip", "wgan-clip-mlp", "wgan-gp", "wgan-gp-mlp"]
    assert ganzoo.list_components("discriminator", "dcgan*") == ["dcgan", "dcgan-critic"]
    assert ganzoo.list_components("trick", plugin="nobody") == []


def test_unknown_names_suggest_close_matches():
    with pytest.raises(UnknownNameError, match="did you mean 'wgan-gp'") as info:
        ganzoo.get_variant("wgan_gp")
    assert isinstance(info.value, KeyError) and str(info.value).startswith("unknown variant")
    with pytest.raises(UnknownNameError, match="did you mean 'gradient-penalty'"):
        ganzoo.create_variant("wgan-clip", tricks=["gradient-penalti"])
    with pytest.raises(UnknownNameError, match="unknown generator 'zzz'"):
        ganzoo.create_variant("dcgan", generator="zzz")


def test_loading_plugins_and_listing_does_not_import_torch():
    code = ("import sys, ganzoo; from ganzoo.cli import main; "
            "assert ganzoo.list_variants(); main(['list']); main(['list', '--components']); "
            "main(['plugins', '--json']); "
            "heavy = [m for m in ('torch', 'timm', 'torchvision') if m in sys.modules]; "
            "assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_hookspec_is_documented_and_tested():
    """Like datasette: each hook has a docstring documenting its parameter, and a test here
    (or in another test module) references it by name."""
    import inspect
    import pathlib

    from ganzoo import hookspecs

    specs = [name for name, f in vars(hookspecs).items()
             if callable(f) and hasattr(f, "ganzoo_spec")]
    assert set(specs) == set(plugins.HOOK_NAMES)
    test_text = "".join(p.read_text() for p in pathlib.Path(__file__).parent.glob("test_*.py"))
    for name in specs:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert ":param register:" in doc and "Called" in doc, f"hookspec {name} is not documented"
        assert f"def {name}(" in test_text, f"no test implements hook {name}"


@pytest.mark.parametrize("hook", plugins.HOOK_NAMES)
def test_each_hook_registers_through_a_plugin(monkeypatch, fake_dists, hook):
    """Every hook, implemented by a third-party plugin, adds to the registry."""
    import torch

    class Zero(ganzoo.Loss):
        def d_loss(self, r, f, rl, fl):
            return f.mean() - r.mean()

        def g_loss(self, f):
            return -f.mean()

    def register_generators(register):
        register("t-gen", _tiny_generator)

    def register_discriminators(register):
        register("t-disc", lambda shape: torch.nn.Flatten())

    def register_networks(register):
        register("t-net", lambda shape, latent_dim: torch.nn.Linear(latent_dim, 1))

    def register_losses(register):
        register("t-loss", Zero, tags=("critic",))

    def register_updates(register):
        register("t-update", ganzoo.Update, roles=("generator",))

    def register_tricks(register):
        register("t-trick", ganzoo.Trick, conflicts=("ema",))

    def register_metrics(register):
        register("t-metric", lambda context: float(context.samples.mean()), better="higher")

    def register_loggers(register):
        register("t-logger", ganzoo.Logger)

    def register_latents(register):
        register("t-latent", [ganzoo.LatentPart("code", "categorical", 3), ganzoo.LatentPart("noise", "normal")])

    def register_variants(register):
        register(ganzoo.Variant(name="t-variant", generator="mlp", discriminator="mlp", loss="bce"))

    impl = {"register_metrics": register_metrics, "register_loggers": register_loggers, "register_generators": register_generators, "register_discriminators": register_discriminators,
            "register_losses": register_losses, "register_tricks": register_tricks,
            "register_networks": register_networks, "register_updates": register_updates,
            "register_latents": register_latents, "register_variants": register_variants}[hook]
    _module(monkeypatch, "fake_hook", **{hook: hookimpl(impl)})
    fake_dists("ganzoo-hook", {"hook": "fake_hook"})
    registry = ganzoo.get_registry()
    assert not plugins.get_host().problems
    if hook == "register_variants":
        assert registry.variant("t-variant").plugin.distribution == "ganzoo-hook"
    else:
        kind = plugins.COMPONENT_HOOKS[hook]
        name = {"generator": "t-gen", "discriminator": "t-disc", "loss": "t-loss", "trick": "t-trick",
                "metric": "t-metric", "network": "t-net", "update": "t-update", "logger": "t-logger",
                "latent": "t-latent"}[kind]
        assert registry.component(kind, name).plugin.distribution == "ganzoo-hook"
    assert plugins.get_host().plugins["hook"].hooks == [hook]


def test_family_names_bind_their_suffix(monkeypatch, fake_dists):
    """A network registered with suffix_param is a family: NAME:VALUE passes VALUE."""
    def wide_mlp(image_shape, width):
        from ganzoo_plugins.mlp.networks import MLPDiscriminator

        return MLPDiscriminator(image_shape, hidden=(int(width),))

    @hookimpl
    def register_discriminators(register):
        register("wide", wide_mlp, suffix_param="width")
    _module(monkeypatch, "fake_family", register_discriminators=register_discriminators)
    fake_dists("ganzoo-family", {"family": "fake_family"})
    spec = ganzoo.get_component("discriminator", "wide:32")
    assert spec.name == "wide:32" and dict(spec.bound_params) == {"width": "32"}
    gan = ganzoo.create_variant("vanilla", discriminator="wide:32")
    assert gan.discriminator.net[1].out_features == 32
    with pytest.raises(UnknownNameError):
        ganzoo.get_component("discriminator", "mlp:32")  # mlp is not a family


def test_registry_reloads_after_components_were_built(fresh_plugins):
    """Regression: importing the submodule plugins/tricks/ema.py rebound the package attribute
    'ema' (the factory) to the module, so a second load reported 'factory is not callable'."""
    for trick in ganzoo.list_components("trick"):
        ganzoo.get_component("trick", trick).create()
    plugins.reset()
    assert not plugins.get_host().problems
    assert "ema" in ganzoo.list_components("trick") and "vanilla" in ganzoo.list_variants()


def test_a_plugin_skipped_for_a_taken_entry_point_name_is_listed_and_fails_the_kit(monkeypatch, fake_dists, capsys):
    """Regression: it was only a stderr warning; ``ganzoo plugins`` left it out and the kit's
    load check passed by matching ganzoo's own ``wgan`` plugin."""
    from ganzoo.cli import main
    from ganzoo.testing import check_plugin_loads

    _good_plugin(monkeypatch, "fake_wgan_clash")
    fake_dists("wgan", {"wgan": "fake_wgan_clash"})
    assert main(["plugins", "--json"]) == 0
    rows = [row for row in json.loads(capsys.readouterr().out) if row["distribution"] == "wgan"]
    assert [row["problems"] for row in rows] == [["entry point name 'wgan' is already used by ganzoo; skipped"]]
    assert "tiny-gan" not in ganzoo.list_variants()
    with pytest.raises(AssertionError, match="plugin problems of 'wgan': wgan: entry point name 'wgan' is already used"):
        check_plugin_loads("wgan")


@pytest.mark.parametrize("variable", ["GANZOO_LOAD_PLUGINS", "GANZOO_DISABLE_PLUGINS"])
def test_a_plugin_setting_naming_no_installed_plugin_is_said(monkeypatch, fresh_plugins, variable):
    """Regression: a typo there was silently ignored (and GANZOO_LOAD_PLUGINS=typo listed nothing)."""
    monkeypatch.setenv(variable, f"mlp,{variable.lower()}-typo")
    problems = [str(p) for p in plugins.get_host().problems if p.plugin is None]
    assert problems == [f"{variable} names '{variable.lower()}-typo', which no installed plugin has as entry-point "
                        "or distribution name (ganzoo plugins lists them)"]
    monkeypatch.setenv("GANZOO_STRICT_PLUGINS", "1")
    plugins.reset()
    with pytest.raises(PluginError, match=f"{variable} names"):
        plugins.get_host()


@pytest.mark.parametrize("extra", [{"tags": "labels"}, {"tags": ["labels", 3]}, {"tags": 5}])
def test_tags_must_be_a_list_of_strings(monkeypatch, fake_dists, extra):
    """Regression: tags="labels" was split into the tags a, b, e, l, s."""
    @hookimpl
    def register_losses(register):
        register("tagged-loss", lambda: None, summary="tagged", **extra)

    _module(monkeypatch, "fake_tags", register_losses=register_losses)
    fake_dists("ganzoo-tags", {"tags": "fake_tags"})
    [problem] = plugins.get_host().problems
    assert f"loss 'tagged-loss': tags must be a list of strings, got {extra['tags']!r}" in str(problem)
    assert not ganzoo.get_registry().has_component("loss", "tagged-loss")


@pytest.mark.parametrize("name", ["Bad Name", "ema:fast", "a=b", "x,y", "dist/name"])
def test_names_that_flags_would_split_are_refused(monkeypatch, fake_dists, name):
    """Regression: any string was accepted, so a trick named 'ema:fast' could never be chosen
    (--trick NAME:k=v splits on ':')."""
    @hookimpl
    def register_tricks(register):
        register(name, lambda: None, summary="odd")

    @hookimpl
    def register_variants(register):
        register(ganzoo.Variant(name=name, generator="mlp", discriminator="mlp", loss="bce"))

    _module(monkeypatch, "fake_odd_names", register_tricks=register_tricks, register_variants=register_variants)
    fake_dists("ganzoo-odd", {"odd": "fake_odd_names"})
    problems = sorted(str(p) for p in plugins.get_host().problems)
    assert problems == [f"plugin odd (ganzoo-odd 1.0): register_{kind}s: {kind} name {name!r}: no spaces, ':', '=', ',' or '/' (flags such "
                        "as --trick NAME:k=v,... and qualified names dist/NAME split on them)" for kind in ("trick", "variant")]
