"""Shared fixtures. Parametrized tests are generated from the live registry, so every
registered variant and component, built-in or from an installed third-party plugin, is
tested by the same code."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _single_torch_thread():
    """Tests run tiny batches, where threads cost more than they give; one thread also keeps
    a loaded 2-core machine (CI, a parallel run) from oversubscribing."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Reset the process-wide plugin host before and after a test that changes plugins."""
    from ganzoo import plugins

    plugins.reset()
    yield plugins
    plugins.reset()


def pytest_generate_tests(metafunc):
    import ganzoo

    if "variant_name" in metafunc.fixturenames:
        metafunc.parametrize("variant_name", ganzoo.list_variants())
    from ganzoo.specs import COMPONENT_KINDS

    for kind in COMPONENT_KINDS:
        fixture = f"{kind}_name"
        if fixture in metafunc.fixturenames:
            metafunc.parametrize(fixture, ganzoo.list_components(kind))
