"""save and load: round trips judged by the restored models' outputs, compatibility with NumPy's own
np.savez / np.load, and hostile files built here byte by byte: a pickle whose unpickling would write a
marker file (the marker must never appear), forged array sizes, truncated, corrupt and foreign files.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
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
