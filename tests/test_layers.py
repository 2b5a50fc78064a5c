"""Imports point down the layers of DESIGN.md: nothing below knows a front door exists."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "lcw_emulator"

# DESIGN.md's layers, lowest first. A module may import its own layer and those below.
LAYERS: list[set[str]] = [
    {"clock", "errors", "events", "files"},
    {"auth", "context"},
    {"workstream"},
    {"session", "key_source"},
    {"service"},
    {"providers", "token_providers", "http_token_provider"},
    {"sdk", "widget"},
    {"org"},
    {
        "emulator",
        "scenario",
        "scenario_runner",
        "report",
        "pytest_plugin",
        "browser",
        "commands",
        "cli",
        "__init__",
        "__main__",
    },
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def concept(module: Path) -> str:
    """The layer name of a module: its top-level name inside the package."""
    return module.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported_concepts(module: Path) -> set[str]:
    depth_of_module = len(module.relative_to(PACKAGE).parts) - 1
    return concepts_imported_by(module.read_text(encoding="utf-8"), depth_of_module)


def concepts_imported_by(source: str, depth_of_module: int) -> set[str]:
    """The package's concepts a module at ``depth_of_module`` (0: top level) imports."""
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            if node.level - 1 < depth_of_module:
                continue  # relative to its own subpackage (browser/, commands/)
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lcw_emulator"):
            parts = (node.module or "").split(".")
            found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.Import):  # import lcw_emulator.widget
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "lcw_emulator":
                    found.add(parts[1] if len(parts) > 1 else "__init__")
    return found


def test_every_import_form_is_seen() -> None:
    # A check that missed one form would pass an upward import written in it.
    source = (
        "import lcw_emulator.widget\nimport lcw_emulator\nfrom lcw_emulator.org import x\n"
        "from lcw_emulator import y\nfrom . import sdk\nfrom .service import z\n"
    )
    assert concepts_imported_by(source, 0) == {"widget", "__init__", "org", "sdk", "service"}


def test_every_module_has_a_layer() -> None:
    concepts = {concept(path) for path in PACKAGE.rglob("*.py")}
    assert concepts - set(RANK) == set(), "add new modules to LAYERS (and DESIGN.md)"


def test_imports_point_down_only() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        mine = concept(path)
        for other in imported_concepts(path):
            if other in RANK and RANK[other] > RANK[mine]:
                upward.append(f"{path.relative_to(PACKAGE)} imports {other}")
    assert upward == []
