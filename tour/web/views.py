"""Request handlers: each one picks stored bytes and sends them."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from tour.web.keys import site_key
from tour.web.negotiation import LANGUAGE_COOKIE, accepts_gzip, negotiate_language
from tour.web.pages import RenderedPage

COOKIE_MAX_AGE = 365 * 24 * 3600
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def visitor_language(request: web.Request) -> str:
    tour = request.app[site_key].current.tour
    return negotiate_language(
        request.cookies,
        request.headers.get("Accept-Language", ""),
        tour.languages,
        tour.default_language,
    )


def send_page(
    request: web.Request,
    page: RenderedPage,
    *,
    status: int = 200,
    negotiated: bool = False,
) -> web.Response:
    """Send a stored page: gzip when accepted, 304 when the client has it."""
    use_gzip = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    etag = page.gzip_etag if use_gzip else page.etag
    vary = ["Accept-Encoding"]
    if negotiated:
        vary += ["Accept-Language", "Cookie"]
    headers = {
        "Vary": ", ".join(vary),
        "Cache-Control": "private, no-cache" if negotiated else "public, no-cache",
        "Content-Language": page.lang,
    }
    if status == 200:
        headers["ETag"] = etag
        if _client_has(request.headers.get("If-None-Match", ""), page):
            return web.Response(status=304, headers=headers)
    body = page.gzipped if use_gzip else page.body
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    response = web.Response(
        status=status, body=body, headers=headers, content_type="text/html", charset="utf-8"
    )
    return response


def _client_has(if_none_match: str, page: RenderedPage) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or page.etag in tags or page.gzip_etag in tags


def remember_language(request: web.Request, response: web.Response, lang: str) -> None:
    """Keep an explicitly chosen language, so the next scanned plaque opens in it."""
    if request.cookies.get(LANGUAGE_COOKIE) != lang:
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=COOKIE_MAX_AGE, path="/", samesite="Lax")


def not_found(request: web.Request, lang: str | None = None) -> web.Response:
    pages = request.app[site_key].current.pages
    if lang in pages.not_found:
        return send_page(request, pages.not_found[lang], status=404)
    page = pages.not_found[visitor_language(request)]
    return send_page(request, page, status=404, negotiated=True)


async def scan(request: web.Request) -> web.Response:
    """Serve the QR target: the stop page in the visitor's language, with no redirect."""
    code = request.match_info["code"].lower()
    lang = visitor_language(request)
    page = request.app[site_key].current.pages.stops.get((lang, code))
    if page is None:
        return not_found(request)
    return send_page(request, page, negotiated=True)


async def stop_page(request: web.Request) -> web.Response:
    lang = request.match_info["lang"]
    code = request.match_info["code"].lower()
    pages = request.app[site_key].current.pages
    page = pages.stops.get((lang, code))
    if page is None:
        return not_found(request, lang)
    response = send_page(request, page)
    remember_language(request, response, lang)
    return response


async def index(request: web.Request) -> web.Response:
    pages = request.app[site_key].current.pages
    lang = request.match_info.get("lang")
    if lang is None:
        return send_page(request, pages.indexes[visitor_language(request)], negotiated=True)
    page = pages.indexes.get(lang)
    if page is None:
        return not_found(request)
    response = send_page(request, page)
    remember_language(request, response, lang)
    return response


async def language_root(request: web.Request) -> web.Response:
    """Send `/en` on to `/en/`, the index in that language."""
    lang = request.match_info["lang"]
    if lang not in request.app[site_key].current.pages.indexes:
        return not_found(request)
    raise web.HTTPMovedPermanently(request.app.router["index"].url_for(lang=lang))


# Audio names are content hashes: a name never changes meaning, so caches may keep it forever.
AUDIO_CACHE_CONTROL = "public, max-age=31536000, immutable"


async def audio_file(request: web.Request) -> web.StreamResponse:
    """Serve a narration by looking its name up in the manifest, never by joining paths."""
    path = request.app[site_key].current.audio_files.get(request.match_info["name"])
    if path is None or not path.is_file():
        return not_found(request)
    # FileResponse answers Range (206, 416), If-None-Match and HEAD itself.
    return web.FileResponse(
        path,
        headers={"Cache-Control": AUDIO_CACHE_CONTROL, "Content-Type": "audio/mpeg"},
    )


async def healthz(request: web.Request) -> web.Response:
    tour = request.app[site_key].current.tour
    body = {"status": "ok", "stops": len(tour.stops), "languages": list(tour.languages)}
    return web.Response(
        text=json.dumps(body),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer unknown paths with the tour's own 404 page in the visitor's language."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return not_found(request)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response
