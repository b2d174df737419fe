"""Metric functions on features, probabilities and images: pure and deterministic given a seed.

Features and probabilities normally come from :class:`ganzoo.evaluation.classifier.DigitClassifier`;
every function also accepts NumPy arrays. Summary of the scales (real-vs-real gives the good end):

- :func:`frechet_distance` — 0 is best; distance between Gaussians fitted to two feature sets.
- :func:`classifier_score` — Inception-Score style, 1 (one class / no confidence) to 10 (MNIST).
- :func:`mode_coverage` — how many classes get at least ``min_fraction`` of the samples.
- :func:`precision_recall` — k-NN manifold precision (fidelity) and recall (diversity), 0..1.
- :func:`two_sample_accuracy` — held-out accuracy of a small classifier telling real from fake
  features: 0.5 is best.
"""

from __future__ import annotations

import math

from typing import Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.evaluation.classifier import deterministic

ArrayLike = Union[torch.Tensor, np.ndarray]

_CDIST_CHUNK = 1024  # rows of the distance matrix computed at once (bounded memory for big sets)


def _as_float64_matrix(values: ArrayLike, what: str) -> torch.Tensor:
    tensor = values.detach() if isinstance(values, torch.Tensor) else torch.as_tensor(np.asarray(values))
    tensor = tensor.to(device="cpu", dtype=torch.float64)
    if tensor.ndim != 2 or len(tensor) == 0:
        raise ValueError(f"{what} must be a non-empty N×D matrix, got shape {tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return tensor


def _as_probabilities(probs: ArrayLike) -> np.ndarray:
    p = _as_float64_matrix(probs, "probs").numpy()
    # Catch logits passed by mistake: they would give meaningless scores rather than an error.
    if (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("probs must be rows of class probabilities (non-negative, summing to 1)")
    return p


def frechet_distance(feats_a: ArrayLike, feats_b: ArrayLike) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``N×D`` and ``M×D``.

    ``|mu_a - mu_b|² + tr(A) + tr(B) - 2 tr((A B)^½)``, in float64. The trace term is computed as
    ``tr((A^½ B A^½)^½)`` — equal, but the inner matrix is symmetric PSD, so symmetric eigen-
    decompositions suffice: no complex intermediate results and no ill-conditioned ``sqrtm``.
    """
    a, b = _as_float64_matrix(feats_a, "feats_a").numpy(), _as_float64_matrix(feats_b, "feats_b").numpy()
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets differ in dimension: {a.shape[1]} vs {b.shape[1]}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("the Fréchet distance needs at least 2 samples per set")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eigvals_a, eigvecs_a = np.linalg.eigh(cov_a)
    sqrt_a = (eigvecs_a * np.sqrt(np.clip(eigvals_a, 0.0, None))) @ eigvecs_a.T
    inner = sqrt_a @ cov_b @ sqrt_a
    inner = (inner + inner.T) / 2.0  # remove rounding asymmetry before eigvalsh
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh(inner), 0.0, None)).sum()
    distance = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt)
    return max(distance, 0.0)  # tiny negatives are rounding noise of identical distributions


def classifier_score(probs: ArrayLike) -> float:
    """Inception-Score style ``exp(E_x KL(p(y|x) || p(y)))`` from class probabilities ``N×K``.

    1 when every sample gets the same prediction; K (10 for digits) for confident, balanced ones.
    """
    p = _as_probabilities(probs)
    eps = 1e-12
    marginal = p.mean(axis=0, keepdims=True)
    kl = (p * (np.log(p + eps) - np.log(marginal + eps))).sum(axis=1)
    return float(np.exp(kl.mean()))


def mode_coverage(probs: ArrayLike, min_fraction: float = 0.04) -> tuple[int, list[int]]:
    """Count the classes that receive at least ``min_fraction`` of the samples (by argmax).

    Returns ``(covered_count, histogram)`` where ``histogram[c]`` is the number of samples whose
    most likely class is ``c``. With 10 balanced digits each class gets ~0.1; 0.04 tolerates
    imbalance but not a nearly missing mode.
    """
    if not 0.0 < min_fraction <= 1.0:
        raise ValueError(f"min_fraction must be in (0, 1], got {min_fraction}")
    p = _as_probabilities(probs)
    histogram = np.bincount(p.argmax(axis=1), minlength=p.shape[1])
    covered = int((histogram >= min_fraction * len(p)).sum())
    return covered, [int(count) for count in histogram]


def _kth_neighbour_radii(points: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point to its k-th nearest other point (the point itself is 0th)."""
    radii = []
    for start in range(0, len(points), _CDIST_CHUNK):
        d = torch.cdist(points[start : start + _CDIST_CHUNK], points, compute_mode="donot_use_mm_for_euclid_dist")
        radii.append(d.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def _fraction_inside(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> float:
    """Fraction of ``queries`` inside at least one ball ``(centre, radius)``."""
    inside = 0
    for start in range(0, len(queries), _CDIST_CHUNK):
        d = torch.cdist(queries[start : start + _CDIST_CHUNK], centres, compute_mode="donot_use_mm_for_euclid_dist")
        inside += int((d <= radii[None, :]).any(dim=1).sum())
    return inside / len(queries)


def precision_recall(real_feats: ArrayLike, fake_feats: ArrayLike, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN manifolds.

    Each set's manifold is the union of balls around its points reaching the k-th nearest
    neighbour. Precision: the fraction of fake samples inside the real manifold (are samples
    realistic?). Recall: the fraction of real samples inside the fake manifold (is the real
    variety covered?). Distances are exact (no matrix-product shortcut) in float64.
    """
    real = _as_float64_matrix(real_feats, "real_feats")
    fake = _as_float64_matrix(fake_feats, "fake_feats")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sets differ in dimension: {real.shape[1]} vs {fake.shape[1]}")
    if not 1 <= k < min(len(real), len(fake)):
        raise ValueError(f"k must be in [1, {min(len(real), len(fake)) - 1}] for these sets, got {k}")
    precision = _fraction_inside(fake, real, _kth_neighbour_radii(real, k))
    recall = _fraction_inside(real, fake, _kth_neighbour_radii(fake, k))
    return precision, recall


def two_sample_accuracy(real_feats: ArrayLike, fake_feats: ArrayLike, seed: int = 0, *,
                        steps: int = 300, hidden: int = 64) -> float:
    """Held-out accuracy of a small classifier trained to tell real from generated samples by
    their digit-classifier features (a classifier two-sample test, Lopez-Paz & Oquab 2017).

    0.5 means the two sets are indistinguishable to it; 1.0 means trivially separable. Both
    sets are balanced to ``min(len)`` (a seeded random subset) and split 50/50 into train and
    test halves; features are standardised with the training half's statistics; a one-hidden-
    layer MLP is trained full-batch with Adam for a fixed number of ``steps``, everything
    seeded, so the result depends only on the inputs and ``seed``. Working on semantic features
    rather than pixels makes it judge whether samples look like the digits, not whether a
    CNN can find sub-visible pixel statistics (which separate almost any generator from data).
    """
    real = _as_float64_matrix(real_feats, "real features").float()
    fake = _as_float64_matrix(fake_feats, "fake features").float()
    n = min(len(real), len(fake))
    if n < 4:
        raise ValueError(f"the two-sample test needs at least 4 samples per set, got {len(real)} and {len(fake)}")
    train_n = n // 2
    with deterministic(seed):
        generator = torch.Generator().manual_seed(seed)
        real = real[torch.randperm(len(real), generator=generator)[:n]]
        fake = fake[torch.randperm(len(fake), generator=generator)[:n]]
        train_x = torch.cat([real[:train_n], fake[:train_n]])
        train_y = torch.cat([torch.ones(train_n), torch.zeros(train_n)])
        test_x = torch.cat([real[train_n:], fake[train_n:]])
        test_y = torch.cat([torch.ones(n - train_n), torch.zeros(n - train_n)])
        mean, std = train_x.mean(0), train_x.std(0).clamp_min(1e-6)
        train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
        net = nn.Sequential(nn.Linear(train_x.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, 1))
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-4)
        for _ in range(steps):
            loss = F.binary_cross_entropy_with_logits(net(train_x).squeeze(1), train_y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            predictions = net(test_x).squeeze(1) > 0
    return float((predictions.float() == test_y).float().mean())


def class_accuracy(probs: ArrayLike, labels: ArrayLike) -> tuple[float, list[float]]:
    """How often the classifier's most likely class is the requested one: overall, and per
    requested class (classes ``0 … max(labels)``; NaN for a class never requested)."""
    p = _as_probabilities(probs)
    wanted = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(wanted) != len(p):
        raise ValueError(f"{len(wanted)} labels for {len(p)} samples")
    hits = p.argmax(axis=1) == wanted
    per_class = [float(hits[wanted == c].mean()) if (wanted == c).any() else float("nan")
                 for c in range(int(wanted.max()) + 1)]
    return float(hits.mean()), per_class


def intra_class_frechet_distance(sample_feats: ArrayLike, sample_labels: ArrayLike,
                                 reference_feats: ArrayLike, reference_labels: ArrayLike) -> tuple[float, list[float]]:
    """The Fréchet distance of each class's samples to the reference images of that class, and
    their mean over the classes both sets hold (at least 2 of each)."""
    a, b = _as_float64_matrix(sample_feats, "sample_feats"), _as_float64_matrix(reference_feats, "reference_feats")
    ya, yb = np.asarray(sample_labels).reshape(-1), np.asarray(reference_labels).reshape(-1)
    per_class = []
    for c in range(int(max(ya.max(), yb.max())) + 1):
        mine, theirs = a[torch.from_numpy(ya == c)], b[torch.from_numpy(yb == c)]
        per_class.append(frechet_distance(theirs, mine) if len(mine) >= 2 and len(theirs) >= 2 else float("nan"))
    scored = [d for d in per_class if not math.isnan(d)]
    if not scored:
        raise ValueError("no class has at least 2 samples and 2 reference images")
    return float(np.mean(scored)), per_class
