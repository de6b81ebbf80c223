"""The studio's stop form: show, check as you type, save a draft, publish, resolve conflicts.

A form is applied to the very text it was loaded from (its `base` hash), so what
staff wrote by hand in a stop file survives. Saving keeps a draft in the database;
publishing, for publishers, writes the file through `tour.web.studio.publishing`. A form
loaded from a file that has changed since gets the conflict page: nothing is
overwritten without a deliberate choice. The stop list is in `studio_list`, the
preview and listen pages in `studio_preview`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

from tour.catalog.stops import MAX_TEXT_CHARS
from tour.catalog.tour_file import MAX_NAME_CHARS
from tour.core.errors import TourError
from tour.core.model import COORD_SOURCES
from tour.staff.accounts import role_allows
from tour.staff.editing import file_hash, form_fields
from tour.staff.problem_words import Said, problems_in_language
from tour.staff.revisions import (
    DraftConflictError,
    draft_version,
    drop_draft,
    get_draft,
    save_draft,
)
from tour.web.keys import settings_key, site_key, staff_db_key
from tour.web.studio.auth import (
    StaffContext,
    form_key,
    refuse_role,
    render_staff,
    staff_key,
)
from tour.web.studio.conflict import conflict_page, discard, draft_conflict_page
from tour.web.studio.keys import studio_key
from tour.web.studio.preview import listen_message, narration_progress
from tour.web.studio.publishing import Outcome, publish, publish_lock
from tour.web.studio.stop_access import (
    Loaded,
    PostedForm,
    field_order,
    gone_line,
    load_editable_stop,
    load_stop,
    may_become_draft,
    posted_fields,
)
from tour.web.studio.stop_forms import (
    GENERAL,
    FormResult,
    evaluate_form,
    ordered_problems,
    stop_file_name,
    text_counters,
    text_of_base,
)

# 507 for a full disk; 503 for a disk the server may not write (read-only, no access).
FULL_DISK = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True, slots=True)
class Message:
    kind: str
    """Its CSS class: ok or alert."""
    text: str
    lines: Sequence[Said] = ()


def render_form(
    request: web.Request,
    staff: StaffContext,
    loaded: Loaded,
    fields: Mapping[str, str],
    base: str,
    problems: Mapping[str, Sequence[Said]],
    message: Message | None = None,
    status: int = 200,
) -> web.Response:
    app = request.app
    tour = app[site_key].current.tour
    stop_id = loaded.stop_id
    live_stop = tour.stop_by_id(stop_id)
    # Practical notes in the staff's language when the tour has it.
    lang = staff.lang if staff.lang in tour.languages else tour.default_language
    notes = tour.notes_for(live_stop) if live_stop is not None else []
    title_lang = lang if fields.get(f"name.{lang}") else tour.default_language
    job = app[studio_key].jobs.listen
    listen = job.status() if job is not None and job.stop == stop_id else None
    said = listen_message(request, staff, stop_id)
    return render_staff(
        request,
        staff,
        "stop_form.html",
        status=status,
        stop_id=stop_id,
        title=fields.get(f"name.{title_lang}") or stop_id,
        is_new=live_stop is None,
        fields=fields,
        base=base,
        problems=problems,
        summary=ordered_problems(problems, field_order(tour.languages)),
        counters=text_counters(tour, fields),
        # The browser stops typing where `tour check` would refuse the file.
        max_name_chars=MAX_NAME_CHARS,
        max_text_chars=MAX_TEXT_CHARS,
        languages=[(code, tour.ui[code]["language_name"]) for code in tour.languages],
        coord_sources=COORD_SOURCES,
        notes=[note.text.get(lang) or note.text[tour.default_language] for note in notes],
        draft=loaded.draft,
        draft_version=draft_version(loaded.draft),
        disk_changed=loaded.draft is not None and loaded.draft.base != loaded.disk_hash,
        message=message,
        can_publish=role_allows(staff.account.role, "publisher"),
        narration=narration_progress(app, stop_id),
        listen=listen,
        listen_languages=listen["languages"] if listen else (),
        listen_message=said,
        listen_failed=request.query.get("listen") in ("busy", "problems"),
    )


async def checked_form(
    app: web.Application, loaded: Loaded, text: str, base: str, fields: Mapping[str, str]
) -> FormResult:
    """Apply and check the form in a thread: checking reads every stop file."""
    tour = app[site_key].current.tour
    stops_dir = app[settings_key].stops_dir
    return await asyncio.to_thread(
        evaluate_form, stops_dir, tour, loaded.stop_id, text, base, fields
    )


async def stop_form(request: web.Request) -> web.Response:
    staff = request[staff_key]
    loaded = await load_stop(request, staff)
    tour = request.app[site_key].current.tour
    if loaded.draft is not None:
        text, base = loaded.draft.content, loaded.draft.base
    else:
        text, base = loaded.latest, loaded.disk_hash
    try:
        fields = form_fields(tour.languages, text)
    except (TourError, ValueError) as error:
        # A hand edit that is not TOML any more: `tour check` names its line.
        message = f"{stop_file_name(loaded.stop_id)}: {error}"
        return render_staff(request, staff, "error.html", status=422, message=message)
    result = await checked_form(request.app, loaded, text, base, fields)
    return render_form(request, staff, loaded, fields, base, result.problems)


# --- save, publish and conflicts ----------------------------------------------------------


async def stale_form(request: web.Request, staff: StaffContext, form: PostedForm) -> web.Response:
    """Keep the person's version as a draft, then show it beside the disk's (409)."""
    app = request.app
    loaded = form.loaded
    # The whole form over the disk's text: what "publish mine over it" would write.
    over = loaded.disk if loaded.disk is not None else loaded.latest
    result = await checked_form(app, loaded, over, loaded.disk_hash, form.fields)
    if not result.files:
        return not_applied(request, staff, form, result.problems)
    db = app[staff_db_key]
    try:
        await save_draft(db, loaded.stop_id, result.text, form.base, staff.account.name, form.draft)
    except DraftConflictError as conflict:
        return draft_conflict_page(request, staff, loaded, result.text, form.fields, conflict)
    file = stop_file_name(loaded.stop_id)
    disk = loaded.disk or ""
    version = file_hash(result.text)
    return conflict_page(
        request, staff, loaded, file, disk, result.text, form.fields, draft=version
    )


async def keep_draft(
    request: web.Request, staff: StaffContext, form: PostedForm, result: FormResult
) -> Loaded:
    """Save the form as the stop's draft and return the stop as it now stands.

    Raises DraftConflictError when someone saved the draft since the form was loaded.
    """
    db = request.app[staff_db_key]
    loaded = form.loaded
    await save_draft(db, loaded.stop_id, result.text, form.base, staff.account.name, form.draft)
    return Loaded(loaded.stop_id, loaded.disk, await get_draft(db, loaded.stop_id))


def not_applied(
    request: web.Request,
    staff: StaffContext,
    form: PostedForm,
    problems: Mapping[str, Sequence[Said]],
) -> web.Response:
    """The form could not be applied (a hand edit broke the file): typed form back, 422.

    Nothing is saved: there is no valid text to keep the typed fields in.
    """
    line = staff.words["studio_not_applied"]
    return render_form(
        request, staff, form.loaded, form.fields, form.base, problems, Message("alert", line), 422
    )


async def checked_and_kept(
    request: web.Request, staff: StaffContext, form: PostedForm
) -> tuple[Loaded, FormResult] | web.Response:
    """Check the posted form over the text it was loaded on, then keep it as the stop's draft.

    Returns the stop as it now stands with the check, or else the page that answers instead:
    the stale form beside the disk's (409), a form a hand edit keeps from applying (422), a
    draft saved meanwhile by someone else, or a database that could not keep it (507).
    """
    loaded, fields, base = form.loaded, form.fields, form.base
    text = text_of_base(loaded.disk, base, loaded.draft)
    if text is None:
        return await stale_form(request, staff, form)
    result = await checked_form(request.app, loaded, text, base, fields)
    if not result.files:
        return not_applied(request, staff, form, result.problems)
    try:
        return await keep_draft(request, staff, form, result), result
    except DraftConflictError as conflict:
        return draft_conflict_page(request, staff, loaded, result.text, fields, conflict)
    except sqlite3.Error as error:
        # The database's disk is full or failing: the typed form comes back, unsaved.
        line = staff.words["studio_draft_not_saved"].format(error=error)
        return render_form(request, staff, loaded, fields, base, {}, Message("alert", line), 507)


async def save(request: web.Request, staff: StaffContext, form: PostedForm) -> web.Response:
    kept = await checked_and_kept(request, staff, form)
    if isinstance(kept, web.Response):
        return kept
    loaded, result = kept
    fields, base = form.fields, form.base
    kind = "alert" if result.problems else "ok"
    line = staff.words["studio_saved"].format(count=result.problem_count)
    return render_form(request, staff, loaded, fields, base, result.problems, Message(kind, line))


async def publish_stop_form(
    request: web.Request, staff: StaffContext, form: PostedForm
) -> web.Response:
    """Under the publish lock: check, keep the draft, write, then show the live version."""
    app = request.app
    # The draft is kept until the file is written: a refusal or a failed write loses nothing.
    kept = await checked_and_kept(request, staff, form)
    if isinstance(kept, web.Response):
        return kept
    loaded, result = kept
    fields, base = form.fields, form.base
    if result.problems:
        line = staff.words["studio_publish_refused"].format(count=result.problem_count)
        message = Message("alert", line)
        return render_form(request, staff, loaded, fields, base, result.problems, message, 422)
    note = fields.get("note", "").strip()
    outcome = await publish(app, staff, result.files, result.bases, "publish", note)
    published = outcome.published
    if published is None:
        kept_form = PostedForm(loaded, fields, base, form.draft)  # on the draft just kept
        return not_published(request, staff, kept_form, result, outcome)
    # Only the draft this publish kept: one saved meanwhile by someone else stays.
    with contextlib.suppress(sqlite3.Error):  # a failing database keeps it: Discard drops it
        await drop_draft(app[staff_db_key], loaded.stop_id, result.text)
    message = Message("ok", staff.words["studio_published"])
    if published.unrecorded:
        line = staff.words["studio_published_unrecorded"].format(error=published.unrecorded)
        message = Message("alert", line)
    if published.reload_problems:
        lines = list(published.reload_problems)
        message = Message("alert", staff.words["studio_reload_problems"], lines)
    # The page shows the live text, not a draft: saving it over a draft someone kept
    # meanwhile is then a conflict, never a silent replacement.
    live = Loaded(loaded.stop_id, result.text, None)
    tour = app[site_key].current.tour
    live_fields = form_fields(tour.languages, result.text)
    return render_form(request, staff, live, live_fields, file_hash(result.text), {}, message)


def not_published(
    request: web.Request,
    staff: StaffContext,
    form: PostedForm,
    result: FormResult,
    outcome: Outcome,
) -> web.Response:
    """The form again, saying why the publish wrote nothing; the draft it kept stays."""
    loaded, fields, base = form.loaded, form.fields, form.base
    if outcome.conflict is not None:
        # A file changed between the check and the write (tour.toml edited by hand).
        name = outcome.conflict.path.name
        mine = result.files.get(name, result.text)
        version = draft_version(loaded.draft)
        current = outcome.conflict.current
        return conflict_page(request, staff, loaded, name, current, mine, fields, draft=version)
    if outcome.refusal is not None:
        # Another file broke since the form was checked (a hand edit): nothing was written.
        lines: list[Said] = list(outcome.refusal.problems)
        message = Message("alert", staff.words["studio_publish_refused"].format(count=len(lines)))
        return render_form(request, staff, loaded, fields, base, {GENERAL: lines}, message, 422)
    if outcome.write_error is not None:
        error = outcome.write_error
        message = Message("alert", staff.words["studio_write_failed"].format(error=error))
        status = 507 if error.errno in FULL_DISK else 503
        return render_form(request, staff, loaded, fields, base, {}, message, status)
    # tour.toml saved as Latin-1 by hand since the check
    return not_applied(request, staff, form, {GENERAL: [str(outcome.unreadable)]})


def gone_form(request: web.Request, staff: StaffContext, form: PostedForm) -> web.Response:
    """The stop has neither file nor draft any more: the typed form back, 409, unsaved.

    The form comes back on base "" with no draft, as a new stop's: where the stop is
    still live, saving it keeps a draft that publishing would write as a new file.
    """
    line = gone_line(request.app, staff, form.loaded.stop_id)
    return render_form(
        request, staff, form.loaded, form.fields, "", {}, Message("alert", line), 409
    )


async def stop_post(request: web.Request) -> web.Response:
    """action=save (editors), publish (publishers) or discard (drop the draft)."""
    staff, form = request[staff_key], request[form_key]
    app = request.app
    action = form.get("action", "save")
    if action == "publish":
        refuse_role(request, staff, "publisher")
    elif action not in ("save", "discard"):
        message = staff.words["studio_unknown_action"]
        return render_staff(request, staff, "error.html", status=400, message=message)
    loaded = await load_editable_stop(request, staff, posted=True)
    if action == "discard":
        return await discard(request, staff, loaded, form.get("draft", ""))
    fields = posted_fields(form, app[site_key].current.tour.languages)
    base = form.get("base", "")
    draft = form.get("draft", "")
    keep_gone = action == "save" and base == "" and draft == ""
    if loaded.gone and not (keep_gone and may_become_draft(app, loaded.stop_id)):
        return gone_form(request, staff, PostedForm(loaded, fields, base, draft))
    if action == "save":
        posted = PostedForm(loaded, fields, base, draft)
        if loaded.unreadable:  # saved as Latin-1 by hand: say so beside what was typed
            return not_applied(request, staff, posted, {GENERAL: [loaded.unreadable]})
        return await save(request, staff, posted)
    async with publish_lock(app):
        # Read again under the lock: the publish before this one may have changed the file.
        posted = PostedForm(
            await load_editable_stop(request, staff, posted=True), fields, base, draft
        )
        if posted.loaded.gone:
            return gone_form(request, staff, posted)
        if posted.loaded.unreadable:
            return not_applied(request, staff, posted, {GENERAL: [posted.loaded.unreadable]})
        return await publish_stop_form(request, staff, posted)


async def check(request: web.Request) -> web.Response:
    """The form's problems as JSON, {field: [messages]}, for the script that checks as you type."""
    staff, form = request[staff_key], request[form_key]
    loaded = await load_editable_stop(request, staff, posted=True)
    if loaded.unreadable:
        message = loaded.unreadable
        return render_staff(request, staff, "error.html", status=422, message=message)
    app = request.app
    if loaded.gone:
        gone = web.json_response({GENERAL: [gone_line(app, staff, loaded.stop_id)]}, status=409)
        return gone
    fields = posted_fields(form, app[site_key].current.tour.languages)
    base = form.get("base", "")
    # A stale form is checked on the latest text all the same: saving shows the conflict.
    text = text_of_base(loaded.disk, base, loaded.draft)
    result = await checked_form(app, loaded, loaded.latest if text is None else text, base, fields)
    response = web.json_response(problems_in_language(result.problems, staff.lang))
    return response
