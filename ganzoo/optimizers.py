"""Optimizers by name: every ``torch.optim`` optimizer, and timm's optimizer registry as
``timm:NAME`` (LAMB, Lion, AdaBelief, MADGRAD, ...), with their own parameters.

An :class:`~ganzoo.OptimizerSettings` names the optimizer (``adam``, ``radam``, ``timm:lion``),
its learning rate, and the common hyper-parameters (``betas``, ``weight_decay``, ``momentum``),
each passed only to an optimizer whose signature takes it; ``options`` holds any other keyword
argument (``eps``, ``nesterov``, ``caution``, ...), checked against the optimizer's signature
so that a misspelled or mistyped one is a one-line error naming it.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ganzoo.errors import ConfigError
from ganzoo.factories import parameter_problem, resolved_signature
from ganzoo.specs import OptimizerSettings

if TYPE_CHECKING:
    import torch
    from torch import nn

TIMM_PREFIX = "timm:"
# Need a closure per step (LBFGS), sparse gradients (SparseAdam) or networks of 2-D weights
# only (Muon: no biases, no norms): not optimizers for a GAN's networks.
_UNSUITABLE = {"lbfgs", "sparseadam", "muon", "optimizer"}
# Fused kernels where torch has them for both CUDA and the CPU: the CPU's fused Adam is ~5x
# faster than foreach (0.5 ms against 2.6 ms per update of the vanilla generator on two cores).
_FUSED = {"adam", "adamw"}
_DEFAULT_BETAS = OptimizerSettings().betas


def torch_optimizers() -> dict[str, type]:
    """``torch.optim`` optimizers usable in a GAN step, by lower-case class name."""
    import torch

    return {name.lower(): cls for name, cls in vars(torch.optim).items()
            if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)
            and name.lower() not in _UNSUITABLE}


def timm_optimizers() -> list[str]:
    """timm's registered optimizer names (importing timm)."""
    from ganzoo.compat import import_timm

    import_timm()
    import timm.optim

    return list(timm.optim.list_optimizers())


def list_optimizers() -> list[str]:
    """Every optimizer name :func:`make_optimizer` accepts."""
    return sorted(torch_optimizers()) + [TIMM_PREFIX + name for name in timm_optimizers()]


def optimizer_class(name: str) -> Callable[..., torch.optim.Optimizer]:
    """The optimizer class (or timm's bound factory) for ``name``; unknown names are a
    :class:`ConfigError` with a "did you mean"."""
    if name.startswith(TIMM_PREFIX):
        known = timm_optimizers()
        short = name.removeprefix(TIMM_PREFIX)
        if short in known:
            import timm.optim

            return timm.optim.get_optimizer_class(short)  # with the name's defaults (nesterov ...)
        candidates = [TIMM_PREFIX + n for n in known]
    else:
        found = torch_optimizers().get(name.lower())
        if found is not None:
            return found
        candidates = list(torch_optimizers())
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise ConfigError(f"unknown optimizer {name!r}{hint} (any torch.optim optimizer by name, "
                      f"e.g. adam, radam, sgd, or timm's as timm:NAME, e.g. timm:lion)")


def make_optimizer(params: Iterable[nn.Parameter], settings: OptimizerSettings,
                   device: torch.device) -> torch.optim.Optimizer:
    """The optimizer ``settings`` name over ``params``, with fused or multi-tensor kernels
    where the optimizer has them (unless ``options`` says otherwise)."""
    cls = optimizer_class(settings.name)
    signature = resolved_signature(cls)
    accepted = set(signature.parameters) if signature is not None else set()
    takes_anything = signature is None or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
    takes = lambda key: takes_anything or key in accepted  # noqa: E731
    problem = parameter_problem(cls, 1, dict(settings.options), {})
    if problem is not None:
        raise ConfigError(f"optimizer {settings.name!r}: {problem}")
    kwargs: dict[str, Any] = {"lr": settings.lr}
    for key, value, default in (("weight_decay", settings.weight_decay, 0.0),
                                ("momentum", settings.momentum, 0.0), ("betas", settings.betas, None)):
        if takes(key):
            kwargs[key] = value
        elif default is not None and value != default:
            raise ConfigError(f"optimizer {settings.name!r} has no {key} parameter (it is {value})")
    own = signature.parameters.get("betas") if signature is not None else None
    if own is not None and isinstance(own.default, tuple) and len(own.default) != len(settings.betas):
        if settings.betas != _DEFAULT_BETAS:
            raise ConfigError(f"optimizer {settings.name!r} takes {len(own.default)} betas, "
                              f"got {list(settings.betas)}")
        del kwargs["betas"]  # the recipe left the Adam default: the optimizer keeps its own
    name = settings.name.lower()
    if name in _FUSED and device.type in ("cuda", "cpu"):
        kwargs["fused"] = True
    elif takes("foreach") and not name.startswith(TIMM_PREFIX):
        kwargs["foreach"] = True
    kwargs.update(settings.options)
    if kwargs.get("fused"):
        kwargs.pop("foreach", None)
    try:
        return cls(list(params), **kwargs)
    except (ValueError, TypeError, RuntimeError) as err:  # e.g. nesterov without momentum
        raise ConfigError(f"optimizer {settings.name!r}: {' '.join(str(err).split())}") from None
