"""What every studio view does first: find the stop the URL names, its file and draft."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from aiohttp import web

from tour.core.errors import TourError
from tour.staff.editing import file_hash, read_utf8, stop_path
from tour.staff.revisions import Draft, get_draft
from tour.staff.walk import RETIRED_FOLDER
from tour.web.keys import settings_key, site_key, staff_db_key
from tour.web.studio.auth import StaffContext, raise_response, render_staff
from tour.web.studio.stop_forms import stop_file_name

LOCATION_KEYS = ("lat", "lon", "coord_source", "coord_note")


def field_order(languages: Sequence[str]) -> list[str]:
    """The form's fields in the order it shows them, for the summary of problems."""
    names = [f"{table}.{lang}" for lang in languages for table in ("name", "text", "spoken")]
    return [*names, "code", "sources", *(f"location.{key}" for key in LOCATION_KEYS)]


def posted_fields(form: Mapping[str, str], languages: Sequence[str]) -> dict[str, str]:
    """The stop's fields of a posted form, with browsers' CRLF line ends made plain."""
    names = {*field_order(languages), "note"}
    return {name: value.replace("\r\n", "\n") for name, value in form.items() if name in names}


def not_found_page(request: web.Request, staff: StaffContext, message: str) -> NoReturn:
    raise_response(render_staff(request, staff, "error.html", status=404, message=message))


def requested_stop(request: web.Request, staff: StaffContext) -> str:
    """The stop id in the URL; one that could not be a stop file's name is a 404."""
    stop_id = request.match_info["stop"]
    try:
        stop_path(request.app[settings_key].stops_dir, stop_id)
    except TourError:
        not_found_page(request, staff, staff.words["studio_unknown_stop"].format(stop=stop_id))
    return stop_id


@dataclass(frozen=True, slots=True)
class Loaded:
    """A stop as the studio finds it: its file on disk and its draft; one may be absent."""

    stop_id: str
    disk: str | None
    draft: Draft | None
    unreadable: str = ""
    """The line naming the file and the fix when a hand edit saved it as Latin-1; the
    file then counts as absent (`disk` is None)."""

    @property
    def gone(self) -> bool:
        """Neither file nor draft: removed by hand, retired, or its new-stop draft discarded."""
        return self.disk is None and self.draft is None and not self.unreadable

    @property
    def disk_hash(self) -> str:
        return file_hash(self.disk) if self.disk is not None else ""

    @property
    def latest(self) -> str:
        """The draft when there is one, else the file: what preview and listen use."""
        if self.draft is not None:
            return self.draft.content
        return self.disk or ""


async def load_stop(request: web.Request, staff: StaffContext) -> Loaded:
    """Read the stop's file and draft; a stop with neither is a 404.

    A file saved as Latin-1 by hand is a 422 page whose one line says how to fix it.
    """
    loaded = await load_editable_stop(request, staff)
    if loaded.unreadable:
        message = loaded.unreadable
        raise_response(render_staff(request, staff, "error.html", status=422, message=message))
    return loaded


async def load_editable_stop(
    request: web.Request, staff: StaffContext, posted: bool = False
) -> Loaded:
    """As load_stop, but a file saved as Latin-1 comes back with its `unreadable` line,
    so a posted form can be shown again with what was typed.

    With `posted`, a stop that has neither file nor draft comes back `gone` rather than
    as a 404: the form posted for it holds what someone typed.
    """
    stop_id = requested_stop(request, staff)
    path = request.app[settings_key].stops_dir / stop_file_name(stop_id)
    unreadable = ""
    try:
        disk = await asyncio.to_thread(read_utf8, path)
    except TourError as error:
        disk, unreadable = None, str(error)
    draft = await get_draft(request.app[staff_db_key], stop_id)
    if disk is None and draft is None and not unreadable and not posted:
        not_found_page(request, staff, staff.words["studio_unknown_stop"].format(stop=stop_id))
    return Loaded(stop_id, disk, draft, unreadable)


def may_become_draft(app: web.Application, stop_id: str) -> bool:
    """Say whether a gone stop's typed form may be kept as a draft.

    Only while the stop is still in the live tour, its file removed by hand: a retired
    stop keeps its file in retired/, and a stop that never was is added on the walk
    page (publishers, checked file name, audited), never through this form.
    """
    retired = app[settings_key].stops_dir / RETIRED_FOLDER / f"{stop_id}.toml"
    live = app[site_key].current.tour.stop_by_id(stop_id) is not None
    return live and not retired.exists()


def gone_line(app: web.Application, staff: StaffContext, stop_id: str) -> str:
    """What to say of a stop with neither file nor draft: keep it as a draft, or copy it."""
    keepable = may_become_draft(app, stop_id)
    return staff.words["studio_stop_gone" if keepable else "studio_stop_gone_copy"]


@dataclass(frozen=True, slots=True)
class PostedForm:
    """A posted stop form: the stop as found now, the fields, and what the form was loaded on."""

    loaded: Loaded
    fields: Mapping[str, str]
    base: str
    """The hash of the file text the form was loaded from."""
    draft: str
    """The version of the draft the form was loaded from ("" for none): see draft_version."""
