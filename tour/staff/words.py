"""The staff interface's words, in data: `tour/staff/words/*.toml`, one table per language.

Each file holds an `[id]` and an `[en]` table with the same keys; the files are merged
into one mapping per language. A key defined in two files is refused, so no page can
quietly get the other file's word.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path

STAFF_LANGUAGES = ("id", "en")
DEFAULT_STAFF_LANGUAGE = "id"
WORDS_DIR = Path(__file__).with_name("words")


def word_files(folder: Path = WORDS_DIR) -> list[Path]:
    return sorted(folder.glob("*.toml"))


def load_words(files: list[Path]) -> dict[str, dict[str, str]]:
    """Merge the words files; raise ValueError naming the file and key of any mismatch."""
    merged: dict[str, dict[str, str]] = {lang: {} for lang in STAFF_LANGUAGES}
    owner: dict[str, Path] = {}
    for path in files:
        data = tomllib.loads(path.read_text("utf-8"))
        tables = {lang: data.get(lang, {}) for lang in STAFF_LANGUAGES}
        keys = set(tables[DEFAULT_STAFF_LANGUAGE])
        for lang, table in tables.items():
            if set(table) != keys:
                missing = sorted(keys ^ set(table))
                raise ValueError(f"{path.name}: [{lang}] differs in keys {', '.join(missing)}")
        for key in keys:
            if key in owner:
                raise ValueError(f"{path.name}: '{key}' is defined in {owner[key].name} too")
            owner[key] = path
        for lang, table in tables.items():
            merged[lang].update({key: str(value) for key, value in table.items()})
    return merged


@cache
def staff_words() -> Mapping[str, Mapping[str, str]]:
    """Every staff word by language, then key: `staff_words()["id"]["login_title"]`."""
    return load_words(word_files())


def staff_language(choice: str | None) -> str:
    """The staff language for `choice`; anything not offered falls back to Indonesian."""
    return choice if choice in STAFF_LANGUAGES else DEFAULT_STAFF_LANGUAGE
