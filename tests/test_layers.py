"""The shape of the code: imports run one way, and no module grows past about 400 lines.

core ← catalog, scans ← builders (voice, photos, printing) ← render, staff ← web, export ← cli.
A module may import its own package and any lower layer, never a higher one or a
neighbour on its own layer, so each layer can be used, and tested, without the ones above.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tour"
LAYERS = {
    "tour": 0,
    # Plain building blocks that know nothing of stop files, builders or HTTP.
    "core": 1,
    # Reading what is on disk, and counting scans.
    "catalog": 2,
    "scans": 2,
    # Builders: narration, photos, QR codes and plaques.
    "voice": 3,
    "photos": 3,
    "printing": 3,
    "render": 4,
    # The staff studio's library: accounts, sessions, drafts, revisions, the walk.
    "staff": 4,
    "web": 5,
    "export": 5,
    "cli": 6,
    "__main__": 7,
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
    """The layer a module belongs to: `tour.web.live_site` → `web`, `tour` → `tour`."""
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
        ("core", "catalog"),
        ("catalog", "voice"),
        ("catalog", "printing"),
        ("catalog", "photos"),
        ("scans", "staff"),
        ("voice", "render"),
        ("render", "web"),
        ("render", "export"),
        ("web", "cli"),
    ]
    for lower, higher in below:
        assert LAYERS[lower] < LAYERS[higher], (lower, higher)
    assert LAYERS["export"] == LAYERS["web"]  # an export needs no web application


FUNCTION_LINE_LIMIT = 60
ARGPARSE_SET_UP = {("tour.cli", "build_parser")}
"""A list of options reads best in one piece, however long."""


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_function_is_too_long(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text("utf-8"))
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > FUNCTION_LINE_LIMIT
        and (module, node.name) not in ARGPARSE_SET_UP
    ]
    assert long == [], f"{module}: {', '.join(long)}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_too_long(module: str) -> None:
    lines = len(MODULES[module].read_text("utf-8").splitlines())
    assert lines <= LINE_LIMIT, f"{module} has {lines} lines"


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the `tour` package in `project`, with its pyproject's contracts."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


APART = "the visitor side and the studio import nothing of each other"


def test_the_import_contracts_hold() -> None:
    result = lint_imports(PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "added", "contract", "line"),
    [
        ("core/model.py", "tour.voice.narration", "the model imports no builder", "core.model"),
        (
            "voice/captions.py",
            "tour.render.pages",
            "imports run one way, down the layers",
            "voice.captions",
        ),
        ("render/links.py", "aiohttp", "no HTTP below tour.web", "render.links"),
        ("export.py", "tour.web.keys", "no HTTP below tour.web", "export"),
        ("web/studio/dashboard.py", "tour.web.visitor.views", APART, "web.studio.dashboard"),
        ("web/visitor/views.py", "tour.web.studio.auth", APART, "web.visitor.views"),
    ],
)
def test_a_contract_broken_on_purpose_fails(
    tmp_path: Path, module: str, added: str, contract: str, line: str
) -> None:
    shutil.copytree(PACKAGE, tmp_path / "tour", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PACKAGE.parent / "pyproject.toml", tmp_path)
    broken = tmp_path / "tour" / module
    broken.write_text(f"import {added}\n" + broken.read_text("utf-8"), "utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract} BROKEN" in result.stdout
    assert f"tour.{line} -> {added} (l.1)" in result.stdout.split("Broken contracts")[1]
