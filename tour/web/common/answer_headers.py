"""One place that guarantees the security headers on every answer the app sends.

Pages, audio and photos set their own (the visitor pages' CSP names their inline code
by hash; audio is cached for a year). Everything else — redirects, aiohttp's own 405,
plain-text 400/403/429 lines, JSON — gets the same headers as the pages of its side,
and a staff answer is never cached. A header an answer already has is left alone.
"""

from __future__ import annotations

from aiohttp import web

from tour.web.common.policy import STAFF_POLICY, STAFF_PREFIX
from tour.web.keys import site_key


def is_staff_path(path: str) -> bool:
    return path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/")


async def add_missing_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Give `response` each security header it lacks (aiohttp's on_response_prepare)."""
    headers = response.headers
    staff = is_staff_path(request.path)
    for name, value in request.app[site_key].current.security_headers.items():
        if staff and name == "Content-Security-Policy":
            value = STAFF_POLICY
        headers.setdefault(name, value)
    if staff:
        # Staff answers carry people's names and session cookies: no shared cache keeps them.
        headers.setdefault("Cache-Control", "no-store")


def guard_every_answer(app: web.Application) -> None:
    app.on_response_prepare.append(add_missing_headers)
