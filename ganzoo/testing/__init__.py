"""The plugin-author kit: ganzoo's conformance checks for your plugin package, in one line.

In your package's ``tests/test_conformance.py``::

    from ganzoo.testing import conformance_tests; conformance_tests(globals(), distribution="ganzoo-lsgan")

This generates parametrized tests over everything your distribution registers (see
:func:`conformance_tests`). The pytest plugin :mod:`ganzoo.testing.pytest_plugin`, loaded
automatically once ganzoo is installed, adds the ``ganzoo_conformance`` marker and fixtures
(``ganzoo_registry``, ``ganzoo_fresh_plugins``, ``ganzoo_scratch_env``); :class:`ScratchEnv`
tests a package really pip-installed, in a throwaway environment (:func:`write_plugin_package`
writes a small one to install beside yours).

Nothing here imports torch until a test runs.
"""

from __future__ import annotations

from ganzoo.testing.env import CommandFailed, InstallError, ScratchEnv, write_plugin_package
from ganzoo.testing.suite import IMAGE_SHAPES, check_plugin_loads, components_of, conformance_tests

__all__ = ["IMAGE_SHAPES", "CommandFailed", "InstallError", "ScratchEnv", "check_plugin_loads", "components_of",
           "conformance_tests", "write_plugin_package"]
