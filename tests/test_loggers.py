"""Loggers as plugins: metrics.jsonl is one logger among others; csv and TensorBoard get the
same records (read back with tensorboard's own reader); a logger that fails is turned off with
one line and never stops training or touches metrics.jsonl; resuming drops what the checkpoint
does not cover, in every logger."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
import types
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import ganzoo
from ganzoo import hookimpl
from ganzoo.cli import main
from ganzoo.runs.rundir import RunDir

TRAIN = ["train", "vanilla", "--log-every", "10", "--sample-every", "20", "--checkpoint-every", "20"]


def _records(run: Path) -> list[dict]:
    return RunDir(run).read_metrics()


def _events(run: Path) -> EventAccumulator:
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    return events


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("loggers") / "run"
    scored = run.parent / "scored.toml"
    scored.write_text("eval_samples = 64\n")  # the default 1,000 only takes longer to score
    assert main([*TRAIN, "--config", str(scored), "--steps", "40", "--eval-every", "20", "--out", str(run),
                 "--logger", "csv", "--logger", "tensorboard:flush_secs=1"]) == 0
    return run


def test_tensorboard_scalars_read_back_equal_the_jsonl(logged_run):
    records = _records(logged_run)
    events = _events(logged_run)
    training = [r for r in records if "eval" not in r]
    assert [r["step"] for r in training] == [10, 20, 30, 40]
    for name in ("d_loss", "g_loss", "d_real", "d_fake", "steps_per_sec"):
        logged = events.Scalars(f"train/{name}")
        assert [e.step for e in logged] == [10, 20, 30, 40]
        assert [e.value for e in logged] == pytest.approx([r[name] for r in training], rel=1e-6)
    evaluations = [r for r in records if "eval" in r]
    fd = [m["value"] for r in evaluations for m in r["eval"]["metrics"] if m["metric"] == "frechet-distance"]
    assert [e.value for e in events.Scalars("eval/frechet-distance")] == pytest.approx(fd, rel=1e-6)
    assert "eval/coverage.histogram" not in events.Tags()["scalars"]  # a list, not a scalar
    assert [e.step for e in events.Images("samples")] == [20, 40]
    config = json.loads((logged_run / "config.json").read_text())
    text = events.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert json.loads(text.replace("\n    ", "\n").strip()) == json.loads(json.dumps(config))


def test_csv_rows_equal_the_jsonl(logged_run):
    records = _records(logged_run)
    with (logged_run / "metrics.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    training = [r for r in records if "eval" not in r]
    assert [int(row["step"]) for row in rows] == [r["step"] for r in training]
    assert [float(row["g_loss"]) for row in rows] == [r["g_loss"] for r in training]
    with (logged_run / "eval.csv").open(newline="") as handle:
        evaluations = list(csv.DictReader(handle))
    assert [int(row["step"]) for row in evaluations] == [20, 40]
    assert "frechet-distance" in evaluations[0] and "coverage.histogram" not in evaluations[0]


class _Flaky(ganzoo.Logger):
    seen: list = []

    def log(self, record):
        _Flaky.seen.append(record["step"])
        if record["step"] >= 20:
            raise RuntimeError("tracker unreachable")


@pytest.fixture
def flaky_plugin(fresh_plugins):
    plugin = types.SimpleNamespace(register_loggers=hookimpl(lambda register: register("flaky", _Flaky)))
    fresh_plugins.get_host().add_plugin(plugin, "flaky-logger")
    _Flaky.seen = []
    return fresh_plugins


def test_a_logger_raising_mid_run_is_turned_off_and_the_run_and_jsonl_stay_whole(flaky_plugin, tmp_path, capsys):
    plain, flaky = tmp_path / "plain", tmp_path / "flaky"
    assert main([*TRAIN, "--steps", "40", "--out", str(plain)]) == 0
    capsys.readouterr()
    assert main([*TRAIN, "--steps", "40", "--out", str(flaky), "--logger", "flaky"]) == 0
    err = capsys.readouterr().err
    notices = [line for line in err.splitlines() if "logger 'flaky'" in line]
    assert notices == ["ganzoo: logger 'flaky' failed at step 20 (tracker unreachable); it is off for the rest "
                       "of the run, training goes on and metrics.jsonl keeps every record"]
    assert _Flaky.seen == [10, 20]  # never called again once off
    strip = lambda rs: [{k: v for k, v in r.items() if k not in ("time", "steps_per_sec", "images_per_sec")} for r in rs]  # noqa: E731
    assert strip(_records(flaky)) == strip(_records(plain))
    assert (flaky / "checkpoints" / "last.pt").is_file()


def test_tensorboard_missing_is_one_line_and_training_goes_on(tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    assert main([*TRAIN, "--steps", "20", "--out", str(tmp_path / "run"), "--logger", "tensorboard"]) == 0
    err = capsys.readouterr().err
    assert ("ganzoo: logger 'tensorboard' failed to start (the tensorboard package is not installed: pip install "
            "'ganzoo[tensorboard]'); it is off") in err
    assert len(_records(tmp_path / "run")) == 2


def test_a_logger_failing_on_a_file_names_the_file(tmp_path, capsys):
    """Regression: the notice gave only the OS's reason ("Is a directory")."""
    run = tmp_path / "run"
    assert main([*TRAIN, "--steps", "20", "--out", str(run), "--logger", "csv"]) == 0
    (run / "metrics.csv").unlink()
    (run / "metrics.csv").mkdir()
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "40"]) == 0
    assert (f"ganzoo: logger 'csv' failed at step 30 ({run / 'metrics.csv'}: Is a directory); "
            "it is off") in capsys.readouterr().err
    assert len(_records(run)) == 4


def test_resuming_drops_what_the_checkpoint_does_not_cover_in_every_logger(tmp_path):
    run, saved = tmp_path / "run", tmp_path / "step-20.pt"
    loggers = ["--logger", "csv", "--logger", "tensorboard:flush_secs=1"]
    assert main([*TRAIN, "--steps", "20", "--out", str(run), *loggers]) == 0
    shutil.copy(run / "checkpoints" / "last.pt", saved)
    assert main(["train", "--resume", str(run), "--steps", "40"]) == 0  # the run's loggers come along
    # The run is "killed" after step 40 with its last checkpoint at 20: resume from there again.
    shutil.copy(saved, run / "checkpoints" / "last.pt")
    assert main(["train", "--resume", str(run), "--steps", "30"]) == 0
    steps = [r["step"] for r in _records(run)]
    assert steps == [10, 20, 30]
    with (run / "metrics.csv").open(newline="") as handle:
        assert [int(row["step"]) for row in csv.DictReader(handle)] == steps
    logged = _events(run).Scalars("train/d_loss")
    assert [e.step for e in logged] == steps
    assert [e.value for e in logged] == pytest.approx([r["d_loss"] for r in _records(run)], rel=1e-6)


def test_a_logger_added_on_resume_starts_there(tmp_path):
    run = tmp_path / "run"
    assert main([*TRAIN, "--steps", "20", "--out", str(run)]) == 0
    assert main(["train", "--resume", str(run), "--steps", "40", "--logger", "csv"]) == 0
    with (run / "metrics.csv").open(newline="") as handle:
        assert [int(row["step"]) for row in csv.DictReader(handle)] == [30, 40]
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["loggers"] == {"csv": {}}


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_an_unknown_logger_or_parameter_is_one_line_before_training(tmp_path, capsys):
    assert main([*TRAIN, "--steps", "5", "--out", str(tmp_path / "a"), "--logger", "tensorbord"]) == 2
    assert _one_line(capsys) == "ganzoo train: error: unknown logger 'tensorbord'; did you mean 'tensorboard'?"
    assert main([*TRAIN, "--steps", "5", "--out", str(tmp_path / "b"), "--logger", "csv:colour=red"]) == 2
    line = _one_line(capsys)
    assert line.startswith("ganzoo train: error: logger 'csv'") and "colour" in line
    assert not (tmp_path / "a" / "metrics.jsonl").exists() and not (tmp_path / "b" / "metrics.jsonl").exists()


def test_toml_loggers_as_a_list_or_tables(tmp_path, capsys):
    listed, tabled, bad = (tmp_path / name for name in ("listed.toml", "tabled.toml", "bad.toml"))
    listed.write_text('variant = "vanilla"\nsteps = 10\nloggers = ["csv"]\n')
    tabled.write_text('variant = "vanilla"\nsteps = 10\n[loggers.csv]\ntraining_file = "train.csv"\n')
    bad.write_text('variant = "vanilla"\nloggers = "csv"\n')
    assert main(["train", "--config", str(listed), "--log-every", "5", "--out", str(tmp_path / "l")]) == 0
    assert (tmp_path / "l" / "metrics.csv").is_file()
    assert main(["train", "--config", str(tabled), "--log-every", "5", "--out", str(tmp_path / "t")]) == 0
    assert (tmp_path / "t" / "train.csv").is_file()
    capsys.readouterr()
    assert main(["train", "--config", str(bad)]) == 2
    assert "loggers must be a list of logger names" in _one_line(capsys)


def test_the_run_log_failing_stops_the_run_with_one_line(tmp_path, capsys, monkeypatch):
    from ganzoo_plugins.loggers import files

    def full(self, record):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.JsonlLogger, "log", full)
    assert main([*TRAIN, "--steps", "20", "--out", str(tmp_path / "run")]) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("ganzoo train: ") and line.endswith(
        "metrics.jsonl: cannot write (No space left on device); training stopped at step 10; "
        "no checkpoint was written yet")


class _FailsToClose(ganzoo.Logger):
    def close(self):
        raise OSError(5, "Input/output error")


def test_a_logger_failing_to_finish_is_said_not_swallowed(fresh_plugins, tmp_path, capsys):
    """Regression: close() ran after the progress display was gone, so its notice was lost."""
    plugin = types.SimpleNamespace(register_loggers=hookimpl(lambda register: register("no-close", _FailsToClose)))
    fresh_plugins.get_host().add_plugin(plugin, "no-close-logger")
    assert main([*TRAIN, "--steps", "10", "--out", str(tmp_path / "run"), "--logger", "no-close"]) == 0
    assert "logger 'no-close' failed to finish (Input/output error)" in capsys.readouterr().err


@pytest.mark.parametrize("spec, message", [
    ("csv:training_file=../victim.csv", "logger csv: training_file must be a plain .csv name inside the run folder"),
    ("csv:eval_file=metrics.jsonl", "logger csv: eval_file must be a plain .csv name inside the run folder"),
    ("tensorboard:folder=checkpoints", "logger tensorboard: folder must be a plain folder name inside the run folder"),
    ("tensorboard:folder=/tmp/elsewhere", "logger tensorboard: folder must be a plain folder name inside the run folder"),
])
def test_logger_files_stay_inside_the_run_folder(tmp_path, capsys, spec, message):
    """Regression: csv:training_file=../x.csv rewrote a file outside the run, and
    training_file=metrics.jsonl replaced the run's own records with CSV."""
    out = tmp_path / "run"
    assert main([*TRAIN, "--steps", "4", "--out", str(out), "--logger", spec]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and message in err, err
    assert not out.exists()  # refused before the run folder was made


def test_a_shared_checkpoint_cannot_point_a_logger_outside_its_run(tmp_path, capsys):
    """A resumed run takes its loggers from the checkpoint, which may be someone else's."""
    import torch

    run = tmp_path / "run"
    assert main([*TRAIN, "--steps", "20", "--out", str(run)]) == 0
    victim = tmp_path / "victim.csv"
    victim.write_text("precious\n")
    path = run / "checkpoints" / "last.pt"
    payload = torch.load(path, weights_only=True)
    payload["config"]["loggers"] = {"csv": {"training_file": str(victim)}}
    torch.save(payload, path)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "40"]) == 2
    assert "logger csv: training_file must be a plain .csv name" in capsys.readouterr().err
    assert victim.read_text() == "precious\n"
