"""The tour's checks in the staff's own language.

`tour check` and the catalog speak English, one line per problem, for whoever runs the
command. Each problem carries a message code and its values (tour.catalog.messages),
so the studio says it again in Indonesian by filling the Indonesian template of the
same code (`checks.toml`) with the same values. Nothing is read back out of English
text: the values were capped when the message was built, and filling a template takes
time in proportion to its length, whatever anyone typed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

from tour.catalog import Problem
from tour.catalog.messages import Message

CHECKS_FILE = Path(__file__).with_name("checks.toml")

Said = str | Message | Problem
"""What a staff page may list as a problem: a check's message, a problem at its place
in a file, or a line already written in the staff language."""


@cache
def translations() -> Mapping[str, Mapping[str, Mapping[str, Mapping[str, str]]]]:
    """Per staff language other than English: `codes` (code → template) and `values`
    (placeholder → English word → the word in that language)."""
    data = tomllib.loads(CHECKS_FILE.read_text("utf-8"))
    return {
        lang: {"codes": table.get("codes", {}), "values": table.get("values", {})}
        for lang, table in data.items()
    }


def templates(lang: str) -> Mapping[str, str]:
    """The message templates of staff language `lang`, by code (empty for English)."""
    table = translations().get(lang, {})
    codes: Mapping[str, str] = table.get("codes", {})  # type: ignore[assignment]
    return codes


def render(message: Message, lang: str) -> str:
    """Say `message` in the staff language `lang`; English, or a code with no template,
    is the catalog's own wording."""
    table = translations().get(lang)
    template = templates(lang).get(message.code) if table else None
    if table is None or template is None:
        return str(message)
    words: Mapping[str, Mapping[str, str]] = table["values"]
    values = {
        name: render(value, lang)
        if isinstance(value, Message)
        else words.get(name, {}).get(value, value)
        for name, value in message.values
    }
    return template.format_map(values)


def say(item: object, lang: str) -> str:
    """A message, a problem or a line, as a staff page shows it in `lang`."""
    if isinstance(item, Message):
        return render(item, lang)
    if isinstance(item, Problem):
        # The path is the server's own and the field was capped: only the message is said.
        return f"{item.path}:{item.line}: {item.field}: {render(item.message, lang)}"
    return str(item)


def problems_in_language(
    problems: Mapping[str, Sequence[object]], lang: str
) -> dict[str, list[str]]:
    """Say every problem of a form, field by field, in the staff language `lang`."""
    return {
        field: [say(message, lang) for message in messages] for field, messages in problems.items()
    }
