"""What ganzoo checks when it builds a component: the recipe's parameters against the
factory's signature, the factory's result against its kind's contract, and one probe of each
network on a tiny batch. Each failure is one line naming the component and its plugin."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ganzoo.components import Logger, Loss, Trick, Update
from ganzoo.errors import ComponentBuildError, GanzooError
from ganzoo.factories import describe_value, parameter_problem
from ganzoo.latent import sample_latent
from ganzoo.specs import ComponentSpec, Variant

if TYPE_CHECKING:
    import torch
    from torch import nn


def _who(spec: ComponentSpec) -> str:
    """``trick 'ema' (plugin tricks (ganzoo 0.2.0))``: what a one-line build error starts with."""
    return f"{spec.kind} {spec.name!r}" + (f" (plugin {spec.plugin})" if spec.plugin else "")


def _check_result(spec: ComponentSpec, result: Any) -> None:
    """The factory returned the kind of object its contract (:class:`ComponentSpec`) promises."""
    if spec.kind in ("generator", "discriminator", "network"):
        from torch import nn

        wanted, ok = "a torch.nn.Module", isinstance(result, nn.Module)
    elif spec.kind == "loss":
        wanted, ok = "a ganzoo.Loss", isinstance(result, Loss)
    elif spec.kind == "trick":
        wanted, ok = "a ganzoo.Trick", isinstance(result, Trick)
    elif spec.kind == "update":
        wanted, ok = "a ganzoo.Update", isinstance(result, Update)
    elif spec.kind == "logger":
        wanted, ok = "a ganzoo.Logger", isinstance(result, Logger)
    else:
        return
    if not ok:
        raise ComponentBuildError(f"{_who(spec)}: factory returned {describe_value(result)}, "
                                  f"not {wanted}")
    # Methods the base classes leave abstract: caught here, not as a traceback inside the step.
    required = {"loss": (Loss, ("d_loss", "g_loss")), "update": (Update, ("run",))}.get(spec.kind)
    if required is not None:
        base, methods = required
        missing = [name for name in methods if getattr(type(result), name) is getattr(base, name)]
        if missing:
            raise ComponentBuildError(f"{_who(spec)}: {type(result).__name__} does not implement "
                                      f"{' and '.join(missing)}, which every ganzoo.{base.__name__} must")


def call_factory(spec: ComponentSpec, *args: Any, **params: Any) -> Any:
    """``spec``'s factory called with ganzoo's positional ``args`` and the recipe's ``params``:
    the parameters are checked against the factory's signature first, the result after."""
    try:
        # Inside the try: a lazy factory imports its target to read its signature.
        problem = parameter_problem(spec.factory, len(args), params, spec.bound_params)
        if problem is not None:
            raise ComponentBuildError(f"{_who(spec)}: {problem}")
        result = spec.create(*args, **params)
    except GanzooError:
        raise
    except Exception as err:  # noqa: BLE001 - a plugin's factory failing is reported, not a crash
        raise ComponentBuildError(f"{spec.kind} {spec.name!r} from plugin {spec.plugin} failed to "
                                  f"build: {type(err).__name__}: {err}") from err
    _check_result(spec, result)
    return result


PROBE_BATCH = 2
PROBE_RANGE_TOLERANCE = 1e-3
"""How far past [-1, 1] a generator's probe output may go (rounding, not a missing tanh)."""


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """``module`` in eval mode within; afterwards every submodule gets its own ``training``
    flag back (``module.train(was_training)`` would set them all alike, un-freezing a
    submodule a plugin keeps in eval mode, e.g. a frozen pretrained block). The one eval-mode
    path: probes, sampling (:meth:`ganzoo.build.TrainedGenerator.draw`) and export use it."""
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, flag in flags:
            m.training = flag


def _forward(spec: ComponentSpec, net: nn.Module, inputs: torch.Tensor | tuple[torch.Tensor, ...],
             what: str, outputs: int = 1) -> Any:
    """``net(inputs)`` (``net(*inputs)`` for a tuple); an exception, or anything but a tensor
    (a tuple of ``outputs`` tensors when more than one), is one line naming the component."""
    import torch

    try:
        out = net(*inputs) if isinstance(inputs, tuple) else net(inputs)
    except GanzooError:
        raise
    except Exception as err:  # noqa: BLE001 - a plugin network failing is reported, not a crash
        message = " ".join(str(err).split())  # PyTorch messages may span lines
        raise ComponentBuildError(f"{_who(spec)}: forward of {what} {_shape(inputs)} failed: "
                                  f"{type(err).__name__}: {message}") from err
    if outputs > 1:
        if not (isinstance(out, tuple) and len(out) == outputs and all(isinstance(t, torch.Tensor) for t in out)):
            raise ComponentBuildError(f"{_who(spec)}: forward of {what} {_shape(inputs)} returned "
                                      f"{describe_value(out)}, not a tuple of {outputs} tensors")
    elif not isinstance(out, torch.Tensor):
        raise ComponentBuildError(f"{_who(spec)}: forward of {what} {_shape(inputs)} returned "
                                  f"{describe_value(out)}, not a tensor")
    return out


def _shape(tensor: torch.Tensor | tuple[torch.Tensor, ...]) -> str:
    if isinstance(tensor, tuple):
        return " and ".join(_shape(t) for t in tensor)
    return "×".join(str(n) for n in tensor.shape)


@contextlib.contextmanager
def _probing(module: nn.Module, device: torch.device) -> Iterator[torch.Generator]:
    """Eval mode, no autograd, the global RNG states restored afterwards (in case a network
    draws random numbers anyway); yields a local generator for the probe's inputs. A probe
    leaves no trace: seeded and resumed runs must not notice it."""
    import torch

    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.no_grad(), eval_mode(module):
        rng = torch.Generator(device=device)
        rng.manual_seed(0)
        yield rng


def probe_generator(spec: ComponentSpec, generator: nn.Module, variant: Variant,
                    shape: tuple[int, int, int], device: torch.device,
                    num_classes: int | None = None) -> None:
    """One forward pass on a tiny batch (with class labels for a conditional generator), so a
    generator breaking its contract (output shape, range) fails here in one line instead of deep
    inside the training step."""
    import torch

    n, expected = PROBE_BATCH, (PROBE_BATCH, *shape)
    what = "images" if spec.translates else "latents"
    with _probing(generator, device) as rng:
        if spec.translates:  # images of the data's shape in [-1, 1], as the data field holds
            z = torch.rand(expected, device=device, generator=rng).mul_(2).sub_(1)
        else:
            z = sample_latent(n, variant.latent_dim, variant.latent_distribution, device, rng)
        inputs = z if num_classes is None else (z, torch.arange(n, device=device) % num_classes)
        images = _forward(spec, generator, inputs, f"a batch of {what}")
    wanted = "×".join(str(size) for size in expected)
    if tuple(images.shape) != expected:
        raise ComponentBuildError(f"{_who(spec)}: maps {what} {_shape(z)} to {_shape(images)}, "
                                  f"expected images {wanted} (N×C×H×W)")
    if not torch.isfinite(images).all():
        raise ComponentBuildError(f"{_who(spec)}: gives non-finite values for {what} {_shape(z)}")
    low, high = images.min().item(), images.max().item()
    if low < -1 - PROBE_RANGE_TOLERANCE or high > 1 + PROBE_RANGE_TOLERANCE:
        raise ComponentBuildError(f"{_who(spec)}: gives values in [{low:.3g}, {high:.3g}], "
                                  "outside [-1, 1] (end the network with tanh)")


def probe_discriminator(spec: ComponentSpec, discriminator: nn.Module,
                        shape: tuple[int, int, int], device: torch.device,
                        variant: Variant | None = None, num_classes: int | None = None) -> None:
    """One forward pass on images of the right shape and range (with latents from ``variant``
    for a discriminator of (image, latent) pairs, classes for a conditional one): one finite
    score each, and ``num_classes`` logits each from a classifying one."""
    import torch

    n, expected = PROBE_BATCH, (PROBE_BATCH, *shape)
    wanted = "×".join(str(size) for size in expected)
    with _probing(discriminator, device) as rng:
        real_like = torch.rand(expected, device=device, generator=rng).mul_(2).sub_(1)
        if variant is not None:
            z = sample_latent(n, variant.latent_dim, variant.latent_distribution, device, rng)
            real_like = (real_like, z)
            wanted += f" with latents {_shape(z)}"
        elif spec.conditional and num_classes is not None:
            real_like = (real_like, torch.arange(n, device=device) % num_classes)
            wanted += " with class labels"
        scores = _forward(spec, discriminator, real_like, "images", outputs=2 if spec.classifier else 1)
    if spec.classifier:
        scores, logits = scores
        if tuple(logits.shape) != (n, num_classes):
            raise ComponentBuildError(f"{_who(spec)}: classifies images {wanted} into logits {_shape(logits)}, "
                                      f"expected {n}×{num_classes} (one per class)")
    if tuple(scores.shape) not in ((n,), (n, 1)):
        raise ComponentBuildError(f"{_who(spec)}: maps images {wanted} to {_shape(scores)}, "
                                  f"expected one score per image ({n} or {n}×1)")
    if not torch.isfinite(scores).all():
        raise ComponentBuildError(f"{_who(spec)}: gives non-finite scores for images {wanted}")
