"""Retiring a stop keeps the tour checkable, and the page says what was written."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import tour.web.studio.publishing
from tour.catalog import Problem, check_tour
from tour.catalog.messages import Message
from tour.core.settings import Settings
from tour.staff.database import StaffDatabase
from tour.staff.editing import file_hash
from tour.staff.revisions import save_draft

from . import staff
from . import test_studio_walk as walk
from .staff import Client

# The walk tests' stops folder, settings and publisher serve here too.
stops = walk.stops
settings = walk.settings
queued = walk.queued
publisher = walk.publisher
publish = walk.publish
retire = walk.retire
rows = staff.rows


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.glob("*.toml")}


async def test_retiring_a_renamed_stop_closes_its_old_code_too(
    publisher: Client, stops: Path
) -> None:
    tour_file = stops / "tour.toml"
    stop_file = stops / "gedung-tabib.toml"
    # The stop's code was renamed from tabib to tabib2: the old code leads to it.
    renamed = stop_file.read_text("utf-8").replace('code = "tabib"', 'code = "tabib2"')
    await publish(publisher, "gedung-tabib.toml", renamed)
    kept = tour_file.read_text("utf-8").replace(
        "[retired]\n", '[retired]\ntabib = "gedung-tabib"\n'
    )
    await publish(publisher, "tour.toml", kept)
    assert check_tour(stops)[1] == []
    status, page = await retire(publisher, stop="gedung-tabib", mode="closed", action="confirm")
    assert status == 303, page
    assert check_tour(stops)[1] == []
    assert tomllib.loads(tour_file.read_text("utf-8"))["retired"] == {"tabib": "", "tabib2": ""}


async def test_retiring_the_stop_a_code_moved_to_leads_that_code_on(
    publisher: Client, stops: Path
) -> None:
    status, page = await retire(
        publisher, stop="gedung-tabib", mode="moved", moved_to="bukit-kursi", action="confirm"
    )
    assert status == 303, page
    status, page = await retire(publisher, stop="bukit-kursi", mode="closed", action="confirm")
    assert status == 303, page
    assert check_tour(stops)[1] == []
    retired = tomllib.loads((stops / "tour.toml").read_text("utf-8"))["retired"]
    assert retired == {"tabib": "", "kursi": ""}
    answer = await publisher.get("/s/tabib", headers={"Accept-Language": "en"})
    assert answer.status == 200


async def test_a_retirement_that_would_break_the_tour_writes_nothing(
    publisher: Client, stops: Path, settings: Settings
) -> None:
    # A hand edit broke another stop since the walk page was loaded.
    jetty = stops / "jetty.toml"
    jetty.write_text(jetty.read_text("utf-8").replace('code = "', 'code = "x y'), "utf-8")
    before = folder_bytes(stops)
    status, page = await retire(publisher, stop="gedung-tabib", mode="closed", action="confirm")
    assert status == 409, page
    assert "This change was not saved because it would break the tour:" in page
    assert "jetty.toml" in page
    assert folder_bytes(stops) == before
    assert not (stops / "retired").exists()
    assert rows(settings, "SELECT action FROM audit WHERE action = 'retire'") == []


async def test_written_but_not_reloaded_says_it_was_written(
    publisher: Client, stops: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = Problem("stops/jetty.toml", 3, "code", Message.of("value_empty"))

    async def failed_reload(app: object) -> list[Problem]:
        return [problem]

    monkeypatch.setattr(tour.web.studio.publishing, "reload_site", failed_reload)
    status, page = await retire(publisher, stop="gedung-tabib", mode="closed", action="confirm")
    assert status == 200, page
    assert (
        "The change was written to the files, but the tour could not be reloaded; the previous "
        "version stays live until these are fixed:"
    ) in page
    assert str(problem) in page
    assert "was not saved" not in page
    assert (stops / "retired" / "gedung-tabib.toml").exists()


async def test_retiring_a_stop_drops_its_draft_and_the_audit_says_so(
    publisher: Client, stops: Path, settings: Settings
) -> None:
    async with StaffDatabase(settings.db_path) as db:
        text = (stops / "gudang-mesiu.toml").read_text("utf-8")
        await save_draft(db, "gudang-mesiu", text + "# draft\n", file_hash(text), "pat")
    status, page = await walk.retire(
        publisher, stop="gudang-mesiu", mode="closed", action="confirm"
    )
    assert status == 303, page
    assert staff.rows(settings, "SELECT * FROM drafts") == []
    assert staff.rows(settings, "SELECT detail FROM audit WHERE action = 'retire'") == [
        (
            "retired/gudang-mesiu.toml, tour.toml: gudang-mesiu retired, code mesiu closed; "
            "its unpublished draft was dropped",
        )
    ]
