"""The photo manifest (`media/photos/manifest.json`): which web files belong to each photo.

A manifest names only files a build wrote: every name is checked against the pattern the
build uses, since the names are served and exported as paths under media/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tour.core.errors import TourError

PHOTOS_DIR = "photos"
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
OFFLINE_EXTENSION = "jpg"
"""JPEG: any browser decodes the saved copy, whichever format it asked for."""
FILE_NAME_PATTERN = re.compile(r"(?<![0-9a-f])[0-9a-f]{16}-[1-9][0-9]{0,4}\.(?:avif|webp|jpg)")
"""`<16 hex digits>-<width>.<extension>`, as the build's output_name names each file."""
MEDIA_TYPES = {"avif": "image/avif", "webp": "image/webp", "jpg": "image/jpeg"}
"""The formats a build writes, by extension."""


def media_type(extension: str) -> str:
    return MEDIA_TYPES[extension]


@dataclass(frozen=True, slots=True)
class PhotoFile:
    file: str
    format: str
    """The file extension: avif, webp or jpg."""
    width: int
    height: int
    size: int


@dataclass(frozen=True, slots=True)
class PhotoEntry:
    hash: str
    width: int
    """The oriented source's width (the largest file's is at most this)."""
    height: int
    files: tuple[PhotoFile, ...]
    built_at: str

    def versions(self, extension: str) -> list[PhotoFile]:
        """The files of one format, narrowest first."""
        return sorted(
            (file for file in self.files if file.format == extension), key=lambda f: f.width
        )

    @property
    def offline(self) -> PhotoFile:
        """The file saved with the whole tour: the 480 px JPEG."""
        return self.versions(OFFLINE_EXTENSION)[0]


@dataclass(frozen=True, slots=True)
class PhotoManifest:
    """Which files belong to each photo, by its path relative to the stops folder."""

    entries: Mapping[str, PhotoEntry] = field(default_factory=dict)

    def files(self) -> dict[str, PhotoFile]:
        return {file.file: file for entry in self.entries.values() for file in entry.files}

    def to_json(self) -> str:
        entries = {name: asdict(entry) for name, entry in sorted(self.entries.items())}
        return json.dumps({"version": MANIFEST_VERSION, "entries": entries}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> PhotoManifest:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"not a version {MANIFEST_VERSION} photo manifest")
        entries = {}
        for name, values in data["entries"].items():
            files = tuple(PhotoFile(**file) for file in values.pop("files"))
            for file in files:
                _check_file_name(name, file)
            if not any(file.file.endswith(".jpg") for file in files):
                # Every page needs a JPEG to fall back on and the saved tour keeps one.
                raise ValueError(f"{name} has no JPEG")
            entries[name] = PhotoEntry(files=files, **values)
        return cls(entries)


def _check_file_name(photo: str, file: PhotoFile) -> None:
    """Refuse a file name no build writes: it is served and exported as a path under media/."""
    if not isinstance(file.file, str) or not FILE_NAME_PATTERN.fullmatch(file.file):
        raise ValueError(f"{photo} names the file {file.file!r}, which no build writes")


def photos_dir(media_dir: Path) -> Path:
    return media_dir / PHOTOS_DIR


def photo_manifest_path(media_dir: Path) -> Path:
    return photos_dir(media_dir) / MANIFEST_NAME


def load_photo_manifest(media_dir: Path) -> PhotoManifest:
    """Read the manifest; a missing one is empty, a damaged one raises TourError."""
    path = photo_manifest_path(media_dir)
    try:
        return PhotoManifest.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return PhotoManifest()
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise TourError(
            f"{path}: the photo manifest cannot be read ({error}); run 'tour photos' to rebuild it"
        ) from error
