"""Plaques that scan: each PDF page rendered at 150 dpi and its QR code decoded."""

from __future__ import annotations

import ctypes
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest

from tour.catalog import bundled_stops_dir, load_tour
from tour.core.model import Tour
from tour.printing.fonts import PlaqueError
from tour.printing.plaques import Layout, PlaqueMaker, check_plaques, write_plaques
from tour.printing.qr import QrError, make_qr

from .conftest import write_chinese_tour, write_small_tour
from .qr_reading import decode
from .running import run_tour

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
    assert len(document) == len(TOUR.stops) + 1 > 1
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
    assert TOUR.stops
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
    assert len(checks) == len(TOUR.stops) > 0
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


# --- a third language in Chinese characters ----------------------------------------------


@dataclass(frozen=True)
class DrawnText:
    """A text object on a PDF page, as pdfium reads it back."""

    text: str
    font: str
    embedded: bool


def drawn_texts(page: pdfium.PdfPage) -> list[DrawnText]:
    textpage = page.get_textpage()
    drawn = []
    for item in page.get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_TEXT]):
        font = pdfium_raw.FPDFTextObj_GetFont(item.raw)
        length = pdfium_raw.FPDFFont_GetBaseFontName(font, None, 0)
        name = ctypes.create_string_buffer(length)
        pdfium_raw.FPDFFont_GetBaseFontName(font, name, length)
        length = pdfium_raw.FPDFTextObj_GetText(item.raw, textpage.raw, None, 0)
        text = ctypes.create_string_buffer(length)
        pdfium_raw.FPDFTextObj_GetText(
            item.raw, textpage.raw, ctypes.cast(text, ctypes.POINTER(pdfium_raw.FPDF_WCHAR)), length
        )
        drawn.append(
            DrawnText(
                text=text.raw.decode("utf-16-le").rstrip("\0"),
                font=name.value.decode("ascii"),
                embedded=bool(pdfium_raw.FPDFFont_GetIsEmbedded(font)),
            )
        )
    return drawn


TITLES = ["Jelajah Pulau Penyengat", "Pulau Penyengat Heritage Tour", "黄蜂岛文化遗产导览"]
CALLS = [
    "Pindai untuk membaca dan mendengarkan kisahnya",
    "Scan to read and hear the story",
    "扫码阅读并收听讲解",
]


@pytest.fixture(scope="module")
def chinese_tour(tmp_path_factory: pytest.TempPathFactory) -> Tour:
    return load_tour(write_chinese_tour(tmp_path_factory.mktemp("zh") / "stops"))


@pytest.fixture(scope="module")
def chinese_pdf(chinese_tour: Tour, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zh-plaques") / "plaques.pdf"
    report = write_plaques(chinese_tour, PUBLIC, out, "a6", allow_local=True)
    assert report.pages == 15
    assert report.warnings == []
    return out


def test_chinese_names_print_as_a_third_line_that_scans(
    chinese_tour: Tour, chinese_pdf: Path
) -> None:
    document = pdfium.PdfDocument(chinese_pdf)
    assert chinese_tour.stops
    for number, stop in enumerate(chinese_tour.stops, start=1):
        page = document[number - 1]
        assert decode(page.render(scale=150 / 72).to_pil()) == [f"{PUBLIC}/s/{stop.code}"]
        lines = page.get_textpage().get_text_range().splitlines()
        assert lines[:3] == TITLES
        url = lines.index(f"penyengat.example/s/{stop.code}")
        names = "".join(lines[3:url])  # number and names, in order, however they wrapped
        assert names.startswith(str(number)), (stop.id, names)
        assert names.endswith(stop.name["en"] + stop.name["zh"]), (stop.id, names)
        assert lines[url + 1 :] == CALLS
    index = page_text(document[len(document) - 1])
    assert "Jelajah Pulau Penyengat · Pulau Penyengat Heritage Tour · 黄蜂岛文化遗产导览" in index
    for stop in chinese_tour.stops:
        assert stop.name["zh"] in index
    document.close()


def test_chinese_characters_are_drawn_in_the_embedded_cjk_font(chinese_pdf: Path) -> None:
    document = pdfium.PdfDocument(chinese_pdf)
    drawn = drawn_texts(document[1])
    fonts = {item.font for item in drawn}
    assert fonts == {"BitstreamVeraSans-Roman", "BitstreamVeraSans-Bold", "DroidSansFallback"}
    assert all(item.embedded for item in drawn)
    cjk = [item.text for item in drawn if item.font == "DroidSansFallback"]
    assert cjk == ["黄蜂岛文化遗产导览", "廖内苏丹大清真寺", "扫码阅读并收听讲解"]
    document.close()
    data = chinese_pdf.read_bytes()
    assert data.count(b"/FontFile2") == 3  # Vera, Vera Bold and the CJK font, all embedded
    assert b"/BaseFont /AAAAAA+DroidSansFallback" in data  # as a subset: only the glyphs used
    assert len(data) < 200_000


def test_every_chinese_character_renders_its_own_glyph(chinese_pdf: Path) -> None:
    """A missing glyph draws the same box (or nothing) for every character: not here."""
    document = pdfium.PdfDocument(chinese_pdf)
    page = document[1]
    scale = 150 / 72
    image = page.render(scale=scale, grayscale=True).to_pil()
    textpage = page.get_textpage()
    text = textpage.get_text_range()
    start = text.index("扫码阅读并收听讲解")
    height = page.get_height()
    crops = []
    for index in range(start, start + len("扫码阅读并收听讲解")):
        left, bottom, right, top = textpage.get_charbox(index)
        box = (left * scale, (height - top) * scale, right * scale, (height - bottom) * scale)
        crop = image.crop(tuple(round(edge) for edge in box))
        assert crop.getextrema()[0] < 100, text[index]  # ink, not a blank
        crops.append(crop.tobytes())
    assert len(set(crops)) == len("扫码阅读并收听讲解")  # no two alike: no .notdef boxes
    document.close()


def test_a_character_no_font_has_is_one_line_naming_stop_and_field(
    chinese_tour: Tour, tmp_path: Path
) -> None:
    stops = write_chinese_tour(tmp_path / "stops")
    path = stops / "balai-adat.toml"
    path.write_text(path.read_text("utf-8").replace("马来传统会馆", "马来传统会馆𠀀"), "utf-8")
    result = run_tour(
        "--stops",
        str(stops),
        "--media",
        str(tmp_path),
        "plaques",
        "--allow-local",
        env={"TOUR_BASE_URL": PUBLIC},
    )
    assert result.returncode == 1
    assert result.stderr == (
        "tour: balai-adat.toml: name.zh: the plaque fonts cannot print '𠀀' (U+20000); "
        "change that character\n"
    )
    assert not (tmp_path / "plaques.pdf").exists()


CJK_FONT_ABSENT = """
from pathlib import Path
from reportlab.pdfbase import pdfmetrics
import tour.printing.fonts as fonts
import tour.printing.plaques as plaques
from tour.catalog import load_tour

plaques.write_plaques(load_tour(Path("{latin}")), "{public}", Path("{out}"), allow_local=True)
print(fonts.CJK_FONT in pdfmetrics.getRegisteredFontNames())
fonts.CJK_FONT_FILES = (Path("{out}.absent.ttf"),)
try:
    plaques.check_plaques(load_tour(Path("{chinese}")), "{public}", "a6", allow_local=True)
except fonts.PlaqueError as error:
    print(error)
"""


def test_the_cjk_font_loads_only_for_chinese_and_its_absence_says_what_to_install(
    tmp_path: Path,
) -> None:
    chinese = write_chinese_tour(tmp_path / "stops")
    latin = write_small_tour(tmp_path / "latin")  # Indonesian and English only
    script = CJK_FONT_ABSENT.format(
        public=PUBLIC, out=tmp_path / "latin.pdf", chinese=chinese, latin=latin
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    latin_loaded, first_problem, *_ = result.stdout.splitlines()
    assert latin_loaded == "False"  # a tour in Latin letters never loads the CJK font
    assert first_problem == (
        "tour.toml: title.zh: the plaque fonts cannot print '产' (U+4EA7), '化' (U+5316), "
        "'导' (U+5BFC), '岛' (U+5C9B), '文' (U+6587), '蜂' (U+8702), '览' (U+89C8), "
        "'遗' (U+9057), '黄' (U+9EC4); "
        "for Chinese, Japanese or Korean, install Debian's fonts-droid-fallback"
    )
