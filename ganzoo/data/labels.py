"""Data sets with their class labels: what conditional GANs and per-class metrics need.

:func:`load_dataset` loads the images of any source :func:`~ganzoo.data.load_images` reads,
plus labels wherever the source has them:

- the built-in digits: their digit (classes ``0`` … ``9``);
- an image folder with one subfolder per class (``root/cat/1.png``, ``root/dog/2.png``): the
  subfolder, classes in sorted name order, names kept;
- a ``.npz`` archive with a ``labels`` array next to the images;
- any source plus ``labels=FILE``: an MNIST IDX label file (``*-labels-idx1-ubyte``, plain or
  gzipped) or a ``.npy`` array of one integer per image.

Labels are checked like images: a count that does not match, negative or non-integer values,
or a wrong IDX magic number are a one-line :class:`~ganzoo.errors.DataError` naming the file.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo.data.builtin import builtin_mnist
from ganzoo.data.loaders import (_NPY_MAGIC, _builtin_split, _classify, _fail, _image_files, _load_array,
                                 _open_numpy, _read_bytes, _reading_numpy, load_images)
from ganzoo.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import torch

_IDX_LABEL_MAGIC = 0x00000801  # type 0x08 (unsigned byte), 1 dimension
_NPZ_LABEL_KEY = "labels"


@dataclass(frozen=True)
class Dataset:
    """Images ``N×C×H×W`` in [-1, 1], and, when the source has them, one class per image."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    """int64 ``N`` class indices in ``[0, num_classes)``, or None for unlabelled data."""
    class_names: tuple[str, ...] | None = None
    """The name of each class index (subfolder names; ``"0"`` … for numeric labels)."""

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.class_names is not None else 0


def load_dataset(source: str | os.PathLike | None = None, *, labels: str | os.PathLike | None = None,
                 image_size: int | None = None, channels: int | None = None,
                 limit: int | None = None) -> Dataset:
    """Images as :func:`~ganzoo.data.load_images` loads them, with the source's labels (or those
    of the ``labels`` file). Raises :class:`DataError` on any problem with either."""
    import torch

    images = load_images(source, image_size=image_size, channels=channels, limit=limit)
    count = images.shape[0]
    names: tuple[str, ...] | None = None
    if labels is not None:
        path = Path(labels)
        array = _checked(_read_label_file(path), path, count, limit)
    else:
        array, names = _source_labels(source, limit)
        if array is not None:
            array = _checked(array, source, count, limit)
    if array is None:
        return Dataset(images)
    tensor = torch.from_numpy(array)
    if names is None:
        names = tuple(str(index) for index in range(int(tensor.max()) + 1))
    return Dataset(images, tensor, names)


def _source_labels(source: str | os.PathLike | None,
                   limit: int | None) -> tuple[np.ndarray | None, tuple[str, ...] | None]:
    """The labels a source carries itself, and class names where it has them."""
    split = _builtin_split(source)
    if split is not None:
        return builtin_mnist(split)[1], tuple(str(digit) for digit in range(10))
    kind, path = _classify(source)  # type: ignore[arg-type]  # None is a built-in split
    if kind == "folder":
        return _folder_labels(path, limit)
    if kind == "npz":
        with _reading_numpy(path), _open_numpy(path) as archive:
            if _NPZ_LABEL_KEY in archive.files:
                return archive[_NPZ_LABEL_KEY], None
    return None, None


def _folder_labels(folder: Path, limit: int | None) -> tuple[np.ndarray | None, tuple[str, ...] | None]:
    """One class per immediate subfolder, when every image lies in one."""
    import numpy as np

    classes = [path.relative_to(folder).parts for path in _image_files(folder)[:limit]]
    if not classes or any(len(parts) < 2 for parts in classes):
        return None, None
    names = tuple(sorted({parts[0] for parts in classes}))
    index = {name: i for i, name in enumerate(names)}
    return np.asarray([index[parts[0]] for parts in classes], dtype=np.int64), names


def _read_label_file(path: Path) -> np.ndarray:
    """An IDX label file or a ``.npy`` array (decided by content)."""
    import numpy as np

    if not path.exists():
        raise _fail(path, "label file does not exist")
    if path.is_dir():
        raise _fail(path, "is a folder; --labels takes an IDX label file or a .npy array")
    head = _read_bytes(path)
    if head.startswith(_NPY_MAGIC) or path.suffix == ".npy":
        return _load_array(path)
    if len(head) < 8:
        raise _fail(path, f"truncated IDX label file: {len(head)} bytes, too short for the 8-byte header")
    magic, count = struct.unpack(">II", head[:8])
    if magic != _IDX_LABEL_MAGIC:
        hint = "; this is an IDX image file, not labels" if magic == 0x00000803 else ""
        raise _fail(path, f"wrong IDX magic number 0x{magic:08x} (expected 0x{_IDX_LABEL_MAGIC:08x} "
                          f"for uint8 labels){hint}")
    present = len(head) - 8
    if present != count:
        raise _fail(path, f"IDX label file header says {count:,} labels but {present:,} bytes follow")
    return np.frombuffer(head, dtype=np.uint8, count=count, offset=8).astype(np.int64)


MAX_CLASSES = 100_000
"""Class indices stay below this (ImageNet-21k has 21,841 classes): a stray 10**12 in a label
file would otherwise ask for a trillion class names and one-hot columns."""


def _checked(array: np.ndarray, source: object, count: int, limit: int | None) -> np.ndarray:
    """One non-negative integer per image (the first ``limit`` when images were limited)."""
    import numpy as np

    where = source if source is not None else "labels"
    array = np.asarray(array)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(f"{where}: labels must be one integer per image, got an array of shape "
                        f"{tuple(array.shape)}")
    if limit is not None:
        array = array[:limit]
    if array.shape[0] != count:
        raise DataError(f"{where}: {array.shape[0]:,} labels for {count:,} images")
    if array.dtype.kind == "f":
        whole = np.isfinite(array) & (array == np.round(array))
        if not np.all(whole):  # shown by str: 1.5, not np.float64(1.5)
            raise DataError(f"{where}: labels must be whole numbers (class indices), found {array[~whole][0]}")
    elif array.dtype.kind not in "iu":
        raise DataError(f"{where}: labels must be integers (class indices), got {array.dtype} values")
    # Both bounds before the cast to int64: a value beyond its range (-1e30) would make NumPy
    # warn and turn it into another number.
    if array.size and array.max() >= MAX_CLASSES:  # before a class table is built
        raise DataError(f"{where}: labels must be class indices below {MAX_CLASSES:,}, found {_shown(array.max())}")
    if array.size and array.min() < 0:
        raise DataError(f"{where}: labels must be class indices >= 0, found {_shown(array.min())}")
    return array.astype(np.int64)


def _shown(value: np.generic) -> str:
    """A label as its file holds it: a whole number as an integer, a huge float as NumPy
    writes it (``-1e+30``, not its 31 digits)."""
    if value.dtype.kind == "f" and abs(value) >= 2**53:  # beyond where floats hold every integer
        return str(value)
    return str(int(value))
