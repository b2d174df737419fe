"""Image IO for generated samples: grids for looking at, ``.npy`` files for evaluating.

Samples are float tensors ``N×C×H×W`` in [-1, 1] (C = 1 or 3), the convention of
:func:`ganzoo.data.load_images`. Files are written atomically (temporary file in the same
folder, then :func:`os.replace`) so a crash or a parallel reader never sees half a file.
torch, numpy and PIL are imported inside the functions to keep ``import ganzoo.images`` cheap.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo.atomic import write_atomically
from ganzoo.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import torch


def _as_batch(images: torch.Tensor | np.ndarray) -> torch.Tensor:
    """A detached float32 CPU tensor ``N×C×H×W`` with C of 1 or 3, or a DataError."""
    import torch

    batch = torch.as_tensor(images).detach().to("cpu", torch.float32)
    if batch.ndim == 3:  # a single C×H×W image
        batch = batch.unsqueeze(0)
    if batch.ndim != 4 or batch.shape[1] not in (1, 3):
        shape = "×".join(str(d) for d in batch.shape)
        raise DataError(f"images must be N×C×H×W with C of 1 or 3, got shape {shape}")
    if batch.shape[0] == 0:
        raise DataError("no images to save (the batch is empty)")
    return batch


def make_grid(images: torch.Tensor | np.ndarray, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """Arrange images in [-1, 1] into one uint8 ``H×W×C`` array, ``nrow`` images per row.

    ``nrow`` defaults to ``ceil(sqrt(N))`` (a square-ish grid); ``padding`` black pixels separate
    and surround the images, as in ``torchvision.utils.make_grid``.
    """
    import torch

    batch = _as_batch(images)
    count, channels, height, width = batch.shape
    if nrow is None:
        nrow = math.ceil(math.sqrt(count))
    if nrow < 1 or padding < 0:
        raise DataError(f"make_grid needs nrow >= 1 and padding >= 0, got nrow={nrow}, padding={padding}")
    columns, rows = min(nrow, count), math.ceil(count / nrow)
    # A diverging generator should still give a viewable (if ugly) grid, not an exception.
    batch = torch.nan_to_num(batch, nan=0.0, posinf=1.0, neginf=-1.0).clamp_(-1.0, 1.0)
    grid = torch.full(
        (channels, rows * (height + padding) + padding, columns * (width + padding) + padding), -1.0
    )
    for index in range(count):
        top = padding + (index // nrow) * (height + padding)
        left = padding + (index % nrow) * (width + padding)
        grid[:, top : top + height, left : left + width] = batch[index]
    pixels = ((grid + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
    return pixels.permute(1, 2, 0).contiguous().numpy()


def save_image_grid(
    images: torch.Tensor | np.ndarray, path: str | os.PathLike, nrow: int | None = None, padding: int = 2
) -> Path:
    """Write :func:`make_grid` of ``images`` as a PNG file at ``path``; return the path."""
    from PIL import Image

    grid = make_grid(images, nrow=nrow, padding=padding)
    picture = Image.fromarray(grid[:, :, 0] if grid.shape[2] == 1 else grid)
    return write_atomically(path, lambda handle: picture.save(handle, format="PNG"))


def side_by_side(inputs: torch.Tensor, outputs: torch.Tensor, pairs_per_row: int | None = None
                 ) -> tuple[torch.Tensor, int]:
    """``(images, nrow)`` of a grid showing each input image next to what it was translated
    into, ``pairs_per_row`` pairs a row (default: a square-ish grid of pairs)."""
    import torch

    per_row = pairs_per_row or max(1, math.ceil(math.sqrt(inputs.shape[0])))
    pairs = torch.stack([inputs.detach().float().cpu(), outputs.detach().float().cpu()], dim=1)
    return pairs.flatten(0, 1), 2 * per_row


def save_images_npy(images: torch.Tensor | np.ndarray, path: str | os.PathLike) -> Path:
    """Write ``images`` as a float32 ``N×C×H×W`` ``.npy`` file (values as given); return the path.

    The name is used as given: unlike :func:`numpy.save`, no ``.npy`` suffix is appended.
    """
    import numpy as np

    array = _as_batch(images).numpy()
    return write_atomically(path, lambda handle: np.save(handle, array, allow_pickle=False))


def save_images_npz(images: torch.Tensor | np.ndarray, path: str | os.PathLike,
                    labels: torch.Tensor | np.ndarray | None = None) -> Path:
    """Write ``images`` (float32 ``N×C×H×W``) and, when given, their class ``labels`` (int64
    ``N``) as a ``.npz`` archive that ``ganzoo eval`` and :func:`ganzoo.data.load_dataset` read."""
    import numpy as np

    arrays = {"images": _as_batch(images).numpy()}
    if labels is not None:
        arrays["labels"] = np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels, dtype=np.int64)
    return write_atomically(path, lambda handle: np.savez(handle, **arrays))


def load_samples(
    path: str | os.PathLike,
    *,
    image_size: int | None = None,
    channels: int | None = None,
    limit: int | None = None,
) -> torch.Tensor:
    """Load generated samples (``.npy``/``.npz`` or a folder of images) for evaluation.

    Same formats, validation and options as :func:`ganzoo.data.load_images`, except that
    ``path`` is always a path: ``"mnist"`` means a file of that name, not the built-in digits.
    """
    from ganzoo.data.loaders import load_images

    if path is None or not str(path):
        raise DataError("no sample file or folder given")
    return load_images(Path(path), image_size=image_size, channels=channels, limit=limit)


def save_gif(frames: list[np.ndarray], path: str | os.PathLike, milliseconds: int = 100) -> Path:
    """An animated GIF (looping) of uint8 ``H×W×C`` frames of one size (e.g. :func:`make_grid`
    results), written atomically; returns the path."""
    import io

    from PIL import Image

    if not frames:
        raise DataError("no frames to write")
    images = [Image.fromarray(frame.squeeze(-1) if frame.shape[-1] == 1 else frame) for frame in frames]
    buffer = io.BytesIO()
    # Every frame whole (no delta optimisation); PIL merges identical consecutive frames into one
    # shown for their summed time.
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=milliseconds,
                   loop=0, optimize=False, disposal=1)
    return write_atomically(path, lambda handle: handle.write(buffer.getvalue()))


def read_png(path: str | os.PathLike) -> np.ndarray:
    """A PNG as a uint8 ``H×W×C`` array (a one-line DataError naming an unreadable file)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("L" if image.mode in ("L", "1", "P") else "RGB"))
    except (OSError, UnidentifiedImageError) as err:
        raise DataError(f"{path}: cannot read this image ({err})") from None
    return array[..., None] if array.ndim == 2 else array
