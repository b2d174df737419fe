"""The report of a comparison: every (variant, seed) run folder read back, each metric as
mean ± std over seeds at the end, at its best, at equal training time and at equal steps, and
four files to look at: ``report.json``, ``report.md``, ``curves.png``, ``samples.png``, plus
``report.html``, one self-contained page holding all of it."""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import math
import statistics
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ganzoo.atomic import write_atomically
from ganzoo.compare.plan import DAMAGED, CompareDir, DamagedFileError, Job, Plan, is_int, is_number
from ganzoo.errors import GanzooError
from ganzoo.factories import describe_value
from ganzoo.runs.rundir import RunDir

CURVE_METRICS = ("frechet-distance", "two-sample", "class-accuracy.overall")
"""The metrics ``curves.png`` plots (those a run has)."""
TABLE_METRICS = ("frechet-distance", "two-sample", "precision-recall.precision", "precision-recall.recall",
                 "coverage.classes", "class-accuracy.overall", "intra-class-fd.mean")
"""The metrics of the summary tables; ``report.json`` has every scalar metric."""
RANK_METRIC = "frechet-distance"
SECTIONS = ("end", "best", "equal_time", "equal_steps")

TEST = "welch_t"
"""The test behind every comparison the ranking states: Welch's t-test (two-sided, unequal
variances: ``scipy.stats.ttest_ind(equal_var=False)``) on the variants' per-seed final values."""
ALPHA = 0.05
MIN_SEEDS = 2
"""Seeds a variant needs before it is tested at all: a variance needs two values. With two the
test seldom shows a difference; 3 or more (``--seeds`` defaults to 3) give it a fair chance."""
RANKING_RULE = (f"A variant is called ahead of the next only where Welch's t-test (two-sided) on the seeds' "
                f"final values gives p < {ALPHA}. The test needs ≥ {MIN_SEEDS} seeds per variant (3 or more "
                f"give it a fair chance of showing a difference); with fewer, or with p ≥ {ALPHA}, no difference "
                "is claimed.")


def mean_std(values: Sequence[float]) -> dict[str, Any]:
    """Mean and sample standard deviation (n − 1; 0 for one value) of the finite ``values``."""
    kept = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not kept:
        return {"mean": None, "std": None, "n": 0, "values": []}
    std = statistics.stdev(kept) if len(kept) > 1 else 0.0
    return {"mean": statistics.fmean(kept), "std": std, "n": len(kept), "values": kept}


def _scalars(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["metric"]: row for row in rows
            if isinstance(row.get("value"), (int, float)) and not isinstance(row.get("value"), bool)}


# ------------------------------------------------------------------ checking what is read
# A job's files are checked before use: a truncated or hand-edited one would otherwise end the
# whole report in a traceback far from the file; now it is that job's one line.


def _is_value(value: Any) -> bool:
    """A metric's value as ganzoo writes it: a number (NaN too), a list of them, or null."""
    return value is None or is_number(value) or (isinstance(value, list) and all(map(is_number, value)))


def _eval_problem(evaluation: Any, where: str = "eval") -> str | None:
    """What is wrong with a stored evaluation (``Evaluation.to_dict``), or None."""
    if not isinstance(evaluation, Mapping):
        return f"{where} is {describe_value(evaluation)}, not a record"
    rows = evaluation.get("metrics")
    if not isinstance(rows, list):
        return f"{where}.metrics is {describe_value(rows)}, not a list of records"
    for index, row in enumerate(rows):
        at = f"{where}.metrics[{index}]"
        if not isinstance(row, Mapping):
            return f"{at} is {describe_value(row)}, not a record"
        if not isinstance(row.get("metric"), str):
            return f"{at}.metric is {describe_value(row.get('metric'))}, not a name"
        for key in ("value", "real_vs_real"):
            if not _is_value(row.get(key)):
                return f"{at}.{key} is {describe_value(row.get(key))}, not a number"
        if row.get("better", "lower") not in ("lower", "higher"):
            return f"{at}.better is {describe_value(row.get('better'))}, not 'lower' or 'higher'"
    provenance = evaluation.get("provenance", {})
    if not isinstance(provenance, Mapping):
        return f"{where}.provenance is {describe_value(provenance)}, not a record"
    for key in ("extractor", "extractor_sha256", "reference", "baseline"):
        if not isinstance(provenance.get(key), (str, type(None))):
            return f"{where}.provenance.{key} is {describe_value(provenance.get(key))}, not text"
    if not (provenance.get("num_samples") is None or is_int(provenance["num_samples"])):
        return f"{where}.provenance.num_samples is {describe_value(provenance['num_samples'])}, not a whole number"
    return None


def _step_time_problem(record: Mapping[str, Any], time_required: bool) -> str | None:
    step, seconds = record.get("step"), record.get("time")
    if not is_int(step) or step < 0:
        return "has no step" if step is None else f"step is {describe_value(step)}, not a whole number"
    if seconds is None and not time_required:
        return None
    if not is_number(seconds) or not math.isfinite(seconds) or seconds < 0:
        return "has no time" if seconds is None else f"time is {describe_value(seconds)}, not a number of seconds"
    return None


def final_problem(data: Any) -> str | None:
    """What is wrong with the contents of a job's ``final.json``, or None."""
    if not isinstance(data, Mapping):
        return f"holds {describe_value(data)}, not a record"
    problem = _step_time_problem(data, time_required=True)
    if problem:
        return problem
    return _eval_problem(data["eval"]) if "eval" in data else "has no eval"


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DamagedFileError(f"{path}: unreadable ({err})") from None
    try:
        return json.loads(text)
    except ValueError as err:
        raise DamagedFileError(f"{path}: not JSON ({err})") from None


def _read_final(path: Path, state: str) -> dict[str, Any] | None:
    """A job's checked ``final.json``, or None when it has none (yet)."""
    if not path.exists():
        if state == "done":  # the runner says done only once final.json is there
            raise DamagedFileError(f"{path}: missing, though compare.json says the job is done")
        return None
    data = _read_json(path)
    problem = final_problem(data)
    if problem:
        raise DamagedFileError(f"{path}: {problem}")
    return data


def _read_records(path: Path) -> list[dict[str, Any]]:
    """The checked records of a run's ``metrics.jsonl`` that the report reads (losses and
    evaluations); a line cut short by a crash is skipped, as :meth:`RunDir.read_metrics` does."""
    if not path.exists():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DamagedFileError(f"{path}: unreadable ({err})") from None
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            raise DamagedFileError(f"{path}: line {number}: holds {describe_value(record)}, not a record")
        trained = _is_training_record(record)
        if "eval" in record or trained:
            problem = _step_time_problem(record, time_required=trained)
            if "eval" in record:
                problem = problem or _eval_problem(record["eval"])
            if problem:
                raise DamagedFileError(f"{path}: line {number}: {problem}")
            records.append(record)
    return records


def _is_training_record(record: Mapping[str, Any]) -> bool:
    """A training record (not an evaluation): the trainer's own bookkeeping marks it, whatever
    statistics the variant's updates report."""
    return "eval" not in record and "steps_per_sec" in record


def read_run(folder: CompareDir, job: Job, state: str, message: str | None = None) -> dict[str, Any]:
    """One run as the report needs it: its evaluation points ``(step, time, {metric: row})``
    (the final score last) and what it ended with. A job whose state (``message`` says why)
    or files cannot be read is :data:`~ganzoo.compare.plan.DAMAGED`, without scores."""
    run = folder.run_dir(job)
    unread = {"variant": job.variant, "seed": job.seed, "state": state, "steps": 0, "time": 0.0,
              "steps_per_sec": None, "points": [], "final": None, "run_dir": str(run), "provenance": None,
              "message": message}
    if state == DAMAGED:  # compare.json does not say what became of it: nothing of it is trusted
        return unread
    try:
        records = _read_records(run / "metrics.jsonl")
        final = _read_final(folder.final_file(job), state)
    except DamagedFileError as err:
        return unread | {"state": DAMAGED, "message": f"{err}; its scores are left out of the report"}
    points = [(r["step"], r.get("time"), _scalars(r["eval"]["metrics"])) for r in records if "eval" in r]
    if final:
        points = [p for p in points if p[0] < final["step"]]
        points.append((final["step"], final["time"], _scalars(final["eval"]["metrics"])))
    logged = [r for r in records if _is_training_record(r)]
    steps = final["step"] if final else (logged[-1]["step"] if logged else 0)
    seconds = final["time"] if final else (logged[-1]["time"] if logged else 0.0)
    return unread | {"steps": steps, "time": seconds, "steps_per_sec": steps / seconds if seconds else None,
                     "points": points, "final": points[-1][2] if final else None,
                     "provenance": final["eval"].get("provenance") if final else None,
                     "changes": _recorded_changes(run)}


def _recorded_changes(run: Path) -> list[str]:
    """What the run's recipe changed in the registered variant of its name, as its config.json
    records it (nothing when it cannot be read: the run's own scores do not depend on it)."""
    try:
        changes = json.loads((run / "config.json").read_text(encoding="utf-8")).get("changes")
    except (OSError, ValueError, AttributeError):
        return []
    return [str(c) for c in changes] if isinstance(changes, list) else []


def _at(points: Sequence[tuple[int, float, dict[str, Any]]], axis: int, limit: float, metric: str) -> float | None:
    """The metric at the last evaluation point with ``step``/``time`` (``axis`` 0/1) ≤ ``limit``."""
    kept = [p for p in points if p[axis] is not None and p[axis] <= limit + 1e-9 and metric in p[2]]
    return kept[-1][2][metric]["value"] if kept else None


def _within(points: Sequence[tuple[int, float, dict[str, Any]]], budget: float | None
            ) -> Sequence[tuple[int, float, dict[str, Any]]]:
    """``points`` with the last one's time capped at ``budget`` (a time-budget run's end)."""
    if budget is None or not points:
        return points
    step, seconds, values = points[-1]
    return [*points[:-1], (step, min(seconds, budget) if seconds is not None else budget, values)]


def _best(points: Sequence[tuple[int, float, dict[str, Any]]], metric: str, better: str) -> float | None:
    values = [p[2][metric]["value"] for p in points if metric in p[2] and math.isfinite(p[2][metric]["value"])]
    if not values:
        return None
    return min(values) if better == "lower" else max(values)


def _parameters(run: str) -> dict[str, int]:
    from ganzoo.build import own_parameters
    from ganzoo.runs.checkpoint import load_gan

    gan, _ = load_gan(run, device="cpu")
    return {role: sum(p.numel() for p in params) for role, params in own_parameters(gan.networks).items()}


def _parameters_of(finished: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """The networks' sizes, from the first finished run whose checkpoint loads: a missing or
    damaged checkpoint costs the report this column (shown as –), not the other results."""
    for run in finished:
        try:
            return _parameters(run["run_dir"])
        except GanzooError:
            continue
    return {}


def read_runs(folder: CompareDir, plan: Plan, states: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """:func:`read_run` of every job, in the plan's order."""
    return [read_run(folder, job, states[job.key]["state"], states[job.key].get("message")) for job in plan.jobs()]


def summarize(runs: Sequence[Mapping[str, Any]], plan: Plan, states: Mapping[str, Mapping[str, Any]],
              jobs: int | None = None) -> dict[str, Any]:
    """Everything ``report.json`` holds, from :func:`read_runs` (``jobs``: how many runs
    trained at once, which steps/s depend on)."""
    import torch

    from ganzoo.benchmarking import machine_name
    from ganzoo.version import __version__

    done = [r for r in runs if r["final"] is not None]
    budget = plan.minutes * 60 if plan.minutes else None
    # Under a time budget every run trained the budget: its last evaluation is at equal time
    # (it stopped at the first step past the budget, a step's time later).
    equal_time = budget if budget else min((r["time"] for r in done), default=None)
    equal_steps = min((r["steps"] for r in done), default=None)
    variants: dict[str, Any] = {}
    for name in plan.variants:
        mine = [r for r in runs if r["variant"] == name]
        finished = [r for r in mine if r["final"] is not None]
        names = list(dict.fromkeys(m for r in finished for m in r["final"]))
        metrics = {}
        for metric in names:
            rows = [r["final"][metric] for r in finished if metric in r["final"]]
            better = rows[0].get("better", "lower")
            metrics[metric] = {
                "better": better, "real_vs_real": rows[0].get("real_vs_real"),
                "end": mean_std([row["value"] for row in rows]),
                "best": mean_std([_best(r["points"], metric, better) for r in finished]),
                "equal_time": mean_std([_at(_within(r["points"], budget), 1, equal_time, metric) for r in finished]),
                "equal_steps": mean_std([_at(r["points"], 0, equal_steps, metric) for r in finished]),
            }
        variants[name] = {
            "changes": next((r["changes"] for r in mine if r.get("changes")), []),
            "seeds": len(mine), "done": len(finished),
            "diverged": sum(r["state"] == "diverged" for r in mine),
            "failed": sum(r["state"] == "failed" for r in mine),
            "damaged": sum(r["state"] == DAMAGED for r in mine),
            "steps": mean_std([r["steps"] for r in finished]),
            "steps_per_sec": mean_std([r["steps_per_sec"] for r in finished if r["steps_per_sec"]]),
            "parameters": _parameters_of(finished),
            "metrics": metrics,
        }
    provenance = next((r["provenance"] for r in done), None) or {}
    setting = str(next(iter(plan.configs.values()), {}).get("device") or "auto")
    # Where the runs trained (the compare's --device), not merely what this machine has.
    cuda = setting.startswith("cuda") or (setting == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if cuda else "cpu")
    return {
        "plan": plan.to_dict(),
        "date": datetime.date.today().isoformat(),
        "machine": machine_name(device), "device": device.type,
        "jobs": jobs, "threads_per_job": None if jobs is None else _threads(jobs),
        "torch": torch.__version__, "ganzoo": __version__,
        "extractor": provenance.get("extractor"), "extractor_sha256": provenance.get("extractor_sha256"),
        "reference": provenance.get("reference"), "num_samples": provenance.get("num_samples"),
        "baseline": provenance.get("baseline"),
        "equal_time_seconds": equal_time, "equal_time_is_budget": budget is not None, "equal_steps": equal_steps,
        "variants": variants, "ranking": rank(variants),
        "ranking_rule": {"test": TEST, "description": RANKING_RULE, "alpha": ALPHA, "min_seeds": MIN_SEEDS},
        "runs": [{k: r[k] for k in ("variant", "seed", "state", "steps", "time", "steps_per_sec", "run_dir")}
                 | {"final": {m: row["value"] for m, row in (r["final"] or {}).items()},
                    "message": r.get("message") or states.get(f"{r['variant']}/seed-{r['seed']}", {}).get("message")}
                 for r in runs],
    }


def _threads(jobs: int) -> int:
    from ganzoo.compare.runner import threads_per_job

    return threads_per_job(jobs)


def welch(values: Sequence[float], others: Sequence[float]) -> dict[str, Any]:
    """Welch's t-test of one variant's per-seed values against another's: the test, n per
    side, t, p and the verdict (``ahead``, ``no_difference_shown``, ``not_enough_seeds``, or
    ``untestable`` when no seed of either differs from its variant's others)."""
    result: dict[str, Any] = {"test": TEST, "n": [len(values), len(others)], "t": None, "p": None,
                              "alpha": ALPHA, "min_seeds": MIN_SEEDS}
    if min(len(values), len(others)) < MIN_SEEDS:
        return result | {"verdict": "not_enough_seeds"}
    if statistics.pvariance(values) == 0 and statistics.pvariance(others) == 0:
        # t divides by zero (scipy then says p = 0 for any two means): no evidence either way.
        return result | {"verdict": "untestable"}
    from scipy.stats import ttest_ind

    with warnings.catch_warnings():  # scipy warns of precision loss for nearly equal values
        warnings.simplefilter("ignore", RuntimeWarning)
        test = ttest_ind(values, others, equal_var=False)
    t, p = float(test.statistic), float(test.pvalue)
    return result | {"t": t, "p": p, "verdict": "ahead" if p < ALPHA else "no_difference_shown"}


def rank(variants: Mapping[str, Any], metric: str = RANK_METRIC) -> list[dict[str, Any]]:
    """Variants ordered by ``metric`` at the end (mean over seeds); each but the last says in
    ``vs_next`` whether Welch's t-test on the per-seed values backs its lead over the next
    (:func:`welch`); only a ``verdict`` of ``ahead`` claims a difference."""
    scored = [(name, v["metrics"][metric]["end"], v["metrics"][metric]["better"])
              for name, v in variants.items() if metric in v["metrics"] and v["metrics"][metric]["end"]["n"]]
    if not scored:
        return []
    reverse = scored[0][2] == "higher"
    scored.sort(key=lambda item: item[1]["mean"], reverse=reverse)
    ranking = []
    for index, (name, stats, better) in enumerate(scored):
        row = {"variant": name, "metric": metric, "better": better, "mean": stats["mean"], "std": stats["std"],
               "n": stats["n"]}
        if index + 1 < len(scored):
            following, values = scored[index + 1][0], scored[index + 1][1]["values"]
            row["vs_next"] = {"variant": following} | welch(stats["values"], values)
        ranking.append(row)
    return ranking


# ---------------------------------------------------------------------------------- tables


def _cell(stats: Mapping[str, Any] | None) -> str:
    if not stats or stats.get("mean") is None:
        return "–"
    return f"{stats['mean']:.4g} ± {stats['std']:.2g}" if stats["n"] > 1 else f"{stats['mean']:.4g}"


def _label(name: str, variant: Mapping[str, Any]) -> str:
    """A variant as the report names it: with what its runs changed in the registered recipe."""
    changes = variant.get("changes") or []
    return f"{name} ({', '.join(changes)})" if changes else name


def _tables(summary: Mapping[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table the report shows."""
    variants = summary["variants"]
    shown = [m for m in TABLE_METRICS if any(m in v["metrics"] for v in variants.values())]
    tables = []
    header = ["variant", "runs (done / diverged / failed)", "steps", "steps/s", "parameters"] + shown
    rows = []
    for name, v in variants.items():
        params = ", ".join(f"{role[0].upper()} {count / 1e6:.2f}M" for role, count in v["parameters"].items())
        runs = f"{v['done']} / {v['diverged']} / {v['failed']}"
        if v.get("damaged"):
            runs += f" (+{v['damaged']} damaged)"
        rows.append([_label(name, v), runs, _cell(v["steps"]),
                     _cell(v["steps_per_sec"]), params or "–"]
                    + [_cell(v["metrics"].get(m, {}).get("end")) for m in shown])
    tables.append(("At the end (mean ± std over seeds)", header, rows))
    titles = {"best": "At its best (each seed's best evaluation)",
              "equal_time": (f"At equal training time ({summary['equal_time_seconds'] or 0:.0f} s: "
                             + ("the budget, so each run's last evaluation)" if summary.get("equal_time_is_budget")
                                else "the shortest run's)")),
              "equal_steps": f"At equal steps ({summary['equal_steps'] or 0:,}: the shortest run's)"}
    for section, title in titles.items():
        rows = [[_label(name, v)] + [_cell(v["metrics"].get(m, {}).get(section)) for m in shown]
                for name, v in variants.items()]
        tables.append((title, ["variant"] + shown, rows))
    reals = [["real vs real"] + [f"{next((v['metrics'][m]['real_vs_real'] for v in variants.values() if m in v['metrics'] and v['metrics'][m]['real_vs_real'] is not None), float('nan')):.4g}" for m in shown]]
    tables.append(("The same metrics for 1,000 other real digits (the good end of each scale)", ["set"] + shown, reals))
    return tables


def _versus(test: Mapping[str, Any]) -> str:
    """What the ranking says of a variant against the next, always with the test and n."""
    other, (n, m) = test["variant"], test["n"]
    if test["verdict"] == "not_enough_seeds":
        return f"not tested against {other}: not enough seeds (n={n} vs {m}; needs ≥ {test['min_seeds']} per variant)"
    if test["verdict"] == "untestable":
        return (f"not tested against {other}: every seed of both scored the same "
                f"(n={n} vs {m}; Welch's t-test needs some spread)")
    backed = f"(Welch's t-test, n={n} vs {m}, p={test['p']:.2g})"
    return f"ahead of {other} {backed}" if test["verdict"] == "ahead" else f"no difference shown from {other} {backed}"


def ranking_lines(summary: Mapping[str, Any]) -> list[str]:
    """One line per ranked variant: its mean (± std over seeds) and, against the next, the
    verdict of Welch's t-test with n per side and p."""
    lines = []
    for index, row in enumerate(summary["ranking"]):
        value = f"{row['mean']:.4g} ± {row['std']:.2g}" if row["n"] > 1 else f"{row['mean']:.4g}"
        note = f" — {_versus(row['vs_next'])}" if "vs_next" in row else ""
        seeds = "1 seed" if row["n"] == 1 else f"{row['n']} seeds"
        lines.append(f"{index + 1}. {row['variant']}: {row['metric']} {value} ({seeds}){note}")
    return lines


def _ranking_rule(summary: Mapping[str, Any]) -> str:
    ranking = summary["ranking"]
    if not ranking:
        return f"No variant finished with a {RANK_METRIC} score."
    better = ranking[0].get("better", "lower")
    return f"By {ranking[0]['metric']} at the end, mean over seeds ({better} is better). {RANKING_RULE}"


def _provenance_line(summary: Mapping[str, Any]) -> str:
    plan = summary["plan"]
    budget = f"{plan['minutes']:g} min of training" if plan["minutes"] else f"{plan['steps']:,} steps"
    sha = (summary["extractor_sha256"] or "")[:12]
    return (f"{len(plan['variants'])} variants × seeds {', '.join(map(str, plan['seeds']))}, {budget} each, "
            f"{Plan.from_dict(plan).schedule()} and at the end on {summary['num_samples']} samples against "
            f"{summary['reference']} (features: {summary['extractor']} sha256 {sha}…; real vs real: "
            f"{summary['baseline']}). {summary['machine']}{_jobs_note(summary)}, torch {summary['torch']}, "
            f"ganzoo {summary['ganzoo']}, {summary['date']}.")


def _jobs_note(summary: Mapping[str, Any]) -> str:
    if not summary.get("jobs"):
        return ""
    return f"; {summary['jobs']} run(s) at a time, {summary['threads_per_job']} CPU thread(s) each"


def markdown(summary: Mapping[str, Any]) -> str:
    out = ["# ganzoo compare", "", _provenance_line(summary), ""]
    for title, header, rows in _tables(summary):
        out += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(row) + " |" for row in rows]
        out.append("")
    out += ["## Ranking", "", _ranking_rule(summary), ""] + ranking_lines(summary) + [""]
    failed = [r for r in summary["runs"] if r["state"] in ("diverged", "failed", DAMAGED)]
    if failed:
        out += ["## Runs that did not finish or could not be read", ""]
        out += [f"- {r['variant']} seed {r['seed']}: "
                + ("damaged" if r["state"] == DAMAGED else f"{r['state']} at step {r['steps']:,}") + f": {r['message']}"
                for r in failed]
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------------------- pictures


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def curves_png(runs: Sequence[Mapping[str, Any]], plan: Plan) -> bytes:
    """Each curve metric against training time and against steps: one line per variant (the
    mean over seeds) with a band of ± one std."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib import pyplot as plt

    metrics = [m for m in CURVE_METRICS if any(m in p[2] for r in runs for p in r["points"])]
    figure, axes = plt.subplots(max(1, len(metrics)), 2, figsize=(11, 3.2 * max(1, len(metrics))), squeeze=False)
    for row, metric in enumerate(metrics):
        for column, (axis, label) in enumerate(((1, "training time (s)"), (0, "steps"))):
            ax = axes[row][column]
            for index, name in enumerate(plan.variants):
                curves = [[(p[axis], p[2][metric]["value"]) for p in r["points"] if metric in p[2] and p[axis] is not None]
                          for r in runs if r["variant"] == name]
                curves = [c for c in curves if c]
                if not curves:
                    continue
                end = min(c[-1][0] for c in curves)
                grid = np.unique(np.concatenate([[x for x, _ in c if x <= end] for c in curves]))
                values = np.array([np.interp(grid, [x for x, _ in c], [y for _, y in c]) for c in curves])
                mean, std = values.mean(0), values.std(0, ddof=1) if len(curves) > 1 else np.zeros(len(grid))
                color = f"C{index % 10}"  # one colour per variant in every panel
                ax.plot(grid, mean, marker="o", markersize=3, color=color, label=f"{name} ({len(curves)} seeds)")
                ax.fill_between(grid, mean - std, mean + std, color=color, alpha=0.2)
            ax.set_xlabel(label)
            ax.set_ylabel(metric)
            if metric == "frechet-distance":
                ax.set_yscale("log")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    data = _png(figure)
    plt.close(figure)
    return data


def samples_png(folder: CompareDir, plan: Plan) -> bytes | None:
    """The final sample grids of each variant's first seed, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from PIL import Image

    grids = [(name, RunDir(folder.run_dir(Job(name, plan.seeds[0]))).path / "samples.png") for name in plan.variants]
    pictures = []
    for name, path in grids:
        try:
            with Image.open(path) as image:
                pictures.append((name, image.convert("L")))
        except (OSError, ValueError):  # absent, or damaged: that variant's grid is left out, not the report
            continue
    if not pictures:
        return None
    figure, axes = plt.subplots(1, len(pictures), figsize=(3.6 * len(pictures), 4), squeeze=False)
    for ax, (name, picture) in zip(axes[0], pictures):
        ax.imshow(picture, cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{name} (seed {plan.seeds[0]})")
        ax.axis("off")
    data = _png(figure)
    plt.close(figure)
    return data


def html_page(summary: Mapping[str, Any], images: Mapping[str, bytes | None]) -> str:
    """One self-contained page: the provenance, the tables, the ranking and the images inline."""
    esc = html.escape
    parts = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'><title>ganzoo compare</title>",
             "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
             "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%}</style>",
             "</head><body>", "<h1>ganzoo compare</h1>", f"<p>{esc(_provenance_line(summary))}</p>"]
    for title, header, rows in _tables(summary):
        parts.append(f"<h2>{esc(title)}</h2><table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows]
        parts.append("</table>")
    parts.append(f"<h2>Ranking</h2><p>{esc(_ranking_rule(summary))}</p><ol>"
                 + "".join(f"<li>{esc(line.split('. ', 1)[1])}</li>" for line in ranking_lines(summary)) + "</ol>")
    for name, data in images.items():
        if data:
            parts.append(f"<h2>{esc(name)}</h2><img alt='{esc(name)}' src='data:image/png;base64,"
                         f"{base64.b64encode(data).decode()}'>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(folder: CompareDir, jobs: int | None = None) -> tuple[dict[str, Path], dict[str, Any]]:
    """Write every report file into the comparison's folder; returns their paths by name and
    the summary (``report.json``)."""
    plan, states = folder.load()
    runs = read_runs(folder, plan, states)  # the run folders are read once, for every file
    summary = summarize(runs, plan, states, jobs)
    images = {"curves": curves_png(runs, plan), "samples": samples_png(folder, plan)}
    files = {"report.json": (json.dumps(summary, indent=2, allow_nan=True) + "\n").encode(),
             "report.md": markdown(summary).encode(),
             "curves.png": images["curves"], "samples.png": images["samples"],
             "report.html": html_page(summary, {"Quality against compute": images["curves"],
                                                "Final samples": images["samples"]}).encode()}
    written = {}
    for name, data in files.items():
        if data is not None:
            written[name] = write_atomically(folder.path / name, lambda handle, data=data: handle.write(data))
    return written, summary
