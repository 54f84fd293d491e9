"""A stand-in for a GPU array library, so that the CPU suite proves the ops are device-independent.

`ForeignArray` wraps an ndarray and behaves as CuPy's array does where it matters: NumPy's functions
and ufuncs dispatch to it (`__array_ufunc__`, `__array_function__`) and return ForeignArrays; it refuses
implicit conversion to NumPy (`__array__` raises TypeError), and refuses to compute with a NumPy array
that is not 0-d (as CuPy does), so an op that silently falls back to NumPy, or mixes host and device
arrays, fails. Python numbers and NumPy scalars are accepted, as CuPy passes them to its kernels.
`register()` makes it the device "foreign" through the same hook the "cuda" device uses.
"""

from __future__ import annotations

import types
import weakref
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from tinygrad_edu.device import Device, register_device


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
        return self._a.copy()

    def __repr__(self) -> str:
        return f"ForeignArray({self._a!r})"

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        return (_wrap(a) for a in self._a)

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __index__(self) -> int:
        return self._a.__index__()

    def __bool__(self) -> bool:
        return bool(self._a)

    def __hash__(self) -> int:
        return id(self)

    def item(self) -> Any:
        return self._a.item()

    def tolist(self) -> Any:
        return self._a.tolist()

    # ---- methods: run on the wrapped array, results wrapped
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args: Any, **kwargs: Any) -> Any:
            return _wrap(attr(*_unwrap(args, strict=True), **_unwrap(kwargs, strict=True)))

        return method

    def __getitem__(self, index: Any) -> Any:
        return _wrap(self._a[_unwrap(index, strict=False)])

    def __setitem__(self, index: Any, value: Any) -> None:
        self._a[_unwrap(index, strict=False)] = _unwrap(value, strict=True)

    # ---- NumPy's protocols
    def __array_ufunc__(self, ufunc: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        if method != "__call__" and method != "outer" and ufunc not in _UFUNC_METHODS.get(method, ()):
            raise TypeError(f"ForeignArray: {ufunc.__name__}.{method} is not supported (CuPy has it for "
                            f"{sorted(u.__name__ for u in _UFUNC_METHODS.get(method, ()))} only)")
        if method == "at":  # ufunc.at(a, index, b): the index may be host arrays, as in indexing
            a, index, *rest = args
            getattr(ufunc, method)(_unwrap(a, True), _unwrap(index, False), *_unwrap(rest, True))
            return None
        out = kwargs.get("out")
        result = getattr(ufunc, method)(*_unwrap(args, strict=True), **_unwrap(kwargs, strict=True))
        if out is not None:
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _wrap(func(*_unwrap(args, strict=True), **_unwrap(kwargs, strict=True)))


# ndarray id -> its wrapper while that lives: `a.base` is one object, as CuPy's is (the engine tracks
# in-place changes by the memory-owning array)
_WRAPPERS: weakref.WeakValueDictionary[int, ForeignArray] = weakref.WeakValueDictionary()


def _wrapper_of(array: np.ndarray | None) -> ForeignArray | None:
    if type(array) is not np.ndarray:
        return None
    found = _WRAPPERS.get(id(array))
    return found if found is not None and found._a is array else ForeignArray(array)


# the ufunc methods CuPy has, and for which ufuncs (its documentation, "Universal functions")
_UFUNC_METHODS = {
    "reduce": (np.add, np.multiply), "accumulate": (np.add, np.multiply), "reduceat": (np.add,),
    "at": (np.add, np.subtract, np.maximum, np.minimum, np.bitwise_and, np.bitwise_or, np.bitwise_xor),
}


def _unwrap(x: Any, strict: bool) -> Any:
    """Wrapped arrays unwrapped, in lists, tuples and dicts. `strict`: a NumPy array that is not 0-d
    is refused (a host array in a device computation); indices may be host arrays (CuPy copies them)."""
    kind = type(x)
    if kind is ForeignArray:
        return x._a
    if kind is np.ndarray:
        if strict and x.ndim > 0:
            raise TypeError(f"ForeignArray: unsupported operand, a NumPy array of shape {x.shape} (host data in a "
                            "device computation: move it to the device first)")
        return x
    if kind is tuple or kind is list:
        return kind(_unwrap(v, strict) for v in x)
    if kind is dict:
        return {k: _unwrap(v, strict) for k, v in x.items()}
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
    """numpy's functions, returning ForeignArrays (what `cupy` is to CuPy arrays)."""

    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(np, name)
        if not callable(attr) or isinstance(attr, type):
            return attr

        def function(*args: Any, **kwargs: Any) -> Any:
            return _wrap(attr(*_unwrap(args, strict=True), **_unwrap(kwargs, strict=True)))

        return function


def _as_strided(x: ForeignArray, shape: Any = None, strides: Any = None) -> ForeignArray:
    return ForeignArray(np.lib.stride_tricks.as_strided(x._a, shape, strides, writeable=False))


namespace = _Namespace(
    lib=types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided)),
    add=types.SimpleNamespace(at=lambda a, index, b: np.add.at(a._a, _unwrap(index, False), _unwrap(b, True))),
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
