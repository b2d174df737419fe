"""Loading image data sets into one float32 tensor ``N×C×H×W`` with values in [-1, 1].

Accepted sources (see :func:`load_images`):

- ``None``, ``"mnist"`` or ``"mnist:SPLIT"`` — the built-in digits (:mod:`ganzoo.data.builtin`);
- an MNIST-format IDX image file (``train-images-idx3-ubyte``, ``*.idx``), plain or gzipped;
- a folder of images (PNG, JPEG, BMP, WEBP, ...), searched recursively in sorted order;
- a ``.npy`` or ``.npz`` array in ``N×H×W``, ``N×H×W×C``, ``N×C×H×W`` or flat ``N×D`` layout.

Every problem with a source raises :class:`~ganzoo.errors.DataError` with a one-line message
that starts with the offending file. torch, numpy and PIL are imported inside the functions so
that importing this module (e.g. for ``ganzoo --help``) stays cheap.
"""

from __future__ import annotations

import contextlib
import gzip
import math
import numbers
import os
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.data.builtin import SPLITS, builtin_mnist
from ganzoo.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import torch

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
)
"""File name endings (lower case) that a folder search treats as images."""

_GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
_IDX_IMAGE_MAGIC = 0x00000803  # type 0x08 (unsigned byte), 3 dimensions
_GZIP_MAGIC = b"\x1f\x8b"
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # an .npz archive; the second is an empty one
_NPZ_KEYS = ("images", "x", "arr_0")
_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, the weights PIL's convert("L") uses
_RANGE_TOL = 1e-4  # float round-off must not turn a valid [-1, 1] array into an error


def _one_line(text: object) -> str:
    """Collapse an exception text onto one line: the CLI prints DataError messages verbatim."""
    return " ".join(str(text).split())


def _fail(path: os.PathLike | str, problem: str) -> DataError:
    return DataError(f"{path}: {_one_line(problem)}")


def _builtin_split(source: str | os.PathLike | None) -> str | None:
    """The split named by a built-in source string, or None when ``source`` is a path.

    Only plain strings can name the built-in set; pass a :class:`~pathlib.Path` (or ``./mnist``)
    to load a file that happens to be called ``mnist``.
    """
    if source is None:
        return "train"
    if isinstance(source, str) and (source == "mnist" or source.startswith("mnist:")):
        split = source.partition(":")[2] or "train"
        if split not in SPLITS:
            raise DataError(f"{source}: unknown built-in MNIST split {split!r}; choose one of {', '.join(SPLITS)}")
        return split
    return None


def _strip_gz(name: str) -> str:
    return name[:-3] if name.endswith(".gz") else name


def _looks_like_idx(name: str) -> bool:
    return name.endswith((".idx", "-ubyte", ".ubyte")) or re.search(r"\.idx\d$", name) is not None


def _sniff(path: Path, size: int = 8) -> bytes:
    """The first ``size`` bytes of a file, gunzipped when it is gzipped (by content, not name).

    Returns what could be read, possibly nothing, rather than raising: callers only peek.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(size)
        if head[:2] != _GZIP_MAGIC:
            return head
        with gzip.open(path, "rb") as handle:
            return handle.read(size)
    except (OSError, EOFError, zlib.error):
        return b""


def _classify(source: str | os.PathLike) -> tuple[str, Path]:
    """Return ``(kind, path)`` with kind one of folder/idx/npy/npz; raise for anything unusable."""
    if not str(source):  # Path("") would silently mean the current folder
        raise DataError("empty data source path")
    path = Path(source)
    if not path.exists():
        raise _fail(path, "file or folder does not exist")
    if path.is_dir():
        return "folder", path
    if not path.is_file():
        raise _fail(path, "not a regular file or folder")
    if path.stat().st_size == 0:
        raise _fail(path, "empty file (0 bytes)")
    name = _strip_gz(path.name.lower())
    if name.endswith(".npy"):
        return "npy", path
    if name.endswith(".npz"):
        return "npz", path
    if _looks_like_idx(name):
        return "idx", path
    if Path(name).suffix in IMAGE_EXTENSIONS:
        raise _fail(path, "a single image is not a data set; pass the folder that holds the images")
    # Unknown names: recognise the formats by their magic bytes before giving up.
    head = _sniff(path)
    if len(head) >= 4 and struct.unpack(">I", head[:4])[0] == _IDX_IMAGE_MAGIC:
        return "idx", path
    if head.startswith(_NPY_MAGIC):
        return "npy", path
    suffix = "".join(path.suffixes) or "(none)"
    raise _fail(
        path,
        f"unsupported file type {suffix!r}; expected an image folder, an IDX file "
        "(*-ubyte or *.idx, optionally .gz), .npy or .npz",
    )


def _read_bytes(path: Path) -> bytes:
    """The whole file, gunzipped when its first bytes are the gzip magic."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise _fail(path, f"cannot read file ({err.strerror or err})") from err
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise _fail(path, f"corrupt or truncated gzip data ({err})") from err
        if not data:
            raise _fail(path, "empty file (nothing inside the gzip data)")
    return data


def _image_files(folder: Path) -> list[Path]:
    """Image files below ``folder`` in sorted relative-path order.

    Hidden entries are skipped: macOS ``._name.png`` files carry an image extension but are not
    images, and ``.git``-style folders are never data.
    """
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            found.append(relative)
    return [folder / relative for relative in sorted(found, key=lambda p: p.as_posix())]


def _load_idx(path: Path, limit: int | None) -> np.ndarray:
    import numpy as np

    data = _read_bytes(path)
    if len(data) < 4:
        raise _fail(path, f"truncated IDX file: {len(data)} bytes, too short for the magic number")
    (magic,) = struct.unpack(">I", data[:4])
    if magic != _IDX_IMAGE_MAGIC:
        hint = "; this is an IDX label file, not images" if magic == 0x00000801 else ""
        expected_magic = f"0x{_IDX_IMAGE_MAGIC:08x} for uint8 images"
        raise _fail(path, f"wrong IDX magic number 0x{magic:08x} (expected {expected_magic}){hint}")
    if len(data) < 16:
        raise _fail(path, f"truncated IDX file: {len(data)} bytes, too short for the 16-byte header")
    count, height, width = struct.unpack(">III", data[4:16])
    if height == 0 or width == 0:
        raise _fail(path, f"wrong shape in IDX header: images of {height}×{width} pixels")
    if count == 0:
        raise _fail(path, "zero images (the IDX header says 0)")
    expected, present, dims = count * height * width, len(data) - 16, f"{count}×{height}×{width}"
    if present < expected:
        raise _fail(path, f"truncated IDX file: header says {dims} = {expected:,} pixel bytes but only {present:,} follow")
    if present > expected:
        raise _fail(path, f"IDX file has {present - expected:,} bytes after the {dims} images its header announces")
    keep = count if limit is None else min(count, limit)
    pixels = np.frombuffer(data, dtype=np.uint8, count=keep * height * width, offset=16)
    return pixels.reshape(keep, 1, height, width)


@contextlib.contextmanager
def _reading_numpy(path: Path) -> Iterator[None]:
    """Turn what numpy raises on a bad file (ValueError, OSError, EOFError, BadZipFile...) into
    a one-line DataError; the arrays of an .npz are read lazily, so wrap their use too."""
    try:
        yield
    except DataError:
        raise
    except Exception as err:
        if isinstance(err, ValueError) and "allow_pickle" in str(err):
            raise _fail(path, "holds an array of Python objects, which ganzoo never unpickles from a data "
                              "file; save a numeric array") from err
        raise _fail(path, f"cannot read as a NumPy array ({type(err).__name__}: {err})") from err


def _open_numpy(path: Path) -> Any:
    """``np.load`` of a .npy or .npz file (plain or gzipped; decided by content), refusing
    pickles: an ndarray or an NpzFile. Call it inside :func:`_reading_numpy`."""
    import io

    import numpy as np

    if not _sniff(path).startswith((_NPY_MAGIC, *_ZIP_MAGICS)):
        # np.load would try it as a pickle, and say "if you trust the file, load it unsafely"
        raise _fail(path, "not a NumPy file (it has no .npy or .npz header)")
    gzipped = _sniff(path, 2) == _GZIP_MAGIC
    return np.load(io.BytesIO(_read_bytes(path)) if gzipped else path, allow_pickle=False)


def _load_array(path: Path) -> np.ndarray:
    """The image array of a ``.npy`` or ``.npz`` file (plain or gzipped; decided by content)."""
    import numpy as np

    with _reading_numpy(path):
        loaded = _open_numpy(path)
        if isinstance(loaded, np.ndarray):
            return loaded
        with loaded as archive:
            keys = list(archive.files)
            key = next((k for k in _NPZ_KEYS if k in keys), keys[0] if len(keys) == 1 else None)
            if not keys:
                raise _fail(path, "the .npz archive holds no arrays")
            if key is None:
                listed = ", ".join(repr(k) for k in keys)
                raise _fail(path, f"cannot tell which array holds the images (keys: {listed}); "
                                  "name it 'images', 'x' or 'arr_0'")
            return archive[key]


def _to_nchw(array: np.ndarray, path: object) -> np.ndarray:
    """Bring a raw array into ``N×C×H×W`` layout (no value changes)."""
    shape = "×".join(str(d) for d in array.shape) or "scalar"
    layouts = "expected N×H×W, N×H×W×C or N×C×H×W with C of 1 or 3, or flat N×D with D a square"
    if array.ndim == 2:
        side = math.isqrt(array.shape[1])
        if side == 0 or side * side != array.shape[1]:
            raise _fail(path, f"wrong shape {shape}: {array.shape[1]} values per image is not square; {layouts}")
        array = array.reshape(array.shape[0], 1, side, side)
    elif array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4:
        # Channels-first wins a tie (N×3×H×3 is far likelier PyTorch output than a 3-pixel-wide image).
        if array.shape[1] not in (1, 3):
            if array.shape[3] not in (1, 3):
                raise _fail(path, f"wrong shape {shape}: {layouts}")
            array = array.transpose(0, 3, 1, 2)
    else:
        raise _fail(path, f"wrong number of dimensions ({array.ndim}, shape {shape}); {layouts}")
    if array.shape[0] == 0:
        raise _fail(path, f"zero images (shape {shape})")
    if array.shape[2] == 0 or array.shape[3] == 0:
        raise _fail(path, f"wrong shape {shape}: images have no pixels")
    return array


def _scale(array: np.ndarray, path: object, limit: int | None) -> np.ndarray:
    """Check the values of a whole array, keep the first ``limit`` images and map them to [-1, 1]."""
    import numpy as np

    if array.dtype == np.uint8:
        kept = array[:limit].astype(np.float32)
        return kept / np.float32(127.5) - np.float32(1.0)
    if array.dtype == np.bool_:
        return array[:limit].astype(np.float32) * np.float32(2.0) - np.float32(1.0)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise _fail(path, f"unsupported dtype {array.dtype}; expected uint8 or float")
    if np.issubdtype(array.dtype, np.floating):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            raise _fail(path, f"contains NaN or infinite values ({bad:,} of {array.size:,})")
    low, high = float(array.min()), float(array.max())
    kept = array[:limit].astype(np.float32)
    # An all-[0, 1] array is read as [0, 1], so very dark 0..255 float data is misread; that is
    # the price of accepting all three conventions without a flag. Negatives within the
    # tolerance count as round-off of a [0, 1] array, not as evidence of [-1, 1].
    if low >= -1 - _RANGE_TOL and high <= 1 + _RANGE_TOL and low < -_RANGE_TOL:
        out = kept
    elif low >= -_RANGE_TOL and high <= 1 + _RANGE_TOL:
        out = kept * np.float32(2.0) - np.float32(1.0)
    elif low >= -_RANGE_TOL and high <= 255 + _RANGE_TOL:
        out = kept / np.float32(127.5) - np.float32(1.0)
    else:
        raise _fail(path, f"values out of range [{low:g}, {high:g}]; expected [-1, 1], [0, 1] or [0, 255]")
    return np.clip(out, -1.0, 1.0, out=out)


def _decode_image(path: Path, target: tuple[int, int] | None) -> np.ndarray:
    """One image as ``H×W×C`` (C = 1 for grayscale modes, else 3) with values in 0..255."""
    import numpy as np
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image)  # camera JPEGs store rotation in EXIF
            if image.mode in _SIXTEEN_BIT_MODES:
                # PIL's convert("L") clips 16-bit values instead of scaling them.
                wide = np.asarray(image, dtype=np.float32) / np.float32(257.0)
                image = Image.fromarray(np.clip(wide, 0, 255))  # float32 -> mode "F"
            elif image.mode in _GRAY_MODES:
                image = image.convert("F" if image.mode == "F" else "L")
            else:
                image = image.convert("RGB")  # palette, RGBA, CMYK, YCbCr...; alpha is dropped
            if target is not None and image.size != target:
                image = image.resize(target, Image.Resampling.BILINEAR)  # antialiased when shrinking
            pixels = np.asarray(image)
    except Exception as err:  # decoders raise OSError, ValueError, SyntaxError, ... on bad files
        raise _fail(path, f"unreadable or corrupt image ({type(err).__name__}: {err})") from err
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


def _load_folder(folder: Path, image_size: int | None, channels: int | None, limit: int | None) -> np.ndarray:
    import numpy as np

    files = _image_files(folder)
    if not files:
        raise _fail(folder, f"no images found (searched recursively for {', '.join(sorted(IMAGE_EXTENSIONS))})")
    files = files[:limit]
    target = (image_size, image_size) if image_size else None
    decoded = [_decode_image(files[0], target)]
    if target is None:
        target = (decoded[0].shape[1], decoded[0].shape[0])  # PIL sizes are (width, height)
    decoded += [_decode_image(path, target) for path in files[1:]]
    if channels is None:
        channels = 1 if all(pixels.shape[2] == 1 for pixels in decoded) else 3
    width, height = target
    out = np.empty((len(decoded), channels, height, width), dtype=np.float32)
    luma = np.asarray(_LUMA, dtype=np.float32)
    for index, pixels in enumerate(decoded):
        if pixels.shape[2] == channels:
            out[index] = pixels.transpose(2, 0, 1)
        elif channels == 3:
            out[index] = pixels[:, :, 0]  # broadcasts gray into all three channels
        else:
            out[index, 0] = pixels.astype(np.float32) @ luma
    out /= np.float32(127.5)
    out -= np.float32(1.0)
    return np.clip(out, -1.0, 1.0, out=out)


def _finish(images: torch.Tensor, image_size: int | None, channels: int | None) -> torch.Tensor:
    """Apply the optional channel conversion and square resize to a [-1, 1] tensor."""
    import torch
    import torch.nn.functional as F

    def convert(x: torch.Tensor) -> torch.Tensor:
        if channels is None or x.shape[1] == channels:
            return x
        if channels == 3:
            return x.repeat(1, 3, 1, 1)
        weights = torch.tensor(_LUMA, dtype=x.dtype).view(1, 3, 1, 1)
        return (x * weights).sum(dim=1, keepdim=True)

    def resize(x: torch.Tensor) -> torch.Tensor:
        if image_size is None or x.shape[-2:] == (image_size, image_size):
            return x
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True)
        return x.clamp_(-1.0, 1.0)

    # Resize the fewer channels: convert first when going to gray, last when going to RGB.
    images = resize(convert(images)) if channels == 1 else convert(resize(images))
    return images.contiguous()


def _positive_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _check_options(image_size: int | None, channels: int | None, limit: int | None) -> None:
    if image_size is not None and not _positive_int(image_size):
        raise DataError(f"image_size must be a positive whole number, got {image_size!r}")
    if channels is not None and channels not in (1, 3):
        raise DataError(f"channels must be 1 or 3, got {channels!r}")
    if limit is not None and not _positive_int(limit):
        raise DataError(f"limit must be a positive whole number, got {limit!r}")


def load_images(
    source: str | os.PathLike | None = None,
    *,
    image_size: int | None = None,
    channels: int | None = None,
    limit: int | None = None,
) -> torch.Tensor:
    """Load a data set as a float32 tensor ``N×C×H×W`` with values in [-1, 1].

    ``source`` is ``None``/``"mnist"``/``"mnist:SPLIT"`` (built-in digits), an IDX image file
    (plain or gzipped), a folder of images, or a ``.npy``/``.npz`` array. Folder images are
    resized (stretched, not cropped) to ``image_size``, by default to the first image's size.
    ``image_size`` makes every source square at that size, ``channels`` (1 or 3) converts
    gray↔RGB and ``limit`` keeps only the first images. Raises :class:`DataError` on any problem.
    """
    import torch

    _check_options(image_size, channels, limit)
    split = _builtin_split(source)
    if split is not None:
        digits, _ = builtin_mnist(split)
        array = _scale(digits, f"built-in MNIST ({split})", limit)
    else:
        kind, path = _classify(source)  # type: ignore[arg-type]  # None was handled above
        if kind == "folder":
            # Resizing and channel conversion happen per image in PIL, before stacking.
            return torch.from_numpy(_load_folder(path, image_size, channels, limit))
        if kind == "idx":
            array = _scale(_load_idx(path, limit), path, None)
        else:
            array = _scale(_to_nchw(_load_array(path), path), path, limit)
    return _finish(torch.from_numpy(array), image_size, channels)


def describe_source(source: str | os.PathLike | None = None) -> str:
    """A short description of a data source for logs, e.g. ``"IDX file data/train-images-idx3-ubyte"``.

    Reads at most a file header (or lists a folder); raises :class:`DataError` only for a source
    that cannot be loaded at all (missing path, unsupported type, unknown built-in split).
    """
    split = _builtin_split(source)
    if split is not None:
        start, stop = SPLITS[split]
        return f"built-in MNIST digits ({split} split, {(stop - start) * 10:,} images)"
    kind, path = _classify(source)  # type: ignore[arg-type]
    if kind == "folder":
        count = len(_image_files(path))
        return f"image folder {path} ({count:,} image{'s' if count != 1 else ''})"
    if kind == "idx":
        header = _sniff(path, 16)
        if len(header) == 16 and struct.unpack(">I", header[:4])[0] == _IDX_IMAGE_MAGIC:
            count, height, width = struct.unpack(">III", header[4:16])
            return f"IDX file {path} ({count:,} images of {height}×{width})"
        return f"IDX file {path}"
    return f"NumPy {'array' if kind == 'npy' else 'archive'} {path}"

