"""Listen to a draft: its narration built into media/drafts, never served to visitors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tour.builds import BuildReport
from tour.model import Tour
from tour.speech import Voice

DRAFTS_FOLDER = "drafts"


def drafts_media_dir(media_dir: Path) -> Path:
    """Return the media folder of draft narration (media/drafts)."""
    return media_dir / DRAFTS_FOLDER


class DraftListen:
    """One job: build a draft stop's narration for the chosen languages."""

    def __init__(
        self,
        tour: Tour,
        stop_id: str,
        languages: Sequence[str],
        media_dir: Path,
        voice: Voice,
        progress: Callable[[str], None],
    ) -> None:
        raise NotImplementedError

    async def run(self) -> BuildReport:
        raise NotImplementedError

    def status(self) -> dict[str, Any]:
        """Return running, done, total, lines, summary and failed, for a progress view."""
        raise NotImplementedError
