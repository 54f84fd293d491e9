"""MkDocs hooks for the documentation site (mkdocs.yml loads this file under `hooks:`).

* Code highlighting made at build time: Pygments colours the code blocks when the pages are built
  (pymdownx.highlight in mkdocs.yml), and this hook writes the matching stylesheet, css/pygments.css,
  so a page opened from disk is coloured without fetching anything.
* Search works opened from disk: a browser refuses MkDocs' search there (it runs in a Web Worker
  and downloads search/search_index.json), so after the build this hook writes the index again as a
  script, search/search_index.js, and makes search/main.js run docs/js/search-from-disk.js instead
  when the page's address is a file:// one.
* Doctest output is shown as Python prints it: a `<BLANKLINE>` line (how a doctest spells an empty
  line of output, so that pytest can run the pages) is shown as the empty line it stands for, and a
  ```` ```python ```` block that is a `>>>` session is coloured as one (Pygments' `pycon`: prompts,
  code, then the output in plain).
"""

from __future__ import annotations

import re
import json
import logging
import pathlib
from typing import Any

PYGMENTS_STYLE = "default"  # Pygments' own light style, close to the theme's look
PYGMENTS_CSS = "css/pygments.css"  # listed under extra_css in mkdocs.yml
WORKER_START = "\nif (!window.Worker) {"  # where search/main.js starts its worker (MkDocs 1.6), unindented
SEARCH_FROM_DISK = pathlib.Path(__file__).parent / "js" / "search-from-disk.js"
log = logging.getLogger("mkdocs.hooks")
BLANKLINE = re.compile(r"^([ \t]*)<BLANKLINE>[ \t]*$", re.MULTILINE)
SESSION = re.compile(r"^([ \t]*)```python[ \t]*\n(?=[ \t]*>>>)", re.MULTILINE)  # a fence whose first line is >>>


def show_blank_lines(markdown: str) -> str:
    """Each line that is only `<BLANKLINE>` (indented or not) becomes an empty line.

    >>> show_blank_lines(">>> print('a\\\\n\\\\nb')\\na\\n<BLANKLINE>\\nb").split("\\n")
    [">>> print('a\\\\n\\\\nb')", 'a', '', 'b']
    """
    return BLANKLINE.sub("", markdown)


def color_sessions(markdown: str) -> str:
    """A ```` ```python ```` fence that opens on a `>>>` line becomes ```` ```pycon ````: a console session.

    >>> color_sessions("```python\\n>>> 1 + 1\\n2\\n```\\n```python\\nx = 1\\n```").split("\\n")
    ['```pycon', '>>> 1 + 1', '2', '```', '```python', 'x = 1', '```']
    """
    return SESSION.sub(r"\1```pycon\n", markdown)


def pygments_css() -> str:
    """The stylesheet of the Pygments classes that pymdownx.highlight puts on code (in `.highlight`)."""
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style=PYGMENTS_STYLE).get_style_defs(".highlight")


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return color_sessions(show_blank_lines(markdown))


def on_files(files: Any, config: Any, **kwargs: Any) -> Any:
    from mkdocs.structure.files import File

    files.append(File.generated(config, PYGMENTS_CSS, content=pygments_css()))
    return files


def on_post_build(config: Any, **kwargs: Any) -> None:
    search = pathlib.Path(config["site_dir"]) / "search"
    main = search / "main.js"
    if not (search / "search_index.json").exists() or not main.exists():
        return  # no search plugin
    index = json.loads((search / "search_index.json").read_text(encoding="utf-8"))
    (search / "search_index.js").write_text(
        "var mkdocs_search_index = " + json.dumps(index, ensure_ascii=False) + ";\n", encoding="utf-8"
    )
    code = main.read_text(encoding="utf-8")
    if WORKER_START not in code:
        log.warning("hooks.py: search/main.js has changed; search will not work from disk")
        return
    from_disk = "\nif (window.location.protocol === 'file:') {\n  searchFromDisk();\n} else " + WORKER_START.lstrip()
    main.write_text(
        SEARCH_FROM_DISK.read_text(encoding="utf-8") + "\n" + code.replace(WORKER_START, from_disk, 1), encoding="utf-8"
    )
