"""Render one plaque page of a plaques PDF to a PNG, for docs/plaques.md and the print shop.

Usage: .venv/bin/python scripts/plaque_preview.py PLAQUES.pdf [docs/plaque-zh.png] [--page N]

The page is rendered by pdfium from the PDF's own embedded fonts, at 150 dpi, the
resolution the plaque tests decode the QR codes at. It also lists the PDF's fonts.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pypdfium2 as pdfium

DPI = 150


def font_list(pdf: bytes) -> list[str]:
    """Return the PDF's font names, subset prefixes included, as pdffonts would show them."""
    return sorted({name.decode("ascii") for name in re.findall(rb"/BaseFont /(\S+)", pdf)})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", type=Path)
    parser.add_argument("out", type=Path, nargs="?", default=Path("docs/plaque-zh.png"))
    parser.add_argument("--page", type=int, default=1, help="plaque page to render (from 1)")
    args = parser.parse_args()
    try:
        document = pdfium.PdfDocument(args.pdf)
    except (OSError, pdfium.PdfiumError) as error:
        print(f"plaque_preview: {args.pdf}: cannot open the PDF ({error})", file=sys.stderr)
        return 1
    if not 1 <= args.page <= len(document):
        print(
            f"plaque_preview: --page {args.page}: the PDF has pages 1 to {len(document)}",
            file=sys.stderr,
        )
        return 1
    image = document[args.page - 1].render(scale=DPI / 72).to_pil()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.out, optimize=True)
    document.close()
    print(f"wrote {args.out}: page {args.page}, {image.width}x{image.height} px at {DPI} dpi")
    for name in font_list(args.pdf.read_bytes()):
        print(f"font: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
