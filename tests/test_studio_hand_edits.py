"""Files a hand edit left unreadable: a line naming the file and the fix, never a 500.

A stop file or tour.toml saved as Latin-1, or no longer TOML, must not break the
history, the walk, publishing or restoring: each answer names the file (and line)
and says how to fix it, and nothing is written.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from tour.core.settings import Settings

from . import staff
from . import test_studio_walk as walk
from .staff import Client, page_csrf

stops = walk.stops
settings = walk.settings
queued = walk.queued
publisher = walk.publisher
STOP = walk.STOP

LATIN_1 = "is not saved as UTF-8 (byte 0xe9); save it as UTF-8 in the editor, then try again"
NOT_TOML = "not valid TOML any more ("
NOT_TOML_FIX = "correct the file by hand or restore a version from its history"


def save_as_latin_1(path: Path) -> None:
    """Save `path` as a Latin-1 editor would after typing an é on its first line."""
    text = path.read_text("utf-8")
    path.write_bytes(("# café\n" + text).encode("latin-1", errors="replace"))


def break_toml(path: Path) -> int:
    """Leave an unterminated string on a new line 2; return that line."""
    text = path.read_text("utf-8")
    path.write_text('# hand edit\nbroken = "unterminated\n' + text, "utf-8")
    return 2


async def answer(client: Client, method: str, url: str, **data: str) -> tuple[int, str]:
    if method == "GET":
        response = await client.get(url, allow_redirects=False)
    else:
        form = {"csrf": await page_csrf(client), **data}
        response = await client.post(url, data=form, allow_redirects=False)
    return response.status, html.unescape(await response.text())


async def test_a_latin_1_stop_file_is_named_on_its_history_restore_and_retire(
    publisher: Client, stops: Path, settings: Settings
) -> None:
    text = (stops / f"{STOP}.toml").read_text("utf-8")
    await walk.publish(publisher, f"{STOP}.toml", text + "# published\n")
    base, oldest = await walk.history_form(publisher)
    walk_page = await (await publisher.get("/admin/walk")).text()
    path = stops / f"{STOP}.toml"
    save_as_latin_1(path)
    spoiled = path.read_bytes()
    line = f"{STOP}.toml, line 1: the file {LATIN_1}"
    status, page = await answer(publisher, "GET", f"/admin/stops/{STOP}/history")
    assert status == 422, page
    assert line in page
    status, page = await answer(
        publisher, "POST", f"/admin/stops/{STOP}/history", revision=oldest, base=base
    )
    assert status == 422, page
    assert line in page
    status, page = await answer(
        publisher,
        "POST",
        "/admin/walk/retire",
        stop=STOP,
        mode="closed",
        action="confirm",
        base=walk.base_of(walk_page),
    )
    assert status == 409, page
    assert line in page
    assert path.read_bytes() == spoiled
    assert not (stops / "retired").exists()


async def test_a_latin_1_tour_file_is_named_on_the_walk_and_its_actions(
    publisher: Client, stops: Path
) -> None:
    walk_page = await (await publisher.get("/admin/walk")).text()
    path = stops / "tour.toml"
    save_as_latin_1(path)
    spoiled = path.read_bytes()
    line = f"tour.toml, line 1: the file {LATIN_1}"
    status, page = await answer(publisher, "GET", "/admin/walk")
    assert status == 422, page
    assert line in page
    base = walk.base_of(walk_page)
    for url, fields in (
        ("/admin/walk/order", {"stop": STOP, "action": "up"}),
        ("/admin/walk/retire", {"stop": STOP, "mode": "closed", "action": "confirm"}),
    ):
        status, page = await answer(publisher, "POST", url, base=base, **fields)
        assert status == 422, (url, page)
        assert line in page
    assert path.read_bytes() == spoiled


async def test_a_tour_file_that_is_not_toml_is_named_on_the_walk_actions(
    publisher: Client, stops: Path
) -> None:
    path = stops / "tour.toml"
    line = break_toml(path)
    spoiled = path.read_bytes()
    status, page = await answer(publisher, "GET", "/admin/walk")
    assert status == 200, page
    base = walk.base_of(page)
    for url, fields in (
        ("/admin/walk/order", {"stop": STOP, "action": "up"}),
        ("/admin/walk/retire", {"stop": STOP, "mode": "closed", "action": "confirm"}),
    ):
        status, page = await answer(publisher, "POST", url, base=base, **fields)
        assert status == 409, (url, page)
        assert f"tour.toml, line {line}: {NOT_TOML}" in page
        assert NOT_TOML_FIX in page
    assert path.read_bytes() == spoiled


async def test_a_restore_over_a_stop_file_that_is_not_toml_puts_the_old_text_back(
    publisher: Client, stops: Path
) -> None:
    path = stops / f"{STOP}.toml"
    text = path.read_text("utf-8")
    await walk.publish(publisher, f"{STOP}.toml", text + "# published\n")
    _, oldest = await walk.history_form(publisher)
    break_toml(path)
    status, page = await answer(publisher, "GET", f"/admin/stops/{STOP}/history")
    assert status == 200, page
    status, page = await answer(
        publisher, "POST", f"/admin/stops/{STOP}/history", revision=oldest, base=walk.base_of(page)
    )
    assert status == 303, page
    assert path.read_text("utf-8") == text


@pytest.mark.parametrize("action", ["save", "publish"])
async def test_a_save_after_a_latin_1_edit_keeps_the_typed_form(
    publisher: Client, stops: Path, settings: Settings, action: str
) -> None:
    page = await (await publisher.get(f"/admin/stops/{STOP}")).text()
    path = stops / f"{STOP}.toml"
    save_as_latin_1(path)
    spoiled = path.read_bytes()
    status, page = await answer(
        publisher,
        "POST",
        f"/admin/stops/{STOP}",
        base=walk.base_of(page),
        action=action,
        **{"name.en": "My careful new name"},
    )
    assert status == 422, page
    assert 'value="My careful new name"' in page
    assert "Nothing was saved: fix the problem below first." in page
    assert f"{STOP}.toml, line 1: the file {LATIN_1}" in page
    assert path.read_bytes() == spoiled
    assert staff.rows(settings, "SELECT * FROM drafts") == []
