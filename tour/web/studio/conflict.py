"""The conflict page: the person's version beside the disk's, or beside someone's draft.

Nothing is overwritten without a deliberate choice: keeping mine from here names
the disk's version (its hash) and the draft it replaces.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from aiohttp import web

from tour.core.errors import TourError
from tour.staff.accounts import role_allows
from tour.staff.editing import form_fields
from tour.staff.revisions import (
    Draft,
    DraftConflictError,
    discard_draft,
    draft_version,
    may_discard,
)
from tour.web.keys import site_key, staff_db_key
from tour.web.studio.auth import (
    StaffContext,
    raise_response,
    render_staff,
    staff_key,
)
from tour.web.studio.stop_access import Loaded, load_stop
from tour.web.studio.stop_forms import stop_file_name


def conflict_page(
    request: web.Request,
    staff: StaffContext,
    loaded: Loaded,
    file: str,
    disk: str,
    mine: str,
    fields: Mapping[str, str],
    status: int = 409,
    *,
    draft: str = "",
    theirs: Draft | None = None,
    owner: str | None = None,
) -> web.Response:
    """Both versions, as a diff and in full, and the two ways on.

    `draft` is the version of the stop's stored draft, which keeping mine replaces.
    With `theirs`, the other version is someone else's draft rather than the disk's.
    `owner` is who saved that draft (the person, by default, who has just saved it):
    discarding it is offered only to them.
    """
    if owner is None:
        owner = theirs.who if theirs is not None else staff.account.name
    lines = difflib.unified_diff(disk.splitlines(), mine.splitlines(), lineterm="", n=2)
    diff = [line for line in lines if not line.startswith(("---", "+++"))]
    return render_staff(
        request,
        staff,
        "conflict.html",
        status=status,
        stop_id=loaded.stop_id,
        file=file,
        disk=disk,
        mine=mine,
        diff=diff,
        fields=fields,
        # Publishing over it must name the disk's version: a deliberate choice.
        disk_base=loaded.disk_hash,
        draft_version=draft,
        theirs=theirs,
        own_draft=owner == staff.account.name,
        can_publish=role_allows(staff.account.role, "publisher"),
    )


def draft_conflict_page(
    request: web.Request,
    staff: StaffContext,
    loaded: Loaded,
    mine: str,
    fields: Mapping[str, str],
    conflict: DraftConflictError,
) -> web.Response:
    """Someone saved the stop's draft since this form was loaded: theirs beside mine (409)."""
    theirs = conflict.current
    other = theirs.content if theirs is not None else (loaded.disk or "")
    file = stop_file_name(loaded.stop_id)
    return conflict_page(
        request,
        staff,
        loaded,
        file,
        other,
        mine,
        fields,
        draft=draft_version(theirs),
        theirs=theirs,
    )


async def conflict_view(request: web.Request) -> web.Response:
    """The draft beside the disk's version, when the file changed since the draft began."""
    staff = request[staff_key]
    loaded = await load_stop(request, staff)
    draft = loaded.draft
    if draft is None or draft.base == loaded.disk_hash:
        raise web.HTTPSeeOther(f"/admin/stops/{loaded.stop_id}")
    fields = form_fields(request.app[site_key].current.tour.languages, draft.content)
    file = stop_file_name(loaded.stop_id)
    disk = loaded.disk or ""
    version = draft_version(draft)
    return conflict_page(
        request,
        staff,
        loaded,
        file,
        disk,
        draft.content,
        fields,
        200,
        draft=version,
        owner=draft.who,
    )


async def discard(
    request: web.Request, staff: StaffContext, loaded: Loaded, version: str
) -> web.Response:
    """Drop the draft the page showed (its `version`), then show the stop.

    A draft someone saved since the page was loaded is shown beside the file instead:
    discarding never deletes work the person has not seen. Only the draft's author or a
    publisher may discard it (403 for others), and each discard is in the audit log.
    """
    draft = loaded.draft
    if draft is not None and draft_version(draft) != version:
        mine = loaded.disk or ""
        try:
            fields = form_fields(request.app[site_key].current.tour.languages, mine)
        except (TourError, ValueError):  # a hand edit broke the file: no fields to keep
            fields = {}
        conflict = DraftConflictError(loaded.stop_id, draft)
        return draft_conflict_page(request, staff, loaded, mine, fields, conflict)
    if draft is not None:
        if not may_discard(draft, staff.account.name, staff.account.role):
            message = staff.words["error_discard_needed"].format(
                who=draft.who,
                role=staff.words["role_publisher"],
                yours=staff.words[f"role_{staff.account.role}"],
            )
            raise_response(render_staff(request, staff, "error.html", status=403, message=message))
        # Only that very draft: one saved in between stays, and the form then shows it.
        await discard_draft(request.app[staff_db_key], draft, staff.account.name)
    raise web.HTTPSeeOther(f"/admin/stops/{loaded.stop_id}")
