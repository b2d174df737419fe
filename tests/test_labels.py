"""Class labels from every data source (built-in digits, class subfolders, .npz, IDX and .npy
label files), and one-line errors for bad label files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganzoo.data import builtin_mnist, load_dataset
from ganzoo.errors import DataError


def _idx_images(count: int, size: int = 6) -> bytes:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (count, size, size), dtype=np.uint8)
    return struct.pack(">IIII", 0x00000803, count, size, size) + pixels.tobytes()


def _idx_labels(labels: list[int], count: int | None = None) -> bytes:
    return struct.pack(">II", 0x00000801, len(labels) if count is None else count) + bytes(labels)


def test_builtin_digits_keep_their_labels():
    data = load_dataset("mnist:test-b")
    assert data.images.shape == (1000, 1, 28, 28) and data.labels.shape == (1000,)
    assert data.class_names == tuple("0123456789") and data.num_classes == 10
    assert np.array_equal(data.labels.numpy(), builtin_mnist("test-b")[1])
    assert np.bincount(data.labels.numpy()).tolist() == [100] * 10
    assert load_dataset("mnist:test-b", limit=7).labels.shape == (7,)


def test_a_folder_with_a_subfolder_per_class_names_its_classes(tmp_path: Path):
    for name, count in (("zebra", 2), ("cat", 3)):
        (tmp_path / name).mkdir()
        for i in range(count):
            Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    data = load_dataset(tmp_path)
    assert data.class_names == ("cat", "zebra") and data.images.shape == (5, 1, 8, 8)
    assert data.labels.tolist() == [0, 0, 0, 1, 1]  # files in sorted path order
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "loose.png")
    assert load_dataset(tmp_path).labels is None  # an image outside any class folder: unlabelled


def test_npz_labels_and_unlabelled_arrays(tmp_path: Path):
    images = np.random.default_rng(1).random((4, 1, 5, 5)).astype(np.float32)
    np.savez(tmp_path / "with.npz", images=images, labels=np.array([3, 0, 1, 3]))
    data = load_dataset(tmp_path / "with.npz")
    assert data.labels.tolist() == [3, 0, 1, 3] and data.class_names == ("0", "1", "2", "3")
    np.save(tmp_path / "plain.npy", images)
    assert load_dataset(tmp_path / "plain.npy").labels is None


def test_idx_images_with_an_idx_label_file(tmp_path: Path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_images(5))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_labels([1, 2, 0, 9, 4])))
    data = load_dataset(tmp_path / "train-images-idx3-ubyte", labels=tmp_path / "train-labels-idx1-ubyte.gz")
    assert data.labels.tolist() == [1, 2, 0, 9, 4] and data.num_classes == 10
    np.save(tmp_path / "labels.npy", np.array([[0], [1], [1], [0], [1]]))
    assert load_dataset(tmp_path / "train-images-idx3-ubyte", labels=tmp_path / "labels.npy").labels.tolist() == [0, 1, 1, 0, 1]


@pytest.mark.parametrize("name, content, message", [
    ("few-labels-idx1-ubyte", _idx_labels([1, 2, 3]), "3 labels for 5 images"),
    ("short-labels-idx1-ubyte", _idx_labels([1, 2, 3], count=5), "header says 5 labels but 3 bytes follow"),
    ("images-as-labels", _idx_images(5), "this is an IDX image file, not labels"),
    ("tiny-labels", b"\x00\x00", "too short for the 8-byte header"),
])
def test_bad_idx_label_files_are_one_line(tmp_path: Path, name, content, message):
    (tmp_path / "images-idx3-ubyte").write_bytes(_idx_images(5))
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        load_dataset(tmp_path / "images-idx3-ubyte", labels=tmp_path / name)
    assert str(info.value).startswith(str(tmp_path / name)) and "\n" not in str(info.value)


@pytest.mark.parametrize("labels, message", [
    (np.array([0.0, 1.5, 2.0, 1.0]), "whole numbers"),
    (np.array([0, -1, 2, 1]), "class indices >= 0, found -1"),
    (np.array(["a", "b", "c", "d"]), "must be integers"),
    (np.zeros((4, 2), dtype=np.int64), "one integer per image"),
    (np.array([0, 1, 2]), "3 labels for 4 images"),
    # regression: object labels (stored pickled by np.savez) were a traceback from np.load
    (np.array([1, 2, 3, None], dtype=object), "array of Python objects"),
    # regression: building 10**12 class names exhausted the memory
    (np.array([0, 1, 10**12, 2]), "labels must be class indices below 100,000, found 1000000000000"),
    # the value as written, not its 31 digits (nor, for -1e30, the int64 minimum: test_said.py)
    (np.array([0, 1, 1e30, 2]), r"labels must be class indices below 100,000, found 1e\+30$"),
])
def test_bad_npz_labels_are_one_line(tmp_path: Path, labels, message):
    np.savez(tmp_path / "bad.npz", images=np.zeros((4, 1, 5, 5), dtype=np.float32), labels=labels)
    with pytest.raises(DataError, match=message) as info:
        load_dataset(tmp_path / "bad.npz")
    assert str(info.value).startswith(str(tmp_path / "bad.npz")) and "\n" not in str(info.value)


def test_a_missing_label_file_is_one_line(tmp_path: Path):
    with pytest.raises(DataError, match="label file does not exist"):
        load_dataset("mnist:test-b", labels=tmp_path / "nope-labels-idx1-ubyte")
