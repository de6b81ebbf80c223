"""Stop files as forms: read the fields out, write them back with tomlkit, check, save.

The stop files stay the source of truth, and staff also edit them by hand. So a form
is applied to the file's own text with tomlkit: comments, key order and layout that
someone wrote survive, and only the values that changed are touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from tour.errors import TourError
from tour.model import Tour


class ConflictError(TourError):
    """A file changed on disk since the form was loaded; `current` is its text now."""

    def __init__(self, path: Path, current: str) -> None:
        self.path = path
        self.current = current
        super().__init__(
            f"{path.name} changed on disk since this form was loaded; compare both "
            "versions and publish again"
        )


class WriteError(TourError):
    """The disk refused a write (full, read-only, no permission); nothing was changed."""


def file_hash(text: str) -> str:
    """Return the SHA-256 hex digest of the UTF-8 bytes of `text`."""
    raise NotImplementedError


def stop_path(stops_dir: Path, stop_id: str) -> Path:
    """Return the stop file of `stop_id`, refusing ids that are not [a-z0-9-]{1,40}."""
    raise NotImplementedError


def form_fields(languages: Sequence[str], text: str) -> dict[str, str]:
    """Read a stop file's text into form fields named as in the file (`text.en`)."""
    raise NotImplementedError


def apply_form(text: str, fields: Mapping[str, str], languages: Sequence[str]) -> str:
    """Write form fields into a stop file's text, keeping everything else as it was."""
    raise NotImplementedError


def field_problems(
    stops_dir: Path, stop_id: str, text: str, extra: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """Check the tour with `text` as the stop's file; problems by form field ("" = general)."""
    raise NotImplementedError


def draft_tour(stops_dir: Path, stop_id: str, text: str) -> Tour | None:
    """Load the tour with `text` as the stop's file, or None when it has problems."""
    raise NotImplementedError


def write_files(stops_dir: Path, texts: Mapping[str, str], bases: Mapping[str, str]) -> None:
    """Write files of the stops folder if each still has its base hash ("" = must not exist)."""
    raise NotImplementedError
