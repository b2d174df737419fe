"""``conformance_tests``: ganzoo's conformance checks as parametrized tests for one plugin.

A plugin package's test file needs one line::

    from ganzoo.testing import conformance_tests; conformance_tests(globals(), distribution="ganzoo-lsgan")

It adds ``test_ganzoo_*`` functions to the module, parametrized over every component and
variant the distribution (or entry-point name) registers, each running a check from
:mod:`ganzoo.conformance`, the same checks ganzoo runs on its built-in plugins. Names are read
from the plugin registry when the test module is collected (no torch import); the checks import
torch when they run.

A network family (registered with ``suffix_param``) is checked under its bare name, so it
must build with a default (``timm`` builds resnet18).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

import pytest

from ganzoo.specs import COMPONENT_KINDS as KINDS

IMAGE_SHAPES: tuple[tuple[int, int, int], ...] = ((1, 28, 28), (3, 32, 32))
"""The shapes every network and variant is checked at: ``ganzoo.conformance.IMAGE_SHAPES``
(repeated here so that collecting the tests does not import torch)."""



def components_of(distribution: str) -> dict[str, list[str]]:
    """Names registered by one plugin (distribution or entry-point name), per component kind,
    plus ``"variant"``: ``{"generator": [...], ..., "metric": [...], "variant": [...]}``."""
    from ganzoo.plugins import get_registry

    registry = get_registry()
    found = {kind: registry.list_components(kind, plugin=distribution) for kind in KINDS}
    found["variant"] = registry.list_variants(plugin=distribution)
    return found


def _shape_id(shape: tuple[int, int, int]) -> str:
    channels, height, width = shape
    return f"{height}x{width}x{channels}"


def _by_shape(names: Sequence[str], shapes: Sequence[tuple[int, int, int]]) -> list[Any]:
    return [pytest.param(name, shape, id=f"{name}-{_shape_id(shape)}")
            for name in names for shape in shapes]


# Each component kind's conformance check (in ganzoo.conformance) and whether it runs per shape.
_CHECKS: dict[str, tuple[str, bool]] = {
    "generator": ("check_generator", True), "discriminator": ("check_discriminator", True),
    "network": ("check_network", True), "loss": ("check_loss_signs", False),
    "trick": ("check_trick", False), "update": ("check_update", False), "metric": ("check_metric", False),
    "logger": ("check_logger", False), "latent": ("check_latent", False),
}


def _component_test(kind: str, names: Sequence[str],
                    shapes: Sequence[tuple[int, int, int]]) -> Callable[..., None]:
    """``test_ganzoo_KIND``, parametrized over ``names`` (and ``shapes`` where the check takes one)."""
    check, per_shape = _CHECKS[kind]
    if per_shape:
        @pytest.mark.parametrize("name, image_shape", _by_shape(names, shapes))
        def test(name: str, image_shape: tuple[int, int, int]) -> None:
            from ganzoo import conformance

            getattr(conformance, check)(name, image_shape)
    else:
        @pytest.mark.parametrize("name", names)
        def test(name: str) -> None:
            from ganzoo import conformance

            getattr(conformance, check)(name)
    return test


def check_plugin_loads(distribution: str) -> None:
    """The distribution is installed, its plugins load without problems, and it registers
    something (an entry point pointing at the wrong module registers nothing)."""
    from ganzoo.plugins import ENTRY_POINT_GROUP, get_host

    host = get_host()
    ours = [info for info in host.every_plugin if distribution in (info.name, info.distribution)]
    assert ours, (f"no ganzoo plugin named {distribution!r} is loaded: is the distribution installed "
                  f"(pip install -e .) and does its pyproject.toml declare an entry point in the "
                  f"[project.entry-points.{ENTRY_POINT_GROUP}] table?")
    problems = [f"{info.name}: {problem}" for info in ours for problem in info.problems]
    assert not problems, f"plugin problems of {distribution!r}: " + "; ".join(problems)
    assert any(components_of(distribution).values()), \
        f"{distribution!r} loads but registers nothing: do its hooks call register()?"


def conformance_tests(namespace: MutableMapping[str, Any], distribution: str, *,
                      image_shapes: Sequence[tuple[int, int, int]] = IMAGE_SHAPES,
                      checkpoints: bool = True, export: bool = False) -> list[str]:
    """Add ganzoo's conformance tests for ``distribution`` to a test module's ``namespace``
    (pass ``globals()``); returns the names of the test functions added.

    Tests (each marked ``ganzoo_conformance``; kinds the plugin does not register get none):

    - ``test_ganzoo_plugin_loads``: installed, loads without problems, registers something;
    - ``test_ganzoo_generator[NAME-HxWxC]``: right output shape, values in [-1, 1]; a
      conditional one depends on its labels once its parameters are perturbed;
    - ``test_ganzoo_discriminator[NAME-HxWxC]``: one finite score per image (conditional: as
      for the generator);
    - ``test_ganzoo_network[NAME-HxWxC]``: a further role's network builds, with parameters;
    - ``test_ganzoo_update[NAME]``: builds with defaults, declares the roles it trains;
    - ``test_ganzoo_loss[NAME]``: the sign convention of D and G losses;
    - ``test_ganzoo_trick[NAME]``: builds with defaults; a gradient penalty is per-sample;
    - ``test_ganzoo_metric[NAME]``: finite and deterministic;
    - ``test_ganzoo_logger[NAME]``: builds with defaults, takes a run's records, grids and a resume;
    - ``test_ganzoo_latent[NAME]``: draws its parts (one-hot classes ...), reproducibly; a code
      fixes its part and leaves the others' draws alone;
    - ``test_ganzoo_variant_recipe[NAME]``: summary, plugin, composition rules;
    - ``test_ganzoo_variant_step[NAME-HxWxC]``: one training step on CPU: every phase runs its
      repeats, every trained role changes, finite statistics;
    - ``test_ganzoo_variant_checkpoint[NAME]`` (unless ``checkpoints=False``): saving and
      loading the state continues training identically;
    - ``test_ganzoo_generator_export[NAME]`` (with ``export=True``): the generator exports as
      ONNX and as a torch.export program that reproduce it (``ganzoo export``; needs
      ``pip install 'ganzoo[export]'``).
    """
    names = components_of(distribution)
    shapes = [tuple(int(x) for x in shape) for shape in image_shapes]
    tests: dict[str, Callable[..., None]] = {}

    def test_ganzoo_plugin_loads() -> None:
        check_plugin_loads(distribution)
    tests["test_ganzoo_plugin_loads"] = test_ganzoo_plugin_loads

    for kind in KINDS:
        if names[kind]:
            tests[f"test_ganzoo_{kind}"] = _component_test(kind, names[kind], shapes)

    if export and names["generator"]:
        @pytest.mark.parametrize("name", names["generator"])
        def test_ganzoo_generator_export(name: str) -> None:
            from ganzoo import conformance

            conformance.check_export(name, shapes[0] if shapes else (1, 28, 28))
        tests["test_ganzoo_generator_export"] = test_ganzoo_generator_export

    if names["variant"]:
        @pytest.mark.parametrize("name", names["variant"])
        def test_ganzoo_variant_recipe(name: str) -> None:
            from ganzoo.plugins import get_registry

            registry = get_registry()
            variant = registry.variant(name)
            assert variant.summary, f"variant {name!r} has no summary"
            assert variant.plugin is not None and variant.plugin.distribution, \
                f"variant {name!r} does not name its distribution"
            registry.check_composition(variant)
        tests["test_ganzoo_variant_recipe"] = test_ganzoo_variant_recipe

        @pytest.mark.parametrize("name, image_shape", _by_shape(names["variant"], shapes))
        def test_ganzoo_variant_step(name: str, image_shape: tuple[int, int, int]) -> None:
            from ganzoo import conformance

            conformance.check_variant_step(name, image_shape, batch=4)
        tests["test_ganzoo_variant_step"] = test_ganzoo_variant_step

        if checkpoints:
            @pytest.mark.parametrize("name", names["variant"])
            def test_ganzoo_variant_checkpoint(name: str) -> None:
                from ganzoo import conformance

                conformance.check_checkpoint_round_trip(name, shapes[0] if shapes else (1, 28, 28))
            tests["test_ganzoo_variant_checkpoint"] = test_ganzoo_variant_checkpoint

    module = namespace.get("__name__", __name__)
    for test_name, function in tests.items():
        if test_name in namespace:
            raise ValueError(f"conformance_tests: the test module already defines {test_name!r}")
        function.__module__ = module
        function.__name__ = function.__qualname__ = test_name
        namespace[test_name] = pytest.mark.ganzoo_conformance(function)
    return list(tests)
