"""Staff pages at /admin: login, the dashboard, narration rebuilds and reloads.

They are off (404) until a staff account exists (`tour staff add`). Staff log in with
their name and password; the session lives in the database and its cookie is HttpOnly,
SameSite=Strict (Secure when the public address is https). Every POST carries the
session's CSRF token; the login form, before any session, carries a nonce cookie's.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import mimetypes
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from aiohttp import web

from tour.render.site import format_duration
from tour.scans.stats import BASELINE_DAYS, RECENT_DAYS, plaque_health, summarize, to_csv
from tour.scans.store import DailyCount
from tour.staff.accounts import (
    SESSION_SECONDS,
    LoginsBusy,
    end_session,
    record,
    role_allows,
    set_language,
    start_session,
)
from tour.staff.accounts import verify_login as check_password
from tour.staff.words import STAFF_LANGUAGES, staff_words
from tour.voice.manifest import narration_status
from tour.voice.narration import NarrationBuilder
from tour.voice.speech import choose_voice
from tour.web.common.clients import client_address, on_this_machine
from tour.web.keys import not_found_key, recorder_key, settings_key, site_key, staff_db_key
from tour.web.lifecycle import rebuild_site, reload_stop_files
from tour.web.studio.accounts import add_account_routes
from tour.web.studio.admin_state import BuildRunning, RebuildJob
from tour.web.studio.auth import (
    LANGUAGE_COOKIE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    STAFF_ASSETS,
    checked_post,
    csrf_matches,
    current_staff,
    login_page_language,
    pages_on,
    raise_response,
    read_staff_form,
    render_staff,
    require_staff,
    secure_staff,
)
from tour.web.studio.keys import admin_key
from tour.web.studio.stops import add_studio_routes
from tour.web.studio.walk import add_walk_routes

log = logging.getLogger(__name__)

CHART_DAYS = 30


async def require_pages_on(request: web.Request) -> None:
    if not await pages_on(request):
        raise_response(request.app[not_found_key](request))


def set_staff_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int
) -> None:
    # Secure when the public address is https; but staff trying the tour on their own
    # machine (make run, http://127.0.0.1:8080) use plain http, where some browsers drop
    # Secure cookies and the login would fail. A proxy that speaks https to the browser
    # (X-Forwarded-Proto) keeps them Secure even if it passes on a loopback Host.
    forwarded_https = request.headers.get("X-Forwarded-Proto", "").lower() == "https"
    local = on_this_machine(request.host) and not forwarded_https
    secure = request.app[admin_key].secure_cookies and not local
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="Strict",
        secure=secure,
        path="/admin",
        max_age=max_age,
    )


# --- login, logout and the staff language ---------------------------------------------------


def login_page(
    request: web.Request, message_key: str = "", status: int = 200, user: str = ""
) -> web.Response:
    nonce = secrets.token_urlsafe(16)
    words = staff_words()[login_page_language(request)]
    response = render_staff(
        request,
        None,
        "login.html",
        status=status,
        csrf=nonce,
        message=words[message_key] if message_key else "",
        user=user,
    )
    set_staff_cookie(request, response, LOGIN_COOKIE, nonce, 3600)
    return response


def login_nonce_matches(request: web.Request, form: dict[str, str]) -> bool:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    return bool(expected) and csrf_matches(expected, form.get("csrf", ""))


async def login_form(request: web.Request) -> web.Response:
    await require_pages_on(request)
    if await current_staff(request):
        raise web.HTTPSeeOther("/admin")
    return login_page(request)


async def login(request: web.Request) -> web.Response:
    await require_pages_on(request)
    state = request.app[admin_key]
    form = await read_staff_form(request, None)
    if not login_nonce_matches(request, form):
        words = staff_words()[login_page_language(request)]
        raise web.HTTPForbidden(text=words["login_expired"])
    now = time.time()
    client = client_address(request)
    # Names are counted as typed, lower-cased: a guesser cannot dodge the limit by case.
    name = form.get("user", "").strip().lower()[:64]
    if state.client_failures.exceeded(client, now) or state.account_failures.exceeded(name, now):
        return login_page(request, "login_locked", 429, user=name)
    # Each attempt counts as a failure before the password is checked (no await between
    # the look and the count): guesses sent at once cannot all pass the limit.
    state.client_failures.note(client, now)
    state.account_failures.note(name, now)
    try:
        account = await check_password(request.app[staff_db_key], name, form.get("password", ""))
    except LoginsBusy:
        # Not a wrong guess: it does not count against the address or the name.
        state.client_failures.take_back(client, now)
        state.account_failures.take_back(name, now)
        return login_page(request, "login_busy", 429, user=name)
    if account is None:
        return login_page(request, "login_wrong", 401, user=name)
    # Only wrong passwords count: an office logging in all morning is never locked out.
    state.client_failures.take_back(client, now)
    state.account_failures.take_back(name, now)
    token, _ = await start_session(request.app[staff_db_key], account, now)
    response = web.HTTPSeeOther("/admin")
    set_staff_cookie(request, response, SESSION_COOKIE, token, SESSION_SECONDS)
    response.del_cookie(LOGIN_COOKIE, path="/admin")
    raise response


async def logout(request: web.Request) -> web.Response:
    await checked_post(request)
    await end_session(request.app[staff_db_key], request.cookies.get(SESSION_COOKIE, ""))
    response = web.HTTPSeeOther("/admin/login")
    response.del_cookie(SESSION_COOKIE, path="/admin")
    raise response


async def choose_language(request: web.Request) -> web.Response:
    """Store the staff language: in the account when logged in, else in a cookie."""
    await require_pages_on(request)
    if await current_staff(request):
        staff, form = await checked_post(request)
        lang = form.get("lang", "")
        if lang not in STAFF_LANGUAGES:
            raise web.HTTPBadRequest(text=staff.words["error_language"])
        await set_language(request.app[staff_db_key], staff.account.name, lang)
        raise web.HTTPSeeOther("/admin")
    form = await read_staff_form(request, None)
    if not login_nonce_matches(request, form):
        raise web.HTTPForbidden(text=staff_words()[login_page_language(request)]["login_expired"])
    lang = form.get("lang", "")
    if lang not in STAFF_LANGUAGES:
        raise web.HTTPBadRequest(text=staff_words()[login_page_language(request)]["error_language"])
    response = web.HTTPSeeOther("/admin/login")
    set_staff_cookie(request, response, LANGUAGE_COOKIE, lang, 365 * 24 * 3600)
    raise response


async def static_asset(request: web.Request) -> web.Response:
    """Serve an allow-listed staff script or style from templates/studio/."""
    await require_pages_on(request)
    name = request.match_info["name"]
    if name not in STAFF_ASSETS:
        return request.app[not_found_key](request)
    body = asset_bytes(request, name)
    tag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if tag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = web.Response(body=body, headers=headers, content_type=content_type, charset="utf-8")
    response.headers.update(request.app[site_key].current.security_headers)
    return response


def asset_bytes(request: web.Request, name: str) -> bytes:
    environment = request.app[admin_key].environment
    loader = environment.loader
    assert loader is not None
    text = loader.get_source(environment, f"studio/{name}")[0]
    if name == "admin.css":
        # The staff pages share the visitor pages' colours and type.
        text = loader.get_source(environment, "page.css")[0] + "\n" + text
    return text.encode("utf-8")


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
    staff = await require_staff(request)
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
        job=state.job.status() if state.job else None,
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
    await require_staff(request)
    rows = await request.app[recorder_key].read_daily(date(2000, 1, 1))
    response = web.Response(
        text=to_csv(rows),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="scans.csv"'},
    )
    secure_staff(request, response)
    return response


# --- rebuilding and reloading -------------------------------------------------------------


async def rebuild(request: web.Request) -> web.Response:
    staff, form = await checked_post(request, "publisher")
    state = request.app[admin_key]
    tour = request.app[site_key].current.tour
    scope = form.get("stop", "all")
    if scope != "all" and tour.stop_by_id(scope) is None:
        raise web.HTTPBadRequest(text=staff.words["rebuild_unknown_stop"])
    job = RebuildJob(scope=scope, started=time.time())
    try:
        # Started before any await: a build queued by a publish meanwhile waits for this one.
        state.start_build(job, functools.partial(run_rebuild, request.app))
    except BuildRunning:
        raise web.HTTPConflict(text=staff.words["rebuild_running"]) from None
    await record(request.app[staff_db_key], staff.account.name, "rebuild", scope)
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
    await require_staff(request)
    job = request.app[admin_key].job
    response = web.json_response(job.status() if job else {"running": False})
    secure_staff(request, response)
    return response


async def reload(request: web.Request) -> web.Response:
    staff, _ = await checked_post(request, "publisher")
    state = request.app[admin_key]
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


def add_admin_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/admin", dashboard, name="admin")
    router.add_get("/admin/", dashboard, name="admin_slash")
    router.add_get("/admin/login", login_form, name="admin_login")
    router.add_post("/admin/login", login)
    router.add_post("/admin/logout", logout, name="admin_logout")
    router.add_post("/admin/language", choose_language, name="admin_language")
    router.add_get("/admin/static/{name}", static_asset, name="admin_static")
    router.add_post("/admin/rebuild", rebuild, name="admin_rebuild")
    router.add_get("/admin/rebuild/status", rebuild_status, name="admin_rebuild_status")
    router.add_post("/admin/reload", reload, name="admin_reload")
    router.add_get("/admin/scans.csv", scans_csv, name="admin_scans_csv")
    add_account_routes(app)
    add_studio_routes(app)
    add_walk_routes(app)
