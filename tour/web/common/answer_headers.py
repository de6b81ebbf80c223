"""One place that guarantees the security headers on every answer the app sends.

Pages, audio and photos set their own (the visitor pages' CSP names their inline code
by hash; audio is cached for a year). Everything else — redirects, aiohttp's own 405,
plain-text 400/403/429 lines, JSON — gets the same headers as the pages of its side,
and a staff answer is never cached. A header an answer already has is left alone.

One hook runs before every answer, the QR scan's included, so it does the least it can:
a stored page's answer (StoredAnswer) has its whole header set already and is
not walked again.
"""

from __future__ import annotations

from aiohttp import web

from tour.web.common.bodies import end_failed_body
from tour.web.common.policy import STAFF_POLICY, STAFF_PREFIX
from tour.web.keys import site_key


class StoredAnswer(web.Response):
    """An answer of stored bytes whose header set is complete, security headers included.

    The hook before every answer (answer_headers) leaves such an answer alone.
    """


def is_staff_path(path: str) -> bool:
    return path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/")


def add_missing_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Give `response` each security header it lacks."""
    headers = response.headers
    staff = is_staff_path(request.path)
    for name, value in request.app[site_key].current.security_headers.items():
        if staff and name == "Content-Security-Policy":
            value = STAFF_POLICY
        headers.setdefault(name, value)
    if staff:
        # Staff answers carry people's names and session cookies: no shared cache keeps them.
        headers.setdefault("Cache-Control", "no-store")


async def before_every_answer(request: web.Request, response: web.StreamResponse) -> None:
    """Complete the headers and end a failed body (aiohttp's on_response_prepare).

    One hook, not one per job: aiohttp awaits each hook of every answer separately.
    """
    if type(response) is not StoredAnswer:
        add_missing_headers(request, response)
    end_failed_body(request, response)


def guard_every_answer(app: web.Application) -> None:
    app.on_response_prepare.append(before_every_answer)
