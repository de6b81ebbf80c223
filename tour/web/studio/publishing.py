"""The one path by which the studio changes the stop files and makes them live.

Publishing a stop, restoring a revision and the walk's edits (add, reorder, retire)
all end here: under `publish_lock(app)` the caller checks what it is about to write,
then `publish_files` has tour.staff.publish keep the versions being replaced in the
history, write the files atomically (or not at all) and record who did it, then
reloads the site and queues the narration of the stops that changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

from tour.catalog import TOUR_FILE, Problem
from tour.core.builds import BuildReport
from tour.core.errors import TourError
from tour.staff.changes import finish_pending
from tour.staff.editing import ConflictError, WriteError
from tour.staff.publish import ChangeRequest, PublishRefused, write_change
from tour.voice.narration import NarrationBuilder
from tour.voice.speech import choose_voice
from tour.web.keys import settings_key, site_key, staff_db_key
from tour.web.lifecycle import rebuild_site, reload_site
from tour.web.studio.auth import StaffContext
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

    The caller holds `publish_lock(app)` and has checked the texts; `write_change`
    (tour.staff.publish) says what it checks, writes and records, and what it raises
    (PublishRefused, ConflictError, WriteError) when nothing changed. Written files go
    live all the same when the database could not record them (`Published.unrecorded`).
    """
    if not publish_lock(app).locked():
        raise RuntimeError("publish_files needs publish_lock(app) held by its caller")
    change = ChangeRequest(texts, bases, staff.account.name, kind, note, remove)
    written = await write_change(app[staff_db_key], app[settings_key].stops_dir, change)
    problems = await reload_site(app)
    changed_stops = tuple(sorted(name.removesuffix(".toml") for name in texts if name != TOUR_FILE))
    live = app[site_key].current.tour
    narration = tuple(stop for stop in changed_stops if live.stop_by_id(stop) is not None)
    if not problems:
        queue_narration(app, narration)
    return Published(
        written.revisions, problems, narration if not problems else (), written.unrecorded
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a publish came to: `published`, or the one reason nothing was written."""

    published: Published | None = None
    conflict: ConflictError | None = None
    """A file changed on disk since the change was made on it."""
    refusal: PublishRefused | None = None
    """Another file broke since the change was checked (a hand edit)."""
    write_error: WriteError | None = None
    """The disk, or the database keeping the replaced versions, refused."""
    unreadable: TourError | None = None
    """A file saved as Latin-1 by hand since it was read."""


async def publish(
    app: web.Application,
    staff: StaffContext,
    texts: Mapping[str, str],
    bases: Mapping[str, str],
    kind: str,
    note: str = "",
    remove: Sequence[str] = (),
) -> Outcome:
    """`publish_files`, with each way it can write nothing as an Outcome for the page.

    The stop form, a restore and the walk's edits all publish here; each page then
    says the outcome in its own way.
    """
    try:
        return Outcome(await publish_files(app, staff, texts, bases, kind, note, remove))
    except ConflictError as conflict:
        return Outcome(conflict=conflict)
    except PublishRefused as refusal:
        return Outcome(refusal=refusal)
    except WriteError as error:
        return Outcome(write_error=error)
    except TourError as error:
        return Outcome(unreadable=error)


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


async def build_for_job(
    app: web.Application, job: BuildJob, stops: Sequence[str], force: bool = False
) -> BuildReport:
    """Build narration as `job`, with the voice of the settings, its progress in the job's
    lines; then serve the pages of what was built. The one build of every studio job."""
    settings = app[settings_key]
    voice, why = await asyncio.to_thread(choose_voice, settings.audio_engine)
    job.lines.append(f"voice: {why}")
    tour = app[site_key].current.tour
    job.builder = NarrationBuilder(tour, settings.media_dir, voice, progress=job.lines.append)
    report = await job.builder.build(stops=stops, force=force)
    job.summary = report.summary()
    job.failed = not report.ok
    await rebuild_site(app)
    return report


async def build_stop(app: web.Application, job: BuildJob) -> None:
    report = await build_for_job(app, job, (job.scope,))
    failures = job.failures if job.failures is not None else {}
    failures.update({ITEM_LANGUAGE.sub(r"\1", item): reason for item, reason in report.failed})
