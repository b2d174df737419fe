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
