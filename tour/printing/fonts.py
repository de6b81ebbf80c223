"""The plaque's lettering: embedded fonts, Latin and CJK mixed in one line, and wrapping.

Bitstream Vera, shipped inside reportlab, draws Latin text; a CJK font from Debian,
loaded only when a plaque needs it, draws Chinese. Both are embedded as subsets, so
the print shop needs no font of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from reportlab.lib.textsplit import ALL_CANNOT_END, ALL_CANNOT_START
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from tour.core.errors import TourError

FONT = "TourSans"
FONT_BOLD = "TourSans-Bold"
CJK_FONT = "TourCJK"
CJK_FONT_PACKAGE = "fonts-droid-fallback"
CJK_FONT_FILES = (
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf"),
)
"""Droid Sans Fallback, from Debian's fonts-droid-fallback: Chinese, Japanese and Korean
in TrueType outlines, which reportlab embeds as a subset (Apache 2.0, embedding allowed).
It has no Latin letters, so each line mixes it with Vera, character by character."""


class PlaqueError(TourError):
    """The plaques cannot be made as asked."""


def register_fonts() -> None:
    """Embed Bitstream Vera (shipped inside reportlab): it covers the Latin text we print."""
    import reportlab

    folder = Path(reportlab.__file__).parent / "fonts"
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(folder / "Vera.ttf")))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(folder / "VeraBd.ttf")))


def register_cjk_font() -> bool:
    """Embed the CJK font, once; return False when it is not installed.

    Called only when a plaque prints a character Vera lacks: loading a CJK font
    takes a moment that a tour written in Latin letters need not spend.
    """
    if CJK_FONT in pdfmetrics.getRegisteredFontNames():
        return True
    for path in CJK_FONT_FILES:
        if path.is_file():
            pdfmetrics.registerFont(TTFont(CJK_FONT, str(path)))
            return True
    return False


def _glyphs(font_name: str) -> Mapping[int, int]:
    glyphs: Mapping[int, int] = pdfmetrics.getFont(font_name).face.charToGlyph
    return glyphs


def latin_can_draw(char: str) -> bool:
    """Whether Vera, regular and bold alike, has a glyph for `char`."""
    return ord(char) in _glyphs(FONT) and ord(char) in _glyphs(FONT_BOLD)


def missing_glyphs(texts: Iterable[str]) -> list[str]:
    """Return the characters of `texts` that no embedded font can draw.

    Vera draws what it can; the CJK font, loaded only if needed, draws the rest.
    """
    register_fonts()
    outside = {char for text in texts for char in text if not latin_can_draw(char)}
    if outside and register_cjk_font():
        outside = {char for char in outside if ord(char) not in _glyphs(CJK_FONT)}
    return sorted(outside)


def runs(text: str, font: str) -> list[tuple[str, str]]:
    """Split `text` into (font, piece) runs: `font` where Vera has the glyph, else CJK."""
    pieces: list[tuple[str, str]] = []
    for char in text:
        wanted = font if char.isspace() or latin_can_draw(char) else CJK_FONT
        if wanted == CJK_FONT and not register_cjk_font():
            raise PlaqueError(f"printing '{char}' needs Debian's {CJK_FONT_PACKAGE}; install it")
        if pieces and pieces[-1][0] == wanted:
            pieces[-1] = (wanted, pieces[-1][1] + char)
        else:
            pieces.append((wanted, char))
    return pieces


def text_width(text: str, font: str, size: float) -> float:
    return sum(
        float(pdfmetrics.stringWidth(piece, run_font, size)) for run_font, piece in runs(text, font)
    )


def _may_break(before: str, after: str) -> bool:
    """Whether a line may break between two characters of one word.

    Chinese lines break between any two characters drawn in the CJK font, except
    before closing punctuation and after opening punctuation.
    """
    cjk = not latin_can_draw(before) or not latin_can_draw(after)
    return cjk and after not in ALL_CANNOT_START and before not in ALL_CANNOT_END


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Wrap `text` to `width`: at spaces, and between Chinese characters."""
    if all(latin_can_draw(char) for char in text):
        return list(simpleSplit(text, font, size, width))
    units: list[tuple[str, str]] = []  # (what joins it to the unit before, the unit)
    for word in text.split():
        joiner, current = " ", ""
        for char in word:
            if current and _may_break(current[-1], char):
                units.append((joiner, current))
                joiner, current = "", ""
            current += char
        units.append((joiner, current))
    lines: list[str] = []
    line = ""
    for joiner, unit in units:
        candidate = line + joiner + unit if line else unit
        if line and text_width(candidate, font, size) > width:
            lines.append(line)
            line = unit
        else:
            line = candidate
    return [*lines, line] if line else lines


def draw_text(
    canvas: Canvas, x: float, y: float, text: str, font: str, size: float, centred: bool = False
) -> None:
    """Draw `text` from `x` (or centred on it), switching to the CJK font where needed."""
    if centred:
        x -= text_width(text, font, size) / 2
    for run_font, piece in runs(text, font):
        canvas.setFont(run_font, size)
        canvas.drawString(x, y, piece)
        x += float(pdfmetrics.stringWidth(piece, run_font, size))
