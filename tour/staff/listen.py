"""Listen to a draft: its narration built into media/drafts, never served to visitors.

Staff hear a mispronounced name before it goes live, fix it with `spoken` text or a
`[pronounce]` rule, and listen again. The drafts folder has its own manifest, so a
draft never replaces the live narration.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tour.core.builds import BuildReport
from tour.core.errors import TourError
from tour.core.model import Tour
from tour.voice.narration import NarrationBuilder
from tour.voice.speech import Voice
from tour.voice.synthesis import RetryPolicy

DRAFTS_FOLDER = "drafts"
LISTEN_RETRY = RetryPolicy(attempts=2, base_delay_s=1.0, max_delay_s=2.0)
"""Someone is waiting at the form: retry a passing failure once, then say so."""

log = logging.getLogger(__name__)


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
        self.stop_id = stop_id
        self.languages = tuple(languages)
        self.lines: list[str] = []
        self.running = False
        self.finished = False
        self._progress = progress
        self._builder = NarrationBuilder(
            tour, drafts_media_dir(media_dir), voice, retry=LISTEN_RETRY, progress=self._note
        )
        self.report = self._builder.report

    def _note(self, line: str) -> None:
        self.lines.append(line)
        self._progress(line)

    async def run(self) -> BuildReport:
        """Build the draft's narration, always anew; a failure is reported, never raised."""
        self.running = True
        try:
            # Forced: the draft's text may equal a build from an earlier listen, but staff
            # who press "listen" after changing a rule expect to hear it said again.
            self.report = await self._builder.build([self.stop_id], self.languages, force=True)
        except TourError as error:
            self.report = self._failed(str(error))
        except Exception as error:  # a fault of ours: logged in full, one line for staff
            log.exception("listening to the draft of %s failed", self.stop_id)
            self.report = self._failed(f"the narration could not be built ({error})")
        finally:
            self.running = False
            self.finished = True
        self._note(self.report.summary())
        return self.report

    def _failed(self, reason: str) -> BuildReport:
        report = self._builder.report
        report.failed.append((f"{self.stop_id} [{', '.join(self.languages)}]", reason))
        return report

    def status(self) -> dict[str, Any]:
        """Return running, done, total, lines, summary and failed, for a progress view."""
        report = self._builder.report if self.running else self.report
        total = self._builder.pending_count if self.running else len(self.languages)
        return {
            "running": self.running,
            "done": len(report.built) + len(report.failed),
            "total": total or len(self.languages),
            "lines": list(self.lines),
            "summary": report.summary() if self.finished else "",
            "failed": [f"{item}: {reason}" for item, reason in report.failed],
        }
