"""Every regular expression in tour/ runs in time linear in its input, whatever is typed.

The patterns are found, not listed: compiled patterns at module level (by importing every
module of the package) and literal patterns passed to `re.*` calls (by reading the source
with `ast`). A new regex is covered without editing this test. Each is run on inputs of
about a megabyte built from a short piece repeated, the shape that makes a backtracking
pattern take time in the square of the length; no call may take over 50 ms.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tour

SOURCE = Path(tour.__file__).parent
INPUT_CHARS = 1_000_000
MOST_S = 0.05
SHORT_CHARS = 4_000
SHORT_MOST_S = 0.005
ATTEMPTS = 5
CALLS = ("compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer")
# Characters that regexes here treat specially, and text staff type: the pieces repeated.
ALPHABET = (
    " \t\n\r[]()'\"\\.,;:=#-_/+*?!<>{}aZx0159éU" + "…。！？（）《》「」“”’" + "\x00\x7f\u00a0"
)


def compiled_patterns() -> dict[str, re.Pattern[str] | re.Pattern[bytes]]:
    """Module-level compiled patterns of every module under tour/, by module:name."""
    found: dict[str, re.Pattern[str] | re.Pattern[bytes]] = {}
    for module_info in pkgutil.walk_packages(tour.__path__, "tour."):
        if module_info.name.endswith(".__main__"):
            continue  # running it is the command line itself
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            for where, pattern in _patterns_in(value, name):
                found.setdefault(f"{module_info.name}:{where}", pattern)
    return found


def _patterns_in(
    value: object, where: str, depth: int = 0
) -> list[tuple[str, re.Pattern[str] | re.Pattern[bytes]]]:
    """A pattern, or the patterns held in a table of them (a tuple of (pattern, template))."""
    if isinstance(value, re.Pattern):
        return [(where, value)]
    if depth >= 3:
        return []
    items: list[tuple[object, object]] = []
    if isinstance(value, tuple | list):
        items = list(enumerate(value))
    elif isinstance(value, dict):
        items = list(value.items())
    found = []
    for key, item in items:
        found.extend(_patterns_in(item, f"{where}[{key!r}]", depth + 1))
    return found


def _flags(node: ast.expr) -> int:
    """The value of a flags argument written as re.X | re.Y."""
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "re"
    ):
        flag: int = getattr(re, node.attr)
        return flag
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _flags(node.left) | _flags(node.right)
    raise ValueError(ast.dump(node))


def inline_patterns() -> dict[str, re.Pattern[str] | re.Pattern[bytes]]:
    """Literal patterns passed to re.* calls anywhere in tour/, by file:line."""
    found: dict[str, re.Pattern[str] | re.Pattern[bytes]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.func.attr in CALLS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str | bytes)
            ):
                continue
            flags = 0
            for keyword in node.keywords:
                if keyword.arg == "flags":
                    flags = _flags(keyword.value)
            if node.func.attr == "compile" and len(node.args) > 1:
                flags = _flags(node.args[1])
            where = f"{path.relative_to(SOURCE.parent)}:{node.lineno}"
            found[where] = re.compile(node.args[0].value, flags)
    return found


def all_patterns() -> dict[str, re.Pattern[str] | re.Pattern[bytes]]:
    """Every pattern once: an inline literal that is also a module's compiled pattern is
    the same regex, run once."""
    found = compiled_patterns()
    seen = {(pattern.pattern, pattern.flags) for pattern in found.values()}
    for where, pattern in inline_patterns().items():
        if (pattern.pattern, pattern.flags) not in seen:
            seen.add((pattern.pattern, pattern.flags))
            found[where] = pattern
    return found


PATTERNS = all_patterns()


def test_the_patterns_are_found() -> None:
    names = set(PATTERNS)
    # One of each kind: compiled at module level, and a literal passed to an re call.
    assert "tour.catalog.lines:_TABLE_HEADER" in names
    assert "tour.staff.editing:STOP_ID" in names
    assert any(name.startswith("tour/staff/editing.py:") for name in names)
    assert len(names) >= 25


def as_input(pattern: re.Pattern[str] | re.Pattern[bytes], text: str) -> str | bytes:
    return text.encode("utf-8", "surrogatepass") if isinstance(pattern.pattern, bytes) else text


def timed(operation: Callable[[Any], object], subject: str | bytes, most: float) -> float:
    """Seconds one call takes: the best of up to five when the first is over `most`.

    The machine is shared: a pause of the whole process is not the pattern's time, and a
    pattern slow in the square of the length is slow every time.
    """
    best = float("inf")
    for _ in range(ATTEMPTS):
        started = time.perf_counter()
        operation(subject)
        best = min(best, time.perf_counter() - started)
        if best <= most:
            break
    return best


@pytest.mark.parametrize("name", sorted(PATTERNS))
@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    piece=st.text(alphabet=ALPHABET, min_size=1, max_size=6),
    prefix=st.text(alphabet=ALPHABET, max_size=4),
    suffix=st.text(alphabet=ALPHABET, max_size=4),
)
def test_no_pattern_takes_long_on_a_megabyte(
    name: str, piece: str, prefix: str, suffix: str
) -> None:
    pattern = PATTERNS[name]
    # A short input first: a pattern slow in the square of the length fails there in a
    # fraction of a second, instead of running for hours on the megabyte.
    for size, most in ((SHORT_CHARS, SHORT_MOST_S), (INPUT_CHARS, MOST_S)):
        text = prefix + piece * (size // len(piece)) + suffix
        subject = as_input(pattern, text)
        for operation in (pattern.search, pattern.match, pattern.fullmatch):
            took = timed(operation, subject, most)
            assert took <= most, (
                f"{name} {operation.__name__}: {took:.3f} s on {len(text)} characters of {piece!r}"
            )


SWEEP = [a + b for a in ALPHABET for b in ("", " ", "a", "1", ".", "。")]
"""Every character alone and beside a space, letter, digit or stop: the runs that make a
backtracking pattern quadratic, tried on every pattern whatever the random examples were."""


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_no_pattern_is_quadratic_on_a_run_of_any_character(name: str) -> None:
    pattern = PATTERNS[name]
    assert SWEEP
    for piece in SWEEP:
        subject = as_input(pattern, piece * (SHORT_CHARS // len(piece)))
        for operation in (pattern.search, pattern.match, pattern.fullmatch):
            took = timed(operation, subject, SHORT_MOST_S)
            assert took <= SHORT_MOST_S, f"{name} {operation.__name__}: {took:.4f} s on {piece!r}"


PAIRS = [(first, run) for first in ALPHABET for run in ALPHABET]
"""One character, then a run of another: "[" then spaces made a header pattern cubic."""


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_no_pattern_is_slow_on_a_run_after_any_character(name: str) -> None:
    pattern = PATTERNS[name]
    assert PAIRS
    for first, run in PAIRS:
        subject = as_input(pattern, first + run * SHORT_CHARS + "x")
        took = timed(pattern.match, subject, SHORT_MOST_S)
        assert took <= SHORT_MOST_S, f"{name} match: {took:.4f} s on {first!r} + {run!r} run"
