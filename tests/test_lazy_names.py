"""Each package's public face is one table (``seeding._lazy.LazyNames``), and what editors see agrees with it.

The table says which module defines each public name; ``__init__`` imports some of them at once
and names the rest under ``if TYPE_CHECKING:`` for type checkers and go-to-definition, each
written ``X as X`` (an explicit re-export, as ``mypy --strict`` wants). This test
holds the two to each other, resolves every name, and checks that importing a package has no
side effect on another (``import seeding`` inside a Locust process no longer imports
``seeding.locust``).
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seeding._lazy import LazyNames

PROJECT = Path(__file__).resolve().parent.parent
PACKAGES = ["seeding", "seeding.gateway", "seeding.contract", "seeding.locust", "seeding.cli", "seeding.serving"]
NEEDS_LOCUST_PROCESS = {"seeding.locust._feeder", "seeding.locust._course"}  # gevent's patching: not in pytest


def _absolute(module: str, package: str) -> str:
    if not module.startswith("."):
        return module
    level = len(module) - len(module.lstrip("."))
    base = package.split(".")[: len(package.split(".")) - (level - 1)]
    rest = module[level:]
    return ".".join(base + ([rest] if rest else []))


def _visible(package: str) -> dict[str, str]:
    """What the package's ``__init__`` re-exports (``X as X``, eager or under TYPE_CHECKING) or defines."""
    path = Path(importlib.util.find_spec(package).origin)  # type: ignore[union-attr, arg-type]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            source = _absolute("." * node.level + (node.module or ""), package)
            names.update({alias.name: source for alias in node.names if alias.asname == alias.name})
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
            names[node.name] = package
    return names


def _table(package: str) -> LazyNames:
    table = importlib.import_module(package)._PUBLIC
    assert isinstance(table, LazyNames)
    return table


@pytest.mark.parametrize("package", PACKAGES)
def test_the_table_is_what_editors_see(package: str) -> None:
    table = {name: _absolute(module, package) for name, module in _table(package).modules.items()}
    assert _visible(package) == table


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_from_its_module(package: str) -> None:
    module = importlib.import_module(package)
    table = _table(package)
    assert module.__all__ == sorted(table.modules)
    for name, where in table.modules.items():
        source = _absolute(where, package)
        if source in NEEDS_LOCUST_PROCESS:
            continue
        assert getattr(module, name) is getattr(importlib.import_module(source), name), name
    assert set(module.__all__) <= set(dir(module))


def test_an_unknown_name_is_an_attribute_error() -> None:
    import seeding

    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        _ = seeding.nothing_here  # type: ignore[attr-defined]  # the point of the test


def test_a_name_under_two_modules_is_refused() -> None:
    with pytest.raises(ValueError, match="two modules"):
        LazyNames("p", {".a": ("x",), ".b": ("x",)})


def test_import_seeding_inside_locust_imports_no_locust_glue() -> None:
    """``import seeding`` has no side effect: a scenario class joins Locust when it is defined, not the import."""
    code = (
        "import sys, locust, seeding; print('seeding.locust' in sys.modules); "
        "from seeding import SeedsScenario\n"
        "class S(SeedsScenario):\n    plan = None\n    scenario = 's'\n"
        "print('seeding.locust._course' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        cwd=PROJECT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
