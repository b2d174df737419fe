"""ganzoo: a plugin-based GAN zoo for PyTorch.

Importing ganzoo (and loading its plugins) does not import torch; building a model does.

For plugin authors: :data:`hookimpl`, :class:`Variant`, :class:`OptimizerSettings`,
:class:`Role`, :class:`Phase`, :class:`Loss`, :class:`Trick`, :class:`StepState`, :class:`Update`,
:class:`StepContext`, :class:`LatentPart` and :func:`lazy` (a factory importing its
target only when built, with the target's signature for parameter checks). For users:
:func:`list_variants`, :func:`list_components`, :func:`get_variant`, :func:`create_variant`,
:func:`compose_variant`, :func:`load_gan` (every network of a trained run).
"""

from __future__ import annotations

from collections.abc import Sequence

from ganzoo.build import (GAN, TrainedGenerator, build_gan, build_generator, compose_variant, create_variant,
                          resolve_variant)
from ganzoo.components import Batch, Logger, Loss, RunInfo, StepContext, StepState, Trick, Update, record_scalars
from ganzoo.errors import (CheckpointError, ComponentBuildError, CompositionError, ConfigError, DataError,
                           DuplicateNameError, GanzooError, PluginError, StorageError, UnknownNameError)
from ganzoo.factories import lazy
from ganzoo.hookspecs import hookimpl
from ganzoo.plugins import get_registry
from ganzoo.specs import ComponentSpec, LatentPart, OptimizerSettings, Phase, Role, Variant
from ganzoo.runs.checkpoint import load_gan
from ganzoo.version import __version__


def list_variants(filter: str | Sequence[str] | None = None,
                  exclude_filters: str | Sequence[str] | None = None,
                  plugin: str | None = None) -> list[str]:
    """Registered variant names, naturally sorted; ``filter``/``exclude_filters`` are shell
    wildcards (``"wgan*"``), ``plugin`` an entry-point or distribution name."""
    return get_registry().list_variants(filter, exclude_filters, plugin)


def list_components(kind: str, filter: str | Sequence[str] | None = None,
                    exclude_filters: str | Sequence[str] | None = None,
                    plugin: str | None = None) -> list[str]:
    """Registered component names of ``kind`` (one of :data:`ganzoo.specs.COMPONENT_KINDS`)."""
    return get_registry().list_components(kind, filter, exclude_filters, plugin)


def get_variant(name: str) -> Variant:
    """The registered recipe ``name``; unknown names raise :class:`UnknownNameError`."""
    return get_registry().variant(name)


def get_component(kind: str, name: str) -> ComponentSpec:
    """The registered component ``name`` of ``kind``."""
    return get_registry().component(kind, name)


__all__ = [
    "__version__", "Batch", "build_gan", "build_generator", "CheckpointError", "ComponentBuildError",
    "ComponentSpec", "compose_variant", "CompositionError", "ConfigError", "create_variant",
    "DataError", "DuplicateNameError", "GAN", "GanzooError", "get_component", "get_variant",
    "hookimpl", "LatentPart", "lazy", "list_components", "load_gan", "list_variants", "Logger", "Loss", "OptimizerSettings",
    "Phase", "PluginError", "record_scalars", "resolve_variant", "Role", "RunInfo", "StepContext", "StepState", "StorageError",
    "TrainedGenerator", "Trick", "UnknownNameError", "Update", "Variant",
]
