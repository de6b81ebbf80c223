"""The `[[photos]]` of a stop file: which image, its alt text, its credit and licence.

Each photo is checked on disk too: the file must be inside the stops folder, exist, be
an image Pillow can read, and be wide enough for the widest version a phone loads.
Only the image's header is read here, so `tour check` and server start-up stay quick;
`tour photos` decodes the pixels.
"""

from __future__ import annotations

import posixpath
import warnings
from collections.abc import Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Any

from PIL import ExifTags, Image

from tour.catalog.fields import FileReport, display_path, suggest, toml_type
from tour.languages import is_known_language
from tour.model import Photo, frozen_mapping

PHOTO_FIELDS = frozenset({"file", "alt", "credit", "licence"})
MIN_PHOTO_WIDTH = 800
"""Narrower originals would look soft in the 960 px version most phones load."""
MAX_ALT_CHARS = 250
"""Alt text is read out by screen readers in full: a sentence or two, not a caption essay."""
MAX_CREDIT_CHARS = 200
ROTATED_ORIENTATIONS = frozenset({5, 6, 7, 8})
"""EXIF orientations that turn the image a quarter: its width is the stored height."""
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP", "AVIF")
"""The only formats a photo is decoded as: Pillow would otherwise try every format it
knows on any file it is given (EPS runs Ghostscript, PSD has its own old decoder)."""
MAX_PHOTO_PIXELS = 80_000_000
"""Decoding more could exhaust the server's memory; the widest version is 1440 px anyway."""
TOO_MANY_PIXELS = (
    f"has too many pixels to decode safely; "
    f"scale it down below {MAX_PHOTO_PIXELS // 1_000_000} megapixels"
)

# Pillow refuses twice its limit and past the limit only warns; make the warning an error
# too, so every image over the limit is refused before its pixels are decoded.
Image.MAX_IMAGE_PIXELS = MAX_PHOTO_PIXELS
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


class TooManyPixelsError(ValueError):
    """A photo has more than MAX_PHOTO_PIXELS pixels."""


def open_photo(source: Path | IO[bytes]) -> Image.Image:
    """Open a photo (reading its header only) as one of PHOTO_FORMATS, within the pixel limit.

    Raises TooManyPixelsError past the limit, and what Pillow raises for other files.
    """
    try:
        image = Image.open(source, formats=PHOTO_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise TooManyPixelsError(str(error)) from error
    width, height = image.size
    if width * height > MAX_PHOTO_PIXELS:  # even if the warning filter was reset
        image.close()
        raise TooManyPixelsError(f"{width}×{height} pixels")
    return image


def read_photos(
    data: Mapping[str, Any], stops_dir: Path, languages: tuple[str, ...], report: FileReport
) -> tuple[Photo, ...]:
    """Read the stop's `[[photos]]` tables, reporting each problem at its own line."""
    raw = data.get("photos")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(table, dict) for table in raw):
        report.add("photos", "must be [[photos]] tables, each with file, alt, credit and licence")
        return ()
    photos = []
    for index, table in enumerate(raw):
        photo = PhotoReader(table, index, report).read(stops_dir, languages)
        if photo is not None:
            photos.append(photo)
    return tuple(photos)


def normalise_photo_path(file: str) -> str | None:
    """Return `file` as a clean relative POSIX path, or None if it leaves the stops folder."""
    if PurePosixPath(file).is_absolute() or PureWindowsPath(file).anchor:
        return None
    clean = posixpath.normpath(file)
    if clean == ".." or clean.startswith("../"):
        return None
    return clean


class PhotoReader:
    """Reads the `index`-th [[photos]] table; problems are named `photos[<n>].<field>`."""

    def __init__(self, table: Mapping[str, Any], index: int, report: FileReport) -> None:
        self.table = table
        self.index = index
        self.report = report
        self.name = f"photos[{index + 1}]"
        self.problems = 0

    def add(self, key: tuple[str, ...], message: str) -> None:
        line = self.report.lines.entry_line(("photos",), self.index, *key)
        self.report.add((self.name, *key), message, line)
        self.problems += 1

    def read(self, stops_dir: Path, languages: tuple[str, ...]) -> Photo | None:
        for key in self.table:
            if key not in PHOTO_FIELDS:
                self.add((key,), f"unknown field; {suggest(key, PHOTO_FIELDS)}")
        file = self.string("file", 'add file = "photos/<name>.jpg", relative to the stops folder')
        if file is not None:
            file = self.check_file(stops_dir, file)
        alt = self.alt_texts(languages)
        credit = self.string("credit", 'add credit = "<who took the photo>"')
        licence = self.string("licence", 'add licence = "<such as CC BY-SA 4.0>"')
        if self.problems or file is None or credit is None or licence is None:
            return None
        return Photo(file=file, alt=frozen_mapping(alt), credit=credit, licence=licence)

    def string(self, key: str, how: str) -> str | None:
        value = self.table.get(key)
        if value is None:
            self.add((key,), f"missing; {how}")
            return None
        if not isinstance(value, str):
            self.add((key,), f"must be a string in quotes, not {toml_type(value)}")
            return None
        if not value.strip():
            self.add((key,), "is empty; write a value")
            return None
        if len(value) > MAX_CREDIT_CHARS:
            self.add((key,), f"{len(value)} characters is too long (limit {MAX_CREDIT_CHARS})")
            return None
        return " ".join(value.split())

    def alt_texts(self, languages: tuple[str, ...]) -> dict[str, str]:
        table = self.table.get("alt")
        if table is None:
            self.add(
                ("alt",),
                f"missing; describe the photo in each tour language, {_alt_hint(languages)}",
            )
            return {}
        if not isinstance(table, dict):
            self.add(
                ("alt",), f"must be a table such as {_alt_hint(languages)}, not {toml_type(table)}"
            )
            return {}
        texts: dict[str, str] = {}
        for code, value in table.items():
            if not is_known_language(code):
                self.add(("alt", code), f"'{code}' is not a known language code; use e.g. alt.id")
            elif not isinstance(value, str) or not value.strip():
                self.add(("alt", code), "must say in words what the photo shows, in quotes")
            elif len(value) > MAX_ALT_CHARS:
                self.add(
                    ("alt", code),
                    f"{len(value)} characters is too long (limit {MAX_ALT_CHARS}); say what "
                    "the photo shows in a sentence or two",
                )
            else:
                texts[code] = " ".join(value.split())
        for code in languages:
            if code not in table:
                self.add(
                    ("alt", code),
                    f"missing the '{code}' alt text; every photo needs one in each tour "
                    f"language ({', '.join(languages)})",
                )
        return texts

    def check_file(self, stops_dir: Path, file: str) -> str | None:
        """Check the photo's path and image; return its normalised path when it is usable."""
        clean = normalise_photo_path(file)
        if clean is None:
            self.add(
                ("file",),
                f"'{file}' is outside the stops folder; give a path relative to it, "
                "such as photos/masjid-front.jpg",
            )
            return None
        source = stops_dir / clean
        if not source.is_file():
            what = "is a folder" if source.is_dir() else "does not exist"
            self.add(
                ("file",),
                f"'{file}' {what} in {display_path(stops_dir)}; check the name, or add the photo",
            )
            return None
        reason = image_problem(source)
        if reason is not None:
            self.add(("file",), f"'{file}' {reason}")
            return None
        return clean


def image_problem(source: Path) -> str | None:
    """Say what makes `source` unusable as a stop photo, or None when it is fine."""
    try:
        with open_photo(source) as image:
            width, height = image.size
            orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except TooManyPixelsError:
        return TOO_MANY_PIXELS
    except Exception as error:  # Pillow raises many kinds for a damaged or foreign file
        return (
            f"cannot be read as an image ({type(error).__name__}); "
            "save it as JPEG, PNG, WebP or AVIF"
        )
    if orientation in ROTATED_ORIENTATIONS:
        width = height
    if width < MIN_PHOTO_WIDTH:
        return (
            f"is {width} px wide; use an original at least {MIN_PHOTO_WIDTH} px wide, "
            "so it stays sharp on phones"
        )
    return None


def _alt_hint(languages: tuple[str, ...]) -> str:
    return ", ".join(f'alt.{code} = "..."' for code in languages or ("id",))
