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
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from aiohttp import web
from yarl import URL

from tour.catalog import TOUR_FILE
from tour.core.errors import TourError
from tour.core.model import Tour
from tour.staff.accounts import role_allows
from tour.staff.editing import (
    ConflictError,
    WriteError,
    field_problems,
    file_hash,
    read_utf8,
    stop_path,
)
from tour.staff.problem_words import Said
from tour.staff.publish import PublishRefused
from tour.staff.revisions import Revision, get_revision, history, note_disk_version
from tour.staff.walk import with_code_changed
from tour.web.keys import settings_key, site_key, staff_db_key
from tour.web.studio import publishing
from tour.web.studio.auth import (
    StaffContext,
    form_key,
    raise_response,
    render_staff,
    staff_key,
)
from tour.web.studio.publishing import finish_pending_quietly, publish_lock
from tour.web.studio.stop_forms import not_toml_line

RETIRED_DIR = "retired"
WALK_HISTORY_URL = "/admin/walk/history"
DIFF_HEADERS = ("---", "+++")


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a unified diff; `kind` is 'add', 'remove', 'hunk' or 'same'."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    revision: Revision
    diff: tuple[DiffLine, ...]


@dataclass(frozen=True, slots=True)
class StopFile:
    """A stop's file: where it is, whether the stop was retired, and its text now."""

    stop_id: str
    name: str
    path: Path
    retired: bool
    text: str | None

    @property
    def revision_name(self) -> str:
        """The name its revisions are kept under: retired/x.toml once it is retired."""
        return f"{RETIRED_DIR}/{self.name}" if self.retired else self.name


def classify_diff(lines: list[str]) -> tuple[DiffLine, ...]:
    """Classify unified diff lines; the file headers (---/+++) say nothing staff need."""
    classified = []
    for line in lines:
        text = line.rstrip("\n")
        if text.startswith(DIFF_HEADERS):
            continue
        if text.startswith("@@"):
            kind = "hunk"
        elif text.startswith("+"):
            kind = "add"
        elif text.startswith("-"):
            kind = "remove"
        else:
            kind = "same"
        classified.append(DiffLine(kind, text))
    return tuple(classified)


def find_stop_file(stops_dir: Path, stop_id: str) -> StopFile | None:
    """Find a live or retired stop's file; None for an id that is not a file name."""
    try:
        path = stop_path(stops_dir, stop_id)
    except TourError:
        return None
    text = read_utf8(path)
    if text is not None:
        return StopFile(stop_id, path.name, path, False, text)
    retired = stops_dir / RETIRED_DIR / path.name
    return StopFile(stop_id, path.name, retired, True, read_utf8(retired))


@dataclass(frozen=True, slots=True)
class Restoration:
    """What restoring a revision writes: the files, their bases, and the tour's problems."""

    texts: dict[str, str]
    bases: dict[str, str]
    problems: list[Said]


def restoration(
    stops_dir: Path, live: Tour, found: StopFile, content: str, base: str
) -> Restoration:
    """Check restoring `content` as the stop's file, with tour.toml when its code changes.

    A version from before a code change brings its old code back: the current code keeps
    answering (a plaque may carry it) and the restored one leaves `[retired]`, both in
    tour.toml, written with the stop file in one publish. Raises TourError when tour.toml
    was saved as Latin-1 by hand.
    """
    texts = {found.name: content}
    bases = {found.name: base}
    stop = live.stop_by_id(found.stop_id)
    try:
        code = tomllib.loads(content).get("code")
    except tomllib.TOMLDecodeError:
        code = None  # the check below names the revision's own problem
    if stop is not None and isinstance(code, str) and code and code != stop.code:
        tour_text = read_utf8(stops_dir / TOUR_FILE) or ""
        try:
            texts[TOUR_FILE] = with_code_changed(tour_text, stop.code, code, found.stop_id)
        except ValueError as error:
            return Restoration(texts, bases, [not_toml_line(TOUR_FILE, error)])
        bases[TOUR_FILE] = file_hash(tour_text)
    extra = {TOUR_FILE: texts[TOUR_FILE]} if TOUR_FILE in texts else {}
    by_field = field_problems(stops_dir, found.stop_id, content, extra)
    problems: list[Said] = [problem for messages in by_field.values() for problem in messages]
    return Restoration(texts, bases, problems)


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
    # A publish writes the file before it records the revision: noting the disk
    # between the two would record the publish as a hand edit, so wait for it.
    async with contextlib.AsyncExitStack() as stack:
        if not holding_lock:
            await stack.enter_async_context(publish_lock(app))
        await finish_pending_quietly(app)
        found = await found_stop_file(request, staff, stop_id)
        if found.text is not None:
            try:
                await note_disk_version(db, found.revision_name, found.text)
            except sqlite3.Error as error:  # a full database disk: the history as it is
                line = staff.words["history_not_noted"].format(error=error)
                problems = [*(problems or []), line] if message else problems
                message = message or line
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
    app = request.app
    words = staff.words
    stops_dir = app[settings_key].stops_dir
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
    revision = await get_revision(app[staff_db_key], number) if number is not None else None
    if revision is None or revision.file != found.name:
        shown = chosen if len(chosen) <= 20 else chosen[:20] + "…"
        message = words["history_restore_unknown"].format(revision=shown)
        return await refuse(message=message, status=400)
    base = form.get("base", "")
    # Refusals made while holding the publish lock (the page must not take it again): the
    # file changed since the page was loaded, or the restored tour would have problems.
    stale = functools.partial(
        refuse, holding_lock=True, message=words["conflict_stale"], conflict=True, status=409
    )
    broken = functools.partial(
        refuse,
        holding_lock=True,
        message=words["history_restore_problems"].format(revision=revision.id),
        status=409,
    )
    async with publish_lock(app):
        try:
            current = await asyncio.to_thread(read_utf8, found.path)
        except TourError as error:
            unreadable_page(request, staff, error)
        if current is None or file_hash(current) != base:
            return await stale()
        if current == revision.content:
            message = words["history_restore_same"].format(revision=revision.id)
            return await refuse(holding_lock=True, message=message)
        live = app[site_key].current.tour
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
        try:
            published = await publishing.publish_files(
                app,
                staff,
                restored.texts,
                restored.bases,
                "restore",
                f"{note}: {typed}" if typed else note,
            )
        except ConflictError:
            return await stale()
        except PublishRefused as refusal:
            return await broken(problems=list(refusal.problems))
        except WriteError as error:
            message = words["write_failed"].format(reason=error)
            return await refuse(holding_lock=True, message=message, status=507)
        except TourError as error:  # a file changed by hand since it was read
            unreadable_page(request, staff, error)
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
