"""The addresses pages link to, built from plain paths with no web framework involved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

AUDIO_PREFIX = "/media/audio/"
PHOTO_PREFIX = "/media/photos/"


@dataclass(frozen=True, slots=True)
class Links:
    """How pages link to each other and to their narration."""

    index: Callable[[str], str]
    """The index in a language: `/en/`."""
    stop: Callable[[str, str], str]
    """A stop page by language and stop code: `/en/masjid`."""
    audio: Callable[[str], str]
    """A narration file by name: `/media/audio/<name>`."""
    photo: Callable[[str], str]
    """A photo file by name: `/media/photos/<name>`."""


def index_path(lang: str) -> str:
    return f"/{lang}/"


def stop_path(lang: str, code: str) -> str:
    return f"/{lang}/{code}"


def audio_path(name: str) -> str:
    return AUDIO_PREFIX + name


def photo_path(name: str) -> str:
    return PHOTO_PREFIX + name


PATH_LINKS = Links(index=index_path, stop=stop_path, audio=audio_path, photo=photo_path)
"""The links of every rendered page; `tour serve` checks at start-up that its routes agree."""
