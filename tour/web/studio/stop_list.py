"""`/admin/stops`: every stop in walking order, its state, problems, narration and scans."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from tour.catalog import check_tour
from tour.catalog.messages import Message
from tour.core.model import Stop, Tour
from tour.render.site import RenderedSite
from tour.scans.stats import summarize
from tour.staff.problem_words import Said
from tour.staff.revisions import Draft, list_drafts
from tour.voice.manifest import narration_status
from tour.web.keys import recorder_key, settings_key, site_key, staff_db_key
from tour.web.studio.auth import (
    render_staff,
    staff_key,
)
from tour.web.studio.keys import studio_key
from tour.web.studio.stop_access import field_order
from tour.web.studio.stop_forms import evaluate_form, ordered_problems

SCAN_DAYS = 30


@dataclass(frozen=True, slots=True)
class LanguageState:
    lang: str
    language_name: str
    status: str
    """current, stale, missing or failed (the last build after a publish failed)."""
    reason: str = ""


@dataclass(slots=True)
class StopRow:
    id: str
    name: str
    position: int | None
    """Its place in the walking order; None for a new stop not yet published."""
    state: str
    """live, or new."""
    draft: Draft | None
    problems: list[Said] = field(default_factory=list)
    narration: list[LanguageState] = field(default_factory=list)
    scans: int = 0


def stop_problems(
    stops_dir: Path, live: Tour, drafts: Mapping[str, Draft]
) -> dict[str, list[Said]]:
    """Problems per stop id: the tour's checks on disk, or on the draft where there is one.

    Each keeps its field and message apart, so the page says it in the staff language.
    """
    _, problems = check_tour(stops_dir)
    by_stop: dict[str, list[Said]] = {}
    for problem in problems:
        stop_id = Path(problem.path).name.removesuffix(".toml")
        line = Message.of("field_line", field=problem.field, message=problem.message)
        by_stop.setdefault(stop_id, []).append(line)
    order = field_order(live.languages)
    for stop_id, draft in drafts.items():
        result = evaluate_form(stops_dir, live, stop_id, draft.content, draft.base, {})
        by_stop[stop_id] = [
            Message.of("field_line", field=name, message=message) if name else message
            for name, message in ordered_problems(result.problems, order)
        ]
    return by_stop


def narration_states(
    site: RenderedSite, stop: Stop, failures: Mapping[str, str]
) -> list[LanguageState]:
    """Each language's narration as the dashboard judges it, marking a failed build."""
    tour = site.tour
    states = []
    for lang in tour.languages:
        entry = site.manifest.entries.get((stop.id, lang))
        status = narration_status(tour, stop, lang, entry)
        reason = failures.get(lang) or failures.get("", "")
        if status != "current" and reason:
            status = "failed"
        else:
            reason = ""
        states.append(LanguageState(lang, tour.ui[lang]["language_name"], status, reason))
    return states


async def stop_list(request: web.Request) -> web.Response:
    staff = request[staff_key]
    app = request.app
    site = app[site_key].current
    tour = site.tour
    drafts = await list_drafts(app[staff_db_key])
    problems = await asyncio.to_thread(stop_problems, app[settings_key].stops_dir, tour, drafts)
    today = datetime.now(UTC).date()
    daily = await app[recorder_key].read_daily(today - timedelta(days=SCAN_DAYS - 1))
    scans = summarize(daily)["stop"]
    failures = app[studio_key].narration_failures
    rows = [
        StopRow(
            id=stop.id,
            name=stop.name[tour.default_language],
            position=position,
            state="live",
            draft=drafts.get(stop.id),
            problems=problems.get(stop.id, []),
            narration=narration_states(site, stop, failures.get(stop.id, {})),
            scans=scans[stop.id],
        )
        for position, stop in enumerate(tour.stops, start=1)
    ]
    # Drafts of stops the walk page added, not published yet.
    rows.extend(
        StopRow(stop_id, stop_id, None, "new", draft, problems.get(stop_id, []))
        for stop_id, draft in sorted(drafts.items())
        if tour.stop_by_id(stop_id) is None
    )
    return render_staff(request, staff, "stops.html", rows=rows)
