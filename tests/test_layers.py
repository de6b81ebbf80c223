"""The shape of the code: imports run one way, and no module grows past about 400 lines.

model ← catalog ← builders (narration, qr, plaques) ← render ← web, export ← cli.
A module may import its own package and any lower layer, never a higher one or a
neighbour on its own layer, so each layer can be used, and tested, without the ones above.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tour"
LAYERS = {
    # Plain building blocks that know nothing of a tour's files or of HTTP.
    "tour": 0,
    "errors": 0,
    "languages": 0,
    "files": 0,
    "builds": 0,
    "paths": 0,
    "urls": 0,
    "sentences": 0,
    "captions": 0,
    "model": 1,
    # Reading what is on disk, and the services builders use.
    "catalog": 2,
    "settings": 2,
    "speech": 2,
    "spoken": 2,
    "store": 2,
    # Builders: narration, QR codes, plaques, scan figures.
    "audio_manifest": 3,
    "synthesis": 3,
    "narration": 4,
    "photos": 3,
    "qr": 3,
    "plaque_fonts": 3,
    "stats": 3,
    "plaques": 4,
    "render": 5,
    # The staff studio's library: accounts, sessions, drafts, revisions, the walk.
    "staff": 5,
    "web": 6,
    "export": 6,
    "cli": 7,
    "__main__": 8,
}
HTTP_LAYERS = frozenset({"web", "cli"})
"""The only parts of the tour that may import aiohttp."""
LINE_LIMIT = 400


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def group(module: str) -> str:
    """The layer a module belongs to: `tour.web.site` → `web`, `tour` → `tour`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports(module: str, path: Path) -> Iterator[str]:
    """Every module `path` imports, at the top or inside a function."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                yield ".".join([*base, node.module] if node.module else base)
            else:
                yield node.module or ""


MODULES = dict(modules())


def test_every_module_has_a_layer() -> None:
    assert {group(module) for module in MODULES} <= set(LAYERS), "add the module to LAYERS"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_one_way(module: str) -> None:
    own = group(module)
    wrong = []
    for imported in imports(module, MODULES[module]):
        top = imported.split(".")[0]
        if top == "aiohttp" and own not in HTTP_LAYERS:
            wrong.append(f"{imported} (HTTP belongs to tour.web)")
        if top != "tour":
            continue
        other = group(imported)
        if other != own and LAYERS[other] >= LAYERS[own]:
            wrong.append(f"{imported} (layer {LAYERS[other]}, not below {LAYERS[own]})")
    assert wrong == [], f"{module} imports {', '.join(wrong)}"


def test_the_layers_the_design_names() -> None:
    """Spelled out, so a change to LAYERS cannot quietly allow them."""
    below = [
        ("model", "catalog"),
        ("catalog", "narration"),
        ("catalog", "qr"),
        ("qr", "plaques"),
        ("narration", "render"),
        ("render", "web"),
        ("render", "export"),
        ("web", "cli"),
    ]
    for lower, higher in below:
        assert LAYERS[lower] < LAYERS[higher], (lower, higher)
    assert LAYERS["settings"] == LAYERS["catalog"]  # so neither may import the other
    assert LAYERS["export"] == LAYERS["web"]  # an export needs no web application


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_too_long(module: str) -> None:
    lines = len(MODULES[module].read_text("utf-8").splitlines())
    assert lines <= LINE_LIMIT, f"{module} has {lines} lines"
