"""Every ``# type: ignore`` in ``seeding/`` names its error code and says why on the same line.

``mypy --strict`` checks the package in CI. An ignore hides one error from it, so it must name
that error (``[attr-defined]``) and give its reason after it (``# ours: Locust's Environment has
none``). A bare ignore would hide whatever else goes wrong on that line later.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "seeding"
_IGNORE = re.compile(r"type:\s*ignore\b")
_EXPLAINED = re.compile(r"type: ignore\[[a-z-]+(?:, ?[a-z-]+)*\]  # \S.*")


def unexplained(source: str, name: str) -> list[str]:
    """``name:line: comment`` for each type-ignore comment without its code and reason."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and _IGNORE.search(token.string):
            comment = token.string[token.string.index("type:") :]
            if not _EXPLAINED.fullmatch(comment):
                found.append(f"{name}:{token.start[0]}: {token.string}")
    return found


def test_every_ignore_in_the_package_names_its_code_and_reason() -> None:
    problems = [
        problem
        for path in sorted(PACKAGE.rglob("*.py"))
        for problem in unexplained(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    ]
    assert not problems, "type: ignore without its [code] and '  # reason':\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ("x = f()  # type: ignore\n", True),  # no code
        ("x = f()  # type: ignore[arg-type]\n", True),  # no reason
        ("x = f()  # type: ignore[arg-type]  #\n", True),  # an empty reason
        ("x = f()  # type: ignore[arg-type] # why\n", True),  # two spaces before the reason, as ruff formats it
        ("x = f()  # type:ignore[arg-type]  # why\n", True),  # spelled otherwise
        ("x = f()  # noqa: E501  # type: ignore\n", True),  # after another comment
        ("x = f()  # type: ignore[arg-type]  # the stubs lack it\n", False),
        ("x = f()  # type: ignore[union-attr, arg-type]  # two of them, one reason\n", False),
        ('x = "# type: ignore"\n', False),  # text, not a comment
        ("x = f()  # a comment\n", False),
    ],
)
def test_the_check_itself(line: str, bad: bool) -> None:
    assert bool(unexplained(line, "x.py")) is bad
