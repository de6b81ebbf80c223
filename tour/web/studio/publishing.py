"""The one path by which the studio changes the stop files and makes them live.

Publishing a stop, restoring a revision and the walk's edits (add, reorder, retire)
all end here: under `publish_lock(app)` the caller checks what it is about to write,
then `publish_files` keeps the versions being replaced in the history, writes the
files atomically (or not at all), records who did it, reloads the site and queues
the narration of the stops that changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

from tour.catalog import TOUR_FILE, Problem, check_tour
from tour.core.errors import TourError
from tour.staff.changes import close_journal, finish_pending, record_change
from tour.staff.editing import WriteError, read_utf8, write_files, write_reason
from tour.staff.journal import JOURNAL_FILE, Change
from tour.staff.revisions import note_disk_version
from tour.voice.narration import NarrationBuilder
from tour.voice.speech import choose_voice
from tour.web.keys import settings_key, site_key, staff_db_key
from tour.web.lifecycle import rebuild_site, reload_site
from tour.web.studio.auth import (
    StaffContext,
)
from tour.web.studio.jobs import BuildJob, run_job
from tour.web.studio.keys import studio_key

log = logging.getLogger(__name__)

ITEM_LANGUAGE = re.compile(r"^.* \[(\w+)\]$")
"""A build item's label, `masjid-raya [en]`: the language is in brackets."""


@dataclass(frozen=True, slots=True)
class Published:
    """What a publish did, for the page that reports it."""

    revisions: Mapping[str, int]
    """File name → the id of the revision that now holds its text."""
    reload_problems: Sequence[Problem]
    """Problems that kept the old tour live (none when the caller checked first)."""
    narration: tuple[str, ...]
    """Stop ids whose narration is queued for a build."""
    unrecorded: str = ""
    """Why the history or the audit log could not record the write (the database's
    disk is full, say); "" when both did. The files are written and live all the same."""


class PublishRefused(TourError):
    """The files about to be written would break the tour; nothing was written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            f"nothing was written: the change would leave {len(self.problems)} problem(s) "
            "in the stop files; fix them and publish again"
        )


def publish_lock(app: web.Application) -> asyncio.Lock:
    """Return the lock every change of the stop files holds, one per application."""
    return app[studio_key].publish_lock


async def publish_files(
    app: web.Application,
    staff: StaffContext,
    texts: Mapping[str, str],
    bases: Mapping[str, str],
    kind: str,
    note: str = "",
    remove: Sequence[str] = (),
) -> Published:
    """Write `texts` (file name in the stops folder → text) and make them live.

    The caller holds `publish_lock(app)` and has checked the texts. `bases` maps
    each file name to the hash of the text the change was made on ("" for a new
    file). `kind` is the revision kind and the audit action (publish, restore,
    add-stop, reorder, retire). The tour as it would be after the write (the new
    texts over the disk, the removed files gone) is checked first: PublishRefused
    names its problems. Raises ConflictError when a file changed on disk since its
    base, and WriteError when the disk (or the database that keeps the replaced
    versions) refuses; in all three cases nothing changed. A database that fails after
    the write leaves the files written and live: `Published.unrecorded` says why the
    history lacks them, and the change's journal stays until the next start or studio
    write records it. A crash at any point leaves the files all old or all new.
    `remove` names files to delete in the same locked write (each with its base):
    retiring a stop moves its file to retired/.
    """
    lock = publish_lock(app)
    if not lock.locked():
        raise RuntimeError("publish_files needs publish_lock(app) held by its caller")
    stops_dir = app[settings_key].stops_dir
    db = app[staff_db_key]
    who = staff.account.name
    await finish_pending_change(app)
    # Only the stops folder itself is the tour: retired/ keeps files out of it.
    overrides = {name: text for name, text in texts.items() if "/" not in name}
    removed = [name for name in remove if "/" not in name]
    _, problems = await asyncio.to_thread(check_tour, stops_dir, overrides, removed=removed)
    if problems:
        raise PublishRefused(problems)
    for name in [*texts, *remove]:
        # A hand edit made since the last publish goes into the history before it is replaced.
        current = await asyncio.to_thread(read_utf8, stops_dir / name)
        if current is not None:
            try:
                await note_disk_version(db, name, current)
            except sqlite3.Error as error:
                # Writing now would lose that hand edit for good: nothing is written.
                message = f"the staff database could not keep the version of {name} ({error})"
                raise WriteError(message, errno.ENOSPC) from error
    # The journal carries who, kind and note: a crash after the write still records it.
    change = Change(texts, bases, remove, who=who, kind=kind, note=note)
    await asyncio.to_thread(write_files, stops_dir, texts, bases, remove, change)
    revisions: Mapping[str, int] = {}
    unrecorded = ""
    try:
        revisions = await record_change(db, change)
    except sqlite3.Error as error:
        # The files are written: they go live all the same, and the page says what is
        # missing. The journal stays, so the next start or studio write records it.
        log.warning("a %s of %s was written but not recorded: %s", kind, ", ".join(texts), error)
        unrecorded = str(error)
    else:
        try:
            await asyncio.to_thread(close_journal, stops_dir, change.id)
        except (OSError, TourError) as error:
            # Written and recorded: a journal left behind is only recorded again, as nothing.
            log.warning("the journal of %s stays (%s); the next write clears it", change.id, error)
    problems = await reload_site(app)
    changed_stops = tuple(sorted(name.removesuffix(".toml") for name in texts if name != TOUR_FILE))
    live = app[site_key].current.tour
    narration = tuple(stop for stop in changed_stops if live.stop_by_id(stop) is not None)
    if not problems:
        queue_narration(app, narration)
    return Published(revisions, problems, narration if not problems else (), unrecorded)


async def finish_pending_change(app: web.Application) -> None:
    """Complete a change a crash interrupted before the studio changes anything else.

    Raises WriteError when the staff database cannot record it: writing on would
    leave that change out of the history, and nothing is written.
    """
    try:
        await finish_pending(app[staff_db_key], app[settings_key].stops_dir)
    except sqlite3.Error as error:
        message = f"the staff database could not record the change before this one ({error})"
        raise WriteError(message, errno.ENOSPC) from error
    except OSError as error:
        raise WriteError(write_reason(error, JOURNAL_FILE), error.errno) from error


async def finish_pending_quietly(app: web.Application) -> None:
    """The same before the history notes the disk, which would otherwise take an
    unrecorded change for an anonymous hand edit; a failure leaves it for later."""
    with contextlib.suppress(sqlite3.Error, OSError, TourError):
        await finish_pending(app[staff_db_key], app[settings_key].stops_dir)


def queue_narration(app: web.Application, stop_ids: Sequence[str]) -> None:
    """Build the narration of `stop_ids` after any build already running, one at a time."""
    app[studio_key].jobs.enqueue(stop_ids, functools.partial(build_stop_narration, app))


async def build_stop_narration(app: web.Application, job: BuildJob) -> None:
    """Build the missing and changed narration of one stop, then serve it."""
    # The stop list marks the languages of this stop whose last build failed.
    job.failures = app[studio_key].narration_failures[job.scope] = {}
    await run_job(job, build_stop(app, job), "narration build after a publish")


async def build_stop(app: web.Application, job: BuildJob) -> None:
    settings = app[settings_key]
    voice, why = await asyncio.to_thread(choose_voice, settings.audio_engine)
    job.lines.append(f"voice: {why}")
    tour = app[site_key].current.tour
    job.builder = NarrationBuilder(tour, settings.media_dir, voice, progress=job.lines.append)
    report = await job.builder.build(stops=(job.scope,))
    job.summary = report.summary()
    job.failed = not report.ok
    failures = job.failures if job.failures is not None else {}
    failures.update({ITEM_LANGUAGE.sub(r"\1", item): reason for item, reason in report.failed})
    await rebuild_site(app)
