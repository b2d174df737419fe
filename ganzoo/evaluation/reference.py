"""Reference image sets and the real-vs-real baseline that anchors every metric's good end.

Generated samples are scored against ``mnist:test-a`` (1,000 built-in digits, 100 per class).
Scoring ``mnist:test-b`` — a disjoint set of real digits — the same way gives the values a perfect
generator would reach with the same sample size: Fréchet distance is not 0 and precision is not 1
even for real data, so numbers are only meaningful next to this baseline.
"""

from __future__ import annotations

import functools
import threading

import torch

from ganzoo.errors import DataError
from ganzoo.evaluation.classifier import DigitClassifier

REFERENCE_SETS: dict[str, str] = {"mnist:train": "train", "mnist:test-a": "test-a", "mnist:test-b": "test-b"}
"""Reference set names and the built-in MNIST split each one is."""

DEFAULT_REFERENCE = "mnist:test-a"
BASELINE_SAMPLES = "mnist:test-b"


@functools.lru_cache(maxsize=None)
def _load_reference(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    from ganzoo.data.builtin import builtin_mnist

    images, labels = builtin_mnist(REFERENCE_SETS[name])
    return torch.from_numpy(images).float() / 127.5 - 1.0, torch.from_numpy(labels).long()


def _checked(name: str) -> str:
    if name not in REFERENCE_SETS:
        raise DataError(f"unknown reference set {name!r}; choose one of {', '.join(REFERENCE_SETS)}")
    return name


def reference_images(name: str = DEFAULT_REFERENCE) -> torch.Tensor:
    """A reference set by name as float32 ``N×1×28×28`` in [-1, 1] (loaded once per process).

    Returns a copy, so callers may modify it freely.
    """
    return _load_reference(_checked(name))[0].clone()


def reference_labels(name: str = DEFAULT_REFERENCE) -> torch.Tensor:
    """The digit (int64) of each image of :func:`reference_images`."""
    return _load_reference(_checked(name))[1].clone()


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

