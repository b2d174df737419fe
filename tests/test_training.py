"""The trainer: run folders, exact resume, atomic checkpoints, divergence, sampling, config."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import types

import pytest
import torch

import ganzoo
from ganzoo import hookimpl
from ganzoo.cli import main
from ganzoo.errors import CheckpointError, ConfigError, DivergenceError
from ganzoo.runs import checkpoint as ckpt
from ganzoo.training.config import TrainConfig
from ganzoo.runs.checkpoint import load_trained_gan
from ganzoo.training.trainer import Trainer

TINY = {"batch_size": 4}


def _config(tmp_path, name="run", **settings) -> TrainConfig:
    defaults = {"variant": "vanilla", "steps": 4, "recipe": dict(TINY), "out": str(tmp_path / name),
                "log_every": 2, "sample_every": 2, "checkpoint_every": 2, "samples_in_grid": 4,
                "data": "mnist:test-b", "seed": 0}
    defaults.update(settings)
    return TrainConfig(**defaults)


def _all_state(trainer: Trainer) -> dict[str, torch.Tensor]:
    state = ckpt.gan_state(trainer.gan)
    flat: dict[str, torch.Tensor] = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}", v)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(f"{prefix}.{i}", v)
        elif isinstance(value, torch.Tensor):
            flat[prefix] = value
    walk("", state)
    return flat


def test_short_run_writes_every_artifact(tmp_path):
    result = Trainer(_config(tmp_path)).run()
    run = result.run_dir
    for relative in ("config.json", "metrics.jsonl", "loss.png", "samples.png", "checkpoints/last.pt",
                     "samples/step-000002.png", "samples/step-000004.png"):
        assert (run / relative).is_file(), relative
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    assert set(records[0]) >= {"step", "d_loss", "g_loss", "d_real", "d_fake", "steps_per_sec", "images_per_sec"}
    config = json.loads((run / "config.json").read_text())
    assert config["variant"]["batch_size"] == 4 and config["train"]["steps"] == 4
    payload = ckpt.load_checkpoint(run / "checkpoints/last.pt")
    assert payload["step"] == 4 and payload["versions"]["ganzoo"] == ganzoo.__version__
    assert set(payload["versions"]["plugins"]) >= {"mlp", "losses", "tricks"}
    assert {"torch", "python", "numpy"} <= set(payload["rng"])
    assert (run / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_is_bit_exact(variant_name, tmp_path):
    """N steps, then resume for M more == N + M steps in one go, for every variant."""
    one_go = Trainer(_config(tmp_path, "one", variant=variant_name, steps=3, checkpoint_every=100))
    one_go.run()
    first = Trainer(_config(tmp_path, "split", variant=variant_name, steps=2, checkpoint_every=100))
    first.run()
    resumed = Trainer.resume(tmp_path / "split", steps=3)
    assert resumed.step.step == 2
    resumed.run()
    a, b = _all_state(one_go), _all_state(resumed)
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"not bit-exact after resume: {different[:5]}"
    steps = [json.loads(line)["step"] for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 3]


def test_resume_refuses_recipe_changes(tmp_path):
    Trainer(_config(tmp_path, steps=2)).run()
    with pytest.raises(ConfigError, match="cannot change when resuming"):
        Trainer.resume(tmp_path / "run", seed=5)
    assert main(["train", "--resume", str(tmp_path / "run"), "--batch-size", "8"]) == 2


def test_resume_from_a_folder_without_checkpoint(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no checkpoint"):
        Trainer.resume(tmp_path / "empty")


def test_existing_run_folder_is_never_overwritten(tmp_path):
    Trainer(_config(tmp_path, steps=2)).run()
    before = (tmp_path / "run" / "checkpoints" / "last.pt").read_bytes()
    with pytest.raises(ConfigError, match="already holds a run; use --resume"):
        Trainer(_config(tmp_path, steps=2))
    assert (tmp_path / "run" / "checkpoints" / "last.pt").read_bytes() == before


def test_out_says_what_the_folder_holds(tmp_path, capsys):
    """Regression: a run that stopped before its first checkpoint was told to --resume, which
    then said there was no checkpoint: a dead end with no hint."""
    stopped = tmp_path / "stopped"
    (stopped / "checkpoints").mkdir(parents=True)
    (stopped / "config.json").write_text("{}")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    (tmp_path / "file").write_text("mine")
    for out, message in (("stopped", "holds a run that stopped before its first checkpoint (nothing to resume); "
                                     "delete the folder or choose another --out"),
                         ("other", "already exists and is not empty; choose another --out"),
                         ("file", "is a file; choose another --out")):
        assert main(["train", "vanilla", "--steps", "2", "--out", str(tmp_path / out)]) == 2
        assert capsys.readouterr().err == f"ganzoo train: error: --out {tmp_path / out}: {message}\n"
    assert main(["train", "--resume", str(stopped)]) == 2
    assert capsys.readouterr().err.strip().endswith("is missing; the run stopped before its first checkpoint)")
    assert main(["train", "--resume", str(tmp_path / "file")]) == 2
    assert capsys.readouterr().err == (f"ganzoo train: error: {tmp_path / 'file'}: is a file, not a run folder "
                                       "(--resume takes the folder)\n")
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_killed_checkpoint_write_leaves_previous_checkpoint_intact(tmp_path):
    """SIGKILL a process in the middle of writing a checkpoint: the old one still loads."""
    Trainer(_config(tmp_path, steps=2)).run()
    target = tmp_path / "run" / "checkpoints" / "last.pt"
    before = target.read_bytes()
    script = textwrap.dedent(f"""
        import sys, time
        from ganzoo.atomic import write_atomically
        def slow(handle):
            handle.write(b"partial checkpoint bytes" * 1000)
            handle.flush()
            print("writing", flush=True)
            time.sleep(60)
        write_atomically({str(target)!r}, slow)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert target.read_bytes() == before
    assert ckpt.load_checkpoint(target)["step"] == 2
    resumed = Trainer.resume(tmp_path / "run", steps=3)
    assert resumed.run().steps == 3


def test_failed_serialisation_does_not_touch_the_checkpoint(tmp_path, monkeypatch):
    Trainer(_config(tmp_path, steps=2)).run()
    target = tmp_path / "run" / "checkpoints" / "last.pt"
    before = target.read_bytes()

    def broken_save(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(target, {"step": 99})
    assert target.read_bytes() == before
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def test_corrupt_checkpoint_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint") as info:
        ckpt.load_checkpoint(bad)
    assert "\n" not in str(info.value)


class _NaNAfterTwoSteps(ganzoo.Trick):
    name = "nan-after-two"

    def d_loss_term(self, real, fake, state):
        return torch.tensor(float("nan")) if state.step >= 2 else None


def test_forced_nan_stops_cleanly_keeping_last_good_checkpoint(tmp_path, fresh_plugins):
    plugin = types.SimpleNamespace(register_tricks=hookimpl(
        lambda register: register("nan-after-two", _NaNAfterTwoSteps)))
    fresh_plugins.get_host().add_plugin(plugin, "nan-test")
    config = _config(tmp_path, steps=10, log_every=1, recipe={**TINY, "tricks": {"nan-after-two": {}}})
    with pytest.raises(DivergenceError, match="by step 3") as info:
        Trainer(config).run()
    assert "last good checkpoint (step 2)" in str(info.value) and "\n" not in str(info.value)
    run = tmp_path / "run"
    assert ckpt.load_checkpoint(run / "checkpoints/last.pt")["step"] == 2
    assert (run / "samples/step-000002.png").is_file() and (run / "loss.png").is_file()
    assert not (run / "samples/step-000004.png").exists()


def test_cli_train_then_sample_reproduces_with_seed(tmp_path, capsys):
    run = tmp_path / "cli"
    assert main(["train", "vanilla", "--steps", "3", "--batch-size", "4", "--out", str(run),
                 "--data", "mnist:test-b", "--trick", "ema:decay=0.9", "--log-every", "1"]) == 0
    out = capsys.readouterr().out
    assert str(run) in out and "ganzoo sample" in out
    assert main(["sample", str(run), "-n", "6", "--seed", "4", "--npy", str(tmp_path / "a.npy"),
                 "--out", str(tmp_path / "a.png")]) == 0
    assert main(["sample", str(run / "checkpoints/last.pt"), "-n", "6", "--seed", "4",
                 "--npy", str(tmp_path / "b.npy")]) == 0
    import numpy as np

    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert a.shape == (6, 1, 28, 28) and np.array_equal(a, b)
    assert (tmp_path / "a.png").is_file()
    gan, _ = load_trained_gan(run, device="cpu")
    assert gan.sampling_generator() is not gan.generator  # EMA weights are used for sampling


def test_config_file_and_flag_precedence(tmp_path):
    from ganzoo.cli import build_parser
    from ganzoo.cli.train import config_from_args

    toml = tmp_path / "run.toml"
    toml.write_text('variant = "dcgan"\nsteps = 7\nseed = 3\n[recipe]\nbatch_size = 16\n'
                    '[recipe.g_optimizer]\nlr = 0.001\n[recipe.tricks.ema]\ndecay = 0.9\n')
    args = build_parser().parse_args(["train", "--config", str(toml), "--steps", "9", "--d-lr", "0.002",
                                      "--trick", "instance-noise:sigma=0.2"])
    config = config_from_args(args)
    assert config.variant == "dcgan" and config.steps == 9 and config.seed == 3
    assert config.recipe["batch_size"] == 16 and config.recipe["g_optimizer"] == {"lr": 0.001}
    assert config.recipe["d_optimizer"] == {"lr": 0.002}
    assert config.recipe["tricks"] == {"ema": {"decay": 0.9}, "instance-noise": {"sigma": 0.2}}
    args = build_parser().parse_args(["train", "vanilla", "--no-trick", "ema"])
    assert list(config_from_args(args).recipe["tricks"]) == ["label-smoothing", "diffaugment"]
    args = build_parser().parse_args(["train", "vanilla", "--no-trick", "all", "--trick", "label-noise"])
    assert config_from_args(args).recipe["tricks"] == {"label-noise": {}}
    args = build_parser().parse_args(["train", "vanilla", "--no-trick", "r1"])
    with pytest.raises(ConfigError, match=r"--no-trick: the recipe has no trick 'r1' \(it has: "
                                          r"label-smoothing, diffaugment, ema\)"):
        config_from_args(args)


def test_a_config_is_built_and_its_recipe_resolved_without_the_cli():
    """Recipe changes and trick edits merge in ganzoo.training.config (the CLI only parses flags)."""
    from ganzoo.training.config import config_with_changes, recipe_variant

    config = config_with_changes({"recipe": {"g_optimizer": {"lr": 0.001}}},
                                 {"loss": "wasserstein", "g_optimizer": {"betas": [0.0, 0.9]}},
                                 add_tricks={"gradient-penalty": {}}, remove_tricks=["label-smoothing"],
                                 origin="test")
    assert config.recipe["g_optimizer"] == {"lr": 0.001, "betas": [0.0, 0.9]}
    assert list(config.recipe["tricks"]) == ["diffaugment", "ema", "gradient-penalty"]
    variant = recipe_variant(config)
    assert variant.name == "custom" and variant.loss == "wasserstein" and variant.g_optimizer.lr == 0.001
    assert variant.summary.startswith("custom (from vanilla: loss=wasserstein")
    assert recipe_variant(TrainConfig(variant="vanilla", recipe={"batch_size": 8})).name == "vanilla"


@pytest.mark.parametrize("content, message", [
    ("steps = [", "not valid TOML"),
    ("stepz = 3", "unknown setting 'stepz'"),
    ("steps = -1", "--steps must be a positive integer"),
    ("[recipe]\ncritic_step = 2", "unknown setting 'critic_step'"),
    ("[recipe.g_optimizer]\nname = 'adamz'", "unknown optimizer 'adamz'; did you mean 'adam'"),
])
def test_bad_config_is_a_one_line_cli_error(tmp_path, content, message, capsys):
    toml = tmp_path / "bad.toml"
    toml.write_text(content)
    capsys.readouterr()
    # `ganzoo train` in this process (the console script's entry point returns the exit status).
    code = main(["train", "--config", str(toml), "--steps", "1", "--out", str(tmp_path / "never")]
                if "steps" not in content else ["train", "--config", str(toml), "--out", str(tmp_path / "never")])
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    assert message in stderr and len(stderr.strip().splitlines()) == 1


def test_epochs_and_minutes_limits(tmp_path):
    trainer = Trainer(_config(tmp_path, "epochs", steps=None, epochs=0.01))
    assert trainer.steps_total == 3  # 0.01 epochs × 1,000 images / batch 4 = 2.5 D batches → 3 steps
    trainer = Trainer(_config(tmp_path, "epochs-critic", variant="wgan-gp", steps=None, epochs=0.1))
    assert trainer.steps_total == 5  # 0.1 × 1,000 / 4 = 25 D batches at 5 critic steps each
    start = time.monotonic()
    result = Trainer(_config(tmp_path, "minutes", steps=None, minutes=0.02)).run()
    assert result.stopped_because == "time limit" and result.steps >= 1
    assert time.monotonic() - start < 60


def test_sample_next_to_a_checkpoint_outside_a_run_folder(tmp_path):
    Trainer(_config(tmp_path, steps=1)).run()
    moved = tmp_path / "elsewhere" / "model.pt"
    moved.parent.mkdir()
    moved.write_bytes((tmp_path / "run" / "checkpoints" / "last.pt").read_bytes())
    assert main(["sample", str(moved), "-n", "4"]) == 0
    assert (moved.parent / "samples-seed0.png").is_file()
    assert main(["sample", str(tmp_path / "run" / "checkpoints" / "last.pt"), "-n", "4", "--seed", "2"]) == 0
    assert (tmp_path / "run" / "samples-seed2.png").is_file()


def test_a_recipe_composed_from_flags_says_what_it_is(tmp_path, capsys):
    """Regression: --generator/--loss/--trick without a variant silently trained 'vanilla',
    failed on its label-smoothing trick without saying how to drop it, and once fixed still
    printed "training vanilla" and recorded vanilla's summary."""
    flags = ["train", "--generator", "upsample-conv", "--loss", "wasserstein", "--trick", "gradient-penalty",
             "--steps", "1", "--batch-size", "4", "--data", "mnist:test-b"]
    assert main([*flags, "--out", str(tmp_path / "refused")]) == 2
    [error] = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert "'label-smoothing' needs a loss tagged 'labels'" in error
    assert error.endswith("--no-trick label-smoothing")
    run = tmp_path / "custom"
    assert main([*flags, "--no-trick", "label-smoothing", "--out", str(run)]) == 0
    described = ("custom (from vanilla: generator=upsample-conv, loss=wasserstein, -label-smoothing, +gradient-penalty, "
                 "batch_size=4)")
    assert f"training {described} on" in capsys.readouterr().err
    recorded = json.loads((run / "config.json").read_text())["variant"]
    assert (recorded["name"], recorded["summary"]) == ("custom", described)
    assert main(["train", "--batch-size", "4", "--steps", "1", "--data", "mnist:test-b",
                 "--out", str(tmp_path / "plain")]) == 0  # no component changed: still vanilla
    assert json.loads((tmp_path / "plain" / "config.json").read_text())["variant"]["name"] == "vanilla"


def test_record_times_count_training_across_resumes_and_skip_evaluations(tmp_path, monkeypatch):
    from ganzoo.training.config import TrainConfig
    from ganzoo.training.trainer import Trainer
    from ganzoo.runs import checkpoint as ckpt

    config = TrainConfig(variant="vanilla", steps=4, data="mnist:test-b", device="cpu", out=str(tmp_path / "r"),
                         log_every=2, checkpoint_every=2, eval_every=2, eval_samples=200,
                         recipe={"batch_size": 8})
    from ganzoo.training import tasks

    evaluate = tasks.evaluate_gan
    monkeypatch.setattr(tasks, "evaluate_gan", lambda *args, **kwargs: (evaluate(*args, **kwargs), time.sleep(2.0))[0])
    first = Trainer(config)
    began = time.monotonic()
    first.run()
    wall = time.monotonic() - began
    records = [r for r in first.records if "time" in r]
    evals = [r for r in records if "eval" in r]
    assert [r["step"] for r in evals] == [2, 4]
    # Two evaluations of at least 2 s each ran; the records' clock left them out.
    assert wall - records[-1]["time"] >= 4.0, (wall, records[-1]["time"])
    assert all(a["time"] <= b["time"] for a, b in zip(records, records[1:]))
    saved = ckpt.load_checkpoint(tmp_path / "r/checkpoints/last.pt", resume=True)["train_seconds"]
    assert records[-1]["time"] <= saved < records[-1]["time"] + 1.0  # the checkpoint came after the last score
    resumed = Trainer.resume(tmp_path / "r", steps=6)
    resumed.run()
    later = [r for r in resumed.records if "time" in r and r["step"] > 4]
    assert later and all(r["time"] >= saved for r in later)


def test_ctrl_c_ends_the_run_at_that_step_with_a_checkpoint_and_resume_continues_it_exactly(tmp_path,
                                                                                         interrupt_training):
    """Regression: Ctrl-C lost every step since the last checkpoint (all of them before the first,
    leaving a folder that could neither be resumed nor trained into)."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    one_go = Trainer(_config(tmp_path, "one", steps=8, checkpoint_every=100))
    one_go.run()
    interrupt_training(at=3)
    result = Trainer(_config(tmp_path, "split", steps=8, checkpoint_every=100)).run()
    assert (result.stopped_because, result.steps) == ("interrupted", 3)
    assert ckpt.load_checkpoint(result.checkpoint)["step"] == 3 and result.samples.is_file()
    assert signal.getsignal(signal.SIGINT) is before  # the handler lives only while training
    resumed = Trainer.resume(tmp_path / "split")  # to the run's own 8 steps
    interrupt_training(at=-1)
    resumed.run()
    assert resumed.step.step == 8
    a, b = _all_state(one_go), _all_state(resumed)
    assert not [k for k in a if not torch.equal(a[k], b[k])]


def test_a_second_ctrl_c_interrupts_at_once(tmp_path, interrupt_training):
    import signal

    before = signal.getsignal(signal.SIGINT)
    interrupt_training(at=2, times=2)  # the second before the loop could stop
    with pytest.raises(KeyboardInterrupt):
        Trainer(_config(tmp_path, steps=8, checkpoint_every=100)).run()
    assert signal.getsignal(signal.SIGINT) is before
    assert not (tmp_path / "run" / "checkpoints" / "last.pt").exists()


def test_ctrl_c_in_the_cli_stops_with_status_130_and_says_how_to_continue(tmp_path, capsys, interrupt_training):
    import signal

    interrupt_training(at=2)
    out = tmp_path / "run"
    assert main(["train", "vanilla", "--steps", "50", "--batch-size", "8", "--out", str(out)]) == 130
    shown = capsys.readouterr()
    assert "interrupted; saving step 2" in shown.err
    assert "stopped: 2 steps (interrupted)" in shown.out and f"ganzoo train --resume {out}   # continue" in shown.out
    assert ckpt.load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_run_is_trained_by_one_process_at_a_time(tmp_path, capsys):
    """Regression: two `ganzoo train --resume RUN` at once interleaved their records and
    checkpoints; the second is now refused before it changes anything."""
    import subprocess
    import sys

    from ganzoo.runs.rundir import FolderLock

    Trainer(_config(tmp_path, steps=2)).run()
    run = tmp_path / "run"
    capsys.readouterr()
    held = FolderLock(run, "training")
    records = (run / "metrics.jsonl").read_bytes()
    assert main(["train", "--resume", str(run), "--steps", "4"]) == 2
    assert capsys.readouterr().err == (f"ganzoo train: error: {run}: another ganzoo process (pid {os.getpid()}) is "
                                       "training it; wait for it to end or stop it\n")
    assert (run / "metrics.jsonl").read_bytes() == records
    held.release()
    assert main(["train", "--resume", str(run), "--steps", "4"]) == 0
    # A holder that is killed leaves no lock behind.
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from ganzoo.runs.rundir import FolderLock; lock = FolderLock(Path(sys.argv[1]), 'training'); "
                               "print('held', flush=True); time.sleep(60)", str(run)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(ConfigError, match=f"another ganzoo process \\(pid {holder.pid}\\)"):
        Trainer.resume(run, steps=6)
    holder.kill()
    holder.wait()
    Trainer.resume(run, steps=6).run()


def test_a_named_recipe_with_overrides_says_so(tmp_path, capsys):
    """Regression: `train wgan-gp --generator mlp` trained another recipe under the name
    wgan-gp, and neither the first line nor config.json said so."""
    run = tmp_path / "run"
    assert main(["train", "wgan-gp", "--generator", "mlp", "--discriminator", "mlp", "--latent-dim", "32",
                 "--steps", "1", "--out", str(run)]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("ganzoo: training wgan-gp (generator=mlp, discriminator=mlp, latent_dim=32) on "), first
    config = json.loads((run / "config.json").read_text())
    assert config["changes"] == ["generator=mlp", "discriminator=mlp", "latent_dim=32"]
    # Regression: a replaced part's parameters went unnamed (batchnorm=true hid behind generator=mlp).
    recipe = ganzoo.get_variant("wgan-gp").replace(generator="mlp", generator_params={"batchnorm": True},
                                                   discriminator="mlp", discriminator_params={"dropout": 0.0})
    assert recipe.changes_from(ganzoo.get_variant("wgan-gp")) == [
        "generator=mlp", "discriminator=mlp", "generator_params.batchnorm=True", "discriminator_params.dropout=0.0"]
    assert main(["train", "vanilla-classic", "--steps", "1", "--out", str(tmp_path / "plain")]) == 0
    assert capsys.readouterr().err.startswith("ganzoo: training vanilla-classic on ")
    assert json.loads((tmp_path / "plain" / "config.json").read_text())["changes"] == []
