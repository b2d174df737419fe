"""Offline evaluation of generated digits with ganzoo's own feature extractor.

- :mod:`ganzoo.evaluation.classifier` — a small CNN digit classifier trained on the built-in
  ``train`` split, its weights shipped with ganzoo and checked against a fixed hash; its
  penultimate layer is the feature space of the metrics.
- :mod:`ganzoo.evaluation.metrics` — Fréchet distance, classifier score, mode coverage, k-NN
  precision/recall and a classifier two-sample test.
- :mod:`ganzoo.evaluation.reference` — the reference sets (``mnist:test-a`` …).
- :mod:`ganzoo.evaluation.evaluate` — scoring samples with every registered metric (metrics are
  plugins: ``register_metrics``), with provenance and the real-vs-real value of each number.

Importing this package does not import torch: the names below are loaded on first access, so
``ganzoo --help`` and plugin discovery stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "DigitClassifier": "classifier",
    "get_digit_classifier": "classifier",
    "frechet_distance": "metrics",
    "classifier_score": "metrics",
    "mode_coverage": "metrics",
    "precision_recall": "metrics",
    "two_sample_accuracy": "metrics",
    "reference_images": "reference",
    "EvalContext": "evaluate",
    "EvalReport": "evaluate",
    "evaluate_images": "evaluate",
    "evaluate_gan": "evaluate",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from ganzoo.evaluation.classifier import DigitClassifier, get_digit_classifier
    from ganzoo.evaluation.metrics import (
        classifier_score,
        frechet_distance,
        mode_coverage,
        precision_recall,
        two_sample_accuracy,
    )
    from ganzoo.evaluation.evaluate import EvalContext, EvalReport, evaluate_gan, evaluate_images
    from ganzoo.evaluation.reference import reference_images


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
