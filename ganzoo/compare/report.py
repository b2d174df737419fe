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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ganzoo.atomic import write_atomically
from ganzoo.compare.plan import CompareDir, Job, Plan
from ganzoo.runs.rundir import RunDir

CURVE_METRICS = ("frechet-distance", "two-sample", "class-accuracy.overall")
"""The metrics ``curves.png`` plots (those a run has)."""
TABLE_METRICS = ("frechet-distance", "two-sample", "precision-recall.precision", "precision-recall.recall",
                 "coverage.classes", "class-accuracy.overall", "intra-class-fd.mean")
"""The metrics of the summary tables; ``report.json`` has every scalar metric."""
RANK_METRIC = "frechet-distance"
SECTIONS = ("end", "best", "equal_time", "equal_steps")


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


def read_run(folder: CompareDir, job: Job, state: str) -> dict[str, Any]:
    """One run as the report needs it: its evaluation points ``(step, time, {metric: row})``
    (the final score last) and what it ended with."""
    run = folder.run_dir(job)
    records = RunDir(run).read_metrics() if (run / "metrics.jsonl").is_file() else []
    points = [(r["step"], r.get("time"), _scalars(r["eval"]["metrics"])) for r in records if "eval" in r]
    final = None
    if folder.final_file(job).is_file():
        final = json.loads(folder.final_file(job).read_text())
        points = [p for p in points if p[0] < final["step"]]
        points.append((final["step"], final["time"], _scalars(final["eval"]["metrics"])))
    logged = [r for r in records if "d_loss" in r]
    steps = final["step"] if final else (logged[-1]["step"] if logged else 0)
    seconds = final["time"] if final else (logged[-1]["time"] if logged else 0.0)
    return {"variant": job.variant, "seed": job.seed, "state": state, "steps": steps, "time": seconds,
            "steps_per_sec": steps / seconds if seconds else None, "points": points,
            "final": points[-1][2] if final else None, "run_dir": str(run),
            "provenance": final["eval"]["provenance"] if final else None}


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
    from ganzoo.runs.checkpoint import load_gan

    gan, _ = load_gan(run, device="cpu")
    return {role: sum(p.numel() for p in net.parameters()) for role, net in gan.networks.items()}


def read_runs(folder: CompareDir, plan: Plan, states: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """:func:`read_run` of every job, in the plan's order."""
    return [read_run(folder, job, states[job.key]["state"]) for job in plan.jobs()]


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
            "seeds": len(mine), "done": len(finished),
            "diverged": sum(r["state"] == "diverged" for r in mine),
            "failed": sum(r["state"] == "failed" for r in mine),
            "steps": mean_std([r["steps"] for r in finished]),
            "steps_per_sec": mean_std([r["steps_per_sec"] for r in finished if r["steps_per_sec"]]),
            "parameters": _parameters(finished[0]["run_dir"]) if finished else {},
            "metrics": metrics,
        }
    provenance = next((r["provenance"] for r in done), None) or {}
    return {
        "plan": plan.to_dict(),
        "date": datetime.date.today().isoformat(),
        "machine": machine_name(torch.device("cuda" if torch.cuda.is_available() else "cpu")),
        "jobs": jobs, "threads_per_job": None if jobs is None else _threads(jobs),
        "torch": torch.__version__, "ganzoo": __version__,
        "extractor": provenance.get("extractor"), "extractor_sha256": provenance.get("extractor_sha256"),
        "reference": provenance.get("reference"), "num_samples": provenance.get("num_samples"),
        "baseline": provenance.get("baseline"),
        "equal_time_seconds": equal_time, "equal_time_is_budget": budget is not None, "equal_steps": equal_steps,
        "variants": variants, "ranking": rank(variants),
        "runs": [{k: r[k] for k in ("variant", "seed", "state", "steps", "time", "steps_per_sec", "run_dir")}
                 | {"final": {m: row["value"] for m, row in (r["final"] or {}).items()},
                    "message": states[f"{r['variant']}/seed-{r['seed']}"].get("message")}
                 for r in runs],
    }


def _threads(jobs: int) -> int:
    from ganzoo.compare.runner import threads_per_job

    return threads_per_job(jobs)


def rank(variants: Mapping[str, Any], metric: str = RANK_METRIC) -> list[dict[str, Any]]:
    """Variants ordered by ``metric`` at the end (mean over seeds), each marked when its gap to
    the next is within the seeds' spread (the two means are less than their stds' sum apart)."""
    scored = [(name, v["metrics"][metric]["end"], v["metrics"][metric]["better"])
              for name, v in variants.items() if metric in v["metrics"] and v["metrics"][metric]["end"]["n"]]
    if not scored:
        return []
    reverse = scored[0][2] == "higher"
    scored.sort(key=lambda item: item[1]["mean"], reverse=reverse)
    ranking = []
    for index, (name, stats, _) in enumerate(scored):
        row = {"variant": name, "metric": metric, "mean": stats["mean"], "std": stats["std"], "n": stats["n"]}
        if index + 1 < len(scored):
            following = scored[index + 1][1]
            row["ahead_of_next_beyond_spread"] = abs(stats["mean"] - following["mean"]) > stats["std"] + following["std"]
        ranking.append(row)
    return ranking


# ---------------------------------------------------------------------------------- tables


def _cell(stats: Mapping[str, Any] | None) -> str:
    if not stats or stats.get("mean") is None:
        return "–"
    return f"{stats['mean']:.4g} ± {stats['std']:.2g}" if stats["n"] > 1 else f"{stats['mean']:.4g}"


def _tables(summary: Mapping[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table the report shows."""
    variants = summary["variants"]
    shown = [m for m in TABLE_METRICS if any(m in v["metrics"] for v in variants.values())]
    tables = []
    header = ["variant", "runs (done / diverged / failed)", "steps", "steps/s", "parameters"] + shown
    rows = []
    for name, v in variants.items():
        params = ", ".join(f"{role[0].upper()} {count / 1e6:.2f}M" for role, count in v["parameters"].items())
        rows.append([name, f"{v['done']} / {v['diverged']} / {v['failed']}", _cell(v["steps"]),
                     _cell(v["steps_per_sec"]), params or "–"]
                    + [_cell(v["metrics"].get(m, {}).get("end")) for m in shown])
    tables.append(("At the end (mean ± std over seeds)", header, rows))
    titles = {"best": "At its best (each seed's best evaluation)",
              "equal_time": (f"At equal training time ({summary['equal_time_seconds'] or 0:.0f} s: "
                             + ("the budget, so each run's last evaluation)" if summary.get("equal_time_is_budget")
                                else "the shortest run's)")),
              "equal_steps": f"At equal steps ({summary['equal_steps'] or 0:,}: the shortest run's)"}
    for section, title in titles.items():
        rows = [[name] + [_cell(v["metrics"].get(m, {}).get(section)) for m in shown] for name, v in variants.items()]
        tables.append((title, ["variant"] + shown, rows))
    reals = [["real vs real"] + [f"{next((v['metrics'][m]['real_vs_real'] for v in variants.values() if m in v['metrics'] and v['metrics'][m]['real_vs_real'] is not None), float('nan')):.4g}" for m in shown]]
    tables.append(("The same metrics for 1,000 other real digits (the good end of each scale)", ["set"] + shown, reals))
    return tables


def ranking_lines(summary: Mapping[str, Any]) -> list[str]:
    lines = []
    for index, row in enumerate(summary["ranking"]):
        note = ""
        if "ahead_of_next_beyond_spread" in row:
            nxt = summary["ranking"][index + 1]["variant"]
            note = (f" — ahead of {nxt} beyond the seeds' spread" if row["ahead_of_next_beyond_spread"]
                    else f" — within the seeds' spread of {nxt}")
        lines.append(f"{index + 1}. {row['variant']}: {row['metric']} {row['mean']:.4g} ± {row['std']:.2g} "
                     f"({row['n']} seeds){note}")
    return lines


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
    out += ["## Ranking", ""] + ranking_lines(summary) + [""]
    failed = [r for r in summary["runs"] if r["state"] in ("diverged", "failed")]
    if failed:
        out += ["## Runs that did not finish", ""]
        out += [f"- {r['variant']} seed {r['seed']}: {r['state']} at step {r['steps']:,}: {r['message']}" for r in failed]
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
    grids = [(name, path) for name, path in grids if path.is_file()]
    if not grids:
        return None
    figure, axes = plt.subplots(1, len(grids), figsize=(3.6 * len(grids), 4), squeeze=False)
    for ax, (name, path) in zip(axes[0], grids):
        with Image.open(path) as image:
            ax.imshow(image.convert("L"), cmap="gray", vmin=0, vmax=255)
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
    parts.append("<h2>Ranking</h2><ol>" + "".join(f"<li>{esc(line.split('. ', 1)[1])}</li>"
                                                 for line in ranking_lines(summary)) + "</ol>")
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
