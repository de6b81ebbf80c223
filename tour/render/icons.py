"""The tour's app icons, drawn by the project itself: a domed mosque on the tour's blue."""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageDraw

BACKGROUND = (10, 58, 140)
FOREGROUND = (255, 255, 255)
SIZES = (192, 512)

ICON_SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">\
<rect width="100" height="100" rx="18" fill="#0a3a8c"/>\
<path d="M28 78V52h44v26z M32 52a18 16 0 0 1 36 0z" fill="#fff"/>\
<path d="M46 40l4-10 4 10z" fill="#fff"/>\
<rect x="18" y="36" width="6" height="42" fill="#fff"/>\
<rect x="76" y="36" width="6" height="42" fill="#fff"/>\
<path d="M17 36l4-8 4 8z M75 36l4-8 4 8z" fill="#fff"/>\
<rect x="45" y="62" width="10" height="16" rx="5" fill="#0a3a8c"/></svg>
"""


@functools.cache  # the same for every build: draw once, not on every reload
def icon_png(size: int) -> bytes:
    """Draw the icon at `size` pixels, with the shape inside the maskable safe zone."""
    scale = size / 100
    image = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(image)

    def box(left: float, top: float, right: float, bottom: float) -> tuple[float, ...]:
        return (left * scale, top * scale, right * scale, bottom * scale)

    draw.rectangle(box(28, 52, 72, 78), fill=FOREGROUND)  # the prayer hall
    draw.pieslice(box(32, 36, 68, 68), 180, 360, fill=FOREGROUND)  # the dome
    draw.polygon(
        [(46 * scale, 40 * scale), (50 * scale, 30 * scale), (54 * scale, 40 * scale)],
        fill=FOREGROUND,
    )
    for left in (18, 76):  # two minarets with pointed tops
        draw.rectangle(box(left, 36, left + 6, 78), fill=FOREGROUND)
        points = [
            ((left - 1) * scale, 36 * scale),
            ((left + 3) * scale, 28 * scale),
            ((left + 7) * scale, 36 * scale),
        ]
        draw.polygon(points, fill=FOREGROUND)
    draw.rounded_rectangle(box(45, 62, 55, 78), radius=5 * scale, fill=BACKGROUND)  # the door
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
