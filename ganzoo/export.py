"""A trained generator leaves ganzoo: an ONNX model (run by onnxruntime) or a ``torch.export``
program (``.pt2``), checked on the spot.

What is exported is what ``ganzoo sample`` draws from: the sampling generator (EMA weights and
their standing BatchNorm statistics when the run has them) in eval mode, taking latents (and
int64 class labels when conditional) and returning float32 images in [-1, 1]. A structured
latent (``register_latents``) is taken part by part, one input named after each part. Each export is
loaded back by its own runtime and run on fixed latents; its output must match ganzoo's within
:data:`TOLERANCE`, or nothing is written. The measured difference and the run's provenance go
into ``FILE.json`` next to the model.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import hashlib
import importlib.metadata
import importlib.util
import inspect
import io
import json
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganzoo.atomic import storage_error, write_atomically
from ganzoo.build import TrainedGenerator
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.specs import LatentPart
from ganzoo.version import __version__

FORMATS: dict[str, str] = {"onnx": ".onnx", "pt2": ".pt2"}
"""Export formats and their file suffixes."""
ONNX_OPSET = 20
"""The ONNX opset every export targets (onnxruntime ≥ 1.17 runs it)."""
TOLERANCE = 1e-4
"""Largest absolute difference allowed between the exported model's images and ganzoo's (images
are in [-1, 1]; float32 kernels of different runtimes differ by ~1e-6)."""
_NEEDS: dict[str, tuple[str, ...]] = {"onnx": ("onnx", "onnxscript", "onnxruntime"), "pt2": ()}
_CHECK_BATCHES = (1, 7)  # a dynamic batch is checked at two sizes (1 catches a baked-in batch)


class ExportError(GanzooError):
    """An export that failed or does not match ganzoo's output (nothing was written)."""

    exit_status = 1


def missing_packages(format: str) -> list[str]:
    """The packages ``format`` needs that are not installed."""
    return [name for name in _NEEDS[format] if importlib.util.find_spec(name) is None]


def require(format: str) -> None:
    """A one-line :class:`ConfigError` naming the extra to install when ``format`` cannot run."""
    if format not in FORMATS:
        raise ConfigError(f"--format {format}: unknown export format; choose {' or '.join(FORMATS)}")
    missing = missing_packages(format)
    if missing:
        raise ConfigError(f"--format {format} needs {', '.join(missing)}, which "
                          f"{'is' if len(missing) == 1 else 'are'} not installed: pip install 'ganzoo[export]'")


class SamplingModule(nn.Module):
    """``forward(z[, labels]) -> images``: a generator as sampling calls it (eval mode, float32,
    clamped to [-1, 1]); what gets exported."""

    def __init__(self, generator: nn.Module, conditional: bool, input_name: str = "z") -> None:
        super().__init__()
        self.generator = generator
        self.conditional = conditional
        self.input_name = input_name  # "images" for a generator that translates them

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        out = self.generator(z, labels) if self.conditional else self.generator(z)
        return out.float().clamp(-1, 1)

    def input_names(self) -> list[str]:
        """The names of ``forward``'s inputs, in order (the ONNX model's inputs)."""
        return [self.input_name, "labels"] if self.conditional else [self.input_name]

    def inputs_of(self, z: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        """``forward``'s inputs for latents ``z`` (and ``labels`` when conditional)."""
        return (z, labels) if labels is not None else (z,)


class StructuredSamplingModule(SamplingModule):
    """``forward(PART, ...[, labels]) -> images``: a generator whose latent has parts, taking one
    input per part in order (float32 ``N×size``; a categorical part an int64 class index ``N``)
    and concatenating them into the latent it was trained on. Build it with
    :func:`sampling_module`, which names ``forward``'s arguments after the parts."""

    def __init__(self, generator: nn.Module, conditional: bool, parts: Sequence[LatentPart]) -> None:
        super().__init__(generator, conditional)
        self.parts = tuple(parts)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        from ganzoo.latent import one_hot

        count = len(self.parts)
        values = [x if part.continuous else one_hot(x, part.size or 0, torch.float32)
                  for part, x in zip(self.parts, inputs[:count])]
        return super().forward(torch.cat(values, dim=1), inputs[count] if self.conditional else None)

    def input_names(self) -> list[str]:
        return [part.name for part in self.parts] + (["labels"] if self.conditional else [])

    def inputs_of(self, z: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        from ganzoo.latent import part_slices

        slices = part_slices(self.parts)
        values = tuple(z[:, slices[part.name]] if part.continuous else z[:, slices[part.name]].argmax(1)
                       for part in self.parts)
        return values + ((labels,) if labels is not None else ())


def sampling_module(generator: nn.Module, conditional: bool, parts: Sequence[LatentPart]) -> SamplingModule:
    """What is exported for a generator of latents with (sized) ``parts``: a
    :class:`SamplingModule` taking ``z`` for an unstructured latent (one continuous part), else a
    :class:`StructuredSamplingModule` whose ``forward`` arguments are named after the parts (so
    are a ``.pt2`` program's inputs, as the ONNX model's)."""
    from ganzoo.latent import is_structured

    if not is_structured(parts):
        return SamplingModule(generator, conditional)
    names = [part.name for part in parts] + (["labels"] if conditional else [])
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD

    def forward(self: StructuredSamplingModule, *inputs: torch.Tensor) -> torch.Tensor:
        return StructuredSamplingModule.forward(self, *inputs)

    # torch.export names a program's inputs after forward's signature.
    forward.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", positional), *(inspect.Parameter(name, positional) for name in names)])
    named = type("StructuredSamplingModule", (StructuredSamplingModule,), {"forward": forward})
    return named(generator, conditional, parts)


@dataclass(frozen=True)
class ExportResult:
    """Where an export went and how well it matched."""

    path: Path
    format: str
    batch: int | None
    """The fixed batch size, or None for a dynamic batch."""
    max_abs_diff: float
    checked_batches: tuple[int, ...]
    provenance: dict[str, Any]


def example_inputs(latent_dim: int, num_classes: int | None, n: int, seed: int = 0,
                   distribution: str = "normal", images: tuple[int, int, int] | None = None) -> tuple[torch.Tensor, ...]:
    """Fixed latents (and classes, each in turn, when ``num_classes``) for ``n`` samples on the
    CPU; with ``images`` (a shape), images in [-1, 1] of that shape for a translating generator."""
    from ganzoo.latent import sample_latent

    rng = torch.Generator().manual_seed(seed)
    if images is not None:
        z = torch.rand(n, *images, generator=rng).mul_(2).sub_(1)
    else:
        z = sample_latent(n, latent_dim, distribution, "cpu", rng)
    return (z, torch.arange(n) % num_classes) if num_classes else (z,)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # The ONNX exporter prints its progress and warns about its own internals.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _dynamic_shapes(count: int) -> tuple[dict[int, Any], ...]:
    batch = torch.export.Dim("batch", min=1, max=65536)
    return tuple({0: batch} for _ in range(count))


def _write(format: str, module: SamplingModule, inputs: tuple[torch.Tensor, ...], path: Path,
           dynamic: bool) -> None:
    shapes = _dynamic_shapes(len(inputs)) if dynamic else None
    names = module.input_names()
    with _quiet():
        if format == "pt2":
            program = torch.export.export(module, inputs, dynamic_shapes=shapes)
            torch.export.save(program, str(path))
        else:
            onnx_program = torch.onnx.export(module, inputs, dynamo=True, opset_version=ONNX_OPSET,
                                             dynamic_shapes=shapes, input_names=names,
                                             output_names=["images"], verbose=False)
            onnx_program.save(str(path))


def _run_exported(format: str, path: Path, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The exported file, loaded by its own runtime, on ``inputs``."""
    if format == "pt2":
        with _quiet():
            program = torch.export.load(str(path))
        return program.module()(*inputs).detach()
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {arg.name: tensor.numpy() for arg, tensor in zip(session.get_inputs(), inputs)}
    return torch.from_numpy(session.run(None, feeds)[0])


def export_module(module: SamplingModule, latent_dim: int, num_classes: int | None, format: str,
                  path: str | os.PathLike, batch: int | None = None,
                  distribution: str = "normal", images: tuple[int, int, int] | None = None
                  ) -> tuple[float, tuple[int, ...]]:
    """Export ``module`` (on the CPU, in eval mode) to ``path`` and check it: returns the largest
    absolute difference from ``module`` over the checked batch sizes, and those sizes. The file
    appears only when the check passes (a failing one is an :class:`ExportError`). ``images``:
    the input image shape of a translating generator (its input is images, not latents)."""
    require(format)
    target = Path(path)
    module = copy.deepcopy(module).cpu().eval()  # a copy: the caller's module keeps its device and mode
    sizes = (batch,) if batch else _CHECK_BATCHES
    trace_inputs = module.inputs_of(*_padded(example_inputs(latent_dim, num_classes, batch or 2, seed=1,
                                                            distribution=distribution, images=images)))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.")
    except OSError as err:
        raise storage_error(target, err) from None
    with scratch as folder:
        staged = Path(folder) / f"model{FORMATS[format]}"
        with torch.no_grad():
            try:
                _write(format, module, trace_inputs, staged, dynamic=batch is None)
            except OSError as err:
                raise storage_error(target, err) from None
            except Exception as err:  # noqa: BLE001 - any exporter failure is this network's
                raise ExportError(f"the generator cannot be exported as {format}: "
                                  f"{type(err).__name__}: {_first_line(err)}") from None
            worst = 0.0
            for n in sizes:
                inputs = module.inputs_of(*_padded(example_inputs(latent_dim, num_classes, n,
                                                                  distribution=distribution, images=images)))
                expected = module(*inputs)
                got = _run_exported(format, staged, inputs)
                if tuple(got.shape) != tuple(expected.shape):
                    raise ExportError(f"the {format} export returns shape {tuple(got.shape)} for a batch "
                                      f"of {n}, ganzoo {tuple(expected.shape)}; nothing written")
                worst = max(worst, float((got.float() - expected).abs().max()))
        if not worst <= TOLERANCE:
            raise ExportError(f"the {format} export differs from ganzoo's output by {worst:.3g} "
                              f"(tolerance {TOLERANCE:g}); nothing written")
        try:
            os.replace(staged, target)
        except OSError as err:
            raise storage_error(target, err) from None
    return worst, sizes


def _padded(inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor | None]:
    return (inputs[0], inputs[1] if len(inputs) > 1 else None)


def _first_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else ""


def config_hash(payload: dict[str, Any]) -> str:
    """sha256 of a run's recipe and settings as its checkpoint records them (canonical JSON)."""
    text = json.dumps({"variant": payload.get("variant"), "config": payload.get("config")},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _versions(format: str) -> dict[str, str]:
    versions = {"ganzoo": __version__, "torch": torch.__version__}
    for name in _NEEDS[format]:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def default_path(run_folder: Path, format: str) -> Path:
    return run_folder / f"generator{FORMATS[format]}"


def export_generator(gan: TrainedGenerator, payload: dict[str, Any], format: str, path: str | os.PathLike,
                     batch: int | None = None, source: str = "") -> ExportResult:
    """Export a trained run's sampling generator (see the module docstring) to ``path`` and
    write its provenance to ``path + '.json'``."""
    if batch is not None and batch < 1:
        raise ConfigError(f"--batch must be a positive number or 'dynamic', got {batch}")
    require(format)
    target = Path(path)
    if target.suffix != FORMATS[format]:
        raise ConfigError(f"--out {target}: {format} exports are written as {FORMATS[format]} files")
    if target.is_dir():
        raise ConfigError(f"--out {target}: is a folder; give a file name ending in {FORMATS[format]}")
    from ganzoo.latent import latent_parts

    variant = gan.variant
    parts = latent_parts(variant.latent_distribution, gan.latent_dim)
    net = gan.sampling_generator()
    averaged = [trick.name for trick in gan.tricks if trick.sampling_generator() is not None]
    translates = gan.image_shape if gan.translates else None
    module = SamplingModule(net, False, "images") if translates else sampling_module(net, gan.conditional, parts)
    worst, sizes = export_module(module, gan.latent_dim, gan.num_classes if gan.conditional else None,
                                 format, target, batch, variant.latent_distribution, images=translates)
    inputs: list[dict[str, Any]]
    if translates:
        inputs = [{"name": "images", "dtype": "float32", "shape": [batch or "batch", *gan.image_shape],
                   "range": [-1, 1], "field": variant.translate_from}]
    elif isinstance(module, StructuredSamplingModule):
        inputs = [{"name": part.name, "dtype": "float32", "shape": [batch or "batch", part.size],
                   "distribution": part.kind} if part.continuous else
                  {"name": part.name, "dtype": "int64", "shape": [batch or "batch"], "distribution": part.kind,
                   "classes": part.size} for part in parts]
    else:
        inputs = [{"name": "z", "dtype": "float32", "shape": [batch or "batch", gan.latent_dim],
                   "distribution": variant.latent_distribution}]
    if gan.conditional:
        inputs.append({"name": "labels", "dtype": "int64", "shape": [batch or "batch"],
                       "classes": list(gan.class_names or range(gan.num_classes or 0))})
    provenance = {
        "format": format, "file": target.name, "opset": ONNX_OPSET if format == "onnx" else None,
        "inputs": inputs,
        "output": {"name": "images", "dtype": "float32", "shape": [batch or "batch", *gan.image_shape],
                   "range": [-1, 1]},
        "check": {"tolerance": TOLERANCE, "max_abs_diff": worst, "batches": list(sizes),
                  "runtime": "onnxruntime (CPUExecutionProvider)" if format == "onnx" else "torch.export.load"},
        "run": {"source": source, "variant": variant.name, "step": payload.get("step"),
                "config_sha256": config_hash(payload),
                "weights": (f"averaged weights of trick {averaged[0]!r} (BatchNorm statistics recomputed for them)"
                            if averaged else "the trained generator")},
        "versions": _versions(format),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    text = json.dumps(provenance, indent=2) + "\n"
    write_atomically(provenance_path(target), lambda handle: handle.write(text.encode()))
    return ExportResult(target, format, batch, worst, sizes, provenance)


def provenance_path(path: str | os.PathLike) -> Path:
    target = Path(path)
    return target.with_name(target.name + ".json")


def export_check(generator: nn.Module, latent_dim: int, num_classes: int | None,
                 formats: Sequence[str] = tuple(FORMATS), images: tuple[int, int, int] | None = None) -> dict[str, float]:
    """Export ``generator`` to every format in a scratch folder and check each (the conformance
    kit's export check); returns the measured difference per format. ``images``: the input
    image shape of a translating generator."""
    module = SamplingModule(generator, num_classes is not None, "images" if images else "z")
    found = {}
    with tempfile.TemporaryDirectory() as folder:
        for format in formats:
            worst, _ = export_module(module, latent_dim, num_classes, format,
                                     Path(folder) / f"generator{FORMATS[format]}", images=images)
            found[format] = worst
    return found
