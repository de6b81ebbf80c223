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

from tour.catalog.fields import FileReport, display_path, toml_type, unknown_field
from tour.catalog.messages import Message
from tour.core.languages import is_known_language
from tour.core.model import Photo, frozen_mapping

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
TOO_MANY_PIXELS = Message.of("photo_too_many_pixels", most=MAX_PHOTO_PIXELS // 1_000_000)

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
        report.add("photos", Message.of("photos_not_tables"))
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

    def add(self, key: tuple[str, ...], message: Message) -> None:
        line = self.report.lines.entry_line(("photos",), self.index, *key)
        self.report.add((self.name, *key), message, line)
        self.problems += 1

    def read(self, stops_dir: Path, languages: tuple[str, ...]) -> Photo | None:
        for key in self.table:
            if key not in PHOTO_FIELDS:
                self.add((key,), unknown_field(key, PHOTO_FIELDS))
        file = self.string("file", "photo_file_missing")
        if file is not None:
            file = self.check_file(stops_dir, file)
        alt = self.alt_texts(languages)
        credit = self.string("credit", "photo_credit_missing")
        licence = self.string("licence", "photo_licence_missing")
        if self.problems or file is None or credit is None or licence is None:
            return None
        return Photo(file=file, alt=frozen_mapping(alt), credit=credit, licence=licence)

    def string(self, key: str, missing: str) -> str | None:
        """Read a one-line string; `missing` is the code of the message when it is absent."""
        value = self.table.get(key)
        if value is None:
            self.add((key,), Message.of(missing))
            return None
        if not isinstance(value, str):
            self.add((key,), Message.of("not_a_string", found=toml_type(value)))
            return None
        if not value.strip():
            self.add((key,), Message.of("value_empty"))
            return None
        if len(value) > MAX_CREDIT_CHARS:
            self.add(
                (key,), Message.of("too_many_characters", n=len(value), limit=MAX_CREDIT_CHARS)
            )
            return None
        return " ".join(value.split())

    def alt_texts(self, languages: tuple[str, ...]) -> dict[str, str]:
        table = self.table.get("alt")
        if table is None:
            self.add(("alt",), Message.of("alt_missing", hint=_alt_hint(languages)))
            return {}
        if not isinstance(table, dict):
            self.add(
                ("alt",),
                Message.of("alt_not_table", hint=_alt_hint(languages), found=toml_type(table)),
            )
            return {}
        texts: dict[str, str] = {}
        for code, value in table.items():
            if not is_known_language(code):
                self.add(("alt", code), Message.of("alt_language_unknown", code=code))
            elif not isinstance(value, str) or not value.strip():
                self.add(("alt", code), Message.of("alt_empty"))
            elif len(value) > MAX_ALT_CHARS:
                self.add(
                    ("alt", code), Message.of("alt_too_long", n=len(value), limit=MAX_ALT_CHARS)
                )
            else:
                texts[code] = " ".join(value.split())
        for code in languages:
            if code not in table:
                self.add(
                    ("alt", code),
                    Message.of("alt_language_missing", lang=code, languages=", ".join(languages)),
                )
        return texts

    def check_file(self, stops_dir: Path, file: str) -> str | None:
        """Check the photo's path and image; return its normalised path when it is usable."""
        clean = normalise_photo_path(file)
        if clean is None:
            self.add(("file",), Message.of("photo_outside", file=file))
            return None
        source = stops_dir / clean
        if not source.is_file():
            code = "photo_is_folder" if source.is_dir() else "photo_absent"
            self.add(("file",), Message.of(code, file=file, folder=display_path(stops_dir)))
            return None
        reason = image_problem(source)
        if reason is not None:
            self.add(("file",), Message.of("photo_unusable", file=file, reason=reason))
            return None
        return clean


def image_problem(source: Path) -> Message | None:
    """Say what makes `source` unusable as a stop photo, or None when it is fine."""
    try:
        with open_photo(source) as image:
            width, height = image.size
            orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except TooManyPixelsError:
        return TOO_MANY_PIXELS
    except Exception as error:  # Pillow raises many kinds for a damaged or foreign file
        return Message.of("photo_unreadable", error=type(error).__name__)
    if orientation in ROTATED_ORIENTATIONS:
        width = height
    if width < MIN_PHOTO_WIDTH:
        return Message.of("photo_too_narrow", width=width, least=MIN_PHOTO_WIDTH)
    return None


def _alt_hint(languages: tuple[str, ...]) -> str:
    return ", ".join(f'alt.{code} = "..."' for code in languages or ("id",))
