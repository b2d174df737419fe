"""``ganzoo bench`` and the pytest-benchmark suite (their plumbing; no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

import ganzoo
from ganzoo.benchmarking import bench_variant
from ganzoo.training.capture import resolve_precision

ROOT = Path(__file__).resolve().parent.parent


def test_bench_json_schema():
    result = subprocess.run([sys.executable, "-m", "ganzoo", "bench", "vanilla", "dcgan", "--steps", "1",
                             "--warmup", "0", "--batch-size", "4", "--batch-size", "8", "--json"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["variant"], r["batch_size"]) for r in rows] == [("dcgan", 4), ("dcgan", 8), ("vanilla", 4), ("vanilla", 8)]
    for row in rows:
        assert set(row) == {"variant", "batch_size", "device", "mode", "precision", "steps", "steps_per_sec",
                            "images_per_sec", "plain_steps_per_sec", "ratio_vs_plain", "peak_memory_mb",
                            "torch", "machine"}
        # No CUDA graphs on the CPU; bf16 autocast where this CPU has native bf16 matrix units.
        assert (row["mode"], row["precision"]) == ("eager", resolve_precision("auto", torch.device("cpu")))
        assert row["steps_per_sec"] > 0 and row["images_per_sec"] == round(row["steps_per_sec"] * row["batch_size"], 1)
        assert row["ratio_vs_plain"] > 0 and row["device"] == "cpu"


def test_bench_measures_every_variant_by_default():
    names = [bench_variant(name, 2, device="cpu", steps=1, warmup=0, plain=False).variant
             for name in ganzoo.list_variants()]
    assert names == ganzoo.list_variants()


def test_unknown_variant_is_a_one_line_error():
    result = subprocess.run([sys.executable, "-m", "ganzoo", "bench", "vanila"], capture_output=True, text=True)
    assert result.returncode == 2 and "did you mean 'vanilla'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_benchmark_suite_collects_every_registered_variant():
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                             str(ROOT / "benchmarks" / "test_step_throughput.py")],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ganzoo.list_variants():
        for batch in (64, 256):
            assert f"test_training_step[{name}-{batch}-cpu]" in result.stdout
