"""Checkpoints: everything needed to resume a run exactly, written atomically, read safely.

A checkpoint holds every role's network and optimizer, each trick's state (e.g. EMA weights), the
step, every random-number-generator state (torch CPU and CUDA, Python, NumPy), the fixed
latent batch used for sample grids, the resolved config and recipe, and the versions of
ganzoo, torch and every plugin the recipe uses.

Checkpoints get shared, so a checkpoint is untrusted input: everything in it is a tensor or a
plain Python value (dict, list, tuple, str, number, bool, None), and it is read with
``torch.load(weights_only=True)``, whose unpickler refuses every other class. A file that
needs anything more (a pickle that would import and call code) is refused with one line and
nothing in it runs.
"""

from __future__ import annotations

import contextlib
import io
import math
import random
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ganzoo.atomic import write_atomically
from ganzoo.errors import CheckpointError
from ganzoo.runs.rundir import RunDir
from ganzoo.specs import RECIPE_TABLES
from ganzoo.version import __version__

if TYPE_CHECKING:
    import torch

    from ganzoo.build import GAN, TrainedGenerator

FORMAT_VERSION = 3
"""3: networks and optimizers by role (``state["networks"]``, ``state["optimizers"]``) and
runs per phase (``updates``). 2 (read too, converted on load): loadable with
``weights_only=True`` (the NumPy RNG state is a tensor), with fixed generator/discriminator keys.
Format 1 (ganzoo 0.1.0) stored NumPy arrays, which only full unpickling reads: such files are
refused."""
READABLE_FORMATS = (2, FORMAT_VERSION)

# What every checkpoint must hold, with the type of each entry; what resuming needs besides.
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "variant": dict, "image_shape": (list, tuple), "state": dict, "versions": dict}
_REQUIRED_TO_RESUME: dict[str, type | tuple[type, ...]] = {
    "step": int, "updates": dict, "rng": dict, "sampler": dict, "config": dict}
_STATE_KEYS = ("networks", "optimizers", "tricks")


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global random generators with ``seed``."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng_states() -> dict[str, Any]:
    import numpy as np
    import torch

    kind, keys, position, has_gauss, cached = np.random.get_state()
    # NumPy's key array as a tensor (int64 holds uint32 exactly): weights_only can read it.
    numpy_state = (kind, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss),
                   float(cached))
    states: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate(),
                              "numpy": numpy_state}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    import numpy as np
    import torch

    torch.set_rng_state(states["torch"])
    random.setstate(states["python"])
    kind, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    if "cuda" in states and torch.cuda.is_available():
        cuda_states = states["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


def component_versions(gan: GAN) -> dict[str, Any]:
    """ganzoo, torch, the distribution+version of every plugin the recipe uses, and per
    component who provides it and whether sampling needs it (the generator, and tricks that
    provide the sampling generator): what ``ganzoo sample`` asks to have installed."""
    import torch

    from ganzoo.plugins import get_registry

    registry = get_registry()
    variant = gan.variant
    samples_with = {name for name, trick in zip(variant.tricks, gan.tricks)
                    if trick.overrides("sampling_generator")}
    plugins: dict[str, str] = {}
    components = []
    for kind, name in variant.components():
        plugin = registry.component(kind, name).plugin
        if plugin is not None:
            plugins[plugin.name] = f"{plugin.distribution or '?'} {plugin.version or '?'}"
        components.append({"kind": kind, "name": name, "plugin": plugin.name if plugin else None,
                           "distribution": plugin.distribution if plugin else None,
                           "version": plugin.version if plugin else None,
                           "sampling": kind in ("generator", "latent") or (kind == "trick" and name in samples_with)})
    if variant.plugin is not None:
        plugins[variant.plugin.name] = f"{variant.plugin.distribution or '?'} {variant.plugin.version or '?'}"
    return {"ganzoo": __version__, "torch": str(torch.__version__), "plugins": plugins,
            "components": components}


def gan_state(gan: GAN) -> dict[str, Any]:
    # Bare modules (DDP wrappers live only in the step): a checkpoint from a DDP run loads in a
    # single process and vice versa.
    return {
        "networks": {role: net.state_dict() for role, net in gan.networks.items()},
        "optimizers": {role: opt.state_dict() for role, opt in gan.optimizers.items()},
        "tricks": {trick_key(t, i): t.state_dict() for i, t in enumerate(gan.tricks)},
    }


def _upgrade(payload: dict[str, Any]) -> dict[str, Any]:
    """A format-2 checkpoint in format 3's layout (its roles were always the base two, and its
    phases the default ones)."""
    state = payload.get("state")
    if isinstance(state, dict) and "networks" not in state:
        roles = ("generator", "discriminator")
        moved = {"networks": {r: state.pop(r) for r in roles if r in state},
                 "optimizers": {r: state.pop(f"{r[0]}_optimizer") for r in roles if f"{r[0]}_optimizer" in state}}
        state.update(moved)
    if "d_updates" in payload and "updates" not in payload:
        d_updates, step = payload.pop("d_updates"), payload.get("step")
        payload["updates"] = {"discriminator": d_updates, "generator": step}
    return payload


def load_gan_state(gan: GAN, state: dict[str, Any], with_optimizers: bool = True,
                   source: str | Path | None = None) -> None:
    """Restore networks, tricks and (with ``with_optimizers``) optimizers; state that does not
    fit the built networks is a one-line :class:`CheckpointError` naming ``source``."""
    try:
        for part, live in (("networks", gan.networks), ("optimizers", gan.optimizers)):
            if part == "optimizers" and not with_optimizers:
                continue
            missing = sorted(set(live) - set(state[part]))
            if missing:
                raise KeyError(f"no {part[:-1]} for the role {missing[0]!r}")
            for role, obj in live.items():
                obj.load_state_dict(state[part][role])
        for i, trick in enumerate(gan.tricks):
            if trick_key(trick, i) in state["tricks"]:
                trick.load_state_dict(state["tricks"][trick_key(trick, i)])
    except (RuntimeError, KeyError, ValueError, TypeError, AttributeError) as err:
        raise CheckpointError(_misfit(source or "checkpoint", err)) from None


def _misfit(source: str | Path, err: Exception) -> str:
    return (f"{source}: its weights do not fit the recipe's networks "
            f"({type(err).__name__}: {' '.join(str(err).split())[:200]})")


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus the format version) atomically with ``torch.save``."""
    import torch

    payload = {"format": FORMAT_VERSION, **payload}
    buffer = io.BytesIO()
    torch.save(payload, buffer)  # serialise first: a failure here never touches the old file
    data = buffer.getvalue()
    return write_atomically(path, lambda handle: handle.write(data))


def load_checkpoint(path: str | Path, map_location: Any = "cpu", *,
                    resume: bool = False) -> dict[str, Any]:
    """Read a checkpoint without running anything in it (``weights_only=True``) and check it
    holds what sampling needs (and, with ``resume``, what resuming needs). Anything unreadable,
    unsafe or incomplete is a one-line :class:`CheckpointError`."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint does not exist")
    try:
        # torch's warnings about a strange file (an unusual pickle protocol ...) would add lines
        # to the one that says what is wrong with it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - a garbled file makes torch's parsers raise anything
        raise CheckpointError(_unreadable(path, err)) from None  # (KeyError, struct.error ...)
    if not isinstance(payload, dict) or "format" not in payload:
        raise CheckpointError(f"{path}: not a ganzoo checkpoint")
    version = payload["format"]
    if type(version) is not int or version not in READABLE_FORMATS:
        shown = repr(version) if type(version) in (int, float, str) else f"of type {type(version).__name__}"
        raise CheckpointError(f"{path}: ganzoo checkpoint format {shown[:40]}; this ganzoo "
                              f"reads formats {', '.join(map(str, READABLE_FORMATS))}")
    payload = _upgrade(payload)
    _check_entries(path, payload, {**_REQUIRED, **(_REQUIRED_TO_RESUME if resume else {})})
    if resume:
        _check_resume_entries(path, payload)
    state = payload["state"]
    missing = [key for key in _STATE_KEYS if not isinstance(state.get(key), dict)]
    if missing:
        raise CheckpointError(f"{path}: incomplete checkpoint: state has no {missing[0]!r}")
    return payload


def _check_entries(path: Path, payload: dict[str, Any],
                   required: dict[str, type | tuple[type, ...]]) -> None:
    for key, kind in required.items():
        if key not in payload:
            raise CheckpointError(f"{path}: incomplete checkpoint: {key!r} is missing")
        if not isinstance(payload[key], kind) or isinstance(payload[key], bool):
            raise CheckpointError(f"{path}: damaged checkpoint: {key!r} is a "
                                  f"{type(payload[key]).__name__}")


def _check_resume_entries(path: Path, payload: dict[str, Any]) -> None:
    """What resuming applies besides the networks (step, phase counts, every RNG state), checked
    for type and shape: a damaged one is a one-line :class:`CheckpointError` naming it."""
    def damaged(what: str) -> CheckpointError:
        return CheckpointError(f"{path}: damaged checkpoint: {what}")

    step = payload["step"]
    if step < 0:
        raise damaged(f"'step' is {step!r}, not a step count")
    if not all(isinstance(k, str) and type(v) is int and v >= 0 for k, v in payload["updates"].items()):
        raise damaged("'updates' must count runs per phase")
    problem = _rng_problem(payload["rng"])
    if problem:
        raise damaged(f"'rng': {problem}")
    per_rank = payload.get("rng_per_rank")
    if per_rank is not None:
        if not isinstance(per_rank, (list, tuple)):
            raise damaged(f"'rng_per_rank' is a {type(per_rank).__name__}, not a list of RNG states")
        for rank, states in enumerate(per_rank):
            problem = _rng_problem(states)
            if problem:
                raise damaged(f"'rng_per_rank'[{rank}]: {problem}")
    sampler_rng = payload["sampler"].get("rng")
    if not _is_byte_tensor(sampler_rng):
        raise damaged(f"'sampler' rng is {_describe(sampler_rng)}, not a generator state (a uint8 tensor)")


def _is_byte_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor) and value.dtype == torch.uint8 and value.dim() == 1


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    """A short description of an untrusted value for a message (never a long repr)."""
    import torch

    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    return f"a {type(value).__name__}" + (f" of {len(value)}" if isinstance(value, (tuple, list)) else "")


def _rng_problem(states: Any) -> str | None:
    """What is wrong with RNG states as :func:`capture_rng_states` writes them (None: nothing)."""
    import torch

    if not isinstance(states, dict):
        return f"{_describe(states)}, not RNG states"
    for key in ("torch", "python", "numpy"):
        if key not in states:
            return f"no {key!r} state"
    if not _is_byte_tensor(states["torch"]):
        return f"the torch state is {_describe(states['torch'])}, not a uint8 tensor"
    python = states["python"]
    if not (isinstance(python, (tuple, list)) and len(python) == 3 and _is_int(python[0])
            and isinstance(python[1], (tuple, list)) and len(python[1]) == 625
            and all(_is_int(x) for x in python[1])
            and (python[2] is None or type(python[2]) in (int, float))):
        return f"the python state is {_describe(python)}, not (version, 625 integers, gauss)"
    numpy = states["numpy"]
    if not (isinstance(numpy, (tuple, list)) and len(numpy) == 5 and isinstance(numpy[0], str)
            and isinstance(numpy[1], torch.Tensor) and tuple(numpy[1].shape) == (624,)
            and not numpy[1].is_floating_point() and not numpy[1].is_complex()
            and _is_int(numpy[2]) and _is_int(numpy[3]) and type(numpy[4]) in (int, float)):
        return f"the numpy state is {_describe(numpy)}, not (kind, 624 keys, position, has_gauss, cached)"
    cuda = states.get("cuda")
    if cuda is not None and not (isinstance(cuda, (list, tuple)) and all(_is_byte_tensor(s) for s in cuda)):
        return f"the cuda states are {_describe(cuda)}, not a list of uint8 tensors"
    return None


# What applying a checkpoint's contents raises when a value the checks above let through is
# still wrong (out of range, a state of another size ...).
_DAMAGE = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError, RuntimeError)


@contextlib.contextmanager
def applying(path: str | Path) -> Iterator[None]:
    """Around code that applies a checkpoint's contents (RNG and sampler states, step counts):
    an error caused by a damaged value is a one-line :class:`CheckpointError` naming ``path``.
    Keep it narrow: only code that uses checkpoint values belongs inside."""
    try:
        yield
    except _DAMAGE as err:
        raise CheckpointError(f"{path}: damaged checkpoint: "
                              f"{type(err).__name__}: {' '.join(str(err).split())[:200]}") from None


def _unreadable(path: Path, err: Exception) -> str:
    """One line for a file torch's safe unpickler would not read, or could not parse."""
    import re

    text = str(err)
    needs = re.search(r"GLOBAL ([\w.]+)", text)  # the import the safe unpickler refused
    if needs:
        return (f"{path}: refused: reading it needs full unpickling, which can run any code (it "
                f"asks for {needs.group(1)}); ganzoo checkpoints hold only tensors and plain values, "
                f"so this file was made by something else or by ganzoo 0.1.0 (format 1, no longer read)")
    text = text.split("WeightsUnpickler error:")[-1].split("Check the documentation")[0]
    kind = type(err).__name__
    if kind.islower():  # struct.error, zlib.error ...: the module says what failed
        kind = f"{type(err).__module__.lstrip('_')}.{kind}"
    return f"{path}: not a readable checkpoint ({kind}: {' '.join(text.split())[:200]})"


def read_variant(payload: dict[str, Any], path: str | Path) -> Any:
    """The checkpoint's recipe as a :class:`~ganzoo.Variant`; a bad one names the file."""
    from ganzoo.errors import GanzooError
    from ganzoo.specs import Variant

    data = payload["variant"]
    problem = _variant_problem(data)
    if problem:
        raise CheckpointError(f"{path}: damaged recipe: {problem}")
    try:
        return Variant.from_dict(data)
    except GanzooError as err:
        raise CheckpointError(f"{path}: damaged recipe: {err}") from None
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as err:
        raise CheckpointError(f"{path}: damaged recipe ({type(err).__name__}: "
                              f"{' '.join(str(err).split())[:200]})") from None


def _variant_problem(data: Mapping[str, Any]) -> str | None:
    """What is wrong with the structure of a checkpoint's recipe (None: nothing): the entries
    that hold parameters must be mappings (tricks: of names to parameters)."""
    for key in (*RECIPE_TABLES, "roles"):
        if key in data and not isinstance(data[key], Mapping):
            return f"{key!r} is {_describe(data[key])}, not a mapping"
    tricks = data.get("tricks", {})
    if isinstance(tricks, (list, tuple)):
        if not all(isinstance(name, str) for name in tricks):
            return "'tricks' must name tricks"
    elif not isinstance(tricks, Mapping):
        return f"'tricks' is {_describe(tricks)}, not a mapping of trick names to parameters"
    else:
        for name, params in tricks.items():
            if not isinstance(name, str) or not isinstance(params, Mapping):
                return f"the parameters of trick {name!r} are {_describe(params)}, not a mapping"
    phases = data.get("phases", [])
    if not isinstance(phases, (list, tuple)) or not all(isinstance(p, Mapping) for p in phases):
        return f"'phases' is {_describe(phases)}, not a list of phases"
    return None


def _recorded_components(payload: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The checkpoint's record of who provided each component (untrusted: shape-checked)."""
    records = payload["versions"].get("components")
    if not isinstance(records, list):
        return {}
    return {(r["kind"], r["name"]): r for r in records
            if isinstance(r, dict) and isinstance(r.get("kind"), str) and isinstance(r.get("name"), str)}


class PluginVersionWarning(UserWarning):
    """A component a run used is installed in another version (or from another distribution)
    than the one the run recorded: the command goes on, but its results may differ."""


def version_changes(payload: dict[str, Any], needed: list[tuple[str, str]]) -> list[str]:
    """One line per plugin distribution that provides a component of ``needed`` here in
    another version than the run recorded (or per component another distribution provides
    now). Components missing here, and records without a version, say nothing."""
    from ganzoo.plugins import get_registry
    from ganzoo.registry import normalize_distribution

    registry = get_registry()
    recorded = _recorded_components(payload)
    lines: dict[str, str] = {}  # by distribution: one line however many components it provides
    for kind, name in needed:
        record = recorded.get((kind, name), {})
        was, was_version = record.get("distribution"), record.get("version")
        if not (_plain(was) and _plain(was_version)) or not registry.has_component(kind, name):
            continue
        plugin = registry.component(kind, name).plugin
        now, now_version = (plugin.distribution, plugin.version) if plugin is not None else (None, None)
        if not (now and now_version):
            continue  # registered in-process: no installed version to compare with
        if normalize_distribution(now) != normalize_distribution(was):
            lines.setdefault(f"{kind} {name}", f"the run's {kind} {name!r} came from {was} {was_version}; "
                                               f"here {now} {now_version} provides it")
        elif now_version != was_version:
            lines.setdefault(normalize_distribution(now),
                             f"the run was trained with {was} {was_version}; {now_version} is installed")
    return list(lines.values())


def _plain(value: Any) -> bool:
    """A recorded name or version fit to quote in a line (the record is untrusted)."""
    return isinstance(value, str) and 0 < len(value) <= 100 and value.isprintable() and not value.isspace()


@contextlib.contextmanager
def version_warnings_shown(command: str) -> Iterator[None]:
    """Within: each :class:`PluginVersionWarning` is one line on stderr, ``ganzoo COMMAND:
    warning: …``, every time (not once per place, as Python shows warnings); other warnings are
    shown as usual. The ranks of a torchrun launch other than rank 0 leave them to rank 0."""
    import os
    import sys

    shown = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        if issubclass(category, PluginVersionWarning):
            print(f"ganzoo {command}: warning: {message}", file=sys.stderr, flush=True)
        else:
            shown(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():  # restores the filters and showwarning when done
        quiet = os.environ.get("RANK", "0") != "0"
        warnings.simplefilter("ignore" if quiet else "always", PluginVersionWarning)
        warnings.showwarning = show
        yield


def require_installed(payload: dict[str, Any], path: str | Path,
                      needed: list[tuple[str, str]]) -> None:
    """Each ``(kind, name)`` in ``needed`` is registered here; a missing one is a one-line
    :class:`CheckpointError` naming the distribution and version the run recorded. One
    installed in another version than the run recorded is a :class:`PluginVersionWarning`
    (sample, eval, export and resume all pass here: the one place they compare versions)."""
    from ganzoo.plugins import get_registry

    registry = get_registry()
    recorded = _recorded_components(payload)
    for kind, name in needed:
        if registry.has_component(kind, name):
            continue
        record = recorded.get((kind, name), {})
        distribution, version = record.get("distribution"), record.get("version")
        if isinstance(distribution, str) and distribution:
            known = isinstance(version, str) and version
            who, pinned = ((f"{distribution} {version}", f"{distribution}=={version}") if known
                           else (distribution, distribution))
            raise CheckpointError(f"{path}: the run's {kind} {name!r} comes from {who}, which is not "
                                  f"installed here; install it: pip install '{pinned}'")
        registry.component(kind, name)  # unknown everywhere: "did you mean ..."
    for line in version_changes(payload, needed):
        warnings.warn(line, PluginVersionWarning, stacklevel=3)


def trick_key(trick: Any, index: int) -> str:
    """Where a trick's state lives in ``state["tricks"]``: its class and place in the recipe."""
    return f"{type(trick).__name__}:{index}"


def _num_classes(payload: dict[str, Any], path: Path) -> int | None:
    """The number of classes a conditional run trained with (untrusted: type-checked)."""
    classes = payload.get("num_classes")
    if classes is not None and (type(classes) is not int or classes < 1):
        raise CheckpointError(f"{path}: damaged checkpoint: 'num_classes' is {classes!r}")
    return classes


def train_seconds(payload: dict[str, Any], path: Path) -> float:
    """The training time a checkpoint recorded (untrusted: checked; 0 in older checkpoints)."""
    seconds = payload.get("train_seconds", 0.0)
    if type(seconds) not in (int, float) or not math.isfinite(seconds) or seconds < 0:
        raise CheckpointError(f"{path}: damaged checkpoint: 'train_seconds' is {seconds!r}")
    return float(seconds)


class Position(Protocol):
    """Where a training step stands (:class:`ganzoo.training.step.TrainingStep`)."""

    step: int
    updates: dict[str, int]

    def set_position(self, step: int, updates: Mapping[str, int]) -> None: ...


class StatefulSampler(Protocol):
    """What draws a run's batches (:class:`ganzoo.training.sampling.BatchSampler`)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def write_training_checkpoint(path: Path, *, gan: GAN, position: Position, sampler: StatefulSampler,
                              settings: Mapping[str, Any], fixed_latent: torch.Tensor, train_seconds: float,
                              rng: dict[str, Any], ranks: Mapping[str, Any] | None = None) -> Path:
    """Write what a training run needs to continue exactly (:class:`Resume` applies it): the
    step and phase counts, every network, optimizer and trick state, ``rng`` (this process's
    RNG states, :func:`capture_rng_states`) and ``ranks`` (the other ranks' of a distributed
    run), the batch sampler's state, the run's ``settings`` (its TrainConfig as a dict), recipe,
    data shape and classes, the sample grids' ``fixed_latent``, the training time so far and
    the versions of everything used."""
    import torch

    payload = {
        "step": position.step, "updates": dict(position.updates),
        "state": gan_state(gan), "rng": rng, **(ranks or {}),
        "sampler": sampler.state_dict(),
        "config": dict(settings), "variant": gan.variant.to_dict(),
        "image_shape": list(gan.image_shape), "num_classes": gan.num_classes,
        "class_names": list(gan.class_names or ()) or None, "fixed_latent": fixed_latent.cpu(),
        "train_seconds": train_seconds,
        "versions": component_versions(gan), "torch_threads": torch.get_num_threads(),
    }
    return save_checkpoint(path, payload)


class Resume:
    """A run's checkpoint, read and checked for resuming, then applied to the rebuilt run in
    two steps: :meth:`restore_weights` before the training step is assembled (the optimizers'
    settings come from the checkpoint), :meth:`restore_position` after it (the RNG states
    last: building consumed random numbers). Anything damaged is a one-line
    :class:`CheckpointError` naming the file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.payload = load_checkpoint(self.path, resume=True)

    @property
    def step(self) -> int:
        """The step the checkpoint was written at: the resumed run continues after it."""
        return self.payload["step"]

    @property
    def settings(self) -> dict[str, Any]:
        """The run's settings (its TrainConfig as a dict; untrusted: the config checks them)."""
        return dict(self.payload["config"])

    @property
    def num_classes(self) -> Any:
        """The number of classes the run trained with, as recorded."""
        return self.payload.get("num_classes")

    def variant(self) -> Any:
        """The run's recipe, with every component it uses installed here (else one line naming
        the distribution to install; another version than the run's is a warning)."""
        variant = read_variant(self.payload, self.path)
        require_installed(self.payload, self.path, variant.components())
        return variant

    def train_seconds(self) -> float:
        """The training time so far (evaluations excluded)."""
        return train_seconds(self.payload, self.path)

    def restore_weights(self, gan: GAN) -> None:
        """Every network, optimizer and trick state."""
        load_gan_state(gan, self.payload["state"], source=self.path)

    def restore_position(self, position: Position, sampler: StatefulSampler, *, rank: int = 0,
                         world_size: int = 1, seed: int = 0) -> None:
        """The batch sampler, the step and phase counts, then this rank's RNG states (the
        saved ones; a rank the run did not have starts its own stream from ``seed``)."""
        # load_checkpoint checked these states' types and shapes; what is still wrong with
        # one (a state of another size ...) is a one-line error naming the checkpoint.
        with applying(self.path):
            sampler.load_state_dict(self.payload["sampler"])
            position.set_position(self.payload["step"], self.payload["updates"])
            restore_rng_states(self._rng_for(rank, world_size, seed))

    def _rng_for(self, rank: int, world_size: int, seed: int) -> dict[str, Any]:
        per_rank = self.payload.get("rng_per_rank")
        if per_rank and len(per_rank) == world_size:
            return per_rank[rank]
        if rank == 0:
            return self.payload["rng"]
        # Another world size: rank 0 continues the saved stream, the others start their own.
        seed_everything(seed + rank + self.payload["step"])
        return capture_rng_states()


def _class_names(payload: dict[str, Any], path: Path, num_classes: int | None) -> tuple[str, ...] | None:
    """The names of a conditional run's classes (untrusted: type-checked; absent in older runs)."""
    names = payload.get("class_names")
    if names is None:
        return None
    if (not isinstance(names, list) or len(names) != num_classes
            or not all(isinstance(name, str) for name in names)):
        raise CheckpointError(f"{path}: damaged checkpoint: 'class_names' is not {num_classes} class names")
    return tuple(names)


def _checkpoint_of(source: str | Path) -> Path:
    path = Path(source)
    if path.is_dir():
        return RunDir.existing(path).checkpoint
    if not path.exists():
        raise CheckpointError(f"{path}: no such run folder or checkpoint")
    return path


def load_gan(source: str | Path, device: str = "auto") -> tuple[GAN, dict[str, Any]]:
    """Every network (each role) and trick of a run folder or checkpoint file, restored without
    optimizer state, with the payload: for using a trained network other than the generator,
    e.g. a BiGAN's encoder. Every component the run used must be installed (a missing one is a
    one-line :class:`CheckpointError` naming its distribution)."""
    from ganzoo.build import build_gan

    path = _checkpoint_of(source)
    payload = load_checkpoint(path, map_location="cpu")
    variant = read_variant(payload, path)
    require_installed(payload, path, variant.components())
    classes = _num_classes(payload, path)
    gan = build_gan(variant, tuple(payload["image_shape"]), device, num_classes=classes)
    gan.class_names = _class_names(payload, path, classes)
    load_gan_state(gan, payload["state"], with_optimizers=False, source=path)
    return gan, payload


def load_trained_gan(source: str | Path, device: str = "auto") -> tuple[TrainedGenerator, dict[str, Any]]:
    """What sampling needs from a run folder or checkpoint file, restored, with the payload:
    the generator and the tricks that provide the sampling generator (EMA), nothing else, so
    the run's discriminator and loss plugins need not be installed."""
    from ganzoo.build import build_generator

    path = _checkpoint_of(source)
    payload = load_checkpoint(path, map_location="cpu")
    variant = read_variant(payload, path)
    recorded = _recorded_components(payload)
    # Tricks the run recorded as sampling ones; all of them when the record says nothing.
    tricks = [(index, name) for index, name in enumerate(variant.tricks)
              if recorded.get(("trick", name), {}).get("sampling", True)]
    require_installed(payload, path, [("generator", variant.generator), ("latent", variant.latent_distribution),
                                      *(("trick", n) for _, n in tricks)])
    classes = _num_classes(payload, path)
    sampler = build_generator(variant, tuple(payload["image_shape"]), device, tricks=[n for _, n in tricks],
                              num_classes=classes)
    sampler.class_names = _class_names(payload, path, classes)
    state = payload["state"]
    try:
        sampler.generator.load_state_dict(state["networks"]["generator"])
        for (index, _), trick in zip(tricks, sampler.tricks):
            if trick_key(trick, index) in state["tricks"]:
                trick.load_state_dict(state["tricks"][trick_key(trick, index)])
    except (RuntimeError, KeyError, ValueError, TypeError, AttributeError) as err:
        raise CheckpointError(_misfit(path, err)) from None
    return sampler, payload


def load_sources(gan: TrainedGenerator, payload: dict[str, Any], source: str | None = None,
                 limit: int | None = None) -> str:
    """Give a translating generator the images it translates (:attr:`TrainedGenerator.sources`):
    those of ``source`` (a data source: folder, .npy/.npz, IDX, built-in digits), at most
    ``limit``, or by default the field it trained on, as the run recorded it. Returns what they
    are, for messages. A source that is missing or of another image shape is a one-line
    :class:`~ganzoo.errors.DataError`."""
    from ganzoo.data import describe_source, load_images
    from ganzoo.errors import DataError

    field = gan.variant.translate_from
    if source is None:
        settings = payload.get("config") if isinstance(payload.get("config"), Mapping) else {}
        recorded = {**dict(settings.get("paired_fields") or {}), **dict(settings.get("fields") or {})}
        source = recorded.get(field)
        if not isinstance(source, str) or not source:
            raise DataError(f"the run translates images of field {field!r} and records no source for them: "
                            f"give the images to translate (--input SOURCE)")
    channels, height, width = gan.image_shape
    images = load_images(source, image_size=height if height == width else None, channels=channels, limit=limit)
    if tuple(images.shape[1:]) != tuple(gan.image_shape) or images.shape[0] < 1:
        raise DataError(f"{source}: holds {images.shape[0]} images of shape {tuple(images.shape[1:])}; the run "
                        f"translates images of shape {tuple(gan.image_shape)}")
    gan.sources = images.to(gan.device)
    return f"{images.shape[0]} images of {describe_source(source)}"
