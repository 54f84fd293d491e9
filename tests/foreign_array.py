"""A stand-in for a GPU array library, so that the CPU suite proves the ops are device-independent.

`ForeignArray` wraps an ndarray and behaves as CuPy's array does where it matters: NumPy's functions
and ufuncs dispatch to it (`__array_ufunc__`, `__array_function__`) and return ForeignArrays; it refuses
implicit conversion to NumPy (`__array__` raises TypeError), and refuses to compute with a NumPy array
(as CuPy 14 does: it takes Python numbers and NumPy scalars, not arrays, not even 0-d ones), so an op that
silently falls back to NumPy, or mixes host and device arrays, fails.

It also refuses what the installed CuPy lacks, as recorded in tests/cupy_api.json (by
tests/record_cupy_api.py): a NumPy function, ufunc, ufunc method or ndarray attribute CuPy does not have,
and a keyword (or one positional argument too many) that CuPy's version of it does not take.
`register()` makes it the device "foreign" through the same hook the "cuda" device uses.

`OPERATIONS` counts the calls that would each launch a kernel on CuPy (ufuncs, reductions, copies,
fancy indexing, fills; not views or allocations), by name: a GPU step's launch count, read on the CPU.
`HOST_READS` counts the reads of device values on the host (.get(), .item(), float(), bool(), ...): each
waits for the GPU to finish what it was given, so a training step should make none it can do without.
"""

from __future__ import annotations

import collections
import functools
import inspect
import json
import types
import weakref
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from tinygrad_edu.device import Device, register_device


# calls that launch a kernel on CuPy, by name; views (reshape, T, basic slicing) and allocations (empty) do not
OPERATIONS: collections.Counter[str] = collections.Counter()
_NOT_KERNELS = {"reshape", "view", "transpose", "swapaxes", "squeeze", "ravel", "empty", "empty_like",
                "broadcast_to", "expand_dims", "moveaxis", "ndim", "shape", "size"}

# reads of device values on the host, by how they were read (get, item, float, int, bool, tolist)
HOST_READS: collections.Counter[str] = collections.Counter()


def _count(name: str, args: Any = ()) -> None:
    if name not in _NOT_KERNELS:
        OPERATIONS[name] += _launches(name, args)


def _launches(name: str, args: Any) -> int:
    """The kernels CuPy launches for a call: one, except for
    - concatenate (and stack, made of it), which copies each array with a kernel of its own unless it
      joins more than 8 arrays of one dtype of under 1 MiB on average: then one kernel copies them all
      (cupy/_core/_routines_manipulation.pyx, _concatenate);
    - matmul, which first copies an operand cuBLAS cannot read as it is (cupy/_core/_routines_linalg.pyx):
      with more than 2 dims, every matrix operand that is not C-contiguous in the product's dtype
      (`ascontiguousarray`); with 2, one that is neither C- nor F-contiguous (`_mat_to_cublas_contiguous`)."""
    if name == "matmul" and len(args) >= 2:
        a, b = (x._a if type(x) is ForeignArray else np.asarray(x) for x in args[:2])
        if max(a.ndim, b.ndim) > 2:
            dtype = np.promote_types(np.promote_types(a.dtype, b.dtype), np.float32)  # (float16 is computed in float32)
            return 1 + sum(x.ndim > 1 and not (x.flags.c_contiguous and x.dtype == dtype) for x in (a, b))
        return 1 + sum(x.ndim == 2 and not (x.flags.c_contiguous or x.flags.f_contiguous) for x in (a, b))
    if name not in ("concatenate", "stack") or not args:
        return 1
    arrays = list(args[0])
    if len(arrays) > 8 and len({a.dtype for a in arrays}) == 1 and sum(a.size * a.dtype.itemsize for a in arrays) < 2**20 * len(arrays):
        return 1
    return len(arrays)


class ForeignArray(NDArrayOperatorsMixin):
    """An ndarray in disguise, which NumPy cannot turn back into an ndarray by itself."""

    __slots__ = ("_a", "__weakref__")

    def __init__(self, array: np.ndarray) -> None:
        assert type(array) is np.ndarray, type(array)
        self._a = array
        _WRAPPERS[id(array)] = self

    # ---- what it is
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: _wrap(self._a.T))
    base = property(lambda self: _wrapper_of(self._a.base))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError("Implicit conversion to a NumPy array is not allowed (ForeignArray, as in CuPy); "
                        "use .get() or tinygrad_edu.device.to_host")

    def get(self) -> np.ndarray:
        """An explicit copy to the host, as cupy.ndarray.get."""
        HOST_READS["get"] += 1
        return self._a.copy()

    def __repr__(self) -> str:
        return f"ForeignArray({self._a!r})"

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        return (_wrap(a) for a in self._a)

    def __float__(self) -> float:
        HOST_READS["float"] += 1
        return float(self._a)

    def __int__(self) -> int:
        HOST_READS["int"] += 1
        return int(self._a)

    def __bool__(self) -> bool:
        HOST_READS["bool"] += 1
        return bool(self._a)

    def __imatmul__(self, other: Any) -> Any:
        return NotImplemented  # cupy.ndarray has no in-place @=: Python computes a @ b into a new array

    def item(self) -> Any:
        HOST_READS["item"] += 1
        return self._a.item()

    def tolist(self) -> Any:
        HOST_READS["tolist"] += 1
        return self._a.tolist()

    # ---- methods: run on the wrapped array, results wrapped
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in API["ndarray"]:
            raise AttributeError(f"ndarray.{name}: {CUPY}'s ndarray has no attribute {name!r}")
        attr = getattr(self._a, name)
        params = API["ndarray"][name]
        if params is None:
            return _wrap(attr)

        def method(*args: Any, **kwargs: Any) -> Any:
            _check_call(f"ndarray.{name}", params, args, kwargs)
            if name != "astype" or kwargs.get("copy", True) or (args[0] if args else kwargs["dtype"]) != self.dtype:
                _count(name)  # (astype to its own dtype with copy=False returns the array itself)
            return _wrap(attr(*_unwrap(args, HOST_NONE), **_unwrap(kwargs, HOST_NONE)))

        return method

    def __getitem__(self, index: Any) -> Any:
        if any(isinstance(i, (ForeignArray, np.ndarray, list)) for i in (index if type(index) is tuple else (index,))):
            _count("getitem")  # (fancy indexing gathers in a kernel; basic slicing is a view)
        return _wrap(self._a[_unwrap(index, HOST_ANY)])

    def __setitem__(self, index: Any, value: Any) -> None:
        index = _unwrap(index, HOST_ANY)
        if not _writes_itself(self._a, index, value):  # (`a[i] += b` ends by setting a[i] to itself)
            _count("setitem")
        self._a[index] = _unwrap(value, HOST_0D)  # (CuPy fills from a NumPy scalar)

    # ---- NumPy's protocols
    def __array_ufunc__(self, ufunc: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        return _apply_ufunc(ufunc, method, args, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        name = f"{func.__module__}.{func.__name__}"  # how CuPy finds its own: cupy.<module path>.<name>
        _check_call(name, _cupy_function(name), args, kwargs)
        _count(func.__name__, args)
        return _wrap(func(*_unwrap(args, HOST_NONE), **_unwrap(kwargs, HOST_NONE)))


def _writes_itself(array: np.ndarray, index: Any, value: Any) -> bool:
    """Whether `array[index] = value` sets a view to itself, which CuPy skips without a kernel (its
    _scatter_op returns when the value is the view's own memory, shape and strides): what Python does
    last in `a[i] += b`, after the in-place add on the view a[i]."""
    if type(value) is not ForeignArray:
        return False
    items = index if type(index) is tuple else (index,)
    if any(isinstance(i, (np.ndarray, list)) for i in items):  # fancy indexing: a gather, then a scatter
        return False
    view = array[index]
    return (isinstance(view, np.ndarray) and view.shape == value._a.shape and view.strides == value._a.strides
            and view.__array_interface__["data"][0] == value._a.__array_interface__["data"][0])


# ndarray id -> its wrapper while that lives: `a.base` is one object, as CuPy's is (the engine tracks
# in-place changes by the memory-owning array)
_WRAPPERS: weakref.WeakValueDictionary[int, ForeignArray] = weakref.WeakValueDictionary()


def _wrapper_of(array: np.ndarray | None) -> ForeignArray | None:
    if type(array) is not np.ndarray:
        return None
    found = _WRAPPERS.get(id(array))
    return found if found is not None and found._a is array else ForeignArray(array)


# ---- what CuPy has, as recorded from the installed package (tests/record_cupy_api.py)
API = json.loads(Path(__file__).with_name("cupy_api.json").read_text())
CUPY = f"CuPy {API['cupy'].split('.')[0]}"  # "CuPy 14", in messages


@functools.cache
def _signature(params: tuple[str, ...]) -> inspect.Signature:
    """The signature a recorded parameter list stands for: names and kinds only (bind_partial checks no more)."""
    kinds = inspect.Parameter
    kind: inspect._ParameterKind = kinds.POSITIONAL_OR_KEYWORD
    built: list[inspect.Parameter] = []
    for p in params:
        if p == "/":
            built = [b.replace(kind=kinds.POSITIONAL_ONLY) for b in built]
        elif p == "*":
            kind = kinds.KEYWORD_ONLY
        elif p.startswith("**"):
            built.append(kinds(p[2:], kinds.VAR_KEYWORD))
        elif p.startswith("*"):
            built.append(kinds(p[1:], kinds.VAR_POSITIONAL))
            kind = kinds.KEYWORD_ONLY
        else:
            built.append(kinds(p, kind))
    return inspect.Signature(built)


def _check_call(name: str, params: list[str], args: Any, kwargs: Any) -> None:
    """Refuse a call that CuPy's `name` would refuse: a keyword it does not take, too many positional arguments."""
    signature = _signature(tuple(params))
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    for keyword in kwargs:
        p = signature.parameters.get(keyword)
        if not takes_any and (p is None or p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL)):
            raise TypeError(f"{name}: {CUPY}'s version does not take keyword {keyword!r} (it takes {', '.join(params)})")
    try:
        signature.bind_partial(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{name}: {CUPY}'s version refuses these arguments ({e}; it takes {', '.join(params)})") from None


def _cupy_function(name: str, missing: type[Exception] = TypeError) -> list[str]:
    """The parameters of CuPy's counterpart of NumPy's function `name` ("numpy.pad"); `missing` raised if it
    has none (NumPy's dispatch raises TypeError; looking up cupy.insert, AttributeError)."""
    if name not in API["functions"]:
        raise missing(f"{name}: not in tests/cupy_api.json (record its module with tests/record_cupy_api.py)")
    params = API["functions"][name]
    if params is None:
        raise missing(f"{CUPY} has no {name}")
    return params


def _apply_ufunc(ufunc: Any, method: str, args: Any, kwargs: Any) -> Any:
    """A NumPy ufunc (or one of its methods) on wrapped arrays, refused where CuPy's would refuse it."""
    name = ufunc.__name__
    record = API["ufuncs"].get(name)
    if record is None:
        raise TypeError(f"{CUPY} has no ufunc {name}")
    if method != "__call__" and method not in record["methods"]:
        having = sorted(n for n, r in API["ufuncs"].items() if r is not None and method in r["methods"])
        raise TypeError(f"{name}.{method}: {CUPY} has it for {having} only")
    if method in API["ufunc_methods"]:
        _check_call(f"{name}.{method}", ["array", *API["ufunc_methods"][method]], args, kwargs)
    elif method != "at":
        for keyword in kwargs:
            if keyword not in record["keywords"]:
                raise TypeError(f"numpy.{name}: {CUPY}'s ufunc does not take keyword {keyword!r} "
                                f"(it takes {', '.join(record['keywords'])})")
    if method == "at":  # ufunc.at(a, index, b): the index may be host arrays, as in indexing
        _count(f"{name}.at")
        a, index, *rest = args
        getattr(ufunc, method)(_unwrap(a, HOST_NONE), _unwrap(index, HOST_ANY), *_unwrap(rest, HOST_NONE))
        return None
    for x in args:
        if not isinstance(x, (ForeignArray, np.ndarray, np.generic, bool, int, float, complex)):
            raise TypeError(f"numpy.{name}: {CUPY}'s ufuncs take arrays and scalars, not {type(x).__name__}")
    if name in ("greater", "greater_equal", "less", "less_equal", "equal", "not_equal"):
        # CuPy's __array_ufunc__ turns a 0-d NumPy array into a number for comparisons (only)
        args = tuple(x.item() if type(x) is np.ndarray and x.ndim == 0 else x for x in args)
    _count(name if method == "__call__" else f"{name}.{method}", args)
    out = kwargs.get("out")
    result = getattr(ufunc, method)(*_unwrap(args, HOST_NONE), **_unwrap(kwargs, HOST_NONE))
    if out is not None:
        return out[0] if isinstance(out, tuple) and len(out) == 1 else out
    return _wrap(result)


# what host (NumPy) arrays _unwrap lets through: none (CuPy makes its kernels' operands of arrays and
# scalars, and refuses a NumPy array, even a 0-d one), 0-d ones (a value assigned, which CuPy fills from),
# any (indices: CuPy copies them to the device)
HOST_NONE, HOST_0D, HOST_ANY = "none", "0-d", "any"


def _unwrap(x: Any, host: str) -> Any:
    """Wrapped arrays unwrapped, in lists, tuples and dicts; NumPy arrays refused as `host` says."""
    kind = type(x)
    if kind is ForeignArray:
        return x._a
    if kind is np.ndarray:
        if host == HOST_NONE or (host == HOST_0D and x.ndim > 0):
            raise TypeError(f"ForeignArray: unsupported operand, a NumPy array of shape {x.shape} (host data in a "
                            f"device computation, which {CUPY} refuses: move it to the device first)")
        return x
    if kind is tuple or kind is list:
        return kind(_unwrap(v, host) for v in x)
    if kind is dict:
        return {k: _unwrap(v, host) for k, v in x.items()}
    return x


def _wrap(x: Any) -> Any:
    if type(x) is np.ndarray:
        return ForeignArray(x)
    if isinstance(x, np.generic):  # CuPy returns 0-d arrays where NumPy returns scalars
        return ForeignArray(np.asarray(x))
    if type(x) is tuple or type(x) is list:
        return type(x)(_wrap(v) for v in x)
    return x


class _Namespace:
    """numpy's functions, returning ForeignArrays (what `cupy` is to CuPy arrays), and only those CuPy has."""

    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)

    def __getattr__(self, name: str) -> Any:
        if name in API["names_cupy_lacks"]:
            raise AttributeError(f"{CUPY} has no numpy.{name}")
        attr = getattr(np, name)
        if isinstance(attr, np.ufunc):
            return _Ufunc(attr)
        if not callable(attr) or isinstance(attr, type):
            return attr
        params = _cupy_function(f"numpy.{name}", AttributeError)
        host = HOST_ANY if name in _FROM_HOST else HOST_NONE

        def function(*args: Any, **kwargs: Any) -> Any:
            _check_call(f"numpy.{name}", params, args, kwargs)
            _count(name, args)
            return _wrap(attr(*_unwrap(args, host), **_unwrap(kwargs, host)))

        return function


_FROM_HOST = {"array", "asarray", "asanyarray"}  # cupy's copies from host data


class _Ufunc:
    """A ufunc of the namespace (cupy.add): called, or its methods, as on a ForeignArray."""

    def __init__(self, ufunc: np.ufunc) -> None:
        self._ufunc = ufunc

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _apply_ufunc(self._ufunc, "__call__", args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name not in ("reduce", "accumulate", "reduceat", "outer", "at"):
            return getattr(self._ufunc, name)
        return lambda *args, **kwargs: _apply_ufunc(self._ufunc, name, args, kwargs)


def _as_strided(x: ForeignArray, shape: Any = None, strides: Any = None) -> ForeignArray:
    """cupy.lib.stride_tricks.as_strided, with its parameters (the view read-only here: an op must not write
    into windows that may overlap)."""
    return ForeignArray(np.lib.stride_tricks.as_strided(x._a, shape, strides, writeable=False))


namespace = _Namespace(
    lib=types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided)),
    asarray=lambda x, dtype=None: x.astype(dtype) if type(x) is ForeignArray and dtype is not None
    else x if type(x) is ForeignArray else ForeignArray(np.asarray(x, dtype=dtype)),
)


def to_device(array: np.ndarray) -> ForeignArray:
    return ForeignArray(np.array(array))


def to_host(array: ForeignArray) -> np.ndarray:
    return array.get()


FOREIGN = Device("foreign", ForeignArray, namespace, to_device, to_host)


def register() -> Device:
    """Make "foreign" a device (idempotent)."""
    return register_device(FOREIGN)
