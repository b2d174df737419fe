"""Built-in sample-quality metrics, all in the feature space of ganzoo's own digit classifier
(trained offline on the built-in MNIST digits; no Inception weights to download).

Provenance: Heusel et al. 2017 (Fréchet distance, arXiv:1706.08500); Salimans et al. 2016
(Inception Score, arXiv:1606.03498); Kynkäänniemi et al. 2019 (improved precision and recall,
arXiv:1904.06991); Lopez-Paz & Oquab 2017 (classifier two-sample tests, arXiv:1610.06545).
"""

from __future__ import annotations

from typing import Any

from ganzoo import hookimpl


def frechet_distance(context: Any) -> float:
    from ganzoo.evaluation.metrics import frechet_distance as fd

    return fd(context.reference_features, context.sample_features)


def classifier_score(context: Any) -> float:
    from ganzoo.evaluation.metrics import classifier_score as score

    return score(context.sample_probabilities)


def coverage(context: Any) -> dict[str, Any]:
    from ganzoo.evaluation.metrics import mode_coverage

    covered, histogram = mode_coverage(context.sample_probabilities, min_fraction=0.04)
    return {"classes": covered, "histogram": histogram}


def precision_recall(context: Any) -> dict[str, float]:
    from ganzoo.evaluation.metrics import precision_recall as pr

    precision, recall = pr(context.reference_features, context.sample_features, k=3)
    return {"precision": precision, "recall": recall}


def two_sample(context: Any) -> float:
    from ganzoo.evaluation.metrics import two_sample_accuracy

    return two_sample_accuracy(context.reference_features, context.sample_features, seed=context.seed)


def class_accuracy(context: Any) -> dict[str, Any]:
    from ganzoo.evaluation.metrics import class_accuracy as accuracy

    overall, per_class = accuracy(context.sample_probabilities, context.sample_labels)
    return {"overall": overall, "per_class": per_class}


def intra_class_fd(context: Any) -> dict[str, Any]:
    from ganzoo.evaluation.metrics import intra_class_frechet_distance

    mean, per_class = intra_class_frechet_distance(context.sample_features, context.sample_labels,
                                                   context.reference_features, context.reference_labels)
    return {"mean": mean, "per_class": per_class}


@hookimpl
def register_metrics(register):
    # Conditional metrics score samples drawn as requested classes (conditional runs only).
    register("class-accuracy", class_accuracy, better="higher", conditional=True,
             summary="how often the digit classifier sees the requested class: overall and per class",
             source="Odena et al. 2017 (AC-GAN), arXiv:1610.09585")
    register("intra-class-fd", intra_class_fd, better="lower", conditional=True,
             summary="Fréchet distance per class against that class's reference digits, and its mean",
             source="Miyato & Koyama 2018, arXiv:1802.05637")
    register("frechet-distance", frechet_distance, better="lower",
             summary="Fréchet distance between Gaussians fitted to classifier features",
             source="Heusel et al. 2017, arXiv:1706.08500")
    register("classifier-score", classifier_score, better="higher",
             summary="Inception-Score-style exp(E KL(p(y|x) ‖ p(y))) with the digit classifier (1–10)",
             source="Salimans et al. 2016, arXiv:1606.03498")
    register("coverage", coverage, better="higher",
             summary="digit classes holding ≥ 4% of samples (of 10), and the class histogram",
             source="mode coverage as in Metz et al. 2017, arXiv:1611.02163")
    register("precision-recall", precision_recall, better="higher",
             summary="k-NN manifold precision (fidelity) and recall (diversity), k=3",
             source="Kynkäänniemi et al. 2019, arXiv:1904.06991")
    register("two-sample", two_sample, better="lower",
             summary="held-out accuracy of a classifier telling real from generated features (0.5 = indistinguishable)",
             source="Lopez-Paz & Oquab 2017, arXiv:1610.06545")
