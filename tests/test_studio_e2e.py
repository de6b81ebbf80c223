"""The staff studio end to end, in Debian's Chromium: accounts, editing, checks as you type,
preview and listen, publishing, history, logout, conflicts, the location button and
retired codes.

One `tour serve` process (its own, with eSpeak narration) serves a copy of the bundled
tour trimmed to three stops, with a real SQLite database; every step is done in the
browser, as staff would, in the staff pages' default language, Indonesian. Each test
uses its own stop or its own accounts, so they pass in any order.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import tomlkit
from mutagen.mp3 import MP3
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Geolocation,
    Page,
    Response,
    ViewportSize,
    expect,
)

from tour.catalog import bundled_stops_dir
from tour.staff.words import staff_words

from .browsing import Served, Watched, browser

__all__ = ["browser"]  # a fixture

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
BUNDLED_UI = tomllib.loads((bundled_stops_dir() / "tour.toml").read_text("utf-8"))["ui"]["id"]
"""The visitor words of the (default) Indonesian pages."""


def said(key: str, **values: object) -> str:
    """What the Indonesian staff pages (the default) say for `key`: the words are data."""
    text = staff_words()["id"][key]
    return text.format(**values) if values else text


SITE_ZONE = ZoneInfo("Asia/Jakarta")
KEPT_STOPS = ("masjid-raya", "gedung-tabib", "raja-jaafar")
COMMENT_ABOVE_TEXT = "# Checked at the site by the heritage office, 2026"
COMMENT_AT_END = "# Dates as in the mosque's own inscription; ask the office before changing them."
PASSWORD = "kata sandi panjang 2026"
SESSION_COOKIE = "tour_admin"
# The sentence the editor drops from the mosque's English text; the rest stays, in range.
DROPPED = (
    "The story has been handed down for generations, though one writer dismisses it as a "
    "fairy tale."
)
KEPT = "Legend has it that egg white was mixed with the lime and sand to make the mortar."
# A hand edit and a publisher's edit of the Royal Physician's House, in different sentences.
HAND_BEFORE = "Only the walls remain today, enclosing a space of 12 by 8 metres."
HAND_AFTER = "Only the walls stand today, enclosing a space of 12 by 8 metres."
MINE_BEFORE = "Take a moment to look at these old walls, and at the way their bricks were laid,"
MINE_AFTER = "Take a moment to look at these old walls and at the way their bricks were laid,"
NEW_CODE = "rawat"
NARRATION_TIMEOUT_MS = 180_000
"""eSpeak builds a stop's three languages in seconds, but the machine may be busy."""


@dataclass(frozen=True, slots=True)
class Studio:
    """The served tour: its address, its folders and its database."""

    served: Served
    stops: Path

    @property
    def base(self) -> str:
        return self.served.base

    def stop_file(self, stop_id: str) -> Path:
        return self.stops / f"{stop_id}.toml"

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Read the server's database (WAL: reading beside the running server is safe)."""
        with sqlite3.connect(f"file:{self.served.db}?mode=ro", uri=True) as connection:
            return connection.execute(sql, params).fetchall()

    def manifest_file(self, stop_id: str, lang: str) -> str:
        """The narration file that the live manifest names for the stop in `lang`."""
        manifest = (self.served.media / "audio" / "manifest.json").read_text(encoding="utf-8")
        return str(json.loads(manifest)["entries"][stop_id][lang]["file"])


def tour(stops: Path, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tour", "--stops", str(stops), *args],
        input=password,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def trimmed_tour(folder: Path) -> Path:
    """Copy the bundled tour, keep three stops, and add a staff-written comment to one."""
    stops = folder / "stops"
    shutil.copytree(bundled_stops_dir(), stops)
    for path in stops.glob("*.toml"):
        if path.name != "tour.toml" and path.stem not in KEPT_STOPS:
            path.unlink()
    tour_file = stops / "tour.toml"
    document = tomlkit.parse(tour_file.read_text(encoding="utf-8"))
    document["order"] = list(KEPT_STOPS)
    notes = document["notes"]
    kept = [note for note in notes if set(note["stops"]) <= set(KEPT_STOPS)]
    notes.clear()
    notes.extend(kept)
    tour_file.write_text(tomlkit.dumps(document), encoding="utf-8")
    mosque = stops / "masjid-raya.toml"
    text = mosque.read_text(encoding="utf-8")
    assert "\n[text]\n" in text
    text = text.replace("\n[text]\n", f"\n{COMMENT_ABOVE_TEXT}\n[text]\n", 1)
    mosque.write_text(f"{text}{COMMENT_AT_END}\n", encoding="utf-8")
    checked = tour(stops, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("ok: 3 stops in 3 languages")
    return stops


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    folder = tmp_path_factory.mktemp("studio")
    stops = trimmed_tour(folder)
    db = folder / "scans.db"
    # Accounts made as the README says to make the first admin: the real command, with the
    # password on stdin. The end-to-end run adds its editor and publisher in the browser;
    # rina (publisher) and tono (editor) are for the other tests.
    for name, role in [("admin", "admin"), ("rina", "publisher"), ("tono", "editor")]:
        added = tour(
            stops, "--db", str(db), "staff", "add", name, "--role", role, password=PASSWORD
        )
        assert added.returncode == 0, added.stderr
    served = Served(folder, stops, serve_options=["--engine", "espeak"])
    yield Studio(served, stops)
    served.stop()


class Staff:
    """A person's own browser context on a desktop, recording console errors."""

    def __init__(
        self,
        browser: Browser,
        studio: Studio,
        permissions: Sequence[str] = (),
        geolocation: Geolocation | None = None,
        timezone_id: str | None = None,
    ) -> None:
        self.studio = studio
        context = browser.new_context(
            viewport=DESKTOP,
            locale="id-ID",
            permissions=list(permissions),
            geolocation=geolocation,
            timezone_id=timezone_id,
        )
        self.watched = Watched(context, urlsplit(studio.base).netloc)
        self.page = self.watched.page()

    @property
    def context(self) -> BrowserContext:
        return self.watched.context

    def log_in(self, name: str, password: str = PASSWORD) -> None:
        page = self.page
        page.goto(self.studio.base + "/admin")
        page.wait_for_url(self.studio.base + "/admin/login")
        assert page.locator("html").get_attribute("lang") == "id"
        page.locator("#user").fill(name)
        page.locator("#password").fill(password)
        page.get_by_role("button", name="Masuk").click()
        page.wait_for_url(self.studio.base + "/admin")

    def goto(self, path: str) -> Response:
        response = self.page.goto(self.studio.base + path)
        assert response is not None
        return response

    def submit(self, selector: str) -> Response:
        """Press a submit button and return the answer the page navigated to."""
        with self.page.expect_navigation() as navigation:
            self.page.locator(selector).click()
        response = navigation.value
        assert response is not None
        return response

    def close(self, refused: Sequence[int] = ()) -> None:
        """Close the context; the only console errors allowed are the refusals expected."""
        self.context.close()
        expected = {
            f"Failed to load resource: the server responded with a status of {status} ({reason})"
            for status, reason in [(403, "Forbidden"), (409, "Conflict")]
            if status in refused
        }
        assert [error for error in self.watched.errors if error not in expected] == []
        assert self.watched.off_site() == []


def field(name: str) -> str:
    """A form control by its name: the ids hold dots, which CSS would read as classes."""
    return f'[id="{name}"]'


def visitor_page(browser: Browser, url: str) -> tuple[BrowserContext, Page]:
    """A visitor with no cookies and no service worker (it would answer from its cache)."""
    context = browser.new_context(viewport=DESKTOP, service_workers="block", locale="en-GB")
    page = context.new_page()
    response = page.goto(url)
    assert response is not None
    assert response.status == 200
    return context, page


def test_edit_check_preview_listen_publish_restore_and_log_out(
    browser: Browser, studio: Studio
) -> None:
    mosque = studio.stop_file("masjid-raya")
    original = mosque.read_bytes()
    original_en = tomllib.loads(original.decode())["text"]["en"]
    assert DROPPED in original_en
    fixed_en = original_en.replace(" " + DROPPED, "").strip()
    assert DROPPED not in fixed_en
    assert KEPT in fixed_en
    old_audio = studio.manifest_file("masjid-raya", "en")

    # 1. The admin creates an editor and a publisher on the accounts page.
    admin = Staff(browser, studio)
    admin.log_in("admin")
    admin.goto("/admin/accounts")
    for name, role in [("sari", "editor"), ("budi", "publisher")]:
        admin.page.locator("#new-name").fill(name)
        admin.page.locator("#new-role").select_option(role)
        admin.page.locator("#new-password").fill(PASSWORD)
        response = admin.submit('button[name="action"][value="add"]')
        assert response.url == studio.base + "/admin/accounts"
        expect(admin.page.locator("tbody th", has_text=name)).to_be_visible()
    admin.close()
    roles = studio.rows("SELECT name, role FROM staff WHERE name IN ('sari', 'budi') ORDER BY name")
    assert roles == [("budi", "publisher"), ("sari", "editor")]

    # 2. The editor makes the English text too short, sees why as she types, fixes it.
    editor = Staff(browser, studio)
    editor.log_in("sari")
    editor.goto("/admin/stops/masjid-raya")
    page = editor.page
    text_en = page.locator(field("text.en"))
    problems_en = page.locator(field("problems-text.en"))
    assert text_en.input_value().strip() == original_en.strip()
    expect(problems_en).to_be_hidden()
    text_en.fill("This is the Sultan of Riau Grand Mosque.")
    expect(problems_en).to_be_visible()
    expect(problems_en).to_contain_text("8 kata, terlalu pendek; tulis 120–250 kata")
    expect(text_en).to_have_attribute("aria-invalid", "true")
    expect(page.locator(field("counter-text.en"))).to_have_text(
        said("studio_counter_words", count=8, low=120, high=250)
    )
    text_en.fill(fixed_en)
    expect(problems_en).to_be_hidden()
    expect(page.locator("#problem-summary")).to_be_hidden()
    response = editor.submit('button[name="action"][value="save"]')
    assert response.status == 200
    expect(page.locator("#form-message")).to_have_text(said("studio_saved", count=0))
    assert mosque.read_bytes() == original  # a draft is not live
    [(who, draft)] = studio.rows("SELECT who, content FROM drafts WHERE stop = 'masjid-raya'")
    assert who == "sari"
    assert tomllib.loads(str(draft))["text"]["en"].strip() == fixed_en

    # 3. She previews the draft, then has its narration built and listens in the preview.
    editor.goto("/admin/stops/masjid-raya/preview?lang=en")
    expect(page.locator("nav.staff-preview")).to_contain_text(said("studio_preview_bar"))
    expect(page.locator("main")).to_contain_text(KEPT)
    expect(page.locator("main")).not_to_contain_text(DROPPED)
    editor.goto("/admin/stops/masjid-raya")
    page.locator("#listen-lang").select_option("en")
    page.locator("#listen").click()
    listen_status = page.locator("#listen-status")
    expect(listen_status).to_contain_text(said("studio_listen_done"), timeout=NARRATION_TIMEOUT_MS)
    listen_status.get_by_role("link", name="(en)").click()
    page.wait_for_url(studio.base + "/admin/stops/masjid-raya/preview?lang=en")
    source = page.locator("audio").get_attribute("src")
    assert source is not None
    assert source.startswith("/admin/drafts/audio/masjid-raya.en.")
    draft_audio = editor.context.request.get(studio.base + source)
    assert draft_audio.status == 200
    assert draft_audio.headers["content-type"] == "audio/mpeg"
    info: Any = MP3(io.BytesIO(draft_audio.body())).info  # type: ignore[no-untyped-call]
    assert info.length > 1
    assert not (studio.served.media / "audio" / source.rsplit("/", 1)[1]).exists()

    # 4. An editor may not publish: the form has no button for it, and the server says 403.
    editor.goto("/admin/stops/masjid-raya")
    assert page.locator('button[name="action"][value="publish"]').count() == 0
    page.locator("#stop-form .actions").evaluate(
        "actions => { const button = document.createElement('button');"
        " button.type = 'submit'; button.name = 'action'; button.value = 'publish';"
        " button.id = 'forced-publish'; button.textContent = 'publish';"
        " actions.appendChild(button); }"
    )
    response = editor.submit("#forced-publish")
    assert response.status == 403
    expect(page.locator("main")).to_contain_text(
        said("error_role_needed", role=said("role_publisher"), yours=said("role_editor"))
    )
    assert mosque.read_bytes() == original

    # 5. The publisher publishes the draft: the page, the file and the narration change.
    publisher = Staff(browser, studio)
    publisher.log_in("budi")
    publisher.goto("/admin/stops/masjid-raya")
    expect(publisher.page.locator(".draft-note")).to_contain_text("sari")
    response = publisher.submit('button[name="action"][value="publish"]')
    assert response.status == 200
    expect(publisher.page.locator("#form-message")).to_contain_text(said("studio_published"))
    # The file has the new text, and the comments staff wrote by hand where they wrote them.
    published = mosque.read_text(encoding="utf-8")
    assert tomllib.loads(published)["text"]["en"].strip() == fixed_en
    assert f"\n{COMMENT_ABOVE_TEXT}\n[text]\n" in published
    assert f"\n{COMMENT_AT_END}\n" in published
    visitor, visitor_tab = visitor_page(browser, studio.base + "/en/masjid")
    expect(visitor_tab.locator("main")).to_contain_text(KEPT)
    expect(visitor_tab.locator("main")).not_to_contain_text(DROPPED)
    # The narration is rebuilt in the background; the form follows it until it is done.
    narration = publisher.page.locator("#narration-status [data-line]")
    expect(narration).to_contain_text(
        said("studio_narration_built", summary="").strip(), timeout=NARRATION_TIMEOUT_MS
    )
    new_audio = studio.manifest_file("masjid-raya", "en")
    assert new_audio != old_audio
    assert new_audio.startswith("masjid-raya.en.")
    assert (studio.served.media / "audio" / new_audio).is_file()
    visitor_tab.reload()
    assert visitor_tab.locator("audio").get_attribute("src") == f"/media/audio/{new_audio}"
    visitor.close()

    # 6. The history shows the change as a diff; restoring the first version brings it back.
    publisher.goto("/admin/stops/masjid-raya/history")
    newest = publisher.page.locator("section.revision").first
    expect(newest.locator("pre.diff del")).to_contain_text(DROPPED)
    expect(newest.locator("pre.diff ins")).to_contain_text(KEPT)
    response = publisher.submit(
        'section.revision:has([data-kind="found"]) button[name="action"][value="restore"]'
    )
    assert response.status == 200
    assert "restored=" in response.url
    expect(publisher.page.locator("main [role=status]")).to_contain_text("sudah dipulihkan")
    assert mosque.read_bytes() == original
    assert studio.rows(
        "SELECT who FROM revisions WHERE file = 'masjid-raya.toml' AND kind = 'restore'"
    ) == [("budi",)]
    visitor, visitor_tab = visitor_page(browser, studio.base + "/en/masjid")
    expect(visitor_tab.locator("main")).to_contain_text(DROPPED)
    visitor.close()
    publisher.close()

    # 7. The editor logs out; her old session cookie opens nothing any more.
    [cookie] = [c for c in editor.context.cookies() if c["name"] == SESSION_COOKIE]
    editor.submit('form[action="/admin/logout"] button')
    page.wait_for_url(studio.base + "/admin/login")
    assert studio.rows("SELECT count(*) FROM sessions WHERE name = 'sari'") == [(0,)]
    editor.close(refused=[403])
    replay = browser.new_context(viewport=DESKTOP, locale="id-ID")
    replay.add_cookies(
        [{"name": SESSION_COOKIE, "value": cookie["value"], "url": studio.base + "/admin"}]
    )
    replay_tab = replay.new_page()
    replay_tab.goto(studio.base + "/admin")
    assert replay_tab.url.endswith("/admin/login")
    expect(replay_tab.locator('form[action="/admin/login"] input[name="user"]')).to_be_visible()
    replay.close()


def test_a_hand_edit_meanwhile_gets_the_conflict_page_and_nothing_is_lost(
    browser: Browser, studio: Studio
) -> None:
    path = studio.stop_file("gedung-tabib")
    disk = path.read_text(encoding="utf-8")
    assert HAND_BEFORE in disk
    assert MINE_BEFORE in disk
    publisher = Staff(browser, studio)
    publisher.log_in("rina")
    publisher.goto("/admin/stops/gedung-tabib")
    page = publisher.page
    text_en = page.locator(field("text.en"))
    text_en.fill(text_en.input_value().replace(MINE_BEFORE, MINE_AFTER))
    # Meanwhile someone edits the file by hand on the server.
    hand_edited = disk.replace(HAND_BEFORE, HAND_AFTER)
    path.write_text(hand_edited, encoding="utf-8")

    response = publisher.submit('button[name="action"][value="publish"]')
    assert response.status == 409
    expect(page.locator("main [role=alert]").first).to_contain_text("gedung-tabib.toml")
    on_disk = page.locator("section[aria-labelledby=disk-heading] pre")
    mine = page.locator("section[aria-labelledby=mine-heading] pre")
    expect(on_disk).to_contain_text(HAND_AFTER)
    expect(on_disk).to_contain_text(MINE_BEFORE)
    expect(mine).to_contain_text(HAND_BEFORE)
    expect(mine).to_contain_text(MINE_AFTER)
    assert path.read_text(encoding="utf-8") == hand_edited
    [(who, draft)] = studio.rows("SELECT who, content FROM drafts WHERE stop = 'gedung-tabib'")
    assert who == "rina"
    assert MINE_AFTER in str(draft)

    response = publisher.submit('#keep-mine button[name="action"][value="publish"]')
    assert response.status == 200
    expect(page.locator("#form-message")).to_contain_text(said("studio_published"))
    published = path.read_text(encoding="utf-8")
    assert MINE_AFTER in published
    assert HAND_AFTER not in published  # the person chose their version of the text
    # The hand edit it replaced is kept in the history, word for word.
    kept = studio.rows("SELECT content FROM revisions WHERE file = 'gedung-tabib.toml'")
    assert (hand_edited,) in kept
    assert studio.rows("SELECT count(*) FROM drafts WHERE stop = 'gedung-tabib'") == [(0,)]
    publisher.close(refused=[409])


def test_the_location_button_takes_a_fix_at_8_m_and_refuses_one_at_60_m(
    browser: Browser, studio: Studio
) -> None:
    before = studio.stop_file("gedung-tabib").read_bytes()
    surveyed: Geolocation = {"latitude": 0.928612, "longitude": 104.421187, "accuracy": 8}
    # A phone still on its home time, 17 hours behind the site: the note's date is the
    # site's (Asia/Jakarta), not the phone's.
    editor = Staff(
        browser,
        studio,
        permissions=["geolocation"],
        geolocation=surveyed,
        timezone_id="Pacific/Honolulu",
    )
    editor.log_in("tono")
    editor.goto("/admin/stops/gedung-tabib")
    page = editor.page
    lat, lon = page.locator(field("location.lat")), page.locator(field("location.lon"))
    source = page.locator(field("location.coord_source"))
    note = page.locator(field("location.coord_note"))
    status = page.locator("#location-status")
    assert source.input_value() != "surveyed"
    before_click = datetime.now(SITE_ZONE).date().isoformat()
    page.locator("#use-location").click()
    expect(status).to_have_text(said("studio_location_accepted", accuracy=8))
    expect(lat).to_have_value("0.928612")
    expect(lon).to_have_value("104.421187")
    expect(source).to_have_value("surveyed")
    after_click = datetime.now(SITE_ZONE).date().isoformat()
    assert note.input_value() in {
        said("studio_location_note", date=day, accuracy=8) for day in (before_click, after_click)
    }
    # The checks run again on the new values: a fix inside the tour's bounds is no problem.
    expect(page.locator(field("problems-location.lat"))).to_be_hidden()

    editor.context.set_geolocation({"latitude": 0.9301, "longitude": 104.4199, "accuracy": 60})
    page.locator("#use-location").click()
    expect(status).to_contain_text(said("studio_location_too_coarse", accuracy=60))
    expect(status).to_have_class("alert")
    expect(lat).to_have_value("0.928612")
    expect(lon).to_have_value("104.421187")
    expect(source).to_have_value("surveyed")
    assert note.input_value().endswith("akurasi 8 m")
    assert studio.stop_file("gedung-tabib").read_bytes() == before  # nothing saved
    editor.close()


def test_retired_and_renamed_codes_keep_answering(browser: Browser, studio: Studio) -> None:
    publisher = Staff(browser, studio)
    publisher.log_in("rina")
    page = publisher.page

    # Retire a stop whose place has closed.
    publisher.goto("/admin/walk")
    page.locator("#retire-stop").select_option("raja-jaafar")
    page.locator('input[name="mode"][value="closed"]').check()
    publisher.submit('button[name="action"][value="check"]')
    expect(page.locator("section.confirm")).to_contain_text("jafar")
    response = publisher.submit('button[name="action"][value="confirm"]')
    assert response.status == 200
    expect(page.locator("main [role=status]")).to_have_text(
        said("retire_done", stop="raja-jaafar", code="jafar")
    )
    assert not studio.stop_file("raja-jaafar").exists()
    assert (studio.stops / "retired" / "raja-jaafar.toml").is_file()

    # Give another stop a new code on its form; the old one is kept.
    publisher.goto("/admin/stops/gedung-tabib")
    page.locator(field("code")).fill(NEW_CODE)
    response = publisher.submit('button[name="action"][value="publish"]')
    assert response.status == 200
    expect(page.locator("#form-message")).to_contain_text(said("studio_published"))
    publisher.close()
    written = tomllib.loads(studio.stop_file("gedung-tabib").read_text(encoding="utf-8"))
    assert written["code"] == NEW_CODE
    tour_file = tomllib.loads((studio.stops / "tour.toml").read_text(encoding="utf-8"))
    assert tour_file["retired"] == {"jafar": "", "tabib": "gedung-tabib"}
    assert "raja-jaafar" not in tour_file["order"]

    # A visitor scanning either old plaque gets a short page with a link that works.
    visitor = browser.new_context(viewport=DESKTOP, service_workers="block", locale="id-ID")
    scan = visitor.new_page()
    closed = scan.goto(studio.base + "/s/jafar")
    assert closed is not None
    assert closed.status == 200
    expect(scan.locator("h1")).to_have_text(BUNDLED_UI["retired_closed_title"])
    scan.locator("a.tour-index").click()
    scan.wait_for_url(studio.base + "/id/")
    expect(scan.locator("main")).to_contain_text("Gedung Tabib")
    moved = scan.goto(studio.base + "/s/tabib")
    assert moved is not None
    assert moved.status == 200
    expect(scan.locator("h1")).to_have_text(BUNDLED_UI["retired_moved_title"])
    scan.locator("a.moved-to").click()
    scan.wait_for_url(f"{studio.base}/id/{NEW_CODE}")
    expect(scan.locator("h1")).to_have_text("Gedung Tabib")
    visitor.close()
