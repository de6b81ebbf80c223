"""The walk: the walking order, adding a stop, retiring one, and the codes kept answering.

Every change of tour.toml goes through the one publish path (tour.web.studio.publishing)
with the hash of tour.toml the page was loaded from, so an edit made meanwhile (by
hand or by another publisher) is never overwritten. A new stop starts as a draft
(its base is "": the file must not exist yet) and goes live when it is published.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

from tour.catalog import TOUR_FILE, Problem, check_tour
from tour.core.errors import TourError
from tour.core.model import Stop, Tour
from tour.staff.accounts import record, role_allows
from tour.staff.editing import file_hash, read_utf8
from tour.staff.problem_words import Said
from tour.staff.restore import not_toml_line
from tour.staff.retire import retirement_change
from tour.staff.revisions import drop_draft, get_draft, list_drafts, save_draft
from tour.staff.walk import new_stop_problems, new_stop_text, with_order
from tour.web.keys import settings_key, site_key, staff_db_key
from tour.web.studio.auth import (
    StaffContext,
    form_key,
    render_staff,
    staff_key,
)
from tour.web.studio.history import unreadable_page
from tour.web.studio.publishing import publish, publish_lock

WALK_URL = "/admin/walk"
MOVES = {"up": -1, "down": 1}
RETIRE_MODES = ("closed", "moved")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Retirement:
    """A retirement as the form asks for it: the stop, and where its code leads."""

    stop: Stop
    moved_to: Stop | None
    """None when the place has closed."""


def stop_name(tour: Tour, stop: Stop, lang: str) -> str:
    return stop.name.get(lang, stop.name[tour.default_language])


def disk_order(tour_text: str) -> list[str]:
    """The walking order written in tour.toml now (it may be newer than the live tour).

    Raises ValueError when a hand edit left tour.toml no longer TOML.
    """
    order = tomllib.loads(tour_text).get("order", [])
    return [str(stop_id) for stop_id in order] if isinstance(order, list) else []


def moved_order(order: Sequence[str], stop_id: str, step: int) -> list[str] | None:
    """Swap `stop_id` with its neighbour `step` places away; None when it cannot move."""
    if stop_id not in order:
        return None
    index = order.index(stop_id)
    target = index + step
    if not 0 <= target < len(order):
        return None
    moved = list(order)
    moved[index], moved[target] = moved[target], moved[index]
    return moved


def retire_problems(
    tour: Tour, words: Mapping[str, str], lang: str, form: Mapping[str, str]
) -> tuple[Retirement | None, dict[str, str]]:
    """Check a retirement form; return it, or the problems by field (stop, mode, moved_to)."""
    stop = tour.stop_by_id(form.get("stop", ""))
    if stop is None:
        return None, {"stop": words["walk_unknown_stop"].format(stop=form.get("stop", ""))}
    name = stop_name(tour, stop, lang)
    if len(tour.stops) == 1:
        return None, {"stop": words["retire_last_stop"].format(stop=name)}
    for number, note in enumerate(tour.notes, start=1):
        if stop.id in note.stops:
            text = note.text.get(lang, note.text.get(tour.default_language, ""))
            message = words["retire_named_by_note"].format(stop=stop.id, note=number, text=text)
            return None, {"stop": message}
    mode = form.get("mode", "")
    if mode not in RETIRE_MODES:
        return None, {"mode": words["retire_choose_mode"]}
    if mode == "closed":
        return Retirement(stop, None), {}
    target = tour.stop_by_id(form.get("moved_to", ""))
    if target is None or target.id == stop.id:
        return None, {"moved_to": words["retire_choose_target"].format(stop=name)}
    return Retirement(stop, target), {}


async def walk_response(
    request: web.Request,
    staff: StaffContext,
    *,
    message: str = "",
    problems: Sequence[Said] = (),
    conflict: bool = False,
    add_errors: Mapping[str, Said] | None = None,
    add_values: Mapping[str, str] | None = None,
    retire_errors: Mapping[str, str] | None = None,
    retire_values: Mapping[str, str] | None = None,
    confirm: Retirement | None = None,
    status: int = 200,
    alert: bool = False,
) -> web.Response:
    app = request.app
    tour = app[site_key].current.tour
    tour_text = await read_tour_file(request, staff)
    drafts = await list_drafts(app[staff_db_key])
    new_stops = sorted(stop_id for stop_id, draft in drafts.items() if draft.base == "")
    return render_staff(
        request,
        staff,
        "walk.html",
        status=status,
        tour=tour,
        base=file_hash(tour_text or ""),
        name_of=lambda stop: stop_name(tour, stop, staff.lang),
        new_stops=new_stops,
        message=message,
        problems=problems,
        failed=status >= 400 or alert,
        conflict=conflict,
        add_errors=add_errors or {},
        add_values=add_values or {},
        retire_errors=retire_errors or {},
        retire_values=retire_values or {},
        confirm=confirm,
        can_change=role_allows(staff.account.role, "publisher"),
        walk_url=WALK_URL,
    )


async def read_tour_file(request: web.Request, staff: StaffContext) -> str:
    """tour.toml's text now; one saved as Latin-1 by hand is a 422 naming its line."""
    try:
        text = await asyncio.to_thread(read_utf8, request.app[settings_key].stops_dir / TOUR_FILE)
    except TourError as error:
        unreadable_page(request, staff, error)
    return text or ""


async def walk_page(request: web.Request) -> web.Response:
    staff = request[staff_key]
    words = staff.words
    tour = request.app[site_key].current.tour
    done = request.query.get("done", "")
    stop = tour.stop_by_id(request.query.get("stop", ""))
    message = ""
    if done == "reorder" and stop is not None:
        message = words["walk_reordered"].format(
            stop=stop_name(tour, stop, staff.lang), position=tour.position(stop)
        )
    elif done == "retire":
        code = request.query.get("code", "")
        if code in tour.retired:
            message = words["retire_done"].format(stop=request.query.get("stop", ""), code=code)
    return await walk_response(request, staff, message=message)


async def add_stop(request: web.Request) -> web.Response:
    staff, form = request[staff_key], request[form_key]
    app = request.app
    db = app[staff_db_key]
    tour = app[site_key].current.tour
    stop_id = form.get("file", "").strip().removesuffix(".toml")
    code = form.get("code", "").strip()
    values = {"file": form.get("file", ""), "code": code}
    errors: dict[str, Said] = dict(
        await asyncio.to_thread(new_stop_problems, tour, app[settings_key].stops_dir, stop_id, code)
    )
    if "file" not in errors and await get_draft(db, stop_id) is not None:
        errors["file"] = staff.words["add_draft_exists"].format(stop=stop_id)
    if errors:
        return await walk_response(
            request,
            staff,
            message=staff.words["add_problems"],
            add_errors=errors,
            add_values=values,
            status=400,
        )
    try:
        await save_draft(db, stop_id, new_stop_text(tour, code), "", staff.account.name)
    except sqlite3.Error as error:  # the database's disk is full or failing
        message = staff.words["add_not_saved"].format(error=error)
        return await walk_response(request, staff, message=message, add_values=values, status=507)
    try:
        # The audit log is read in either language: its detail is the form's own values.
        await record(db, staff.account.name, "add-stop", f"{stop_id} {code}")
    except sqlite3.Error:  # the draft is saved: say so, and leave the gap to the log
        log.exception("the audit log could not record add-stop %s", stop_id)
    raise web.HTTPSeeOther(f"/admin/stops/{stop_id}")


async def reorder(request: web.Request) -> web.Response:
    staff, form = request[staff_key], request[form_key]
    app = request.app
    words = staff.words
    stops_dir = app[settings_key].stops_dir
    tour = app[site_key].current.tour
    stop_id = form.get("stop", "")
    stop = tour.stop_by_id(stop_id)
    step = MOVES.get(form.get("action", ""))
    if stop is None or step is None:
        message = words["walk_unknown_stop"].format(stop=stop_id)
        return await walk_response(request, staff, message=message, status=400)
    name = stop_name(tour, stop, staff.lang)
    async with publish_lock(app):
        tour_text = await read_tour_file(request, staff)
        base = form.get("base", "")
        if file_hash(tour_text) != base:
            return await refused(request, staff, Refusal.stale(words))
        try:
            order = moved_order(disk_order(tour_text), stop_id, step)
            new_text = with_order(tour_text, order) if order is not None else ""
        except ValueError as error:  # tomllib's and tomlkit's parse errors
            return await refused(request, staff, Refusal.not_toml(words, TOUR_FILE, error))
        if order is None:
            message = words["walk_cannot_move"].format(stop=name)
            return await walk_response(request, staff, message=message, status=400)
        _, problems = await asyncio.to_thread(check_tour, stops_dir, {TOUR_FILE: new_text})
        if problems:
            return await refused(request, staff, Refusal.broken(words, problems))
        note = words["walk_order_note"].format(stop=stop_id, position=order.index(stop_id) + 1)
        refusal = await publish_walk_change(
            app, staff, {TOUR_FILE: new_text}, {TOUR_FILE: base}, "reorder", note
        )
        if refusal is not None:
            return await refused(request, staff, refusal)
    raise web.HTTPSeeOther(f"{WALK_URL}?done=reorder&stop={stop_id}#order")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a change of the walk was not made, for the page that says so (409)."""

    message: str
    problems: tuple[Said, ...] = ()
    conflict: bool = False
    written: bool = False
    """The files were written but the tour could not be reloaded: not a refusal."""

    @classmethod
    def stale(cls, words: Mapping[str, str]) -> Refusal:
        return cls(words["conflict_stale"], conflict=True)

    @classmethod
    def broken(cls, words: Mapping[str, str], problems: Sequence[Problem]) -> Refusal:
        return cls(words["walk_problems"], tuple(problems))

    @classmethod
    def unreadable(cls, words: Mapping[str, str], line: str) -> Refusal:
        """A file a hand edit left unreadable: `line` names it and says how to fix it."""
        return cls(words["walk_unreadable"], (line,))

    @classmethod
    def not_toml(cls, words: Mapping[str, str], name: str, error: ValueError) -> Refusal:
        return cls.unreadable(words, not_toml_line(name, error))

    @classmethod
    def not_live(cls, words: Mapping[str, str], problems: Sequence[Problem]) -> Refusal:
        return cls(words["walk_written_not_live"], tuple(problems), written=True)


async def refused(request: web.Request, staff: StaffContext, refusal: Refusal) -> web.Response:
    return await walk_response(
        request,
        staff,
        message=refusal.message,
        problems=refusal.problems,
        conflict=refusal.conflict,
        # Written but not live: the change was made, so this is no refused request.
        status=200 if refusal.written else 409,
        alert=refusal.written,
    )


async def publish_walk_change(
    app: web.Application,
    staff: StaffContext,
    texts: Mapping[str, str],
    bases: Mapping[str, str],
    kind: str,
    note: str,
    remove: Sequence[str] = (),
) -> Refusal | None:
    """Publish through the one path; say why when nothing (or not all of it) went live."""
    outcome = await publish(app, staff, texts, bases, kind, note, remove=remove)
    words = staff.words
    if outcome.conflict is not None:
        return Refusal.stale(words)
    if outcome.refusal is not None:
        return Refusal.broken(words, outcome.refusal.problems)
    if outcome.write_error is not None:
        return Refusal(words["write_failed"].format(reason=outcome.write_error))
    if outcome.unreadable is not None:
        return Refusal.unreadable(words, str(outcome.unreadable))
    published = outcome.published
    assert published is not None
    if published.reload_problems:
        return Refusal.not_live(words, published.reload_problems)
    if published.unrecorded:
        return Refusal(words["written_unrecorded"].format(error=published.unrecorded), written=True)
    return None


async def retire(request: web.Request) -> web.Response:
    staff, form = request[staff_key], request[form_key]
    app = request.app
    words = staff.words
    stops_dir = app[settings_key].stops_dir
    tour = app[site_key].current.tour
    values = {key: form.get(key, "") for key in ("stop", "mode", "moved_to")}
    retirement, errors = retire_problems(tour, words, staff.lang, form)
    if retirement is None:
        return await walk_response(
            request, staff, retire_errors=errors, retire_values=values, status=400
        )
    if form.get("action") != "confirm":
        return await walk_response(request, staff, retire_values=values, confirm=retirement)
    stop = retirement.stop
    target = retirement.moved_to
    async with publish_lock(app):
        tour_text = await read_tour_file(request, staff)
        base = form.get("base", "")
        if file_hash(tour_text) != base:
            return await refused(request, staff, Refusal.stale(words))
        moved_to = target.id if target else ""
        try:
            change = await asyncio.to_thread(
                retirement_change, stops_dir, tour_text, base, stop.id, stop.code, moved_to
            )
        except ValueError as error:  # tour.toml is no longer TOML
            return await refused(request, staff, Refusal.not_toml(words, TOUR_FILE, error))
        except TourError as error:  # a file a hand edit left unreadable
            return await refused(request, staff, Refusal.unreadable(words, str(error)))
        if change is None:  # the stop's file was removed by hand since the page was loaded
            return await refused(request, staff, Refusal.stale(words))
        if target is None:
            note = words["retire_note_closed"].format(stop=stop.id, code=stop.code)
        else:
            note = words["retire_note_moved"].format(stop=stop.id, code=stop.code, target=target.id)
        # A draft of a retired stop could never be published: it goes, and the audit says so.
        draft = await get_draft(app[staff_db_key], stop.id)
        if draft is not None:
            note = words["retire_note_draft"].format(note=note)
        refusal = await publish_walk_change(
            app, staff, change.texts, change.bases, "retire", note, remove=change.remove
        )
        if refusal is not None and not refusal.written:
            return await refused(request, staff, refusal)
        if draft is not None:
            with contextlib.suppress(sqlite3.Error):  # kept by a failing database: discardable
                await drop_draft(app[staff_db_key], stop.id)
        if refusal is not None:
            return await refused(request, staff, refusal)
    raise web.HTTPSeeOther(f"{WALK_URL}?done=retire&stop={stop.id}&code={stop.code}#retired")
