"""Devices: which array library holds a Tensor's data, found from the array's type in one place.

"cpu" is NumPy. "cuda" is CuPy, registered the first time it is asked for (`pip install
'tinygrad_edu[gpu]'`). A device is an array type, a NumPy-like namespace that creates arrays of it,
and the two copies between it and the host. The ops are written once, with NumPy's functions: an
array of another library takes them over through NumPy's dispatch protocols (`__array_ufunc__`,
`__array_function__`); where an op creates an array from nothing it asks `array_module(x)` for the
namespace of an array it already has. Tests register a fake device ("foreign") the same way.

This module imports only NumPy and the standard library.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

GPU_INSTALL_HINT = "pip install 'tinygrad_edu[gpu]' (CuPy for CUDA 12; or pip install cupy-cuda13x for CUDA 13)"


@dataclass(frozen=True, eq=False, repr=False)
class Device:
    """An array library the Tensor can live on: its array type, namespace, and copies to and from the host."""

    name: str  # "cpu", "cuda:0", ...
    array_type: type
    namespace: Any  # numpy, cupy, or a module-like object with numpy's creation functions
    to_device: Callable[[np.ndarray], Any]
    to_host: Callable[[Any], np.ndarray]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"device({self.name!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return other in (self.name, self.name.split(":")[0])
        return isinstance(other, Device) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def type(self) -> str:
        """The kind without the index, as torch.device.type: "cpu", "cuda"."""
        return self.name.split(":")[0]


CPU = Device("cpu", np.ndarray, np, lambda a: a, lambda a: a)
_BY_NAME: dict[str, Device] = {"cpu": CPU}
_BY_TYPE: dict[type, Device] = {np.ndarray: CPU}
ARRAY_TYPES: set[type] = set()  # the array types of the devices other than the CPU (the engine reads it)


def register_device(device: Device, *aliases: str) -> Device:
    """Make a device known by its name (and aliases) and by its array type."""
    for name in (device.name, *aliases):
        _BY_NAME[name] = device
    _BY_TYPE[device.array_type] = device
    if device.array_type is not np.ndarray:
        ARRAY_TYPES.add(device.array_type)
    return device


def _register_cuda() -> Device:
    try:
        cupy = importlib.import_module("cupy")
    except ImportError:
        raise RuntimeError(f"device 'cuda' needs CuPy, which is not installed: {GPU_INSTALL_HINT}") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # (CuPy without a driver raises its own CUDARuntimeError)
        raise RuntimeError(f"device 'cuda': CuPy is installed but finds no GPU ({e})") from None
    if count < 1:
        raise RuntimeError("device 'cuda': CuPy is installed but finds no GPU")
    return register_device(Device("cuda:0", cupy.ndarray, cupy, cupy.asarray, cupy.asnumpy), "cuda")


def get_device(device: Any) -> Device:
    """The Device for "cpu", "cuda", "cuda:0", a Device, or None (the CPU).

    >>> get_device("cpu"), get_device(None) == "cpu"
    (device('cpu'), True)
    """
    if device is None:
        return CPU
    if isinstance(device, Device):
        return device
    name = str(device)
    found = _BY_NAME.get(name)
    if found is not None:
        return found
    if name in ("cuda", "cuda:0"):
        return _register_cuda()
    if name.startswith("cuda:"):
        raise RuntimeError(f"device {name!r}: only one GPU, 'cuda:0' (or 'cuda'), is supported")
    raise RuntimeError(f"unknown device {name!r}: expected 'cpu' or 'cuda'")


def device_of(data: Any) -> Device:
    """The device an array lives on (NumPy scalars and Python numbers: the CPU)."""
    return _BY_TYPE.get(type(data), CPU)


def array_module(x: Any) -> Any:
    """The NumPy-like namespace of an array: numpy, or its device's (for arrays created from nothing).

    >>> array_module(np.ones(2)).zeros(3)
    array([0., 0., 0.])
    """
    return np if type(x) is np.ndarray else _BY_TYPE.get(type(x), CPU).namespace


def launch_bound(arrays: list[Any]) -> bool:
    """Whether work on these arrays is paid in kernel launches (15-30 µs of the CPU's time each, whatever
    the size) more than in memory traffic, so that laying them end to end in one array first pays (what
    foreach=None decides by): arrays of a device other than the CPU, more than 8 of them, of under 1 MiB
    on average. That is when CuPy joins them with one kernel (with fewer or larger ones it launches one
    copy per array), and a pass over 1 MiB costs a GPU's memory less than a microsecond. The char GPT's
    parameter groups (19 matrices of 163 KiB on average, 35 vectors of under 1 KiB) are; an MLP's 6
    parameters are not.

    >>> launch_bound([np.ones(3)] * 20)   # the CPU: no launches
    False
    """
    first = arrays[0]
    if type(first) is np.ndarray or type(first) not in _BY_TYPE or len(arrays) <= 8:
        return False
    return sum(a.size * a.dtype.itemsize for a in arrays) < 2**20 * len(arrays)


def is_array(x: Any) -> bool:
    """Whether x is a raw array of a known device (not a graph node, not a number)."""
    return type(x) is np.ndarray or type(x) in _BY_TYPE


def move_to(x: Any, device: Device) -> Any:
    """An array on `device`: x itself when it is there, else a copy (through the host from another device)."""
    return x if device_of(x) is device else device.to_device(to_host(x))


def copy_to(x: Any, device: Device) -> Any:
    """A fresh copy of an array on `device`, also when it is there already."""
    return x.copy() if device_of(x) is device else move_to(x, device)


def to_host(x: Any) -> np.ndarray:
    """An array's data as a NumPy array (a copy for a device array; the same array on the CPU)."""
    kind = type(x)
    if kind is np.ndarray:
        return x
    device = _BY_TYPE.get(kind)
    return np.asarray(x) if device is None else device.to_host(x)
