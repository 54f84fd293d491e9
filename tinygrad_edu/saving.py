"""Saving and loading parameters as NumPy .npz archives (one .npy array per parameter name).

Loading never unpickles anything, so a file cannot run code: it reads numeric arrays only. It cannot be
made to exhaust memory either: before reading any data it checks what the zip directory declares (the
total uncompressed size against `max_bytes`, entries that overlap as in a zip bomb), then each array's
declared shape against what its entry can hold, and only then allocates the array.

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

import io
import math
import os
import stat
import struct
import sys
import uuid
import zipfile
import zlib
from collections.abc import Mapping
from typing import IO, Any, TypeVar, overload

import numpy as np

from .device import is_array, to_host
from .engine import Node
from .nn import Module

__all__ = ["UnsafeFileError", "load", "save"]

PathLike = str | os.PathLike[str]
T = TypeVar("T")
MAX_BYTES = 1 << 30  # load's default limit on an archive's total uncompressed size: 1 GiB (134M float64s)
NPY_MAGIC = b"\x93NUMPY"
NPY_VERSIONS = {(1, 0): "<H", (2, 0): "<I"}  # .npy format version -> how its header length is stored
MAX_HEADER_BYTES = 10_000  # NumPy's own limit on a .npy header (a short dict literal) that it parses safely
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first local header, or the end record of an empty zip
LOCAL_HEADER_BYTES = 30  # a zip entry's local header without its name and extra field
END_RECORD_BYTES = 22  # a zip's end-of-central-directory record without its comment
MAX_DEFLATE_RATIO = 1032  # deflate cannot expand data more than this, so no honest entry declares more
NUMERIC_KINDS = "fiub"  # float, int, unsigned, bool: what a parameter can hold
REFUSED_FLAGS = {0x1: "encrypted", 0x20: "compressed patched data", 0x40: "strongly encrypted"}  # zip flag bits
CHUNK_BYTES = 1 << 20  # an entry is read into its array this much at a time
# what a damaged archive makes zipfile, zlib or NumPy's header parser raise (OSError: a short or failed read)
CORRUPT_FILE_ERRORS = (
    zipfile.BadZipFile, zlib.error, struct.error, EOFError, OSError, ValueError, KeyError, IndexError,
    OverflowError, NotImplementedError, RuntimeError,
)


class UnsafeFileError(ValueError):
    """A file that `load` refuses: not a NumPy .npz archive of numeric arrays, damaged, or bigger than allowed.

    The message names the file and says what is wrong with it. Nothing in a refused file is unpickled
    or executed, and no memory is allocated for what it only declares.
    """


def save(obj: Any, path: PathLike) -> None:
    """Write a Module's state_dict, an optimizer's or a scheduler's state, or a dict of them, to `path`.

    `obj` is a Module, anything else with a `state_dict()` (an optimizer, a learning-rate scheduler), or a
    dict of name -> ndarray, Tensor, Value, number, or any of these objects (or nested dicts and lists):
    `save({"model": model, "optimizer": opt, "epoch": 5}, path)`. Nested names are joined with '/'
    ("optimizer/state/0/exp_avg"); a list of numbers is saved as one array.

    The file is a NumPy .npz archive (what np.savez writes, uncompressed) with one numeric entry per name,
    written at exactly `path` (no '.npz' is added) and atomically: a crash leaves the old file or the new one.
    """
    state = obj.state_dict() if _has_state(obj) else obj
    if not isinstance(state, Mapping):
        raise TypeError(
            f"save: expected a Module or a dict of arrays (or an optimizer or scheduler), got a {type(obj).__name__}"
        )
    if not state:
        raise ValueError(f"save: nothing to save to {os.fspath(path)!r}: the state dict is empty")
    flat: dict[str, Any] = {}
    for name, value in state.items():
        _flatten(_check_name(name), value, flat)
    if not flat:
        raise ValueError(f"save: nothing to save to {os.fspath(path)!r}: the state dict holds no arrays")
    arrays = {name: _as_array(name, value) for name, value in flat.items()}
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


@overload
def load(path: PathLike, *, max_bytes: int = ...) -> dict[str, np.ndarray]: ...
@overload
def load(path: PathLike, into: T, *, strict: bool = ..., max_bytes: int = ...) -> T: ...


def load(path: PathLike, into: Any = None, *, strict: bool = True, max_bytes: int = MAX_BYTES) -> Any:
    """Read a file written by `save` (or np.savez of numeric arrays): name -> ndarray, in file order.

    With `into`, load the file into it and return it: a Module (`model = load(path, into=MLP(...))`), an
    optimizer or scheduler, or a dict of them with the names they were saved under
    (`load(path, into={"model": model, "optimizer": opt})`). Each gets its `load_state_dict` called. A name
    that `into` has and the file lacks raises KeyError before anything is loaded, and so does one that the
    file has and `into` lacks unless `strict=False` (then it is left in the file; a Module then also takes
    a state with missing or unexpected keys, as `load_state_dict(strict=False)`).

    Refused with UnsafeFileError (a ValueError) naming the path: pickled Python objects (never unpickled,
    so they cannot run code), non-numeric arrays, a file that is not an .npz archive, an empty archive or
    one with other entries, a truncated or corrupt file, a shape bigger than the data present, and an
    archive whose entries declare more than `max_bytes` bytes in all (1 GiB by default; pass a larger
    limit for a bigger file you trust). A missing path raises FileNotFoundError, a directory
    IsADirectoryError.
    """
    where = os.fspath(path)
    if not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"load: max_bytes must be a non-negative int, got {max_bytes!r}")
    try:
        mode = os.stat(where).st_mode  # before opening: opening a FIFO or a device could block
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such file: {where!r}") from None
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"load: {where!r} is a directory, not an .npz file")
    if not stat.S_ISREG(mode):
        raise UnsafeFileError(f"load: {where!r} is not a regular file (a device, pipe or socket)")
    with open(where, "rb") as f:
        head = f.read(8)
        if not head.startswith(ZIP_MAGIC):
            raise UnsafeFileError(f"load: {where!r} is not an .npz archive: {_what_it_looks_like(head)}")
        size = os.fstat(f.fileno()).st_size
        try:
            declared = _declared_entry_count(f, size)
            f.seek(0)
            with zipfile.ZipFile(f) as archive:
                entries = _entries(archive, where, size, max_bytes, declared)
                state = {key: _read_entry(archive, info, where) for key, info in entries.items()}
        except UnsafeFileError:
            raise
        except CORRUPT_FILE_ERRORS as e:
            raise UnsafeFileError(f"load: {where!r} is truncated or corrupt ({type(e).__name__}: {e})") from e
    if into is None:
        return state
    _load_into(into, state, where, "", strict)
    return into


# --------------------------------------------------------------------------- saving helpers


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"save: every key must be a non-empty string (a parameter name), got {name!r}")
    return name


def _as_array(name: str, value: Any) -> np.ndarray:
    """A state value as an ndarray: a Tensor's data, a Value's number as a 0-d float64 array, a number."""
    data = value.data if isinstance(value, Node) else value
    data = to_host(data) if is_array(data) else data  # a GPU's parameters are written as host arrays
    array = np.asarray(data, dtype=np.float64 if isinstance(data, float) else None)
    if array.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"save: {name!r} holds {array.dtype} data; only numeric arrays can be saved")
    return array


def _has_state(obj: Any) -> bool:
    """A Module, an optimizer, a scheduler: anything that gives its state with state_dict()."""
    return not isinstance(obj, Mapping) and callable(getattr(obj, "state_dict", None))


def _flatten(name: str, value: Any, out: dict[str, Any]) -> None:
    """Put `value` in `out` under `name`; what it nests goes under 'name/key' (dicts) or 'name/i' (lists of
    dicts), and a Module's parameters under 'name/parameter.name'."""
    if _has_state(value):
        value = value.state_dict()
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, str | int) or key == "":
                raise TypeError(f"save: every key must be a non-empty string or an int, got {key!r} in {name!r}")
            _flatten(f"{name}/{key}", item, out)
    elif isinstance(value, list | tuple) and any(isinstance(v, Mapping | list | tuple) or _has_state(v) for v in value):
        for i, item in enumerate(value):
            _flatten(f"{name}/{i}", item, out)
    else:
        out[name] = value


# --------------------------------------------------------------------------- loading helpers


def _what_it_looks_like(head: bytes) -> str:
    if head.startswith(NPY_MAGIC):
        return "it is a single .npy array (np.save); save it with tinygrad_edu's save (or np.savez)"
    if head[:1] == b"\x80":
        return "it looks like a Python pickle, which is never loaded (unpickling can run arbitrary code)"
    if not head:
        return "the file is empty"
    return f"it starts with {head!r}, not with a zip archive's b'PK\\x03\\x04'"


def _declared_entry_count(f: IO[bytes], size: int) -> int | None:
    """How many entries a zip's end record says its directory holds (None for a zip64 count or no record).

    zipfile reads the directory by its size in bytes, so a corrupt length field inside it can hide
    entries; this count is how such a directory is caught."""
    f.seek(max(0, size - END_RECORD_BYTES - 0xFFFF))  # the end record is followed by a comment of < 64 KiB
    tail = f.read()
    at = tail.rfind(ZIP_MAGIC[1])
    if at < 0 or len(tail) - at < END_RECORD_BYTES:
        return None  # zipfile will say what is wrong
    (count,) = struct.unpack("<H", tail[at + 10 : at + 12])
    return None if count == 0xFFFF else count


def _entries(
    archive: zipfile.ZipFile, where: str, size: int, max_bytes: int, declared: int | None
) -> dict[str, zipfile.ZipInfo]:
    """The archive's entries by array name, after checking from the zip directory alone (nothing read yet)
    that each is a plain .npy entry the file can hold, that no two overlap, and that they fit max_bytes."""
    infos = archive.infolist()
    if declared is not None and declared != len(infos):
        raise UnsafeFileError(
            f"load: {where!r} is corrupt: its zip directory lists {len(infos)} entries, its end record {declared}"
        )
    if not infos:
        raise UnsafeFileError(f"load: {where!r} is an empty archive: it holds no arrays")
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        if not name.endswith(".npy") or info.is_dir():
            raise UnsafeFileError(
                f"load: {where!r} is not a NumPy .npz archive: its entry {name!r} is not a .npy array"
            )
        key = name[: -len(".npy")]
        if key in entries:
            raise UnsafeFileError(f"load: {where!r} holds the entry {name!r} twice")
        for bit, what in REFUSED_FLAGS.items():
            if info.flag_bits & bit:
                raise UnsafeFileError(f"load: {where!r}: entry {name!r} is {what}, which load does not read")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnsafeFileError(f"load: {where!r}: entry {name!r} uses an unsupported zip compression")
        if info.header_offset + info.compress_size > size:
            raise UnsafeFileError(
                f"load: {where!r} is truncated: entry {name!r} declares {info.compress_size} bytes at offset "
                f"{info.header_offset}, past the end of the file ({size} bytes)"
            )
        entries[key] = info
    _check_no_overlap(infos, where)
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        biggest = max(infos, key=lambda info: info.file_size)
        raise UnsafeFileError(
            f"load: {where!r} declares {total} bytes of uncompressed data ({biggest.filename!r} alone "
            f"{biggest.file_size}), more than max_bytes={max_bytes}; if you trust this file, pass a larger "
            "max_bytes to load"
        )
    return entries


def _check_no_overlap(infos: list[zipfile.ZipInfo], where: str) -> None:
    """Refuse entries whose bytes overlap: a zip bomb's trick to make one stretch of data count many times."""
    spans = sorted(infos, key=lambda info: info.header_offset)
    for info, after in zip(spans, spans[1:]):
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        shortest = LOCAL_HEADER_BYTES + len(info.orig_filename.encode(encoding)) + info.compress_size
        if info.header_offset + shortest > after.header_offset:
            raise UnsafeFileError(
                f"load: {where!r}: entries {info.filename!r} and {after.filename!r} overlap in the file "
                "(a zip bomb's trick, or a corrupt directory)"
            )


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> np.ndarray:
    """One entry's array, read without unpickling and allocated only after its declared size has been checked."""
    name = info.filename
    with archive.open(info) as entry:
        shape, fortran_order, dtype, header = _read_npy_header(entry, name, where)
        nbytes = math.prod(shape) * dtype.itemsize
        ratio = 1 if info.compress_type == zipfile.ZIP_STORED else MAX_DEFLATE_RATIO
        room = min(info.file_size, info.compress_size * ratio) - header
        if nbytes > room:
            raise UnsafeFileError(
                f"load: {where!r}: entry {name!r} declares shape {shape} of {dtype} ({nbytes} bytes) but holds "
                f"at most {max(room, 0)} bytes of data: the file is truncated or forged"
            )
        buffer = np.empty(nbytes, dtype=np.uint8)  # at most what the checked directory declares
        view, filled = buffer.data, 0  # a memoryview of the array
        while filled < nbytes:
            chunk = entry.read(min(CHUNK_BYTES, nbytes - filled))
            if not chunk:
                break
            view[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
        if filled != nbytes:
            raise UnsafeFileError(
                f"load: {where!r} is truncated: entry {name!r} should hold {nbytes} bytes of data, it has {filled}"
            )
        if entry.read(1):  # reading to the end also makes zipfile check the entry's CRC-32
            raise UnsafeFileError(f"load: {where!r}: entry {name!r} has data past the end of its array")
    array = buffer.view(dtype)
    return array.reshape(shape[::-1]).T if fortran_order else array.reshape(shape)


def _read_npy_header(entry: IO[bytes], name: str, where: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """An entry's .npy header, parsed by NumPy's safe literal parser once its length has been checked:
    (shape, fortran_order, dtype, where the data starts). Refuses dtypes that are not plain numbers."""
    start = entry.read(len(NPY_MAGIC) + 2)
    if start[: len(NPY_MAGIC)] != NPY_MAGIC:
        raise UnsafeFileError(f"load: {where!r}: entry {name!r} is not a NumPy array (no .npy header)")
    if len(start) < len(NPY_MAGIC) + 2:
        raise UnsafeFileError(f"load: {where!r} is truncated: the .npy header of entry {name!r} is cut short")
    version = (start[-2], start[-1])
    if version not in NPY_VERSIONS:  # version 3 only adds utf-8 field names, which numeric arrays never need
        raise UnsafeFileError(f"load: {where!r}: entry {name!r} has an unsupported .npy version {version}")
    length_field = entry.read(struct.calcsize(NPY_VERSIONS[version]))
    (length,) = struct.unpack(NPY_VERSIONS[version], length_field)  # struct.error when cut short: "corrupt"
    if length > MAX_HEADER_BYTES:
        raise UnsafeFileError(
            f"load: {where!r}: entry {name!r} declares a .npy header of {length} bytes (at most "
            f"{MAX_HEADER_BYTES} are read)"
        )
    header = entry.read(length)
    if len(header) != length:
        raise UnsafeFileError(f"load: {where!r} is truncated: the .npy header of entry {name!r} is cut short")
    parse = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    try:
        shape, fortran_order, dtype = parse(io.BytesIO(length_field + header), max_header_size=MAX_HEADER_BYTES)
    except ValueError as e:
        raise UnsafeFileError(f"load: {where!r}: entry {name!r} has an invalid .npy header ({e})") from e
    if dtype.hasobject:
        raise UnsafeFileError(
            f"load: {where!r}: entry {name!r} holds pickled Python objects (dtype {dtype}); refused without "
            "unpickling, since unpickling can run arbitrary code"
        )
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise UnsafeFileError(
            f"load: {where!r}: entry {name!r} holds {dtype} data, not numbers (bool, integer or floating point)"
        )
    if any(n < 0 for n in shape) or len(shape) > 64 or math.prod(n for n in shape if n) * dtype.itemsize > sys.maxsize:
        raise UnsafeFileError(f"load: {where!r}: entry {name!r} declares an impossible shape {shape}")
    return shape, fortran_order, dtype, len(start) + len(length_field) + length


def _load_into(into: Any, state: dict[str, np.ndarray], where: str, prefix: str, strict: bool) -> None:
    """Give each target in `into` the part of `state` saved under its name (all of it for a single target)."""
    if isinstance(into, Mapping):
        names = {name.split("/", 1)[0] for name in state}
        missing = [k for k in into if k not in names]
        unexpected = sorted(names - {str(k) for k in into}) if strict else []
        if missing or unexpected:
            parts = [f"{prefix}{k!r} is not in the file" for k in missing]
            parts += [f"the file's {prefix}{k!r} has nowhere to go" for k in unexpected]
            hint = "; pass strict=False to leave what into does not name" if unexpected else ""
            raise KeyError(
                f"load: {where!r} into a dict: " + "; ".join(parts) + f" (the file holds {sorted(names)}){hint}"
            )
        parts_of = {k: {n.split("/", 1)[1]: a for n, a in state.items() if n.startswith(f"{k}/")} for k in into}
        for k, target in into.items():
            if not isinstance(target, Mapping) and not callable(getattr(target, "load_state_dict", None)):
                raise TypeError(f"load: into[{k!r}] is a {type(target).__name__}, which has no load_state_dict")
        for k, target in into.items():
            _load_into(target, parts_of[k], where, f"{prefix}{k}/", strict)
        return
    if not callable(getattr(into, "load_state_dict", None)):
        raise TypeError(
            f"load: into must be a Module, an optimizer, a scheduler or a dict of them, got a {type(into).__name__}"
        )
    if isinstance(into, Module):
        if "/" in "".join(state) and not any("/" in name for name, _ in into._named_state()):
            saved = sorted({name.split("/", 1)[0] for name in state})
            raise KeyError(
                f"load: {where!r} holds several objects ({', '.join(saved)}), not one model's parameters; "
                f"load it with into={{{', '.join(f'{n!r}: ...' for n in saved)}}}"
            )
        into.load_state_dict(state, strict=strict)
    else:
        into.load_state_dict(_unflatten(state))


def _unflatten(state: dict[str, np.ndarray]) -> dict[Any, Any]:
    """Nested dicts from 'a/b/c' names (the inverse of save's flattening; an all-digit key becomes an int)."""
    nested: dict[Any, Any] = {}
    for name, array in state.items():
        *path, last = [int(k) if k.isdigit() else k for k in name.split("/")]
        node = nested
        for key in path:
            node = node.setdefault(key, {})
        node[last] = array
    return nested

