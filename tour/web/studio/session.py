"""Logging in and out, the staff language, and the staff scripts and styles.

The staff pages are off (404) until a staff account exists (`tour staff add`). Staff
log in with their name and password; the session lives in the database and its cookie
is HttpOnly, SameSite=Strict (Secure when the public address is https). Every POST
carries the session's CSRF token; the login form, before any session, carries a nonce
cookie's.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import secrets
import time

from aiohttp import web

from tour.staff.accounts import (
    SESSION_SECONDS,
    LoginsBusy,
    end_session,
    set_language,
    start_session,
)
from tour.staff.accounts import verify_login as check_password
from tour.staff.words import STAFF_LANGUAGES, staff_words
from tour.web.common.clients import client_address, on_this_machine
from tour.web.keys import not_found_key, site_key, staff_db_key
from tour.web.studio.auth import (
    LANGUAGE_COOKIE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    STAFF_ASSETS,
    checked_form,
    csrf_matches,
    current_staff,
    login_page_language,
    read_staff_form,
    render_staff,
)
from tour.web.studio.keys import studio_key

log = logging.getLogger(__name__)


def set_staff_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int
) -> None:
    # Secure when the public address is https; but staff trying the tour on their own
    # machine (make run, http://127.0.0.1:8080) use plain http, where some browsers drop
    # Secure cookies and the login would fail. A proxy that speaks https to the browser
    # (X-Forwarded-Proto) keeps them Secure even if it passes on a loopback Host.
    forwarded_https = request.headers.get("X-Forwarded-Proto", "").lower() == "https"
    local = on_this_machine(request.host) and not forwarded_https
    secure = request.app[studio_key].secure_cookies and not local
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
    if await current_staff(request):
        raise web.HTTPSeeOther("/admin")
    return login_page(request)


async def login(request: web.Request) -> web.Response:
    state = request.app[studio_key]
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
    await end_session(request.app[staff_db_key], request.cookies.get(SESSION_COOKIE, ""))
    response = web.HTTPSeeOther("/admin/login")
    response.del_cookie(SESSION_COOKIE, path="/admin")
    raise response


async def choose_language(request: web.Request) -> web.Response:
    """Store the staff language: in the account when logged in, else in a cookie."""
    staff = await current_staff(request)
    if staff is not None:  # as any staff POST: the session's CSRF token
        form = await checked_form(request, staff)
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
    environment = request.app[studio_key].environment
    loader = environment.loader
    assert loader is not None
    text = loader.get_source(environment, f"studio/{name}")[0]
    if name == "admin.css":
        # The staff pages share the visitor pages' colours and type.
        text = loader.get_source(environment, "page.css")[0] + "\n" + text
    return text.encode("utf-8")
