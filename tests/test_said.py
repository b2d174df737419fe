"""What the commands say: the precision and the resumed step on the first lines of a run, a
warning when an installed plugin is not the version a run recorded, and one-line refusals
(a recipe nested too deeply, an unconditional run asked for a class, an --interpolate count
beyond its limit, a run folder another process is training right now)."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from ganzoo.cli import main
from ganzoo.errors import ConfigError
from ganzoo.runs.rundir import FolderLock, RunDir
from ganzoo.training.config import TrainConfig
from ganzoo.training.trainer import Trainer
from ganzoo.version import __version__

TINY = ["--batch-size", "4", "--device", "cpu", "--data", "mnist:test-b", "--sample-every", "1000"]


def _train(folder: Path, steps: int = 2) -> Path:
    config = TrainConfig(variant="vanilla", steps=steps, recipe={"batch_size": 4}, out=str(folder),
                         log_every=1, sample_every=100, checkpoint_every=2, samples_in_grid=4,
                         data="mnist:test-b", device="cpu")
    return Trainer(config).run().run_dir


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A 2-step vanilla run (unconditional); tests that change it work on a copy."""
    return _train(tmp_path_factory.mktemp("said") / "run")


def _copy(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / "run"))


def _lines(text: str) -> list[str]:
    assert "Traceback" not in text
    return [line for line in text.splitlines() if line.strip()]


def _one_error(capsys: pytest.CaptureFixture[str]) -> str:
    lines = _lines(capsys.readouterr().err)
    assert len(lines) == 1, lines
    return lines[0]


# -- the first lines of a run --------------------------------------------------------------


@pytest.mark.parametrize("flag, native, said", [
    # regression: fp32 on a CPU said nothing about the precision at all
    ("auto", False, "fp32 (auto: this CPU has no native bf16 matrix units)"),
    ("fp32", True, "fp32"),
    ("auto", True, "bf16 autocast (auto: this CPU has native bf16 matrix units)"),
])
def test_the_first_line_names_the_precision_on_every_cpu(monkeypatch, tmp_path, capsys, flag, native, said):
    from ganzoo.training import capture

    monkeypatch.setattr(capture, "cpu_has_native_bf16", lambda: native)  # the machine's answer
    assert main(["train", "vanilla", "--steps", "1", "--precision", flag, "--out", str(tmp_path / "r"), *TINY]) == 0
    first = _lines(capsys.readouterr().err)[0]
    assert first.startswith(f"ganzoo: training vanilla (batch_size=4) on cpu, {said} with built-in MNIST digits"), first


def test_resume_says_from_which_step(trained_run, tmp_path, capsys):
    run = _copy(trained_run, tmp_path)
    assert main(["train", "--resume", str(run), "--steps", "3"]) == 0
    lines = _lines(capsys.readouterr().err)
    assert lines[0] == f"ganzoo: resuming {run} from step 2 (checkpoint {run / 'checkpoints' / 'last.pt'})"
    assert lines[1].startswith("ganzoo: training vanilla (batch_size=4) on cpu")


# -- plugin versions -----------------------------------------------------------------------


def _recorded_as(run: Path, distribution: str, version: str, kinds: tuple[str, ...] = ()) -> Path:
    """The run's checkpoint rewritten as if its components (those of ``kinds``; all by default)
    came from ``distribution`` ``version``."""
    path = run / "checkpoints" / "last.pt"
    payload = torch.load(path, weights_only=True)
    for record in payload["versions"]["components"]:
        if not kinds or record["kind"] in kinds:
            record["distribution"], record["version"] = distribution, version
    torch.save(payload, path)
    return run


@pytest.mark.parametrize("command", ["sample", "eval", "export", "resume"])
def test_a_plugin_of_another_version_than_the_run_recorded_is_one_warning(trained_run, tmp_path, capsys, command):
    """Regression: each of these went on without a word when the installed ganzoo (the
    distribution of the built-in components) was not the one that trained the run."""
    run = _recorded_as(_copy(trained_run, tmp_path), "ganzoo", "0.1.0")
    argv = {"sample": ["sample", str(run), "-n", "4", "--out", str(tmp_path / "s.png")],
            "eval": ["eval", str(run), "-n", "8", "--no-baseline", "--metric", "coverage"],
            "export": ["export", str(run), "--format", "pt2", "--out", str(tmp_path / "g.pt2")],
            "resume": ["train", "--resume", str(run), "--steps", "3"]}[command]
    assert main(argv) == 0  # a warning, and the command goes on
    name = argv[0]
    said = [line for line in _lines(capsys.readouterr().err) if "warning" in line]
    assert said == [f"ganzoo {name}: warning: the run was trained with ganzoo 0.1.0; {__version__} is installed"]


def test_a_component_now_from_another_distribution_is_named(trained_run, tmp_path, capsys):
    run = _recorded_as(_copy(trained_run, tmp_path), "ganzoo-mlp", "0.3.0", kinds=("generator",))
    assert main(["sample", str(run), "-n", "4", "--out", str(tmp_path / "s.png")]) == 0
    said = [line for line in _lines(capsys.readouterr().err) if "warning" in line]
    assert said == [f"ganzoo sample: warning: the run's generator 'mlp' came from ganzoo-mlp 0.3.0; "
                    f"here ganzoo {__version__} provides it"]


def test_the_same_versions_say_nothing(trained_run, tmp_path, capsys):
    assert main(["sample", str(trained_run), "-n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert capsys.readouterr().err == ""


def test_the_version_comparison_is_a_python_warning_outside_the_cli(trained_run, tmp_path):
    from ganzoo.runs.checkpoint import PluginVersionWarning, load_trained_gan

    run = _recorded_as(_copy(trained_run, tmp_path), "ganzoo", "0.1.0")
    with pytest.warns(PluginVersionWarning, match=f"trained with ganzoo 0.1.0; {__version__} is installed"):
        load_trained_gan(run, device="cpu")


# -- one-line refusals ---------------------------------------------------------------------


def test_a_recipe_nested_5000_levels_deep_is_one_line(tmp_path, capsys):
    """Regression: Python's TOML parser ran out of recursion depth: a RecursionError traceback."""
    for name, text in (("array", "steps = " + "[" * 5000 + "]" * 5000),
                       ("table", "[recipe]\ngenerator_params = " + "{a = " * 5000 + "1" + "}" * 5000)):
        path = tmp_path / f"{name}.toml"
        path.write_text(text + "\n")
        assert main(["train", "--config", str(path), "--out", str(tmp_path / "r")]) == 2
        assert _one_error(capsys) == (f"ganzoo train: error: {path}: nested too deeply to read (arrays or "
                                      "inline tables hundreds of levels deep); no setting nests like that")
    assert not (tmp_path / "r").exists()


def test_a_flag_value_nested_too_deeply_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--trick", "ema:decay=" + "[" * 5000 + "]" * 5000])
    assert exit_info.value.code == 2
    assert _one_error(capsys) == ("ganzoo train: --trick: the value of 'decay' is nested too deeply "
                                  "(see ganzoo train --help)")


def test_an_unconditional_run_asked_for_a_class_says_it_is_unconditional(trained_run, tmp_path, capsys):
    """Regression: --class abc was answered 'give class indices', which the run then refused."""
    for classes in ("abc", "3"):
        for extra in ([], ["--interpolate", "3"]):
            assert main(["sample", str(trained_run), "--class", classes, "--out", str(tmp_path / "s.png"), *extra]) == 2
            assert _one_error(capsys) == (f"ganzoo sample: error: --class {classes}: the run's variant 'vanilla' "
                                          "is not conditional: it cannot draw a requested class")
    assert not (tmp_path / "s.png").exists()


def test_interpolate_has_a_stated_limit_checked_before_anything_loads(tmp_path, capsys):
    from ganzoo.cli.sample import MAX_KEYFRAMES

    assert MAX_KEYFRAMES == 64
    # No such run: the count is refused before the run is even looked for.
    assert main(["sample", str(tmp_path / "no-run"), "--interpolate", "65"]) == 2
    assert _one_error(capsys) == ("ganzoo sample: error: --interpolate must be at most 64 (latents to walk "
                                  "through), got 65")
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    assert "at most 64" in " ".join(capsys.readouterr().out.split())


def _live_run_before_its_first_checkpoint(out: Path) -> FolderLock:
    """What a training process has done by the time it trains its first steps: the run folder,
    its lock held, config.json written; no checkpoint yet."""
    run = RunDir.new(str(out), "vanilla")
    lock = FolderLock(run.path, "training")
    run.write_config({"train": {"variant": "vanilla"}})
    return lock


def test_a_run_in_training_before_its_first_checkpoint_is_never_called_stopped(tmp_path, capsys):
    """Regression: a second `train --out` into a live run's folder was told the run had
    stopped and to delete the folder: advice that would destroy a running job."""
    out = tmp_path / "live"
    lock = _live_run_before_its_first_checkpoint(out)
    pid = os.getpid()
    try:
        assert main(["train", "vanilla", "--steps", "1", "--out", str(out), *TINY]) == 2
        assert _one_error(capsys) == (f"ganzoo train: error: --out {out}: holds a run that another ganzoo "
                                      f"process (pid {pid}) is training right now (no checkpoint yet); "
                                      "choose another --out")
        for argv in (["train", "--resume", str(out)], ["sample", str(out)]):
            assert main(argv) == 2
            assert _one_error(capsys) == (f"ganzoo {argv[0]}: error: {out}: no checkpoint in this run folder yet: "
                                          f"another ganzoo process (pid {pid}) is training it right now and has "
                                          "not written its first checkpoint")
    finally:
        lock.release()
    # The same folder once its process has ended: now it did stop, and the advice stands.
    assert main(["train", "vanilla", "--steps", "1", "--out", str(out), *TINY]) == 2
    assert "stopped before its first checkpoint" in _one_error(capsys)
    assert sorted(p.name for p in out.iterdir()) == [".lock", "checkpoints", "config.json", "samples"]


def test_a_run_in_training_after_its_first_checkpoint_is_not_offered_for_resuming(trained_run, tmp_path, capsys):
    run = _copy(trained_run, tmp_path)
    lock = FolderLock(run, "training")
    try:
        assert main(["train", "vanilla", "--steps", "1", "--out", str(run), *TINY]) == 2
        assert _one_error(capsys) == (f"ganzoo train: error: --out {run}: holds a run that another ganzoo "
                                      f"process (pid {os.getpid()}) is training right now; choose another --out")
    finally:
        lock.release()
    assert main(["train", "vanilla", "--steps", "1", "--out", str(run), *TINY]) == 2
    assert f"already holds a run; use --resume {run}" in _one_error(capsys)


def test_a_run_in_training_is_refused_as_live_for_a_real_second_process(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "live"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from ganzoo.runs.rundir import FolderLock, RunDir; "
                               "run = RunDir.new(sys.argv[1], 'vanilla'); lock = FolderLock(run.path, 'training'); "
                               "run.write_config({}); print('training', flush=True); time.sleep(60)", str(out)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "training"
        with pytest.raises(ConfigError, match=f"another ganzoo process \\(pid {holder.pid}\\) is training right now"):
            RunDir.new(str(out), "vanilla")
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(ConfigError, match="stopped before its first checkpoint"):
        RunDir.new(str(out), "vanilla")


# -- labels --------------------------------------------------------------------------------


@pytest.mark.parametrize("value, shown", [(-1e30, "-1e+30"), (1e30, "1e+30"), (-3.0, "-3"),
                                          (1.5, "1.5"), (-np.inf, "-inf")])
def test_a_bad_label_is_named_as_written_without_numpy_warnings(tmp_path, value, shown):
    """Regression: -1e30 printed NumPy RuntimeWarnings and was named as the int64 minimum."""
    from ganzoo.data import load_dataset
    from ganzoo.errors import DataError

    np.save(tmp_path / "labels.npy", np.array([0.0, 1.0, value, 2.0]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DataError) as info:
            load_dataset("mnist:test-b", labels=tmp_path / "labels.npy", limit=4)
    assert [str(w.message) for w in caught] == []
    assert str(info.value).endswith(f", found {shown}")
