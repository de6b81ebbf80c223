"""The walk: add a stop, reorder the walk, retire a stop, keep old codes answering.

Each change is an edit of tour.toml made with tomlkit, so its comments survive. The
caller writes the results with editing.write_files, checked like any other edit.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.items
from tomlkit.toml_document import TOMLDocument

from tour.catalog.fields import toml_type
from tour.catalog.messages import Message
from tour.catalog.tour_file import CODE_PATTERN
from tour.core.errors import TourError
from tour.core.model import Tour
from tour.printing.qr import MAX_VERSION, QrError, make_qr, payload_for

NEW_STOP_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
RETIRED_FOLDER = "retired"
RESERVED_IDS = ("tour", RETIRED_FOLDER)
"""tour.toml and the retired/ folder: names a stop file cannot take."""
LONGEST_CODE = 16
MAX_ID_CHARS = 40
_PLACEHOLDER_TEXT = "Write the story of this place here, about a minute of narration."


def new_stop_problems(tour: Tour, stops_dir: Path, stop_id: str, code: str) -> dict[str, Message]:
    """Say what is wrong with a new stop's file name ("file") and code ("code")."""
    problems: dict[str, Message] = {}
    file_problem = _file_name_problem(stops_dir, stop_id)
    if file_problem:
        problems["file"] = file_problem
    code_problem = _code_problem(tour, code)
    if code_problem:
        problems["code"] = code_problem
    return problems


def _file_name_problem(stops_dir: Path, stop_id: str) -> Message | None:
    example = "rumah-hitam"
    if not stop_id:
        return Message.of("file_name_missing", example=example)
    if "/" in stop_id or "\\" in stop_id or ".." in stop_id:
        return Message.of("file_name_path", value=stop_id, example=example)
    if len(stop_id) > MAX_ID_CHARS:
        return Message.of("file_name_too_long", value=stop_id, n=len(stop_id), most=MAX_ID_CHARS)
    if not NEW_STOP_ID.fullmatch(stop_id):
        return Message.of("file_name_characters", value=stop_id, example=example)
    if stop_id in RESERVED_IDS:
        return Message.of("file_name_reserved", value=stop_id)
    if (stops_dir / f"{stop_id}.toml").exists():
        return Message.of("file_name_taken", value=stop_id)
    if (stops_dir / RETIRED_FOLDER / f"{stop_id}.toml").exists():
        return Message.of("file_name_taken_retired", value=stop_id)
    return None


def _code_problem(tour: Tour, code: str) -> Message | None:
    if not CODE_PATTERN.fullmatch(code):
        return Message.of("code_pattern", value=code, most=LONGEST_CODE, example="masjid")
    owner = tour.stop_by_code(code)
    if owner is not None:
        return Message.of("code_taken", value=code, owner=owner.id)
    if code in tour.retired:
        return Message.of("code_retired", value=code)
    longest = longest_code(tour)
    if len(code) > longest:
        return Message.of(
            "code_qr_too_big",
            value=code,
            version=MAX_VERSION,
            level=tour.qr_error_correction,
            most=longest,
        )
    return None


def longest_code(tour: Tour) -> int:
    """Return the longest code whose QR address still fits the plaques' QR version."""
    for length in range(LONGEST_CODE, 0, -1):
        if _fits(tour, "x" * length):
            return length
    return 0


def _fits(tour: Tour, code: str) -> bool:
    if not tour.stops:
        return True
    stop = dataclasses.replace(tour.stops[0], code=code)
    try:
        make_qr(payload_for(tour.base_url, stop), tour.qr_error_correction)
    except QrError:
        return False
    return True


def new_stop_text(tour: Tour, code: str) -> str:
    """Return a commented skeleton stop file; its texts must be written before publishing.

    The placeholder text is far shorter than a minute of narration, so the tour's
    length check refuses to publish it: it can only be saved as a draft until written.
    """
    bounds = tour.bounds
    lat = round((bounds.south + bounds.north) / 2, 6)
    lon = round((bounds.west + bounds.east) / 2, 6)
    names = "\n".join(f'{lang} = "{code}"' for lang in tour.languages)
    texts = "\n".join(f'{lang} = """\n{_PLACEHOLDER_TEXT}\n"""' for lang in tour.languages)
    return f'''\
# A new stop. Write its name and text in every language; it can be published once
# the tour's checks pass.
code = "{code}"
sources = []

[location]
# The middle of the tour area: take the position at the site with "use my location".
lat = {lat}
lon = {lon}
coord_source = "estimated"

[name]
{names}

[text]
{texts}
'''


def with_stop_added(tour_text: str, stop_id: str) -> str:
    """Add a stop at the end of the walking order."""
    doc = tomlkit.parse(tour_text)
    order = _order(doc)
    if stop_id not in order:
        order.append(stop_id)
    return doc.as_string()


def with_order(tour_text: str, order: Sequence[str]) -> str:
    """Set the walking order, keeping the list's layout and the comments around it.

    When `order` holds the same stops as the file, the items move in place: each
    keeps the comment written after it, and every line keeps its indent and comma.
    """
    doc = tomlkit.parse(tour_text)
    current = _order(doc)
    if list(current) == list(order):
        return tour_text
    if sorted(current) == sorted(order):
        _reorder_in_place(current, order)
        return doc.as_string()
    multiline = "\n" in current.as_string()
    current.clear()
    current.extend(order)
    if multiline:
        current.multiline(True)
    return doc.as_string()


def _reorder_in_place(array: tomlkit.items.Array, order: Sequence[str]) -> None:
    """Move the items of `array` into `order`, each with its trailing comment.

    tomlkit has no public way to move an item with its comment, so the item groups
    (indent, value, comma, comment) are rearranged: value and comment move, the
    indent and comma stay with the line, whole-line comments stay where they are.
    """
    slots = [
        group
        for group in array._value
        if group.value is not None and not isinstance(group.value, tomlkit.items.Null)
    ]
    by_value = {str(group.value): (group.value, group.comment) for group in slots}
    for group, stop_id in zip(slots, order, strict=True):
        group.value, group.comment = by_value[stop_id]
    array._reindex()


def with_stop_retired(tour_text: str, stop_id: str, code: str, moved_to: str = "") -> str:
    """Take a stop out of the walk; its code keeps answering, leading to `moved_to` if given.

    Codes retired earlier that led to this stop now lead where it went (or are closed),
    so no `[retired]` entry names a stop file that is gone.
    """
    doc = tomlkit.parse(tour_text)
    order = _order(doc)
    if stop_id in order:
        del order[list(order).index(stop_id)]
    retired = _retired(doc)
    if retired is not None:
        for old_code, target in list(retired.items()):
            if target == stop_id:
                retired[old_code] = moved_to
    return with_code_kept(doc.as_string(), code, moved_to)


def with_code_kept(tour_text: str, old_code: str, stop_id: str) -> str:
    """Keep an old code answering: it leads to `stop_id`, or to "closed" when empty."""
    doc = tomlkit.parse(tour_text)
    retired = _retired(doc)
    if retired is None:
        retired = tomlkit.table()
        doc["retired"] = retired
    if old_code in retired or not _is_plain_table(retired):
        # An inline table or dotted keys (`retired.old = ""`) take the key in their own form.
        retired[old_code] = stop_id
        return doc.as_string()
    assert isinstance(retired, tomlkit.items.Table)
    # tomlkit appends after a table's trailing comments, which belong to what follows
    # (the next table's heading comment): put the key after the table's last key instead.
    body = retired.value.body
    after_last_key = max((i + 1 for i, (key, _) in enumerate(body) if key is not None), default=0)
    if after_last_key >= len(body):
        retired.add(old_code, stop_id)
    else:
        retired.value._insert_at(after_last_key, old_code, stop_id)
    return doc.as_string()


def with_code_changed(tour_text: str, old_code: str, new_code: str, stop_id: str) -> str:
    """A stop's code changes: the old code keeps answering and leads to `stop_id`.

    When `new_code` is one of this stop's own old codes (in `[retired]`, leading here),
    it leaves `[retired]`: it is the stop's live code again. A retired code that leads
    elsewhere stays, and the tour's check refuses it as the stop's code.
    """
    doc = tomlkit.parse(with_code_kept(tour_text, old_code, stop_id))
    retired = _retired(doc)
    if retired is not None and retired.get(new_code) == stop_id:
        del retired[new_code]
    return doc.as_string()


def _retired(doc: TOMLDocument) -> MutableMapping[str, Any] | None:
    """Return `retired` in whichever table form it was written, None when there is none.

    `[retired]`, an inline table (`retired = { old = "" }`) and dotted keys
    (`retired.old = ""`) all hold codes on plaques: every entry is kept. Any other
    value is refused rather than replaced, since replacing it would drop old codes.
    """
    retired = doc.get("retired")
    if retired is None:
        return None
    if not isinstance(retired, MutableMapping):
        found = toml_type(doc.unwrap()["retired"])
        raise TourError(
            f'tour.toml: retired must be a table of old code = "stop id", not {found}; '
            "write it as a [retired] table by hand, then try again"
        )
    return retired


def _is_plain_table(retired: MutableMapping[str, Any]) -> bool:
    """Whether `retired` is a `[retired]` heading with its keys below it."""
    return isinstance(retired, tomlkit.items.Table) and not retired.is_super_table()


def _order(doc: TOMLDocument) -> tomlkit.items.Array:
    order = doc.get("order")
    if not isinstance(order, tomlkit.items.Array):
        order = tomlkit.array()
        order.multiline(True)
        doc["order"] = order
    return order
