"""Files from other people are untrusted: checkpoints never run code, incomplete or damaged
ones are one-line errors, interrupted writes leave nothing behind, a failing disk ends a run
with one line and the last good checkpoint intact."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganzoo.cli import main
from ganzoo.runs import checkpoint as ckpt
from ganzoo.training.config import TrainConfig
from ganzoo.training.trainer import Trainer


def _train(tmp_path: Path, name: str = "run", steps: int = 2, **settings) -> Path:
    config = TrainConfig(variant="vanilla", steps=steps, recipe={"batch_size": 4}, out=str(tmp_path / name),
                         log_every=1, sample_every=100, checkpoint_every=2, samples_in_grid=4,
                         data="mnist:test-b", **settings)
    return Trainer(config).run().run_dir


class _RunsACommand:
    """Unpickling this calls os.system: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _malicious_checkpoint(path: Path, marker: Path, template: dict) -> Path:
    """A checkpoint that is complete (so loading it would go on to use it) plus one object
    whose unpickling runs a command."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**template, "payload": _RunsACommand(marker)}, path)
    return path


def _one_error_line(captured: str, command: str) -> str:
    lines = [line for line in captured.splitlines() if line.strip()]
    assert "Traceback" not in captured
    errors = [line for line in lines if line.startswith(f"ganzoo {command}: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], captured
    return errors[0]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    return _train(tmp_path_factory.mktemp("trusted"))


@pytest.mark.parametrize("command", ["sample", "eval", "resume"])
def test_a_malicious_checkpoint_never_runs_its_code(tmp_path, trained_run, capsys, command):
    template = ckpt.load_checkpoint(trained_run / "checkpoints/last.pt", resume=True)
    marker = tmp_path / "pwned"
    run = tmp_path / "shared-run"
    path = _malicious_checkpoint(run / "checkpoints" / "last.pt", marker, template)
    argv = {"sample": ["sample", str(path), "-n", "4", "--out", str(tmp_path / "s.png")],
            "eval": ["eval", str(path), "-n", "8", "--no-baseline"],
            "resume": ["train", "--resume", str(run), "--steps", "3"]}[command]
    assert main(argv) == 2
    assert not marker.exists(), "loading the checkpoint ran the code inside it"
    line = _one_error_line(capsys.readouterr().err, argv[0])
    assert str(path) in line and "refused" in line and "posix.system" in line


def test_checkpoints_load_with_weights_only_and_keep_exact_rng_states(trained_run):
    """Everything a checkpoint holds (NumPy's RNG state included) reads with weights_only."""
    import numpy as np

    payload = torch.load(trained_run / "checkpoints/last.pt", weights_only=True)
    assert payload["format"] == ckpt.FORMAT_VERSION
    np.random.seed(7)
    expected = np.random.rand(3)
    np.random.seed(7)
    saved = ckpt.capture_rng_states()
    np.random.rand(10)
    ckpt.restore_rng_states(saved)
    assert np.array_equal(np.random.rand(3), expected)


@pytest.mark.parametrize("missing", ["variant", "state", "image_shape"])
def test_a_checkpoint_missing_keys_is_one_line(tmp_path, trained_run, capsys, missing):
    payload = ckpt.load_checkpoint(trained_run / "checkpoints/last.pt")
    del payload[missing]
    path = tmp_path / "incomplete.pt"
    torch.save(payload, path)
    assert main(["sample", str(path), "-n", "4", "--out", str(tmp_path / "s.png")]) == 2
    line = _one_error_line(capsys.readouterr().err, "sample")
    assert str(path) in line and f"{missing!r} is missing" in line


def test_a_checkpoint_with_weights_of_another_network_is_one_line(tmp_path, trained_run, capsys):
    payload = ckpt.load_checkpoint(trained_run / "checkpoints/last.pt")
    payload["variant"]["generator"] = "dcgan"
    payload["variant"]["generator_params"] = {}
    path = tmp_path / "mismatch.pt"
    torch.save(payload, path)
    assert main(["sample", str(path), "-n", "4", "--out", str(tmp_path / "s.png")]) == 2
    line = _one_error_line(capsys.readouterr().err, "sample")
    assert "weights do not fit" in line


def test_resume_removes_the_temporary_file_of_a_killed_write(tmp_path):
    """SIGKILL during a checkpoint write leaves '.last.pt.XXXX.tmp'; resuming deletes it."""
    run = _train(tmp_path, steps=2)
    target = run / "checkpoints" / "last.pt"
    script = ("import time\nfrom ganzoo.atomic import write_atomically\n"
              "def slow(handle):\n    handle.write(b'x' * 100000)\n    handle.flush()\n"
              "    print('writing', flush=True)\n    time.sleep(60)\n"
              f"write_atomically({str(target)!r}, slow)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()
    proc.wait(timeout=30)
    [stale] = [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    assert stale.name.startswith(".last.pt.")
    assert Trainer.resume(run, steps=3).run().steps == 3
    assert not stale.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["last.pt"]


def test_a_full_disk_ends_the_run_in_one_line_keeping_the_last_checkpoint(tmp_path, monkeypatch, capsys):
    """The second checkpoint write hits ENOSPC: exit status 1, one line naming the file, the
    step-2 checkpoint intact, no temporary file left."""
    real_fsync = os.fsync
    checkpoint_writes = []

    def full_disk_fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp") and ".last.pt." in os.readlink(f"/proc/self/fd/{fd}"):
            checkpoint_writes.append(fd)
            if len(checkpoint_writes) > 1:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk_fsync)
    run = tmp_path / "full"
    code = main(["train", "vanilla", "--steps", "6", "--batch-size", "4", "--checkpoint-every", "2",
                 "--sample-every", "100", "--data", "mnist:test-b", "--out", str(run)])
    captured = capsys.readouterr().err
    assert code == 1, captured
    lines = [line for line in captured.splitlines() if line.strip()]
    assert "Traceback" not in captured
    last = lines[-1]
    assert last.startswith("ganzoo train: ") and "No space left on device" in last
    assert str(run / "checkpoints" / "last.pt") in last and "last good checkpoint (step 2)" in last
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert ckpt.load_checkpoint(run / "checkpoints" / "last.pt", resume=True)["step"] == 2
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.endswith(".tmp")]


def test_an_unwritable_output_path_is_one_line(tmp_path):
    """Any OSError while writing (here: the parent "folder" is a file) is a StorageError."""
    from ganzoo.atomic import write_atomically
    from ganzoo.errors import StorageError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot write") as info:
        write_atomically(blocker / "x.bin", lambda handle: handle.write(b"x"))
    assert str(blocker / "x.bin") in str(info.value) and "\n" not in str(info.value)
    assert info.value.exit_status == 1


def _only_line(stderr: str, command: str, path: Path) -> str:
    """stderr is exactly one line: the error, naming ``path``."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"ganzoo {command}: error: {path}: "), stderr
    return lines[0]


def _command(command: str, run: Path, tmp_path: Path) -> list[str]:
    return {"sample": ["sample", str(run), "-n", "4", "--out", str(tmp_path / "s.png")],
            "eval": ["eval", str(run), "-n", "8", "--no-baseline"],
            "resume": ["train", "--resume", str(run), "--steps", "3"]}[command]


@pytest.mark.parametrize("command", ["sample", "eval", "resume"])
@pytest.mark.parametrize("content", [b"hi\n", b"GM_\xd0\xc7\t", b"\x80\x15N.", b"PK\x03\x04garbage"],
                         ids=["text", "struct", "pickle-protocol", "zip"])
def test_a_garbled_checkpoint_is_one_line_without_warnings(tmp_path, capsys, command, content):
    """Whatever torch's parsers raise on garbage (KeyError, struct.error ...) and whatever they
    warn about, the user sees one line naming the file."""
    import warnings

    run = tmp_path / "garbled"
    path = run / "checkpoints" / "last.pt"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(_command(command, run, tmp_path))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "not a readable checkpoint" in _only_line(err, "train" if command == "resume" else command, path)
    assert not [str(w.message) for w in caught]


def _set(*keys, value):
    def edit(payload: dict) -> None:
        target = payload
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value(payload) if callable(value) else value
    return edit


_DAMAGED_FIELDS = {
    # Caught by the structure checks of load_checkpoint/read_variant.
    "torch-rng-float": (_set("rng", "torch", value=torch.zeros(3)), "'rng': the torch state"),
    "python-rng-short": (_set("rng", "python", value=(1, 2)), "'rng': the python state"),
    "numpy-rng-short": (_set("rng", "numpy", value=("MT19937", torch.zeros(3))), "'rng': the numpy state"),
    "numpy-rng-float-keys": (_set("rng", "numpy", value=lambda p: ("MT19937", torch.zeros(624), 624, 0, 0.0)),
                             "'rng': the numpy state"),
    "rng-missing": (_set("rng", value={}), "'rng': no 'torch' state"),
    "rng-per-rank": (_set("rng_per_rank", value=[None]), "'rng_per_rank'[0]"),
    "sampler-rng-float": (_set("sampler", "rng", value=torch.zeros(2)), "'sampler' rng"),
    "sampler-rng-missing": (_set("sampler", value={}), "'sampler' rng is None"),
    "negative-step": (_set("step", value=-5), "'step' is -5"),
    "float-step": (_set("step", value=2.5), "'step' is a float"),
    "negative-updates": (_set("updates", "generator", value=-1), "'updates'"),
    # Well-typed but wrong: the backstop around applying the states.
    "torch-rng-size": (_set("rng", "torch", value=torch.zeros(3, dtype=torch.uint8)), "RuntimeError"),
    "python-rng-version": (_set("rng", "python", value=lambda p: (1, p["rng"]["python"][1], None)), "ValueError"),
    "numpy-rng-kind": (_set("rng", "numpy", value=lambda p: ("XX", *p["rng"]["numpy"][1:])), "ValueError"),
    "sampler-rng-size": (_set("sampler", "rng", value=torch.zeros(2, dtype=torch.uint8)), "RuntimeError"),
}
_DAMAGED_RECIPES = {
    "tricks-none": (_set("variant", "tricks", value=None), "'tricks' is None"),
    "trick-params-str": (_set("variant", "tricks", value={"ema": "x"}), "trick 'ema'"),
    "trick-names": (_set("variant", "tricks", value=[1]), "'tricks' must name tricks"),
    "params-list": (_set("variant", "generator_params", value=[1, 2]), "'generator_params'"),
    "optimizer-str": (_set("variant", "g_optimizer", value="adam"), "'g_optimizer'"),
    "phases-str": (_set("variant", "phases", value="x"), "'phases'"),
}


def _damaged_copy(trained_run: Path, tmp_path: Path, edit) -> tuple[Path, Path]:
    """A copy of the run whose checkpoint was loaded, edited and saved again (as anyone can)."""
    import shutil

    run = tmp_path / "edited"
    shutil.copytree(trained_run, run)
    path = run / "checkpoints" / "last.pt"
    payload = torch.load(path, weights_only=True)
    edit(payload)
    torch.save(payload, path)
    return run, path


@pytest.mark.parametrize("case", [*_DAMAGED_FIELDS, *(f"{c}:{n}" for n in _DAMAGED_RECIPES
                                                      for c in ("resume", "sample"))])
def test_a_checkpoint_with_damaged_fields_is_one_line(tmp_path, trained_run, capsys, case):
    command, name = case.split(":") if ":" in case else ("resume", case)
    edit, expected = {**_DAMAGED_FIELDS, **_DAMAGED_RECIPES}[name]
    run, path = _damaged_copy(trained_run, tmp_path, edit)
    code = main(_command(command, run, tmp_path))
    err = capsys.readouterr().err
    assert code == 2, err
    line = _only_line(err, "train" if command == "resume" else command, path)
    assert ("damaged recipe" if name in _DAMAGED_RECIPES else "damaged checkpoint") in line
    assert expected in line


def test_the_loader_refuses_a_negative_step_only_when_resuming(tmp_path, trained_run):
    from ganzoo.errors import CheckpointError

    _, path = _damaged_copy(trained_run, tmp_path, _set("step", value=-5))
    assert ckpt.load_checkpoint(path)["step"] == -5  # sampling does not use it
    with pytest.raises(CheckpointError, match=r"damaged checkpoint: 'step' is -5"):
        ckpt.load_checkpoint(path, resume=True)
