"""A broken hand edit at start-up serves the last good stop files, and the dashboard says so."""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path

import pytest

from tour.catalog import CatalogError
from tour.cli import main
from tour.core.settings import Settings
from tour.staff.last_good import last_good_path
from tour.web import create_app

from .conftest import AiohttpClient
from .staff import create_account, log_in

BROKEN_LINE = "alpha.toml:1: txt: unknown field; did you mean 'text'?"


def settings_of(stops: Path, tmp_path: Path) -> Settings:
    return Settings(
        stops_dir=stops, media_dir=tmp_path / "media", db_path=tmp_path / "var" / "tour.sqlite3"
    )


def break_alpha(stops: Path) -> None:
    """A hand edit that `tour check` refuses: a misspelt field."""
    alpha = stops / "alpha.toml"
    alpha.write_text('txt = "x"\n' + alpha.read_text("utf-8"), "utf-8")


async def test_a_broken_hand_edit_at_start_serves_the_last_good_version(
    aiohttp_client: AiohttpClient,
    small_tour: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = settings_of(small_tour, tmp_path)
    create_app(settings)  # a start that loads cleanly keeps the files
    kept = json.loads(last_good_path(settings.db_path).read_text("utf-8"))
    assert sorted(kept["files"]) == ["alpha.toml", "beta.toml", "tour.toml"]
    good_alpha = (small_tour / "alpha.toml").read_text("utf-8")
    (small_tour / "alpha.toml").write_text(good_alpha.replace("Text about", "New words on"))
    break_alpha(small_tour)
    (small_tour / "gamma.toml").write_text('code = "gamma"\n', "utf-8")  # and a stop half-made
    await create_account(settings.db_path, "rina", "publisher", lang="en")
    with caplog.at_level(logging.ERROR, "tour.web.app"):
        client = await aiohttp_client(create_app(settings))
    [line] = [record.getMessage() for record in caplog.records if record.name == "tour.web.app"]
    assert line.startswith("the stop files have 5 problem(s) (first: ")
    assert f"{BROKEN_LINE});" in line
    assert line.endswith(
        f"serving the last good version kept in {last_good_path(settings.db_path)}; "
        "'tour check' lists them: fix them, then reload"
    )
    page = await client.get("/en/alpha")
    assert page.status == 200
    body = await page.text()
    assert "Text about alpha." in body
    assert "New words on" not in body
    assert (await client.get("/en/beta")).status == 200
    # The staff see the problems where a refused reload shows them.
    assert (await log_in(client, "rina")).status == 303
    dashboard = html.unescape(await (await client.get("/admin")).text())
    assert (
        "The stop files had problems when the server started; the last version that loaded "
        "cleanly is live. Fix the problems below, then reload."
    ) in dashboard
    assert BROKEN_LINE in dashboard
    # `tour check` stays strict.
    assert main(["--stops", str(small_tour), "check"]) == 1
    assert BROKEN_LINE in capsys.readouterr().out


async def test_a_fixed_file_and_a_reload_clear_the_start_problems(
    aiohttp_client: AiohttpClient, small_tour: Path, tmp_path: Path
) -> None:
    settings = settings_of(small_tour, tmp_path)
    create_app(settings)
    good = (small_tour / "alpha.toml").read_text("utf-8")
    break_alpha(small_tour)
    await create_account(settings.db_path, "rina", "publisher", lang="en")
    client = await aiohttp_client(create_app(settings))
    assert (await log_in(client, "rina")).status == 303
    (small_tour / "alpha.toml").write_text(good.replace("Text about", "Fixed words on"), "utf-8")
    dashboard = await (await client.get("/admin")).text()
    csrf = dashboard.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    reloaded = html.unescape(await (await client.post("/admin/reload", data={"csrf": csrf})).text())
    assert "Reloaded at" in reloaded
    assert "when the server started" not in reloaded
    assert "Fixed words on alpha." in await (await client.get("/en/alpha")).text()


def test_with_no_good_version_kept_a_broken_start_still_fails(
    small_tour: Path, tmp_path: Path
) -> None:
    break_alpha(small_tour)
    with pytest.raises(CatalogError) as raised:
        create_app(settings_of(small_tour, tmp_path))
    assert str(raised.value.problems[0]).endswith(f"/stops/{BROKEN_LINE}")


def test_a_good_version_of_another_stops_folder_is_never_served(tmp_path: Path) -> None:
    from .conftest import write_small_tour

    first = write_small_tour(tmp_path / "one" / "stops")
    second = write_small_tour(tmp_path / "two" / "stops")
    create_app(settings_of(first, tmp_path))  # the same database path for both folders
    break_alpha(second)
    with pytest.raises(CatalogError):
        create_app(settings_of(second, tmp_path))
