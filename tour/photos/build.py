"""Incremental photo builds: each stop photo as AVIF, WebP and JPEG at three widths.

A photo's files are named by a hash of its source bytes and of the settings below, so
an unchanged photo is never encoded again and browsers may cache its files forever.
Every file is written from pixels alone, after the EXIF orientation is applied: no
EXIF, no GPS position, no XMP, no camera serial number and no ICC profile survive
(colours are first converted to sRGB, which is what browsers assume without one).

Like narration, a build killed at any moment leaves only complete files under final
names, and a manifest (`media/photos/manifest.json`) that names only files that exist.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, ImageOps

from tour.catalog.stop_photos import TOO_MANY_PIXELS, TooManyPixelsError, open_photo
from tour.core.builds import BuildReport, Progress
from tour.core.errors import TourError
from tour.core.files import TEMP_SUFFIX, write_atomically, write_if_changed
from tour.core.model import Tour
from tour.photos.manifest import (
    PhotoEntry,
    PhotoFile,
    PhotoManifest,
    load_photo_manifest,
    photo_manifest_path,
    photos_dir,
)

LOCK_NAME = ".build.lock"
WIDTHS = (480, 960, 1440)
OFFLINE_WIDTH = 480
"""The width saved with the whole tour for use without a signal."""


@dataclass(frozen=True, slots=True)
class Encoding:
    extension: str
    pillow_format: str
    options: Mapping[str, Any]


# Qualities chosen with scripts/photo_sizes.py: the 480 px AVIF of a detailed photo stays
# under 40 KB, and none of the three shows blocks or smears at a phone's pixel density.
ENCODINGS = (
    Encoding("avif", "AVIF", {"quality": 60, "speed": 7}),
    Encoding("webp", "WEBP", {"quality": 75, "method": 4}),
    Encoding("jpg", "JPEG", {"quality": 80, "optimize": True, "progressive": True}),
)
PIPELINE_VERSION = 1
"""Raise it when the processing changes in a way the settings above do not show."""


def settings_fingerprint() -> str:
    settings = {
        "version": PIPELINE_VERSION,
        "widths": WIDTHS,
        "encodings": [(e.extension, dict(e.options)) for e in ENCODINGS],
    }
    return json.dumps(settings, sort_keys=True)


def photo_hash(source: bytes) -> str:
    """Hash what produces a photo's files: its bytes and the output settings."""
    digest = hashlib.sha256(source)
    digest.update(settings_fingerprint().encode("utf-8"))
    return digest.hexdigest()[:16]


def output_widths(source_width: int) -> list[int]:
    """The widths to write: never wider than the source, so nothing is upscaled."""
    return sorted({min(width, source_width) for width in WIDTHS})


def output_name(digest: str, width: int, extension: str) -> str:
    # One hash per photo, its width and format after it: a service worker that saved the
    # 480 px JPEG can find it for any other version of the same photo.
    return f"{digest}-{width}.{extension}"


# --- making the files --------------------------------------------------------------------


class PhotoError(TourError):
    """One photo could not be made into web files."""


SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def clean_pixels(image: Image.Image) -> Image.Image:
    """Return the photo upright, in sRGB, as a new image that carries pixels and nothing else."""
    upright = ImageOps.exif_transpose(image)
    if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
        # Transparent parts become white, like the page behind them in the light theme.
        rgba = upright.convert("RGBA")
        upright = Image.new("RGBA", rgba.size, "white")
        upright.alpha_composite(rgba)
    profile = upright.info.get("icc_profile")
    if profile:
        with contextlib.suppress(ImageCms.PyCMSError, OSError):
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(upright, source, SRGB, outputMode="RGB")
            if converted is not None:
                upright = converted
    rgb = upright.convert("RGB")
    # frombytes copies the pixels only: no info dictionary, EXIF, XMP or profile follows.
    return Image.frombytes("RGB", rgb.size, rgb.tobytes())


def encode(image: Image.Image, encoding: Encoding) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, encoding.pillow_format, **encoding.options)
    return buffer.getvalue()


def make_files(source: bytes, digest: str, folder: Path) -> PhotoEntry:
    """Decode `source` and write its AVIF, WebP and JPEG files at each width into `folder`."""
    try:
        with open_photo(io.BytesIO(source)) as opened:
            opened.load()
            image = clean_pixels(opened)
    except TooManyPixelsError as error:
        raise PhotoError(str(TOO_MANY_PIXELS)) from error
    except Exception as error:  # Pillow raises many kinds for a damaged file
        raise PhotoError(f"cannot be decoded ({type(error).__name__}: {error})") from error
    files = []
    for width in output_widths(image.width):
        height = max(1, round(image.height * width / image.width))
        resized = image
        if width != image.width:
            resized = image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        for encoding in ENCODINGS:
            data = encode(resized, encoding)
            name = output_name(digest, width, encoding.extension)
            write_atomically(folder / name, data)
            files.append(PhotoFile(name, encoding.extension, width, height, len(data)))
    return PhotoEntry(
        hash=digest,
        width=image.width,
        height=image.height,
        files=tuple(files),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


# --- building ----------------------------------------------------------------------------


@contextlib.contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock, so two builds never write the same folder at once."""
    # O_CREAT without truncating: a build that changes nothing leaves every file untouched.
    handle = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TourError(f"{folder}: another photo build is running; wait for it") from None
        yield
    finally:
        os.close(handle)


def build_photos(
    tour: Tour,
    stops_dir: Path,
    media_dir: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
) -> BuildReport:
    """Make the web files of every photo that is new or changed, and report what happened.

    Files of photos the tour no longer lists are removed. A photo that fails keeps the
    files of its last good build, so the pages keep showing it.
    """
    say = progress or (lambda _: None)
    folder = photos_dir(media_dir)
    folder.mkdir(parents=True, exist_ok=True)
    wanted = sorted({photo.file for stop in tour.stops for photo in stop.photos})
    report = BuildReport("photos")
    with build_lock(folder):
        for leftover in folder.glob(f".*{TEMP_SUFFIX}"):
            leftover.unlink(missing_ok=True)  # half-written by a killed build
        try:
            previous = load_photo_manifest(media_dir)
        except TourError as error:
            say(f"warning: {error}; starting a fresh manifest")
            previous = PhotoManifest()
        entries = _build_each(wanted, stops_dir, folder, previous, force, workers, report, say)
        manifest = PhotoManifest(entries)
        write_if_changed(photo_manifest_path(media_dir), manifest.to_json().encode("utf-8"))
        listed = set(manifest.files())
        extensions = {encoding.extension for encoding in ENCODINGS}
        for path in sorted(folder.glob("*.*")):
            if path.suffix.lstrip(".") in extensions and path.name not in listed:
                path.unlink(missing_ok=True)
                report.removed.append(path.name)
    return report


def _build_each(
    wanted: list[str],
    stops_dir: Path,
    folder: Path,
    previous: PhotoManifest,
    force: bool,
    workers: int | None,
    report: BuildReport,
    say: Progress,
) -> dict[str, PhotoEntry]:
    """Build each wanted photo that is new or changed, a few at once; return every entry."""

    def one(name: str) -> tuple[PhotoEntry, bool]:
        try:
            source = (stops_dir / name).read_bytes()
        except OSError as error:
            raise PhotoError(f"cannot be read ({error.strerror or error})") from error
        digest = photo_hash(source)
        old = previous.entries.get(name)
        if (
            not force
            and old is not None
            and old.hash == digest
            and all((folder / file.file).is_file() for file in old.files)
        ):
            return old, False
        return make_files(source, digest, folder), True

    entries: dict[str, PhotoEntry] = {}
    with ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 1)) as pool:
        jobs = {pool.submit(one, name): name for name in wanted}
        for job in as_completed(jobs):
            name = jobs[job]
            try:
                entry, built = job.result()
            except PhotoError as error:
                report.failed.append((name, str(error)))
                say(f"failed {name}: {error}")
                if name in previous.entries:
                    entries[name] = previous.entries[name]
                continue
            entries[name] = entry
            if built:
                report.built.append(name)
                total = sum(file.size for file in entry.files)
                say(
                    f"built {name}: {entry.width}×{entry.height}, "
                    f"{len(entry.files)} files, {total / 1024:.0f} KB"
                )
            else:
                report.kept.append(name)
    return entries
