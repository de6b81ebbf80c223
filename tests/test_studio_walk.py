"""The studio's history, restore and walk pages, on a copy of the bundled stops folder."""

from __future__ import annotations

import dataclasses
import html
import re
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import tour.web.studio.publishing
from tour.catalog import bundled_stops_dir, load_tour
from tour.core.settings import Settings
from tour.staff.accounts import Account
from tour.staff.editing import file_hash
from tour.staff.words import staff_words
from tour.web.keys import settings_key
from tour.web.studio.auth import StaffContext
from tour.web.studio.publishing import publish_files, publish_lock
from tour.web.studio.walk import retire_problems

from .conftest import AiohttpClient
from .staff import (
    Client,
    browser_session,
    create_account,
    page_csrf,
    rows,
    staff_client,
    studio_settings,
)

STOP = "gedung-tabib"
STOP_FILE = f"{STOP}.toml"
FIRST_EN_LINE = "The roofless brick shell"


@pytest.fixture
def stops(tmp_path: Path) -> Path:
    return Path(shutil.copytree(bundled_stops_dir(), tmp_path / "stops"))


@pytest.fixture
def settings(stops: Path, tmp_path: Path) -> Settings:
    return studio_settings(tmp_path, stops)


@pytest.fixture(autouse=True)
def queued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the narration a publish queues instead of building it: not what is tested here."""
    stops: list[str] = []
    monkeypatch.setattr(
        tour.web.studio.publishing, "queue_narration", lambda app, ids: stops.extend(ids)
    )
    return stops


@pytest.fixture
async def publisher(aiohttp_client: AiohttpClient, settings: Settings) -> Client:
    return await staff_client(aiohttp_client, settings, "pat", "publisher", lang="en")


async def publish(client: Client, name: str, text: str) -> None:
    """Publish `text` as the stops folder's file `name` through the studio's one publish path."""
    app = client.app
    stops_dir = app[settings_key].stops_dir
    account = Account(name="pat", role="publisher", lang="en", created=0.0)
    staff = StaffContext(account, "", "en", staff_words()["en"], ZoneInfo("Asia/Jakarta"))
    async with publish_lock(app):
        base = file_hash((stops_dir / name).read_text("utf-8"))
        await publish_files(app, staff, {name: text}, {name: base}, "publish", "test")


def base_of(page: str) -> str:
    """The hash of the file text a page's forms were made on (their hidden `base` field)."""
    match = re.search(r'name="base" value="([^"]*)"', page)
    assert match, page
    return match[1]


async def history_form(client: Client) -> tuple[str, str]:
    """The stop's history page's base hash and the id of its oldest revision."""
    page = await (await client.get(f"/admin/stops/{STOP}/history")).text()
    return base_of(page), re.findall(r'name="revision" value="(\d+)"', page)[-1]


def sections(page: str) -> list[str]:
    return re.findall(r'<section class="revision".*?</section>', page, re.S)


def diff_marks(section: str) -> list[str]:
    """The added and removed lines of one revision, as shown: + and - marks kept."""
    lines = re.findall(r"<(ins|del)>(.*?)</\1>", section)
    return [html.unescape(text) for _, text in lines]


async def test_history_shows_publishes_and_a_hand_edit_with_marked_lines(
    publisher: Client, stops: Path
) -> None:
    original = (stops / STOP_FILE).read_text("utf-8")
    first = original.replace(FIRST_EN_LINE, "The old brick shell", 1)
    await publish(publisher, STOP_FILE, first)
    second = first.replace("The old brick shell", "The Tabib house", 1)
    await publish(publisher, STOP_FILE, second)
    hand = second.replace("The Tabib house", "The doctor's house", 1)
    (stops / STOP_FILE).write_text(hand, "utf-8")

    response = await publisher.get(f"/admin/stops/{STOP}/history")
    page = await response.text()
    assert response.status == 200, page
    shown = sections(page)
    kinds = [re.search(r'data-kind="([^"]+)"', section)[1] for section in shown]  # type: ignore[index]
    assert kinds == ["hand-edit", "publish", "publish", "found"]
    assert "edited by hand in the file (not in the studio)" in shown[0]
    assert "<dd>pat</dd>" in shown[1]
    old_line = next(line for line in original.splitlines() if FIRST_EN_LINE in line)
    assert diff_marks(shown[0]) == [
        "-" + old_line.replace(FIRST_EN_LINE, "The Tabib house", 1),
        "+" + old_line.replace(FIRST_EN_LINE, "The doctor's house", 1),
    ]
    assert diff_marks(shown[2]) == [
        "-" + old_line,
        "+" + old_line.replace(FIRST_EN_LINE, "The old brick shell", 1),
    ]
    # The live file is the newest revision: it has no restore form; each older one has.
    assert 'value="restore"' not in shown[0]
    assert all('name="action" value="restore"' in section for section in shown[1:])


async def test_history_diff_shows_each_line_on_a_line_of_its_own(
    publisher: Client, stops: Path
) -> None:
    original = (stops / STOP_FILE).read_text("utf-8")
    await publish(publisher, STOP_FILE, original.replace(FIRST_EN_LINE, "The Tabib house", 1))
    page = await (await publisher.get(f"/admin/stops/{STOP}/history")).text()
    diff = re.search(r'<pre class="diff">(.*?)</pre>', page, re.S)
    assert diff is not None, page
    lines = diff[1].splitlines()
    assert lines[0].startswith('<span class="hunk">@@ ')
    assert [line[:5] for line in lines if line.startswith(("<del>", "<ins>"))] == [
        "<del>",
        "<ins>",
    ]
    assert all(line.endswith(("</span>", "</del>", "</ins>")) for line in lines)


async def test_restore_brings_the_old_text_back_and_is_a_revision(
    publisher: Client, stops: Path, settings: Settings
) -> None:
    original = (stops / STOP_FILE).read_text("utf-8")
    await publish(publisher, STOP_FILE, original.replace(FIRST_EN_LINE, "The Tabib house", 1))
    visitor = await publisher.get("/en/tabib")
    assert "The Tabib house" in await visitor.text()
    page = await (await publisher.get(f"/admin/stops/{STOP}/history")).text()
    [found] = rows(
        settings, "SELECT id FROM revisions WHERE file = ? AND kind = 'found'", (STOP_FILE,)
    )
    base = re.search(r'name="base" value="([^"]+)"', page)[1]  # type: ignore[index]

    response = await publisher.post(
        f"/admin/stops/{STOP}/history",
        data={
            "csrf": await page_csrf(publisher),
            "revision": str(found[0]),
            "base": base,
            "note": "back to the checked text",
            "action": "restore",
        },
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    assert (stops / STOP_FILE).read_text("utf-8") == original
    visitor_page = await (await publisher.get("/en/tabib")).text()
    assert "The Tabib house" not in visitor_page
    assert FIRST_EN_LINE in visitor_page
    [(kind, who, note, content)] = rows(
        settings,
        "SELECT kind, who, note, content FROM revisions WHERE file = ? ORDER BY id DESC LIMIT 1",
        (STOP_FILE,),
    )
    assert (kind, who, content) == ("restore", "pat", original)
    assert re.fullmatch(
        rf"restored version #{found[0]} \(.+ WIB\): back to the checked text", str(note)
    )
    [(detail,)] = rows(settings, "SELECT detail FROM audit WHERE action = 'restore'")
    assert STOP_FILE in str(detail)
    shown = await (await publisher.get(response.headers["Location"])).text()
    assert f"Version #{found[0]} has been restored and is live." in shown


async def test_an_editor_cannot_restore(
    aiohttp_client: AiohttpClient, settings: Settings, stops: Path
) -> None:
    editor = await staff_client(aiohttp_client, settings, "eva", "editor", lang="en")
    before = (stops / STOP_FILE).read_text("utf-8")
    page = await (await editor.get(f"/admin/stops/{STOP}/history")).text()
    assert 'value="restore"' not in page
    [(found,)] = rows(settings, "SELECT id FROM revisions WHERE file = ?", (STOP_FILE,))
    response = await editor.post(
        f"/admin/stops/{STOP}/history",
        data={"csrf": await page_csrf(editor), "revision": str(found), "base": file_hash(before)},
    )
    assert response.status == 403
    assert (stops / STOP_FILE).read_text("utf-8") == before
    assert rows(settings, "SELECT * FROM audit WHERE action = 'restore'") == []


async def test_a_stale_restore_overwrites_nothing(
    publisher: Client, stops: Path, settings: Settings
) -> None:
    original = (stops / STOP_FILE).read_text("utf-8")
    await publish(publisher, STOP_FILE, original.replace(FIRST_EN_LINE, "The Tabib house", 1))
    page = await (await publisher.get(f"/admin/stops/{STOP}/history")).text()
    base = re.search(r'name="base" value="([^"]+)"', page)[1]  # type: ignore[index]
    hand = original.replace(FIRST_EN_LINE, "Edited meanwhile", 1)
    (stops / STOP_FILE).write_text(hand, "utf-8")
    [(found,)] = rows(
        settings, "SELECT id FROM revisions WHERE kind = 'found' AND file = ?", (STOP_FILE,)
    )
    response = await publisher.post(
        f"/admin/stops/{STOP}/history",
        data={"csrf": await page_csrf(publisher), "revision": str(found), "base": base},
    )
    text = await response.text()
    assert response.status == 409, text
    assert "This file has changed since your page was loaded, so nothing was overwritten." in text
    assert f'href="/admin/stops/{STOP}/history"' in text
    assert (stops / STOP_FILE).read_text("utf-8") == hand


async def test_a_restore_that_would_break_the_tour_is_refused(
    publisher: Client, stops: Path, settings: Settings
) -> None:
    original = (stops / STOP_FILE).read_text("utf-8")
    await publish(
        publisher, STOP_FILE, original.replace('code = "tabib"', 'code = "tabib-lama"', 1)
    )
    # Meanwhile another stop takes the old code.
    other = (stops / "jetty.toml").read_text("utf-8")
    jetty_code = re.search(r'^code = "([^"]+)"', other, re.M)[1]  # type: ignore[index]
    await publish(
        publisher, "jetty.toml", other.replace(f'code = "{jetty_code}"', 'code = "tabib"', 1)
    )
    live = (stops / STOP_FILE).read_text("utf-8")
    [(found,)] = rows(
        settings, "SELECT id FROM revisions WHERE kind = 'found' AND file = ?", (STOP_FILE,)
    )
    response = await publisher.post(
        f"/admin/stops/{STOP}/history",
        data={"csrf": await page_csrf(publisher), "revision": str(found), "base": file_hash(live)},
    )
    text = html.unescape(await response.text())
    assert response.status == 409, text
    assert f"Version #{found} cannot be restored because it would break the tour." in text
    assert "'tabib'" in text
    assert (stops / STOP_FILE).read_text("utf-8") == live


# --- the walk ---------------------------------------------------------------------------


async def add(client: Client, file: str, code: str) -> tuple[int, str]:
    response = await client.post(
        "/admin/walk/add",
        data={"csrf": await page_csrf(client), "file": file, "code": code},
        allow_redirects=False,
    )
    return response.status, html.unescape(await response.text())


@pytest.mark.parametrize(
    ("file", "code", "field", "message"),
    [
        (
            "../x",
            "baru",
            "file",
            "'../x' must be a plain name without / or ..; such as 'rumah-hitam'",
        ),
        (
            "rumah-baru",
            "tabib",
            "code",
            "'tabib' is already the code of gedung-tabib; each stop needs its own code",
        ),
        ("rumah-baru", "kode-yang-terlalu-panjang", "code", "must be 1-16 characters"),
    ],
)
async def test_add_stop_refusals_keep_the_input(
    publisher: Client, settings: Settings, file: str, code: str, field: str, message: str
) -> None:
    status, page = await add(publisher, file, code)
    assert status == 400, page
    assert "The stop was not created. Fix these:" in page
    problem = re.search(rf'<p class="problem" id="add-{field}-problem">(.*?)</p>', page)
    assert problem, page
    assert message in problem[1]
    assert f'name="file" value="{file}"' in page
    assert f'name="code" value="{code}"' in page
    assert rows(settings, "SELECT * FROM drafts") == []


async def test_add_stop_makes_a_draft_and_opens_its_form(
    publisher: Client, settings: Settings, stops: Path
) -> None:
    status, _ = await add(publisher, "rumah-baru", "baru")
    assert status == 303
    [(content, base, who)] = rows(
        settings, "SELECT content, base, who FROM drafts WHERE stop = 'rumah-baru'"
    )
    assert base == ""
    assert who == "pat"
    assert 'code = "baru"' in str(content)
    assert not (stops / "rumah-baru.toml").exists()
    assert rows(settings, "SELECT detail FROM audit WHERE action = 'add-stop'") == [
        ("rumah-baru baru",)
    ]
    page = await (await publisher.get("/admin/walk")).text()
    assert 'href="/admin/stops/rumah-baru"' in page


def next_link(page: str) -> str:
    match = re.search(r'<a href="([^"]+)" rel="next">', page)
    assert match, page
    return match[1]


async def move(client: Client, stop: str, action: str, base: str | None = None) -> tuple[int, str]:
    page = await (await client.get("/admin/walk")).text()
    current = re.search(r'name="base" value="([^"]+)"', page)[1]  # type: ignore[index]
    response = await client.post(
        "/admin/walk/order",
        data={
            "csrf": await page_csrf(client),
            "stop": stop,
            "action": action,
            "base": base or current,
        },
        allow_redirects=False,
    )
    return response.status, html.unescape(await response.text())


async def test_reorder_changes_the_visitor_pages_next_link(
    publisher: Client, settings: Settings
) -> None:
    assert next_link(await (await publisher.get("/en/dermaga")).text()) == "/en/masjid"
    status, page = await move(publisher, "jetty", "down")
    assert status == 303, page
    assert next_link(await (await publisher.get("/en/dermaga")).text()) == "/en/tabib"
    assert next_link(await (await publisher.get("/en/masjid")).text()) == "/en/dermaga"
    assert rows(
        settings,
        "SELECT kind, who FROM revisions WHERE file = 'tour.toml' ORDER BY id DESC LIMIT 1",
    ) == [("reorder", "pat")]
    assert len(rows(settings, "SELECT * FROM audit WHERE action = 'reorder'")) == 1


async def test_a_stale_reorder_is_a_conflict(publisher: Client, stops: Path) -> None:
    before = (stops / "tour.toml").read_text("utf-8")
    status, page = await move(publisher, "jetty", "down", base=file_hash(before + "\n"))
    assert status == 409
    assert "This file has changed since your page was loaded, so nothing was overwritten." in page
    assert (stops / "tour.toml").read_text("utf-8") == before


async def retire(client: Client, **fields: str) -> tuple[int, str]:
    page = await (await client.get("/admin/walk")).text()
    base = re.search(r'name="base" value="([^"]+)"', page)[1]  # type: ignore[index]
    response = await client.post(
        "/admin/walk/retire",
        data={"csrf": await page_csrf(client), "base": base, **fields},
        allow_redirects=False,
    )
    return response.status, html.unescape(await response.text())


async def test_retire_asks_first_then_the_old_code_keeps_answering(
    publisher: Client, stops: Path, settings: Settings
) -> None:
    status, page = await retire(
        publisher, stop="gudang-mesiu", mode="moved", moved_to="istana-kantor"
    )
    assert status == 200, page
    assert "Retire Gunpowder Magazine?" in page
    assert 'value="confirm"' in page
    assert (stops / "gudang-mesiu.toml").exists()

    status, page = await retire(
        publisher, stop="gudang-mesiu", mode="moved", moved_to="istana-kantor", action="confirm"
    )
    assert status == 303, page
    assert not (stops / "gudang-mesiu.toml").exists()
    assert (stops / "retired" / "gudang-mesiu.toml").exists()
    answer = await publisher.get("/s/mesiu", headers={"Accept-Language": "en"})
    page = await answer.text()
    assert answer.status == 200, page
    assert '<a class="moved-to" href="/en/kantor">Office Palace</a>' in page
    walk = await (await publisher.get("/admin/walk")).text()
    assert 'data-code="mesiu"' in walk
    assert rows(settings, "SELECT action FROM audit WHERE action = 'retire'") == [("retire",)]
    history = await publisher.get("/admin/stops/gudang-mesiu/history")
    assert history.status == 200
    assert "This stop has been retired." in await history.text()


async def test_retire_refuses_a_stop_that_practical_notes_name(
    publisher: Client, stops: Path
) -> None:
    status, page = await retire(publisher, stop="balai-adat", mode="closed", action="confirm")
    assert status == 400
    assert "balai-adat is named by practical note number 4 in tour.toml" in page
    assert (stops / "balai-adat.toml").exists()


async def test_the_editor_sees_the_walk_but_cannot_change_it(
    aiohttp_client: AiohttpClient, settings: Settings, stops: Path
) -> None:
    editor = await staff_client(aiohttp_client, settings, "eva", "editor", lang="en")
    page = await (await editor.get("/admin/walk")).text()
    assert "Only a publisher can change the walk." in page
    assert "/admin/walk/order" not in page
    before = (stops / "tour.toml").read_text("utf-8")
    for path, fields in [
        ("/admin/walk/add", {"file": "rumah-baru", "code": "baru"}),
        ("/admin/walk/order", {"stop": "jetty", "action": "down", "base": file_hash(before)}),
        ("/admin/walk/retire", {"stop": "jetty", "mode": "closed", "action": "confirm"}),
    ]:
        response = await editor.post(path, data={"csrf": await page_csrf(editor), **fields})
        assert response.status == 403, path
    assert (stops / "tour.toml").read_text("utf-8") == before
    assert rows(settings, "SELECT * FROM drafts") == []


LONG_ADDRESS = (
    "http://jelajah-pulau-penyengat-tanjungpinang-kepri.dinas-kebudayaan-dan-pariwisata-"
    "provinsi-kepri.go.id"
)


async def test_add_stop_refuses_a_code_too_long_for_the_plaques_qr_version(
    aiohttp_client: AiohttpClient, settings: Settings, stops: Path
) -> None:
    tour_file = stops / "tour.toml"
    tour_file.write_text(
        tour_file.read_text("utf-8").replace(
            'qr_error_correction = "Q"', 'qr_error_correction = "H"'
        ),
        "utf-8",
    )
    long_settings = dataclasses.replace(settings, base_url=LONG_ADDRESS)
    client = await staff_client(aiohttp_client, long_settings, "pat", "publisher", lang="en")
    status, page = await add(client, "rumah-baru", "kode-enam-belas")
    assert status == 400, page
    problem = re.search(r'<p class="problem" id="add-code-problem">(.*?)</p>', page)
    assert problem, page
    assert problem[1].startswith(
        "'kode-enam-belas' makes the QR code larger than version 10 at level H; use at most"
    )
    assert 'name="code" value="kode-enam-belas"' in page


async def test_a_closed_stop_keeps_its_code_answering(publisher: Client, stops: Path) -> None:
    status, page = await retire(publisher, stop="perigi-puteri", mode="closed", action="confirm")
    assert status == 303, page
    answer = await publisher.get("/s/perigi", headers={"Accept-Language": "en"})
    shown = await answer.text()
    assert answer.status == 200, shown
    assert 'class="moved-to"' not in shown
    assert '<a class="tour-index" href="/en/">' in shown
    assert 'perigi = ""' in (stops / "tour.toml").read_text("utf-8")


def test_the_last_stop_cannot_be_retired() -> None:
    bundled = load_tour(bundled_stops_dir())
    jetty = bundled.stop_by_id("jetty")
    assert jetty is not None
    alone = dataclasses.replace(bundled, stops=(jetty,), notes=())
    words = staff_words()["en"]
    retirement, problems = retire_problems(alone, words, "en", {"stop": "jetty", "mode": "closed"})
    assert retirement is None
    assert problems == {
        "stop": "Penyengat Jetty is the only stop in the tour. Add another stop before retiring it."
    }


async def test_the_walk_history_shows_a_reorder_as_a_diff_of_the_order_lines(
    publisher: Client, settings: Settings
) -> None:
    walk = await (await publisher.get("/admin/walk")).text()
    assert '<a href="/admin/walk/history">History of tour.toml' in walk
    status, page = await move(publisher, "jetty", "down")
    assert status == 303, page
    response = await publisher.get("/admin/walk/history")
    page = html.unescape(await response.text())
    assert response.status == 200, page
    assert "<h1>History of the walk (tour.toml)</h1>" in page
    newest = page[page.index('<section class="revision"') :]
    newest = newest[: newest.index("</section>")]
    assert '<dd data-kind="reorder">order changed</dd>' in newest
    assert "<dt>Who</dt><dd>pat</dd>" in newest
    # difflib's reading of the move: masjid-raya goes up past the jetty.
    assert (
        '<pre class="diff"><span class="hunk">@@ -14,8 +14,8 @@</span>\n<span> </span>\n'
        "<span> # The walking order, starting at the jetty: each name is a stop file without "
        '.toml.</span>\n<span> order = [</span>\n<ins>+    "masjid-raya",</ins>\n'
        '<span>     "jetty",</span>\n<del>-    "masjid-raya",</del>\n'
        '<span>     "gedung-tabib",</span>\n'
    ) in newest
    # Read-only: no restore form, and one line on how a version comes back.
    assert 'name="revision"' not in page
    assert "An earlier version of tour.toml is brought back by undoing the change" in page
    kept = rows(settings, "SELECT kind FROM revisions WHERE file = 'tour.toml' ORDER BY id")
    assert kept == [("found",), ("reorder",)]
    # Editors may read it too; someone logged out is sent to the login form.
    await create_account(settings.db_path, "eda", "editor", lang="en")
    editor = await browser_session(publisher, "eda")
    try:
        async with editor.get("/admin/walk/history") as answer:
            assert answer.status == 200
            assert '<dd data-kind="reorder">' in await answer.text()
    finally:
        await editor.close()
    publisher.session.cookie_jar.clear()
    logged_out = await publisher.get("/admin/walk/history", allow_redirects=False)
    assert logged_out.status == 303
    assert logged_out.headers["Location"] == "/admin/login"
