"""The zoo's quality table (issue 36), made by one command: every built-in variant through
``ganzoo compare`` and every textbook reference loop (``benchmarks/textbook.py``) for the same
budget, scored with ganzoo's metrics, into one section of benchmarks/RESULTS.md, and each
variant's zoo card (``ganzoo info VARIANT``) recorded from the same reports.

    python benchmarks/zoo_table.py --budget 10m --jobs 1            # the table (hours: see the plan line)
    python benchmarks/zoo_table.py --steps 2 --seeds-wasserstein 1 --variants vanilla --textbook bce \\
        --out /tmp/zt --results /tmp/zt/RESULTS.md --cards /tmp/zt/cards.csv --eval-samples 50

Seeds: ``--seeds-wasserstein`` (default 3) for ``vanilla`` and the Wasserstein rows (variants
whose loss is ``wasserstein``; the textbook ``wgan`` and ``wgan-gp`` loops), ``--seeds``
(default 1) for every other row. Variants with the same seed count and conditioning train in
one ``ganzoo compare`` under ``--out``, so re-running the same command continues where it
stopped (compare's own resumption; finished textbook runs are kept too) and records each
comparison's cards once. The section sits between ``<!-- zoo-table:start -->`` and
``<!-- zoo-table:end -->`` in ``--results``: replaced when there, appended when not. Every
number in it is read back from compare's ``report.json`` and ``ganzoo eval --json``'s output.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START, END = "<!-- zoo-table:start -->", "<!-- zoo-table:end -->"
HERE = Path(__file__).resolve().parent
TEXTBOOK = HERE / "textbook.py"
TEXTBOOK_RECIPES = ("bce", "dcgan", "wgan", "wgan-gp")
WASSERSTEIN_TEXTBOOK = ("wgan", "wgan-gp")
FD, TWO_SAMPLE, COVERAGE, CLASS_ACCURACY = ("frechet-distance", "two-sample", "coverage.classes",
                                            "class-accuracy.overall")
RECORDED = "zoo-table-recorded.json"
"""In each comparison's folder: which of its finished runs are in which cards file already."""


class TableError(Exception):
    """A problem that ends the command in one line."""


# ------------------------------------------------------------------ what runs


@dataclass(frozen=True)
class Group:
    """Variants trained in one ``ganzoo compare``: the same seed count and conditioning."""
    variants: tuple[str, ...]
    seeds: int
    conditional: bool

    @property
    def folder(self) -> str:
        return f"{'conditional' if self.conditional else 'unconditional'}-{self.seeds}-seed{'s' * (self.seeds > 1)}"


def textbook_of(variant: Any) -> str | None:
    """The textbook loop of ``variant``'s loss, the reference it is tested against: the
    Wasserstein loss with the gradient penalty ``wgan-gp``, with weight clipping ``wgan``; the BCE
    loss ``bce`` for dense generators and ``dcgan`` for the DCGAN one; None for other losses."""
    if variant.loss == "wasserstein":
        return "wgan-gp" if "gradient-penalty" in variant.tricks else "wgan" if "weight-clip" in variant.tricks else None
    if variant.loss == "bce":
        return {"mlp": "bce", "dcgan": "dcgan"}.get(variant.generator)
    return None


def about(registry: Any, variant: Any) -> dict[str, Any]:
    """What the table needs of a variant: its conditioning, loss and textbook loop."""
    return {"conditional": bool(registry.conditioned_roles(variant)), "loss": variant.loss,
            "textbook": textbook_of(variant)}


def builtin_variants() -> dict[str, dict[str, Any]]:
    """Every variant the ``ganzoo`` distribution registers: name → :func:`about` it (plugin
    packages' variants are left out)."""
    import ganzoo

    registry = ganzoo.get_registry()
    found = {}
    for name in ganzoo.list_variants():
        variant = registry.variant(name)
        if variant.plugin is not None and variant.plugin.distribution != "ganzoo":
            continue
        found[name] = about(registry, variant)
    return found


def chosen_variants(names: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    """``names`` (any registered variant) or every built-in one, with their conditioning and loss."""
    if names is None:
        return builtin_variants()
    import ganzoo

    registry = ganzoo.get_registry()
    known = set(ganzoo.list_variants())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise TableError(f"--variants: no variant {', '.join(map(repr, unknown))} (known: {', '.join(sorted(known))})")
    return {n: about(registry, registry.variant(n)) for n in dict.fromkeys(names)}


def wants_more_seeds(name: str, loss: str | None = None) -> bool:
    """``vanilla`` and the Wasserstein rows get ``--seeds-wasserstein`` seeds."""
    return name == "vanilla" or (loss or "").startswith("wasserstein") or name in WASSERSTEIN_TEXTBOOK


def textbook_seeds(recipe: str, variants: Mapping[str, Mapping[str, Any]], seeds: int, seeds_wasserstein: int) -> int:
    """Seeds of a textbook loop: as many as the most-seeded variant tested against it (``bce``
    gets ``vanilla``'s), and ``--seeds-wasserstein`` for the Wasserstein loops."""
    def count(name: str, loss: str | None = None) -> int:
        return seeds_wasserstein if wants_more_seeds(name, loss) else seeds

    return max([count(recipe), *(count(n, a.get("loss")) for n, a in variants.items() if a.get("textbook") == recipe)])


def plan_groups(variants: Mapping[str, Mapping[str, Any]], seeds: int, seeds_wasserstein: int) -> list[Group]:
    """The comparisons to run: variants grouped by seed count and conditioning (more seeds first)."""
    buckets: dict[tuple[int, bool], list[str]] = {}
    for name, about in variants.items():
        count = seeds_wasserstein if wants_more_seeds(name, about.get("loss")) else seeds
        buckets.setdefault((count, bool(about.get("conditional"))), []).append(name)
    return [Group(tuple(names), count, conditional)
            for (count, conditional), names in sorted(buckets.items(), key=lambda kv: (kv[0][1], -kv[0][0]))]


def git_commit(folder: Path) -> str:
    """The short git commit of the checkout holding ``folder`` ("…-dirty" when tracked files
    differ from it), or "" outside a checkout."""
    try:
        done = subprocess.run(["git", "-C", str(folder), "describe", "--always", "--dirty", "--abbrev=7"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def ganzoo_command() -> list[str]:
    """How to run ganzoo's command line: the console script next to this Python (``-m ganzoo``
    would put the working folder first on the path, where a stale ``ganzoo.egg-info`` of a
    source checkout can shadow the installed version)."""
    script = Path(sys.executable).with_name("ganzoo")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "ganzoo"]


def ganzoo_checkout() -> Path:
    import ganzoo

    return Path(ganzoo.__file__).resolve().parent


# ------------------------------------------------------------------ ganzoo compare


def compare_command(group: Group, args: argparse.Namespace, out: Path) -> list[str]:
    length = ["--budget", args.budget] if args.budget else ["--steps", str(args.steps)]
    command = [*ganzoo_command(), "compare", *group.variants, *length, "--seeds", str(group.seeds),
               "--jobs", str(args.jobs), "--out", str(out), "--eval-samples", str(args.eval_samples),
               "--device", args.device]
    return command + (["--precision", args.precision] if args.precision else [])


def run_compare(group: Group, args: argparse.Namespace, root: Path,
                run: Callable[..., Any] = subprocess.run) -> dict[str, Any]:
    """Train (or continue) one group's comparison; its ``report.json``."""
    out = root / group.folder
    command = compare_command(group, args, out)
    note(f"{' '.join(group.variants)}: {group.seeds} seed(s) → {out}")
    report = out / "report.json"
    before = report.stat().st_mtime_ns if report.is_file() else None
    done = run(command, stdout=sys.stderr)  # its progress and ranking lines; stdout is the section's
    if not report.is_file() or report.stat().st_mtime_ns == before:  # an older report is not this run's
        raise TableError(f"ganzoo compare ended with status {done.returncode} without writing {report}: "
                         f"{shlex.join(command)}")
    if done.returncode:
        note(f"ganzoo compare ended with status {done.returncode} "
             "(runs failed; the table shows how many seeds finished)")
    return json.loads(report.read_text(encoding="utf-8"))


def _marker(folder: Path) -> dict[str, Any]:
    try:
        held = json.loads((folder / RECORDED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if isinstance(held.get("runs"), list):  # the stamp this script wrote before: one comparison, one commit
        held = {"recorded": {held.get("cards"): dict.fromkeys(held["runs"], held.get("commit", ""))}}
    return held


def recorded_commit(folder: Path, cards: Path, variant: str) -> str:
    """The commit(s) ``variant``'s runs in ``folder`` were recorded in ``cards`` with ("" when none)."""
    runs = _marker(folder).get("recorded", {}).get(str(cards.resolve()), {})
    return ", ".join(sorted({c for run, c in runs.items() if run.startswith(f"{variant}/") and c}))


def record_once(summary: Mapping[str, Any], folder: Path, cards: Path, commit: str) -> list[str]:
    """Record the cards (with ``commit``) of a comparison's variants that have a finished run
    not yet recorded in ``cards``; the variants recorded. A re-run that trained nothing new
    records nothing, and runs carried over from an earlier comparison keep the card (and the
    commit) they were recorded with. ``folder``'s marker file says which run went into which
    cards file at which commit."""
    from ganzoo.compare.cards import record

    marker = folder / RECORDED
    where = str(cards.resolve())
    held = _marker(folder)
    recorded = held.setdefault("recorded", {})
    mine = recorded.setdefault(where, {})
    finished = {f"{r['variant']}/seed-{r['seed']}:{r['state']}": r["variant"] for r in summary.get("runs", ())}
    new = sorted({variant for run, variant in finished.items() if run not in mine} & set(summary["variants"]))
    if not new:
        return []
    record(summary, cards, commit=commit, variants=new)
    mine.update({run: commit for run, variant in finished.items() if variant in new})
    marker.write_text(json.dumps(held, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return new


# ------------------------------------------------------------------ textbook loops


def run_textbook(recipe: str, seed: int, args: argparse.Namespace, folder: Path, threads: int,
                 run: Callable[..., Any] = subprocess.run, device: str = "cpu", commit: str = "") -> dict[str, Any]:
    """Train one textbook loop (unless its samples and score are there) and score it with
    ``ganzoo eval --json``: ``{"train": its JSON line (with the checkout's ``commit``), "eval":
    the evaluation}``."""
    samples = folder / f"{recipe}-seed{seed}.npy"
    trained, scored = samples.with_suffix(".train.json"), samples.with_suffix(".eval.json")
    if not (trained.is_file() and samples.is_file()):
        length = ["--minutes", f"{parse_minutes(args.budget):g}"] if args.budget else ["--steps", str(args.steps)]
        command = [sys.executable, str(TEXTBOOK), recipe, *length, "--seed", str(seed), "--out", str(samples),
                   "--samples", str(args.eval_samples), "--threads", str(threads), "--device", device]
        note(f"textbook {recipe} seed {seed}: training")
        done = run(command, capture_output=True, text=True)
        if done.returncode:
            raise TableError(f"textbook {recipe} seed {seed} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        line = json.loads(done.stdout.strip().splitlines()[-1]) | {"commit": commit}
        trained.write_text(json.dumps(line) + "\n", encoding="utf-8")
        scored.unlink(missing_ok=True)
    if not scored.is_file():
        command = [*ganzoo_command(), "eval", str(samples), "-n", str(args.eval_samples),
                   "--seed", str(seed), "--json"]
        done = run(command, capture_output=True, text=True)
        if done.returncode:
            raise TableError(f"ganzoo eval {samples} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        json.loads(done.stdout)  # whole JSON before it is kept
        scored.write_text(done.stdout, encoding="utf-8")
    return {"train": json.loads(trained.read_text(encoding="utf-8")),
            "eval": json.loads(scored.read_text(encoding="utf-8"))}


def check_textbook_folder(folder: Path, settings: Mapping[str, Any]) -> None:
    """A textbook folder holds runs of one budget, sample count and device; another's are refused."""
    folder.mkdir(parents=True, exist_ok=True)
    plan = folder / "plan.json"
    if plan.is_file():
        held = json.loads(plan.read_text(encoding="utf-8"))
        if {"device": "cpu"} | held != {"device": "cpu"} | dict(settings):  # folders before --device: CPU
            raise TableError(f"{folder} holds textbook runs of {held}, not {dict(settings)}: give another --out")
    else:
        plan.write_text(json.dumps(dict(settings)) + "\n", encoding="utf-8")


def parse_minutes(budget: str) -> float:
    from ganzoo.cli.compare import parse_budget

    return parse_budget(budget)


# ------------------------------------------------------------------ rows


def mean_std(values: Iterable[float | None]) -> dict[str, Any]:
    from ganzoo.compare.report import mean_std as summary_of

    return summary_of([v for v in values if v is not None])


def rows_from_report(summary: Mapping[str, Any], conditional: bool) -> list[dict[str, Any]]:
    """One table row per variant of a comparison's ``report.json``."""
    rows = []
    for name, variant in summary["variants"].items():
        metrics = variant["metrics"]

        def end(metric: str) -> dict[str, Any] | None:
            found = metrics.get(metric, {}).get("end")
            return found if found and found.get("mean") is not None else None

        rows.append({"name": name, "kind": "zoo, conditional" if conditional else "zoo",
                     "seeds": variant["seeds"], "done": variant["done"],
                     "lost": {k: variant.get(k, 0) for k in ("diverged", "failed", "damaged") if variant.get(k)},
                     "steps": variant["steps"]["mean"], "fd": end(FD), "two_sample": end(TWO_SAMPLE),
                     "coverage": end(COVERAGE), "class_accuracy": end(CLASS_ACCURACY) if conditional else None})
    return rows


def _value(evaluation: Mapping[str, Any], metric: str, key: str = "value") -> Any:
    return next((row.get(key) for row in evaluation.get("metrics", ()) if row.get("metric") == metric), None)


def row_from_textbook(recipe: str, runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The table row of one textbook recipe's seeds (its training lines and evaluations)."""
    def end(metric: str) -> dict[str, Any] | None:
        found = mean_std(_value(r["eval"], metric) for r in runs)
        return found if found["n"] else None

    return {"name": f"textbook {recipe}", "kind": "textbook loop", "seeds": len(runs), "done": len(runs), "lost": {},
            "steps": mean_std(r["train"]["steps"] for r in runs)["mean"], "fd": end(FD),
            "two_sample": end(TWO_SAMPLE), "coverage": end(COVERAGE), "class_accuracy": None,
            "commit": ", ".join(sorted({r["train"].get("commit") for r in runs} - {None, ""}))}


def against_textbook(rows: Sequence[dict[str, Any]]) -> None:
    """Test each zoo row against the textbook loop of its loss (``row["textbook"]``) when that
    loop is in ``rows``: ``row["vs_textbook"]`` gets the loop's name and, for FD and two-sample
    accuracy, compare's own test (:func:`ganzoo.compare.report.welch`, Welch's t on the per-seed
    final values) with ``better`` True/False when it shows a difference (p < α), None when not."""
    from ganzoo.compare.report import welch

    loops = {row["name"].removeprefix("textbook "): row for row in rows if row["kind"] == "textbook loop"}
    for row in rows:
        loop = loops.get(row.get("textbook") or "")
        if loop is None or row["kind"] == "textbook loop":
            continue
        tests = {}
        for metric in ("fd", "two_sample"):
            mine, theirs = (row[metric] or {}).get("values"), (loop[metric] or {}).get("values")
            if mine and theirs:
                test = welch(mine, theirs)
                shown = test["verdict"] == "ahead"
                tests[metric] = test | {"better": (row[metric]["mean"] < loop[metric]["mean"]) if shown else None}
        row["vs_textbook"] = {"loop": loop["name"], **tests}


def _verdict(test: Mapping[str, Any] | None, label: str) -> str:
    if test is None:
        return f"{label} untested"
    if test["p"] is None:
        return f"{label} {test['verdict'].replace('_', ' ')} (n {test['n'][0]}/{test['n'][1]})"
    said = "no difference shown" if test["better"] is None else "better" if test["better"] else "worse"
    return f"{label} {said} (p {test['p']:.2g})"


def vs_textbook_cell(row: Mapping[str, Any]) -> str:
    found = row.get("vs_textbook")
    if not found:
        return "–"
    return f"{found['loop']}: {_verdict(found.get('fd'), 'FD')}, {_verdict(found.get('two_sample'), 'two-sample')}"


def real_vs_real(reports: Iterable[Mapping[str, Any]], evaluations: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Each metric's real-vs-real value, from the first report or evaluation that has it."""
    found: dict[str, Any] = {}
    for summary in reports:
        for variant in summary["variants"].values():
            for metric, row in variant["metrics"].items():
                if row.get("real_vs_real") is not None:
                    found.setdefault(metric, row["real_vs_real"])
    for evaluation in evaluations:
        for row in evaluation.get("metrics", ()):
            if row.get("real_vs_real") is not None:
                found.setdefault(row["metric"], row["real_vs_real"])
    return found


# ------------------------------------------------------------------ markdown


def _mean_std(value: Mapping[str, Any] | None, mean: str, std: str) -> str:
    if value is None:
        return "–"
    text = format(value["mean"], mean)
    return f"{text} ± {format(value['std'], std)}" if value.get("n", 1) > 1 else text


def _seeds(row: Mapping[str, Any]) -> str:
    if row["done"] == row["seeds"]:
        return str(row["seeds"])
    lost = ", ".join(f"{count} {why}" for why, count in row["lost"].items())
    return f"{row['done']} of {row['seeds']}" + (f" ({lost})" if lost else "")


def table_markdown(rows: Sequence[Mapping[str, Any]], header: Mapping[str, Any], real: Mapping[str, Any]) -> str:
    """The section (markers included): a header paragraph and one row per variant or loop, by
    FD (lowest first; rows without one last), then real vs real."""
    from ganzoo.compare.report import ALPHA

    ordered = sorted(rows, key=lambda r: (r["fd"] is None, r["fd"]["mean"] if r["fd"] else 0.0, r["name"]))
    any_conditional = any(r["class_accuracy"] is not None or r["kind"] == "zoo, conditional" for r in rows)
    any_tested = any(r.get("vs_textbook") for r in rows)
    columns = ["variant / loop", "what", "seeds (n)", "generator steps (mean)", "FD (mean ± std)",
               "two-sample (mean ± std)", "coverage (classes)"] + (["class accuracy"] if any_conditional else []) + (
               [f"against the textbook loop of its loss (Welch's t, two-sided, α {ALPHA:g})"] if any_tested else []) + [
               "commit"]
    lines = [START, f"## The zoo's quality table: {header.get('what', 'every built-in variant and textbook loop')}, {header['budget']} "
                    f"({header['date']})", "",
             "Generated by `benchmarks/zoo_table.py` from the runs' recorded scores — do not edit by hand; "
             "re-run the command to refresh it:", "", f"    {header['command']}", "",
             f"**Budget** {header['budget']} of training per run · **machine** {header['machine']} · "
             f"**torch** {header['torch']} · **ganzoo** {header['ganzoo']} · **date** {header['date']} · "
             f"**commit** {header['commit'] or 'unknown'} (each row's own in its last column)", "",
             header["notes"], "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in ordered:
        cells = [f"`{row['name']}`" if row["kind"] != "textbook loop" else row["name"], row["kind"], _seeds(row),
                 "–" if row["steps"] is None else f"{row['steps']:,.0f}", _mean_std(row["fd"], ".3g", ".2g"),
                 _mean_std(row["two_sample"], ".3f", ".3f"), _mean_std(row["coverage"], ".3g", ".2g")]
        if any_conditional:
            cells.append(_mean_std(row["class_accuracy"], ".3f", ".3f"))
        if any_tested:
            cells.append(vs_textbook_cell(row))
        cells.append(row.get("commit") or "–")
        lines.append("| " + " | ".join(cells) + " |")
    reference = [_plain(real.get(FD), ".3g"), _plain(real.get(TWO_SAMPLE), ".3f"), _plain(real.get(COVERAGE), ".3g")]
    if any_conditional:
        reference.append(_plain(real.get(CLASS_ACCURACY), ".3f"))
    if any_tested:
        reference.append("")
    reference.append("")
    lines += ["| real vs real | | | | " + " | ".join(reference) + " |", END]
    return "\n".join(lines) + "\n"


def _plain(value: Any, spec: str) -> str:
    return "–" if not isinstance(value, (int, float)) else format(value, spec)


def write_section(path: Path, section: str) -> Path:
    """Put ``section`` (which starts with :data:`START` and ends with :data:`END`) into
    ``path``: in place of the text between the markers when both are there, else appended."""
    from ganzoo.atomic import write_atomically

    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    section = section.rstrip("\n") + "\n"
    start = text.find(START)
    end = text.find(END, start + len(START)) if start >= 0 else -1
    if start >= 0 and end >= 0:
        after = text[end + len(END):]
        text = text[:start] + section + after.removeprefix("\n")
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + section
    return write_atomically(path, lambda handle: handle.write(text.encode()))


# ------------------------------------------------------------------ the command


def note(message: str) -> None:
    print(f"zoo_table: {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--budget", help="training time per run: 10m, 90s, 1h (default 10m)")
    length.add_argument("--steps", type=int, help="generator steps per run instead")
    parser.add_argument("--seeds", type=int, default=1, help="seeds of every other row (default 1)")
    parser.add_argument("--seeds-wasserstein", type=int, default=3,
                        help="seeds of vanilla and the Wasserstein rows (default 3)")
    parser.add_argument("--out", default="runs/zoo-table", help="the runs' folder (default runs/zoo-table)")
    parser.add_argument("--results", default=str(HERE / "RESULTS.md"),
                        help="markdown file (default benchmarks/RESULTS.md)")
    parser.add_argument("--cards", help="zoo cards file (default: the one ganzoo ships, or $GANZOO_ZOO_CARDS)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once, cores split between them (default 1)")
    parser.add_argument("--variants", nargs="*", help="these variants (default: every built-in one)")
    parser.add_argument("--textbook", nargs="*", choices=TEXTBOOK_RECIPES,
                        help=f"these textbook loops (default: all of {', '.join(TEXTBOOK_RECIPES)})")
    parser.add_argument("--eval-samples", type=int, default=1000, help="samples per score (default 1000)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when there is one), cpu, cuda, cuda:N: for ganzoo compare and the "
                             "textbook loops (default auto)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), help="for ganzoo compare")
    args = parser.parse_args(argv)
    if args.budget is None and args.steps is None:
        args.budget = "10m"
    for name in ("seeds", "seeds_wasserstein", "jobs", "steps"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.eval_samples < 4:
        parser.error("--eval-samples must be >= 4")
    return args


def machine_line(device: str, precision: str | None, jobs: int, threads: int) -> str:
    """The machine as the header names it: its CPU or GPU, bf16 or not, runs at a time."""
    from ganzoo.benchmarking import machine_name
    from ganzoo.training.capture import cpu_has_native_bf16, resolve_precision

    from ganzoo.device import resolve_device

    resolved = resolve_device(device)
    mode = resolve_precision(precision or "auto", resolved)
    bf16 = "native bf16 matrix units" if cpu_has_native_bf16() else "no native bf16"
    kind = f"{resolved.type}: {machine_name(resolved)}"
    return (f"{kind}, CPU {bf16}; ganzoo variants trained in {mode}"
            f"{' autocast' if mode == 'bf16' else ''}, textbook loops in fp32 on the {resolved.type.upper()}; "
            f"{jobs} run(s) at a time, {threads} CPU thread(s) each")


def main(argv: Sequence[str] | None = None) -> int:
    from ganzoo.errors import ConfigError

    args = parse_args(argv)
    try:
        return make_table(args, argv if argv is not None else sys.argv[1:])
    except (TableError, ConfigError) as err:  # ConfigError: a --device this machine lacks
        note(f"error: {err}")
        return 2


def make_table(args: argparse.Namespace, argv: Sequence[str]) -> int:
    import torch

    from ganzoo.compare.cards import cards_file
    from ganzoo.compare.runner import threads_per_job
    from ganzoo.version import __version__

    root = Path(args.out)
    cards = Path(args.cards) if args.cards else cards_file()
    commit = git_commit(ganzoo_checkout())
    variants = chosen_variants(args.variants)
    groups = plan_groups(variants, args.seeds, args.seeds_wasserstein)
    recipes = list(TEXTBOOK_RECIPES if args.textbook is None else dict.fromkeys(args.textbook))
    textbook_runs = [(r, s) for r in recipes
                     for s in range(textbook_seeds(r, variants, args.seeds, args.seeds_wasserstein))]
    threads = threads_per_job(args.jobs)
    runs = sum(len(g.variants) * g.seeds for g in groups) + len(textbook_runs)
    budget = args.budget if args.budget else f"{args.steps:,} steps"
    note(f"{runs} runs of {budget} ({len(groups)} comparisons, {len(textbook_runs)} textbook runs), "
         f"{args.jobs} at a time; commit {commit or 'unknown'}; cards → {cards}")

    reports, rows, failed = [], [], 0
    for group in groups:
        summary = run_compare(group, args, root)
        reports.append(summary)
        recorded = record_once(summary, root / group.folder, cards, commit)
        if recorded:
            note(f"recorded the zoo card(s) of {', '.join(recorded)} in {cards}")
        rows += [row | {"textbook": variants.get(row["name"], {}).get("textbook"),
                        "commit": recorded_commit(root / group.folder, cards, row["name"])}
                 for row in rows_from_report(summary, group.conditional)]
        failed += sum(v["done"] < v["seeds"] for v in summary["variants"].values())

    evaluations = []
    if textbook_runs:
        folder = root / "textbook"
        from ganzoo.device import resolve_device

        device = str(resolve_device(args.device))
        check_textbook_folder(folder, {"budget": args.budget, "steps": args.steps, "eval_samples": args.eval_samples,
                                       "device": device})
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            done = list(pool.map(lambda job: run_textbook(*job, args, folder, threads, device=device, commit=commit),
                                 textbook_runs))
        for recipe in recipes:
            mine = [d for (r, _), d in zip(textbook_runs, done) if r == recipe]
            rows.append(row_from_textbook(recipe, mine))
            evaluations += [d["eval"] for d in mine]

    against_textbook(rows)
    first = reports[0] if reports else None
    provenance = next((e["provenance"] for e in evaluations), {})
    extractor = (first or {}).get("extractor") or provenance.get("extractor")
    sha = ((first or {}).get("extractor_sha256") or provenance.get("extractor_sha256") or "")[:12]
    reference = (first or {}).get("reference") or provenance.get("reference")
    budget_text = f"{parse_minutes(args.budget):g} min" if args.budget else f"{args.steps:,} generator steps"
    header = {
        "what": ("every built-in variant and textbook loop" if args.variants is None and args.textbook is None else
                 " and ".join(filter(None, [", ".join(f"`{v}`" for v in variants),
                                            ", ".join(f"textbook {r}" for r in recipes)]))),
        "budget": budget_text, "date": datetime.date.today().isoformat(), "torch": torch.__version__,
        "ganzoo": __version__, "commit": commit,
        "machine": machine_line(args.device, args.precision, args.jobs, threads),
        "command": shlex.join(["python", "benchmarks/zoo_table.py", *argv]),
        "notes": (f"Seeds: {args.seeds_wasserstein} for `vanilla`, the Wasserstein rows and the textbook loops "
                  f"they are tested against, {args.seeds} for the others; each score is the end of training, on {args.eval_samples:,} samples against "
                  f"`{reference}` in the features of `{extractor}` (sha256 `{sha}…`), mean ± std over seeds "
                  f"(sample std; none shown for one seed). Zoo rows come from `ganzoo compare` (reports under "
                  f"`{root}`; each variant's card, `ganzoo info VARIANT`, is recorded from the same report), "
                  f"textbook rows from `benchmarks/textbook.py` scored by `ganzoo eval --json`. Rows by FD, "
                  f"lowest first; no ranking is claimed among them (see each comparison's report.md for tested "
                  f"claims). The last column tests a variant against the textbook loop of its loss with compare's "
                  f"own test on the per-seed final values: \"better\"/\"worse\" only where p < α. The commit column is "
                  f"the ganzoo checkout a row's runs were recorded (zoo) or trained (textbook) at; runs carried over "
                  f"from an earlier table in the same folder keep theirs (– where it was not stamped)."),
    }
    section = table_markdown(rows, header, real_vs_real(reports, evaluations))
    written = write_section(Path(args.results), section)
    note(f"wrote the table into {written}")
    print(section, end="")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
