"""Scan figures for staff: totals, a CSV export, and plaque health."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from tour.core.model import Tour
from tour.scans.store import DailyCount

CSV_HEADER = ("day", "stop", "lang", "scans")
RECENT_DAYS = 14
BASELINE_DAYS = 56
MIN_BASELINE_SCANS = 20
"""Below this a stop's usual share is too noisy to judge."""
MIN_RECENT_TOTAL = 30
FELL_BELOW = 0.4
"""A stop is flagged when its recent share is under this fraction of its usual share..."""
NEIGHBOURS_KEPT = 0.7
"""...while its neighbours on the walk kept at least this fraction of theirs."""
PLAQUE_WARNING = "check this plaque: faded, damaged or missing?"


def summarize(rows: Sequence[DailyCount]) -> dict[str, Counter[str]]:
    """Totals by stop, by language and by day."""
    totals: dict[str, Counter[str]] = {"stop": Counter(), "lang": Counter(), "day": Counter()}
    for row in rows:
        totals["stop"][row.stop] += row.scans
        totals["lang"][row.lang] += row.scans
        totals["day"][row.day] += row.scans
    return totals


def to_csv(rows: Sequence[DailyCount]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow((row.day, row.stop, row.lang, row.scans))
    return buffer.getvalue()


def format_report(tour: Tour, rows: Sequence[DailyCount], since: date, until: date) -> str:
    """Scans per stop, per language and per day, readable in a terminal."""
    total = sum(row.scans for row in rows)
    by_stop: dict[str, Counter[str]] = {stop.id: Counter() for stop in tour.stops}
    by_lang: Counter[str] = Counter()
    by_day: Counter[str] = Counter()
    for row in rows:
        by_stop.setdefault(row.stop, Counter())[row.lang] += row.scans
        by_lang[row.lang] += row.scans
        by_day[row.day] += row.scans
    lines = [f"Scans from {since} to {until}: {total:,}"]
    if not total:
        return lines[0] + " (none yet)"
    lines.append("")
    languages = list(tour.languages) + sorted(set(by_lang) - set(tour.languages))
    lines.append(f"{'stop':<28}{'total':>7}" + "".join(f"{lang:>7}" for lang in languages))
    for number, (stop_id, counts) in enumerate(by_stop.items(), start=1):
        cells = "".join(f"{counts[lang]:>7,}" for lang in languages)
        lines.append(f"{number:>2}. {stop_id:<24}{sum(counts.values()):>7,}{cells}")
    shares = ", ".join(
        f"{lang} {by_lang[lang]:,} ({by_lang[lang] / total:.0%})" for lang in languages
    )
    lines += ["", f"By language: {shares}", "", "By day:"]
    peak = max(by_day.values())
    day = since
    while day <= until:
        count = by_day[day.isoformat()]
        bar = "█" * round(30 * count / peak) if count else ""
        lines.append(f"  {day}  {count:>6,}  {bar}".rstrip())
        day += timedelta(days=1)
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class PlaqueFlag:
    stop: str
    recent_share: float
    usual_share: float
    message: str = PLAQUE_WARNING


def plaque_health(tour: Tour, rows: Sequence[DailyCount], today: date) -> list[PlaqueFlag]:
    """Flag stops whose share of scans fell far below usual while their neighbours' did not.

    Comparing shares, not counts, keeps a quiet week or a busy holiday from flagging
    every plaque; requiring the neighbours to hold steady points at the plaque itself
    rather than at a closed path or a re-routed walk.
    """
    recent_from = today - timedelta(days=RECENT_DAYS - 1)
    baseline_from = recent_from - timedelta(days=BASELINE_DAYS)
    recent: Counter[str] = Counter()
    baseline: Counter[str] = Counter()
    for row in rows:
        day = date.fromisoformat(row.day)
        if recent_from <= day <= today:
            recent[row.stop] += row.scans
        elif baseline_from <= day < recent_from:
            baseline[row.stop] += row.scans
    recent_total, baseline_total = sum(recent.values()), sum(baseline.values())
    if recent_total < MIN_RECENT_TOTAL or not baseline_total:
        return []

    def ratio(stop_id: str) -> float | None:
        usual = baseline[stop_id] / baseline_total
        return None if usual == 0 else (recent[stop_id] / recent_total) / usual

    flags = []
    for stop in tour.stops:
        if baseline[stop.id] < MIN_BASELINE_SCANS:
            continue
        kept = ratio(stop.id)
        if kept is None or kept >= FELL_BELOW:
            continue
        neighbours = [n for n in tour.neighbours(stop) if n is not None]
        neighbour_ratios = [r for r in (ratio(n.id) for n in neighbours) if r is not None]
        if neighbour_ratios and all(r >= NEIGHBOURS_KEPT for r in neighbour_ratios):
            flags.append(
                PlaqueFlag(
                    stop=stop.id,
                    recent_share=recent[stop.id] / recent_total,
                    usual_share=baseline[stop.id] / baseline_total,
                )
            )
    return flags
