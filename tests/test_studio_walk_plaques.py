"""Plaques from the staff pages: the print check, the PDF download and its refusals."""

from __future__ import annotations

import dataclasses
import html
import re
import shutil
import sqlite3
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from tour.catalog import bundled_stops_dir, load_tour
from tour.core.settings import Settings
from tour.printing.plaques import check_plaques
from tour.web.common.policy import STAFF_POLICY

from .conftest import AiohttpClient
from .qr_reading import decode
from .staff import Client, page_csrf, staff_client, studio_settings

# A public-looking address (nothing is fetched): the plaques may carry it.
PUBLIC = "http://penyengat.kepriprov.go.id"
# The bundled placeholder's reserved name, over http so the test client keeps its cookies.
PLACEHOLDER = "http://penyengat.example"


@pytest.fixture
def stops(tmp_path: Path) -> Path:
    """A copy of the bundled tour whose tour.toml names a public address."""
    folder = Path(shutil.copytree(bundled_stops_dir(), tmp_path / "stops"))
    tour_file = folder / "tour.toml"
    text = tour_file.read_text("utf-8")
    assert 'base_url = "https://penyengat.example"' in text
    tour_file.write_text(text.replace("https://penyengat.example", PUBLIC), "utf-8")
    return folder


@pytest.fixture
def settings(stops: Path, tmp_path: Path) -> Settings:
    return studio_settings(tmp_path, stops, base_url=None)  # the address in tour.toml


@pytest.fixture
async def publisher(aiohttp_client: AiohttpClient, settings: Settings) -> Client:
    return await staff_client(aiohttp_client, settings, "pat", "publisher", lang="en")


async def download(client: Client, stop: str, size: str) -> tuple[int, bytes, dict[str, str]]:
    response = await client.post(
        "/admin/plaques.pdf", data={"csrf": await page_csrf(client), "stop": stop, "size": size}
    )
    return response.status, await response.read(), dict(response.headers)


def audit_details(settings: Settings) -> list[str]:
    with sqlite3.connect(settings.db_path) as connection:
        rows = connection.execute("SELECT detail FROM audit WHERE action = 'plaques'").fetchall()
    return [row[0] for row in rows]


async def test_the_page_shows_the_print_check_of_every_stop(publisher: Client, stops: Path) -> None:
    response = await publisher.get("/admin/plaques?size=a5")
    page = await response.text()
    assert response.status == 200, page
    _, _, checks = check_plaques(load_tour(stops), PUBLIC, "a5")
    assert checks
    for check in checks:
        row = re.search(rf'<tr data-stop="{check.stop.id}">(.*?)</tr>', page, re.S)
        assert row, check.stop.id
        cells = re.findall(r"<td>(.*?)</td>", row[1], re.S)
        assert cells[2:6] == [
            f"<code>{check.stop.code}</code>",
            str(check.qr.version),
            f"{check.module_mm:.2f}",
            f"{check.scan_distance_m:.2f}",
        ]
    assert '<option value="a5" selected>' in page
    assert "The tour&#39;s QR error correction: Q." in page


async def test_one_plaque_downloads_and_its_code_scans_to_the_stop(
    publisher: Client, settings: Settings
) -> None:
    status, body, headers = await download(publisher, "masjid-raya", "a6")
    assert status == 200, body[:500]
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"] == 'attachment; filename="plaques-masjid-raya.pdf"'
    document = pdfium.PdfDocument(body)
    assert len(document) == 1
    image = document[0].render(scale=150 / 72).to_pil()
    assert decode(image) == [f"{PUBLIC}/s/masjid"]
    document.close()
    assert audit_details(settings) == ["masjid-raya a6"]


async def test_all_plaques_download_with_the_index_sheet(publisher: Client, stops: Path) -> None:
    status, body, headers = await download(publisher, "all", "a4")
    assert status == 200
    assert headers["Content-Disposition"] == 'attachment; filename="plaques-all.pdf"'
    document = pdfium.PdfDocument(body)
    tour = load_tour(stops)
    assert len(document) == len(tour.stops) + 1
    last = tour.stops[-1]
    image = document[len(tour.stops) - 1].render(scale=100 / 72).to_pil()
    assert decode(image) == [f"{PUBLIC}/s/{last.code}"]
    document.close()


@pytest.mark.parametrize(
    ("stop", "size", "message"),
    [
        ("nowhere", "a6", "There is no stop 'nowhere' in the tour."),
        ("masjid-raya", "a3", "'a3' is not a plaque size. Choose A6, A5 or A4."),
    ],
)
async def test_unknown_stop_or_size_is_refused(
    publisher: Client, settings: Settings, stop: str, size: str, message: str
) -> None:
    status, body, headers = await download(publisher, stop, size)
    assert status == 400
    assert headers["Content-Type"].startswith("text/html")
    assert message in html.unescape(body.decode())
    assert audit_details(settings) == []


async def test_the_placeholder_address_is_refused(
    aiohttp_client: AiohttpClient, settings: Settings, tmp_path: Path
) -> None:
    placeholder = dataclasses.replace(settings, base_url=PLACEHOLDER)
    client = await staff_client(aiohttp_client, placeholder, "pat", "publisher", lang="en")
    page = html.unescape(await (await client.get("/admin/plaques")).text())
    refusal = (
        f"base URL {PLACEHOLDER}: 'penyengat.example' is a name reserved for examples and "
        "tests (RFC 2606, RFC 6761), so printed codes would not work for visitors. "
        "Set TOUR_BASE_URL or base_url in tour.toml to the tour's public address."
    )
    assert refusal in page
    assert "/admin/plaques.pdf" not in page  # no download offered
    status, body, _ = await download(client, "all", "a6")
    assert status == 409
    assert refusal in html.unescape(body.decode())
    assert audit_details(settings) == []


async def test_an_editor_sees_the_check_but_cannot_download(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    editor = await staff_client(aiohttp_client, settings, "eva", "editor", lang="en")
    page = await (await editor.get("/admin/plaques")).text()
    assert "Only a publisher can download plaques." in page
    status, _, _ = await download(editor, "all", "a6")
    assert status == 403
    assert audit_details(settings) == []


async def test_the_page_speaks_indonesian_by_default(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await staff_client(aiohttp_client, settings, "ani", "publisher")
    page = await (await client.get("/admin/plaques")).text()
    assert "<h1>Plakat QR</h1>" in page
    assert "Unduh semua plakat (PDF, dengan lembar indeks)" in page


async def test_the_pdf_has_the_staff_security_headers(publisher: Client) -> None:
    status, body, headers = await download(publisher, "all", "a5")
    assert status == 200
    assert body.startswith(b"%PDF-")
    assert headers["Content-Security-Policy"] == STAFF_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
