"""Smoke tests of benchmarks/textbook.py, the plain-PyTorch reference loops: each recipe runs two
steps (in this process: the script's ``main``) and writes samples that ``ganzoo eval`` accepts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "textbook.py"
RECIPES = ("bce", "dcgan", "wgan", "wgan-gp")


@pytest.fixture(scope="module")
def textbook():
    """The script as a module (it is not part of the package)."""
    spec = importlib.util.spec_from_file_location("textbook", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def noise(tmp_path_factory):
    """A small .npy of noise for --data (the built-in digits' first load is the slow part)."""
    path = tmp_path_factory.mktemp("textbook") / "noise.npy"
    np.save(path, np.random.default_rng(0).uniform(-1, 1, (100, 1, 28, 28)).astype(np.float32))
    return path


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_runs_and_writes_samples(textbook, noise, recipe, tmp_path, capsys):
    out = tmp_path / f"{recipe}.npy"
    assert textbook.main([recipe, "--steps", "2", "--samples", "16", "--seed", "3", "--threads", "1",
                          "--out", str(out), "--data", str(noise)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines
    record = json.loads(lines[0])
    assert record["recipe"] == recipe and record["seed"] == 3 and record["steps"] == 2
    assert record["samples"] == str(out) and record["threads"] == 1
    assert record["seconds"] > 0 and record["steps_per_sec"] > 0
    assert {"torch", "cpu", "date"} <= record.keys() and record["device"] == "cpu"
    samples = np.load(out)
    assert samples.shape == (16, 1, 28, 28) and samples.dtype == np.float32
    assert np.isfinite(samples).all() and samples.min() >= -1 and samples.max() <= 1
    if recipe == "bce":  # what the reference is for: ganzoo scores it
        from ganzoo.cli import main

        assert main(["eval", str(out), "-n", "16", "--metric", "frechet-distance", "--no-baseline"]) == 0


def test_a_bad_argument_is_one_line(textbook, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        textbook.main(["bce", "--steps", "2", "--out", str(tmp_path / "x.png")])
    assert exit.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_recipe_trains_on_cuda(textbook, noise, tmp_path, capsys):
    out = tmp_path / "wgan-gp.npy"
    assert textbook.main(["wgan-gp", "--steps", "2", "--samples", "16", "--device", "cuda", "--out", str(out),
                          "--data", str(noise)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["device"] == "cuda" and record["machine"] == torch.cuda.get_device_name()
    assert np.isfinite(np.load(out)).all()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this torch sees a CUDA device")
def test_cuda_without_a_device_is_one_line(textbook, noise, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        textbook.main(["bce", "--steps", "2", "--device", "cuda", "--data", str(noise),
                       "--out", str(tmp_path / "x.npy")])
    assert exit.value.code == 2 and "--device cuda" in capsys.readouterr().err
    assert not (tmp_path / "x.npy").exists()
