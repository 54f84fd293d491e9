"""DataLoader, TensorDataset, Subset, random_split and default_collate, against PyTorch's where torch is
installed (batch shapes, dtypes, values and counts; split sizes), and otherwise by facts known from
the data: row i of X is [2i, 2i + 1] and its label 10 i, so every batch says which rows it holds."""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split, two_moons

from .foreign_array import ForeignArray, register


def _rows(n: int, dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """X (n, 2) with row i = [2i, 2i + 1], y (n,) int64 with y[i] = 10 i."""
    return np.arange(2 * n, dtype=dtype).reshape(n, 2), np.arange(n, dtype=np.int64) * 10


class ItemByItem(Dataset):
    """The rows of _rows(n) as a dataset of its own (no fast path): item i is (X[i], y[i])."""

    def __init__(self, n: int) -> None:
        self.X, self.y = _rows(n)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.X[i], int(self.y[i])


def _row_order(loader: DataLoader) -> list[int]:
    """The rows an epoch visits, in order, read from the batches' labels; each batch's X checked against them."""
    order: list[int] = []
    for xb, yb in loader:
        rows = (yb.numpy() // 10).tolist()
        np.testing.assert_array_equal(xb.numpy(), np.array([[2 * r, 2 * r + 1] for r in rows], dtype=xb.dtype))
        order += rows
    return order


# ----------------------------------------------------------------------------- against torch


def _torch() -> Any:
    return pytest.importorskip("torch")


def _assert_same_batch(ours: Any, theirs: Any) -> None:
    """Our batch has torch's structure (a tuple where torch gives a list), shapes, dtypes and values."""
    torch = _torch()
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, Tensor), type(ours)
        expected = theirs.numpy()
        assert ours.shape == expected.shape and ours.dtype == expected.dtype, (ours.shape, ours.dtype, expected.dtype)
        np.testing.assert_array_equal(ours.numpy(), expected)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs)
        for key in theirs:
            _assert_same_batch(ours[key], theirs[key])
    elif isinstance(theirs, (list, tuple)) and not all(isinstance(s, str) for s in theirs):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs)
        if hasattr(theirs, "_fields"):
            assert type(ours) is type(theirs)
        for a, b in zip(ours, theirs):
            _assert_same_batch(a, b)
    else:
        assert ours == theirs


@pytest.mark.parametrize("n, size", [(10, 3), (10, 5), (10, 10), (10, 32), (1, 1), (7, 2)])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("x_dtype", [np.float32, np.float64])
def test_tensor_dataset_batches_match_torch(n: int, size: int, drop_last: bool, x_dtype: Any) -> None:
    torch = _torch()
    X, y = _rows(n, x_dtype)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=size, drop_last=drop_last)
    for dataset in (TensorDataset(X, y), TensorDataset(Tensor(X), Tensor(y)), ItemByItem(n)):
        ours = DataLoader(dataset, batch_size=size, drop_last=drop_last)
        if isinstance(dataset, ItemByItem):  # its X is float64, as its rows are
            theirs = torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(torch.from_numpy(_rows(n)[0]), torch.from_numpy(y)),
                batch_size=size, drop_last=drop_last)
        assert len(ours) == len(theirs)
        batches = list(ours)
        assert len(batches) == len(list(theirs)) == len(ours)
        for a, b in zip(batches, theirs):
            _assert_same_batch(a, b)


Pair = namedtuple("Pair", ["x", "label"])

ITEMS = {  # what a dataset's items may be: torch's default_collate is the truth for each
    "array and int": lambda i: (np.full(3, i, dtype=np.float32), i),
    "float and int": lambda i: (i / 2, i),
    "numpy scalars": lambda i: (np.float32(i), np.int32(i), np.bool_(i % 2)),
    "bools": lambda i: (i % 2 == 0, [i, -i]),
    "dict": lambda i: {"image": np.ones((2, 2)) * i, "label": i, "name": f"item{i}"},
    "nested": lambda i: {"pair": (np.arange(2) + i, {"w": float(i)}), "id": i},
    "array alone": lambda i: np.arange(4, dtype=np.int16) * i,
    "namedtuple": lambda i: Pair(np.arange(2.0) * i, i),
}


@pytest.mark.parametrize("kind", list(ITEMS))
def test_collation_matches_torch(kind: str) -> None:
    torch = _torch()
    items = [ITEMS[kind](i) for i in range(5)]
    theirs = list(torch.utils.data.DataLoader(items, batch_size=2))
    ours = list(DataLoader(items, batch_size=2))  # a list is a dataset: it has __getitem__ and __len__
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        _assert_same_batch(a, b)
    _assert_same_batch(default_collate(items), torch.utils.data.default_collate(items))


def test_collation_of_our_tensors_matches_torch_on_theirs() -> None:
    torch = _torch()
    rows = [np.arange(3.0, dtype=np.float32) + i for i in range(4)]
    _assert_same_batch(default_collate([(Tensor(r), Tensor(np.int64(i))) for i, r in enumerate(rows)]),
                       torch.utils.data.default_collate([(torch.tensor(r), torch.tensor(i)) for i, r in enumerate(rows)]))


@pytest.mark.parametrize("n, lengths", [(10, [0.7, 0.2, 0.1]), (5, [0.5, 0.5]), (7, [0.3, 0.3, 0.4]),
                                        (11, [0.25, 0.25, 0.25, 0.25]), (10, [3, 7]), (3, [1.0, 0.0])])
@pytest.mark.filterwarnings("ignore:Length of split at index")  # torch warns of the empty split: meant here
def test_random_split_sizes_match_torch(n: int, lengths: list[float]) -> None:
    torch = _torch()
    theirs = torch.utils.data.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in random_split(range(n), lengths, generator=0)] == [len(s) for s in theirs]


# ----------------------------------------------------------------------------- shuffling and counts


@pytest.mark.parametrize("dataset", [TensorDataset(*_rows(23)), ItemByItem(23)], ids=["tensors", "items"])
@pytest.mark.parametrize("size", [1, 4, 23, 50])
def test_a_shuffled_epoch_visits_every_item_once(dataset: Dataset, size: int) -> None:
    loader = DataLoader(dataset, batch_size=size, shuffle=True, generator=1)
    assert len(loader) == math.ceil(23 / size)
    first, second = _row_order(loader), _row_order(loader)
    assert sorted(first) == sorted(second) == list(range(23))
    assert first != second and first != list(range(23))  # a new order each epoch


@pytest.mark.parametrize("size", [1, 4, 5, 23, 50])
def test_drop_last_drops_only_the_short_batch(size: int) -> None:
    loader = DataLoader(TensorDataset(*_rows(20)), batch_size=size, shuffle=True, drop_last=True, generator=0)
    sizes = [len(xb) for xb, _ in loader]
    assert sizes == [size] * (20 // size) and len(loader) == 20 // size
    assert len(set(_row_order(loader))) == 20 // size * size


@pytest.mark.parametrize("dataset", [TensorDataset(*_rows(30)), ItemByItem(30)], ids=["tensors", "items"])
def test_orders_repeat_from_the_same_seed(dataset: Dataset) -> None:
    def epochs(generator: Any) -> list[list[int]]:
        loader = DataLoader(dataset, batch_size=7, shuffle=True, generator=generator)
        return [_row_order(loader) for _ in range(3)]

    runs = epochs(5)
    assert runs == epochs(5) and runs != epochs(6)
    assert runs[0] != runs[1] != runs[2]
    assert epochs(np.random.default_rng(5)) == epochs(np.random.default_rng(5))
    tg.manual_seed(11)
    from_default = epochs(None)
    tg.manual_seed(11)  # the default generator is read at each epoch: seeding it after making the loader counts
    assert epochs(None) == from_default != epochs(None)


def test_the_fast_path_takes_one_index_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: TensorDataset, index: int) -> Any:
        raise AssertionError("DataLoader fetched a TensorDataset item by item")

    dataset = TensorDataset(*_rows(12))
    expected = _row_order(DataLoader(ItemByItem(12), batch_size=5, shuffle=True, generator=3))
    monkeypatch.setattr(TensorDataset, "__getitem__", refuse)
    assert _row_order(DataLoader(dataset, batch_size=5, shuffle=True, generator=3)) == expected
    train, _ = random_split(dataset, [8, 4], generator=0)
    assert sorted(_row_order(DataLoader(Subset(train, [7, 0, 3]), batch_size=2))) == sorted(
        train.indices[k] for k in (7, 0, 3))


def test_dtypes_are_kept() -> None:
    X, y = _rows(6, np.float32)
    xb, yb = next(iter(DataLoader(TensorDataset(X, y.astype(np.int32)), batch_size=4)))
    assert (xb.dtype, yb.dtype) == (np.float32, np.int32) and not xb.requires_grad
    batch = next(iter(DataLoader([(float(i), i) for i in range(3)], batch_size=3)))
    assert type(batch) is tuple  # (torch gives a list here; a tuple, as the items are)
    xb, yb = batch
    assert (xb.dtype, yb.dtype, yb.tolist()) == (np.float64, np.int64, [0, 1, 2])
    assert type(default_collate([[1.0, 2], [3.0, 4]])) is list


# ----------------------------------------------------------------------------- datasets


def test_a_custom_dataset_and_a_subset_of_it() -> None:
    class Words(Dataset):
        words = ["ant", "bee", "cat", "dog", "eel"]

        def __len__(self) -> int:
            return len(self.words)

        def __getitem__(self, i: int) -> dict[str, Any]:
            return {"word": self.words[i], "length": len(self.words[i]), "first": np.array([ord(self.words[i][0])])}

    (batch,) = DataLoader(Subset(Words(), [4, 1, 2]), batch_size=3)
    assert batch["word"] == ["eel", "bee", "cat"] and batch["length"].tolist() == [3, 3, 3]
    assert batch["first"].shape == (3, 1) and batch["first"].tolist() == [[101], [98], [99]]


def test_tensor_dataset_items_are_tuples_of_rows() -> None:
    X, y = _rows(4)
    dataset = TensorDataset(X, Tensor(y))
    x2, y2 = dataset[2]
    assert len(dataset) == 4 and x2.tolist() == [4.0, 5.0] and y2.item() == 20 and y2.dtype == np.int64
    assert np.shares_memory(dataset.tensors[0].data, X)  # the arrays are shared, not copied


@pytest.mark.parametrize("n, lengths, sizes", [(10, [0.7, 0.2, 0.1], [7, 2, 1]), (5, [0.5, 0.5], [3, 2]),
                                               (10, [3, 7], [3, 7]), (4, [4, 0], [4, 0])])
def test_random_split_is_a_partition(n: int, lengths: list[float], sizes: list[int]) -> None:
    parts = random_split(TensorDataset(np.arange(n)), lengths, generator=2)
    assert [len(p) for p in parts] == sizes
    held = [int(p[k][0].item()) for p in parts for k in range(len(p))]
    assert sorted(held) == list(range(n))  # disjoint, and together every item
    assert [p.indices for p in parts] == [p.indices for p in random_split(range(n), lengths, generator=2)]
    if n == 10 and sizes == [3, 7]:
        assert [p.indices for p in parts] != [p.indices for p in random_split(range(n), lengths, generator=3)]


# ----------------------------------------------------------------------------- errors


def test_errors_name_the_class_and_the_sizes() -> None:
    with pytest.raises(ValueError, match="TensorDataset: .*same first dimension.*sizes 5, 4"):
        TensorDataset(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="TensorDataset: tensor 1 is 0-d"):
        TensorDataset(np.zeros(3), np.float64(1.0))
    with pytest.raises(ValueError, match="TensorDataset: give at least one"):
        TensorDataset()
    for size in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=f"DataLoader: batch_size must be an int >= 1, got {size!r}"):
            DataLoader(TensorDataset(np.zeros(3)), batch_size=size)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="DataLoader: dataset must have __getitem__ and __len__.*got generator"):
        DataLoader(i for i in range(3))
    with pytest.raises(TypeError, match="DataLoader: generator must be"):
        DataLoader(TensorDataset(np.zeros(3)), shuffle=True, generator="seed")
    with pytest.raises(NotImplementedError, match="Empty: a Dataset subclass must define __getitem__"):
        type("Empty", (Dataset,), {})()[0]
    with pytest.raises(ValueError, match=r"default_collate: .*one shape.*\(2,\), \(3,\)"):
        list(DataLoader([np.zeros(2), np.zeros(3)], batch_size=2))
    with pytest.raises(ValueError, match=r"random_split: lengths \[3, 3\] .*dataset's length, 5"):
        random_split(range(5), [3, 3])
    with pytest.raises(ValueError, match="random_split"):
        random_split(range(5), [0.5, 0.4])
    with pytest.raises(TypeError, match="default_collate: .*got object"):
        default_collate([object()])


# ----------------------------------------------------------------------------- devices


def test_batches_stay_on_the_device() -> None:
    register()
    X, y = _rows(9)
    for dataset in (TensorDataset(Tensor(X, device="foreign"), Tensor(y, device="foreign")),
                    [(Tensor(X[i], device="foreign"), Tensor(y[i], device="foreign")) for i in range(9)]):
        loader = DataLoader(dataset, batch_size=4, shuffle=True, generator=0)
        order = []
        for xb, yb in loader:
            assert xb.device == "foreign" and type(xb.data) is ForeignArray and type(yb.data) is ForeignArray
            order += (yb.numpy() // 10).tolist()
            np.testing.assert_array_equal(xb.numpy()[:, 0], 2 * (yb.numpy() // 10))
        assert sorted(order) == list(range(9))


# ----------------------------------------------------------------------------- a PyTorch-style training loop


def test_a_training_loop_written_as_in_pytorch_learns_two_moons() -> None:
    X, y = two_moons(n=200, noise=0.1, seed=0)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, generator=0)
    model = tg.nn.Sequential(tg.nn.Linear(2, 16, rng=0), tg.nn.ReLU(), tg.nn.Linear(16, 2, rng=1))
    optimizer = tg.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(40):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = tg.nn.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
    full = tg.nn.cross_entropy(model(Tensor(X)), Tensor(y)).item()
    accuracy = (model(Tensor(X)).numpy().argmax(1) == y).mean()
    assert full < 0.05 and accuracy > 0.98, (full, accuracy)
