"""Who may open which studio URL: the sub-app's middleware, with the role from the route table.

For every URL in `tour.web.studio.routes`, before its view runs: the pages answer the
tour's 404 page until an account exists (503 when the staff database is closed); the
URLs before login (role None) go straight on; for the others a visitor without a
session goes to the login form, a role too low gets a 403 page naming the role needed,
and a POST has its form read and refused (403) without the session's CSRF token. The
view finds the person in `request[staff_key]`, the form in `request[form_key]`, and its
answer gets the staff headers. Paths the table does not list (the studio's 404, and
aiohttp's 405) pass through untouched, as they did before the studio had a middleware.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from tour.web.keys import not_found_key
from tour.web.studio.auth import (
    checked_form,
    current_staff,
    fill_staff_headers,
    form_key,
    pages_on,
    raise_response,
    refuse_role,
    staff_key,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

EDITOR = "editor"
PUBLISHER = "publisher"
ADMIN = "admin"
ANYONE = None
"""The login form, the language choice and the staff scripts: open to anyone while the
pages are on (the forms check the login nonce themselves)."""


@dataclass(frozen=True, slots=True)
class Route:
    """One studio URL: its method, its path under /admin, its view, name and lowest role."""

    method: str
    path: str
    handler: Handler
    name: str | None
    role: str | None


roles_key = web.AppKey("staff_roles", dict[Handler, Route])
"""Each view's route, for the middleware to find the role of the URL it serves."""


def add_staff_routes(app: web.Application, routes: tuple[Route, ...]) -> None:
    """Register `routes` on the studio app, in order, and keep each view's role."""
    roles: dict[Handler, Route] = {}
    for route in routes:
        known = roles.setdefault(route.handler, route)
        # The middleware finds the role by view: one view serves one role.
        if known.role != route.role:
            raise ValueError(f"{route.path}: one view, two roles ({known.role}, {route.role})")
        if route.method == "GET":  # and HEAD, as add_get does
            app.router.add_get(route.path, route.handler, name=route.name)
        else:
            app.router.add_route(route.method, route.path, route.handler, name=route.name)
    app[roles_key] = roles


async def unknown_path(request: web.Request) -> web.StreamResponse:
    """Any other path under /admin: the tour's own 404 page, as for any unknown path."""
    return request.app[not_found_key](request)


@web.middleware
async def staff_access(request: web.Request, handler: Handler) -> web.StreamResponse:
    match = request.match_info
    route = request.app[roles_key].get(match.handler)
    if route is None:
        # The studio's 404, or aiohttp's 405 for a method it does not serve. A view
        # registered outside the route table has no role: it is never served unguarded.
        if match.handler is unknown_path or match.http_exception is not None:
            return await handler(request)
        raise_response(request.app[not_found_key](request))
    if not await pages_on(request):
        raise_response(request.app[not_found_key](request))
    if route.role is ANYONE:
        return await handler(request)
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPSeeOther("/admin/login")
    refuse_role(request, staff, route.role)
    request[staff_key] = staff
    if request.method == "POST":
        request[form_key] = await checked_form(request, staff)
    response = await handler(request)
    fill_staff_headers(request, response)
    return response
