"""The history page under odd input and beside a publish that is still running."""

from __future__ import annotations

import asyncio
import html
from pathlib import Path
from typing import Any

import pytest

import tour.staff.publish
import tour.web.studio.publishing
from tour.core.settings import Settings
from tour.staff import changes

from . import staff
from . import test_studio_walk as walk
from .staff import Client, page_csrf

stops = walk.stops
settings = walk.settings
queued = walk.queued
publisher = walk.publisher
publish = walk.publish
rows = staff.rows
STOP = walk.STOP


@pytest.mark.parametrize(("revision", "shown"), [("²", "²"), ("9" * 30, "9" * 20 + "…")])
async def test_restoring_an_odd_revision_number_is_a_400_with_a_line(
    publisher: Client, revision: str, shown: str
) -> None:
    csrf = await page_csrf(publisher, f"/admin/stops/{STOP}/history")
    answer = await publisher.post(
        f"/admin/stops/{STOP}/history",
        data={"csrf": csrf, "revision": revision, "base": "", "action": "restore"},
        allow_redirects=False,
    )
    page = html.unescape(await answer.text())
    assert answer.status == 400, page
    assert f"Version '{shown}' is not in this file's history." in page


async def test_history_viewed_during_a_publish_records_no_hand_edit(
    publisher: Client, stops: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await publisher.get(f"/admin/stops/{STOP}/history")).status == 200
    real = changes.record_change

    async def slow_record_change(*args: Any, **kwargs: Any) -> dict[str, int]:
        await asyncio.sleep(0.3)  # the file is written; its revision is not recorded yet
        return await real(*args, **kwargs)

    monkeypatch.setattr(tour.staff.publish, "record_change", slow_record_change)
    text = (stops / f"{STOP}.toml").read_text("utf-8") + "# published\n"
    publishing = asyncio.create_task(publish(publisher, f"{STOP}.toml", text))
    await asyncio.sleep(0.15)
    assert (await publisher.get(f"/admin/stops/{STOP}/history")).status == 200
    await publishing
    kinds = rows(
        settings, "SELECT kind FROM revisions WHERE file = ? ORDER BY id", (f"{STOP}.toml",)
    )
    assert kinds == [("found",), ("publish",)]


async def test_a_retired_stops_first_retired_revision_is_diffed_against_its_last_live_one(
    publisher: Client, stops: Path
) -> None:
    text = (stops / "gudang-mesiu.toml").read_text("utf-8")
    await publish(publisher, "gudang-mesiu.toml", text + "# published\n")
    status, page = await walk.retire(
        publisher, stop="gudang-mesiu", mode="closed", action="confirm"
    )
    assert status == 303, page
    answer = await publisher.get("/admin/stops/gudang-mesiu/history")
    page = await answer.text()
    assert answer.status == 200, page
    newest, published, found = walk.sections(page)
    assert 'data-kind="retire"' in newest
    assert walk.diff_marks(newest) == []
    assert "The same content as the version before." in newest
    assert walk.diff_marks(published) == ["+# published"]
    assert 'data-kind="found"' in found
