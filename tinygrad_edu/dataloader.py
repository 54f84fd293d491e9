"""PyTorch's data loading, for code written as `for xb, yb in DataLoader(TensorDataset(X, Y), 32, shuffle=True)`.

A dataset is anything with `__getitem__` (an index -> one item) and `__len__`; `DataLoader` draws the
indices of each minibatch, fetches those items and collates them into Tensors (`default_collate`). For a
`TensorDataset` (or a `Subset` of one), it cuts each batch out of the whole arrays with one fancy index
instead: the same batches, without a Python call per item. Re-exported by `tinygrad_edu.data`.

>>> from tinygrad_edu.data import DataLoader, TensorDataset
>>> X, y = np.arange(10.0).reshape(5, 2), np.array([0, 1, 0, 1, 1])
>>> [(xb.shape, yb.tolist()) for xb, yb in DataLoader(TensorDataset(X, y), batch_size=2)]
[((2, 2), [0, 1]), ((2, 2), [0, 1]), ((1, 2), [1])]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .device import array_module, is_array
from .random import generator as random_generator
from .tensor import Tensor

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "random_split"]


# --------------------------------------------------------------------------- datasets


class Dataset:
    """The base of a map-style dataset, as torch.utils.data.Dataset: a subclass defines `__getitem__`
    (an int index -> one item: a tuple, a dict, an array, a Tensor, a number) and `__len__`.

    >>> class Squares(Dataset):
    ...     def __len__(self) -> int: return 4
    ...     def __getitem__(self, i: int) -> tuple[float, int]: return float(i * i), i % 2
    >>> [(x.tolist(), y.tolist()) for x, y in DataLoader(Squares(), batch_size=3)]
    [([0.0, 1.0, 4.0], [0, 1, 0]), ([9.0], [1])]
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: a Dataset subclass must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__}: a Dataset subclass must define __len__")


class TensorDataset(Dataset):
    """Rows of several Tensors or arrays at once, as torch's: item i is `(t[i] for t in tensors)`, a tuple
    of Tensors. All must have the same first dimension; the data is shared, not copied.

    >>> ds = TensorDataset(np.zeros((3, 2)), np.array([7, 8, 9])); len(ds), ds[2][1].item()
    (3, 9)
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one Tensor or array")
        arrays = [_as_rows(t, k) for k, t in enumerate(tensors)]
        sizes = [len(a) for a in arrays]
        if len(set(sizes)) > 1:
            raise ValueError(f"TensorDataset: every tensor must have the same first dimension (size), got sizes "
                             f"{', '.join(map(str, sizes))}")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor.constant(a) for t, a in zip(tensors, arrays))

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(Tensor.constant(t.data[index]) for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0].data)


def _as_rows(t: Any, position: int) -> Any:
    """t's array (a Tensor's data, a device array as it is, a list through NumPy), with at least one axis."""
    array = t.data if isinstance(t, Tensor) else t if is_array(t) else np.asarray(t)
    if array.ndim == 0:
        raise ValueError(f"TensorDataset: tensor {position} is 0-d; each one needs a first dimension (its rows)")
    return array


class Subset(Dataset):
    """The items of `dataset` at `indices`, in that order, as torch's: `Subset(ds, [4, 0])[1]` is `ds[0]`.

    >>> s = Subset(TensorDataset(np.arange(5)), [4, 0]); len(s), s[1][0].item()
    (2, 0)
    """

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Any, lengths: Sequence[float], generator: Any = None) -> list[Subset]:
    """`dataset` cut at random into disjoint Subsets of the given lengths, as torch's: ints that add up
    to len(dataset), or fractions that add up to 1 (each gets floor(fraction × len), and the rows left
    over go one each to the first subsets). `generator`: an int seed, a numpy Generator or None (the
    default generator, which `tg.manual_seed` seeds).

    >>> train, val = random_split(TensorDataset(np.arange(10)), [0.75, 0.25], generator=0)
    >>> len(train), len(val), sorted([*train.indices, *val.indices]) == list(range(10))
    (8, 2, True)
    """
    n = len(dataset)
    sizes = list(lengths)
    if any(isinstance(s, bool) or not isinstance(s, numbers.Real) for s in sizes):
        raise TypeError(f"random_split: lengths must be ints or fractions, got {list(lengths)!r}")
    if not all(isinstance(s, numbers.Integral) for s in sizes) and math.isclose(sum(sizes), 1.0) and sum(sizes) <= n:
        counts = [math.floor(n * f) for f in sizes]
        for k in range(n - sum(counts)):  # what flooring left over, one each from the first subset on
            counts[k % len(counts)] += 1
    else:
        counts = [int(s) if float(s).is_integer() else -1 for s in sizes]  # -1: not a length, refused below
    if not counts or any(c < 0 for c in counts) or sum(counts) != n:
        raise ValueError(f"random_split: lengths {list(lengths)!r} must be ints that add up to the dataset's "
                         f"length, {n}, or fractions that add up to 1")
    order = random_generator(generator, "random_split", "generator").permutation(n).tolist()
    ends = np.cumsum(counts).tolist()
    return [Subset(dataset, order[end - count : end]) for count, end in zip(counts, ends)]


# --------------------------------------------------------------------------- collation


def default_collate(batch: list[Any]) -> Any:
    """Items (a list) stacked into one batch, as torch's default_collate does for the common cases:
    Tensors and arrays -> one Tensor (a new first axis; the dtype and the device kept), numbers ->
    a 1-d Tensor (ints int64, floats float64, bools bool), tuples and lists -> a tuple or list of
    batches, position by position, dicts -> a dict of batches, key by key; strings stay a list.

    >>> xb, yb = default_collate([(np.zeros(2, np.float32), 1), (np.ones(2, np.float32), 0)])
    >>> xb.shape, xb.dtype, yb.tolist(), yb.dtype
    ((2, 2), dtype('float32'), [1, 0], dtype('int64'))
    >>> default_collate([{"x": 1.5, "name": "a"}, {"x": 2.5, "name": "b"}])["name"]
    ['a', 'b']
    """
    first = batch[0]
    if isinstance(first, Tensor) or is_array(first):
        arrays = [item.data if isinstance(item, Tensor) else item for item in batch]
        shapes = {tuple(a.shape) for a in arrays}
        if len(shapes) > 1:
            raise ValueError(f"default_collate: the items must have one shape to be stacked, got {sorted(shapes)}")
        if arrays[0].dtype.kind not in "biuf":
            raise TypeError(f"default_collate: items must hold numbers, got an array of dtype {arrays[0].dtype}")
        return Tensor.constant(array_module(arrays[0]).stack(arrays))
    if isinstance(first, str):
        return list(batch)
    if isinstance(first, (bool, np.bool_)):
        return Tensor.constant(np.array(batch, dtype=np.bool_))
    if isinstance(first, np.generic) or isinstance(first, numbers.Integral):
        return Tensor.constant(np.array(batch, dtype=np.int64 if type(first) is int else None))
    if isinstance(first, numbers.Real):
        return Tensor.constant(np.array(batch, dtype=np.float64))
    if isinstance(first, Mapping):
        return {key: default_collate([item[key] for item in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        lengths = {len(item) for item in batch}
        if len(lengths) > 1:
            raise ValueError(f"default_collate: every item must have the same number of parts, got {sorted(lengths)}")
        columns = [default_collate(list(column)) for column in zip(*batch)]
        if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple: its type, field by field
            return type(first)(*columns)
        return tuple(columns) if isinstance(first, tuple) else columns
    raise TypeError(f"default_collate: items must be Tensors, arrays, numbers, strings, dicts, tuples or lists; "
                    f"got {type(first).__name__}")


# --------------------------------------------------------------------------- the loader


class DataLoader:
    """Minibatches of a dataset, epoch after epoch, as torch.utils.data.DataLoader: iterating gives the
    batches of one epoch (`collate_fn(items)`, `default_collate` by default), `len(loader)` their count.

    With `shuffle`, each epoch visits the items in a new random order, drawn from `generator`: an int
    seed (a loader made with the same seed repeats the same orders), a numpy Generator (drawn from), or
    None (the default generator, read at each epoch, so `tg.manual_seed` before the loop repeats a run).
    The last batch is smaller unless `drop_last`. The batches are new Tensors, outside the graph, on the
    dataset's device.

    >>> from tinygrad_edu.data import TensorDataset
    >>> loader = DataLoader(TensorDataset(np.arange(10)), batch_size=4, shuffle=True, generator=0)
    >>> len(loader), [len(xb) for (xb,) in loader], sorted(np.concatenate([xb.numpy() for (xb,) in loader]).tolist())
    (3, [4, 4, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: Any = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader: dataset must have __getitem__ and __len__ (a map-style dataset), got "
                            f"{type(dataset).__name__}")
        size: Any = batch_size  # (Any: narrowing an int through numbers.Integral leaves mypy lost)
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"DataLoader: batch_size must be an int >= 1, got {batch_size!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {collate_fn!r}")
        # an int seeds one generator now, so that successive epochs differ; None is read at each epoch
        self._rng = None if generator is None else random_generator(generator, "DataLoader", "generator")
        self.dataset = dataset
        self.batch_size = int(size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn: Callable[[list[Any]], Any] = default_collate if collate_fn is None else collate_fn

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        if self.shuffle:
            rng = random_generator(None, "DataLoader") if self._rng is None else self._rng
            order = rng.permutation(n)
        else:
            order = np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        starts = range(0, stop, self.batch_size)
        found = _tensor_rows(self.dataset) if self.collate_fn is default_collate else None
        if found is None:
            dataset, collate = self.dataset, self.collate_fn
            return (collate([dataset[int(i)] for i in order[s : s + self.batch_size]]) for s in starts)
        arrays, rows = found
        batch_rows = (order[s : s + self.batch_size] if rows is None else rows[order[s : s + self.batch_size]]
                      for s in starts)
        return (tuple(Tensor.constant(a[r]) for a in arrays) for r in batch_rows)


def _tensor_rows(dataset: Any) -> tuple[list[Any], np.ndarray | None] | None:
    """The arrays behind a TensorDataset (or a Subset of one, of one...) and the rows the subsets keep
    (None: all), for the fast path; None for any other dataset."""
    rows: np.ndarray | None = None
    while type(dataset) is Subset:
        indices = np.asarray(dataset.indices, dtype=np.int64)
        rows = indices if rows is None else indices[rows]
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset:  # (a subclass may change what an item is)
        return None
    return [t.data for t in dataset.tensors], rows
