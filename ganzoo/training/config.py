"""Training settings: what a run does, from a TOML file and/or command-line flags.

A :class:`TrainConfig` names a variant and the changes to its recipe (``recipe``: any
:class:`~ganzoo.Variant` field), plus everything about the run itself (length, data, device,
seed, output). ``ganzoo train --config run.toml`` reads one; flags override it.

Example ``run.toml``::

    variant = "dcgan"
    steps = 2000
    seed = 1
    data = "mnist"

    [recipe]
    batch_size = 128
    critic_steps = 2

    [recipe.g_optimizer]
    lr = 1e-4

    [recipe.tricks.ema]
    decay = 0.999
"""

from __future__ import annotations

import dataclasses
import math
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.build import resolve_variant
from ganzoo.errors import ConfigError
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
from ganzoo.specs import RECIPE_TABLES, OptimizerSettings, Variant


BASE_VARIANT = "vanilla"
"""What ``ganzoo train`` starts from when no variant is named."""

RESUMABLE_SETTINGS = ("steps", "epochs", "minutes", "log_every", "sample_every",
                      "checkpoint_every", "eval_every", "eval_doubling", "eval_samples", "device", "dist_timeout",
                      "graph", "precision", "channels_last", "loggers")
"""Settings a resumed run may change; everything else must match the checkpoint."""

MAX_SEED = 2**63
"""Seeds are integers with ``0 <= seed < MAX_SEED``: what torch, numpy and ``random`` all take
(with room for the per-rank and per-step offsets a run adds)."""


MAX_IMAGE_SIZE = 1024
"""The largest ``--image-size`` (StyleGAN's largest): a typo such as 100000 would otherwise
resize the whole data set to it and run the machine out of memory."""


def check_image_size(size: int | None) -> None:
    """A one-line ConfigError for an ``--image-size`` above :data:`MAX_IMAGE_SIZE`."""
    if size is not None and size > MAX_IMAGE_SIZE:
        raise ConfigError(f"--image-size must be at most {MAX_IMAGE_SIZE}, got {size}")


def check_seed(seed: int) -> None:
    """A one-line ConfigError for a seed outside ``0 <= seed < MAX_SEED`` (train, sample, eval)."""
    if not 0 <= seed < MAX_SEED:
        raise ConfigError(f"--seed must be an integer from 0 to 2**63 - 1, got {seed!r}")


@dataclass
class TrainConfig:
    """Everything a training run needs besides the plugins."""

    variant: str | None = None
    """The named recipe to start from. None: start from :data:`BASE_VARIANT`, and call the run
    ``custom`` when the recipe replaces one of its components or tricks."""
    recipe: dict[str, Any] = field(default_factory=dict)
    """Changes to the variant's recipe (Variant fields; optimizer and trick tables merge)."""
    steps: int | None = None
    """Generator steps; defaults to the variant's ``steps`` unless epochs/minutes are given."""
    epochs: float | None = None
    """Passes over the data, counted in discriminator batches."""
    minutes: float | None = None
    """Training-time budget in minutes (evaluations during the run do not count); the run
    stops at whichever limit comes first. A resumed run gets it afresh."""
    data: str | None = None
    """Data source (see ganzoo.data.load_images); None is the built-in MNIST digits."""
    labels: str | None = None
    """A class-label file for ``data`` (MNIST IDX ``*-labels-idx1-ubyte[.gz]`` or ``.npy``), for
    sources without labels of their own (see ganzoo.data.load_dataset)."""
    fields: dict[str, str] = field(default_factory=dict)
    """Further data fields the variant's updates read (its ``data_fields``), by name: a data
    source each (the formats of ``data``), drawn on its own, unpaired with the images
    (``--field domain_b=SOURCE``: CycleGAN's second domain)."""
    paired_fields: dict[str, str] = field(default_factory=dict)
    """Like ``fields``, but drawn with the images' own indices: the same number of images, the
    i-th belonging to the i-th image (``--paired-field target=SOURCE``: pix2pix's targets)."""
    image_size: int | None = None
    channels: int | None = None
    seed: int = 0
    device: str = "auto"
    out: str | None = None
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 500
    eval_every: int = 0
    """Evaluate sample quality every N steps (0: never)."""
    eval_doubling: bool = False
    """Evaluate at ``eval_every`` × 1, 2, 4, 8 … steps instead of every ``eval_every``: a few
    points on a log scale whatever the run's length (``ganzoo compare --budget`` uses it, so
    variants of very different speeds are scored at common step counts)."""
    eval_samples: int = 1000
    samples_in_grid: int = 64
    sync_batchnorm: bool = False
    """Distributed runs: synchronise BatchNorm statistics across ranks (CUDA only)."""
    dist_timeout: float = 600.0
    """Distributed runs: seconds a collective may wait before the run fails (a dead rank)."""
    graph: str = "auto"
    """CUDA graph capture of the whole step: auto (on CUDA when the step allows it), on, off."""
    precision: str = "auto"
    """auto (bf16 on CPUs with native bf16 matrix units, else fp32), fp32, or bf16 (bfloat16
    autocast on CUDA or the CPU; weights and optimizers stay float32)."""
    channels_last: bool = False
    """Convolutional networks and data in channels-last memory format (CUDA)."""
    loggers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Where the run's records go besides ``metrics.jsonl``: logger name → its parameters
    (``--logger csv --logger tensorboard:flush_secs=5``; in TOML ``loggers = ["csv"]`` or a
    ``[loggers.tensorboard]`` table)."""

    def __post_init__(self) -> None:
        _check_types(self)
        if self.variant is not None and not self.variant:
            raise ConfigError(f"variant must be a name, got {self.variant!r}")
        for name in ("log_every", "sample_every", "checkpoint_every", "samples_in_grid", "eval_samples"):
            value = getattr(self, name)
            if value < 1:
                raise ConfigError(f"{_flag(name)} must be a positive integer, got {value!r}")
        for name in ("steps", "image_size", "channels"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{_flag(name)} must be a positive integer, got {value!r}")
        check_image_size(self.image_size)
        if self.eval_every < 0:
            raise ConfigError(f"--eval-every must be >= 0, got {self.eval_every}")
        if self.channels not in (None, 1, 3):
            raise ConfigError(f"--channels must be 1 or 3, got {self.channels}")
        for name in ("epochs", "minutes"):
            value = getattr(self, name)
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{_flag(name)} must be a positive number, got {value!r}")
        if not (self.dist_timeout > 0 and math.isfinite(self.dist_timeout)):
            raise ConfigError(f"--dist-timeout must be a positive number of seconds, got {self.dist_timeout!r}")
        check_seed(self.seed)
        from ganzoo.training.capture import check_modes

        check_modes(self.graph, self.precision)
        _check_fields(self.fields, self.paired_fields)
        self.loggers = _logger_table(self.loggers)
        _check_recipe(self.recipe)

    def evaluates_at(self, step: int) -> bool:
        """Whether sample quality is scored after ``step`` (see ``eval_every``, ``eval_doubling``)."""
        if not self.eval_every or step % self.eval_every:
            return False
        multiple = step // self.eval_every
        return not self.eval_doubling or multiple & (multiple - 1) == 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "config", *,
                  name_origin: bool = False) -> TrainConfig:
        """The config from a table of settings (a TOML file's, a checkpoint's). An unknown or
        mistyped setting is a one-line :class:`ConfigError` naming ``origin``; with
        ``name_origin`` (the settings all came from the file ``origin``) so is any other."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{origin}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        try:
            return cls(**dict(data))
        except TypeError as err:
            raise ConfigError(f"{origin}: {err}") from None
        except ConfigError as err:
            if not name_origin:
                raise
            raise ConfigError(f"{origin}: {err}") from None


def _check_fields(fields: Mapping[str, str], paired: Mapping[str, str]) -> None:
    """Field names are identifiers other than the images' and labels', each given once."""
    from ganzoo.specs import BATCH_FIELDS

    for flag, table in (("--field", fields), ("--paired-field", paired)):
        for name in table:
            if not name.isidentifier() or name in BATCH_FIELDS:
                raise ConfigError(f"{flag} {name}: a field name is an identifier other than "
                                  f"{' and '.join(BATCH_FIELDS)}")
    both = sorted(set(fields) & set(paired))
    if both:
        raise ConfigError(f"field {both[0]!r} is given both as --field and as --paired-field: choose one")


def _check_types(config: TrainConfig) -> None:
    """Every setting has its annotated type: bool is not an int, a float not an int, a number
    or a list not a string (TOML and Python callers can give anything)."""
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        value = getattr(config, f.name)
        if f.name == "loggers":  # a list of names or a table of tables: see _logger_table
            continue
        if not _has_type(value, hints[f.name]):
            if f.name == "recipe":
                raise ConfigError(f"recipe must be a [recipe] table of Variant settings, got {value!r}")
            raise ConfigError(f"{_flag(f.name)} must be {_describe(hints[f.name])}, got {value!r}")


_RECIPE_TYPES: dict[str, str] = {
    "tricks": "a table of [recipe.tricks.NAME] tables or a list of trick names",
    "roles": "a table of [recipe.roles.NAME] tables",
    "phases": "a list of phase tables, e.g. [{update = \"discriminator\"}, {update = \"generator\"}]",
}


def _check_recipe(recipe: Mapping[str, Any]) -> None:
    """The recipe's keys are Variant fields and its values have their types (tables where the
    Variant takes optimizer settings, roles or phases); the rest is checked by the Variant."""
    hints = typing.get_type_hints(Variant)
    fields = {f.name for f in dataclasses.fields(Variant)} - {"plugin", "name"}
    for key, value in recipe.items():
        if key not in fields:
            raise ConfigError(f"recipe: unknown setting {key!r} (known: {', '.join(sorted(fields))})")
        hint = hints[key]
        if key == "tricks" and isinstance(value, (list, tuple)):
            hint = tuple[str, ...]
        if not _has_type(value, hint):
            raise ConfigError(f"recipe: {key} must be {_RECIPE_TYPES.get(key) or _describe(hint)}, got {value!r}")
        if hint is int and value < 1:
            raise ConfigError(f"recipe: {key} must be a positive integer, got {value!r}")


def _has_type(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the annotation ``hint``, as a settings file gives it: a table
    stands for a dataclass (optimizer settings, a role, a phase) and a list for a tuple."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_has_type(value, arg) for arg in args)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin in (dict, Mapping):
        key, item = args or (Any, Any)
        return isinstance(value, Mapping) and all(_has_type(k, key) and _has_type(v, item)
                                                  for k, v in value.items())
    if origin is tuple:
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else Any
        return isinstance(value, (list, tuple)) and all(_has_type(v, item) for v in value)
    if dataclasses.is_dataclass(hint):
        return isinstance(value, (hint, Mapping))
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def _describe(hint: Any) -> str:
    """What a value of type ``hint`` is, in words (``None`` left out: a file cannot give it)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args if arg is not type(None))
    if origin in (dict, Mapping) or dataclasses.is_dataclass(hint):
        return "a table"
    if origin is tuple:
        return "a list"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(hint, str(hint))


def _logger_table(value: Any) -> dict[str, dict[str, Any]]:
    """``loggers`` as name → parameters, from a list of names or a table of tables."""
    if isinstance(value, (list, tuple)) and all(isinstance(name, str) for name in value):
        return {name: {} for name in value}
    if isinstance(value, Mapping) and all(isinstance(name, str) and isinstance(params, Mapping)
                                          for name, params in value.items()):
        return {name: dict(params) for name, params in value.items()}
    raise ConfigError(f"loggers must be a list of logger names or a table of [loggers.NAME] tables, got {value!r}")


_NOT_FLAGS = frozenset({"variant", "recipe", "samples_in_grid", "loggers"})
"""Settings that ``ganzoo train`` has no ``--flag`` of its own for: errors name them as keys."""


def _flag(name: str) -> str:
    """How an error names a setting: as its ``ganzoo train`` flag where it has one."""
    return name if name in _NOT_FLAGS else "--" + name.replace("_", "-")


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML config file; a missing or malformed file is a one-line ConfigError."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(f"{path}: nested too deeply to read (arrays or inline tables hundreds of levels "
                          "deep); no setting nests like that") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML (not UTF-8 text: byte {err.object[err.start]:#04x} "
                          f"at position {err.start})") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror})") from None


def read_config(path: str | Path) -> dict[str, Any]:
    """The settings of a TOML config file, every one checked: a bad one is a one-line
    ConfigError naming the file and the setting."""
    settings = load_toml(path)
    TrainConfig.from_dict(settings, origin=str(path), name_origin=True)
    return settings


def merge_recipe(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Merge recipe changes: optimizer tables and component parameters merge key by key;
    ``tricks`` replaces (use ``add_tricks``/``remove_tricks`` on the CLI for edits)."""
    merged = dict(base)
    for key, value in changes.items():
        if key in RECIPE_TABLES and isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def apply_recipe(variant: Variant, recipe: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword overrides for :func:`ganzoo.resolve_variant` from a recipe table."""
    overrides: dict[str, Any] = {}
    fields = {f.name for f in dataclasses.fields(Variant)} - {"plugin", "name"}
    for key, value in recipe.items():
        if key not in fields:
            raise ConfigError(f"recipe: unknown setting {key!r} (known: {', '.join(sorted(fields))})")
        if key in ("g_optimizer", "d_optimizer"):
            if not isinstance(value, Mapping):
                raise ConfigError(f"recipe: {key} must be a table")
            current = getattr(variant, key)
            if "name" in value:  # another optimizer: only the learning rate and decay carry over
                current = current.switched_to(value["name"])
            overrides[key] = OptimizerSettings.from_dict({**current.to_dict(), **value})
        else:
            overrides[key] = value
    return overrides


def config_with_changes(settings: Mapping[str, Any], recipe_changes: Mapping[str, Any] | None = None, *,
                        add_tricks: Mapping[str, Mapping[str, Any]] | None = None,
                        remove_tricks: Sequence[str] = (), origin: str = "flags") -> TrainConfig:
    """The config of ``settings`` (a config file's, with flags' settings over them) whose
    recipe gets ``recipe_changes`` (:func:`merge_recipe`) and a trick table edited by
    ``add_tricks`` (name → parameters) and ``remove_tricks`` (names, or ``all``): the recipe's
    own table when it has one, else the variant's. What ``ganzoo train`` and ``ganzoo compare``
    build from their flags; a bad setting is a one-line :class:`ConfigError` naming ``origin``."""
    settings = dict(settings)
    recipe = merge_recipe(dict(settings.get("recipe", {})), recipe_changes or {})
    if add_tricks or remove_tricks:
        variant = get_registry().variant(settings.get("variant") or BASE_VARIANT)
        if "tricks" in recipe:
            variant = variant.replace(tricks=recipe["tricks"])
        try:
            variant = variant.with_tricks(dict(add_tricks or {}), remove=list(remove_tricks))
        except ConfigError as err:
            raise ConfigError(f"--no-trick: {err}") from None
        recipe["tricks"] = {name: dict(params) for name, params in variant.tricks.items()}
    settings["recipe"] = recipe
    return TrainConfig.from_dict(settings, origin=origin)


def recipe_variant(config: TrainConfig, registry: Registry | None = None) -> Variant:
    """The recipe a new run of ``config`` trains: its variant (:data:`BASE_VARIANT` when none
    is named) with the recipe's changes, composition checked. Changed without a named variant
    (composed from flags), it is called ``custom`` and its summary says from what."""
    registry = registry or get_registry()
    base = registry.variant(config.variant or BASE_VARIANT)
    variant = resolve_variant(base, registry, **apply_recipe(base, config.recipe))
    if config.variant is None and variant.changes_from(base, settings=False):  # composed from flags: say what
        changes = ", ".join(variant.changes_from(base))
        variant = variant.replace(name="custom", summary=f"custom (from {base.name}: {changes})")
    return variant


def recipe_changes(variant: Variant, registry: Registry | None = None) -> list[str]:
    """What ``variant`` changes in the registered recipe of its name (:meth:`Variant.changes_from`),
    so a run labelled ``wgan-gp`` says when it is not the registered ``wgan-gp``; empty for a
    name nobody registers (``custom``: its summary says what it is made of)."""
    registry = registry or get_registry()
    if variant.name not in registry.list_variants():
        return []
    return variant.changes_from(registry.variant(variant.name))


def resumed_config(saved: Mapping[str, Any], changes: Mapping[str, Any], out: str | Path,
                   origin: str) -> TrainConfig:
    """The config of a resumed run: its ``saved`` settings with ``changes`` (only
    :data:`RESUMABLE_SETTINGS`; None leaves one as it was), in the run folder ``out``."""
    settings = dict(saved)
    for key, value in changes.items():
        if key not in RESUMABLE_SETTINGS:
            raise ConfigError(f"--resume: {key.replace('_', '-')} cannot change when resuming "
                              f"(it is part of the run's recipe or data)")
        if value is not None:
            settings[key] = value
    settings["out"] = str(out)
    return TrainConfig.from_dict(settings, origin=origin)
