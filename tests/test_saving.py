"""save and load: round trips judged by the restored models' outputs, compatibility with NumPy's own
np.savez / np.load, and hostile files built here byte by byte: a pickle whose unpickling would write a
marker file (the marker must never appear, and pickle itself is made to fail if load touches it), forged
array sizes and headers, zip bombs (sizes declared in the zip directory, overlapping entries, deflated
zeros), a file cut at every offset and damaged at every byte, foreign zips and files, pipes and devices.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu import Tensor, Value
from tinygrad_edu.nn import MLP, ScalarMLP
from tinygrad_edu.saving import UnsafeFileError, load, save

# ----------------------------------------------------------------------------- a payload that must never run


def write_marker(path: str) -> None:
    """What unpickling the payload does: a harmless stand-in for running an attacker's code."""
    Path(path).write_text("the pickle ran")


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return write_marker, (self.marker,)


# ----------------------------------------------------------------------------- round trips


def test_mlp_round_trip_restores_identical_outputs(tmp_path: Path) -> None:
    model, other = MLP([3, 8, 8, 2], rng=0), MLP([3, 8, 8, 2], rng=1)
    x = Tensor(np.random.default_rng(0).standard_normal((16, 3)))
    assert not np.array_equal(model(x).data, other(x).data)
    path = tmp_path / "mlp.npz"
    save(model, path)
    state = load(path)
    assert list(state) == [name for name, _ in model.named_parameters()]
    assert all(type(a) is np.ndarray and a.flags.writeable for a in state.values())
    for name, p in model.named_parameters():
        assert np.array_equal(state[name], p.data) and state[name].dtype == p.data.dtype
    other.load_state_dict(state)
    assert np.array_equal(other(x).data, model(x).data)


def test_float32_model_keeps_its_dtype(tmp_path: Path) -> None:
    model, other = MLP([2, 4, 1], rng=0, dtype=np.float32), MLP([2, 4, 1], rng=5, dtype=np.float32)
    save(model, str(tmp_path / "f32.npz"))
    state = load(str(tmp_path / "f32.npz"))
    assert all(a.dtype == np.float32 for a in state.values())
    other.load_state_dict(state)
    x = Tensor(np.ones((3, 2), dtype=np.float32))
    assert np.array_equal(other(x).data, model(x).data)


def test_scalar_mlp_round_trip_restores_identical_outputs(tmp_path: Path) -> None:
    model, other = ScalarMLP([2, 4, 1], rng=0), ScalarMLP([2, 4, 1], rng=1)
    inputs = [[0.5, -1.0], [2.0, 0.25], [0.0, 0.0]]
    save(model, tmp_path / "scalar.npz")
    state = load(tmp_path / "scalar.npz")
    assert all(a.shape == () and a.dtype == np.float64 for a in state.values())
    other.load_state_dict(state)
    assert [other(x).data for x in inputs] == [model(x).data for x in inputs]


def test_state_dict_of_mixed_values_and_exact_path(tmp_path: Path) -> None:
    path = tmp_path / "weights"  # no extension: the file is written at exactly this path
    save({"t": Tensor([[1.0, 2.0]]), "v": Value(3.5), "f": 0.25, "i": np.arange(3), "b": np.array([True])}, path)
    assert os.listdir(tmp_path) == ["weights"]  # and no temporary file is left behind
    state = load(path)
    assert state["t"].tolist() == [[1.0, 2.0]] and state["v"].item() == 3.5 and state["f"].item() == 0.25
    assert state["i"].dtype.kind == "i" and state["i"].tolist() == [0, 1, 2] and state["b"].dtype == bool
    assert sorted(np.load(path, allow_pickle=False).files) == ["b", "f", "i", "t", "v"]  # NumPy reads it too


def test_names_numpy_savez_could_not_take(tmp_path: Path) -> None:
    save({"file": np.ones(2), "allow_pickle": np.zeros(1), "layers.0.weight": np.eye(2)}, tmp_path / "a.npz")
    assert list(load(tmp_path / "a.npz")) == ["file", "allow_pickle", "layers.0.weight"]


def test_files_written_by_numpy_load(tmp_path: Path) -> None:
    arrays = {
        "c": np.arange(6.0).reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "big_endian": np.arange(4, dtype=">f8"),
        "empty": np.zeros((0, 3)),
    }
    np.savez(tmp_path / "plain.npz", **arrays)  # type: ignore[arg-type]
    np.savez_compressed(tmp_path / "packed.npz", **arrays)  # type: ignore[arg-type]
    for name in ("plain.npz", "packed.npz"):
        state = load(tmp_path / name)
        assert set(state) == set(arrays)
        for key, array in arrays.items():
            assert state[key].shape == array.shape and np.array_equal(state[key], array)


def test_save_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="numeric"):
        save({"w": np.array(["a"])}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="numeric"):
        save({"w": np.array([object()])}, tmp_path / "x.npz")
    with pytest.raises(ValueError, match="empty"):
        save({}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="non-empty string"):
        save({1: np.ones(1)}, tmp_path / "x.npz")  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="Module or a dict"):
        save([np.ones(1)], tmp_path / "x.npz")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({"w": np.ones(1)}, tmp_path / "missing" / "x.npz")
    assert os.listdir(tmp_path) == []


def test_save_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    save({"w": np.ones(2)}, path)
    save({"w": np.zeros(2)}, path)
    assert load(path)["w"].tolist() == [0.0, 0.0]


# ----------------------------------------------------------------------------- pickles never run


def test_the_payload_is_live(tmp_path: Path) -> None:
    """The control: NumPy with allow_pickle=True does run it, so the refusals below mean something."""
    marker = tmp_path / "marker"
    np.savez(tmp_path / "evil.npz", evil=np.array([Payload(marker)], dtype=object))
    assert not marker.exists()
    with np.load(tmp_path / "evil.npz", allow_pickle=True) as archive:
        archive["evil"]
    assert marker.exists()


def test_object_array_in_an_npz_is_refused_unexecuted(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "evil.npz"
    np.savez(path, weight=np.ones(3), evil=np.array([Payload(marker)], dtype=object))
    with pytest.raises(UnsafeFileError, match=r"'evil\.npy' holds pickled Python objects") as info:
        load(path)
    assert isinstance(info.value, ValueError) and str(path) in str(info.value)
    assert not marker.exists()


def test_raw_pickle_file_is_refused_unexecuted(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps({"weight": Payload(marker)}))
    with pytest.raises(UnsafeFileError, match="pickle"):
        load(path)
    assert not marker.exists()


def test_pickle_bytes_inside_an_archive_entry_are_refused_unexecuted(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "model.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weight.npy", pickle.dumps(Payload(marker)))  # no .npy header: NumPy returns raw bytes
    with pytest.raises(UnsafeFileError, match="not a NumPy array"):
        load(path)
    assert not marker.exists()


def test_single_npy_with_objects_is_refused_unexecuted(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "weights.npy"
    np.save(path, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(UnsafeFileError, match=r"single \.npy array"):
        load(path)
    assert not marker.exists()


# ----------------------------------------------------------------------------- forged sizes


def forged_npz(path: Path, shape: tuple[int, ...], data: bytes, compression: int = zipfile.ZIP_STORED) -> None:
    """An archive with one entry whose .npy header declares `shape` of float64 but holds `data`."""
    entry = io.BytesIO()
    np.lib.format.write_array_header_1_0(entry, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("w.npy", entry.getvalue() + data)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_huge_declared_shape_is_refused_before_allocating(tmp_path: Path, compression: int) -> None:
    path = tmp_path / "huge.npz"
    forged_npz(path, (10**15,), b"\0" * 16, compression)  # 8 PB declared, 16 bytes present
    with pytest.raises(UnsafeFileError, match=r"declares shape \(1000000000000000,\).*holds at most 16 bytes"):
        load(path)


def test_declared_shape_larger_than_the_data_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.npz"
    forged_npz(path, (4,), b"\0" * 24)
    with pytest.raises(UnsafeFileError, match="declares shape"):
        load(path)


def test_negative_shape_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "negative.npz"
    forged_npz(path, (-2, 3), b"\0" * 48)
    with pytest.raises(UnsafeFileError, match="impossible shape"):
        load(path)


def test_trailing_data_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.npz"
    forged_npz(path, (1,), b"\0" * 16)
    with pytest.raises(UnsafeFileError, match="past the end"):
        load(path)


def test_non_numeric_arrays_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "text.npz", names=np.array(["w", "b"]))
    with pytest.raises(UnsafeFileError, match="not numbers"):
        load(tmp_path / "text.npz")


# ----------------------------------------------------------------------------- damaged and foreign files


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "model.npz"
    save({"w": np.arange(100.0), "b": np.ones(3)}, path)
    return path


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99, 30])
def test_truncated_file(saved: Path, keep: float) -> None:
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * keep) if keep < 1 else int(keep)])
    with pytest.raises(UnsafeFileError, match="truncated or corrupt") as info:
        load(saved)
    assert str(saved) in str(info.value)


def test_corrupt_data_fails_the_checksum(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    at = bytes(data).index(np.arange(100.0).tobytes()) + 80
    data[at] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(UnsafeFileError, match="corrupt"):
        load(saved)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nothing.npz"
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        load(path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="directory"):
        load(tmp_path)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "the file is empty"),
        (b"weights: [1, 2, 3]\n", "not an .npz archive"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "not an .npz archive"),
    ],
)
def test_foreign_files(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(UnsafeFileError, match=match) as info:
        load(path)
    assert str(path) in str(info.value)


def test_foreign_and_empty_archives(tmp_path: Path) -> None:
    foreign = tmp_path / "docs.npz"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(UnsafeFileError, match=r"entry 'readme\.txt' is not a \.npy array") as info:
        load(foreign)
    assert str(foreign) in str(info.value)
    empty = tmp_path / "empty.npz"
    with zipfile.ZipFile(empty, "w"):
        pass
    with pytest.raises(UnsafeFileError, match="empty archive"):
        load(empty)


# ----------------------------------------------------------------------------- every cut, every flipped byte


def small_archives(tmp_path: Path) -> dict[str, tuple[bytes, dict[str, np.ndarray]]]:
    """Our own file (stored) and NumPy's compressed one, small enough to damage at every byte."""
    arrays = {"w": np.arange(6.0).reshape(2, 3), "b": np.array([1, 2], dtype=np.int32)}
    save(arrays, tmp_path / "ours.npz")
    np.savez_compressed(tmp_path / "numpy.npz", **arrays)  # type: ignore[arg-type]
    return {name: ((tmp_path / f"{name}.npz").read_bytes(), arrays) for name in ("ours", "numpy")}


def test_a_file_cut_at_any_offset_is_refused(tmp_path: Path) -> None:
    for name, (data, _) in small_archives(tmp_path).items():
        path = tmp_path / f"cut-{name}.npz"
        for cut in range(len(data)):
            path.write_bytes(data[:cut])
            with pytest.raises(UnsafeFileError) as info:
                load(path)
            assert str(path) in str(info.value), cut


def test_every_flipped_byte_is_refused_or_harmless(tmp_path: Path) -> None:
    """Flip each byte in turn: load refuses the file with UnsafeFileError (never another exception), or the
    byte was one that does not matter (a version field, a timestamp) and the arrays come back exactly."""
    for name, (data, arrays) in small_archives(tmp_path).items():
        path = tmp_path / f"flipped-{name}.npz"
        refused = 0
        for at in range(len(data)):
            for mask in (0x01, 0xFF):
                damaged = bytearray(data)
                damaged[at] ^= mask
                path.write_bytes(bytes(damaged))
                try:
                    state = load(path)
                except UnsafeFileError as e:
                    assert str(path) in str(e)
                    refused += 1
                    continue
                assert list(state) == list(arrays), (name, at, mask)
                for key, array in arrays.items():
                    assert state[key].dtype == array.dtype and np.array_equal(state[key], array), (name, at, mask)
        assert refused > len(data)  # most bytes matter: the test is not vacuous


# ----------------------------------------------------------------------------- zip directories made by hand


def handmade_zip(
    path: Path,
    entries: list[tuple[str, bytes]],
    *,
    declared_size: dict[str, int] | None = None,
    compress_size: dict[str, int] | None = None,
    flags: int = 0,
) -> None:
    """A zip of stored entries written field by field, so that its directory can say what it likes:
    `declared_size` overrides an entry's uncompressed size, `compress_size` the size of its data."""
    body, central = bytearray(), bytearray()
    for name, data in entries:
        raw, crc = name.encode(), zlib.crc32(data)
        size = (declared_size or {}).get(name, len(data))
        packed = (compress_size or {}).get(name, len(data))
        offset = len(body)
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, 0, 0, 0, crc, packed, size, len(raw), 0) + raw + data
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, 0, 0, 0, crc, packed, size, len(raw), 0, 0, 0, 0, 0, offset
        ) + raw
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(body), 0)
    path.write_bytes(bytes(body + central + end))


def npy_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, array, allow_pickle=False)
    return out.getvalue()


def test_handmade_zip_is_a_valid_archive(tmp_path: Path) -> None:
    """The control for the forgeries below: undoctored, the hand-made archive loads."""
    handmade_zip(tmp_path / "ok.npz", [("w.npy", npy_bytes(np.arange(4.0))), ("b.npy", npy_bytes(np.ones(2)))])
    state = load(tmp_path / "ok.npz")
    assert state["w"].tolist() == [0, 1, 2, 3] and state["b"].tolist() == [1, 1]


def test_zip_bomb_size_in_the_directory_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "bomb.npz"
    handmade_zip(path, [("w.npy", npy_bytes(np.zeros(4)))], declared_size={"w.npy": 2**32 - 1})  # 4 GiB declared
    with pytest.raises(UnsafeFileError, match=r"declares 4294967295 bytes of uncompressed data.*max_bytes=1073741824"):
        load(path)


def test_deflate_bomb_is_refused_unless_the_caller_raises_the_limit(tmp_path: Path) -> None:
    """An honest archive of 16 MiB of zeros compresses to a few KiB: it loads only within max_bytes."""
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, w=np.zeros(2**21))
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeFileError, match=r"more than max_bytes=1048576; if you trust"):
            load(path, max_bytes=2**20)
        assert tracemalloc.get_traced_memory()[1] < 2**20  # refused before allocating anything like 16 MiB
    finally:
        tracemalloc.stop()
    w = load(path, max_bytes=2**25)["w"]
    assert w.shape == (2**21,) and not w.any()


def test_max_bytes_is_checked(tmp_path: Path, saved: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes must be a non-negative int"):
        load(saved, max_bytes=-1)
    with pytest.raises(UnsafeFileError, match="max_bytes=0"):
        load(saved, max_bytes=0)


def test_overlapping_entries_are_refused(tmp_path: Path) -> None:
    """A zip bomb's trick: one entry's data runs over the next entry, so the same bytes count twice."""
    path = tmp_path / "overlap.npz"
    first, second = npy_bytes(np.zeros(4)), npy_bytes(np.ones(4))
    handmade_zip(path, [("a.npy", first), ("b.npy", second)], compress_size={"a.npy": len(first) + 40})
    with pytest.raises(UnsafeFileError, match="entries 'a.npy' and 'b.npy' overlap"):
        load(path)


def test_entry_past_the_end_of_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.npz"
    handmade_zip(path, [("w.npy", npy_bytes(np.zeros(4)))], compress_size={"w.npy": 10**6})
    with pytest.raises(UnsafeFileError, match="past the end of the file"):
        load(path)


@pytest.mark.parametrize(
    "flag, what", [(0x1, "encrypted"), (0x40, "strongly encrypted"), (0x20, "compressed patched data")]
)
def test_encrypted_or_patched_entries_are_refused(tmp_path: Path, flag: int, what: str) -> None:
    path = tmp_path / "locked.npz"
    handmade_zip(path, [("w.npy", npy_bytes(np.zeros(4)))], flags=flag)
    with pytest.raises(UnsafeFileError, match=f"'w.npy' is {what}"):
        load(path)


def test_directory_that_hides_an_entry_is_refused(tmp_path: Path) -> None:
    """A corrupt comment length in the zip directory swallows the next record: the end record's count
    of entries catches it, so an entry never goes missing silently."""
    path = tmp_path / "hidden.npz"
    handmade_zip(path, [("w.npy", npy_bytes(np.zeros(4))), ("b.npy", npy_bytes(np.ones(2)))])
    data = bytearray(path.read_bytes())
    record = data.index(b"PK\x01\x02")
    data[record + 32] = 46 + len("b.npy")  # w's "comment" now covers b's whole directory record
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["w.npy"]  # what zipfile sees
    with pytest.raises(UnsafeFileError, match="lists 1 entries, its end record 2"):
        load(path)


# ----------------------------------------------------------------------------- forged .npy headers


def test_huge_declared_shape_allocates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "huge.npz"
    forged_npz(path, (10**12,), b"\0" * 64)  # 8 TB declared
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeFileError, match=r"shape \(1000000000000,\) of float64 \(8000000000000 bytes\)"):
            load(path)
        assert tracemalloc.get_traced_memory()[1] < 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("shape", [(2**40, 2**40), (0, 2**62, 2**62), (1,) * 65])
def test_impossible_shapes_are_refused(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = tmp_path / "impossible.npz"
    forged_npz(path, shape, b"")
    with pytest.raises(UnsafeFileError, match="impossible shape|declares shape"):
        load(path)


def test_empty_array_with_a_large_shape_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "empty.npz"
    forged_npz(path, (0, 10**9), b"")
    assert load(path)["w"].shape == (0, 10**9)


def header_entry(path: Path, header: bytes, version: tuple[int, int] = (1, 0)) -> None:
    """An archive whose one entry is a .npy header written by hand (and no data)."""
    length = struct.pack("<H" if version == (1, 0) else "<I", len(header))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("w.npy", b"\x93NUMPY" + bytes(version) + length + header)


@pytest.mark.parametrize(
    "header, match",
    [
        (b"{'descr': '<f8', 'fortran_order': False}\n", "invalid .npy header"),  # no shape: metadata missing
        (b"{'descr': '<f8', 'fortran_order': False, 'shape': 'big'}\n", "invalid .npy header"),
        (b"__import__('os').system('touch pwned')\n", "invalid .npy header"),  # parsed as a literal, never run
        (b"[1, 2, 3]\n", "invalid .npy header"),
    ],
)
def test_malformed_headers_are_refused(tmp_path: Path, header: bytes, match: str) -> None:
    path = tmp_path / "header.npz"
    header_entry(path, header)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(UnsafeFileError, match=match):
            load(path)
    finally:
        os.chdir(cwd)
    assert not (tmp_path / "pwned").exists()


def test_huge_header_length_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "header.npz"
    with zipfile.ZipFile(path, "w") as archive:  # version 2 headers store their length in 4 bytes
        archive.writestr("w.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**32 - 1) + b"{")
    with pytest.raises(UnsafeFileError, match="declares a .npy header of 4294967295 bytes"):
        load(path)


@pytest.mark.parametrize("version", [(3, 0), (9, 9)])
def test_unsupported_npy_versions_are_refused(tmp_path: Path, version: tuple[int, int]) -> None:
    path = tmp_path / "v.npz"
    header_entry(path, b"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", version)
    with pytest.raises(UnsafeFileError, match="unsupported .npy version"):
        load(path)


def test_version_2_headers_load(tmp_path: Path) -> None:
    path = tmp_path / "v2.npz"
    out = io.BytesIO()
    np.lib.format.write_array(out, np.arange(3.0), version=(2, 0))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("w.npy", out.getvalue())
    assert load(path)["w"].tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize(
    "array",
    [
        np.array(["w", "b"]),
        np.array([b"bytes"]),
        np.array([1 + 2j]),
        np.array(["2024-01-01"], dtype="datetime64[D]"),
        np.array([1], dtype="timedelta64[s]"),
        np.zeros(2, dtype=[("x", "<f8"), ("y", "<i4")]),  # records
        np.zeros(2, dtype="V8"),
    ],
    ids=lambda a: str(a.dtype),
)
def test_non_numeric_dtypes_are_refused(tmp_path: Path, array: np.ndarray) -> None:
    path = tmp_path / "odd.npz"
    np.savez(path, w=array)
    with pytest.raises(UnsafeFileError, match=r"'w\.npy' holds .* data, not numbers") as info:
        load(path)
    assert str(path) in str(info.value)


def test_numeric_dtypes_load(tmp_path: Path) -> None:
    arrays = {str(np.dtype(t)): np.arange(3).astype(t) for t in ("f2", "f4", "f8", "i1", "i8", "u2", "u8", "?")}
    np.savez(tmp_path / "all.npz", **arrays)  # type: ignore[arg-type]
    state = load(tmp_path / "all.npz")
    assert all(state[k].dtype == a.dtype and np.array_equal(state[k], a) for k, a in arrays.items())


# ----------------------------------------------------------------------------- more pickles that must never run


@pytest.fixture
def no_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every way of unpickling fail loudly, so a test also proves that load never tries."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("load tried to unpickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)


@pytest.mark.parametrize("compressed", [False, True])
def test_objects_hidden_in_records_or_compressed_entries_never_run(
    tmp_path: Path, compressed: bool, no_unpickling: None
) -> None:
    marker = tmp_path / "marker"
    record = np.zeros(1, dtype=[("w", "<f8"), ("payload", "O")])
    record["payload"][0] = Payload(marker)
    write = np.savez_compressed if compressed else np.savez
    for name, array in {"objects": np.array([Payload(marker)], dtype=object), "record": record}.items():
        path = tmp_path / f"{name}.npz"
        write(path, w=array)
        with pytest.raises(UnsafeFileError, match="holds pickled Python objects"):
            load(path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickles_of_every_protocol_are_refused_unexecuted(tmp_path: Path, protocol: int, no_unpickling: None) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"weight": Payload(marker)}, protocol=protocol))
    with pytest.raises(UnsafeFileError, match="is not an .npz archive") as info:
        load(path)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_a_pickle_inside_a_zip_like_pytorchs_is_refused_unexecuted(tmp_path: Path, no_unpickling: None) -> None:
    """torch.save writes a zip holding data.pkl: a zip, but not ours."""
    marker = tmp_path / "marker"
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(Payload(marker)))
        archive.writestr("archive/version", "3\n")
    with pytest.raises(UnsafeFileError, match=r"'archive/data\.pkl' is not a \.npy array"):
        load(path)
    assert not marker.exists()


# ----------------------------------------------------------------------------- paths and foreign bytes


def test_random_bytes_and_broken_zips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    for content, match in [
        (noise, "not an .npz archive"),
        (b"PK\x03\x04" + noise, "truncated or corrupt"),
        (b"PK\x05\x06" + noise[:18], "truncated or corrupt|empty archive"),
        (b"\x1f\x8b\x08" + noise, "not an .npz archive"),  # gzip
        (np.lib.format.magic(1, 0) + noise, r"single \.npy array"),
    ]:
        path = tmp_path / "noise.npz"
        path.write_bytes(content)
        with pytest.raises(UnsafeFileError, match=match) as info:
            load(path)
        assert str(path) in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "pipe.npz"
    os.mkfifo(path)
    with pytest.raises(UnsafeFileError, match="not a regular file"):
        load(path)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_endless_device_is_refused() -> None:
    with pytest.raises(UnsafeFileError, match="'/dev/zero' is not a regular file"):
        load("/dev/zero")


def test_missing_path_and_directory_say_which(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no such file: '.*nothing\.npz'"):
        load(tmp_path / "nothing.npz")
    with pytest.raises(IsADirectoryError, match=f"{tmp_path.name}' is a directory"):
        load(tmp_path)
    assert not issubclass(FileNotFoundError, UnsafeFileError) and issubclass(UnsafeFileError, ValueError)
