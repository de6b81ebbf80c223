"""Staff pages at /admin: scan figures, plaque health, narration rebuilds and reloads.

They exist only when TOUR_ADMIN_TOKEN is set. Staff log in with the token; the
session is a signed, HttpOnly, SameSite=Strict cookie (Secure when the public
address is https). Every POST carries a CSRF token tied to the session.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web
from markupsafe import Markup

from tour.audio_manifest import is_current
from tour.narration import NarrationBuilder
from tour.render.site import format_duration
from tour.speech import choose_voice
from tour.stats import BASELINE_DAYS, RECENT_DAYS, plaque_health, summarize, to_csv
from tour.store import DailyCount
from tour.web.admin_state import SESSION_SECONDS, RebuildJob
from tour.web.clients import client_address
from tour.web.keys import admin_key, recorder_key, settings_key, site_key
from tour.web.lifecycle import rebuild_site, reload_site
from tour.web.views import read_form

log = logging.getLogger(__name__)

SESSION_COOKIE = "tour_admin"
LOGIN_COOKIE = "tour_admin_login"
CHART_DAYS = 30


# --- responses ----------------------------------------------------------------------------


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    state = request.app[admin_key]
    html = state.environment.get_template(template).render(
        inline_style=Markup(state.style), inline_script=Markup(state.script), **context
    )
    response = web.Response(text=html, status=status, content_type="text/html")
    secure_page(request, response)
    return response


def secure_page(request: web.Request, response: web.StreamResponse) -> None:
    state = request.app[admin_key]
    site = request.app[site_key].current
    response.headers.update(site.security_headers)
    response.headers["Content-Security-Policy"] = state.policy
    # Staff pages show live figures and must never be kept by a shared cache.
    response.headers["Cache-Control"] = "no-store"


def session_of(request: web.Request) -> str | None:
    value = request.cookies.get(SESSION_COOKIE)
    state = request.app[admin_key]
    return value if state.auth.session_valid(value, time.time()) else None


def to_login() -> web.HTTPSeeOther:
    return web.HTTPSeeOther("/admin/login")


async def checked_form(request: web.Request) -> tuple[str, dict[str, str]]:
    """Return the session and the form of a staff POST, or refuse it (403) without CSRF."""
    session = session_of(request)
    if session is None:
        raise to_login()
    form = await read_form(request)
    if not request.app[admin_key].auth.csrf_valid(session, form.get("csrf", "")):
        raise web.HTTPForbidden(
            text="This form has expired or did not come from the staff pages. "
            "Go back, reload the page and try again."
        )
    return session, form


# --- login --------------------------------------------------------------------------------


def login_page(request: web.Request, message: str = "", status: int = 200) -> web.Response:
    nonce = secrets.token_urlsafe(16)
    response = render(request, "admin/login.html", status=status, csrf=nonce, message=message)
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="Strict",
        secure=request.app[admin_key].auth.secure_cookies,
        path="/admin",
        max_age=3600,
    )
    return response


async def login_form(request: web.Request) -> web.Response:
    if session_of(request):
        raise web.HTTPSeeOther("/admin")
    return login_page(request)


async def login(request: web.Request) -> web.Response:
    state = request.app[admin_key]
    form = await read_form(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), form.get("csrf", "").encode()):
        raise web.HTTPForbidden(text="This login form has expired; reload the page and try again.")
    now = time.time()
    client = client_address(request)
    if state.auth.locked_out(client, now):
        return login_page(request, "Too many wrong tokens. Wait five minutes and try again.", 429)
    if not state.auth.token_matches(form.get("token", "")):
        state.auth.note_failure(client, now)
        return login_page(request, "That token is not right.", 401)
    response = web.HTTPSeeOther("/admin")
    response.set_cookie(
        SESSION_COOKIE,
        state.auth.new_session(now),
        httponly=True,
        samesite="Strict",
        secure=state.auth.secure_cookies,
        path="/admin",
        max_age=SESSION_SECONDS,
    )
    response.del_cookie(LOGIN_COOKIE, path="/admin")
    raise response


async def logout(request: web.Request) -> web.Response:
    await checked_form(request)
    response = web.HTTPSeeOther("/admin/login")
    response.del_cookie(SESSION_COOKIE, path="/admin")
    raise response


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
    session = session_of(request)
    if session is None:
        raise to_login()
    state = request.app[admin_key]
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
            if entry is None:
                status = "missing"
            else:
                status = "current" if is_current(tour, stop, lang, entry) else "stale"
            languages.append((lang, entry, status))
        audio.append((stop, languages))
    return render(
        request,
        "admin/dashboard.html",
        tour=tour,
        csrf=state.auth.csrf_token(session),
        bars=day_bars(month, today),
        total=sum(totals["day"].values()),
        by_stop=totals["stop"],
        by_lang=totals["lang"],
        flags=plaque_health(tour, rows, today),
        audio=audio,
        format_duration=format_duration,
        job=state.job.status() if state.job else None,
        reload_problems=state.reload_problems,
        reload_message=state.reload_message,
        dropped=recorder.dropped,
        counting=recorder.enabled,
    )


async def scans_csv(request: web.Request) -> web.Response:
    if session_of(request) is None:
        raise to_login()
    rows = await request.app[recorder_key].read_daily(date(2000, 1, 1))
    response = web.Response(
        text=to_csv(rows),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="scans.csv"'},
    )
    secure_page(request, response)
    return response


# --- rebuilding and reloading -------------------------------------------------------------


async def rebuild(request: web.Request) -> web.Response:
    _, form = await checked_form(request)
    state = request.app[admin_key]
    tour = request.app[site_key].current.tour
    scope = form.get("stop", "all")
    if scope != "all" and tour.stop_by_id(scope) is None:
        raise web.HTTPBadRequest(text="Unknown stop. Choose a stop from the list on the dashboard.")
    if state.building:
        raise web.HTTPConflict(text="A narration build is already running; wait for it to finish.")
    state.job = RebuildJob(scope=scope, started=time.time())
    state.task = asyncio.create_task(run_rebuild(request.app, state.job))
    raise web.HTTPSeeOther("/admin#narration")


async def run_rebuild(app: web.Application, job: RebuildJob) -> None:
    """Build narration in the background, then switch the pages to it in one step."""
    settings = app[settings_key]
    holder = app[site_key]
    try:
        voice, why = await asyncio.to_thread(choose_voice, settings.audio_engine)
        job.lines.append(f"voice: {why}")
        job.builder = NarrationBuilder(
            holder.current.tour, settings.media_dir, voice, progress=job.lines.append
        )
        stops = () if job.scope == "all" else (job.scope,)
        # One stop is rebuilt on request even if unchanged; "all" builds what is missing.
        report = await job.builder.build(stops=stops, force=job.scope != "all")
        job.summary = report.summary()
        job.failed = not report.ok
        await rebuild_site(app)
    except asyncio.CancelledError:
        job.summary = "the build was stopped; the narration built so far is kept"
        job.failed = True
        raise
    except Exception as error:  # a staff action must end with a message, never silently
        log.exception("narration rebuild failed")
        job.summary = f"the build stopped: {error}"
        job.failed = True
    finally:
        job.finished = True


async def rebuild_status(request: web.Request) -> web.Response:
    if session_of(request) is None:
        raise web.HTTPUnauthorized(text="Log in again.")
    job = request.app[admin_key].job
    response = web.json_response(job.status() if job else {"running": False})
    secure_page(request, response)
    return response


async def reload(request: web.Request) -> web.Response:
    await checked_form(request)
    state = request.app[admin_key]
    try:
        problems = await reload_site(request.app)
    except Exception as error:  # a staff action must end with a message, never a 500
        log.exception("reload failed")
        state.reload_problems = []
        state.reload_message = f"The reload failed ({error}); the tour that was live stays live."
        raise web.HTTPSeeOther("/admin#reload") from None
    state.reload_problems = problems
    state.reload_message = (
        "The stop files have problems; the tour that was live stays live."
        if problems
        else f"Reloaded at {datetime.now(UTC):%H:%M:%S} UTC."
    )
    raise web.HTTPSeeOther("/admin#reload")


def add_admin_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/admin", dashboard, name="admin")
    router.add_get("/admin/login", login_form, name="admin_login")
    router.add_post("/admin/login", login)
    router.add_post("/admin/logout", logout, name="admin_logout")
    router.add_post("/admin/rebuild", rebuild, name="admin_rebuild")
    router.add_get("/admin/rebuild/status", rebuild_status, name="admin_rebuild_status")
    router.add_post("/admin/reload", reload, name="admin_reload")
    router.add_get("/admin/scans.csv", scans_csv, name="admin_scans_csv")
