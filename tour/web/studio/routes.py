"""Every URL of the staff studio, one line each: method, path under /admin, view, name, role.

The studio is mounted at /admin (`app.add_subapp`), so "/stops" here is /admin/stops.
The role is the lowest that may open the URL (editor < publisher < admin); the
studio's middleware (`tour.web.studio.access`) checks it, and every POST's CSRF token,
before the view runs. ANYONE URLs are open while the staff pages are on.
Publishing from the stop form (POST /stops/{stop}, action=publish) asks for a
publisher in the view: the form's action, not the URL, says what it does.
Order matters where paths overlap: aiohttp tries a URL's routes as listed here.
"""

from __future__ import annotations

from tour.web.studio.access import ADMIN, ANYONE, EDITOR, PUBLISHER, Route
from tour.web.studio.accounts import accounts, audit, change_accounts
from tour.web.studio.conflict import conflict_view
from tour.web.studio.dashboard import dashboard, rebuild, rebuild_status, reload, scans_csv
from tour.web.studio.history import history_page, restore, walk_history_page
from tour.web.studio.plaques import plaques_page, plaques_pdf
from tour.web.studio.preview import draft_audio, listen, listen_status, preview
from tour.web.studio.session import choose_language, login, login_form, logout, static_asset
from tour.web.studio.stop_list import stop_list
from tour.web.studio.stops import check, stop_form, stop_post
from tour.web.studio.walk import add_stop, reorder, retire, walk_page

# fmt: off
ROUTES = (
    Route("GET",  "",                            dashboard,         "dashboard",       EDITOR),
    Route("GET",  "/",                           dashboard,         "dashboard_slash", EDITOR),
    Route("GET",  "/login",                      login_form,        "login",           ANYONE),
    Route("POST", "/login",                      login,             None,              ANYONE),
    Route("POST", "/logout",                     logout,            "logout",          EDITOR),
    Route("POST", "/language",                   choose_language,   "language",        ANYONE),
    Route("GET",  "/static/{name}",              static_asset,      "static",          ANYONE),
    Route("POST", "/rebuild",                    rebuild,           "rebuild",         PUBLISHER),
    Route("GET",  "/rebuild/status",             rebuild_status,    "rebuild_status",  EDITOR),
    Route("POST", "/reload",                     reload,            "reload",          PUBLISHER),
    Route("GET",  "/scans.csv",                  scans_csv,         "scans_csv",       EDITOR),
    Route("GET",  "/accounts",                   accounts,          "accounts",        ADMIN),
    Route("POST", "/accounts",                   change_accounts,   "accounts_change", ADMIN),
    Route("GET",  "/audit",                      audit,             "audit",           ADMIN),
    Route("GET",  "/stops",                      stop_list,         "stops",           EDITOR),
    Route("GET",  "/stops/{stop}",               stop_form,         "stop",            EDITOR),
    Route("POST", "/stops/{stop}",               stop_post,         None,              EDITOR),
    Route("POST", "/stops/{stop}/check",         check,             "check",           EDITOR),
    Route("GET",  "/stops/{stop}/conflict",      conflict_view,     "conflict",        EDITOR),
    Route("GET",  "/stops/{stop}/preview",       preview,           "preview",         EDITOR),
    Route("POST", "/stops/{stop}/listen",        listen,            "listen",          EDITOR),
    Route("GET",  "/stops/{stop}/listen/status", listen_status,     "listen_status",   EDITOR),
    Route("GET",  "/drafts/audio/{name}",        draft_audio,       "draft_audio",     EDITOR),
    Route("GET",  "/walk",                       walk_page,         "walk",            EDITOR),
    Route("POST", "/walk/add",                   add_stop,          "walk_add",        PUBLISHER),
    Route("POST", "/walk/order",                 reorder,           "walk_order",      PUBLISHER),
    Route("POST", "/walk/retire",                retire,            "walk_retire",     PUBLISHER),
    Route("GET",  "/walk/history",               walk_history_page, "walk_history",    EDITOR),
    Route("GET",  "/stops/{stop}/history",       history_page,      "stop_history",    EDITOR),
    Route("POST", "/stops/{stop}/history",       restore,           None,              PUBLISHER),
    Route("GET",  "/plaques",                    plaques_page,      "plaques",         EDITOR),
    Route("POST", "/plaques.pdf",                plaques_pdf,       "plaques_pdf",     PUBLISHER),
)
# fmt: on
