"""``ganzoo train``."""

from __future__ import annotations

import argparse
from typing import Any

from ganzoo.errors import ConfigError


def _field_arg(text: str) -> tuple[str, str]:
    """``NAME=SOURCE`` (a source may hold ':' and '=': only the first '=' splits)."""
    name, eq, source = text.partition("=")
    if not eq or not name.strip() or not source.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=SOURCE, got {text!r}")
    return name.strip(), source.strip()


def _named_arg(text: str) -> tuple[str, dict[str, Any]]:
    """``NAME`` or ``NAME:key=value,key=value`` (values parsed as TOML scalars/arrays, e.g.
    ``betas=[0.9,0.99]``)."""
    name, _, params = text.partition(":")
    parsed: dict[str, Any] = {}
    for item in _top_level_split(params):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise argparse.ArgumentTypeError(f"expected NAME:key=value[,key=value], got {text!r}")
        try:
            parsed[key.strip()] = _parse_value(value.strip())
        except RecursionError:  # tomllib parses nested arrays and inline tables recursively
            raise argparse.ArgumentTypeError(f"the value of {key.strip()!r} is nested too deeply") from None
    if not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME:key=value[,key=value], got {text!r}")
    return name.strip(), parsed


def _optimizer_arg(text: str) -> tuple[str, dict[str, Any]]:
    """Like :func:`_named_arg`, for names that may carry the ``timm:`` prefix."""
    from ganzoo.optimizers import TIMM_PREFIX

    if text.startswith(TIMM_PREFIX):
        name, params = _named_arg(text.removeprefix(TIMM_PREFIX))
        return TIMM_PREFIX + name, params
    return _named_arg(text)


def _top_level_split(text: str) -> list[str]:
    """Split on commas outside brackets and quotes."""
    items, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item for item in items if item.strip()]


def _parse_value(text: str) -> Any:
    from ganzoo.training.config import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def add_recipe_arguments(p: argparse.ArgumentParser) -> None:
    """The recipe and data flags (``ganzoo train``; ``ganzoo compare`` applies them to every variant)."""
    recipe = p.add_argument_group("recipe")
    recipe.add_argument("--batch-size", type=int)
    recipe.add_argument("--lr", type=float, help="learning rate of both optimizers")
    recipe.add_argument("--g-lr", type=float, help="generator learning rate")
    recipe.add_argument("--d-lr", type=float, help="discriminator learning rate")
    recipe.add_argument("--critic-steps", type=int, help="discriminator updates per generator update")
    recipe.add_argument("--latent-dim", type=int)
    recipe.add_argument("--generator", help="generator component")
    recipe.add_argument("--discriminator", help="discriminator component")
    recipe.add_argument("--loss", help="loss component")
    recipe.add_argument("--optimizer", type=_optimizer_arg, metavar="NAME[:k=v,...]",
                        help="optimizer of every network: any torch.optim one by name (adam, radam, sgd ...) "
                             "or timm's as timm:NAME (timm:lion ...), e.g. --optimizer sgd:momentum=0.9")
    recipe.add_argument("--g-optimizer", type=_optimizer_arg, metavar="NAME[:k=v,...]", help="generator optimizer")
    recipe.add_argument("--d-optimizer", type=_optimizer_arg, metavar="NAME[:k=v,...]",
                        help="discriminator optimizer")
    recipe.add_argument("--trick", action="append", default=[], type=_named_arg, metavar="NAME[:k=v,...]",
                        help="add a trick (repeatable), e.g. --trick ema:decay=0.99")
    recipe.add_argument("--no-trick", action="append", default=[], metavar="NAME",
                        help="remove a trick of the variant (repeatable; 'all' removes every one)")
    data = p.add_argument_group("data")
    data.add_argument("--data", help="IDX file, image folder, .npy/.npz, or mnist[:SPLIT] (default)")
    data.add_argument("--labels", metavar="FILE",
                      help="class labels for --data: an IDX *-labels-idx1-ubyte[.gz] file or a .npy array")
    data.add_argument("--field", action="append", default=[], type=_field_arg, metavar="NAME=SOURCE",
                      help="a further data field the variant reads (repeatable), drawn on its own: e.g. "
                           "CycleGAN's second domain, --field domain_b=inverted.npz")
    data.add_argument("--paired-field", action="append", default=[], type=_field_arg, metavar="NAME=SOURCE",
                      help="a further data field drawn with the images (one per image, e.g. pix2pix targets)")
    data.add_argument("--image-size", type=int, help="resize images to this height and width")
    data.add_argument("--channels", type=int, choices=(1, 3), help="convert images to 1 or 3 channels")


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train", help="train a variant (or a free composition)",
        description="Train a variant on the built-in MNIST digits or your own data. Flags override "
                    "--config; recipe flags override the variant's defaults.")
    p.add_argument("variant", nargs="?",
                   help="variant name (default: the config's, else vanilla; a recipe changed by "
                        "--generator/--discriminator/--loss/--trick without a variant is named 'custom')")
    p.add_argument("--config", metavar="TOML", help="read settings from a TOML file")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    length = p.add_argument_group("length (the first limit reached stops the run)")
    length.add_argument("--steps", type=int, help="generator steps (total, also when resuming)")
    length.add_argument("--epochs", type=float, help="passes over the data")
    length.add_argument("--minutes", type=float, help="training-time budget (evaluations do not count)")
    add_recipe_arguments(p)
    run = p.add_argument_group("run")
    run.add_argument("--seed", type=int)
    run.add_argument("--device", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    run.add_argument("--out", help="run folder (default runs/VARIANT-TIMESTAMP)")
    run.add_argument("--log-every", type=int, help="log metrics every N steps (default 50)")
    run.add_argument("--sample-every", type=int, help="write a sample grid every N steps (default 500)")
    run.add_argument("--checkpoint-every", type=int, help="checkpoint every N steps (default 500)")
    run.add_argument("--eval-every", type=int, help="evaluate sample quality every N steps (default never)")
    run.add_argument("--eval-doubling", action="store_true", default=None,
                     help="evaluate at --eval-every × 1, 2, 4, 8 … steps instead of every --eval-every")
    run.add_argument("--logger", action="append", default=[], type=_named_arg, metavar="NAME[:k=v,...]",
                     help="also send records and sample grids to this logger (repeatable): csv, tensorboard, "
                          "or a plugin's (metrics.jsonl is always written); with --resume, replaces the run's")
    fast = p.add_argument_group("speed")
    fast.add_argument("--graph", choices=("auto", "on", "off"),
                      help="capture the whole step as a CUDA graph: auto (default: when the step allows "
                           "it, else eager with a notice), on (fail if it cannot), off")
    fast.add_argument("--precision", choices=("auto", "fp32", "bf16"),
                      help="bf16: bfloat16 autocast, CUDA or CPU; auto (default): bf16 on CPUs with native "
                           "bf16 matrix units (AVX512-BF16, AMX), else fp32")
    fast.add_argument("--channels-last", action="store_true", default=None,
                      help="channels-last memory format for convolutional networks")
    dist = p.add_argument_group("distributed (torch.distributed: torchrun + DDP)")
    dist.add_argument("--nproc", type=int, help="launch N processes on this machine with torchrun "
                      "(the same as: torchrun --standalone --nproc-per-node N -m ganzoo train ...)")
    dist.add_argument("--sync-batchnorm", action="store_true", default=None,
                      help="synchronise BatchNorm statistics across processes (CUDA only)")
    dist.add_argument("--dist-timeout", type=float, help="seconds a collective may wait (default 600)")
    p.set_defaults(handler=train_command)


_RECIPE_FLAGS = {"batch_size": "batch_size", "critic_steps": "critic_steps", "latent_dim": "latent_dim",
                 "generator": "generator", "discriminator": "discriminator", "loss": "loss"}
_RUN_FLAGS = ("steps", "epochs", "minutes", "data", "labels", "image_size", "channels", "seed", "device", "out",
              "log_every", "sample_every", "checkpoint_every", "eval_every", "eval_doubling", "sync_batchnorm",
              "dist_timeout",
              "graph", "precision", "channels_last")


def config_from_args(args: argparse.Namespace) -> Any:
    """The TrainConfig the flags describe: --config's settings, the run flags over them, and
    the recipe flags as changes to the recipe (merged by
    :func:`ganzoo.training.config.config_with_changes`)."""
    from ganzoo.training.config import config_with_changes, read_config

    config = getattr(args, "config", None)
    # Every setting of the file is checked on its own first, so that an error names the file;
    # what is wrong after the flags are merged in came from a flag.
    settings: dict[str, Any] = read_config(config) if config else {}
    if args.variant:
        settings["variant"] = args.variant
    for name in _RUN_FLAGS:
        value = getattr(args, name, None)  # a command without the flag (ganzoo compare) leaves it
        if value is not None:
            settings[name] = value
    if getattr(args, "logger", None):
        settings["loggers"] = dict(args.logger)
    for flag, setting in (("field", "fields"), ("paired_field", "paired_fields")):
        given = getattr(args, flag, None) or []
        names = [name for name, _ in given]
        if len(set(names)) != len(names):
            twice = next(name for name in names if names.count(name) > 1)
            raise ConfigError(f"--{flag.replace('_', '-')} {twice} is given twice")
        if given:
            settings[setting] = dict(given)
    return config_with_changes(settings, _recipe_changes(args), add_tricks=dict(args.trick),
                               remove_tricks=args.no_trick)


def _recipe_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The recipe flags as changes to the recipe (Variant fields; optimizer tables)."""
    changes = {field: getattr(args, flag) for flag, field in _RECIPE_FLAGS.items()
               if getattr(args, flag) is not None}
    for name in ("batch_size", "critic_steps", "latent_dim"):
        if name in changes and changes[name] < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be a positive integer, got {changes[name]}")
    for side in ("g_optimizer", "d_optimizer"):
        chosen = getattr(args, side) or args.optimizer
        change = {"name": chosen[0], **chosen[1]} if chosen else {}
        lr = getattr(args, f"{side[0]}_lr") if getattr(args, f"{side[0]}_lr") is not None else args.lr
        if lr is not None:
            change["lr"] = lr
        if change:
            changes[side] = change
    return changes


def launch_torchrun(nproc: int, argv: list[str]) -> int:
    """Re-run this command under torchrun with ``nproc`` processes (without --nproc)."""
    import subprocess
    import sys

    from ganzoo.cli import output

    if nproc < 1:
        raise ConfigError(f"--nproc must be >= 1, got {nproc}")
    rest: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
        elif item == "--nproc":
            skip = True
        elif not item.startswith("--nproc="):
            rest.append(item)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={nproc}", "-m", "ganzoo", *rest]
    code = subprocess.call(command)
    if code != 0:
        output.stderr.print(f"ganzoo train: the distributed run failed (torchrun exit status {code}); "
                            "the first failing rank's error is above", highlight=False, markup=False)
        return 1
    return 0


def train_command(args: argparse.Namespace) -> int:
    from ganzoo.cli import output
    from ganzoo.runs.checkpoint import version_warnings_shown
    from ganzoo.training.distributed import launched_by_torchrun
    from ganzoo.runs.rundir import RunDir
    from ganzoo.training.trainer import Trainer

    if args.nproc is not None and not launched_by_torchrun():
        return launch_torchrun(args.nproc, list(getattr(args, "argv", [])))
    output.warn_plugin_problems()
    if args.resume:
        clash = [flag for flag in ("variant", "config", "batch_size", "lr", "g_lr", "d_lr", "optimizer",
                                   "g_optimizer", "d_optimizer", "critic_steps",
                                   "latent_dim", "generator", "discriminator", "loss", "data", "field", "paired_field",
                                   "image_size", "channels", "seed", "out")
                 if getattr(args, flag) not in (None, [])] + (["trick"] if args.trick or args.no_trick else [])
        if clash:
            raise ConfigError(f"--resume continues a run with its own recipe and data; "
                              f"--{clash[0].replace('_', '-')} cannot be given with it")
        with version_warnings_shown("train"):
            trainer = Trainer.resume(args.resume, steps=args.steps, epochs=args.epochs, minutes=args.minutes,
                                     device=args.device, log_every=args.log_every,
                                     sample_every=args.sample_every, checkpoint_every=args.checkpoint_every,
                                     eval_every=args.eval_every, eval_doubling=args.eval_doubling,
                                     dist_timeout=args.dist_timeout,
                                     graph=args.graph, precision=args.precision,
                                     channels_last=args.channels_last,
                                     loggers=dict(args.logger) if args.logger else None)
    else:
        trainer = Trainer(config_from_args(args))
    result = trainer.run()
    if not trainer.is_main:
        return 0
    run = result.run_dir
    interrupted = result.stopped_because == "interrupted"
    ended = "[bold yellow]stopped[/bold yellow]" if interrupted else "[bold green]done[/bold green]"
    output.stdout.print(f"{ended}: {result.steps} steps ({result.stopped_because}); run folder [bold]{run}[/bold]")
    folder = RunDir(run)
    output.stdout.print(f"  samples     {result.samples}\n  checkpoint  {result.checkpoint}\n"
                        f"  metrics     {folder.metrics}\n  loss plot   {folder.loss_plot}")
    output.stdout.print("next:\n"
                        f"  ganzoo sample {run} -n 100 --seed 1   # more samples\n"
                        f"  ganzoo eval {run}                     # score sample quality\n"
                        + (f"  ganzoo train --resume {run}   # continue where it stopped" if interrupted else
                           f"  ganzoo train --resume {run} --steps {result.steps * 2}   # keep training"))
    return 130 if interrupted else 0  # the shell's status for a run stopped by SIGINT
