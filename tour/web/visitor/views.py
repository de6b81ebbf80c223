"""Request handlers: each one picks stored bytes and sends them."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from tour.photos.manifest import media_type
from tour.render.site import ROBOTS_TXT
from tour.render.stored import StoredResponse
from tour.voice.captions import VTT_CONTENT_TYPE
from tour.web.common.answer_headers import StoredAnswer
from tour.web.common.bodies import read_form
from tour.web.common.clients import client_address
from tour.web.common.negotiation import LANGUAGE_COOKIE
from tour.web.keys import recorder_key, site_key
from tour.web.live_site import Site
from tour.web.visitor.keys import beacon_limit_key, scan_limit_key, visits_key

COOKIE_MAX_AGE = 365 * 24 * 3600
BEACONS_PER_CLIENT = 60
BEACON_WINDOW_S = 600.0
"""A visitor walking the tour scans a plaque every few minutes; a budget for a crowd
behind one shared (carrier-grade NAT) address, and a ceiling for a script."""
NEW_VISITS_PER_CLIENT = 200
NEW_VISIT_WINDOW_S = 600.0
"""Counted scans per address, whatever user agents it sends: a visit is keyed by address
and user agent, and the sender chooses the user agent. Indonesian carriers put many
phones behind one address (carrier-grade NAT): a boat of sixty visitors scanning a plaque
each in ten minutes stays well below 200; a script rotating user agents is served the
page, but past 200 it is neither counted nor remembered."""
Handler = Callable[[web.Request], Awaitable[web.Response]]
# Audio names are content hashes: a name never changes meaning, so caches may keep it forever.
AUDIO_CACHE_CONTROL = "public, max-age=31536000, immutable"


def visitor_language(request: web.Request, site: Site) -> str:
    """Choose by the language cookie, then Accept-Language, then fallbacks, then the default."""
    headers = request.headers
    # Parse cookies only when there are some: most first scans carry none.
    chosen = request.cookies.get(LANGUAGE_COOKIE) if "Cookie" in headers else None
    return site.negotiator.language(chosen, headers.get("Accept-Language", ""))


def send_stored(
    request: web.Request,
    site: Site,
    stored: StoredResponse,
    *,
    status: int = 200,
    negotiated: bool = False,
    public: bool = False,
) -> web.Response:
    """Send stored bytes: gzip when accepted, 304 when the client already has them."""
    request_headers = request.headers
    use_gzip = site.negotiator.gzip(request_headers.get("Accept-Encoding", ""))
    headers = site.headers_for(stored, use_gzip, negotiated, public)
    if status != 200:
        # An error page is not a cacheable version of anything: no ETag.
        headers = headers.copy()
        del headers["ETag"]
    else:
        if_none_match = request_headers.get("If-None-Match")
        if if_none_match and _client_has(if_none_match, stored):
            unchanged = headers.copy()
            del unchanged["Content-Type"]
            unchanged.popall("Content-Encoding", None)
            return StoredAnswer(status=304, headers=unchanged)
    body = stored.gzipped if use_gzip else stored.body
    return StoredAnswer(status=status, body=body, headers=headers)


def _client_has(if_none_match: str, stored: StoredResponse) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or stored.etag in tags or stored.gzip_etag in tags


def remember_language(request: web.Request, response: web.Response, lang: str) -> None:
    """Keep an explicitly chosen language, so the next scanned plaque opens in it."""
    if request.cookies.get(LANGUAGE_COOKIE) != lang:
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=COOKIE_MAX_AGE, path="/", samesite="Lax")


def not_found(request: web.Request, lang: str | None = None) -> web.Response:
    site = request.app[site_key].current
    pages = site.pages
    if lang in pages.not_found:
        return send_stored(request, site, pages.not_found[lang], status=404)
    page = pages.not_found[visitor_language(request, site)]
    return send_stored(request, site, page, status=404, negotiated=True)


# Link previews and crawlers fetch /s/ pages too; they are not visitors at a plaque.
CRAWLER_WORDS = (
    "bot",
    "crawl",
    "spider",
    "slurp",
    "preview",
    "facebookexternalhit",
    "whatsapp",
    "telegram",
    "curl",
    "wget",
)


@functools.lru_cache(maxsize=1024)
def is_crawler(agent: str) -> bool:
    """Phones send a few distinct user agents: match each against the list only once."""
    lowered = agent.lower()
    return any(word in lowered for word in CRAWLER_WORDS)


def visitor_agent(request: web.Request) -> str | None:
    """Return the user agent of a person's scan worth counting ("" if it names none).

    None when the request is no such scan: a crawler, a link preview, or the service
    worker saving pages for offline use.
    """
    headers = request.headers
    if request.method == "HEAD" or "X-Tour-Save" in headers:
        return None
    agent = headers.get("User-Agent", "")
    return None if agent and is_crawler(agent) else agent


async def scan(request: web.Request) -> web.Response:
    """Serve the QR target: the stop page in the visitor's language, with no redirect."""
    return await send_scan(request.match_info["code"].lower(), request)


def scan_of(code: str) -> Handler:
    """Return a handler for one stop's QR address, so the router matches it as a plain path."""
    # A partial, not a closure around send_scan: one call less on every scan. The code
    # goes first, positional: a keyword would cost a dict on every call.
    return functools.partial(send_scan, code)


async def send_scan(code: str, request: web.Request) -> web.Response:
    # Every QR scan runs this: look the app up once.
    app = request.app
    site = app[site_key].current
    lang = visitor_language(request, site)
    page = site.pages.stops.get((lang, code))
    if page is None:
        # A retired code's plaque is still on a wall: say where the stop went. Not a scan.
        retired = site.pages.retired.get((lang, code))
        if retired is not None:
            return send_stored(request, site, retired, negotiated=True)
        return not_found(request)
    agent = visitor_agent(request)
    if agent is not None:
        count_scan(request, app, agent, site.stop_ids[code], lang)
    return send_stored(request, site, page, negotiated=True)


def count_scan(
    request: web.Request, app: web.Application, agent: str, stop: str, lang: str
) -> None:
    """Count a person's scan once per visit, within the budget of its address."""
    visits = app[visits_key]
    address = client_address(request)
    # Most scans continue a visit (a reload, the plaque scanned again): the visit log
    # alone tells, and such a scan spends no budget.
    visit = visits.new_visit(address, agent, stop)
    if visit is None:
        return
    # An address past its budget is not even remembered, so it cannot push real visits
    # out of the visit log.
    limit, now = app[scan_limit_key], time.monotonic()
    if limit.exceeded(address, now):
        return
    visits.remember(visit)
    limit.note(address, now)
    # A camera app opens the code's address directly; a Referer means a followed link.
    source = "link" if "Referer" in request.headers else "qr"
    app[recorder_key].record(stop, lang, source)


async def stop_page(request: web.Request) -> web.Response:
    site = request.app[site_key].current
    lang = request.match_info["lang"]
    code = request.match_info["code"].lower()
    page = site.pages.stops.get((lang, code)) or site.pages.retired.get((lang, code))
    if page is None:
        return not_found(request, lang)
    response = send_stored(request, site, page)
    remember_language(request, response, lang)
    return response


async def index(request: web.Request) -> web.Response:
    site = request.app[site_key].current
    lang = request.match_info.get("lang")
    if lang is None:
        page = site.pages.indexes[visitor_language(request, site)]
        return send_stored(request, site, page, negotiated=True)
    if lang not in site.pages.indexes:
        return not_found(request)
    response = send_stored(request, site, site.pages.indexes[lang])
    remember_language(request, response, lang)
    return response


async def language_root(request: web.Request) -> web.Response:
    """Send `/en` on to `/en/`, the index in that language."""
    lang = request.match_info["lang"]
    if lang not in request.app[site_key].current.pages.indexes:
        return not_found(request)
    raise web.HTTPMovedPermanently(request.app.router["index"].url_for(lang=lang))


async def api_document(request: web.Request) -> web.Response:
    """Serve the tour as data, open to other sites (CORS), like any stored page."""
    site = request.app[site_key].current
    stored = site.api.get(request.match_info["name"])
    if stored is None:
        return not_found(request)
    return send_stored(request, site, stored, public=True)


async def scan_beacon(request: web.Request) -> web.Response:
    """Count a scan reported by a static copy of the tour (`tour export --scan-endpoint`).

    Only the static copies the deployment names may report, so no other web page can
    inflate the counts through its visitors' browsers. The beacon is a form POST,
    which browsers send without a preflight.
    """
    app = request.app
    site = app[site_key].current
    allowed = site.tour.scan_beacon_origins
    if not allowed:
        return not_found(request)  # no static copy reports here: as if there were no endpoint
    headers = request.headers
    origin = headers.get("Origin", "")
    if origin not in allowed:
        return web.Response(
            status=403,
            text=f"Origin '{origin}' may not report scans here; list it in scan_beacon_origins "
            "in tour.toml, or in TOUR_SCAN_ORIGINS.",
            headers={"Vary": "Origin"},
        )
    cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    client = client_address(request)
    if not app[beacon_limit_key].allow(client, time.monotonic()):
        return web.Response(
            status=429, text="Too many scans from this address; try again later.", headers=cors
        )
    form = await read_form(request)
    code, lang, source = (str(form.get(name, "")) for name in ("code", "lang", "source"))
    stop_id = site.stop_ids.get(code)
    if stop_id is None or lang not in site.tour.languages or source not in ("qr", "link"):
        return web.Response(
            status=400,
            text="Send code, lang and source (qr or link) of a stop of this tour.",
            headers=cors,
        )
    agent = visitor_agent(request)
    if agent is not None and app[visits_key].is_new(client, agent, stop_id):
        app[recorder_key].record(stop_id, lang, source)
    return web.Response(status=204, headers=cors)


async def asset(request: web.Request) -> web.Response:
    """Serve the service worker, its script, the app manifest and the icons."""
    site = request.app[site_key].current
    stored = site.assets.get(request.path)
    if stored is None:
        return not_found(request)
    return send_stored(request, site, stored)


async def audio_file(request: web.Request) -> web.StreamResponse:
    """Serve a narration or its captions by looking the name up in the manifest.

    Never by joining paths: only the names the manifest lists are served.
    """
    site = request.app[site_key].current
    path = site.audio_files.get(request.match_info["name"])
    if path is None or not path.is_file():
        return not_found(request)
    # FileResponse answers Range (206, 416), If-None-Match and HEAD itself.
    headers = dict(site.security_headers)
    headers["Cache-Control"] = AUDIO_CACHE_CONTROL
    headers["Content-Type"] = VTT_CONTENT_TYPE if path.suffix == ".vtt" else "audio/mpeg"
    return web.FileResponse(path, headers=headers)


async def photo_file(request: web.Request) -> web.StreamResponse:
    """Serve a photo file by looking its name up in the photo manifest, never by joining paths."""
    site = request.app[site_key].current
    path = site.photo_files.get(request.match_info["name"])
    if path is None or not path.is_file():
        return not_found(request)
    headers = dict(site.security_headers)
    headers["Cache-Control"] = AUDIO_CACHE_CONTROL  # photo names are content hashes too
    headers["Content-Type"] = media_type(path.suffix.lstrip("."))
    return web.FileResponse(path, headers=headers)


async def robots(request: web.Request) -> web.Response:
    return web.Response(text=ROBOTS_TXT, content_type="text/plain")


async def healthz(request: web.Request) -> web.Response:
    tour = request.app[site_key].current.tour
    body = {"status": "ok", "stops": len(tour.stops), "languages": list(tour.languages)}
    return web.Response(
        text=json.dumps(body),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def unknown_path(request: web.Request) -> web.Response:
    """Answer any other path with the tour's own 404 page in the visitor's language."""
    return not_found(request)
