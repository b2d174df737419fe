"""Reference image sets and the real-vs-real baseline that anchors every metric's good end.

Generated samples are scored against ``mnist:test-a`` (1,000 built-in digits, 100 per class).
Scoring ``mnist:test-b`` — a disjoint set of real digits — the same way gives the values a perfect
generator would reach with the same sample size: Fréchet distance is not 0 and precision is not 1
even for real data, so numbers are only meaningful next to this baseline.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

import torch

from ganzoo.errors import DataError
from ganzoo.evaluation import metrics
from ganzoo.evaluation.classifier import DigitClassifier, get_digit_classifier

REFERENCE_SETS: dict[str, str] = {"mnist:train": "train", "mnist:test-a": "test-a", "mnist:test-b": "test-b"}
"""Reference set names and the built-in MNIST split each one is."""

DEFAULT_REFERENCE = "mnist:test-a"
BASELINE_SAMPLES = "mnist:test-b"


@functools.lru_cache(maxsize=None)
def _load_reference(name: str) -> torch.Tensor:
    from ganzoo.data.builtin import builtin_mnist

    images, _ = builtin_mnist(REFERENCE_SETS[name])
    return torch.from_numpy(images).float() / 127.5 - 1.0


def reference_images(name: str = DEFAULT_REFERENCE) -> torch.Tensor:
    """A reference set by name as float32 ``N×1×28×28`` in [-1, 1] (loaded once per process).

    Returns a copy, so callers may modify it freely.
    """
    if name not in REFERENCE_SETS:
        raise DataError(f"unknown reference set {name!r}; choose one of {', '.join(REFERENCE_SETS)}")
    return _load_reference(name).clone()


_feature_cache: dict[tuple[str, str], tuple[torch.Tensor, torch.Tensor]] = {}
_feature_lock = threading.Lock()


def _reference_outputs(name: str, classifier: DigitClassifier) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and probabilities of a reference set, memoised per set and classifier weights."""
    key = (name, classifier.weights_sha256)
    with _feature_lock:
        if key not in _feature_cache:
            images = reference_images(name)
            _feature_cache[key] = (classifier.features(images), classifier.probabilities(images))
        return _feature_cache[key]


def evaluate_images(
    images: torch.Tensor,
    reference: str = DEFAULT_REFERENCE,
    *,
    classifier: DigitClassifier | None = None,
    seed: int = 0,
    k: int = 3,
    min_fraction: float = 0.04,
    two_sample: bool = True,
) -> dict[str, Any]:
    """Score images ``N×C×H×W`` in [-1, 1] against a reference set with every metric.

    Returns a JSON-friendly dict with ``frechet_distance``, ``classifier_score``, ``coverage``,
    ``coverage_histogram``, ``precision``, ``recall`` and, unless ``two_sample`` is false (it is
    the slowest metric, a few seconds), ``two_sample_accuracy``. Use as many images as the
    reference set has (1,000): FD and precision/recall depend on the sample size.
    """
    classifier = classifier or get_digit_classifier()
    ref_features, _ = _reference_outputs(reference, classifier)
    features, probabilities = classifier.features(images), classifier.probabilities(images)
    covered, histogram = metrics.mode_coverage(probabilities, min_fraction=min_fraction)
    precision, recall = metrics.precision_recall(ref_features, features, k=k)
    result: dict[str, Any] = {
        "reference": reference,
        "classifier": classifier.name,
        "num_images": len(features),
        "frechet_distance": metrics.frechet_distance(ref_features, features),
        "classifier_score": metrics.classifier_score(probabilities),
        "coverage": covered,
        "coverage_histogram": histogram,
        "precision": precision,
        "recall": recall,
    }
    if two_sample:
        result["two_sample_accuracy"] = metrics.two_sample_accuracy(reference_images(reference), images, seed=seed)
    return result


_baseline_cache: dict[tuple[Any, ...], dict[str, Any]] = {}


def real_vs_real_baseline(
    reference: str = DEFAULT_REFERENCE,
    samples: str = BASELINE_SAMPLES,
    *,
    classifier: DigitClassifier | None = None,
    seed: int = 0,
    k: int = 3,
    min_fraction: float = 0.04,
    two_sample: bool = True,
) -> dict[str, Any]:
    """The metric values of real digits (``samples``) scored against ``reference``: the good end.

    Same keys as :func:`evaluate_images` plus ``samples``; memoised per process.
    """
    if reference == samples:
        raise DataError("the baseline needs two different reference sets (a set against itself is trivially perfect)")
    classifier = classifier or get_digit_classifier()
    key = (reference, samples, classifier.weights_sha256, seed, k, min_fraction, two_sample)
    if key not in _baseline_cache:
        result = evaluate_images(
            reference_images(samples), reference, classifier=classifier, seed=seed, k=k,
            min_fraction=min_fraction, two_sample=two_sample,
        )
        _baseline_cache[key] = {"samples": samples, **result}
    return copy.deepcopy(_baseline_cache[key])
