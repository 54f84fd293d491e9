"""Saving and loading parameters as NumPy .npz archives (one .npy array per parameter name).

Loading never unpickles anything, so a file cannot run code: it reads numeric arrays only, and checks
every array's declared size against what the archive can hold before allocating memory for it.

>>> import os, tempfile
>>> from tinygrad_edu.saving import load, save
>>> from tinygrad_edu.nn import MLP
>>> model, copy = MLP([2, 3, 1], rng=0), MLP([2, 3, 1], rng=1)
>>> with tempfile.TemporaryDirectory() as folder:
...     save(model, os.path.join(folder, "model.npz"))
...     state = load(os.path.join(folder, "model.npz"))
>>> list(state)
['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']
>>> copy.load_state_dict(state)
LoadResult(missing_keys=[], unexpected_keys=[])
>>> x = Tensor(np.ones((1, 2))); bool((copy(x).data == model(x).data).all())
True
"""

from __future__ import annotations

import math
import os
import uuid
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from .engine import Node
from .nn import Module

__all__ = ["UnsafeFileError", "load", "save"]

PathLike = str | os.PathLike[str]
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first local header, or the end record of an empty zip
MAX_DEFLATE_RATIO = 1032  # deflate cannot expand data more than this, so no honest entry declares more
NUMERIC_KINDS = "fiub"  # float, int, unsigned, bool: what a parameter can hold


class UnsafeFileError(ValueError):
    """A file that `load` refuses: not a NumPy .npz archive of numeric arrays, or damaged."""


def save(obj: Module | Mapping[str, Any], path: PathLike) -> None:
    """Write a Module's state_dict, or a state dict (name -> ndarray, Tensor, Value or number), to `path`.

    The file is a NumPy .npz archive (what np.savez writes, uncompressed) with one entry per name, written
    at exactly `path` (no '.npz' is added) and atomically: a crash leaves the old file or the new one.
    """
    state = obj.state_dict() if isinstance(obj, Module) else obj
    if not isinstance(state, Mapping):
        raise TypeError(f"save: expected a Module or a dict of arrays, got a {type(obj).__name__}")
    if not state:
        raise ValueError(f"save: nothing to save to {os.fspath(path)!r}: the state dict is empty")
    arrays = {_check_name(name): _as_array(name, value) for name, value in state.items()}
    target = os.fspath(path)
    folder = os.path.dirname(target) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: cannot write {target!r}: the directory {folder!r} does not exist")
    temporary = f"{target}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"  # beside the target, for an atomic rename
    try:
        with open(temporary, "xb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name, array in arrays.items():
                with archive.open(name + ".npy", "w", force_zip64=True) as entry:  # as np.savez does
                    np.lib.format.write_array(entry, array, allow_pickle=False)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def load(path: PathLike) -> dict[str, np.ndarray]:
    """Read a file written by `save` (or np.savez of numeric arrays): name -> ndarray, in file order.

    Refused with UnsafeFileError (a ValueError) naming the path: pickled Python objects (never unpickled,
    so they cannot run code), non-numeric arrays, a file that is not an .npz archive, an empty archive or
    one with other entries, and a truncated or corrupt file. A missing file raises FileNotFoundError.
    """
    where = os.fspath(path)
    try:
        with open(where, "rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such file: {where!r}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"load: {where!r} is a directory, not an .npz file") from None
    if not head.startswith(ZIP_MAGIC):
        raise UnsafeFileError(f"load: {where!r} is not an .npz archive: {_what_it_looks_like(head)}")
    size = os.path.getsize(where)
    try:
        with np.load(where, allow_pickle=False) as archive:
            entries = _entries(archive.zip, where, size)
            return {key: _read_entry(archive.zip, info, where, size) for key, info in entries.items()}
    except UnsafeFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as e:
        raise UnsafeFileError(f"load: {where!r} is truncated or corrupt ({type(e).__name__}: {e})") from e


# --------------------------------------------------------------------------- saving helpers


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"save: every key must be a non-empty string (a parameter name), got {name!r}")
    return name


def _as_array(name: str, value: Any) -> np.ndarray:
    """A state value as an ndarray: a Tensor's data, a Value's number as a 0-d float64 array, a number."""
    data = value.data if isinstance(value, Node) else value
    array = np.asarray(data, dtype=np.float64 if isinstance(data, float) else None)
    if array.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"save: {name!r} holds {array.dtype} data; only numeric arrays can be saved")
    return array


# --------------------------------------------------------------------------- loading helpers


def _what_it_looks_like(head: bytes) -> str:
    if head.startswith(NPY_MAGIC):
        return "it is a single .npy array (np.save); save it with tinygrad_edu's save (or np.savez)"
    if head[:1] == b"\x80":
        return "it looks like a Python pickle, which is never loaded (unpickling can run arbitrary code)"
    if not head:
        return "the file is empty"
    return f"it starts with {head!r}, not with a zip archive's b'PK\\x03\\x04'"


def _entries(archive: zipfile.ZipFile, where: str, size: int) -> dict[str, zipfile.ZipInfo]:
    """The archive's entries by array name, after checking that each is a .npy entry the file can hold."""
    infos = archive.infolist()
    if not infos:
        raise UnsafeFileError(f"load: {where!r} is an empty archive: it holds no arrays")
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if not info.filename.endswith(".npy") or info.is_dir():
            raise UnsafeFileError(
                f"load: {where!r} is not a NumPy .npz archive: its entry {info.filename!r} is not a .npy array"
            )
        key = info.filename[: -len(".npy")]
        if key in entries:
            raise UnsafeFileError(f"load: {where!r} holds the entry {info.filename!r} twice")
        if info.flag_bits & 0x1:
            raise UnsafeFileError(f"load: {where!r}: entry {info.filename!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnsafeFileError(f"load: {where!r}: entry {info.filename!r} uses an unsupported zip compression")
        if info.compress_size > size:
            raise UnsafeFileError(
                f"load: {where!r} is truncated: entry {info.filename!r} declares {info.compress_size} bytes "
                f"but the whole file has {size}"
            )
        entries[key] = info
    return entries


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, size: int) -> np.ndarray:
    """One entry's array, read without unpickling and only after its declared size has been checked."""
    name = info.filename
    with archive.open(info) as entry:
        if entry.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise UnsafeFileError(f"load: {where!r}: entry {name!r} is not a NumPy array (no .npy header)")
        entry.seek(0)
        version = np.lib.format.read_magic(entry)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(entry)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(entry)
        else:  # version 3 only adds utf-8 field names, which numeric arrays never need
            raise UnsafeFileError(f"load: {where!r}: entry {name!r} has an unsupported .npy version {version}")
        if dtype.hasobject:
            raise UnsafeFileError(
                f"load: {where!r}: entry {name!r} holds pickled Python objects (dtype {dtype}); refused without "
                "unpickling, since unpickling can run arbitrary code"
            )
        if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
            raise UnsafeFileError(f"load: {where!r}: entry {name!r} holds {dtype} data, not numbers")
        if any(n < 0 for n in shape):
            raise UnsafeFileError(f"load: {where!r}: entry {name!r} declares an impossible shape {shape}")
        nbytes = math.prod(shape) * dtype.itemsize
        header = entry.tell()
        ratio = 1 if info.compress_type == zipfile.ZIP_STORED else MAX_DEFLATE_RATIO
        room = min(info.file_size, info.compress_size * ratio) - header
        if nbytes > room:
            raise UnsafeFileError(
                f"load: {where!r}: entry {name!r} declares shape {shape} of {dtype} ({nbytes} bytes) but holds "
                f"at most {max(room, 0)} bytes of data: the file is truncated or forged"
            )
        data = entry.read(nbytes)
        if len(data) != nbytes:
            raise UnsafeFileError(
                f"load: {where!r} is truncated: entry {name!r} should hold {nbytes} bytes of data, it has {len(data)}"
            )
        if entry.read(1):  # reading to the end also makes zipfile check the entry's CRC-32
            raise UnsafeFileError(f"load: {where!r}: entry {name!r} has data past the end of its array")
    array = np.frombuffer(data, dtype=dtype).copy()  # a writable array of its own, not a view of the bytes
    return array.reshape(shape[::-1]).T if fortran_order else array.reshape(shape)
