"""Every Python block in docs/ and the README runs: pytest runs their `>>>` sessions as doctests
(make test passes docs and README.md to pytest), so a block written any other way would never run."""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_block_is_a_doctest(page: pathlib.Path) -> None:
    for match in FENCE.finditer(page.read_text()):
        language, body = match.groups()
        if language in ("python", "py", "pycon"):
            assert body.lstrip().startswith(">>>"), f"{page.name}: a Python block that is not a >>> session never runs:\n{body[:200]}"


def test_the_pages_are_collected() -> None:
    assert len(PAGES) >= 8 and (ROOT / "docs" / "tutorial.md") in PAGES
