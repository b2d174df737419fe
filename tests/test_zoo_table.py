"""The zoo's quality table (issue 36): the zoo cards' coverage, device and commit, and
benchmarks/zoo_table.py's grouping, rows, markdown section and resumption — all on synthetic
reports and evaluations (the table itself trains for hours and runs in benchmarks/, never here)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ganzoo.compare.cards import FIELDS, cards_from_report, cards_of, describe, read_cards, record

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "zoo_table.py"
OLD_FIELDS = ("variant", "date", "machine", "torch", "ganzoo", "budget", "seeds", "steps", "steps_per_sec",
              "fd", "fd_std", "fd_real_vs_real", "two_sample", "two_sample_std", "class_accuracy",
              "class_accuracy_std", "extractor_sha256", "compared_with")
OLD_ROW = ('vanilla,2026-12-03,"AMD EPYC (2 cores, 2 threads); 2 at a time, 1 thread(s) each",2.13.0+cpu,0.2.0,'
           '3000 steps,3,3000,19.6776,14.0389,0.388793,1.5907,0.818667,0.0111505,,,1154aab43c04,vanilla-classic cgan')


@pytest.fixture(scope="module")
def zoo_table():
    """The script as a module (it is not part of the package)."""
    spec = importlib.util.spec_from_file_location("zoo_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["zoo_table"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("zoo_table", None)


def metric(mean, std=0.0, n=3, real=None):
    return {"real_vs_real": real, "end": {"mean": mean, "std": std, "n": n}}


def summary(**changes):
    """A report.json as ganzoo compare writes it, cut to what cards and the table read."""
    base = {
        "plan": {"minutes": 10.0, "steps": None, "configs": {"vanilla": {"device": "auto"}}},
        "date": "2026-12-07", "machine": "AMD EPYC (2 cores, 2 threads)", "jobs": 1, "threads_per_job": 2,
        "torch": "2.13.0+cpu", "ganzoo": "0.3.0", "extractor_sha256": "1154aab43c04a0c7",
        "variants": {"vanilla": {
            "seeds": 3, "done": 3, "diverged": 0, "failed": 0, "damaged": 0,
            "steps": {"mean": 24630.0}, "steps_per_sec": {"mean": 41.05},
            "metrics": {"frechet-distance": metric(3.2, 0.5, real=1.59), "two-sample": metric(0.63, 0.01, real=0.52),
                        "coverage.classes": metric(9.67, 0.58, real=10)}}},
        "runs": [{"variant": "vanilla", "seed": s, "state": "done"} for s in range(3)],
    }
    return base | changes


# ------------------------------------------------------------------ cards


def test_an_old_cards_file_without_the_new_columns_still_reads_and_records(tmp_path):
    old = tmp_path / "cards.csv"
    old.write_text(",".join(OLD_FIELDS) + "\n" + OLD_ROW + "\n")
    (card,) = read_cards(old)
    assert card["fd"] == 14.0389 and card["coverage"] is None and card["device"] is None and card["commit"] is None
    line = describe(card)
    assert "FD 14 ± 0.39, real 1.59" in line and "coverage" not in line and "commit" not in line
    assert "3000 steps × 3 seeds, AMD EPYC" in line
    record(summary(), old, commit="abc1234")  # rewritten once with every column, the old row kept
    assert old.read_text().splitlines()[0] == ",".join(FIELDS)
    first, second = read_cards(old)
    assert first["fd"] == 14.0389 and first["commit"] is None
    assert second["coverage"] == 9.67 and second["commit"] == "abc1234"
    record(summary(), old)  # now appended to
    assert len(read_cards(old)) == 3 and old.read_text().count("variant,") == 1
    assert FIELDS[:len(OLD_FIELDS)] == OLD_FIELDS  # columns are appended, never moved


def test_a_recorded_report_fills_coverage_device_and_commit(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_ZOO_CARDS", str(tmp_path / "cards.csv"))
    record(summary(), commit="abc1234")
    (card,) = cards_of("vanilla")
    assert (card["coverage"], card["coverage_std"], card["device"], card["commit"]) == (9.67, 0.58, "cpu", "abc1234")
    line = describe(card)
    for part in ("FD 3.2 ± 0.5, real 1.59", "two-sample 0.630 ± 0.01", "coverage 9.67 ± 0.58",
                 "24,630 generator steps", "10 min × 3 seeds", "cpu: AMD EPYC", "2026-12-07", "commit abc1234"):
        assert part in line, (part, line)
    assert "class accuracy" not in line
    # no commit given: empty; the device from the report, the config, else the machine's name
    (card,) = cards_from_report(summary(machine="NVIDIA H100 80GB HBM3"))
    assert card["commit"] == "" and card["device"] == "cuda"
    plan = summary()["plan"] | {"configs": {"vanilla": {"device": "cuda:1"}}}
    assert cards_from_report(summary(plan=plan))[0]["device"] == "cuda"
    assert cards_from_report(summary(device="cpu", plan=plan))[0]["device"] == "cpu"


def test_a_conditional_card_shows_its_class_accuracy():
    report = summary()
    report["variants"]["vanilla"]["metrics"]["class-accuracy.overall"] = metric(0.855, 0.033, real=0.987)
    (card,) = cards_from_report(report, "abc1234")
    assert "class accuracy 0.855 ± 0.033" in describe(card)


# ------------------------------------------------------------------ the table's plan


def test_vanilla_and_the_wasserstein_rows_get_more_seeds_and_conditional_variants_their_own_comparison(zoo_table):
    variants = {"vanilla": {"conditional": False, "loss": "bce"}, "dcgan": {"conditional": False, "loss": "bce"},
                "wgan-gp": {"conditional": False, "loss": "wasserstein"},
                "acgan": {"conditional": True, "loss": "bce"}}
    groups = zoo_table.plan_groups(variants, 1, 3)
    assert [(g.variants, g.seeds, g.conditional) for g in groups] == [
        (("vanilla", "wgan-gp"), 3, False), (("dcgan",), 1, False), (("acgan",), 1, True)]
    assert len({g.folder for g in groups}) == 3
    assert [r for r in zoo_table.TEXTBOOK_RECIPES if zoo_table.wants_more_seeds(r)] == ["wgan", "wgan-gp"]
    # A loop gets the seeds of the most-seeded variant tested against it, so the test has them.
    variants["vanilla"]["textbook"] = variants["dcgan"]["textbook"] = "bce"
    assert zoo_table.textbook_seeds("bce", variants, 1, 3) == 3
    assert zoo_table.textbook_seeds("dcgan", variants, 1, 3) == 1 and zoo_table.textbook_seeds("wgan", {}, 1, 3) == 3
    builtin = zoo_table.builtin_variants()
    assert {"vanilla", "wgan-clip", "wgan-gp", "acgan"} <= set(builtin) and builtin["acgan"]["conditional"]
    assert not builtin["vanilla"]["conditional"]


def test_a_rerun_records_only_the_variants_with_runs_not_yet_recorded(zoo_table, tmp_path):
    cards = tmp_path / "cards.csv"
    assert zoo_table.record_once(summary(), tmp_path, cards, "abc1234") == ["vanilla"]
    assert zoo_table.record_once(summary(date="2026-12-08"), tmp_path, cards, "abc1234") == []
    more = summary(runs=[*summary()["runs"], {"variant": "vanilla", "seed": 3, "state": "done"}])
    assert zoo_table.record_once(more, tmp_path, cards, "abc1234") == ["vanilla"]  # a run more: recorded again
    # A variant joins the comparison: only its card is recorded, naming what it was compared with.
    joined = summary(variants={**more["variants"], "dcgan": more["variants"]["vanilla"]},
                     runs=[*more["runs"], {"variant": "dcgan", "seed": 0, "state": "done"}])
    assert zoo_table.record_once(joined, tmp_path, cards, "def5678") == ["dcgan"]
    assert [(c["variant"], c["commit"], c["compared_with"]) for c in read_cards(cards)] == [
        ("vanilla", "abc1234", None), ("vanilla", "abc1234", None), ("dcgan", "def5678", "vanilla")]
    assert zoo_table.record_once(joined, tmp_path, tmp_path / "other.csv", "def5678") == ["dcgan", "vanilla"]


def test_runs_carried_over_from_an_earlier_comparison_keep_their_card(zoo_table, tmp_path):
    cards = tmp_path / "cards.csv"
    runs = [f"vanilla/seed-{s}:done" for s in range(3)]
    (tmp_path / zoo_table.RECORDED).write_text(json.dumps(  # as the script wrote it before
        {"cards": str(cards.resolve()), "runs": runs, "commit": "3f9e1a4"}))
    joined = summary(variants={**summary()["variants"], "dcgan": summary()["variants"]["vanilla"]},
                     runs=[*summary()["runs"], {"variant": "dcgan", "seed": 0, "state": "done"}])
    assert zoo_table.record_once(joined, tmp_path, cards, "abc1234") == ["dcgan"]
    held = json.loads((tmp_path / zoo_table.RECORDED).read_text())["recorded"][str(cards.resolve())]
    assert held == {**dict.fromkeys(runs, "3f9e1a4"), "dcgan/seed-0:done": "abc1234"}
    assert zoo_table.recorded_commit(tmp_path, cards, "vanilla") == "3f9e1a4"  # the row's commit
    assert zoo_table.recorded_commit(tmp_path, cards, "dcgan") == "abc1234"
    assert zoo_table.recorded_commit(tmp_path, cards, "van") == ""  # a variant name, not a prefix


def args(**changes):
    return argparse.Namespace(**({"budget": None, "steps": 2, "eval_samples": 50, "jobs": 1, "device": "auto",
                                  "precision": None} | changes))


def test_textbook_runs_are_trained_and_scored_once(zoo_table, tmp_path):
    calls = []
    evaluation = {"provenance": {"reference": "mnist:test-a"}, "metrics": [
        {"metric": "frechet-distance", "value": 80.0, "real_vs_real": 1.59},
        {"metric": "two-sample", "value": 0.95, "real_vs_real": 0.52},
        {"metric": "coverage.classes", "value": 9, "real_vs_real": 10}]}

    def fake(command, **kwargs):
        calls.append(command)
        if "textbook.py" in " ".join(command):
            Path(command[command.index("--out") + 1]).write_bytes(b"npy")
            return subprocess.CompletedProcess(command, 0, json.dumps({"steps": 2, "seed": 0}) + "\n", "")
        return subprocess.CompletedProcess(command, 0, json.dumps(evaluation), "")

    first = zoo_table.run_textbook("bce", 0, args(), tmp_path, 1, run=fake, commit="abc1234")
    again = zoo_table.run_textbook("bce", 0, args(), tmp_path, 1, run=fake, commit="def5678")
    assert len(calls) == 2 and first == again and first["train"]["steps"] == 2
    assert first["train"]["commit"] == "abc1234"  # what trained it, kept
    assert "--steps" in calls[0] and "--threads" in calls[0] and "--json" in calls[1]
    row = zoo_table.row_from_textbook("bce", [first, first])
    assert row["fd"]["mean"] == 80.0 and row["coverage"]["mean"] == 9 and row["steps"] == 2
    assert row["commit"] == "abc1234"
    assert calls[0][calls[0].index("--device") + 1] == "cpu"
    zoo_table.check_textbook_folder(tmp_path, {"steps": 2})
    zoo_table.check_textbook_folder(tmp_path, {"steps": 2, "device": "cpu"})  # a folder from before --device
    for other in ({"steps": 3}, {"steps": 2, "device": "cuda"}):
        with pytest.raises(zoo_table.TableError, match="give another --out"):
            zoo_table.check_textbook_folder(tmp_path, other)


def test_a_compare_that_writes_no_new_report_ends_the_table(zoo_table, tmp_path):
    group = zoo_table.Group(("vanilla",), 1, False)
    (tmp_path / group.folder).mkdir()
    (tmp_path / group.folder / "report.json").write_text(json.dumps(summary()))  # an older report
    with pytest.raises(zoo_table.TableError, match="without writing"):
        zoo_table.run_compare(group, args(), tmp_path,
                              run=lambda command, **kw: subprocess.CompletedProcess(command, 2))


# ------------------------------------------------------------------ the markdown section


def header():
    return {"budget": "10 min", "date": "2026-12-07", "torch": "2.13.0+cpu", "ganzoo": "0.3.0", "commit": "abc1234",
            "machine": "cpu: AMD EPYC (2 cores, 2 threads), CPU native bf16 matrix units",
            "command": "python benchmarks/zoo_table.py --budget 10m", "notes": "Seeds: 3 for vanilla."}


def test_the_table_has_a_row_per_variant_and_loop_from_the_recorded_scores(zoo_table):
    unconditional = summary()
    conditional = summary(variants={"acgan": {
        "seeds": 1, "done": 0, "failed": 1, "steps": {"mean": None}, "metrics": {}}})
    rows = [*zoo_table.rows_from_report(unconditional, False), *zoo_table.rows_from_report(conditional, True)]
    rows[0]["commit"] = "3f9e1a4"
    rows.append({"name": "textbook wgan-gp", "kind": "textbook loop", "seeds": 3, "done": 3, "lost": {},
                 "steps": 1500.0,
                 "fd": {"mean": 95.0, "std": 12.0, "n": 3}, "two_sample": {"mean": 0.95, "std": 0.01, "n": 3},
                 "coverage": {"mean": 8.0, "std": 0.0, "n": 3}, "class_accuracy": None})
    text = zoo_table.table_markdown(rows, header(), zoo_table.real_vs_real([unconditional], []))
    lines = text.splitlines()
    assert lines[0] == zoo_table.START and lines[-1] == zoo_table.END
    table = [line for line in lines if line.startswith("| ")]
    assert "class accuracy" in table[0]
    assert table[0].endswith("| class accuracy | commit |")
    assert table[1] == "| `vanilla` | zoo | 3 | 24,630 | 3.2 ± 0.5 | 0.630 ± 0.010 | 9.67 ± 0.58 | – | 3f9e1a4 |"
    assert table[2].startswith("| textbook wgan-gp | textbook loop | 3 | 1,500 | 95 ± 12 |")
    assert table[3].startswith("| `acgan` | zoo, conditional | 0 of 1 (1 failed) | – | – |")
    assert table[2].endswith("| – | – |")  # no commit stamped
    assert table[4] == "| real vs real | | | | 1.59 | 0.520 | 10 | – |  |"
    assert "**commit** abc1234" in text and "**torch** 2.13.0+cpu" in text and "python benchmarks/zoo_table.py" in text


def test_the_section_is_replaced_between_its_markers_and_appended_when_absent(zoo_table, tmp_path):
    results = tmp_path / "RESULTS.md"
    first = f"{zoo_table.START}\nold table\n{zoo_table.END}\n"
    zoo_table.write_section(results, first)  # no file: the section alone
    assert results.read_text() == first
    results.write_text("# Benchmark results\n\nsome numbers\n")
    zoo_table.write_section(results, first)  # appended after what is there
    assert results.read_text() == f"# Benchmark results\n\nsome numbers\n\n{first}"
    results.write_text(results.read_text() + "\n## Later section\n")
    zoo_table.write_section(results, first.replace("old", "new"))
    assert results.read_text() == (f"# Benchmark results\n\nsome numbers\n\n{zoo_table.START}\nnew table\n"
                                   f"{zoo_table.END}\n\n## Later section\n")
    zoo_table.write_section(results, first.replace("old", "new"))  # the same again: unchanged
    assert results.read_text().count(zoo_table.START) == 1 and "## Later section" in results.read_text()


def test_each_variant_is_tested_against_the_textbook_loop_of_its_loss(zoo_table):
    builtin = zoo_table.builtin_variants()
    assert {name: builtin[name]["textbook"] for name in ("vanilla", "dcgan", "wgan-gp", "wgan-clip", "ragan")} == {
        "vanilla": "bce", "dcgan": "dcgan", "wgan-gp": "wgan-gp", "wgan-clip": "wgan", "ragan": None}

    def row(name, kind, fd, two_sample, textbook=None):
        stats = [{"mean": sum(v) / len(v), "std": 0.1, "n": len(v), "values": v} for v in (fd, two_sample)]
        return {"name": name, "kind": kind, "seeds": 3, "done": 3, "lost": {}, "steps": 100.0, "fd": stats[0],
                "two_sample": stats[1], "coverage": None, "class_accuracy": None, "textbook": textbook}

    rows = [row("wgan-gp", "zoo", [10.0, 11.0, 10.5], [0.80, 0.79, 0.81], "wgan-gp"),
            row("wgan-clip", "zoo", [90.0, 110.0, 100.0], [0.96, 0.97, 0.98], "wgan"),
            row("dcgan", "zoo", [30.0], [0.9], "dcgan"),
            row("textbook wgan-gp", "textbook loop", [18.0, 19.0, 18.5], [0.77, 0.78, 0.776]),
            row("textbook wgan", "textbook loop", [101.0, 99.0, 100.5], [0.97, 0.975, 0.972])]
    zoo_table.against_textbook(rows)
    gp, clip, dcgan = rows[0]["vs_textbook"], rows[1]["vs_textbook"], rows[2]
    assert gp["fd"]["better"] is True and gp["fd"]["p"] < 0.05 and gp["fd"]["test"] == "welch_t"
    assert gp["two_sample"]["better"] is False  # a difference, the wrong way: said as worse
    assert clip["fd"]["better"] is None and clip["fd"]["verdict"] == "no_difference_shown"
    assert "vs_textbook" not in dcgan  # its loop did not run
    text = zoo_table.table_markdown(rows, header(), {})
    assert "against the textbook loop of its loss (Welch's t, two-sided, α 0.05)" in text
    line = next(line for line in text.splitlines() if line.startswith("| `wgan-gp`"))
    assert line.endswith("| textbook wgan-gp: FD better (p 4e-05), two-sample worse (p 0.033) | – |"), line
    assert "textbook wgan: FD no difference shown (p 0.98)" in text
