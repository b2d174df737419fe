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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
from ganzoo.specs import OptimizerSettings, Variant


BASE_VARIANT = "vanilla"
"""What ``ganzoo train`` starts from when no variant is named."""


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
        if self.variant is not None and (not isinstance(self.variant, str) or not self.variant):
            raise ConfigError(f"variant must be a name, got {self.variant!r}")
        for name in ("log_every", "sample_every", "checkpoint_every", "samples_in_grid", "eval_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{_flag(name)} must be a positive integer, got {value!r}")
        for name in ("steps", "image_size", "channels"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{_flag(name)} must be a positive integer, got {value!r}")
        if self.eval_every < 0:
            raise ConfigError(f"--eval-every must be >= 0, got {self.eval_every}")
        if not isinstance(self.eval_doubling, bool):
            raise ConfigError(f"--eval-doubling must be true or false, got {self.eval_doubling!r}")
        if self.channels not in (None, 1, 3):
            raise ConfigError(f"--channels must be 1 or 3, got {self.channels}")
        for name in ("epochs", "minutes"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
                raise ConfigError(f"{_flag(name)} must be a positive number, got {value!r}")
        if not isinstance(self.dist_timeout, (int, float)) or not self.dist_timeout > 0:
            raise ConfigError(f"--dist-timeout must be a positive number of seconds, got {self.dist_timeout!r}")
        from ganzoo.training.capture import check_modes

        check_modes(self.graph, self.precision)
        if not isinstance(self.channels_last, bool):
            raise ConfigError(f"--channels-last must be true or false, got {self.channels_last!r}")
        self.loggers = _logger_table(self.loggers)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"--seed must be an integer, got {self.seed!r}")

    def evaluates_at(self, step: int) -> bool:
        """Whether sample quality is scored after ``step`` (see ``eval_every``, ``eval_doubling``)."""
        if not self.eval_every or step % self.eval_every:
            return False
        multiple = step // self.eval_every
        return not self.eval_doubling or multiple & (multiple - 1) == 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "config") -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{origin}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        try:
            return cls(**dict(data))
        except TypeError as err:
            raise ConfigError(f"{origin}: {err}") from None


def _logger_table(value: Any) -> dict[str, dict[str, Any]]:
    """``loggers`` as name → parameters, from a list of names or a table of tables."""
    if isinstance(value, (list, tuple)) and all(isinstance(name, str) for name in value):
        return {name: {} for name in value}
    if isinstance(value, Mapping) and all(isinstance(name, str) and isinstance(params, Mapping)
                                          for name, params in value.items()):
        return {name: dict(params) for name, params in value.items()}
    raise ConfigError(f"loggers must be a list of logger names or a table of [loggers.NAME] tables, got {value!r}")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


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
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror})") from None


def merge_recipe(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Merge recipe changes: optimizer tables and component parameters merge key by key;
    ``tricks`` replaces (use ``add_tricks``/``remove_tricks`` on the CLI for edits)."""
    merged = dict(base)
    for key, value in changes.items():
        if key in ("g_optimizer", "d_optimizer", "generator_params", "discriminator_params",
                   "loss_params") and isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
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
