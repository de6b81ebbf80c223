"""Find the line each key of a TOML file is written on, for problems that name it."""

from __future__ import annotations

import re

# Possessive throughout: a line of "[" and spaces is read once, not once per split.
_TABLE_HEADER = re.compile(r"^\s*+\[\[?+(?P<key>[^\]]*+)\]\]?+\s*+(?:#.*)?$")
# Possessive: a key part never gives back characters, so a long line is read once.
_KEY_LINE = re.compile(
    r"^\s*+(?P<key>(?:\"[^\"]*+\"|'[^']*+'|[A-Za-z0-9_-]++)(?:\s*+\.\s*+(?:\"[^\"]*+\"|'[^']*+'|[A-Za-z0-9_-]++))*+)\s*+=\s*(?P<value>.*)$"
)
_KEY_PART = re.compile(r"\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_-]+)")
_STRING_ITEM = re.compile(r"\"([^\"]*)\"|'([^']*)'")


def _split_key(dotted: str) -> tuple[str, ...]:
    return tuple(
        next(part for part in match.groups() if part is not None)
        for match in _KEY_PART.finditer(dotted)
    )


class SourceLines:
    """Map TOML key paths to the lines they are written on.

    tomllib gives no positions, so this scans the text: table headers, `key =`
    lines, and the string items of multi-line arrays. Lines inside multi-line
    strings are skipped, so narration text can never look like a key.
    """

    def __init__(self, text: str) -> None:
        self._keys: dict[tuple[str, ...], int] = {}
        self._items: dict[tuple[tuple[str, ...], str], list[int]] = {}
        self._tables: dict[tuple[str, ...], list[int]] = {}
        self._entries: dict[tuple[tuple[str, ...], int, tuple[str, ...]], int] = {}
        table: tuple[str, ...] = ()
        # The [[array]] table being read, and which of its tables it is (0-based).
        entry: tuple[tuple[str, ...], int] | None = None
        string_end: str | None = None
        array_key: tuple[str, ...] | None = None
        array_depth = 0
        # TOML's own line end only: str.splitlines() also splits at U+2028 and others,
        # which a text may hold inside one string.
        for number, line in enumerate(text.split("\n"), start=1):
            if string_end is not None:
                if string_end in line:
                    string_end = None
                continue
            if array_key is not None:
                self._note_items(array_key, line, number)
                array_depth += _bracket_balance(line)
                if array_depth <= 0:
                    array_key = None
                continue
            header = _TABLE_HEADER.match(line)
            if header and header["key"].strip():
                table = _split_key(header["key"])
                self._keys.setdefault(table, number)
                self._tables.setdefault(table, []).append(number)
                if line.lstrip().startswith("[["):
                    entry = (table, len(self._tables[table]) - 1)
                elif entry is not None and table[: len(entry[0])] != entry[0]:
                    entry = None  # a [sub.table] of the entry, such as [photos.alt], stays in it
                continue
            key_line = _KEY_LINE.match(line)
            if not key_line:
                continue
            path = table + _split_key(key_line["key"])
            self._keys.setdefault(path, number)
            if entry is not None:
                array, index = entry
                key = path[len(array) :]
                # `alt.id = ...` also places `alt`: a missing alt.en is reported beside it.
                for end in range(1, len(key) + 1):
                    self._entries.setdefault((array, index, key[:end]), number)
            value = key_line["value"].strip()
            for quote in ('"""', "'''"):
                if value.startswith(quote) and value.count(quote) == 1:
                    string_end = quote
            if value.startswith("["):
                self._note_items(path, value, number)
                depth = _bracket_balance(value)
                if depth > 0:
                    array_key, array_depth = path, depth

    def _note_items(self, path: tuple[str, ...], line: str, number: int) -> None:
        for match in _STRING_ITEM.finditer(line):
            item = match[1] if match[1] is not None else match[2]
            self._items.setdefault((path, item), []).append(number)

    def line(self, *path: str) -> int:
        """Return the line of `path`, else of its nearest written parent, else 1."""
        for end in range(len(path), 0, -1):
            found = self._keys.get(path[:end])
            if found is not None:
                return found
        return 1

    def table_lines(self, path: tuple[str, ...]) -> list[int]:
        """Return the header line of each [[path]] table, in order."""
        return self._tables.get(path, [])

    def entry_line(self, array: tuple[str, ...], index: int, *key: str) -> int:
        """Return the line of `key` in the `index`-th (0-based) [[array]] table.

        Falls back to the nearest written parent of `key` in that table, then to the
        table's header, so a missing key is reported where its table starts.
        """
        for end in range(len(key), 0, -1):
            found = self._entries.get((array, index, key[:end]))
            if found is not None:
                return found
        headers = self.table_lines(array)
        return headers[index] if index < len(headers) else self.line(*array)

    def item_line(self, path: tuple[str, ...], item: str, occurrence: int = 0) -> int:
        """Return the line of the string `item` (its nth occurrence) in the array at `path`."""
        found = self._items.get((path, item), [])
        return found[occurrence] if occurrence < len(found) else self.line(*path)


def _bracket_balance(text: str) -> int:
    text = _STRING_ITEM.sub("", text.split("#", 1)[0])
    return text.count("[") - text.count("]")
