"""The last version of the stop files that loaded cleanly, to serve when they break.

A hand edit that breaks the stop files must not take the visitor pages down at the
next start. Each time the files load without problems (at start-up, at each reload or
publish), their texts are kept in one file beside the staff database; a start that
finds problems serves that version instead, and the dashboard names the problems.
One file, not the newest revisions of the history: it is exactly a set that loaded
together, and it exists even where nobody has used the studio yet.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from tour.catalog import Problem, check_tour
from tour.core.files import write_if_changed
from tour.core.model import Tour

log = logging.getLogger(__name__)


def last_good_path(db_path: Path) -> Path:
    """Where the last good stop files are kept: beside the staff database."""
    return db_path.with_name(f"{db_path.name}.last-good.json")


def read_tour_files(stops_dir: Path) -> dict[str, str]:
    """Return file name → text of the TOML files in the stops folder (not retired/)."""
    texts = {}
    for path in sorted(stops_dir.glob("*.toml")):
        try:
            # Bytes decoded as they are: read_text would turn CRLF into LF, and the
            # publish path, which reads bytes, would then see a hand edit each time.
            texts[path.name] = path.read_bytes().decode("utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            continue  # removed or broken since: the check reads it from disk and says how
    return texts


def check_files(stops_dir: Path) -> tuple[Tour | None, list[Problem], dict[str, str]]:
    """Check the stop files as read once, so a clean result is exactly the texts returned."""
    texts = read_tour_files(stops_dir)
    tour, problems = check_tour(stops_dir, texts)
    return tour, problems, texts


def keep_last_good(path: Path, stops_dir: Path, texts: dict[str, str]) -> None:
    """Keep `texts` (a set that loaded cleanly) atomically; a refusing disk only logs.

    The stops folder is kept with them: a database shared by a test copy of the tour
    must never serve one folder's stops for another's.
    """
    kept = {"stops": str(stops_dir.resolve()), "files": texts}
    data = json.dumps(kept, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8")
    try:
        # The service's alone: what it holds is served to visitors when a start goes wrong.
        write_if_changed(path, data, mode=0o600)
        path.chmod(0o600)  # also a file kept unchanged since an older, laxer version
    except OSError as error:
        log.warning("the last good stop files cannot be kept in %s: %s", path, error)


def load_last_good(stops_dir: Path, path: Path) -> Tour | None:
    """Load the tour from the kept texts (files not in them count as gone); None if none."""
    try:
        kept = json.loads(path.read_bytes().decode("utf-8"))
        folder, texts = kept["stops"], kept["files"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.error("the last good stop files in %s cannot be read: %s", path, error)
        return None
    if folder != str(stops_dir.resolve()):
        return None  # kept for another stops folder
    if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
        log.error("the last good stop files in %s are not a set of files", path)
        return None
    extra = {p.name for p in stops_dir.glob("*.toml")} - set(texts)
    tour, problems = check_tour(stops_dir, texts, removed=extra)
    if tour is None:
        log.error("the last good stop files in %s do not load either: %s", path, problems[0])
    return tour
