"""The floor plan stays true: imports in ``seeding/`` point only down, and no circle spans more than two files.

Every ``import`` in every module counts, wherever it is: at the top, inside a function (a lazy
import is still a dependency) and under ``if TYPE_CHECKING:`` (a type is knowledge of a layer).
A layer may import its own modules and any layer ranked below it, never one of the same rank
(``plan``, ``dumps`` and ``gateway`` are siblings) nor one above.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "seeding"

# (rank, layer, the modules it holds: a package, or one module directly in seeding/).
LAYERS = [
    (0, "exceptions", ["seeding._exceptions"]),
    (0, "version", ["seeding._version"]),
    (-1, "lazy face", ["seeding._lazy"]),  # how each package's public names load on first use
    (0, "contract", ["seeding.contract"]),
    (1, "command", ["seeding.command"]),  # what every command shares: one-line errors, exit codes, gc, child processes
    (1, "files", ["seeding.files"]),  # files read by path, checked regular first
    (1, "serving", ["seeding.serving"]),  # what the stand and the service share as HTTP servers
    (2, "plan", ["seeding.plan"]),
    (2, "dumps", ["seeding.dumps"]),
    (2, "gateway", ["seeding.gateway"]),
    (3, "engine", ["seeding.engine", "seeding._settings"]),  # the settings are the engine's defaults
    (4, "stand", ["seeding.stand"]),
    (4, "service", ["seeding.service"]),
    (5, "locust", ["seeding.locust"]),
    (6, "course", ["seeding.course"]),
    (7, "cli", ["seeding.cli"]),
    (8, "public face", ["seeding", "seeding.__main__"]),
]

MAX_DIRECT_MODULES = 6  # the public face, __main__, exceptions, settings, version, the lazy face's helper


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> tuple[int, str]:
    best: tuple[int, str, int] | None = None
    for rank, name, members in LAYERS:
        for member in members:
            if (module == member or module.startswith(member + ".")) and (best is None or len(member) > best[2]):
                best = (rank, name, len(member))
    assert best is not None, f"{module}: in no layer of tests/test_layers.py (add its package to LAYERS)"
    return best[0], best[1]


def _existing(name: str) -> str | None:
    """The module ``name`` is, or is inside of (``seeding.gateway.connect`` → ``seeding.gateway``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> Iterator[tuple[str, int]]:
    """Each ``seeding`` module that ``module`` imports, with the line (a package: its ``__init__``)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            names = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source for alias in node.names
            ]
        else:
            continue
        for name in names:
            if name == "seeding" or name.startswith("seeding."):
                target = _existing(name)
                if target is not None and target != module:
                    yield target, node.lineno


GRAPH = {module: sorted({target for target, _ in imports(module)}) for module in MODULES}


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        _layer(module)


def test_imports_point_down() -> None:
    upward: list[str] = []
    for module in MODULES:
        rank, layer = _layer(module)
        for target, line in imports(module):
            target_rank, target_layer = _layer(target)
            if target_layer != layer and target_rank >= rank:
                where = "beside" if target_rank == rank else "above"
                upward += (
                    []
                    if upward and upward[-1].startswith(f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}:")
                    else [f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}: {layer} imports {target} ({where})"]
                )
    assert not upward, "imports that do not point down:\n" + "\n".join(upward)


def _circles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` (Tarjan), each with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, []):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_of_more_than_two_files() -> None:
    large = [circle for circle in _circles(GRAPH) if len(circle) > 2]
    assert not large, "import circles of more than two files:\n" + "\n".join(" ↔ ".join(c) for c in large)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": ["b"], "b": ["a"]}, [["a", "b"]]),
        ({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}, [["a", "b", "c"]]),
        ({"a": ["b"], "b": ["c"], "c": []}, []),
    ],
)
def test_circles_are_found(graph: dict[str, list[str]], expected: list[list[str]]) -> None:
    """The circle finder itself: a check that cannot fail would prove nothing."""
    assert _circles(graph) == expected


def test_the_package_root_holds_few_modules() -> None:
    direct = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(direct) <= MAX_DIRECT_MODULES, f"seeding/ holds {len(direct)} modules directly: {direct}"
