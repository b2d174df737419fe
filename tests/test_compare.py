"""ganzoo compare: a tiny comparison end to end (every file, its schema, the HTML), resuming
after a kill, a diverging run, a changed plan refused, and the statistics against hand
calculations."""

from __future__ import annotations

import base64
import html.parser
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from scipy.stats import t as student_t

from ganzoo.cli import main
from ganzoo.compare.report import mean_std, rank
from ganzoo.evaluation.classifier import WEIGHTS_SHA256

TINY = ["--steps", "4", "--eval-every", "2", "--eval-samples", "50", "--batch-size", "8"]


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag, attrs):
        self.tables += tag == "table"
        if tag == "img":
            self.images.append(dict(attrs)["src"])


def test_a_tiny_comparison_writes_every_file(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "vanilla", "vanilla-classic", "--seeds", "2", "--jobs", "2", "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "1. " in printed and "report: " in printed
    for name in ("report.json", "report.md", "curves.png", "samples.png", "report.html", "compare.json"):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert report["extractor_sha256"] == WEIGHTS_SHA256 and report["num_samples"] == 50
    assert report["reference"] == "mnist:test-a" and report["torch"] and report["machine"] and report["date"]
    assert report["device"] == "cpu"  # where the runs trained
    assert set(report["variants"]) == {"vanilla", "vanilla-classic"}
    for variant in report["variants"].values():
        assert variant["changes"] == ["batch_size=8"]  # TINY's --batch-size
        assert (variant["done"], variant["diverged"], variant["failed"]) == (2, 0, 0)
        assert set(variant["parameters"]) == {"generator", "discriminator"}
        fd = variant["metrics"]["frechet-distance"]
        assert fd["better"] == "lower" and fd["real_vs_real"] > 0
        for section in ("end", "best", "equal_time", "equal_steps"):
            assert fd[section]["n"] >= 1 and fd[section]["mean"] > 0, section
        assert fd["end"]["n"] == 2 and fd["best"]["mean"] <= fd["end"]["mean"]
        assert variant["steps"]["mean"] == 4
    assert [r["variant"] for r in report["ranking"]] and len(report["runs"]) == 4
    for run in report["runs"]:  # each (variant, seed) is an ordinary run folder, scored along the way
        records = [json.loads(line) for line in (Path(run["run_dir"]) / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in records if "eval" in r] == [2, 4]
        assert json.loads((Path(run["run_dir"]) / "final.json").read_text())["step"] == 4
    page = _Page()
    page.feed((out / "report.html").read_text())
    assert page.tables >= 4 and len(page.images) == 2
    for src in page.images:  # embedded, so the page opens from disk anywhere
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (out / "report.md").read_text()
    assert "## At equal training time" in markdown and "## Ranking" in markdown and "1154aab43c04" in markdown

    # The same command again: everything is finished, nothing retrains.
    finals = {p: p.stat().st_mtime_ns for p in out.glob("*/seed-*/final.json")}
    assert main(["compare", "vanilla", "vanilla-classic", "--seeds", "2", "--out", str(out), *TINY]) == 0
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/seed-*/final.json")} == finals
    # Other settings into the same folder: refused in one line.
    capsys.readouterr()
    assert main(["compare", "vanilla", "vanilla-classic", "--seeds", "2", "--out", str(out), *TINY[:-1], "16"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds a comparison with other settings" in err and "batch_size" in err, err


def test_a_diverging_run_is_reported_not_a_crash(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "vanilla-classic", "--seeds", "1", "--out", str(out), "--lr", "1e30", *TINY]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["variants"]["vanilla-classic"]["diverged"] == 1
    (run,) = report["runs"]
    assert run["state"] == "diverged" and "training diverged" in run["message"]
    assert "diverged" in (out / "report.md").read_text()
    # The flags changed the recipe: the report says so wherever it names the variant.
    changes = report["variants"]["vanilla-classic"]["changes"]
    assert changes == ["g_optimizer.lr=1e+30", "d_optimizer.lr=1e+30", "batch_size=8"], changes
    assert "| vanilla-classic (g_optimizer.lr=1e+30, d_optimizer.lr=1e+30, batch_size=8) |" in \
        (out / "report.md").read_text()


def test_killed_halfway_the_same_command_continues(tmp_path):
    out = tmp_path / "cmp"
    command = [sys.executable, "-m", "ganzoo", "compare", "vanilla-classic", "--seeds", "2", "--steps", "40",
               "--eval-every", "10", "--eval-samples", "50", "--batch-size", "8", "--out", str(out)]
    first = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done, checkpoint = out / "vanilla-classic/seed-0/final.json", out / "vanilla-classic/seed-1/checkpoints/last.pt"
    deadline = time.monotonic() + 240
    while not (done.is_file() and checkpoint.is_file()) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the comparison and its running job, at once
    first.wait()
    assert done.is_file() and checkpoint.is_file()
    finished = done.stat().st_mtime_ns
    kept = [json.loads(line)["step"] for line in (checkpoint.parent.parent / "metrics.jsonl").read_text().splitlines()]
    assert subprocess.run(command, capture_output=True).returncode == 0
    assert done.stat().st_mtime_ns == finished  # a finished run is not trained again
    records = [json.loads(line) for line in (checkpoint.parent.parent / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if "d_loss" in r]
    assert steps == sorted(set(steps)) and steps[-1] == 40 and steps[0] == kept[0]  # continued, not restarted
    times = [r["time"] for r in records if "d_loss" in r]
    assert times == sorted(times)
    assert json.loads((out / "compare.json").read_text())["jobs"]["vanilla-classic/seed-1"]["state"] == "done"


def test_mean_std_and_ranking_against_hand_calculations():
    stats = mean_std([1.0, 2.0, 4.0, float("nan"), None])
    assert stats["n"] == 3 and stats["mean"] == pytest.approx(7 / 3)
    assert stats["std"] == pytest.approx(math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2))
    assert mean_std([5.0]) == {"mean": 5.0, "std": 0.0, "n": 1, "values": [5.0]}

    def variant(*values):
        return {"metrics": {"frechet-distance": {"better": "lower", "end": mean_std(values)}}}

    ranking = rank({"b": variant(9.0, 10.0, 11.0), "a": variant(4.0, 5.0, 6.0), "c": variant(10.5, 11.0, 11.5)})
    assert [r["variant"] for r in ranking] == ["a", "b", "c"]
    # Welch's t-test by hand: t = (m1 - m2) / sqrt(s1²/n1 + s2²/n2), df by Welch–Satterthwaite.
    t = (5.0 - 10.0) / math.sqrt(1 / 3 + 1 / 3)
    assert ranking[0]["vs_next"]["t"] == pytest.approx(t) and ranking[0]["vs_next"]["n"] == [3, 3]
    assert ranking[0]["vs_next"]["p"] == pytest.approx(2 * student_t.sf(abs(t), 4))  # equal variances: df = 4
    assert ranking[0]["vs_next"]["verdict"] == "ahead"                   # p = 0.0036 < 0.05
    assert ranking[1]["vs_next"]["verdict"] == "no_difference_shown"     # 10 vs 11: p = 0.22
    assert "vs_next" not in ranking[2]


@pytest.mark.parametrize("flags, message", [
    (["--budget", "ten"], "--budget ten: give a training time such as 10m"),
    (["--steps", "4", "--jobs", "0"], "--jobs 0: give a positive number or auto"),
    (["--steps", "4", "--seeds", "0"], "--seeds must be >= 1"),
    (["--steps", "4", "--trick", "weight-clip"], "needs a loss tagged 'critic'"),
    # Regression: each job failed, then the report's machine name raised a traceback.
    pytest.param(["--steps", "4", "--device", "cuda"], "--device cuda: CUDA is not available",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
])
def test_bad_flags_are_one_line(tmp_path, capsys, flags, message):
    assert main(["compare", "vanilla", "--out", str(tmp_path / "c"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "c").exists()  # regression: --jobs 0 left a compare.json that locked the folder


def test_a_changed_command_names_the_flag_that_changed(tmp_path, capsys):
    """Regression: a new --steps was reported as a derived setting (configs.x.checkpoint_every),
    and a dropped variant as a whole settings table."""
    import argparse

    from ganzoo.cli.compare import add_parsers, build_plan
    from ganzoo.compare.plan import CompareDir

    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers())
    out = str(tmp_path / "c")
    CompareDir(out).open(build_plan(parser.parse_args(["compare", "vanilla", "dcgan", "--steps", "30", "--out", out])))
    for argv, difference in ((["vanilla", "dcgan", "--steps", "40"], "steps was 30, now 40"),
                             (["vanilla", "--steps", "30"], "variants was ['vanilla', 'dcgan'], now ['vanilla']")):
        assert main(["compare", *argv, "--out", out]) == 2
        err = capsys.readouterr().err.strip()
        assert err == (f"ganzoo compare: error: --out {out} holds a comparison with other settings ({difference}); "
                       "re-run it with the same command, or use another --out"), err


def test_recorded_results_show_in_info_and_list(tmp_path, capsys, monkeypatch):
    from ganzoo.compare.cards import cards_of, record

    summary = {
        "plan": {"minutes": None, "steps": 3000}, "date": "2026-12-03", "machine": "AMD EPYC (2 cores, 2 threads)",
        "torch": "2.13.0+cpu", "ganzoo": "0.2.0", "extractor_sha256": WEIGHTS_SHA256,
        "variants": {"vanilla": {
            "done": 3, "steps": {"mean": 3000.0}, "steps_per_sec": {"mean": 17.25},
            "metrics": {"frechet-distance": {"real_vs_real": 1.591, "end": {"mean": 12.5, "std": 0.75}},
                        "two-sample": {"real_vs_real": 0.52, "end": {"mean": 0.81, "std": 0.02}}}}},
    }
    cards = tmp_path / "cards.csv"
    monkeypatch.setenv("GANZOO_ZOO_CARDS", str(cards))
    record(summary)
    record(summary | {"date": "2026-12-04"})
    (first, second) = cards_of("vanilla")
    assert first["fd"] == 12.5 and first["fd_std"] == 0.75 and first["steps_per_sec"] == 17.25
    assert first["class_accuracy"] is None and second["date"] == "2026-12-04"
    assert first["extractor_sha256"] == WEIGHTS_SHA256[:12]
    assert main(["info", "vanilla"]) == 0
    shown = capsys.readouterr().out
    assert "FD 12.5 ± 0.75, real 1.59" in shown and "3000 steps × 3 seeds" in shown and "2026-12-04" in shown
    assert main(["list", "--results", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["vanilla"]["results"]["date"] == "2026-12-04" and rows["dcgan"]["results"] is None
    cards.write_text(cards.read_text().replace("12.5", "twelve"))
    assert main(["list", "--results"]) == 2
    assert "fd is 'twelve', not a number" in capsys.readouterr().err


def test_a_budget_scores_at_doubling_steps_so_every_variant_shares_points():
    import argparse

    from ganzoo.cli.compare import build_plan
    from ganzoo.training.config import TrainConfig

    config = TrainConfig(eval_every=50, eval_doubling=True)
    assert [s for s in range(1, 1700) if config.evaluates_at(s)] == [50, 100, 200, 400, 800, 1600]
    assert [s for s in range(1, 200) if TrainConfig(eval_every=50).evaluates_at(s)] == [50, 100, 150]
    assert not any(TrainConfig().evaluates_at(s) for s in range(1, 100))

    def plan(*flags):
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        from ganzoo.cli import compare

        compare.add_parsers(sub)
        return build_plan(parser.parse_args(["compare", "vanilla", *flags]))

    budget = plan("--budget", "2m")
    assert (budget.eval_every, budget.eval_doubling) == (50, True)
    assert budget.configs["vanilla"]["eval_doubling"] is True and budget.configs["vanilla"]["checkpoint_every"] == 250
    assert budget.schedule() == "scored at 50, 100, 200 … steps (doubling)"
    steps = plan("--steps", "3000")
    assert (steps.eval_every, steps.eval_doubling, steps.schedule()) == (300, False, "scored every 300 steps")
    assert plan("--budget", "2m", "--eval-every", "100").eval_doubling is False


def test_under_a_budget_equal_time_is_each_runs_last_evaluation(monkeypatch):
    from ganzoo.compare.plan import Plan
    from ganzoo.compare.report import summarize

    def run(variant, seed, points):
        final = points[-1][2]
        return {"variant": variant, "seed": seed, "state": "done", "steps": points[-1][0], "time": points[-1][1],
                "steps_per_sec": 1.0, "points": points, "final": final, "run_dir": "", "provenance": {}}

    def fd(value):
        return {"frechet-distance": {"value": value, "better": "lower"}}

    # fast: evaluated at 50, 100, 200 and its end (400 steps, 61 s); slow: at 50 and its end (90 steps, 60.5 s)
    runs = [run("fast", 0, [(50, 8.0, fd(40.0)), (100, 16.0, fd(30.0)), (200, 31.0, fd(20.0)), (400, 61.0, fd(10.0))]),
            run("slow", 0, [(50, 34.0, fd(50.0)), (90, 60.5, fd(45.0))])]
    plan = Plan(("fast", "slow"), (0,), None, 1.0, 50, 100, {}, True)
    monkeypatch.setattr("ganzoo.compare.report._parameters", lambda run_dir: {})
    summary = summarize(runs, plan, {"fast/seed-0": {"state": "done"}, "slow/seed-0": {"state": "done"}})
    assert summary["equal_time_seconds"] == 60 and summary["equal_time_is_budget"]
    metric = lambda name, section: summary["variants"][name]["metrics"]["frechet-distance"][section]["mean"]  # noqa: E731
    assert (metric("fast", "equal_time"), metric("slow", "equal_time")) == (10.0, 45.0)  # both ends, not 20 and 50
    assert summary["equal_steps"] == 90
    assert (metric("fast", "equal_steps"), metric("slow", "equal_steps")) == (40.0, 45.0)  # at 50 (≤ 90) and 90


def test_an_interrupted_job_saves_its_step_and_the_next_run_finishes_it(tmp_path, interrupt_training):
    """Regression: a Ctrl-C that ended a job's training cleanly would have been scored and
    written final.json as if the job were done, so the same command skipped it."""
    from ganzoo.compare import job
    from ganzoo.runs import checkpoint as ckpt

    run = tmp_path / "cmp" / "vanilla" / "seed-0"
    config = {"variant": "vanilla", "recipe": {"batch_size": 8}, "log_every": 2, "sample_every": 100,
              "eval_every": 100, "eval_samples": 50}
    spec = json.dumps({"run": str(run), "seed": 0, "config": config, "steps": 6, "minutes": None, "eval_samples": 50})
    interrupt_training(at=2)
    assert job.main([spec]) == job.INTERRUPTED
    assert not (run / "final.json").exists()
    assert ckpt.load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 2
    interrupt_training(at=-1)
    assert job.main([spec]) == 0
    assert json.loads((run / "final.json").read_text())["step"] == 6


def test_one_comparison_runs_in_a_folder_at_a_time(tmp_path, capsys):
    """Two `ganzoo compare` with the same --out would train the same runs side by side."""
    from ganzoo.runs.rundir import FolderLock

    import argparse

    from ganzoo.cli.compare import add_parsers, build_plan
    from ganzoo.compare.plan import CompareDir

    out = tmp_path / "cmp"
    argv = ["compare", "vanilla", "--seeds", "1", "--out", str(out), *TINY]
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers())
    CompareDir(out).open(build_plan(parser.parse_args(argv)))  # what the first one wrote
    held = FolderLock(out, "running the comparison in")
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == (f"ganzoo compare: error: {out}: another ganzoo process (pid {os.getpid()}) "
                                               "is running the comparison in it; wait for it to end or stop it")
    assert not list(out.glob("vanilla/seed-*/checkpoints/last.pt"))
    held.release()


def test_jobs_share_the_cuda_devices_in_turn(monkeypatch, tmp_path):
    # Regression: with more jobs than devices, job k was given CUDA_VISIBLE_DEVICES=k, a device
    # that does not exist (and with --device auto the jobs were not spread at all).
    import torch

    from ganzoo.compare.plan import CompareDir, Plan
    from ganzoo.compare.runner import Runner, cuda_devices, threads_per_job

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert cuda_devices("auto") == cuda_devices("cuda") == ("0", "1")
    assert cuda_devices("cpu") == cuda_devices("cuda:1") == ()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3, 5,7")  # the ones the user chose, as many as CUDA sees
    assert cuda_devices("cuda") == ("3", "5")

    plan = Plan(("vanilla",), (0, 1, 2), 1, None, 1, 4)
    runner = Runner(CompareDir(tmp_path), plan, {}, jobs=3, gpus=("0",))
    environments = [runner._environment(slot) for slot in range(3)]
    assert [e["CUDA_VISIBLE_DEVICES"] for e in environments] == ["0", "0", "0"]
    assert {e["OMP_NUM_THREADS"] for e in environments} == {str(threads_per_job(3))}
    runner = Runner(CompareDir(tmp_path), plan, {}, jobs=3, gpus=("3", "5"))
    assert [runner._environment(slot)["CUDA_VISIBLE_DEVICES"] for slot in range(3)] == ["3", "5", "3"]
    assert Runner(CompareDir(tmp_path), plan, {}, jobs=1, gpus=("3",))._environment(0).get(
        "CUDA_VISIBLE_DEVICES") == "3, 5,7"  # one job: the environment as it was
