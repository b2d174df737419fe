"""``ganzoo sample``: draw from a trained run: a grid and arrays, or interpolations between
random latents as a grid and an animated GIF."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from ganzoo.build import TrainedGenerator


MAX_KEYFRAMES = 64
"""The most latents ``--interpolate`` walks through: each adds ``--frames`` images to every path,
and a typo such as 100000 would otherwise draw millions of images and run the machine out of
memory."""


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sample", help="draw samples from a trained run",
                              description="Write samples of a run or checkpoint as a PNG grid and/or .npy "
                                          "(EMA weights when the run has them); with --interpolate, walks "
                                          "between random latents and writes a grid and an animated GIF.")
    p.add_argument("source", metavar="RUN_OR_CHECKPOINT")
    p.add_argument("-n", "--num", type=int,
                   help="number of samples (default 64); with --interpolate, of paths (default 8; a "
                        "conditional run walks one path per class)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="PNG grid to write (default RUN/samples-seedS.png, RUN/interpolation-seedS.png)")
    p.add_argument("--npy", help="also write the samples to this .npy file")
    p.add_argument("--npz", help="also write the samples (and a conditional run's classes, 'labels') to this .npz file")
    p.add_argument("--nrow", type=int, help="images per row in the grid (pairs of images, for a run that translates them)")
    p.add_argument("--class", dest="classes", metavar="LABELS",
                   help="conditional runs: the class(es) to draw, by index or name, e.g. 7, 3,5 or cat "
                        "(in equal blocks; default: every class, one grid row each)")
    p.add_argument("--truncation", type=float, metavar="T",
                   help="the truncation trick: latent values beyond ±T are drawn again (less variety, "
                        "more typical samples; e.g. 0.7; at least 0.01); continuous parts of the latent "
                        "only: normal values are redrawn, uniform ones drawn from U(-T, T) when T < 1; "
                        "classes are never truncated")
    p.add_argument("--code", action="append", default=[], metavar="NAME=VALUE",
                   help="fix a part of the latent for every sample (repeatable): a categorical part by "
                        "class index (digit=3), a continuous one by a number or comma-separated numbers "
                        "(style=0.5 or style=0.5,-1); ganzoo info VARIANT lists the parts")
    p.add_argument("--interpolate", type=int, metavar="K",
                   help=f"walk through K random latents per path (spherical interpolation of normal "
                        f"parts, linear of uniform ones; K from 2 to at "
                        f"most {MAX_KEYFRAMES}): a grid with a row per path and an animated GIF")
    p.add_argument("--frames", type=int, default=8, help="with --interpolate: steps from one latent to the next (default 8)")
    p.add_argument("--gif", help="with --interpolate: the GIF to write (default: --out with .gif)")
    p.add_argument("--input", metavar="SOURCE",
                   help="runs whose generator translates images (e.g. CycleGAN's): the images to translate, "
                        "in order (a folder, .npy/.npz, IDX file or mnist:SPLIT; -n: the first N, default all); "
                        "default: -n images drawn with --seed from the field the run trained on. The grid "
                        "shows each image beside its translation")
    p.add_argument("--device", default="auto")
    p.set_defaults(handler=sample_command)


def _class_blocks(classes: list[int], n: int) -> list[int]:
    """The classes of ``--class 3,5`` for ``n`` samples: in equal consecutive blocks."""
    return [classes[i * len(classes) // n] for i in range(n)]


def _classes(gan: TrainedGenerator, text: str | None) -> list[int] | None:
    if text is None:
        return None
    if not gan.conditional:  # first: the class names or indices it would ask for do not exist
        raise ConfigError(f"--class {text}: the run's variant {gan.variant.name!r} is not conditional: "
                          "it cannot draw a requested class")
    try:
        return gan.class_indices(text.split(","))
    except ConfigError as err:
        raise ConfigError(f"--class {text}: {err}") from None


def _codes(gan: TrainedGenerator, texts: list[str]) -> dict[str, Any]:
    """The ``--code NAME=VALUE`` flags as codes for the run's latent (one line when one does not fit)."""
    from ganzoo.latent import latent_parts, parse_codes

    return parse_codes(texts, latent_parts(gan.variant.latent_distribution, gan.latent_dim)) if texts else {}


def sample_command(args: argparse.Namespace) -> int:
    from ganzoo.latent import check_truncation
    from ganzoo.runs.checkpoint import load_trained_gan, version_warnings_shown
    from ganzoo.training.config import check_seed

    check_seed(args.seed)

    if args.num is not None and args.num < 1:
        raise ConfigError(f"-n/--num must be >= 1, got {args.num}")
    if args.interpolate is not None and args.interpolate < 2:
        raise ConfigError(f"--interpolate must be at least 2 (latents to walk through), got {args.interpolate}")
    if args.interpolate is not None and args.interpolate > MAX_KEYFRAMES:
        raise ConfigError(f"--interpolate must be at most {MAX_KEYFRAMES} (latents to walk through), "
                          f"got {args.interpolate}")
    if args.frames < 1:
        raise ConfigError(f"--frames must be >= 1, got {args.frames}")
    check_truncation(args.truncation)
    if args.gif and args.interpolate is None:
        raise ConfigError("--gif goes with --interpolate")
    for flag, path, suffix in (("--npy", args.npy, ".npy"), ("--npz", args.npz, ".npz")):
        # The suffix also keeps these off a run's own files (last.pt, config.json, metrics.jsonl).
        if path is not None and Path(path).suffix.lower() != suffix:
            raise ConfigError(f"{flag} {path}: the samples are written as a {suffix} file; use a {suffix} name")
        if path is not None:
            _not_the_runs_own(flag, Path(path), args.source)
    with version_warnings_shown("sample"):
        gan, payload = load_trained_gan(args.source, device=args.device)
    if gan.translates or args.input is not None:
        return _translations(gan, payload, args)
    codes = _codes(gan, args.code)
    if args.interpolate is not None:
        return _interpolation(gan, args, codes)
    return _samples(gan, args, codes)


def _samples(gan: TrainedGenerator, args: argparse.Namespace, codes: dict[str, Any]) -> int:
    from ganzoo.cli import output
    from ganzoo.images import save_image_grid, save_images_npy, save_images_npz
    from ganzoo.runs.rundir import RunDir

    num = args.num or 64
    classes = _classes(gan, args.classes)
    if classes is None:  # a conditional run's grid: one row per class
        labels, per_row = gan.grid_labels(num)
    else:
        labels, per_row = gan.requested_labels(num, _class_blocks(classes, num)), None
    images = gan.generate(num, seed=args.seed, labels=labels, truncation=args.truncation, codes=codes)
    grid = _png(args.out, RunDir.folder_of(args.source) / f"samples-seed{args.seed}.png", args.source)
    save_image_grid(images, grid, nrow=args.nrow or per_row)
    rows = f" (a row per class: {', '.join(gan.class_names)})" if per_row and gan.class_names else ""
    output.stdout.print(f"wrote {num} samples to {grid}{rows}")
    if args.npy:
        save_images_npy(images, args.npy)
        output.stdout.print(f"wrote {num} samples to {args.npy}")
    if args.npz:
        save_images_npz(images, args.npz, labels)
        output.stdout.print(f"wrote {num} samples{' and their classes' if labels is not None else ''} to {args.npz}")
    return 0


def _translations(gan: TrainedGenerator, payload: dict[str, Any], args: argparse.Namespace) -> int:
    """``sample`` of a run whose generator translates images: those of ``--input`` in order, or
    ``-n`` drawn from the field it trained on; the grid pairs each with its translation."""
    from ganzoo.cli import output
    from ganzoo.images import save_image_grid, save_images_npy, save_images_npz, side_by_side
    from ganzoo.runs.checkpoint import load_sources
    from ganzoo.runs.rundir import RunDir

    name = gan.variant.name
    if not gan.translates:
        raise ConfigError(f"--input {args.input}: the run's variant {name!r} draws from latents; --input goes "
                          f"with a run whose generator translates images")
    latent_flags = {"--interpolate": args.interpolate, "--truncation": args.truncation, "--code": args.code,
                    "--class": args.classes}
    given = [flag for flag, value in latent_flags.items() if value not in (None, [])]
    if given:
        raise ConfigError(f"{given[0]}: the run's variant {name!r} translates images of field "
                          f"{gan.variant.translate_from!r}; it has no latent or class to set")
    what = load_sources(gan, payload, args.input, limit=args.num if args.input is not None else None)
    if args.input is not None:
        inputs = gan.sources
    else:
        import torch

        rng = torch.Generator(device=gan.device).manual_seed(args.seed)
        inputs = gan.sample_inputs(args.num or 64, generator=rng)
    images = gan.draw(inputs)
    grid = _png(args.out, RunDir.folder_of(args.source) / f"translations-seed{args.seed}.png", args.source)
    pairs, nrow = side_by_side(inputs, images, args.nrow)
    save_image_grid(pairs, grid, nrow=nrow)
    output.stdout.print(f"translated {images.shape[0]} images ({what}) into {grid}, each beside its translation")
    for flag, path, save in (("npy", args.npy, save_images_npy), ("npz", args.npz, save_images_npz)):
        if path:
            save(images, path)
            output.stdout.print(f"wrote {images.shape[0]} translations to {path}")
    return 0


def _png(given: str | None, default: Path, source: str) -> Path:
    grid = Path(given) if given else default
    if grid.suffix.lower() != ".png":
        raise ConfigError(f"--out {grid}: the grid is written as PNG; use a .png name (and --npy for arrays)")
    _not_the_runs_own("--out", grid, source)
    return grid


def _not_the_runs_own(flag: str, path: Path, source: str) -> None:
    """Refuse to write over a file the training run wrote (its grids, timelapse, records...)."""
    from ganzoo.runs.rundir import RunDir

    folder = RunDir.folder_of(source)
    if not RunDir.holds_run(folder):
        return
    run = RunDir(folder)
    own = {run.sample_grid(), run.timelapse, run.loss_plot, run.config, run.metrics}
    folders = {run.sample_grid(0).parent, run.checkpoint.parent}
    target = path.resolve()
    if target in {p.resolve() for p in own} or target.parent in {p.resolve() for p in folders}:
        raise ConfigError(f"{flag} {path}: is one of the files training wrote to the run; choose another name")


def interpolation_inputs(gan: TrainedGenerator, keyframes: int, frames: int, paths: int, seed: int,
                         classes: list[int] | None = None, truncation: float | None = None,
                         codes: dict[str, Any] | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, int]:
    """``(latents, labels, keyframe latents, rows)`` of an interpolation, row by row, each row a
    path of ``(keyframes − 1)·frames + 1`` latents. Unconditional: ``paths`` rows, each through its
    own random latents. Conditional: a row per class (``classes``, default all), all walking the
    same latents, so a row shows its class while the latent moves. ``codes`` fix latent parts in
    every keyframe, so the walk leaves them where they are."""
    import torch

    from ganzoo.latent import interpolate_latents

    rng = torch.Generator(device=gan.device).manual_seed(seed)
    distribution = gan.variant.latent_distribution
    if gan.conditional:
        assert gan.num_classes is not None
        rows = classes if classes is not None else list(range(gan.num_classes))
        keys = gan.sample_latent(keyframes, generator=rng, truncation=truncation, codes=codes).unsqueeze(0)
        path = interpolate_latents(keys[0], frames, distribution)
        latents = path.repeat(len(rows), 1)
        labels = torch.tensor(rows, device=gan.device).repeat_interleave(path.shape[0])
        return latents, labels, keys.expand(len(rows), -1, -1), len(rows)
    if classes is not None:
        gan.requested_labels(1, classes[:1])  # the one-line refusal for an unconditional run
    keys = gan.sample_latent(paths * keyframes, generator=rng, truncation=truncation,
                             codes=codes).view(paths, keyframes, -1)
    latents = torch.cat([interpolate_latents(row, frames, distribution) for row in keys])
    return latents, None, keys, paths


def _interpolation(gan: TrainedGenerator, args: argparse.Namespace, codes: dict[str, Any]) -> int:
    from ganzoo.cli import output
    from ganzoo.images import make_grid, save_gif, save_image_grid
    from ganzoo.runs.rundir import RunDir

    latents, labels, _, rows = interpolation_inputs(gan, args.interpolate, args.frames, args.num or 8, args.seed,
                                                    _classes(gan, args.classes), args.truncation, codes)
    images = gan.draw(latents, labels)
    length = images.shape[0] // rows
    grid = _png(args.out, RunDir.folder_of(args.source) / f"interpolation-seed{args.seed}.png", args.source)
    gif = Path(args.gif) if args.gif else grid.with_suffix(".gif")
    if gif.suffix.lower() != ".gif":
        raise ConfigError(f"--gif {gif}: the animation is written as GIF; use a .gif name")
    _not_the_runs_own("--gif", gif, args.source)
    save_image_grid(images, grid, nrow=length)
    per_frame = images.view(rows, length, *images.shape[1:])
    columns = args.nrow or math.ceil(math.sqrt(rows))
    save_gif([make_grid(per_frame[:, t], nrow=columns) for t in range(length)], gif, milliseconds=80)
    what = f"a row per class ({', '.join(_row_names(gan, labels, length))})" if labels is not None else f"{rows} paths"
    output.stdout.print(f"wrote {what} through {args.interpolate} latents, {length} images each, to {grid}; "
                        f"the animation ({length} frames) to {gif}", highlight=False, markup=False, soft_wrap=True)
    return 0


def _row_names(gan: TrainedGenerator, labels: Any, length: int) -> list[str]:
    names = gan.class_names or tuple(map(str, range(gan.num_classes or 0)))
    return [names[int(label)] for label in labels[::length]]
