"""Printable plaques: one PDF, one plaque per page, and an A4 index sheet for guides.

The QR code is drawn as vector squares, so it stays sharp at any print size.
Before anything is written, a print check computes the printed module size and
the distance a phone can scan from, and refuses addresses that only work locally.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from reportlab.lib.pagesizes import A4, A5, A6
from reportlab.lib.units import mm as reportlab_mm
from reportlab.pdfgen.canvas import Canvas

from tour.core.files import write_atomically
from tour.core.model import Stop, Tour
from tour.printing.fonts import (
    CJK_FONT_PACKAGE,
    FONT,
    FONT_BOLD,
    PlaqueError,
    draw_text,
    missing_glyphs,
    register_cjk_font,
    register_fonts,
    wrap,
)
from tour.printing.qr import QUIET_ZONE_MODULES, QrCode, dark_runs, refuse_local, tour_codes

PAGE_SIZES: dict[str, tuple[float, float]] = {"a6": A6, "a5": A5, "a4": A4}
mm = float(reportlab_mm)
"""Points per millimetre."""
MIN_MODULE_MM = 0.8
"""Below this, printing and wear blur modules together."""
SCAN_DISTANCE_RATIO = 10
"""Rule of thumb: a phone scans from about ten times the code's printed width."""
INDEX_ROW_MM = 18.0


def short_url(payload: str) -> str:
    """The URL as a visitor types it: no scheme, no trailing slash."""
    parts = urlsplit(payload)
    return f"{parts.netloc}{parts.path}"


@dataclass(frozen=True, slots=True)
class Layout:
    """Where things go on one plaque page, in points, for a page size."""

    size: str
    width: float
    height: float

    @property
    def scale(self) -> float:
        """Type and spacing grow with the page, from the A6 design."""
        return self.width / float(A6[0])

    @property
    def margin(self) -> float:
        return 7 * mm * self.scale


@dataclass(frozen=True, slots=True)
class PlaqueText:
    titles: list[str]
    number: str
    names: list[list[str]]
    """Each language's name, wrapped to the space beside the number."""
    url: str
    calls: list[str]


@dataclass(frozen=True, slots=True)
class PrintCheck:
    stop: Stop
    qr: QrCode
    symbol_mm: float
    """Printed side of the code, without its quiet zone."""
    module_mm: float
    scan_distance_m: float
    warnings: tuple[str, ...]


@dataclass(slots=True)
class PlaqueReport:
    path: Path
    size: str
    pages: int
    checks: list[PrintCheck] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [warning for check in self.checks for warning in check.warnings]


class PlaqueMaker:
    def __init__(self, tour: Tour, layout: Layout) -> None:
        self.tour = tour
        self.layout = layout
        register_fonts()

    # --- measuring -----------------------------------------------------------------------

    def font_sizes(self) -> dict[str, float]:
        scale = self.layout.scale
        return {
            "title": 8 * scale,
            "number": 20 * scale,
            "name": 13 * scale,
            "other_name": 10 * scale,
            "url": 11 * scale,
            "call": 9 * scale,
        }

    def circle(self) -> float:
        return 14 * mm * self.layout.scale

    def text_for(self, stop: Stop, payload: str) -> PlaqueText:
        sizes = self.font_sizes()
        name_width = self.layout.width - 2 * self.layout.margin - self.circle() - 3 * mm
        names = []
        for position, lang in enumerate(self.tour.languages):
            font, size = (
                (FONT_BOLD, sizes["name"]) if position == 0 else (FONT, sizes["other_name"])
            )
            names.append(wrap(stop.name[lang], font, size, name_width))
        return PlaqueText(
            titles=[self.tour.title[lang] for lang in self.tour.languages],
            number=str(self.tour.position(stop)),
            names=names,
            url=short_url(payload),
            calls=[self.tour.ui[lang]["plaque_call"] for lang in self.tour.languages],
        )

    def header_height(self, text: PlaqueText) -> float:
        sizes = self.font_sizes()
        titles = len(text.titles) * sizes["title"] * 1.3
        names = sum(
            len(lines) * (sizes["name"] if position == 0 else sizes["other_name"]) * 1.25
            for position, lines in enumerate(text.names)
        )
        return titles + 3 * mm * self.layout.scale + max(self.circle(), names)

    def footer_height(self, text: PlaqueText) -> float:
        sizes = self.font_sizes()
        return sizes["url"] * 1.6 + len(text.calls) * sizes["call"] * 1.35

    def qr_box(self, text: PlaqueText) -> float:
        """Side of the square for the code and its quiet zone, as large as the page allows."""
        layout = self.layout
        spare = (
            layout.height - 2 * layout.margin - self.header_height(text) - self.footer_height(text)
        )
        return min(layout.width - 2 * layout.margin, spare)

    def check(self, stop: Stop, qr: QrCode) -> PrintCheck:
        box = self.qr_box(self.text_for(stop, qr.payload))
        module_mm = box / qr.modules_with_quiet_zone / mm
        symbol_mm = module_mm * qr.modules
        distance_m = symbol_mm * SCAN_DISTANCE_RATIO / 1000
        warnings = []
        label = f"{stop.id}: {self.layout.size.upper()} plaque"
        if module_mm < MIN_MODULE_MM:
            warnings.append(
                f"{label}: a QR module prints at {module_mm:.2f} mm, under {MIN_MODULE_MM} mm; "
                "use a larger --size or a shorter base URL"
            )
        if distance_m < self.tour.scan_distance_m:
            warnings.append(
                f"{label}: the code scans from about {distance_m:.2f} m, less than the tour's "
                f"scan_distance_m of {self.tour.scan_distance_m:g} m; use a larger --size"
            )
        return PrintCheck(stop, qr, symbol_mm, module_mm, distance_m, tuple(warnings))

    # --- drawing -------------------------------------------------------------------------

    def draw_plaque(self, canvas: Canvas, stop: Stop, qr: QrCode) -> None:
        layout = self.layout
        sizes = self.font_sizes()
        text = self.text_for(stop, qr.payload)
        top = layout.height - layout.margin
        centre = layout.width / 2

        y = top
        for position, title in enumerate(text.titles):
            y -= sizes["title"] * 1.3
            font = FONT_BOLD if position == 0 else FONT
            draw_text(canvas, centre, y, title, font, sizes["title"], centred=True)
        y -= 3 * mm * layout.scale

        circle = self.circle()
        canvas.circle(layout.margin + circle / 2, y - circle / 2, circle / 2, stroke=0, fill=1)
        canvas.setFillGray(1)
        canvas.setFont(FONT_BOLD, sizes["number"])
        canvas.drawCentredString(
            layout.margin + circle / 2, y - circle / 2 - sizes["number"] * 0.35, text.number
        )
        canvas.setFillGray(0)
        name_x = layout.margin + circle + 3 * mm
        name_y = y
        for position, lines in enumerate(text.names):
            font, size = (
                (FONT_BOLD, sizes["name"]) if position == 0 else (FONT, sizes["other_name"])
            )
            for line in lines:
                name_y -= size * 1.25
                draw_text(canvas, name_x, name_y + size * 0.2, line, font, size)

        box = self.qr_box(text)
        box_top = top - self.header_height(text)
        draw_qr(canvas, qr, centre - box / 2, box_top - box, box)

        y = box_top - box - sizes["url"] * 1.1
        canvas.setFont(FONT_BOLD, sizes["url"])
        canvas.drawCentredString(centre, y, text.url)
        y -= sizes["url"] * 0.5
        for position, call in enumerate(text.calls):
            y -= sizes["call"] * 1.35
            font = FONT_BOLD if position == 0 else FONT
            draw_text(canvas, centre, y, call, font, sizes["call"], centred=True)

    def draw_index(self, canvas: Canvas, codes: Sequence[tuple[Stop, QrCode]]) -> int:
        """Draw the A4 index sheet(s) for guides; return how many pages they took."""
        height = float(A4[1])
        margin = 12 * mm
        row = INDEX_ROW_MM * mm
        per_page = int((height - 2 * margin - 14 * mm) // row)
        pages = 0
        for start in range(0, len(codes), per_page):
            canvas.setPageSize(A4)
            pages += 1
            y = height - margin - 8 * mm
            titles = " · ".join(self.tour.title[lang] for lang in self.tour.languages)
            draw_text(canvas, margin, y, titles, FONT_BOLD, 14)
            y -= 6 * mm
            for stop, qr in codes[start : start + per_page]:
                y -= row
                draw_qr(canvas, qr, margin, y + 1 * mm, row - 2 * mm)
                x = margin + row + 3 * mm
                line_y = y + row - 6 * mm
                first = f"{self.tour.position(stop)}. {stop.name[self.tour.languages[0]]}"
                draw_text(canvas, x, line_y, first, FONT_BOLD, 12)
                for lang in self.tour.languages[1:]:
                    line_y -= 4.5 * mm
                    draw_text(canvas, x, line_y, stop.name[lang], FONT, 10)
                line_y -= 4.5 * mm
                draw_text(canvas, x, line_y, short_url(qr.payload), FONT, 10)
            canvas.showPage()
        return pages


def draw_qr(canvas: Canvas, qr: QrCode, left: float, bottom: float, box: float) -> None:
    """Draw `qr` with its quiet zone into a square of side `box`, as vector rectangles."""
    module = box / qr.modules_with_quiet_zone
    canvas.setFillGray(1)
    canvas.rect(left, bottom, box, box, stroke=0, fill=1)
    canvas.setFillGray(0)
    path = canvas.beginPath()
    top = bottom + box
    for x, y, length in dark_runs(qr):
        path.rect(
            left + (x + QUIET_ZONE_MODULES) * module,
            top - (y + QUIET_ZONE_MODULES + 1) * module,
            length * module,
            module,
        )
    canvas.drawPath(path, stroke=0, fill=1)


def check_plaques(
    tour: Tour, base_url: str, size: str, *, level: str | None = None, allow_local: bool = False
) -> tuple[PlaqueMaker, list[tuple[Stop, QrCode]], list[PrintCheck]]:
    """Run the print check: everything `write_plaques` verifies before writing."""
    if size not in PAGE_SIZES:
        raise PlaqueError(f"--size: '{size}' is not a plaque size; use one of a6, a5, a4")
    refuse_local(base_url, allow_local)
    width, height = PAGE_SIZES[size]
    maker = PlaqueMaker(tour, Layout(size=size, width=width, height=height))
    codes = tour_codes(tour, base_url, level)
    check_glyphs(printed_texts(tour, codes))
    return maker, codes, [maker.check(stop, qr) for stop, qr in codes]


def printed_texts(tour: Tour, codes: Sequence[tuple[Stop, QrCode]]) -> list[tuple[str, str]]:
    """Every text the plaques print, each with the file and field it comes from."""
    texts = [(f"tour.toml: title.{lang}", tour.title[lang]) for lang in tour.languages]
    for stop, qr in codes:
        texts += [(f"{stop.id}.toml: name.{lang}", stop.name[lang]) for lang in tour.languages]
        texts.append((f"{stop.id}: plaque address", short_url(qr.payload)))
    texts += [
        (f"tour.toml: ui.{lang}.plaque_call", tour.ui[lang]["plaque_call"])
        for lang in tour.languages
    ]
    return texts


def check_glyphs(texts: Sequence[tuple[str, str]]) -> None:
    """Refuse any text a plaque font cannot draw, one line per field, before anything is drawn."""
    problems = []
    for where, text in texts:
        missing = missing_glyphs([text])
        if not missing:
            continue
        shown = ", ".join(f"'{char}' (U+{ord(char):04X})" for char in missing)
        how = (
            f"change {'that character' if len(missing) == 1 else 'those characters'}"
            if register_cjk_font()
            else f"for Chinese, Japanese or Korean, install Debian's {CJK_FONT_PACKAGE}"
        )
        problems.append(f"{where}: the plaque fonts cannot print {shown}; {how}")
    if problems:
        raise PlaqueError("\n".join(problems))


def draw_plaques(
    tour: Tour,
    maker: PlaqueMaker,
    codes: Sequence[tuple[Stop, QrCode]],
    *,
    index: bool = True,
) -> tuple[bytes, int]:
    """Draw one plaque page per code, then the index sheet; return the PDF and its pages."""
    size = maker.layout.size
    buffer = io.BytesIO()
    # invariant: no creation time in the file, so the same tour gives the same bytes.
    canvas = Canvas(
        buffer, pagesize=PAGE_SIZES[size], invariant=True, initialFontName=FONT, initialFontSize=10
    )
    canvas.setTitle(" · ".join(tour.title[lang] for lang in tour.languages))
    canvas.setSubject("QR plaques")
    pages = 0
    for stop, qr in codes:
        canvas.setPageSize(PAGE_SIZES[size])
        maker.draw_plaque(canvas, stop, qr)
        canvas.showPage()
        pages += 1
    if index:
        pages += maker.draw_index(canvas, codes)
    canvas.save()
    return buffer.getvalue(), pages


def write_plaques(
    tour: Tour,
    base_url: str,
    out: Path,
    size: str = "a6",
    *,
    level: str | None = None,
    allow_local: bool = False,
) -> PlaqueReport:
    """Check the print, then write every plaque and the index sheet to one PDF."""
    maker, codes, checks = check_plaques(tour, base_url, size, level=level, allow_local=allow_local)
    data, pages = draw_plaques(tour, maker, codes)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out, data)
    return PlaqueReport(path=out, size=size, pages=pages, checks=checks)
