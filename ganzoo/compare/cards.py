"""Zoo cards: the recorded results of comparisons (``ganzoo compare --record``), one CSV row
per variant per comparison, shipped with ganzoo like timm's results CSVs, and shown by
``ganzoo info VARIANT`` and ``ganzoo list --results``. Reading them never imports torch.

``$GANZOO_ZOO_CARDS`` points both reading and recording at another file. Columns are only ever
appended to :data:`FIELDS`: a file written before a column existed still reads (that column
None), and recording into it rewrites it once with the full header.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ganzoo.atomic import write_atomically
from ganzoo.errors import DataError

CARDS_FILE = Path(__file__).with_name("zoo-cards.csv")
"""The cards shipped with ganzoo."""
FIELDS = ("variant", "date", "machine", "torch", "ganzoo", "budget", "seeds", "steps", "steps_per_sec",
          "fd", "fd_std", "fd_real_vs_real", "two_sample", "two_sample_std", "class_accuracy",
          "class_accuracy_std", "extractor_sha256", "compared_with", "coverage", "coverage_std", "device",
          "commit")
"""The columns, in file order; new ones are appended, never inserted."""
NUMBERS = ("seeds", "steps", "steps_per_sec", "fd", "fd_std", "fd_real_vs_real", "two_sample", "two_sample_std",
           "class_accuracy", "class_accuracy_std", "coverage", "coverage_std")
COVERAGE_METRIC = "coverage.classes"
"""The coverage a card shows: how many classes the samples cover (the digit classifier's)."""


def cards_file() -> Path:
    return Path(os.environ.get("GANZOO_ZOO_CARDS") or CARDS_FILE)


def read_cards(path: Path | None = None) -> list[dict[str, Any]]:
    """Every recorded card, oldest first (numbers as floats, missing ones None)."""
    path = path or cards_file()
    if not path.is_file():
        return []
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_text())))
    except (OSError, csv.Error, UnicodeDecodeError) as err:
        raise DataError(f"{path}: unreadable zoo cards ({err})") from None
    cards = []
    for row in rows:
        card: dict[str, Any] = {key: row.get(key) or None for key in FIELDS}
        for key in NUMBERS:
            try:
                card[key] = None if card[key] is None else float(card[key])
            except ValueError:
                raise DataError(f"{path}: zoo card of {card['variant']!r}: {key} is {card[key]!r}, not a number") from None
        cards.append(card)
    return cards


def cards_of(variant: str, path: Path | None = None) -> list[dict[str, Any]]:
    return [card for card in read_cards(path) if card["variant"] == variant]


def device_of(summary: Mapping[str, Any], variant: str | None = None) -> str | None:
    """The device a comparison trained on: the report's ``device`` when it says, else the
    variant's configured one when not ``auto``, else read from the machine's name (a CPU's
    names its cores, a GPU's does not); None when nothing says."""
    if summary.get("device"):
        return str(summary["device"])
    config = (summary["plan"].get("configs") or {}).get(variant) or {}
    device = config.get("device")
    if device and device != "auto":
        return str(device).split(":")[0]
    machine = summary.get("machine")
    if not machine:
        return None
    return "cpu" if " cores" in machine else "cuda"


def cards_from_report(summary: Mapping[str, Any], commit: str | None = None,
                      variants: Collection[str] | None = None) -> list[dict[str, Any]]:
    """One card per variant of a comparison's ``report.json`` (only ``variants`` when given;
    each card still names every variant it was compared with); ``commit``: the git commit of
    the ganzoo checkout that made it (empty when unknown)."""
    plan = summary["plan"]
    budget = f"{plan['minutes']:g} min" if plan["minutes"] else f"{plan['steps']} steps"
    cards = []
    for name, variant in summary["variants"].items():
        if variants is not None and name not in variants:
            continue
        metrics = variant["metrics"]

        def end(metric: str, key: str = "mean") -> Any:
            return metrics.get(metric, {}).get("end", {}).get(key)

        cards.append({
            "variant": name, "date": summary["date"], "torch": summary["torch"],
            "machine": summary["machine"] + (f"; {summary['jobs']} at a time, {summary['threads_per_job']} "
                                             f"thread(s) each" if summary.get("jobs") else ""),
            "ganzoo": summary["ganzoo"], "budget": budget, "seeds": variant["done"],
            "steps": variant["steps"]["mean"], "steps_per_sec": variant["steps_per_sec"]["mean"],
            "fd": end("frechet-distance"), "fd_std": end("frechet-distance", "std"),
            "fd_real_vs_real": metrics.get("frechet-distance", {}).get("real_vs_real"),
            "two_sample": end("two-sample"), "two_sample_std": end("two-sample", "std"),
            "class_accuracy": end("class-accuracy.overall"), "class_accuracy_std": end("class-accuracy.overall", "std"),
            "extractor_sha256": (summary.get("extractor_sha256") or "")[:12],
            "compared_with": " ".join(v for v in summary["variants"] if v != name),
            "coverage": end(COVERAGE_METRIC), "coverage_std": end(COVERAGE_METRIC, "std"),
            "device": device_of(summary, name), "commit": commit or "",
        })
    return cards


def record(summary: Mapping[str, Any], path: Path | None = None, commit: str | None = None,
           variants: Collection[str] | None = None) -> Path:
    """Append a comparison's cards (only ``variants``' when given) to the cards file (written
    atomically); ``commit``: the git commit of the ganzoo checkout that made the comparison,
    when the recording side knows it.
    A file written with fewer columns is rewritten with today's header, its rows kept."""
    path = path or cards_file()
    existing = path.read_text() if path.is_file() else ""
    header = _header(existing, path)
    buffer = io.StringIO()
    if header is None or list(header[:len(FIELDS)]) != list(FIELDS):
        # new file, or one from before a column was added: (re)write it whole with every column
        # (columns it has that this version does not know are kept at the end)
        fields = [*FIELDS, *(key for key in header or () if key not in FIELDS)]
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        if existing:
            writer.writerows(csv.DictReader(io.StringIO(existing)))
    else:
        fields = list(header)
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        buffer.write(existing if existing.endswith("\n") else existing + "\n")
    for card in cards_from_report(summary, commit, variants):
        writer.writerow({key: _format(card[key]) for key in FIELDS})
    text = buffer.getvalue()
    return write_atomically(path, lambda handle: handle.write(text.encode()))


def _header(text: str, path: Path) -> list[str] | None:
    """The column names of a cards file's text, or None when it is empty."""
    if not text.strip():
        return None
    try:
        return next(csv.reader(io.StringIO(text)))
    except csv.Error as err:
        raise DataError(f"{path}: unreadable zoo cards ({err})") from None


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def describe(card: Mapping[str, Any]) -> str:
    """One line: the card's quality (FD, two-sample, coverage and class accuracy where
    measured), its generator steps and speed, with its budget, device, machine, date and commit."""
    card = {key: card.get(key) for key in FIELDS}  # a card from before a column was added
    parts = []
    if card["fd"] is not None:
        real = f", real {card['fd_real_vs_real']:.3g}" if card["fd_real_vs_real"] is not None else ""
        parts.append(f"FD {card['fd']:.3g} ± {card['fd_std'] or 0:.2g}{real}")
    if card["two_sample"] is not None:
        parts.append(f"two-sample {card['two_sample']:.3f} ± {card['two_sample_std'] or 0:.2g}")
    if card["coverage"] is not None:
        parts.append(f"coverage {card['coverage']:.3g} ± {card['coverage_std'] or 0:.2g}")
    if card["class_accuracy"] is not None:
        parts.append(f"class accuracy {card['class_accuracy']:.3f} ± {card['class_accuracy_std'] or 0:.2g}")
    if card["steps"] is not None:
        parts.append(f"{card['steps']:,.0f} generator steps")
    if card["steps_per_sec"] is not None:
        parts.append(f"{card['steps_per_sec']:.1f} steps/s")
    seeds = int(card["seeds"]) if card["seeds"] is not None else "?"
    where = f"{card['device']}: {card['machine']}" if card["device"] else card["machine"]
    commit = f", commit {card['commit']}" if card["commit"] else ""
    return (f"{', '.join(parts)} — {card['budget']} × {seeds} seeds, {where}, torch {card['torch']}, "
            f"{card['date']}{commit}")
