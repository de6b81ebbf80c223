"""Preview a draft exactly as visitors would see it, and listen to it before it is live.

The preview is the visitor renderer's own page for the draft tour, with a thin staff
bar on top. Each language plays the draft narration when one was built for the
draft's text, which only logged-in staff can fetch, at /admin/drafts/audio/<name> (never
under /media); else the live narration when it still speaks that text; else nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from aiohttp import web

from tour.catalog.messages import Message
from tour.core.model import Tour
from tour.core.settings import apply_settings
from tour.render.headers import security_headers
from tour.render.links import Links
from tour.render.site import read_manifest, read_photo_manifest, render_site
from tour.staff.editing import draft_tour, field_problems
from tour.staff.listen import DraftListen, drafts_media_dir
from tour.staff.problem_words import say
from tour.voice.manifest import AudioEntry, Manifest, audio_dir, is_current
from tour.voice.speech import choose_voice
from tour.web.keys import settings_key, site_key
from tour.web.lifecycle import router_links
from tour.web.studio.auth import (
    StaffContext,
    form_key,
    render_staff,
    staff_key,
)
from tour.web.studio.jobs import ListenJob, ListenRunning, run_job
from tour.web.studio.keys import studio_key
from tour.web.studio.stop_access import Loaded, load_stop, not_found_page

log = logging.getLogger(__name__)

DRAFT_AUDIO_PREFIX = "/admin/drafts/audio/"
VTT_CONTENT_TYPE = "text/vtt; charset=utf-8"
BODY_TAG = re.compile(rb"<body[^>]*>")
OFFLINE_SCRIPT = b'<script src="/offline.js" defer></script>'
"""The visitors' offline script. It registers the service worker, which the preview's
policy refuses (a CSP violation on every preview), and offers to save the tour, which
a draft has no use for; the preview leaves it out."""
OFFLINE_PRELOAD = b'<link rel="preload" href="/offline.js" as="script">\n'
"""The head's early request for that script, left out with it."""

LISTEN_MESSAGES = {"busy", "started", "problems"}
"""What a listen request without JavaScript comes back to the form to say."""


def narration_progress(app: web.Application, stop_id: str) -> dict[str, Any] | None:
    """This stop's live narration build: queued, running or last finished; else None."""
    jobs = app[studio_key].jobs
    if stop_id in jobs.queue:
        return {"waiting": True, "running": False, "failed": False}
    job = jobs.build
    if job is None or job.scope != stop_id:
        return None
    return {"waiting": False, **job.status()}


def listen_message(request: web.Request, staff: StaffContext, stop_id: str) -> str:
    """The line a listen request left for the form (no-JavaScript path)."""
    said = request.query.get("listen", "")
    if said not in LISTEN_MESSAGES:
        return ""
    job = request.app[studio_key].jobs.listen
    busy_stop = job.stop if job is not None else stop_id
    return {
        "busy": staff.words["studio_listen_busy"].format(stop=busy_stop),
        "started": staff.words["studio_listen_started"],
        "problems": staff.words["studio_listen_has_problems"],
    }[said]


def preview_narration(tour: Tour, drafts: Manifest, live: Manifest) -> Manifest:
    """Per stop and language, the narration that speaks the draft's text: the draft
    narration built for it, else the live one when the draft left that language's
    text as it was, else none."""
    chosen: dict[tuple[str, str], AudioEntry] = {}
    for stop in tour.stops:
        for lang in tour.languages:
            for manifest in (drafts, live):
                entry = manifest.entries.get((stop.id, lang))
                if entry is not None and is_current(tour, stop, lang, entry):
                    chosen[(stop.id, lang)] = entry
                    break
    return Manifest(chosen)


def preview_links(links: Links, draft_files: Collection[str]) -> Links:
    """The visitor pages' links, but draft narration comes from the drafts area (staff only)."""

    def audio(name: str) -> str:
        return DRAFT_AUDIO_PREFIX + name if name in draft_files else links.audio(name)

    return dataclasses.replace(links, audio=audio)


def preview_policy(policy: str) -> str:
    """The page's own CSP, but no service worker: /admin must never register the visitors'."""
    directives = [part for part in policy.split("; ") if not part.startswith("worker-src")]
    return "; ".join([*directives, "worker-src 'none'"])


def render_preview(
    tour: Tour, stop_id: str, lang: str, media_dir: Path, links: Links
) -> tuple[bytes, str, bool]:
    """Render the draft tour; return the stop's page, its CSP, and whether it has draft audio."""
    drafts = drafts_media_dir(media_dir)
    draft_manifest = read_manifest(drafts)
    manifest = preview_narration(tour, draft_manifest, read_manifest(media_dir))
    draft_files = manifest.files().keys() & draft_manifest.files().keys()
    site = render_site(
        tour,
        manifest,
        drafts,
        preview_links(links, draft_files),
        read_photo_manifest(media_dir),
    )
    stop = tour.stop_by_id(stop_id)
    assert stop is not None  # draft_tour returns only tours that hold the stop
    page = site.pages.stops[(lang, stop.code)]
    has_audio = DRAFT_AUDIO_PREFIX.encode() in page.body
    return page.body, site.pages.content_security_policy, has_audio


def with_staff_bar(page: bytes, bar: str) -> bytes:
    """Put the staff bar first in the page's body, and leave out the offline script."""
    page = page.replace(OFFLINE_SCRIPT, b"").replace(OFFLINE_PRELOAD, b"")
    match = BODY_TAG.search(page)
    at = match.end() if match else 0
    return page[:at] + bar.encode("utf-8") + page[at:]


async def problems_page(request: web.Request, staff: StaffContext, loaded: Loaded) -> web.Response:
    """The draft cannot be loaded as a tour: say why, field by field (422)."""
    stops_dir = request.app[settings_key].stops_dir
    problems = await asyncio.to_thread(field_problems, stops_dir, loaded.stop_id, loaded.latest)
    lines = [
        say(Message.of("field_line", field=name, message=message) if name else message, staff.lang)
        for name, messages in problems.items()
        for message in messages
    ]
    message = " ".join([staff.words["studio_preview_problems"], *lines])
    return render_staff(request, staff, "error.html", status=422, message=message)


async def preview(request: web.Request) -> web.Response:
    staff = request[staff_key]
    loaded = await load_stop(request, staff)
    app = request.app
    settings = app[settings_key]
    live = app[site_key].current.tour
    lang = request.query.get("lang", live.default_language)
    if lang not in live.languages:
        message = staff.words["studio_preview_bad_lang"].format(
            lang=lang, languages=", ".join(live.languages)
        )
        not_found_page(request, staff, message)
    tour = await asyncio.to_thread(draft_tour, settings.stops_dir, loaded.stop_id, loaded.latest)
    if tour is None:
        return await problems_page(request, staff, loaded)
    tour = apply_settings(tour, settings)
    page, policy, has_audio = await asyncio.to_thread(
        render_preview, tour, loaded.stop_id, lang, settings.media_dir, router_links(app)
    )
    bar = (
        app[studio_key]
        .environment.get_template("studio/preview_bar.html")
        .render(
            words=staff.words,
            lang=staff.lang,
            csrf=staff.csrf,
            stop_id=loaded.stop_id,
            draft=loaded.draft is not None,
            shown=lang,
            languages=[(code, tour.ui[code]["language_name"]) for code in tour.languages],
            draft_audio=has_audio,
        )
    )
    response = web.Response(
        body=with_staff_bar(page, bar), content_type="text/html", charset="utf-8"
    )
    response.headers.update(security_headers(tour, preview_policy(policy)))
    # A draft changes as it is edited: no browser or proxy may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


async def draft_audio(request: web.Request) -> web.StreamResponse:
    """Serve a draft narration file that the drafts manifest names, with byte ranges."""
    staff = request[staff_key]
    name = request.match_info["name"]
    drafts = drafts_media_dir(request.app[settings_key].media_dir)
    manifest = await asyncio.to_thread(read_manifest, drafts)
    # Only names the manifest lists: URL text is never joined onto a folder.
    path = audio_dir(drafts) / name if name in manifest.files() else None
    if path is None or not path.is_file():
        not_found_page(request, staff, staff.words["studio_unknown_file"].format(name=name))
    content_type = VTT_CONTENT_TYPE if path.suffix == ".vtt" else "audio/mpeg"
    response = web.FileResponse(path, headers={"Content-Type": content_type})
    return response


# --- listening to a draft -----------------------------------------------------------------


async def run_listen(app: web.Application, job: ListenJob, tour: Tour) -> None:
    """Build the draft narration; a failure ends as one line in the job, never silently."""
    await run_job(job, listen_to_draft(app, job, tour), f"draft narration of {job.stop}")


async def listen_to_draft(app: web.Application, job: ListenJob, tour: Tour) -> None:
    settings = app[settings_key]
    voice, why = await asyncio.to_thread(choose_voice, settings.audio_engine)
    log.info("draft narration of %s: %s", job.stop, why)
    job.listen = DraftListen(
        tour,
        job.stop,
        job.languages,
        settings.media_dir,
        voice,
        progress=lambda line: log.info("draft narration of %s: %s", job.stop, line),
    )
    await job.listen.run()  # its failures are in its status, one line each


def listen_answer(
    request: web.Request, stop_id: str, said: str, line: str, status: int
) -> web.Response:
    """JSON for the page's script; without it, back to the form, which says `said`."""
    if "application/json" in request.headers.get("Accept", ""):
        body = {"started": True} if status == 202 else {"error": line}
        response = web.json_response(body, status=status)
        return response
    raise web.HTTPSeeOther(f"/admin/stops/{stop_id}?listen={said}#listen-heading")


async def listen(request: web.Request) -> web.Response:
    """Start building the draft's narration (`lang` one language or all), one job at a time."""
    staff, form = request[staff_key], request[form_key]
    loaded = await load_stop(request, staff)
    app = request.app
    settings = app[settings_key]
    jobs = app[studio_key].jobs
    live = app[site_key].current.tour
    choice = form.get("lang", "all")
    languages = live.languages if choice == "all" else (choice,)
    if choice != "all" and choice not in live.languages:
        message = staff.words["studio_preview_bad_lang"].format(
            lang=choice, languages=", ".join(live.languages)
        )
        return listen_answer(request, loaded.stop_id, "problems", message, 400)
    tour = await asyncio.to_thread(draft_tour, settings.stops_dir, loaded.stop_id, loaded.latest)
    if tour is None:
        line = staff.words["studio_listen_has_problems"]
        return listen_answer(request, loaded.stop_id, "problems", line, 422)
    job = ListenJob(loaded.stop_id, tuple(languages))
    try:
        # After the last await: two requests cannot both start a job.
        jobs.start_listen(
            job, functools.partial(run_listen, app, tour=apply_settings(tour, settings))
        )
    except ListenRunning:
        busy = jobs.listen.stop if jobs.listen else loaded.stop_id
        line = staff.words["studio_listen_busy"].format(stop=busy)
        return listen_answer(request, loaded.stop_id, "busy", line, 409)
    return listen_answer(request, loaded.stop_id, "started", "", 202)


async def listen_status(request: web.Request) -> web.Response:
    staff = request[staff_key]
    loaded = await load_stop(request, staff)
    job = request.app[studio_key].jobs.listen
    status = job.status() if job is not None and job.stop == loaded.stop_id else {"running": False}
    response = web.json_response(status)
    return response
