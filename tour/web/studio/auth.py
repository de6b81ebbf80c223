"""Who is logged in to the staff pages, what they may do, and how their pages are drawn.

The studio's middleware (`tour.web.studio.access`) uses these for every staff URL:
404 while no account exists (the pages are off), the login form for a visitor
without a session, a 403 page naming the role needed for a role too low, and a 403
for a POST without the session's CSRF token. A view then finds the person in
`request[staff_key]` and a posted form in `request[form_key]`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from aiohttp import web

from tour.staff.accounts import Account, any_account, find_session, role_allows
from tour.staff.dates import format_moment
from tour.staff.limits import too_long
from tour.staff.problem_words import say
from tour.staff.words import staff_language, staff_words
from tour.web.common.bodies import MalformedBody, StalledBody, read_form
from tour.web.common.policy import STAFF_POLICY
from tour.web.keys import settings_key, site_key, staff_db_key
from tour.web.studio.keys import studio_key

SESSION_COOKIE = "tour_admin"
LOGIN_COOKIE = "tour_admin_login"
"""A nonce for the login form's CSRF check, before there is a session."""
LANGUAGE_COOKIE = "tour_admin_lang"
"""The staff language chosen on the login page, before anyone is logged in."""

STAFF_ASSETS = frozenset(
    {
        "admin.css",
        "admin.js",
        "studio.css",
        "studio.js",
    }
)
"""The scripts and styles in templates/studio/ that /admin/static/{name} serves."""


@dataclass(frozen=True, slots=True)
class StaffContext:
    account: Account
    csrf: str
    lang: str
    """The person's staff language."""
    words: Mapping[str, str]
    """staff_words()[lang]."""
    zone: ZoneInfo
    """The tour's time zone (Settings.time_zone)."""

    def moment(self, at: float) -> str:
        """`at` as people there write it, in the tour's time zone and this person's language."""
        return format_moment(at, self.zone, self.lang)


async def pages_on(request: web.Request) -> bool:
    """Say whether the staff pages are on: once an account exists, they stay on."""
    state = request.app[studio_key]
    db = request.app[staff_db_key]
    if not db.is_open:
        # An account may well exist: say the pages are out of order, not absent. The
        # path and the reason are in the service's log, not on a page anyone can open.
        message = staff_words()[login_page_language(request)]["error_database"]
        raise_response(render_staff(request, None, "error.html", status=503, message=message))
    if not state.pages_on:
        state.pages_on = await any_account(db)
    return state.pages_on


def login_page_language(request: web.Request) -> str:
    """The staff language of someone not logged in: their choice on the login page."""
    return staff_language(request.cookies.get(LANGUAGE_COOKIE))


async def current_staff(request: web.Request) -> StaffContext | None:
    """The logged-in person, or None when the session cookie is missing, ended or expired."""
    token = request.cookies.get(SESSION_COOKIE, "")
    session = await find_session(request.app[staff_db_key], token, time.time())
    if session is None:
        return None
    lang = staff_language(session.account.lang)
    return StaffContext(
        account=session.account,
        csrf=session.csrf,
        lang=lang,
        words=staff_words()[lang],
        zone=ZoneInfo(request.app[settings_key].time_zone),
    )


staff_key = web.RequestKey("staff", StaffContext)
"""The logged-in person, set by the middleware for every URL that needs a role."""
form_key = web.RequestKey("form", dict[str, str])
"""A POST's form, read and CSRF-checked by the middleware before the view runs."""


def refuse_role(request: web.Request, staff: StaffContext, role: str) -> None:
    """Raise the 403 page naming the role needed, unless `staff` is allowed `role`."""
    if not role_allows(staff.account.role, role):
        message = staff.words["error_role_needed"].format(
            role=staff.words[f"role_{role}"], yours=staff.words[f"role_{staff.account.role}"]
        )
        raise_response(render_staff(request, staff, "error.html", status=403, message=message))


def csrf_matches(expected: str, given: str) -> bool:
    # Digests, not the text: compare_digest refuses non-ASCII str, and a form can hold anything.
    return hmac.compare_digest(
        hashlib.sha256(expected.encode("utf-8")).digest(),
        hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest(),
    )


async def checked_form(request: web.Request, staff: StaffContext) -> dict[str, str]:
    """Read the form and refuse it (403) without the session's CSRF token."""
    form = await read_staff_form(request, staff)
    if not csrf_matches(staff.csrf, form.get("csrf", "")):
        message = staff.words["error_csrf"]
        raise_response(render_staff(request, staff, "error.html", status=403, message=message))
    return form


async def read_staff_form(request: web.Request, staff: StaffContext | None) -> dict[str, str]:
    """Read a staff form; refuse one too large, malformed or stalled, or with a field over
    its limit, with a page in the person's words.

    Lengths are checked before anything else reads the form, so no check, lookup or
    password hash ever runs on a value bigger than the field can hold.
    """
    words = staff.words if staff else staff_words()[login_page_language(request)]
    try:
        form = await read_form(request)
    except (web.HTTPRequestEntityTooLarge, MalformedBody, StalledBody) as error:
        # The plain answers are bare English lines: say it in the person's language.
        message = words[BODY_PROBLEMS[error.status]]
        page = render_staff(request, staff, "error.html", status=error.status, message=message)
        if error.keep_alive is False:  # the body was cut or stalled: the connection ends
            page.force_close()
        raise_response(page)
    over = too_long(form)
    if over is not None:
        message = words["error_field_too_long"].format(
            field=over.field, length=over.length, limit=over.limit
        )
        raise_response(render_staff(request, staff, "error.html", status=400, message=message))
    return form


BODY_PROBLEMS = {
    400: "error_body_malformed",
    408: "error_body_stalled",
    413: "error_form_too_large",
}
"""The staff words for each answer to a form that could not be read."""


ERROR_CLASSES: dict[int, Callable[..., web.HTTPException]] = {
    400: web.HTTPBadRequest,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    # (max_size, actual_size) only word aiohttp's own text, which the page's body
    # replaces; both are given, as some aiohttp versions require them.
    408: StalledBody,
    413: functools.partial(web.HTTPRequestEntityTooLarge, 0, 0),
    422: web.HTTPUnprocessableEntity,
    503: web.HTTPServiceUnavailable,
}


def raise_response(response: web.Response) -> NoReturn:
    """Send a finished error page (a status in ERROR_CLASSES) from within a view."""
    error = ERROR_CLASSES[response.status](headers=response.headers)
    error.body = response.body
    if response.keep_alive is False:  # a body cut or stalled: the connection is not kept
        error.force_close()
    raise error


def fill_staff_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Give a staff answer each staff header it lacks; one it sets itself (the preview's
    CSP for the visitor page it shows) stays."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", STAFF_POLICY)
    for name, value in request.app[site_key].current.security_headers.items():
        headers.setdefault(name, value)
    # Staff pages show live figures and people's names: no shared cache may keep them.
    headers.setdefault("Cache-Control", "no-store")


def secure_staff(request: web.Request, response: web.StreamResponse) -> None:
    """Staff answers: the site's security headers, the staff CSP, and never cached."""
    response.headers.update(request.app[site_key].current.security_headers)
    response.headers["Content-Security-Policy"] = STAFF_POLICY
    # Staff pages show live figures and people's names: no shared cache may keep them.
    response.headers["Cache-Control"] = "no-store"


def render_staff(
    request: web.Request,
    staff: StaffContext | None,
    template: str,
    status: int = 200,
    **context: Any,
) -> web.Response:
    """Render templates/studio/<template> (extending admin/base.html) for `staff`."""
    lang = staff.lang if staff else login_page_language(request)
    words = staff.words if staff else staff_words()[lang]
    if staff is not None:
        moment = staff.moment
    else:  # the login and error pages, before anyone is known
        zone = ZoneInfo(request.app[settings_key].time_zone)

        def moment(at: float) -> str:
            return format_moment(at, zone, lang)

    def said(message: object) -> str:
        """A check's message or problem in the page's staff language; a line as written."""
        return say(message, lang)

    environment = request.app[studio_key].environment
    context.setdefault("csrf", staff.csrf if staff else "")
    html = environment.get_template(f"studio/{template}").render(
        words=words, staff=staff, lang=lang, moment=moment, said=said, **context
    )
    response = web.Response(text=html, status=status, content_type="text/html")
    secure_staff(request, response)
    return response
