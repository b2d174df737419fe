"""ganzoo compare on comparisons it did not just train: what its ranking may claim (Welch's
t-test, with n and p, and nothing below two seeds per variant), and damaged files in the
folder (final.json, compare.json, a job's state) reported in one line each, never a traceback,
with the other jobs' results kept and reported.

The folders are what ``ganzoo compare`` leaves behind once every job finished (its compare.json
and one final.json per job, as the job process writes them); nothing trains, so every test
here takes seconds."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from ganzoo.cli import main
from ganzoo.compare.plan import CompareDir
from ganzoo.compare.report import rank, ranking_lines
from ganzoo.evaluation.classifier import WEIGHTS_SHA256
from ganzoo.errors import GanzooError

TINY = ["--steps", "4", "--eval-every", "2", "--eval-samples", "50", "--batch-size", "8"]


def _final(fd: float, seed: int) -> dict[str, Any]:
    """What the job process writes into final.json (ganzoo.compare.job), for an FD of ``fd``."""
    provenance = {"extractor": "ganzoo-digit-cnn-v1", "extractor_sha256": WEIGHTS_SHA256, "reference": "mnist:test-a",
                  "reference_size": 1000, "num_samples": 50, "seed": seed, "source": None, "baseline": "mnist:test-b"}
    return {"step": 4, "time": 2.5, "stopped": "step limit", "eval": {"provenance": provenance, "metrics": [
        {"metric": "frechet-distance", "value": fd, "better": "lower", "real_vs_real": 1.59},
        {"metric": "two-sample", "value": 0.9, "better": "lower", "real_vs_real": 0.52},
        {"metric": "coverage.histogram", "value": [5] * 10, "better": "higher", "real_vs_real": [100] * 10}]}}


def _comparison(tmp_path: Path, fds: dict[str, list[float | None]]) -> tuple[Path, list[str]]:
    """A comparison folder whose jobs all ended: each variant's seeds with the given final FDs
    (None: the job diverged, which a re-run does not retry). Returns the folder and the command
    that made it."""
    from ganzoo.cli.compare import add_parsers, build_plan

    out = tmp_path / "cmp"
    seeds = len(next(iter(fds.values())))
    argv = ["compare", *fds, "--seeds", str(seeds), "--out", str(out), *TINY]
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers())
    plan = build_plan(parser.parse_args(argv))
    folder = CompareDir(out)
    states = folder.open(plan)
    for job in plan.jobs():
        fd = fds[job.variant][job.seed]
        folder.run_dir(job).mkdir(parents=True)
        if fd is None:
            states[job.key] = {"state": "diverged", "message": "ganzoo compare: training diverged at step 3"}
        else:
            folder.final_file(job).write_text(json.dumps(_final(fd, job.seed)) + "\n")
            states[job.key] = {"state": "done"}
    folder.save(plan, states)
    return out, argv


def _one_line(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    return captured.out, captured.err.strip()


# ------------------------------------------------------------------------------ the ranking


def test_one_seed_claims_no_difference(tmp_path, capsys):
    """Regression: with --seeds 1 the ranking said 'ahead of dcgan beyond the seeds' spread'
    (the spread of one value is 0)."""
    out, argv = _comparison(tmp_path, {"vanilla": [10.0], "dcgan": [20.0]})
    assert main(argv) == 0
    printed, _ = _one_line(capsys)
    assert printed.splitlines()[:2] == [
        "1. vanilla: frechet-distance 10 (1 seed) — not tested against dcgan: not enough seeds "
        "(n=1 vs 1; needs ≥ 2 per variant)",
        "2. dcgan: frechet-distance 20 (1 seed)"]
    markdown = (out / "report.md").read_text()
    assert "spread" not in markdown and "ahead" not in markdown.split("## Ranking")[1].split("\n\n", 2)[2]
    assert "Welch's t-test" in markdown and "≥ 2 seeds per variant" in markdown  # the rule, stated
    report = json.loads((out / "report.json").read_text())
    first = report["ranking"][0]
    assert first["vs_next"] == {"variant": "dcgan", "test": "welch_t", "n": [1, 1], "t": None, "p": None,
                                "alpha": 0.05, "min_seeds": 2, "verdict": "not_enough_seeds"}
    assert report["ranking_rule"]["test"] == "welch_t" and report["ranking_rule"]["min_seeds"] == 2
    assert "vs_next" not in report["ranking"][1]


def test_three_seeds_with_a_difference_name_the_test_n_and_p(tmp_path, capsys):
    out, argv = _comparison(tmp_path, {"vanilla": [10.0, 11.0, 12.0], "dcgan": [20.0, 21.0, 22.0]})
    assert main(argv) == 0
    printed, _ = _one_line(capsys)
    assert printed.splitlines()[0] == ("1. vanilla: frechet-distance 11 ± 1 (3 seeds) — ahead of dcgan "
                                       "(Welch's t-test, n=3 vs 3, p=0.00026)")
    first = json.loads((out / "report.json").read_text())["ranking"][0]["vs_next"]
    expected = stats.ttest_ind([10.0, 11.0, 12.0], [20.0, 21.0, 22.0], equal_var=False)
    assert first["verdict"] == "ahead" and first["n"] == [3, 3]
    assert first["p"] == pytest.approx(expected.pvalue) and first["t"] == pytest.approx(expected.statistic)
    assert ranking_lines(json.loads((out / "report.json").read_text()))[0] in (out / "report.md").read_text()


def test_three_seeds_without_a_difference_claim_none(tmp_path, capsys):
    out, argv = _comparison(tmp_path, {"vanilla": [10.0, 12.0, 14.0], "dcgan": [11.0, 13.0, 15.0]})
    assert main(argv) == 0
    printed, _ = _one_line(capsys)
    assert printed.splitlines()[0] == ("1. vanilla: frechet-distance 12 ± 2 (3 seeds) — no difference shown from "
                                       "dcgan (Welch's t-test, n=3 vs 3, p=0.57)")
    assert "ahead" not in printed
    page = (out / "report.html").read_text()
    assert "no difference shown from dcgan (Welch&#x27;s t-test, n=3 vs 3, p=0.57)" in page


def test_seeds_lost_to_failures_count_against_the_minimum(tmp_path, capsys):
    """n is what finished: 3 seeds asked, 1 done (2 diverged) is not enough for a test."""
    out, argv = _comparison(tmp_path, {"vanilla": [10.0, 11.0, 12.0], "dcgan": [20.0, None, None]})
    assert main(argv) == 0
    printed, _ = _one_line(capsys)
    assert printed.splitlines()[0] == ("1. vanilla: frechet-distance 11 ± 1 (3 seeds) — not tested against dcgan: "
                                       "not enough seeds (n=3 vs 1; needs ≥ 2 per variant)")
    assert printed.splitlines()[1] == "2. dcgan: frechet-distance 20 (1 seed)"


def test_rank_against_scipy_and_seeds_that_all_scored_the_same():
    def variant(*values):
        kept = list(values)
        mean = sum(kept) / len(kept)
        std = math.sqrt(sum((v - mean) ** 2 for v in kept) / (len(kept) - 1)) if len(kept) > 1 else 0.0
        return {"metrics": {"frechet-distance": {"better": "lower",
                                                 "end": {"mean": mean, "std": std, "n": len(kept), "values": kept}}}}

    ranking = rank({"b": variant(9.0, 10.0, 11.0, 10.0), "a": variant(5.0, 4.0, 6.0), "c": variant(10.5, 11.5)})
    assert [r["variant"] for r in ranking] == ["a", "b", "c"]
    ab = stats.ttest_ind([5.0, 4.0, 6.0], [9.0, 10.0, 11.0, 10.0], equal_var=False)
    assert ranking[0]["vs_next"]["p"] == pytest.approx(ab.pvalue) and ranking[0]["vs_next"]["n"] == [3, 4]
    assert ranking[0]["vs_next"]["verdict"] == "ahead"
    assert ranking[1]["vs_next"]["verdict"] == "no_difference_shown" and ranking[1]["vs_next"]["p"] > 0.05
    # No spread on either side: t divides by zero (scipy says p = 0); no claim either way.
    flat = rank({"a": variant(5.0, 5.0, 5.0), "b": variant(6.0, 6.0, 6.0)})
    assert flat[0]["vs_next"]["verdict"] == "untestable" and flat[0]["vs_next"]["p"] is None
    line = ranking_lines({"ranking": flat})[0]
    assert line == ("1. a: frechet-distance 5 ± 0 (3 seeds) — not tested against b: every seed of both scored "
                    "the same (n=3 vs 3; Welch's t-test needs some spread)")


# ------------------------------------------------------------------------- damaged final.json


@pytest.mark.parametrize("text, problem", [
    ('{"step": 4, "time": 2.5, "eval": {"provenance"', "not JSON"),
    ("", "not JSON"),
    ("[]", "holds [] (list), not a record"),
    ('"x"', "holds 'x' (str), not a record"),
    ("{}", "has no step"),
    ('{"metrics": "x"}', "has no step"),
    ('{"step": "4", "time": 2.5, "eval": {"metrics": []}}', "step is '4' (str), not a whole number"),
    ('{"step": 4, "time": "x", "eval": {"metrics": []}}', "time is 'x' (str), not a number of seconds"),
    ('{"step": 4, "time": 2.5, "eval": "x"}', "eval is 'x' (str), not a record"),
    ('{"step": 4, "time": 2.5, "eval": {"metrics": "x"}}', "eval.metrics is 'x' (str), not a list of records"),
    ('{"step": 4, "time": 2.5, "eval": {"metrics": [1]}}', "eval.metrics[0] is 1 (int), not a record"),
    ('{"step": 4, "time": 2.5, "eval": {"metrics": [{"metric": "frechet-distance", "value": "x"}]}}',
     "eval.metrics[0].value is 'x' (str), not a number"),
    ('{"step": 4, "time": 2.5, "eval": {"metrics": [{"metric": 7, "value": 1.0}]}}',
     "eval.metrics[0].metric is 7 (int), not a name"),
    ('{"step": 4, "time": 2.5, "eval": {"metrics": [], "provenance": "x"}}', "eval.provenance is 'x' (str)"),
    ('{"step": 4, "time": 2.5, "eval": {"metrics": [], "provenance": {"extractor_sha256": 5}}}',
     "eval.provenance.extractor_sha256 is 5 (int)"),
])
def test_a_damaged_final_json_is_one_line_and_the_others_are_reported(tmp_path, capsys, text, problem):
    out, argv = _comparison(tmp_path, {"vanilla": [10.0, 11.0], "dcgan": [20.0, 21.0]})
    damaged = out / "vanilla" / "seed-1" / "final.json"
    damaged.write_text(text)
    assert main(argv) == 1
    printed, err = _one_line(capsys)
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"ganzoo compare: damaged run vanilla/seed-1: {damaged}: ") and problem in err, err
    assert err.endswith("its scores are left out of the report"), err
    assert damaged.read_text() == text  # the evidence stays
    report = json.loads((out / "report.json").read_text())
    assert report["variants"]["vanilla"]["done"] == 1 and report["variants"]["vanilla"]["damaged"] == 1
    assert report["variants"]["dcgan"]["done"] == 2
    assert report["variants"]["dcgan"]["metrics"]["frechet-distance"]["end"]["values"] == [20.0, 21.0]
    (run,) = [r for r in report["runs"] if r["variant"] == "vanilla" and r["seed"] == 1]
    assert run["state"] == "damaged" and problem in run["message"]
    assert "not tested against dcgan: not enough seeds (n=1 vs 2" in printed
    assert "vanilla seed 1: damaged" in (out / "report.md").read_text()


def test_a_done_job_without_its_final_json_is_damaged(tmp_path, capsys):
    out, argv = _comparison(tmp_path, {"vanilla": [10.0, 11.0]})
    (out / "vanilla" / "seed-0" / "final.json").unlink()
    assert main(argv) == 1
    _, err = _one_line(capsys)
    assert err == (f"ganzoo compare: damaged run vanilla/seed-0: {out / 'vanilla' / 'seed-0' / 'final.json'}: "
                   "missing, though compare.json says the job is done; its scores are left out of the report")


def test_a_damaged_metrics_log_is_one_line(tmp_path, capsys):
    out, argv = _comparison(tmp_path, {"vanilla": [10.0, 11.0]})
    log = out / "vanilla" / "seed-0" / "metrics.jsonl"
    log.write_text('{"step": 2, "time": 1.0, "d_loss": 1.0}\n{"step": 2, "time": 1.0, "eval": {"metrics": "x"}}\n')
    assert main(argv) == 1
    _, err = _one_line(capsys)
    assert err.startswith(f"ganzoo compare: damaged run vanilla/seed-0: {log}: line 2: eval.metrics is 'x' (str)"), err


# ------------------------------------------------------------------------ damaged compare.json


@pytest.mark.parametrize("edit, problem", [
    (lambda text, stored: text[: len(text) // 2], "not JSON"),
    (lambda text, stored: "[]", "holds [] (list), not a record"),
    (lambda text, stored: '"x"', "holds 'x' (str), not a record"),
    (lambda text, stored: "{}", "has no plan"),
    (lambda text, stored: json.dumps({"plan": "x", "jobs": {}}), "plan is 'x' (str), not a record"),
    (lambda text, stored: json.dumps({"plan": stored["plan"], "jobs": []}), "jobs is [] (list), not a record"),
    (lambda text, stored: json.dumps({"plan": stored["plan"] | {"seeds": "x"}, "jobs": stored["jobs"]}),
     "plan.seeds is 'x' (str), not a list of whole numbers"),
    (lambda text, stored: json.dumps({"plan": stored["plan"] | {"variants": [1]}, "jobs": stored["jobs"]}),
     "plan.variants is [1] (list), not a list of names"),
    (lambda text, stored: json.dumps({"plan": stored["plan"] | {"configs": {"vanilla": "x"}}, "jobs": stored["jobs"]}),
     "plan.configs.vanilla is 'x' (str), not a record"),
    (lambda text, stored: json.dumps({"plan": stored["plan"] | {"steps": "4"}, "jobs": stored["jobs"]}),
     "plan.steps is '4' (str), not a whole number"),
])
def test_a_compare_json_of_the_wrong_shape_is_one_line(tmp_path, capsys, edit, problem):
    out, argv = _comparison(tmp_path, {"vanilla": [10.0]})
    state = out / "compare.json"
    text = edit(state.read_text(), json.loads(state.read_text()))
    state.write_text(text)
    assert main(argv) == 2
    _, err = _one_line(capsys)
    assert len(err.splitlines()) == 1 and err.startswith(f"ganzoo compare: error: {state}: "), err
    assert problem in err and err.endswith("; fix it or use another --out"), err
    assert state.read_text() == text
    # The report alone (what a finished comparison reads back) says the same.
    from ganzoo.compare.report import write_report

    with pytest.raises(GanzooError, match="fix it or use another --out") as caught:
        write_report(CompareDir(out))
    assert str(state) in str(caught.value) and problem in str(caught.value)


# ---------------------------------------------------------------------------- a job's state


NOT_A_RECORD = 'not a record such as {"state": "done"}'
NOT_A_STATE = "not one of queued, running, done, diverged, failed"


@pytest.mark.parametrize("stored, problem", [
    ("done", f"state is 'done' (str), {NOT_A_RECORD}"), (["done"], f"state is ['done'] (list), {NOT_A_RECORD}"),
    (7, f"state is 7 (int), {NOT_A_RECORD}"), (None, f"state is None, {NOT_A_RECORD}"),
    ({}, f"state is None, {NOT_A_STATE}"), ({"state": "finished"}, f"state is 'finished' (str), {NOT_A_STATE}"),
    ({"state": 3}, f"state is 3 (int), {NOT_A_STATE}"),
    ({"state": "failed", "message": {"x": 1}}, "message is {'x': 1} (dict), not text")])
def test_a_job_state_of_the_wrong_shape_is_one_line_and_the_others_are_reported(tmp_path, capsys, stored, problem):
    """Regression: a job's state that was a string ("done") was indexed like a record in the
    runner: TypeError: string indices must be integers."""
    out, argv = _comparison(tmp_path, {"vanilla": [10.0, 11.0], "dcgan": [20.0, 21.0]})
    state = out / "compare.json"
    data = json.loads(state.read_text())
    data["jobs"]["dcgan/seed-0"] = stored
    state.write_text(json.dumps(data))
    assert main(argv) == 1
    printed, err = _one_line(capsys)
    assert len(err.splitlines()) == 1, err
    assert err == (f"ganzoo compare: damaged run dcgan/seed-0: {state}: the job's {problem}; it is left out of "
                   'the report (fix it, or write {"state": "queued"} to run the job again)'), err
    assert json.loads(state.read_text())["jobs"]["dcgan/seed-0"] == stored  # kept as it was, for the user to fix
    assert not (out / "dcgan" / "seed-0.log").exists()  # nothing trained in its place
    report = json.loads((out / "report.json").read_text())
    assert report["variants"]["vanilla"]["done"] == 2 and report["variants"]["dcgan"]["done"] == 1
    assert report["variants"]["dcgan"]["damaged"] == 1
    assert printed.startswith("1. vanilla: frechet-distance 10.5 ± 0.71 (2 seeds) — not tested against dcgan: "
                              "not enough seeds (n=2 vs 1; needs ≥ 2 per variant)")
