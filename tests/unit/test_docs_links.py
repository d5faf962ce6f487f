"""Every relative Markdown link in README.md and docs/*.md reaches a file that exists, and, when
it names an anchor, a heading of that file (slugs made as GitHub makes them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target): the text may span lines and hold code spans; the target has no spaces.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """The text outside fenced code blocks."""
    kept, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(line)
    return "\n".join(kept)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for line in prose(page.read_text(encoding="utf-8")).splitlines():
        if line.startswith("#"):
            base = slug(line.lstrip("#"))
            name, n = base, 0
            while name in found:  # a repeated heading gets -1, -2…
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


def links(page: Path) -> list[str]:
    return LINK.findall(prose(page.read_text(encoding="utf-8")))


def test_the_slugs_are_githubs() -> None:
    assert slug(" Cross-matching: `bench/match.py`") == "cross-matching-benchmatchpy"
    assert slug("Mail in: partners' replies and alerts") == "mail-in-partners-replies-and-alerts"
    assert slug("Reading files: `bench/intake_read.py`") == "reading-files-benchintake_readpy"


def test_the_docs_link_to_each_other() -> None:
    """The README reaches every page of docs/, and the index lists every page."""
    readme = {(ROOT / t).resolve() for t in links(ROOT / "README.md")}
    index = {(ROOT / "docs" / t).resolve() for t in links(ROOT / "docs" / "README.md")}
    for page in PAGES[1:]:
        assert page in readme, f"README.md does not link to {page.relative_to(ROOT)}"
        if page.name != "README.md":
            assert page in index, f"docs/README.md does not list {page.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_reaches_its_file_and_anchor(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:: not ours to check
            continue
        path, _, anchor = target.partition("#")
        reached = (page.parent / path).resolve() if path else page
        if not reached.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (reached.suffix != ".md" or anchor not in anchors(reached)):
            broken.append(f"{target}: no heading with that anchor")
    assert broken == [], f"{page.relative_to(ROOT)}: {broken}"
