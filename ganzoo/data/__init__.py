"""Training and reference data: the built-in MNIST digits and loaders for user data sets.

:func:`load_images` turns any supported source (built-in digits, IDX files, image folders,
``.npy``/``.npz`` arrays) into a float32 ``N×C×H×W`` tensor in [-1, 1];
:func:`describe_source` names a source for logs; :func:`builtin_mnist` gives the raw built-in
digits and labels; :func:`load_dataset` loads images with their class labels where the source
has them (a :class:`Dataset`). Importing this package does not import torch or numpy.
"""

from __future__ import annotations

from ganzoo.data.builtin import builtin_mnist
from ganzoo.data.labels import Dataset, load_dataset
from ganzoo.data.loaders import describe_source, load_images

__all__ = ["Dataset", "builtin_mnist", "describe_source", "load_dataset", "load_images"]
