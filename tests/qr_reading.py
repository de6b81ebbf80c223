"""Read QR codes back with a real decoder (zxing-cpp), from PNG, SVG, PDF and terminal art."""

from __future__ import annotations

import io
import re

import zxingcpp
from PIL import Image, ImageDraw

from tour.printing.qr import QUIET_ZONE_MODULES


def decode(image: Image.Image) -> list[str]:
    """Return the text of every QR code zxing-cpp finds in `image`."""
    return [
        result.text
        for result in zxingcpp.read_barcodes(image)
        if result.format == zxingcpp.BarcodeFormat.QRCode and result.valid
    ]


def decode_png(data: bytes) -> list[str]:
    return decode(Image.open(io.BytesIO(data)))


def rasterise_svg(svg: str, pixels_per_module: int = 8) -> Image.Image:
    """Draw the SVG's one path of `M x y h n v1 h-n z` runs, as a browser would."""
    side = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg)[1])  # type: ignore[index]
    image = Image.new("1", (side * pixels_per_module,) * 2, 1)
    draw = ImageDraw.Draw(image)
    for x, y, length in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        left, top = int(x) * pixels_per_module, int(y) * pixels_per_module
        right = left + int(length) * pixels_per_module - 1
        draw.rectangle((left, top, right, top + pixels_per_module - 1), fill=0)
    return image


def rasterise_terminal(art: str, pixels_per_module: int = 8) -> Image.Image:
    """Turn half-block terminal art (two modules per character, top and bottom) into pixels."""
    halves = {" ": (False, False), "▀": (True, False), "▄": (False, True), "█": (True, True)}
    rows = [line for line in art.splitlines() if line.strip(" ") or line]
    width = max(len(line) for line in rows)
    height = 2 * len(rows)
    border = QUIET_ZONE_MODULES
    image = Image.new(
        "1",
        ((width + 2 * border) * pixels_per_module, (height + 2 * border) * pixels_per_module),
        1,
    )
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(rows):
        for column, char in enumerate(line):
            for half, dark in enumerate(halves.get(char, (False, False))):
                if dark:
                    left = (column + border) * pixels_per_module
                    top = (2 * row + half + border) * pixels_per_module
                    draw.rectangle(
                        (left, top, left + pixels_per_module - 1, top + pixels_per_module - 1),
                        fill=0,
                    )
    return image
