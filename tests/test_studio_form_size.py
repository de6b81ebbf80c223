"""How big a staff form may be: the browser stops at the catalog's limits, the server at 1 MB."""
# ruff: noqa: F811 - the fixtures imported from test_studio_pages are parameters here

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from tour.catalog.stops import MAX_TEXT_CHARS
from tour.catalog.tour_file import MAX_NAME_CHARS
from tour.core.settings import Settings

from . import staff
from .conftest import AiohttpClient
from .test_studio_pages import (  # noqa: F401 - fixtures are found by name
    LANGUAGES,
    STOP,
    app_client,
    editor,
    loaded_form,
    stop_file,
    studio_settings,
)

Client = TestClient[web.Request, web.Application]
OVER_ONE_MIB = "a" * (1024 * 1024 + 1)


async def post_big_form(client: Client, path: str, fields: Mapping[str, str]) -> ClientResponse:
    """Post a form as a browser does; a stream, since aiohttp warns about large raw bodies."""
    body = io.BytesIO(urlencode(fields).encode("ascii"))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return await client.post(path, data=body, headers=headers)


def maxlength_of(html: str, name: str) -> str:
    match = re.search(rf'<(?:input|textarea)[^>]* name="{re.escape(name)}"[^>]*>', html)
    assert match, name
    found = re.search(r'maxlength="(\d+)"', match[0])
    assert found, match[0]
    return found[1]


async def test_the_stop_form_limits_names_and_texts_as_the_catalog_does(editor: Client) -> None:
    html = await (await editor.get(f"/admin/stops/{STOP}")).text()
    assert LANGUAGES
    for lang in LANGUAGES:
        assert maxlength_of(html, f"name.{lang}") == str(MAX_NAME_CHARS) == "80"
        assert maxlength_of(html, f"text.{lang}") == str(MAX_TEXT_CHARS) == "5000"
        assert maxlength_of(html, f"spoken.{lang}") == str(MAX_TEXT_CHARS)


async def test_a_form_over_one_mebibyte_is_the_staff_error_page_in_english(
    editor: Client, studio_settings: Settings
) -> None:
    before = stop_file(studio_settings).read_bytes()
    fields = await loaded_form(editor)
    fields |= {"text.en": OVER_ONE_MIB, "action": "save"}
    response = await post_big_form(editor, f"/admin/stops/{STOP}", fields)
    html = await response.text()
    assert response.status == 413, html
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert (
        '<p class="alert" role="alert">The form is too large (1 MB at most); '
        "shorten the texts and send it again.</p>"
    ) in html
    assert "Maximum request body size" not in html
    assert "Traceback" not in html
    # Nothing was saved: no draft, the file as it was.
    assert staff.rows(studio_settings, "SELECT stop FROM drafts") == []
    assert stop_file(studio_settings).read_bytes() == before


async def test_a_form_over_one_mebibyte_speaks_indonesian_to_indonesian_staff(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    settings = staff.studio_settings(tmp_path)
    client = await staff.staff_client(aiohttp_client, settings, "ani", "editor", lang="id")
    csrf = await staff.page_csrf(client)
    fields = {"csrf": csrf, "lang": OVER_ONE_MIB}
    response = await post_big_form(client, f"/admin/stops/{STOP}/listen", fields)
    html = await response.text()
    assert response.status == 413, html
    assert (
        '<p class="alert" role="alert">Formulir ini terlalu besar (paling banyak 1 MB). '
        "Persingkat teksnya, lalu kirim lagi.</p>"
    ) in html
    assert "Maximum request body size" not in html
