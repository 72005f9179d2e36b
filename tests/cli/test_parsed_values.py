"""A command's flags travel as frozen values: nothing writes into an ``argparse.Namespace`` after parsing.

The parsed namespace is read once, where the flags meet the settings (``cli/_seed_command.py``);
a write into it (``args.x = …``, ``setattr(args, …)``) would make it the data flow again. Only
argparse's own ``Action`` classes may set attributes on a namespace: that is parsing.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from seeding.cli._seed_command import GatewayChoice, OutputOptions, RunOptions

PACKAGE = Path(__file__).resolve().parents[2] / "seeding"


def _namespace_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names in ``function`` that hold a parsed namespace: annotated ``Namespace``, or results of ``parse_args``."""
    names = set()
    arguments = function.args
    for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
        if argument.annotation is not None and "Namespace" in ast.unparse(argument.annotation):
            names.add(argument.arg)
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            called = node.value.func
            if isinstance(called, ast.Attribute) and called.attr in ("parse_args", "parse_known_args"):
                names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def namespace_writes(source: str, filename: str = "<source>") -> list[str]:
    """Each write into a namespace outside an ``argparse.Action``, as ``file:line: code``."""
    tree = ast.parse(source, filename)
    actions = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and any("Action" in ast.unparse(base) for base in node.bases)
        for inner in ast.walk(node)
    }
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) or id(function) in actions:
            continue
        names = _namespace_names(function)
        for node in ast.walk(function):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            targets = [
                part for target in targets for part in (target.elts if isinstance(target, ast.Tuple) else [target])
            ]
            written = [
                target
                for target in targets
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in names
            ]
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("setattr", "delattr")
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in names
            ):
                written.append(node.args[0])
            found += [f"{filename}:{node.lineno}: {ast.unparse(node).splitlines()[0]}" for _ in written[:1]]
    return found


def test_no_module_writes_into_a_parsed_namespace() -> None:
    writes = [
        write
        for path in sorted(PACKAGE.rglob("*.py"))
        for write in namespace_writes(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    ]
    assert not writes, "writes into an argparse.Namespace after parsing:\n" + "\n".join(writes)


@pytest.mark.parametrize(
    ("source", "writes"),
    [
        ("def f(args: argparse.Namespace):\n    args.address = 1\n", 1),
        ("def f(args: 'Namespace'):\n    setattr(args, 'x', 1)\n", 1),
        ("def f(args: argparse.Namespace):\n    args.address, args.timeout = 1, 2\n", 1),
        ("def f(p):\n    args = p.parse_args()\n    args.shard += 1\n", 1),
        ("def f(p):\n    args = p.parse_args()\n    value = args.shard\n", 0),
        (
            "class A(argparse.Action):\n    def __call__(self, parser, namespace: argparse.Namespace, v):\n"
            "        setattr(namespace, self.dest, v)\n",
            0,
        ),
        ("def f(options):\n    options.x = 1\n", 0),
    ],
)
def test_the_check_finds_writes(source: str, writes: int) -> None:
    """The check itself, on small sources: it must be able to fail."""
    assert len(namespace_writes(source)) == writes


@pytest.mark.parametrize("value_class", [GatewayChoice, RunOptions, OutputOptions])
def test_the_values_are_frozen(value_class: type) -> None:
    assert dataclasses.is_dataclass(value_class)
    assert value_class.__dataclass_params__.frozen  # type: ignore[attr-defined]  # dataclasses' own marker
