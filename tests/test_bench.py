"""``ganzoo bench`` and the pytest-benchmark suite (their plumbing; no timing is asserted)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import torch

import ganzoo
from ganzoo.benchmarking import bench_variant, cpu_name
from ganzoo.training.capture import resolve_precision

ROOT = Path(__file__).resolve().parent.parent


def test_bench_json_schema(capsys):
    from ganzoo.cli import main

    capsys.readouterr()
    # In this process; test_unknown_variant_is_a_one_line_error runs `ganzoo bench` as a process.
    code = main(["bench", "vanilla", "dcgan", "--steps", "1", "--warmup", "0", "--batch-size", "4",
                 "--batch-size", "8", "--json"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    rows = json.loads(printed.out)
    assert [(r["variant"], r["batch_size"]) for r in rows] == [("dcgan", 4), ("dcgan", 8), ("vanilla", 4), ("vanilla", 8)]
    for row in rows:
        assert set(row) == {"variant", "batch_size", "device", "mode", "precision", "steps", "steps_per_sec",
                            "images_per_sec", "plain_steps_per_sec", "ratio_vs_plain", "peak_memory_mb",
                            "torch", "machine"}
        # No CUDA graphs on the CPU; bf16 autocast where this CPU has native bf16 matrix units.
        assert (row["mode"], row["precision"]) == ("eager", resolve_precision("auto", torch.device("cpu")))
        # Both are rounded from the same unrounded rate (to 3 and 1 decimals), so they agree to
        # within the two roundings; an exact equality failed for 1.13149 steps/s at batch 8.
        assert row["steps_per_sec"] > 0
        assert abs(row["images_per_sec"] - row["steps_per_sec"] * row["batch_size"]) <= 0.0005 * row["batch_size"] + 0.05
        assert row["ratio_vs_plain"] > 0 and row["device"] == "cpu"
        assert row["machine"].startswith(f"{cpu_name()} ({os.cpu_count()} cores, ")  # the model, not "x86_64"


def test_cpu_name_reads_the_model_name_not_the_architecture(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6448Y\n")
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: real_open(cpuinfo if path == "/proc/cpuinfo" else path, *a, **k))
    assert cpu_name() == "Intel(R) Xeon(R) Gold 6448Y"
    cpuinfo.unlink()  # no /proc (macOS, Windows): fall back to what platform knows
    assert cpu_name() == (platform.processor() or platform.machine())


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


def test_quality_script_scores_several_draws_and_judges_their_mean(tmp_path):
    """benchmarks/quality.py: one JSON row per variant, the bar judged on the mean of the draws."""
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "quality.py"), "vanilla", "--steps", "2",
                             "--samples", "200", "--score-seeds", "2", "--threads", "1", "--out", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1, result.stderr  # two steps cannot meet the bar
    row = json.loads(result.stdout.splitlines()[0])
    assert row["steps"] == 2 and [d["seed"] for d in row["draws"]] == [0, 1]
    assert row["two_sample"] == round(sum(d["two_sample"] for d in row["draws"]) / 2, 3)
    assert row["coverage"] == min(d["coverage"] for d in row["draws"]) and row["passes_bar"] is False
    assert (Path(row["run_dir"]) / "samples.png").is_file()
    assert "| vanilla | cpu |" in result.stdout and result.stdout.rstrip().endswith("| no |")


def test_quality_script_rejects_zero_draws():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "quality.py"), "vanilla", "--score-seeds", "0"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "--score-seeds must be >= 1 (got 0)" in result.stderr
