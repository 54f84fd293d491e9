"""tg.render: any drawing, or anything that can be drawn, to an SVG, PNG, JPEG or PDF file."""

from __future__ import annotations

import pathlib
from typing import Any

from ..engine import Node
from ..nn.module import Module
from . import output
from .graph import draw_graph
from .network import draw_network


def _is_graphviz_drawing(obj: Any) -> bool:
    try:
        import graphviz
    except ImportError:  # pragma: no cover (then nothing is a graphviz drawing)
        return False
    return isinstance(obj, (graphviz.Graph, graphviz.Digraph, graphviz.Source))


def render(obj: Any, path: Any, *, format: str | None = None, backend: str = "auto", **options: Any) -> pathlib.Path:
    """Write a picture of `obj` to `path` (.svg, .png, .jpg or .pdf) and return the path.

    The format is the file's suffix, or `format=`: the in-process renderer writes svg, png, jpg (or jpeg)
    and pdf, the Graphviz program `dot` every format it knows.
    `obj` is a drawing (any graphviz graph), a Value or Tensor (drawn by draw_graph), or a model or
    NeuronNetwork (drawn by draw_network); `options` go to the drawing function. `backend`: "system"
    (the Graphviz program `dot`), "wasm" (in-process, the `render` extra) or "auto" (the system's
    when installed). Raises RendererNotFound, saying what to install, when neither is.
    """
    if _is_graphviz_drawing(obj):
        if options:
            raise TypeError(f"render: options {sorted(options)} apply when drawing a Value, Tensor or model, not a finished drawing")
        source = obj.source
    elif isinstance(obj, Node):
        source = draw_graph(obj, **options).source
    elif isinstance(obj, Module):
        source = draw_network(obj, **options).source
    else:
        raise TypeError(f"render: cannot draw a {type(obj).__name__}; pass a Value, Tensor, model, NeuronNetwork "
                        "or a graphviz graph")
    engine = getattr(obj, "engine", "dot")
    return output.write(source, path, format=format, engine=engine, backend=backend)
