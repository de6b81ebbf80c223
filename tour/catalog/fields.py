"""Reading one TOML file of a tour: its problems, and typed fields with a fix for each."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tour.catalog.lines import SourceLines
from tour.catalog.messages import Message, cap
from tour.core.errors import TourError
from tour.core.languages import is_known_language


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a stop file, located as precisely as the file allows."""

    path: str
    line: int
    field: str
    message: Message

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class CatalogError(TourError):
    """The tour could not be loaded; `problems` says every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def display_path(path: Path) -> str:
    """Show a path relative to the working folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class FileReport:
    """Collects the problems of one file, with the lines of its keys."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = display_path(path)
        self.lines = SourceLines("")
        self._problems = problems
        self.count = 0

    def add(self, field: tuple[str, ...] | str, message: Message, line: int | None = None) -> None:
        parts = (field,) if isinstance(field, str) else field
        if line is None:
            line = self.lines.line(*parts)
        # A key is named as written, and a hand-written key can be any length: capped too.
        self._problems.append(Problem(self.path, line, cap(".".join(parts)), message))
        self.count += 1


# Starting only after a non-space keeps a search linear on a long run of spaces.
_TOML_POSITION = re.compile(r"(?<!\s)\s*+\(at line (\d+), column (\d+)\)\s*$")
_TOML_AT_END = "(at end of document)"
# tomllib's wording for the slips staff make most, put in plain words.
_TOML_HINTS = {
    "Illegal character '\\n'": Message.of("toml_unclosed_string"),
    "Invalid value": Message.of("toml_invalid_value"),
}


def read_toml(path: Path, report: FileReport, override: str | None = None) -> dict[str, Any] | None:
    """Parse one TOML file (or `override`, read instead of it); on failure record one problem."""
    try:
        raw = path.read_bytes() if override is None else override.encode("utf-8")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        report.add("file", Message.of("file_unreadable", reason=reason), 1)
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        report.add(
            "file",
            Message.of("not_utf8", byte=f"{raw[error.start]:02x}"),
            line,
        )
        return None
    report.lines = SourceLines(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        line = text.count("\n") + 1
        position = _TOML_POSITION.search(message)
        if position:
            line = int(position[1])
            message = message[: position.start()]
        elif message.rstrip().endswith(_TOML_AT_END):
            message = message.rstrip().removesuffix(_TOML_AT_END)
        message = message.strip().rstrip(".")
        hint = _TOML_HINTS.get(message) or Message.of("toml_syntax", reason=message)
        report.add("toml", hint, line)
        return None


def unknown_field(name: str, allowed: Iterable[str]) -> Message:
    """Say a key is unknown, with the allowed key it is closest to, or all of them."""
    # difflib is quadratic in the length: a key too long to be a typo of one is not compared.
    longest = max((len(key) for key in allowed), default=0)
    short = name if len(name) <= 2 * longest + 2 else ""
    close = difflib.get_close_matches(short, sorted(allowed), n=1, cutoff=0.6) if short else []
    # Spelled-out names such as "latitude" are far from "lat" by edit distance.
    close = close or [key for key in sorted(allowed) if name.startswith(key)][:1]
    if close:
        return Message.of("unknown_field_near", near=close[0])
    return Message.of("unknown_field", allowed=", ".join(sorted(allowed)))


def check_fields(
    table: Mapping[str, Any], allowed: Iterable[str], path: tuple[str, ...], report: FileReport
) -> None:
    allowed = frozenset(allowed)
    for key in table:
        if key not in allowed:
            report.add((*path, key), unknown_field(key, allowed))


def get_table(
    data: Mapping[str, Any], key: str, path: tuple[str, ...], report: FileReport
) -> dict[str, Any] | None:
    value = data.get(key)
    if value is None:
        report.add((*path, key), Message.of("table_missing", table=".".join((*path, key))))
        return None
    if not isinstance(value, dict):
        report.add((*path, key), Message.of("not_a_table", found=toml_type(value)))
        return None
    return value


def get_string(
    data: Mapping[str, Any], key: str, path: tuple[str, ...], report: FileReport
) -> str | None:
    value = data.get(key)
    if value is None:
        report.add((*path, key), Message.of("string_missing", key=key))
        return None
    if not isinstance(value, str):
        report.add((*path, key), Message.of("not_a_string", found=toml_type(value)))
        return None
    if not value.strip():
        report.add((*path, key), Message.of("value_empty"))
        return None
    # Line breaks stay allowed: interface words in tour.toml may be written as """ text.
    problem = characters_problem(value.strip(), None)
    if problem:
        report.add((*path, key), problem)
        return None
    return value.strip()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters; a text may hold tabs and line breaks, a one-line value neither."""


def characters_problem(value: str, one_line: str | None) -> Message | None:
    """Say what is wrong with the characters of a stripped value, None when nothing.

    `one_line` names what must be one line ("name", "title"); None allows tabs and line
    breaks. Control characters (NUL, escape ...) are invisible on a page and garble narration.
    """
    if one_line is not None and ("\n" in value or "\r" in value):
        return Message.of(f"one_line_{one_line}")
    found = (_CONTROL if one_line is not None else _TEXT_CONTROL).search(value)
    if found:
        return Message.of("control_character", char=f"U+{ord(found[0]):04X}")
    return None


def get_number(
    data: Mapping[str, Any],
    key: str,
    path: tuple[str, ...],
    report: FileReport,
    low: float,
    high: float,
) -> float | None:
    value = data.get(key)
    if value is None:
        report.add((*path, key), Message.of("number_missing", key=key))
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        report.add((*path, key), Message.of("not_a_number", found=toml_type(value)))
        return None
    if not low <= value <= high:
        report.add(
            (*path, key), Message.of("out_of_range", value=value, low=f"{low:g}", high=f"{high:g}")
        )
        return None
    return float(value)


def get_string_list(
    data: Mapping[str, Any], key: str, path: tuple[str, ...], report: FileReport
) -> list[str] | None:
    value = data.get(key)
    if value is None:
        report.add((*path, key), Message.of("list_missing", key=key))
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        report.add((*path, key), Message.of("not_a_string_list"))
        return None
    return value


def toml_type(value: object) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string"}
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return names.get(type(value), type(value).__name__)


def get_language_texts(
    data: Mapping[str, Any],
    key: str,
    report: FileReport,
    languages: tuple[str, ...],
    max_chars: int,
    required: bool = True,
    one_line: str | None = None,
) -> dict[str, str]:
    """Read a table of language code → text, checking codes, emptiness and length.

    `one_line` names what each text is when it must be one line ("name").
    """
    path = (key,)
    if key not in data and not required:
        return {}
    table = get_table(data, key, (), report)
    if table is None:
        return {}
    texts: dict[str, str] = {}
    for code, value in table.items():
        if not is_known_language(code):
            report.add((*path, code), Message.of("language_unknown", code=code))
            continue
        if not isinstance(value, str):
            report.add((*path, code), Message.of("not_a_string", found=toml_type(value)))
            continue
        if not value.strip():
            report.add((*path, code), Message.of("text_empty"))
            continue
        if len(value) > max_chars:
            report.add(
                (*path, code),
                Message.of("text_too_many_characters", n=len(value), limit=max_chars),
            )
            continue
        problem = characters_problem(value.strip(), one_line)
        if problem:
            report.add((*path, code), problem)
            continue
        texts[code] = value.strip()
    if required:
        for code in languages:
            if code not in table:
                report.add(
                    (*path, code),
                    Message.of(
                        "language_missing", lang=code, unit=key, languages=", ".join(languages)
                    ),
                )
    return texts
