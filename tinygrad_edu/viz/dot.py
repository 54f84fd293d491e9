"""What every drawing shares: safe label text, short numbers and array summaries, and `Drawing`.

Labels are quoted DOT strings (HTML-like labels would be richer, but the in-process Graphviz cannot
read them). Every piece of text goes through `escape`, so quotes, braces, pipes, angle brackets,
backslashes, newlines and non-ASCII can neither break the DOT nor be read as Graphviz escapes
(`\\N`, `\\l`) or entities (`&amp;`); node names in the DOT are ours ("n0", "n1", ...), never user text.
"""

from __future__ import annotations

import math
import os
import pathlib
import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..device import device_of, is_array, to_host
from . import output

# the font of every label: one name that the in-process Graphviz has the widths of (a list, such as
# "Helvetica,Arial,sans-serif", it sizes as Times), and that it draws with (see output.py)
FONT = output.FONT
_ESCAPES = {"\\": "\\\\", '"': '\\"', "&": "&amp;", "\n": "\\n"}


def escape(text: Any) -> str:
    r"""`text` as the inside of a quoted DOT label that shows exactly that text (newlines break lines).

    Control characters, lone surrogates and unassigned code points, which an SVG cannot hold, are
    shown as Python writes them (`\x1b`).

    >>> print(escape('say "hi" \\N & <b>{x|y}</b>'))
    say \"hi\" \\N &amp; <b>{x|y}</b>
    """
    text = str(text)
    if text.isprintable() and "\\" not in text and '"' not in text and "&" not in text:
        return text  # the usual case: nothing to do
    parts = []
    for c in text:
        if c in _ESCAPES:
            parts.append(_ESCAPES[c])
        elif c == "\t":
            parts.append("    ")
        elif c.isprintable() or unicodedata.category(c) not in ("Cc", "Cs", "Cn"):
            parts.append(c)
        else:  # visible, as Python writes it
            parts.append(escape(repr(c)[1:-1]))
    return "".join(parts)


def label(rows: Iterable[str]) -> str:
    """A quoted DOT label of text lines, each escaped."""
    return '"' + "\\n".join(escape(row) for row in rows) + '"'


def number(x: Any, precision: int = 4) -> str:
    """A float in `precision` significant digits: 0.2350, -1.2e-05, nan. x is a number or an array of one
    element, of any shape (NumPy converts only 0-d ones), on the host or a device."""
    if type(x) is not float:
        x = float(x.reshape(()) if getattr(x, "ndim", 0) else x)
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{precision}g}"


def summary(array: Any, precision: int = 4) -> str:
    """A few values of a small array, or min / mean / max of a big one: never a wall of numbers."""
    if type(array) is float:  # a Value's data or gradient: the common case, kept fast
        return number(array, precision)
    a = to_host(array)
    if a.size == 1:
        return number(a.reshape(()), precision)
    if a.size <= 4:
        return "[" + ", ".join(number(v, precision) for v in a.ravel()) + "]"
    if a.size == 0:
        return "(empty)"
    with np.errstate(all="ignore"):
        low, mean, high = a.min(), a.mean(), a.max()
    return f"min {number(low, precision)} · mean {number(mean, precision)} · max {number(high, precision)}"


def shape_text(array: Any) -> str:
    """`(32, 4) float64`: a tensor's shape and dtype, and its device where that is not the CPU
    (`(32, 4) float32 cuda:0`), read without copying the data."""
    a = array if is_array(array) else np.asarray(array)
    device = device_of(a)
    return f"{tuple(a.shape)} {a.dtype}" + ("" if device == "cpu" else f" {device}")


def attributes(**attrs: str) -> str:
    """DOT attributes; a value that is already quoted (from `label`) is kept as it is."""
    parts = []
    for key, value in attrs.items():
        if not value.startswith('"'):
            value = label([value])
        parts.append(f"{key}={value}")
    return "[" + " ".join(parts) + "]"


try:  # the package imports without the graphviz Python package (a GPU machine may lack it): drawing needs it
    import graphviz

    _Digraph: Any = graphviz.Digraph
except ImportError:  # pragma: no cover
    class _Digraph:  # type: ignore[no-redef]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise ImportError("drawing needs the graphviz Python package: pip install graphviz")


class Drawing(_Digraph):
    """A `graphviz.Digraph` that also renders where no Graphviz program is installed.

    `render()`, `pipe()` and Jupyter's inline display use the system `dot` when it is on the PATH and
    the in-process renderer of the `render` extra otherwise (see `tinygrad_edu.render`).
    `notes` lists what the drawing left out or collapsed, also shown in its caption.
    """

    notes: list[str]

    def pipe(self, format: str | None = None, renderer: str | None = None, formatter: str | None = None,
             neato_no_op: Any = None, quiet: bool = False, *, engine: str | None = None,
             encoding: str | None = None) -> Any:
        if output.system_dot() is not None:
            data = super().pipe(format, renderer, formatter, neato_no_op, quiet, engine=engine)
            if (format or self.format) == "svg" and renderer is None and formatter is None:
                data = output.for_browsers(data)  # (Jupyter's inline display)
            return data.decode(encoding) if encoding else data
        data = output.render_source(self.source, format or self.format, engine=engine or self.engine)
        return data.decode(encoding) if encoding else data

    def render(self, filename: Any = None, directory: Any = None, view: bool = False, cleanup: bool = False,
               format: str | None = None, renderer: str | None = None, formatter: str | None = None,
               neato_no_op: Any = None, quiet: bool = False, quiet_view: bool = False, *, outfile: Any = None,
               engine: str | None = None, raise_if_result_exists: bool = False,
               overwrite_source: bool = False) -> str:
        if output.system_dot() is not None:
            return super().render(filename, directory, view, cleanup, format, renderer, formatter, neato_no_op,
                                  quiet, quiet_view, outfile=outfile, engine=engine,
                                  raise_if_result_exists=raise_if_result_exists, overwrite_source=overwrite_source)
        # graphviz's conventions: the picture is outfile, or the DOT source's path plus "." + format
        if outfile is not None:
            outfile = pathlib.Path(outfile if directory is not None else pathlib.Path(self.directory, outfile))
            format = format or outfile.suffix.lstrip(".")
            filename = filename if filename is not None else outfile.with_suffix(".gv")
        source_path = self.save(filename, directory=directory)
        target = pathlib.Path(outfile if outfile is not None else f"{source_path}.{format or self.format}")
        output.write(self.source, target, format=format or self.format, engine=engine or self.engine)
        if cleanup:
            os.remove(source_path)
        return str(target)


def edge_label(drawing: Drawing, rows: Iterable[str]) -> str:
    """An edge's label in `drawing`, a quoted DOT string. Drawn left to right, it is centred above its
    edge; top to bottom, Graphviz puts it beside the edge, against the line, so its rows are
    left-aligned (the `\\l` line ends) and start two spaces after the line, clear of the label on their left.

    >>> print(edge_label(Drawing(graph_attr={"rankdir": "TB"}), ["local y", "carries 2"]))
    "  local y\\l  carries 2\\l"
    """
    if drawing.graph_attr.get("rankdir", "TB") in ("LR", "RL"):
        return label(rows)
    return '"' + "".join("  " + escape(row) + "\\l" for row in rows) + '"'
