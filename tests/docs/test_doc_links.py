"""The guide stays a guide: README.md is short, every relative link in it and in docs/ resolves (anchors
included), nothing points outside the repository, and its test command is the one CI runs."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "examples").rglob("*.md"))]
FENCE = re.compile(r"^(`{3,}).*?^\1\s*$", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
# Files the site adds when it builds (docs/hooks/generated.py): links to them are checked by mkdocs --strict.
GENERATED = {ROOT / "docs" / "plan.schema.json", ROOT / "docs" / "openapi.json"}


def prose(text: str) -> str:
    """The text without code blocks and code spans, where a bracket is not a link."""
    return CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """Python-Markdown's toc slug, as MkDocs (and, for these headings, GitHub) make them."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    return {slug(line.lstrip("#").strip()) for line in FENCE.sub("", page.read_text()).splitlines() if line[:1] == "#"}


def links() -> list[tuple[Path, str]]:
    return [(page, target) for page in PAGES for target in LINK.findall(prose(page.read_text(encoding="utf-8")))]


LINKS = [(page, target) for page, target in links() if not re.match(r"[a-z]+:", target)]


def test_the_readme_is_a_guide_not_a_specification() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move details to docs/"


def test_there_are_links_to_check() -> None:
    readme = [target for page, target in LINKS if page.name == "README.md" and page.parent == ROOT]
    assert len(readme) >= 10 and len(LINKS) >= 30


@pytest.mark.parametrize(
    ("page", "target"), LINKS, ids=[f"{page.relative_to(ROOT)}->{target}" for page, target in LINKS]
)
def test_relative_link_resolves(page: Path, target: str) -> None:
    path, _, anchor = target.partition("#")
    resolved = (page.parent / path).resolve() if path else page
    assert resolved.is_relative_to(ROOT), f"{page.relative_to(ROOT)}: {target} leaves the repository"
    assert resolved.exists() or resolved in GENERATED, f"{page.relative_to(ROOT)}: {target} does not exist"
    if anchor and resolved.suffix == ".md":
        assert anchor in anchors(resolved), f"{page.relative_to(ROOT)}: {target}: no heading #{anchor} there"


def test_nothing_links_to_the_shared_folder_a_clone_does_not_have() -> None:
    for page in PAGES:
        assert "../shared/" not in page.read_text(), page.relative_to(ROOT)


def test_the_readme_test_command_is_the_one_ci_runs() -> None:
    """README's `pip install -e ".[test,locust]" && python -m pytest` is CI's install and suite (CI adds reports)."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    install, suite = 'pip install -e ".[test,locust]"', "python -m pytest"
    assert re.search(rf"^{re.escape(install)} && {re.escape(suite)}$", readme, re.MULTILINE)
    assert re.search(rf"^{re.escape(install)}(?: && {re.escape(suite)})?$", ci, re.MULTILINE)
    assert re.search(rf"^(?:{re.escape(install)} && )?{re.escape(suite)}(?: --cov[-=\w:]*)*$", ci, re.MULTILINE)
