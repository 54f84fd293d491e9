"""Record the API of the installed CuPy into tests/cupy_api.json, for the fake device to refuse what CuPy lacks.

Not a test: run it by hand with a Python that has CuPy (a GPU is not needed; nothing here creates an array):

    /path/to/cupy-venv/bin/python tests/record_cupy_api.py

What it records, for NumPy's public names and as CuPy resolves them:
- "functions": for each public callable of numpy, numpy.linalg and numpy.lib.stride_tricks (not ufuncs, not
  types), CuPy's parameter list (names only, with "/", "*", "*args", "**kwargs" as in a signature), or null
  where CuPy has no such function or hands it back to NumPy. Aliases (numpy.concat) are recorded under
  their own name.
- "ufuncs": for each NumPy ufunc, by its __name__ (what cupy.ndarray.__array_ufunc__ looks up): the keywords
  its CuPy counterpart accepts and the ufunc methods (reduce, at, ...) that it implements; null if none.
- "ufunc_methods": the parameters of a CuPy ufunc's reduce, accumulate and reduceat (after the array).
- "names_cupy_lacks": NumPy's other public names (types, constants, modules) that cupy does not have.
- "ndarray": every public or special attribute of cupy.ndarray (not __hash__: it is None, arrays are not
  hashable); for a public method, its parameter list (less self), else null.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("cupy_api.json")
MODULES = ("numpy", "numpy.linalg", "numpy.lib.stride_tricks")
# the keywords a NumPy ufunc call takes (NumPy's "Universal functions: optional keyword arguments")
UFUNC_KEYWORDS = ("out", "where", "axes", "axis", "keepdims", "casting", "order", "dtype", "subok", "signature")
UFUNC_METHODS = ("reduce", "accumulate", "reduceat", "outer", "at")


def parameters(signature: inspect.Signature) -> list[str]:
    """A signature's parameters in its own notation, defaults dropped: ["a", "/", "axis", "*", "out", "**kwargs"]."""
    bare = signature.replace(parameters=[p.replace(default=p.empty, annotation=p.empty)
                                         for p in signature.parameters.values()], return_annotation=signature.empty)
    return [p for p in str(bare)[1:-1].split(", ") if p]


def _signature_in_docstring(f: Any) -> inspect.Signature | None:
    """The signature Cython writes on a compiled function's docstring's first line, C types dropped
    ("sort(self, int axis=-1, kind=None) -> ..." gives (self, axis, kind))."""
    first = (getattr(f, "__doc__", None) or "").lstrip().split("\n", 1)[0].replace("\\*", "*")
    start = first.find("(")
    if start < 0:
        return None
    depth = 0
    for end, ch in enumerate(first[start:], start):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            break
    untyped = re.sub(r"(?<=[(,])\s*(?:[A-Za-z_][\w.]*\s+)+(?=\**[A-Za-z_]\w*\s*[=,)])", " ", first[start:end + 1])
    try:
        tree = ast.parse(f"def f{untyped}: pass").body[0]
    except SyntaxError:
        return None
    assert isinstance(tree, ast.FunctionDef)
    a, kinds = tree.args, inspect.Parameter
    params = [kinds(x.arg, kinds.POSITIONAL_ONLY) for x in a.posonlyargs]
    params += [kinds(x.arg, kinds.POSITIONAL_OR_KEYWORD) for x in a.args]
    params += [kinds(a.vararg.arg, kinds.VAR_POSITIONAL)] if a.vararg else []
    params += [kinds(x.arg, kinds.KEYWORD_ONLY) for x in a.kwonlyargs]
    params += [kinds(a.kwarg.arg, kinds.VAR_KEYWORD)] if a.kwarg else []
    return inspect.Signature(params)


def signature_of(f: Any) -> list[str]:
    """Its parameters; where CuPy states none, ["*args", "**kwargs"] (anything goes: nothing to check)."""
    try:
        signature: inspect.Signature | None = inspect.signature(f)
    except (TypeError, ValueError):
        signature = _signature_in_docstring(f)
    return ["*args", "**kwargs"] if signature is None else parameters(signature)


def ufunc_record(cupy: Any, cupy_ufunc: Any) -> dict[str, list[str]]:
    """Which call keywords and methods a CuPy ufunc takes, found by calling it with None for its inputs:
    CuPy checks the keywords ("Wrong arguments") and raises NotImplementedError for a method it lacks
    before it looks at the inputs (nothing reaches the GPU)."""
    kernel_ufunc = type(cupy.add)
    if isinstance(cupy_ufunc, kernel_ufunc):
        keywords = []
        for keyword in UFUNC_KEYWORDS:
            try:
                cupy_ufunc(*[None] * cupy_ufunc.nin, **{keyword: None})
            except TypeError as e:
                if str(e).startswith("Wrong arguments"):
                    continue
            except Exception:
                pass
            keywords.append(keyword)
    else:  # cupy.matmul: a generalized ufunc, whose __call__ states its keywords
        keywords = [k for k in UFUNC_KEYWORDS if k in inspect.signature(type(cupy_ufunc).__call__).parameters]
    methods = []
    for method in UFUNC_METHODS:
        if not hasattr(cupy_ufunc, method):
            continue
        try:
            getattr(cupy_ufunc, method)(None, None) if method in ("reduceat", "outer", "at") else \
                getattr(cupy_ufunc, method)(None)
        except NotImplementedError:
            continue
        except Exception:
            pass
        methods.append(method)
    return {"keywords": keywords, "methods": methods}


def record() -> dict[str, Any]:
    import functools
    import importlib

    import cupy
    import cupyx.scipy.special
    import numpy

    functions: dict[str, list[str] | None] = {}
    ufuncs: dict[str, dict[str, list[str]] | None] = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        # cupy.ndarray.__array_function__ looks a function up by its module's path below cupy
        cupy_module = functools.reduce(lambda m, part: getattr(m, part, None), module_name.split(".")[1:], cupy)
        for name in sorted(dir(module)):
            f = getattr(module, name)
            if name.startswith("_") or not callable(f) or isinstance(f, type) or name == "test":
                continue
            if isinstance(f, numpy.ufunc):  # __array_ufunc__ looks it up in cupy, then cupyx.scipy.special
                theirs = getattr(cupy, f.__name__, None) or getattr(cupyx.scipy.special, f.__name__, None)
                ufuncs[f.__name__] = None if theirs is None else ufunc_record(cupy, theirs)
                continue
            theirs = getattr(cupy_module, name, None)
            # NumPy's own function in cupy's namespace: CuPy's dispatch declines it (a non-dispatching one,
            # as numpy.broadcast_shapes, works on shapes alike)
            declined = theirs is f and hasattr(f, "_implementation")
            functions[f"{module_name}.{name}"] = None if theirs is None or declined else signature_of(theirs)
    ndarray: dict[str, list[str] | None] = {}
    for name in sorted(dir(cupy.ndarray)):
        if name.startswith("_") and not name.startswith("__"):
            continue  # CuPy's internals
        attr = getattr(cupy.ndarray, name)
        if attr is None:
            continue  # __hash__ = None: it is not hashable
        method = callable(attr) and not isinstance(attr, type) and not name.startswith("__")
        ndarray[name] = signature_of(attr)[1:] if method else None  # (less self)
    # every CuPy ufunc is of one class: its methods' parameters (less self and the array) are the same for all
    ufunc_methods = {m: signature_of(getattr(cupy.add, m))[2:] for m in ("reduce", "accumulate", "reduceat")}
    lacks = [name for name in dir(numpy) if not name.startswith("_") and not hasattr(cupy, name)
             and f"numpy.{name}" not in functions and name not in ufuncs]
    return {"cupy": cupy.__version__, "numpy": numpy.__version__, "functions": functions, "ufuncs": ufuncs,
            "ufunc_methods": ufunc_methods, "names_cupy_lacks": lacks, "ndarray": ndarray}


def write(table: dict[str, Any]) -> None:
    """One entry a line, so that a new CuPy's differences read as a short diff."""
    lines = ["{"]
    for i, (key, value) in enumerate(table.items()):
        comma = "," if i < len(table) - 1 else ""
        if not isinstance(value, dict):
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
            continue
        lines.append(f"  {json.dumps(key)}: {{")
        entries = [f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
        lines.append(",\n".join(entries))
        lines.append(f"  }}{comma}")
    OUT.write_text("\n".join(lines) + "\n}\n")


if __name__ == "__main__":
    table = record()
    write(table)
    print(f"CuPy {table['cupy']}: {sum(v is not None for v in table['functions'].values())} of "
          f"{len(table['functions'])} NumPy functions, {sum(v is not None for v in table['ufuncs'].values())} of "
          f"{len(table['ufuncs'])} ufuncs, {len(table['ndarray'])} ndarray attributes -> {OUT}")
