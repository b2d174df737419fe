"""Write CycleGAN's domain B for ganzoo's digits: thickened digits, as a float32 ``.npy``.

The strokes of ganzoo's digits are bright (+1) on a dark (−1) background, so a 3×3 max-pool
with stride 1 (a morphological dilation) thickens them. Made by default from the built-in
``mnist:test-b`` split, so that domain B shares no digit with domain A (``mnist:train``, the
default ``--data``) and the evaluation reference (``mnist:test-a``) stays held out.

    ganzoo-cyclegan-domain thick.npy                 # 1,000 thick digits, N×1×28×28 in [-1, 1]
    ganzoo train cyclegan --field thick=thick.npy
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROG = "ganzoo-cyclegan-domain"
DEFAULT_SOURCE = "mnist:test-b"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage + message
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def thicken(images, kernel: int = 3):
    """Dilate bright strokes on a dark background: a ``kernel``×``kernel`` max-pool, stride 1
    (same size out). ``images``: a float tensor ``N×C×H×W`` in [-1, 1]."""
    from torch.nn import functional as F

    return F.max_pool2d(images, kernel, stride=1, padding=kernel // 2)


def make_domain(source: str = DEFAULT_SOURCE, kernel: int = 3, limit: int | None = None):
    """Domain B: the images of ``source`` (any data source ganzoo reads), thickened; a float32
    NumPy array ``N×C×H×W`` in [-1, 1]."""
    from ganzoo.data import load_images

    return thicken(load_images(source, limit=limit), kernel).clamp(-1, 1).numpy().astype("float32")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog=PROG, description="Write CycleGAN's domain B, thickened digits, as a float32 .npy "
                                            "(N×C×H×W in [-1, 1]) for ganzoo train cyclegan --field thick=OUT.npy")
    parser.add_argument("out", metavar="OUT.npy", help="the .npy file to write")
    parser.add_argument("--source", default=DEFAULT_SOURCE,
                        help=f"the digits to thicken: any source ganzoo reads (default {DEFAULT_SOURCE}, "
                             f"disjoint from the default training data and from the evaluation reference)")
    parser.add_argument("--kernel", type=int, default=3, help="the dilation's window, odd (default 3)")
    parser.add_argument("--limit", type=int, help="keep only the first N images")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.suffix != ".npy":
        parser.error(f"{args.out}: OUT must end in .npy")
    if args.kernel < 1 or args.kernel % 2 == 0:
        parser.error(f"--kernel must be an odd number >= 1, got {args.kernel}")
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be >= 1, got {args.limit}")
    if out.is_dir() or not out.parent.is_dir():
        parser.error(f"{args.out}: not a file in an existing folder")
    from ganzoo import GanzooError

    try:
        images = make_domain(args.source, args.kernel, args.limit)
    except GanzooError as err:
        parser.error(str(err).splitlines()[0])
    import numpy as np

    np.save(out, images)
    print(f"wrote {images.shape[0]} thickened images ({'×'.join(map(str, images.shape[1:]))}) of {args.source} "
          f"to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
