"""A stop whose file is gone while its form is open: what was typed is never lost."""

from __future__ import annotations

import json
from html import unescape

import pytest

from tour.core.settings import Settings
from tour.staff.words import staff_words

from . import test_studio_pages as pages
from .staff import rows
from .test_studio_pages import STOP, Client, form_values, loaded_form, stop_file

studio_settings = pages.studio_settings
app_client = pages.app_client
publisher = pages.publisher

WORDS = staff_words()["en"]
GONE = WORDS["studio_stop_gone"]
NOT_IN_TOUR = WORDS["studio_stop_gone_copy"]


@pytest.mark.parametrize("action", ["save", "publish"])
async def test_a_form_posted_for_a_removed_file_comes_back_409_and_saves_as_a_draft(
    publisher: Client, studio_settings: Settings, action: str
) -> None:
    fields = await loaded_form(publisher) | {"name.en": "Typed while it was removed"}
    stop_file(studio_settings).unlink()
    answer = await publisher.post(f"/admin/stops/{STOP}", data=fields | {"action": action})
    page = unescape(await answer.text())
    assert answer.status == 409, page
    assert GONE in page
    shown = form_values(page)
    assert shown["name.en"] == "Typed while it was removed"
    assert shown["base"] == shown["draft"] == ""
    assert rows(studio_settings, "SELECT * FROM drafts") == []
    # Saving the form as it came back keeps a new-stop draft (base "").
    saved = await publisher.post(f"/admin/stops/{STOP}", data=shown | {"action": "save"})
    assert saved.status == 200, await saved.text()
    [(who, base, content)] = rows(studio_settings, "SELECT who, base, content FROM drafts")
    assert (who, base) == ("pia", "")
    assert 'en = "Typed while it was removed"' in str(content)
    assert not stop_file(studio_settings).exists()


async def test_checking_a_form_of_a_removed_file_says_so_and_a_get_is_404(
    publisher: Client, studio_settings: Settings
) -> None:
    fields = await loaded_form(publisher)
    stop_file(studio_settings).unlink()
    answer = await publisher.post(f"/admin/stops/{STOP}/check", data=fields)
    assert answer.status == 409
    assert json.loads(await answer.text()) == {"": [GONE]}
    page = await publisher.get(f"/admin/stops/{STOP}")
    assert page.status == 404


async def test_a_retired_stops_open_form_is_kept_on_screen_but_never_becomes_a_draft(
    publisher: Client, studio_settings: Settings
) -> None:
    """Saved as a draft, it would publish a second file beside retired/<id>.toml."""
    fields = await loaded_form(publisher) | {"name.en": "Typed while it was retired"}
    retired = studio_settings.stops_dir / "retired"
    retired.mkdir()
    stop_file(studio_settings).rename(retired / f"{STOP}.toml")
    for attempt in ("as loaded", "as it came back"):
        answer = await publisher.post(f"/admin/stops/{STOP}", data=fields | {"action": "save"})
        page = unescape(await answer.text())
        assert answer.status == 409, (attempt, page)
        assert NOT_IN_TOUR in page
        fields = form_values(page)
        assert fields["name.en"] == "Typed while it was retired"
    assert rows(studio_settings, "SELECT * FROM drafts") == []
    assert not stop_file(studio_settings).exists()


async def test_a_stop_id_that_never_was_cannot_be_started_from_the_stop_form(
    publisher: Client, studio_settings: Settings
) -> None:
    """New stops come from the walk page: a publisher's step, with its file name checked."""
    fields = await loaded_form(publisher)
    answer = await publisher.post(
        "/admin/stops/rumah-baru", data=fields | {"base": "", "draft": "", "action": "save"}
    )
    assert answer.status == 409
    assert NOT_IN_TOUR in unescape(await answer.text())
    assert rows(studio_settings, "SELECT * FROM drafts") == []
