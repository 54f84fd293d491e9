"""A Griffe extension for the API reference: show the docstrings' doctest examples as code.

The package's docstrings carry runnable `>>>` examples without an "Examples:" heading. Markdown
would read each `>>>` line as three nested block quotes, and a line of output such as `[1.0, 0.5]`
as a link; this extension wraps every such example (from its first `>>>` line to the next blank
line) in a ```` ```pycon ```` fence before mkdocstrings renders the docstring. mkdocs.yml loads it
(`extensions:` of the python handler); the docstrings themselves are left as they are.
"""

from __future__ import annotations

from typing import Any

try:
    import griffe
except ImportError:  # pytest imports this file to collect doctests; griffe comes with the docs extra
    griffe = None


def fence_doctests(text: str) -> str:
    """Wrap each run of doctest lines (a `>>>` line up to the next blank line) in a pycon fence.

    >>> fence_doctests("Square it.\\n>>> 3 ** 2\\n9\\n\\nDone.").split("\\n")
    ['Square it.', '', '```pycon', '>>> 3 ** 2', '9', '```', '', 'Done.']
    """
    out: list[str] = []
    lines = text.split("\n")
    fenced = False  # inside a fence of the docstring's own: leave it alone
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or not line.lstrip().startswith(">>>"):
            out.append(line)
            k += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        block = []
        while k < len(lines) and lines[k].strip():
            block.append(lines[k])
            k += 1
        if out and out[-1].strip():
            out.append("")
        out += [f"{indent}```pycon", *block, f"{indent}```"]
        if k < len(lines):
            out.append("")
            k += 1
    return "\n".join(out)


if griffe is not None:

    class FenceDoctests(griffe.Extension):
        """Fence the doctest examples of every docstring the API reference loads."""

        def on_object(self, *, obj: Any, **kwargs: Any) -> None:
            if obj.docstring is not None and ">>>" in obj.docstring.value:
                obj.docstring.value = fence_doctests(obj.docstring.value)
