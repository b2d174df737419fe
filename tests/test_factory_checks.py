"""What ganzoo checks when it builds a component (issue 18): the factory's result, a probe of
both networks, and the recipe's parameters against the factory's signature (``ganzoo.lazy``).

Plugins are added in-process to the default host (``fresh_plugins`` reloads it around each
test)."""

from __future__ import annotations

import inspect
import math
import re
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pytest
import torch
from torch import nn

import ganzoo
from ganzoo import hookimpl, lazy
from ganzoo.checks import probe_discriminator, probe_generator
from ganzoo.errors import ComponentBuildError
from ganzoo.cli import main
from ganzoo.factories import accepts, parameter_problem

if TYPE_CHECKING:
    from ganzoo_plugins.mlp.networks import MLPGenerator  # a name only type checkers see

PLUGIN = "checks (ganzoo-checks 1.0)"


@pytest.fixture
def add_plugin(fresh_plugins):
    """Register hook functions as one in-process plugin named ``checks``."""
    def add(**hooks):
        plugin = types.SimpleNamespace(**{name: hookimpl(hook) for name, hook in hooks.items()})
        host = fresh_plugins.get_host()
        host.add_plugin(plugin, "checks", "ganzoo-checks", "1.0")
        assert not host.problems
    return add


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def _build(**parts):
    parts = {"generator": "mlp", "discriminator": "mlp", "loss": "bce", **parts}
    return ganzoo.build_gan(ganzoo.compose_variant(**parts))


# -- the factory's result -----------------------------------------------------------------------


def test_a_generator_factory_returning_none_is_one_line(add_plugin):
    add_plugin(register_generators=lambda register: register("nothing", lambda shape, latent_dim: None))
    with pytest.raises(ComponentBuildError) as err:
        _build(generator="nothing")
    assert _one_line(err) == (f"generator 'nothing' (plugin {PLUGIN}): factory returned None, "
                              "not a torch.nn.Module")


def test_a_loss_factory_returning_something_else_is_one_line(add_plugin):
    add_plugin(register_losses=lambda register: register("half", lambda: torch.nn.BCEWithLogitsLoss()))
    with pytest.raises(ComponentBuildError) as err:
        _build(loss="half")
    message = _one_line(err)
    assert message.startswith(f"loss 'half' (plugin {PLUGIN}): factory returned a BCEWithLogitsLoss")
    assert message.endswith("not a ganzoo.Loss")


class _HalfLoss(ganzoo.Loss):
    def d_loss(self, real_scores, fake_scores, real_targets=None, fake_targets=None):
        return fake_scores.mean() - real_scores.mean()


def test_a_loss_or_update_missing_a_method_is_one_line_at_build(add_plugin):
    """Regression: a Loss without g_loss (or the bare base class) built, and the step then
    failed with a traceback naming neither the loss nor its plugin."""
    add_plugin(register_losses=lambda register: (register("half", _HalfLoss), register("bare", ganzoo.Loss)),
               register_updates=lambda register: register("idle", ganzoo.Update))
    for part, message in (({"loss": "half"}, "loss 'half' (plugin {}): _HalfLoss does not implement g_loss, "
                                             "which every ganzoo.Loss must"),
                          ({"loss": "bare"}, "loss 'bare' (plugin {}): Loss does not implement d_loss and g_loss, "
                                             "which every ganzoo.Loss must")):
        with pytest.raises(ComponentBuildError) as err:
            _build(**part)
        assert _one_line(err) == message.format(PLUGIN)
    with pytest.raises(ComponentBuildError) as err:
        _build(phases=[ganzoo.Phase("idle")])
    assert _one_line(err) == f"update 'idle' (plugin {PLUGIN}): Update does not implement run, which every ganzoo.Update must"


@pytest.mark.parametrize("value, shown", [("great", "'great' (str)"), (True, "True (bool)"),
                                          (math.inf, "inf (float)"), ([0.5, "x"], "[0.5, 'x'] (list)"),
                                          ({"a": None}, "dict whose 'a' is None")])
def test_a_metric_returning_a_non_number_is_one_line(add_plugin, value, shown):
    from ganzoo.evaluation.evaluate import _compute

    add_plugin(register_metrics=lambda register: register("odd", lambda context: value))
    with pytest.raises(ComponentBuildError) as err:
        _compute(["odd"], context=None)
    message = _one_line(err)
    assert message.startswith(f"metric 'odd' (plugin {PLUGIN}): returned ") and shown in message


def test_metric_results_that_fit_the_contract_are_kept_as_plain_numbers(add_plugin):
    from ganzoo.evaluation.evaluate import _compute

    results = {"nan": math.nan, "np": np.float32(0.5), "rows": {"count": np.int64(3), "histogram": (1, 2)}}
    add_plugin(register_metrics=lambda register: [register(name, lambda context, v=v: v)
                                                  for name, v in results.items()])
    values = _compute(list(results), context=None)
    assert math.isnan(values["nan"]) and values["np"] == 0.5 and type(values["np"]) is float
    assert values["rows.count"] == 3 and type(values["rows.count"]) is int
    assert values["rows.histogram"] == [1, 2]


# -- the probe --------------------------------------------------------------------------------


class _Constant(nn.Module):
    """Maps a batch to a constant output of a given per-sample shape."""

    def __init__(self, shape: tuple[int, ...], value: float = 0.0) -> None:
        super().__init__()
        self.shape, self.value = shape, value
        self.weight = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * torch.full((x.shape[0], *self.shape), self.value)


@pytest.mark.parametrize("network, message", [
    (lambda shape, latent: _Constant((10,)),
     "generator 'bad' (plugin {}): maps latents 2×100 to 2×10, expected images 2×1×28×28"),
    (lambda shape, latent: _Constant(shape, value=3.0),
     "generator 'bad' (plugin {}): gives values in [3, 3], outside [-1, 1]"),
    (lambda shape, latent: _Constant(shape, value=math.nan),
     "generator 'bad' (plugin {}): gives non-finite values"),
])
def test_a_generator_breaking_its_contract_is_one_line(add_plugin, network, message):
    add_plugin(register_generators=lambda register: register("bad", network))
    with pytest.raises(ComponentBuildError) as err:
        _build(generator="bad")
    assert _one_line(err).startswith(message.format(PLUGIN))


@pytest.mark.parametrize("network, message", [
    (lambda shape: nn.Sequential(nn.Flatten(), nn.Linear(784, 2)),
     "discriminator 'bad' (plugin {}): maps images 2×1×28×28 to 2×2, expected one score per image"),
    (lambda shape: nn.Sequential(nn.Flatten(), nn.Linear(100, 1)),  # built for other images
     "discriminator 'bad' (plugin {}): forward of images 2×1×28×28 failed: RuntimeError: "),
    (lambda shape: nn.Identity(),
     "discriminator 'bad' (plugin {}): maps images 2×1×28×28 to 2×1×28×28"),
])
def test_a_discriminator_breaking_its_contract_is_one_line(add_plugin, network, message):
    add_plugin(register_discriminators=lambda register: register("bad", network))
    with pytest.raises(ComponentBuildError) as err:
        _build(discriminator="bad")
    assert _one_line(err).startswith(message.format(PLUGIN))


class _NoisyGenerator(nn.Module):
    """Draws from the global RNG even in eval mode, has BatchNorm, a submodule kept in eval
    mode, and no random initialisation: building it must leave every RNG state as it was."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.norm = nn.BatchNorm1d(latent_dim)
        self.frozen = nn.Dropout(0.5).eval()
        self.scale = nn.Parameter(torch.ones(()))
        self.calls: list[tuple[bool, bool, tuple[int, ...]]] = []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self.calls.append((self.training, torch.is_grad_enabled(), tuple(z.shape)))
        x = self.frozen(self.norm(z + torch.randn_like(z)))
        return torch.tanh(self.scale * x.mean(1)).view(-1, 1, 1, 1).expand(-1, *self.image_shape)


def test_the_probe_runs_once_and_leaves_no_trace(add_plugin):
    add_plugin(register_generators=lambda register: register("noisy", _NoisyGenerator),
               register_discriminators=lambda register: register(
                   "flat", lambda shape: _Constant((1,))))
    torch.manual_seed(123)
    rng_state = torch.get_rng_state()
    gan = _build(generator="noisy", discriminator="flat", loss="wasserstein")
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert gan.generator.calls == [(False, False, (2, 100))]  # probed once, eval, no autograd
    assert gan.generator.training and not gan.generator.frozen.training
    norm = gan.generator.norm
    assert int(norm.num_batches_tracked) == 0 and torch.equal(norm.running_mean, torch.zeros(100))


def test_the_probe_keeps_batchnorm_statistics_and_the_rng_of_a_builtin_network():
    gan = ganzoo.create_variant("dcgan")
    before = {k: v.clone() for k, v in gan.generator.state_dict().items()}
    rng_state = torch.get_rng_state()
    probe_generator(ganzoo.get_component("generator", "dcgan"), gan.generator, gan.variant,
                     gan.image_shape, gan.device)
    probe_discriminator(ganzoo.get_component("discriminator", "dcgan"), gan.discriminator,
                         gan.image_shape, gan.device)
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert all(torch.equal(v, before[k]) for k, v in gan.generator.state_dict().items())
    assert gan.generator.training and gan.discriminator.training


# -- parameters -------------------------------------------------------------------------------


def test_a_trick_parameter_of_the_wrong_type_on_the_command_line(tmp_path, capsys):
    code = main(["train", "--trick", "ema:decay=banana", "--steps", "1", "--out", str(tmp_path / "r")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0] == ("ganzoo train: error: trick 'ema' (plugin tricks (ganzoo "
                        f"{ganzoo.__version__})): parameter decay wants float, got 'banana' (str)")


def test_an_unknown_trick_parameter_gets_a_did_you_mean():
    with pytest.raises(ComponentBuildError) as err:
        ganzoo.create_variant("vanilla", tricks={"ema": {"decy": 0.99}})
    message = _one_line(err)
    assert message.startswith("trick 'ema' (plugin tricks (ganzoo ")
    assert message.endswith("unknown parameter 'decy'; did you mean 'decay'? (it accepts: decay, warmup)")


def test_builtin_network_parameters_are_checked_too():
    with pytest.raises(ComponentBuildError, match=r"generator 'dcgan' .*: parameter width wants int, "
                                                  r"got 64\.5 \(float\)"):
        ganzoo.create_variant("dcgan", generator_params={"width": 64.5})
    with pytest.raises(ComponentBuildError, match="parameter image_shape is passed by ganzoo itself"):
        ganzoo.create_variant("dcgan", discriminator_params={"image_shape": [1, 28, 28]})
    # The critic's lazy default (dropout 0) can still be overridden, and is checked.
    with pytest.raises(ComponentBuildError, match="parameter dropout wants float, got 'none'"):
        ganzoo.create_variant("wgan-gp", discriminator_params={"dropout": "none"})
    assert ganzoo.create_variant("wgan-gp", discriminator_params={"dropout": 0.1}).discriminator is not None


def _annotated_generator(image_shape: tuple[int, int, int], latent_dim: int, width: int = 4,
                         mode: Literal["up", "down"] = "up", hidden: list[int] | None = None,
                         base: MLPGenerator | None = None) -> nn.Module:
    return _Constant(image_shape)


@pytest.mark.parametrize("params, problem", [
    ({"width": "4"}, "parameter width wants int, got '4' (str)"),
    ({"width": True}, "parameter width wants int, got True (bool)"),
    ({"mode": "sideways"}, "parameter mode wants 'up' or 'down', got 'sideways' (str)"),
    ({"hidden": 3}, "parameter hidden wants list[int] | None, got 3 (int)"),
    ({"widht": 3}, "unknown parameter 'widht'; did you mean 'width'? (it accepts: width, mode, hidden, base)"),
    ({"width": 8, "mode": "down", "hidden": (1, 2), "base": "anything: its annotation cannot be resolved"},
     None),
])
def test_string_annotations_are_resolved_where_they_can_be(add_plugin, params, problem):
    assert isinstance(inspect.signature(_annotated_generator).parameters["width"].annotation, str)
    assert parameter_problem(_annotated_generator, 2, params) == problem
    add_plugin(register_generators=lambda register: register("annotated", _annotated_generator))
    if problem is None:
        _build(generator="annotated", generator_params=params)
    else:
        with pytest.raises(ComponentBuildError) as err:
            _build(generator="annotated", generator_params=params)
        assert _one_line(err) == f"generator 'annotated' (plugin {PLUGIN}): {problem}"


@pytest.mark.parametrize("annotation, value, expected", [
    (float, 1, True), (float, False, False), (int, 1.0, False), (bool, 0, False),
    ("int | None", None, True), ("Optional[str]", 1, False), ("tuple[float, float]", [0.1, 0.2], True),
    ("Sequence[int]", "abc", False), ("Mapping[str, int]", {}, True), ("Callable[[], None]", 1, None),
])
def test_accepts_understands_common_annotations(annotation, value, expected):
    import typing
    from collections.abc import Callable, Mapping, Sequence  # noqa: F401 - used by eval

    if isinstance(annotation, str):
        annotation = eval(annotation, {**vars(typing), "Sequence": Sequence, "Mapping": Mapping,
                                       "Callable": Callable})
    assert accepts(annotation, value) is expected


def test_family_suffixes_are_checked_by_name_only(add_plugin):
    def wide(image_shape, width: int = 8):  # the suffix arrives as a string: not type-checked
        return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(image_shape), int(width)),
                             nn.Linear(int(width), 1))

    add_plugin(register_discriminators=lambda register: [
        register("wide", wide, suffix_param="width"),
        register("typo", wide, suffix_param="widht")])
    assert _build(discriminator="wide:16").discriminator[1].out_features == 16
    with pytest.raises(ComponentBuildError, match=r"unknown parameter 'widht'; did you mean 'width'"):
        _build(discriminator="typo:16")


# -- ganzoo.lazy ------------------------------------------------------------------------------


def test_lazy_imports_its_target_only_when_asked(tmp_path, monkeypatch):
    (tmp_path / "lazy_target_for_tests.py").write_text(
        "class Thing:\n    def __init__(self, size: int = 1, name: str = 'x'):\n"
        "        self.size, self.name = size, name\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_target_for_tests", raising=False)
    factory = lazy("lazy_target_for_tests:Thing", name="y")
    assert "lazy_target_for_tests" not in sys.modules
    assert str(inspect.signature(factory)) == "(size: int = 1, *, name: str = 'y')"
    assert "lazy_target_for_tests" in sys.modules
    thing = factory(size=3)
    assert (thing.size, thing.name) == (3, "y") and factory(name="z").name == "z"
    assert parameter_problem(factory, 0, {"size": "3"}) == "parameter size wants int, got '3' (str)"
    assert repr(factory) == "lazy('lazy_target_for_tests:Thing', name='y')"
    with pytest.raises(ValueError, match="must be 'package.module:attribute'"):
        lazy("lazy_target_for_tests.Thing")


def test_a_lazy_target_that_does_not_exist_is_one_line(add_plugin):
    add_plugin(register_tricks=lambda register: register("ghost", lazy("ganzoo_plugins.tricks.labels:Ghost")))
    with pytest.raises(ComponentBuildError) as err:
        _build(tricks={"ghost": {}})
    assert _one_line(err) == (f"trick 'ghost' from plugin {PLUGIN} failed to build: ImportError: "
                              "lazy('ganzoo_plugins.tricks.labels:Ghost'): 'ganzoo_plugins.tricks.labels' "
                              "has no attribute 'Ghost'")


def test_builtin_plugins_register_lazy_factories():
    for kind, name in [("generator", "mlp"), ("discriminator", "dcgan-critic"), ("loss", "bce"),
                       ("trick", "ema"), ("discriminator", "timm")]:
        assert isinstance(ganzoo.get_component(kind, name).factory, ganzoo.factories.LazyFactory)


def test_the_docs_examples_run(capsys):
    doc = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text(encoding="utf-8")
    start = doc.index("### What ganzoo checks when it builds a component")
    section = doc[start:re.search(r"^##", doc[start + 3:], re.M).start() + start + 3]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    for block in blocks:
        exec(compile(block, "docs/plugins.md", "exec"), {})
    assert capsys.readouterr().out == "(decay: float = 0.999, warmup: bool = True) -> None\n"
    assert "parameter decay wants float, got 'banana' (str)" in section
