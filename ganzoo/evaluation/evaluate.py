"""Scoring samples with every registered metric, with provenance next to every number.

Metrics are plugins (``register_metrics``). They share one :class:`EvalContext`, which
computes the digit classifier's outputs for the samples and the reference once. Each number in
an :class:`EvalReport` carries the extractor's name and weights hash, the reference set, the
number of samples, the seed, and the real-vs-real value of the same metric: the good end of
its scale.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.errors import ComponentBuildError, DataError, GanzooError

if TYPE_CHECKING:
    import torch

    from ganzoo.build import TrainedGenerator
    from ganzoo.evaluation.classifier import DigitClassifier

DEFAULT_SAMPLES = 1000
BASELINE_SET = "mnist:test-b"


class EvalContext:
    """What a metric's ``compute`` receives. Classifier outputs are computed on first use."""

    def __init__(self, samples: torch.Tensor, reference: str, seed: int,
                 classifier: DigitClassifier | None = None, sample_labels: torch.Tensor | None = None) -> None:
        from ganzoo.evaluation.classifier import get_digit_classifier
        from ganzoo.evaluation.reference import reference_images, reference_labels

        self.samples = samples
        self.sample_labels = sample_labels
        """The class each sample was drawn as (conditional generators), or None."""
        self.reference = reference
        self.reference_images = reference_images(reference)
        self.reference_labels = reference_labels(reference)
        self.seed = seed
        self.classifier = classifier or get_digit_classifier()

    @functools.cached_property
    def _reference_outputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        from ganzoo.evaluation.reference import _reference_outputs

        return _reference_outputs(self.reference, self.classifier)

    @functools.cached_property
    def sample_features(self) -> torch.Tensor:
        return self.classifier.features(self.samples)

    @functools.cached_property
    def sample_probabilities(self) -> torch.Tensor:
        return self.classifier.probabilities(self.samples)

    @property
    def reference_features(self) -> torch.Tensor:
        return self._reference_outputs[0]

    @property
    def reference_probabilities(self) -> torch.Tensor:
        return self._reference_outputs[1]


@dataclass
class EvalReport:
    """Metric values with their provenance; ``to_dict()`` is the ``--json`` output."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def value(self, metric: str) -> Any:
        for row in self.rows:
            if row["metric"] == metric:
                return row["value"]
        raise KeyError(metric)

    def to_dict(self) -> dict[str, Any]:
        return {"provenance": dict(self.provenance), "metrics": [dict(r) for r in self.rows]}


def _flatten(name: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [(f"{name}.{k}", v) for k, v in value.items()]
    return [(name, value)]


def _compute(names: Sequence[str], context: EvalContext) -> dict[str, Any]:
    from ganzoo.factories import metric_result
    from ganzoo.plugins import get_registry

    registry = get_registry()
    values: dict[str, Any] = {}
    for name in names:
        spec = registry.component("metric", name)
        if spec.conditional and context.sample_labels is None:
            continue  # a metric of class-conditional samples; these have no requested classes
        try:
            result = spec.factory(context)
        except GanzooError:
            raise
        except Exception as err:  # noqa: BLE001 - a plugin's metric failing is reported, not a crash
            raise GanzooError(f"metric {name!r} from plugin {spec.plugin} failed: "
                              f"{type(err).__name__}: {err}") from err
        # The contract (ComponentSpec): a finite-or-NaN number, or a dict of them.
        checked, problem = metric_result(result)
        if problem is not None:
            plugin = f" (plugin {spec.plugin})" if spec.plugin else ""
            raise ComponentBuildError(f"metric {name!r}{plugin}: {problem}")
        values.update(_flatten(name, checked))
    return values


_baseline_lock = threading.Lock()
_baselines: dict[tuple[Any, ...], dict[str, Any]] = {}


def real_vs_real(reference: str, names: Sequence[str], seed: int,
                 classifier: DigitClassifier) -> dict[str, Any]:
    """The same metrics for real held-out digits (``mnist:test-b``, with their true classes)
    against the reference: what a perfect generator would score with 1,000 samples. Memoised
    per process."""
    from ganzoo.evaluation.reference import reference_images, reference_labels

    key = (reference, tuple(names), seed, classifier.weights_sha256)
    with _baseline_lock:
        if key not in _baselines:
            context = EvalContext(reference_images(BASELINE_SET), reference, seed, classifier,
                                  sample_labels=reference_labels(BASELINE_SET))
            _baselines[key] = _compute(names, context)
        return dict(_baselines[key])


def evaluate_images(samples: torch.Tensor, reference: str = "mnist:test-a",
                    metrics: Sequence[str] | None = None, seed: int = 0, baseline: bool = True,
                    source: str | None = None, sample_labels: torch.Tensor | None = None) -> EvalReport:
    """Score ``samples`` (``N×C×H×W`` in [-1, 1]) with the named metrics (default: all; the
    conditional ones only when ``sample_labels`` says which class each sample was drawn as)."""
    import torch

    from ganzoo.evaluation.reference import reference_images
    from ganzoo.plugins import get_registry

    if samples.ndim != 4 or samples.shape[0] < 4:
        raise DataError(f"{source or 'samples'}: need at least 4 images N×C×H×W to evaluate, "
                        f"got shape {tuple(samples.shape)}")
    # Checked before the classifier is built (it may have to be trained). The classifier turns
    # RGB gray and resizes, which is faithful for 1- or 3-channel images with the reference's
    # aspect ratio (e.g. 3×32×32 runs); any other shape would be scored as nonsense, silently.
    shape, ref_shape = tuple(samples.shape[1:]), tuple(reference_images(reference).shape[1:])
    (c, h, w), (_, ref_h, ref_w) = shape, ref_shape
    if shape != ref_shape and (c not in (1, 3) or h * ref_w != w * ref_h):
        dims = "×".join(map(str, shape)), "×".join(map(str, ref_shape))
        raise DataError(f"{source or 'samples'}: samples are {dims[0]} images, the reference set "
                        f"{reference} is {dims[1]}; save gray or RGB images of the reference's "
                        f"proportions (e.g. N×{dims[1]}; other sizes are resized)")
    if not torch.isfinite(samples).all():
        raise DataError(f"{source or 'samples'}: contains NaN or infinite values")
    names = list(metrics) if metrics else get_registry().list_components("metric")
    if sample_labels is None:
        wanted = [n for n in names if get_registry().component("metric", n).conditional]
        if metrics and wanted:
            raise DataError(f"{source or 'samples'}: metric {wanted[0]!r} scores class-conditional samples, "
                            f"and these have no requested classes (evaluate a conditional run)")
    context = EvalContext(samples.float().cpu(), reference, seed,
                          sample_labels=None if sample_labels is None else sample_labels.cpu())
    values = _compute(names, context)
    base = real_vs_real(reference, names, seed, context.classifier) if baseline else {}
    registry = get_registry()
    provenance = {
        "extractor": context.classifier.name, "extractor_sha256": context.classifier.weights_sha256,
        "reference": reference, "reference_size": int(context.reference_images.shape[0]),
        "num_samples": int(samples.shape[0]), "seed": seed, "source": source,
        "baseline": BASELINE_SET if baseline else None,
    }
    rows = []
    for key, value in values.items():
        metric = key.split(".")[0]
        rows.append({"metric": key, "value": value, "better": registry.component("metric", metric).better,
                     "real_vs_real": base.get(key),
                     **{k: provenance[k] for k in ("extractor", "extractor_sha256", "reference",
                                                   "num_samples", "seed")}})
    return EvalReport(rows, provenance)


def evaluate_gan(gan: TrainedGenerator, samples: int = DEFAULT_SAMPLES, seed: int = 0,
                 **kwargs: Any) -> EvalReport:
    """Draw ``samples`` images (EMA weights when present; each class in turn for a conditional
    generator) with ``seed`` and score them."""
    labels = gan.requested_labels(samples)
    return evaluate_images(gan.generate(samples, seed=seed, labels=labels), seed=seed, sample_labels=labels, **kwargs)


def load_eval_source(source: str | Path, num_samples: int, seed: int,
                     device: str = "auto") -> tuple[torch.Tensor, torch.Tensor | None]:
    """Samples to evaluate and the class each was drawn as (None when unknown): a .npy/.npz
    file or an image folder (used as given, at most ``num_samples``), or a run folder /
    checkpoint (``num_samples`` drawn with ``seed``; each class in turn when conditional)."""
    from ganzoo.images import load_samples
    from ganzoo.runs.rundir import RunDir

    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    is_run = RunDir.holds_run(path) or path.suffix == ".pt"
    if is_run:
        from ganzoo.runs.checkpoint import load_sources, load_trained_gan

        gan, payload = load_trained_gan(path, device=device)
        if gan.translates:  # it translates the field it trained on, as the run recorded it
            load_sources(gan, payload)
        labels = gan.requested_labels(num_samples)
        return gan.generate(num_samples, seed=seed, labels=labels), labels
    if path.suffix == ".npz":  # samples written with their classes (ganzoo sample --npz)
        from ganzoo.data import load_dataset

        drawn = load_dataset(path, limit=num_samples)
        return drawn.images, drawn.labels
    return load_samples(path, limit=num_samples), None
