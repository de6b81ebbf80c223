"""A stop's history: every kept version of its file as a diff, and restoring one.

Before the page is shown the file on disk is noted, so a hand edit made since the
last publish appears as a revision of its own. A restore goes through the one
publish path (tour.web.studio.publishing), so it is checked, written atomically, kept in
the history as a revision of kind 'restore' and audited like any publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import NoReturn

from aiohttp import web
from yarl import URL

from tour.catalog import TOUR_FILE
from tour.core.errors import TourError
from tour.staff.accounts import role_allows
from tour.staff.editing import (
    file_hash,
    read_utf8,
)
from tour.staff.problem_words import Said
from tour.staff.restore import HistoryEntry, StopFile, classify_diff, find_stop_file, restoration
from tour.staff.revisions import Revision, get_revision, history, note_disk_version
from tour.web.keys import settings_key, site_key, staff_db_key
from tour.web.studio import publishing
from tour.web.studio.auth import (
    StaffContext,
    form_key,
    raise_response,
    render_staff,
    staff_key,
)
from tour.web.studio.publishing import Published, finish_pending_quietly, publish_lock

WALK_HISTORY_URL = "/admin/walk/history"


def unreadable_page(request: web.Request, staff: StaffContext, error: TourError) -> NoReturn:
    """A file a hand edit saved as Latin-1: its one line (file, line, fix), a 422."""
    raise_response(render_staff(request, staff, "error.html", status=422, message=str(error)))


async def found_stop_file(request: web.Request, staff: StaffContext, stop_id: str) -> StopFile:
    """The stop's file as find_stop_file finds it; an unknown stop is a 404."""
    try:
        found = await asyncio.to_thread(
            find_stop_file, request.app[settings_key].stops_dir, stop_id
        )
    except TourError as error:
        unreadable_page(request, staff, error)
    if found is None:
        unknown_stop(request, staff, stop_id)
    return found


def unknown_stop(request: web.Request, staff: StaffContext, stop_id: str) -> NoReturn:
    message = staff.words["walk_unknown_stop"].format(stop=stop_id)
    raise_response(render_staff(request, staff, "error.html", status=404, message=message))


def history_url(stop_id: str, **query: str) -> str:
    url = URL.build(path=f"/admin/stops/{stop_id}/history", query=query or None)
    return str(url)


async def noted_stop_file(
    request: web.Request, staff: StaffContext, stop_id: str, holding_lock: bool
) -> tuple[StopFile, str]:
    """Find the stop's file and note its text in the history, as a hand edit if it is one.

    Returns the file and "" or, when the database could not note it, the line saying so.
    """
    app = request.app
    # A publish writes the file before it records the revision: noting the disk
    # between the two would record the publish as a hand edit, so wait for it.
    async with contextlib.AsyncExitStack() as stack:
        if not holding_lock:
            await stack.enter_async_context(publish_lock(app))
        await finish_pending_quietly(app)
        found = await found_stop_file(request, staff, stop_id)
        if found.text is None:
            return found, ""
        try:
            await note_disk_version(app[staff_db_key], found.revision_name, found.text)
        except sqlite3.Error as error:
            return found, staff.words["history_not_noted"].format(error=error)
    return found, ""


async def history_response(
    request: web.Request,
    staff: StaffContext,
    stop_id: str,
    *,
    message: str = "",
    problems: Sequence[Said] | None = None,
    conflict: bool = False,
    status: int = 200,
    alert: bool = False,
    holding_lock: bool = False,
    chosen: str = "",
    note: str = "",
) -> web.Response:
    """The history page; `holding_lock` when the caller already holds the publish lock.

    `chosen` and `note`: the revision a refused restore asked for and the note typed for it.
    """
    app = request.app
    db = app[staff_db_key]
    found, not_noted = await noted_stop_file(request, staff, stop_id, holding_lock)
    if not_noted:  # a full database disk: the history as it is, and why
        problems = [*(problems or []), not_noted] if message else problems
        message = message or not_noted
        alert = True
    # A retired stop's file lives on in retired/: its history is both names', newest first.
    if found.retired:
        kept = await history(db, found.revision_name, earlier_names=(found.name,))
    else:
        kept = await history(db, found.name)
    entries = [HistoryEntry(revision, classify_diff(lines)) for revision, lines in kept]
    if found.text is None and not entries:
        unknown_stop(request, staff, stop_id)
    tour = app[site_key].current.tour
    stop = tour.stop_by_id(stop_id)
    title = stop_id
    if stop is not None:
        title = stop.name.get(staff.lang, stop.name[tour.default_language])
    return render_staff(
        request,
        staff,
        "history.html",
        status=status,
        stop_id=stop_id,
        title=title,
        file_name=found.name,
        retired=found.retired,
        restore_by_hand=False,
        base=file_hash(found.text) if found.text is not None else "",
        entries=entries,
        message=message,
        problems=problems or [],
        conflict=conflict,
        failed=status >= 400 or alert,
        can_restore=role_allows(staff.account.role, "publisher") and not found.retired,
        reload_url=history_url(stop_id),
        chosen=chosen,
        typed_note=note,
    )


async def history_page(request: web.Request) -> web.Response:
    staff = request[staff_key]
    stop_id = request.match_info["stop"]
    message = ""
    restored = request.query.get("restored", "")
    if restored.isdigit():
        message = staff.words["history_restore_done"].format(revision=restored)
    return await history_response(request, staff, stop_id, message=message)


async def restore(request: web.Request) -> web.Response:
    staff, form = request[staff_key], request[form_key]
    stop_id = request.match_info["stop"]
    words = staff.words
    found = await found_stop_file(request, staff, stop_id)
    chosen = form.get("revision", "")
    # A refused restore shows the page again with the note that was typed for it.
    refuse = functools.partial(
        history_response, request, staff, stop_id, chosen=chosen, note=form.get("note", "")
    )
    if found.retired:
        return await refuse(message=words["history_restore_retired"], status=409)
    # Plain ASCII digits that fit SQLite's integer; "²" or 30 digits are no revision.
    number = int(chosen) if re.fullmatch(r"[0-9]{1,18}", chosen) else None
    revision = await get_revision(request.app[staff_db_key], number) if number is not None else None
    if revision is None or revision.file != found.name:
        shown = chosen if len(chosen) <= 20 else chosen[:20] + "…"
        message = words["history_restore_unknown"].format(revision=shown)
        return await refuse(message=message, status=400)
    async with publish_lock(request.app):
        # Refusals made while holding the publish lock: the page must not take it again.
        refused = functools.partial(refuse, holding_lock=True)
        published = await restore_locked(request, staff, found, revision, form, refused)
    if isinstance(published, web.Response):
        return published
    if published.reload_problems:
        lines = list(published.reload_problems)
        message = words["walk_written_not_live"]
        return await history_response(
            request, staff, stop_id, message=message, problems=lines, alert=True
        )
    if published.unrecorded:
        message = words["written_unrecorded"].format(error=published.unrecorded)
        return await history_response(request, staff, stop_id, message=message, alert=True)
    raise web.HTTPSeeOther(history_url(stop_id, restored=str(revision.id)))


async def restore_locked(
    request: web.Request,
    staff: StaffContext,
    found: StopFile,
    revision: Revision,
    form: Mapping[str, str],
    refused: Callable[..., Awaitable[web.Response]],
) -> Published | web.Response:
    """Under the publish lock: restore `revision` over the file the page was loaded on.

    Returns what was published, or the history page saying why nothing was: the file
    changed since the page was loaded, or the restored tour would have problems.
    """
    app = request.app
    words = staff.words
    stale = functools.partial(refused, message=words["conflict_stale"], conflict=True, status=409)
    problems_line = words["history_restore_problems"].format(revision=revision.id)
    broken = functools.partial(refused, message=problems_line, status=409)
    base = form.get("base", "")
    try:
        current = await asyncio.to_thread(read_utf8, found.path)
    except TourError as error:
        unreadable_page(request, staff, error)
    if current is None or file_hash(current) != base:
        return await stale()
    if current == revision.content:
        return await refused(message=words["history_restore_same"].format(revision=revision.id))
    stops_dir, live = app[settings_key].stops_dir, app[site_key].current.tour
    try:
        restored = await asyncio.to_thread(
            restoration, stops_dir, live, found, revision.content, base
        )
    except TourError as error:
        unreadable_page(request, staff, error)
    if restored.problems:
        return await broken(problems=restored.problems)
    note = words["history_restore_note"].format(
        revision=revision.id, when=staff.moment(revision.at)
    )
    typed = form.get("note", "").strip()
    note = f"{note}: {typed}" if typed else note
    outcome = await publishing.publish(app, staff, restored.texts, restored.bases, "restore", note)
    if outcome.conflict is not None:
        return await stale()
    if outcome.refusal is not None:
        return await broken(problems=list(outcome.refusal.problems))
    if outcome.write_error is not None:
        message = words["write_failed"].format(reason=outcome.write_error)
        return await refused(message=message, status=507)
    if outcome.unreadable is not None:  # a file changed by hand since it was read
        unreadable_page(request, staff, outcome.unreadable)
    assert outcome.published is not None
    return outcome.published


async def walk_history_page(request: web.Request) -> web.Response:
    """tour.toml's history (order, codes, retired stops), read-only.

    Restoring a whole tour.toml would undo every walk change made since; a version is
    brought back by undoing one change on the walk page, or by hand.
    """
    staff = request[staff_key]
    app = request.app
    db = app[staff_db_key]
    message = ""
    # As for a stop: a walk change publishing now must not be noted as a hand edit.
    async with publish_lock(app):
        await finish_pending_quietly(app)
        try:
            text = await asyncio.to_thread(read_utf8, app[settings_key].stops_dir / TOUR_FILE)
        except TourError as error:
            unreadable_page(request, staff, error)
        if text is not None:
            try:
                await note_disk_version(db, TOUR_FILE, text)
            except sqlite3.Error as error:  # a full database disk: the history as it is
                message = staff.words["history_not_noted"].format(error=error)
    kept = await history(db, TOUR_FILE)
    return render_staff(
        request,
        staff,
        "history.html",
        title=staff.words["walk_history_name"],
        file_name=TOUR_FILE,
        retired=False,
        restore_by_hand=True,
        base=file_hash(text) if text is not None else "",
        entries=[HistoryEntry(revision, classify_diff(lines)) for revision, lines in kept],
        message=message,
        problems=[],
        conflict=False,
        failed=bool(message),
        can_restore=False,
        reload_url=WALK_HISTORY_URL,
        chosen="",
        typed_note="",
    )
