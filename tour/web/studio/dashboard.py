"""The dashboard at /admin: scans by day, narration per stop, rebuilds and reloads."""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from aiohttp import web

from tour.render.site import format_duration
from tour.scans.stats import BASELINE_DAYS, RECENT_DAYS, plaque_health, summarize, to_csv
from tour.scans.store import DailyCount
from tour.staff.accounts import (
    record,
    role_allows,
)
from tour.voice.manifest import narration_status
from tour.web.keys import recorder_key, site_key, staff_db_key
from tour.web.lifecycle import reload_stop_files
from tour.web.studio.auth import (
    form_key,
    render_staff,
    staff_key,
)
from tour.web.studio.jobs import BuildJob, BuildRunning, run_job
from tour.web.studio.keys import studio_key
from tour.web.studio.publishing import build_for_job

log = logging.getLogger(__name__)

CHART_DAYS = 30


# --- the dashboard ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bar:
    day: str
    scans: int
    x: float
    y: float
    height: float


def day_bars(rows: list[DailyCount], today: date, days: int = CHART_DAYS) -> list[Bar]:
    """Lay out one bar per day for the server-rendered SVG chart (viewBox 0 0 300 100)."""
    totals = summarize(rows)["day"]
    counts = [
        (day.isoformat(), totals[day.isoformat()])
        for day in (today - timedelta(days=offset) for offset in range(days - 1, -1, -1))
    ]
    peak = max((count for _, count in counts), default=0) or 1
    width = 300 / days
    return [
        Bar(day, count, index * width, 100 - 95 * count / peak, 95 * count / peak)
        for index, (day, count) in enumerate(counts)
    ]


async def dashboard(request: web.Request) -> web.Response:
    staff = request[staff_key]
    state = request.app[studio_key]
    site = request.app[site_key].current
    tour = site.tour
    recorder = request.app[recorder_key]
    today = datetime.now(UTC).date()
    rows = await recorder.read_daily(today - timedelta(days=RECENT_DAYS + BASELINE_DAYS))
    month = [row for row in rows if row.day >= (today - timedelta(days=CHART_DAYS - 1)).isoformat()]
    totals = summarize(month)
    audio = []
    for stop in tour.stops:
        languages = []
        for lang in tour.languages:
            entry = site.manifest.entries.get((stop.id, lang))
            status = narration_status(tour, stop, lang, entry)
            built = staff.moment(built_at(entry.built_at)) if entry else ""
            languages.append((lang, entry, status, built))
        audio.append((stop, languages))
    return render_staff(
        request,
        staff,
        "dashboard.html",
        tour=tour,
        bars=day_bars(month, today),
        total=sum(totals["day"].values()),
        by_stop=totals["stop"],
        by_lang=totals["lang"],
        flags=plaque_health(tour, rows, today),
        audio=audio,
        format_duration=format_duration,
        job=state.jobs.build.status() if state.jobs.build else None,
        reload_problems=state.reload_problems,
        # Problems with no reload behind them were found at start-up (app.load_start_tour).
        reload_message=state.reload_message
        or (staff.words["reload_start_problems"] if state.reload_problems else ""),
        dropped=recorder.dropped,
        counting=recorder.enabled,
        can_publish=role_allows(staff.account.role, "publisher"),
    )


def built_at(stamp: str) -> float:
    """Unix seconds of a manifest's ISO 8601 build time (UTC when it names no zone)."""
    moment = datetime.fromisoformat(stamp)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


async def scans_csv(request: web.Request) -> web.Response:
    rows = await request.app[recorder_key].read_daily(date(2000, 1, 1))
    response = web.Response(
        text=to_csv(rows),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="scans.csv"'},
    )
    return response


# --- rebuilding and reloading -------------------------------------------------------------


async def rebuild(request: web.Request) -> web.Response:
    staff, form = request[staff_key], request[form_key]
    state = request.app[studio_key]
    tour = request.app[site_key].current.tour
    scope = form.get("stop", "all")
    if scope != "all" and tour.stop_by_id(scope) is None:
        raise web.HTTPBadRequest(text=staff.words["rebuild_unknown_stop"])
    job = BuildJob(scope=scope, started=time.time())
    try:
        # Started before any await: a build queued by a publish meanwhile waits for this one.
        state.jobs.start_build(job, functools.partial(run_rebuild, request.app))
    except BuildRunning:
        raise web.HTTPConflict(text=staff.words["rebuild_running"]) from None
    await record(request.app[staff_db_key], staff.account.name, "rebuild", scope)
    raise web.HTTPSeeOther("/admin#narration")


async def run_rebuild(app: web.Application, job: BuildJob) -> None:
    """Build narration in the background, then switch the pages to it in one step."""
    await run_job(job, build_narration(app, job), "narration rebuild")


async def build_narration(app: web.Application, job: BuildJob) -> None:
    stops = () if job.scope == "all" else (job.scope,)
    # One stop is rebuilt on request even if unchanged; "all" builds what is missing.
    await build_for_job(app, job, stops, force=job.scope != "all")


async def rebuild_status(request: web.Request) -> web.Response:
    job = request.app[studio_key].jobs.build
    response = web.json_response(job.status() if job else {"running": False})
    return response


async def reload(request: web.Request) -> web.Response:
    staff = request[staff_key]
    state = request.app[studio_key]
    await record(request.app[staff_db_key], staff.account.name, "reload")
    try:
        problems = await reload_stop_files(request.app)
    except Exception as error:  # a staff action must end with a message, never a 500
        log.exception("reload failed")
        state.reload_problems = []
        state.reload_message = staff.words["reload_failed"].format(error=error)
        raise web.HTTPSeeOther("/admin#reload") from None
    state.reload_problems = problems
    state.reload_message = (
        staff.words["reload_problems"]
        if problems
        else staff.words["reload_done"].format(at=staff.moment(time.time()))
    )
    raise web.HTTPSeeOther("/admin#reload")
