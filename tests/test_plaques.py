"""Plaques that scan: each PDF page rendered at 150 dpi and its QR code decoded."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from tour.catalog import bundled_stops_dir, load_tour
from tour.plaques import Layout, PlaqueError, PlaqueMaker, check_plaques, write_plaques
from tour.qr import QrError, make_qr

from .qr_reading import decode

# The bundled placeholder: a reserved name, so every print here is a test print.
PUBLIC = "https://penyengat.example"
TOUR = load_tour(bundled_stops_dir())
MM = 72 / 25.4


@pytest.fixture(scope="module")
def a6_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plaques") / "plaques.pdf"
    report = write_plaques(TOUR, PUBLIC, out, "a6", allow_local=True)
    assert report.pages == 15
    assert report.warnings == []
    return out


def page_text(page: pdfium.PdfPage) -> str:
    return " ".join(page.get_textpage().get_text_range().split())


def test_every_plaque_page_scans_and_names_its_stop(a6_pdf: Path) -> None:
    document = pdfium.PdfDocument(a6_pdf)
    assert len(document) == len(TOUR.stops) + 1
    for number, stop in enumerate(TOUR.stops, start=1):
        page = document[number - 1]
        width, height = page.get_size()
        assert (round(width / MM), round(height / MM)) == (105, 148)  # A6
        image = page.render(scale=150 / 72).to_pil()
        payload = f"{PUBLIC}/s/{stop.code}"
        assert decode(image) == [payload], stop.id
        text = page_text(page)
        assert " ".join(stop.name["id"].split()) in text or stop.name["id"].split()[0] in text
        assert stop.name["en"] in text
        assert f"penyengat.example/s/{stop.code}" in text
        assert re.search(rf"(^| ){number}( |$)", text)
        assert "Pindai untuk membaca dan mendengarkan kisahnya" in text
        assert "Scan to read and hear the story" in text
        assert "Jelajah Pulau Penyengat" in text
    document.close()


def test_index_sheet_lists_every_stop_with_a_code(a6_pdf: Path) -> None:
    document = pdfium.PdfDocument(a6_pdf)
    index = document[len(document) - 1]
    width, height = index.get_size()
    assert (round(width / MM), round(height / MM)) == (210, 297)  # A4
    text = page_text(index)
    for number, stop in enumerate(TOUR.stops, start=1):
        assert f"{number}. {stop.name['id']}" in text
        assert f"penyengat.example/s/{stop.code}" in text
    found = decode(index.render(scale=300 / 72).to_pil())
    assert sorted(found) == sorted(f"{PUBLIC}/s/{stop.code}" for stop in TOUR.stops)
    document.close()


def test_codes_are_vector_and_the_font_is_embedded(a6_pdf: Path) -> None:
    data = a6_pdf.read_bytes()
    assert b"/Subtype /Image" not in data  # no raster image anywhere: the codes are squares
    assert b"/FontFile2" in data  # an embedded TrueType font
    assert b"/BaseFont /Helvetica" not in data


def test_same_tour_gives_the_same_pdf(a6_pdf: Path, tmp_path: Path) -> None:
    again = write_plaques(TOUR, PUBLIC, tmp_path / "again.pdf", "a6", allow_local=True)
    assert again.path.read_bytes() == a6_pdf.read_bytes()


def test_print_check_figures_for_a6() -> None:
    _, codes, checks = check_plaques(TOUR, PUBLIC, "a6", allow_local=True)
    assert {qr.version for _, qr in codes} == {4}
    for check in checks:
        assert check.module_mm >= 0.8
        assert check.scan_distance_m >= 0.5
        assert check.symbol_mm == pytest.approx(check.module_mm * 33)
        assert check.scan_distance_m == pytest.approx(check.symbol_mm * 10 / 1000)


@pytest.mark.parametrize(("size", "page_mm"), [("a5", (148, 210)), ("a4", (210, 297))])
def test_larger_sizes(tmp_path: Path, size: str, page_mm: tuple[int, int]) -> None:
    report = write_plaques(TOUR, PUBLIC, tmp_path / f"{size}.pdf", size, allow_local=True)
    document = pdfium.PdfDocument(report.path)
    page = document[1]
    width, height = page.get_size()
    assert (round(width / MM), round(height / MM)) == page_mm
    assert decode(page.render(scale=150 / 72).to_pil()) == [f"{PUBLIC}/s/masjid"]
    a6_module = min(
        check.module_mm for check in check_plaques(TOUR, PUBLIC, "a6", allow_local=True)[2]
    )
    assert min(check.module_mm for check in report.checks) > a6_module
    document.close()


def test_small_module_and_short_distance_warn() -> None:
    tiny = Layout(size="card", width=30 * MM, height=45 * MM)
    maker = PlaqueMaker(TOUR, tiny)
    stop = TOUR.stops[0]
    check = maker.check(stop, make_qr(f"{PUBLIC}/s/{stop.code}"))
    assert check.module_mm < 0.8
    assert any("under 0.8 mm" in warning for warning in check.warnings)
    far = replace(TOUR, scan_distance_m=2.0)
    _, _, checks = check_plaques(far, PUBLIC, "a6", allow_local=True)
    assert all(
        "less than the tour's scan_distance_m of 2 m; use a larger --size" in check.warnings[0]
        for check in checks
    )


def test_refusals_write_nothing(tmp_path: Path) -> None:
    out = tmp_path / "plaques.pdf"
    with pytest.raises(QrError, match=r"192\.168\.1\.5 is a private address"):
        write_plaques(TOUR, "http://192.168.1.5:8080", out)
    with pytest.raises(PlaqueError, match="--size: 'b5' is not a plaque size"):
        write_plaques(TOUR, PUBLIC, out, "b5")
    assert not out.exists()
    report = write_plaques(TOUR, "http://192.168.1.5:8080", out, allow_local=True)
    assert report.pages == 15


def run_tour(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tour", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


def test_plaques_command_reports_the_print_check(tmp_path: Path) -> None:
    result = run_tour(
        "--media", str(tmp_path), "plaques", "--allow-local", env={"TOUR_BASE_URL": PUBLIC}
    )
    assert result.returncode == 0, result.stderr
    first, last = result.stdout.splitlines()
    assert re.fullmatch(
        r"print check \(A6\): QR versions 4; smallest code \d+\.\d mm \(\S+\), "
        r"module \d\.\d\d mm, scans from about 0\.\d\d m",
        first,
    ), first
    assert last == f"wrote {tmp_path / 'plaques.pdf'}: 15 pages (14 plaques + index)"


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({}, ["--size", "b5"], "tour: --size: 'b5' is not a plaque size; use one of a6, a5, a4"),
        (
            {"TOUR_BASE_URL": "http://127.0.0.1:8080"},
            [],
            "tour: base URL http://127.0.0.1:8080: 127.0.0.1 is a loopback address: it points "
            "at whichever phone scans it, so printed codes would not work for visitors; set "
            "TOUR_BASE_URL or base_url in tour.toml to the public address, or pass --allow-local "
            "for a test print",
        ),
        (
            {"TOUR_BASE_URL": "penyengat.example/s"},
            [],
            "tour: TOUR_BASE_URL: 'penyengat.example/s' must be an absolute http(s) URL such as "
            "https://penyengat.example",
        ),
    ],
)
def test_plaques_bad_input_is_one_line(
    tmp_path: Path, env: dict[str, str], args: list[str], expected: str
) -> None:
    result = run_tour("--media", str(tmp_path), "plaques", *args, env=env)
    assert result.returncode == 1
    assert result.stderr == expected + "\n"
    assert not (tmp_path / "plaques.pdf").exists()
