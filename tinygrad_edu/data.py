"""Data: minibatches of arrays as Tensors (`batches`, or PyTorch's `DataLoader` and datasets, from
tinygrad_edu/dataloader.py), small datasets generated in code (all seeded), and two real
datasets shipped with the package (`digits`, 8x8 handwritten digits; `names`, US first names).

>>> from tinygrad_edu.data import batches, two_moons
>>> X, y = two_moons(n=10)
>>> [(xb.shape, yb.shape) for xb, yb in batches(X, y, batch_size=4)]
[((4, 2), (4,)), ((4, 2), (4,)), ((2, 2), (2,))]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from importlib import resources
from typing import Any, overload

import numpy as np

from .dataloader import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split
from .random import generator as random_generator
from .tensor import Tensor

__all__ = [
    "NAMES_VOCAB",
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "batches",
    "default_collate",
    "digits",
    "name_sequences",
    "names",
    "parity",
    "random_split",
    "spirals",
    "two_moons",
    "xor",
]

Seed = int | np.random.Generator | None
MAX_PARITY_BITS = 20  # 2**20 rows of 20 float64 features: 160 MiB, already more than a lesson needs
DIGITS_FILE = "digits.npz"  # in tinygrad_edu/_data/, with its provenance and license in README.md there
DIGITS_SPLITS = (None, "train", "test")
NAMES_FILE = "names.txt"  # in tinygrad_edu/_data/, with its provenance and license in README.md there
NAMES_VOCAB = ".abcdefghijklmnopqrstuvwxyz"  # token ids 0..26; "." (0) starts and ends every name
NAMES_SPLITS = (None, "train", "val")
IGNORE_INDEX = -100  # the targets' padding: PyTorch's default ignore_index for cross_entropy


# --------------------------------------------------------------------------- minibatches


@overload
def batches(
    X: Any, Y: None = None, batch_size: int = 32, shuffle: bool = False, seed: Seed = None, drop_last: bool = False
) -> Iterator[Tensor]: ...


@overload
def batches(
    X: Any, Y: Any, batch_size: int = 32, shuffle: bool = False, seed: Seed = None, drop_last: bool = False
) -> Iterator[tuple[Tensor, Tensor]]: ...


def batches(
    X: Any, Y: Any = None, batch_size: int = 32, shuffle: bool = False, seed: Seed = None, drop_last: bool = False
) -> Iterator[Tensor] | Iterator[tuple[Tensor, Tensor]]:
    """One epoch of minibatches of the rows (first axis) of X, and of Y: `(xb, yb)` Tensors, or `xb` alone.

    X and Y are ndarrays, Tensors or (nested) lists with the same number of rows. Arrays and Tensors keep
    their dtype (integer labels stay integers, for cross_entropy); a list X becomes float64 as in
    `Tensor(...)`, a list Y keeps NumPy's dtype (a list of ints stays integer). With `shuffle`, the rows
    are visited in a random order drawn from `seed` (an int: the same order on every call; a Generator:
    a new order on each call, reproducible from the generator's seed). The last batch is smaller unless
    `drop_last`. The batches are new arrays: changing them leaves X and Y alone.

    >>> [xb.data.tolist() for xb in batches(np.arange(5), batch_size=2)]
    [[0, 1], [2, 3], [4]]
    >>> [xb.data.tolist() for xb in batches(np.arange(5), batch_size=2, drop_last=True)]
    [[0, 1], [2, 3]]
    """
    x = _rows(X, "X", features=True)
    y = None if Y is None else _rows(Y, "Y", features=False)
    if y is not None and len(y) != len(x):
        raise ValueError(f"batches: X and Y must have the same number of rows, got X with {len(x)} and Y with {len(y)}")
    size = _positive_int(batch_size, "batches", "batch_size")
    if shuffle:
        order = _generator(seed, "batches").permutation(len(x))
    else:
        order = np.arange(len(x))
    stop = len(x) - len(x) % size if drop_last else len(x)
    if y is None:
        return (Tensor.constant(x[order[i : i + size]]) for i in range(0, stop, size))
    return (
        (Tensor.constant(x[order[i : i + size]]), Tensor.constant(y[order[i : i + size]])) for i in range(0, stop, size)
    )


def _rows(data: Any, name: str, features: bool) -> np.ndarray:
    """data as an ndarray with a first axis; Tensors and arrays keep their dtype."""
    if isinstance(data, Tensor):
        array = data.data
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
    else:
        try:
            array = np.asarray(data, dtype=np.float64 if features else None)
        except (TypeError, ValueError) as e:
            raise TypeError(f"batches: {name} must be an ndarray, a Tensor or a list of numbers ({e})") from None
    if array.dtype.kind not in "fiub":
        raise TypeError(f"batches: {name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 0:
        raise ValueError(f"batches: {name} must have at least one axis (rows), got a 0-d array")
    return array


# --------------------------------------------------------------------------- datasets


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points: X (4, 2) float64 in {0, 1}, y (4, 1) float64 = x0 XOR x1.

    >>> X, y = xor(); X.tolist(), y.ravel().tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0])
    """
    return parity(2)


def parity(n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Every n_bits-bit string: X (`2**n_bits`, n_bits) float64 (row i is i in binary, most significant bit
    first) and y (`2**n_bits`, 1) float64, 1.0 where the number of ones is odd. n_bits is 1 to 20.

    >>> X, y = parity(3); X[5].tolist(), y[5].item(), y.shape
    ([1.0, 0.0, 1.0], 0.0, (8, 1))
    """
    n = _positive_int(n_bits, "parity", "n_bits")
    if n > MAX_PARITY_BITS:
        raise ValueError(f"parity: n_bits={n} would make 2**{n} rows; at most {MAX_PARITY_BITS} bits are supported")
    rows = np.arange(2**n)
    bits = (rows[:, None] >> np.arange(n - 1, -1, -1)) & 1
    return bits.astype(np.float64), (bits.sum(axis=1) % 2).astype(np.float64)[:, None]


def two_moons(n: int = 200, noise: float = 0.1, seed: Seed = 0, shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as sklearn's make_moons): X (n, 2) float64, y (n,) int64 in {0, 1}.

    Label 0 is the upper moon (n // 2 points), label 1 the lower one (the rest); Gaussian noise of standard
    deviation `noise` is added to every coordinate. The rows are shuffled unless `shuffle` is False.
    `seed` is an int (the default 0: the same data every time), a Generator, or None (fresh randomness).

    >>> X, y = two_moons(n=7); X.shape, X.dtype, sorted(set(y.tolist())), int((y == 0).sum())
    ((7, 2), dtype('float64'), [0, 1], 3)
    """
    total = _positive_int(n, "two_moons", "n")
    if total < 2:
        raise ValueError(f"two_moons: n must be at least 2 (one point per moon), got {n!r}")
    spread = _nonnegative(noise, "two_moons", "noise")
    rng = _generator(seed, "two_moons")
    n_upper = total // 2
    t_upper, t_lower = np.linspace(0.0, np.pi, n_upper), np.linspace(0.0, np.pi, total - n_upper)
    X = np.concatenate(
        [
            np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1),
            np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1),
        ]
    )
    y = np.concatenate([np.zeros(n_upper, dtype=np.int64), np.ones(total - n_upper, dtype=np.int64)])
    X = X + spread * rng.standard_normal(X.shape)
    return _maybe_shuffle(X, y, shuffle, rng)


def spirals(
    n_per_class: int = 100, classes: int = 3, noise: float = 0.2, seed: Seed = 0, shuffle: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (CS231n's data): X (n_per_class * classes, 2) float64,
    y int64 in {0, ..., classes - 1}, n_per_class rows each.

    Arm k has radius r from 0 to 1 at angle 4k + 4r plus Gaussian noise of standard deviation `noise`
    (radians); point (r sin θ, r cos θ). The rows are shuffled unless `shuffle` is False; `seed` as in
    `two_moons`.

    >>> X, y = spirals(n_per_class=5, classes=4); X.shape, np.bincount(y).tolist()
    ((20, 2), [5, 5, 5, 5])
    """
    per_class = _positive_int(n_per_class, "spirals", "n_per_class")
    k = _positive_int(classes, "spirals", "classes")
    spread = _nonnegative(noise, "spirals", "noise")
    rng = _generator(seed, "spirals")
    r = np.tile(np.linspace(0.0, 1.0, per_class), k)
    y = np.repeat(np.arange(k, dtype=np.int64), per_class)
    theta = 4.0 * y + 4.0 * r + spread * rng.standard_normal(r.shape)
    X = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)
    return _maybe_shuffle(X, y, shuffle, rng)


# --------------------------------------------------------------------------- a real dataset


def digits(
    split: str | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    flatten: bool = True,
    scale: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits (UCI "optdigits" test set, as bundled by scikit-learn), read from the
    package: X float64 and y int64 (the digit, 0 to 9). No download, no pickle.

    All 1,797 images in the file's order when `split` is None. With split="train" or "test", a stratified
    split: round(test_fraction × count) images of each digit go to the test set, the rest to the train
    set, chosen and ordered at random from the int `seed`; the same seed and test_fraction give a train
    and a test set that are disjoint and together hold every image. X has rows of 64 pixels (row by
    row), or is (n, 8, 8) without `flatten`; pixels are counts 0 to 16, divided by 16 to lie in [0, 1]
    when `scale`. Each call returns new arrays.

    >>> X, y = digits(); X.shape, X.dtype, y.dtype, float(X.max()), np.bincount(y)[:3].tolist()
    ((1797, 64), dtype('float64'), dtype('int64'), 1.0, [178, 182, 177])
    >>> X_train, y_train = digits("train", seed=0); X_test, y_test = digits("test", seed=0)
    >>> len(X_train), len(X_test), digits("test", flatten=False)[0].shape
    (1438, 359, (359, 8, 8))
    """
    if split not in DIGITS_SPLITS:
        raise ValueError(f"digits: split must be None, 'train' or 'test', got {split!r}")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"digits: test_fraction must be a real number, got {test_fraction!r}")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"digits: test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        # an int only: the train and the test call must draw the same split, which a Generator would not
        raise TypeError(f"digits: seed must be an int (the same one for train and test), got {seed!r}")
    if int(seed) < 0:
        raise ValueError(f"digits: seed must be >= 0, got {seed!r}")
    for name, flag in (("flatten", flatten), ("scale", scale)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"digits: {name} must be True or False, got {flag!r}")
    images, labels = _digits_arrays()
    if split is not None:
        rng = np.random.default_rng(int(seed))
        test_rows = []
        for digit in range(10):  # stratified: each digit keeps its share in both sets
            rows = rng.permutation(np.flatnonzero(labels == digit))
            test_rows.append(rows[: int(round(float(test_fraction) * len(rows)))])
        test = np.concatenate(test_rows)
        train = np.setdiff1d(np.arange(len(labels)), test)
        if len(test) == 0 or len(train) == 0:
            empty = "test" if len(test) == 0 else "train"
            raise ValueError(f"digits: test_fraction={test_fraction!r} leaves the {empty} set empty")
        chosen = test if split == "test" else train
        order = chosen[rng.permutation(len(chosen))]  # a random order, so unshuffled batches mix the digits
        images, labels = images[order], labels[order]
    X = images.astype(np.float64)
    if scale:
        X /= 16.0
    if flatten:
        X = X.reshape(len(X), 64)
    return X, labels.astype(np.int64)


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """images (1797, 8, 8) and labels (1797,), both uint8, from the package's own file (never unpickled)."""
    source = resources.files("tinygrad_edu") / "_data" / DIGITS_FILE  # a folder or a zip (a wheel): both work
    with source.open("rb") as f, np.load(f, allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    if images.ndim != 3 or images.shape[1:] != (8, 8) or labels.shape != images.shape[:1]:
        raise ValueError(f"digits: {DIGITS_FILE} is damaged: images {images.shape}, labels {labels.shape}")
    return images, labels


def names() -> list[str]:
    """10,000 distinct US first names, lowercase a-z, the most common first (births 1880-2024, from the
    Social Security Administration's baby-name files), read from the package: no download.

    >>> words = names(); len(words), words[:3], max(map(len, words))
    (10000, ['james', 'john', 'robert'], 13)
    """
    text = (resources.files("tinygrad_edu") / "_data" / NAMES_FILE).read_text(encoding="ascii")
    words = text.split("\n")
    if words[-1] == "":
        words.pop()  # the file ends with a newline
    if not all(w.isalpha() and w.islower() and w.isascii() for w in words):
        raise ValueError(f"names: {NAMES_FILE} is damaged: every line must be a lowercase a-z name")
    return words


def name_sequences(
    split: str | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    words: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each name as a (context, next character) sequence of token ids (NAMES_VOCAB: "." is 0, "a" 1, ...,
    "z" 26): X (n, L) and Y (n, L) int64, L = the longest of the words + 1 (before the split).

    Row i of X is "." followed by the name, row i of Y the name followed by "." (so Y[i, t] is the
    character after X[i, :t+1]); a shorter name's X is padded with 0 and its Y with -100 (PyTorch's
    ignore_index): drop those positions from the loss (`Y != -100`). `words` defaults to `names()`.
    With split="train" or "val", a random round(val_fraction × n) names go to "val" and the rest to
    "train", chosen and ordered at random from the int `seed` (the same seed gives disjoint sets).

    >>> X, Y = name_sequences(words=["ann", "bo"]); X.tolist(), Y.tolist()
    ([[0, 1, 14, 14], [0, 2, 15, 0]], [[1, 14, 14, 0], [2, 15, 0, -100]])
    >>> len(name_sequences("train")[0]), len(name_sequences("val")[0])
    (9000, 1000)
    """
    if split not in NAMES_SPLITS:
        raise ValueError(f"name_sequences: split must be None, 'train' or 'val', got {split!r}")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real):
        raise TypeError(f"name_sequences: val_fraction must be a real number, got {val_fraction!r}")
    if not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"name_sequences: val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        # an int only: the train and the val call must draw the same split, which a Generator would not
        raise TypeError(f"name_sequences: seed must be an int >= 0 (the same one for train and val), got {seed!r}")
    chosen = names() if words is None else list(words)
    if not chosen:
        raise ValueError("name_sequences: words is empty")
    for w in chosen:
        if not isinstance(w, str) or not w or any(c not in NAMES_VOCAB[1:] for c in w):
            raise ValueError(f"name_sequences: every word must be a non-empty string of a-z, got {w!r}")
    length = max(map(len, chosen)) + 1  # of all the words: train and val get the same width
    if split is not None:
        order = np.random.default_rng(int(seed)).permutation(len(chosen))
        n_val = int(round(float(val_fraction) * len(chosen)))
        if n_val == 0 or n_val == len(chosen):
            empty = "val" if n_val == 0 else "train"
            raise ValueError(f"name_sequences: val_fraction={val_fraction!r} leaves the {empty} set empty")
        rows = order[:n_val] if split == "val" else order[n_val:]
        chosen = [chosen[i] for i in rows]
    X = np.zeros((len(chosen), length), dtype=np.int64)
    Y = np.full((len(chosen), length), IGNORE_INDEX, dtype=np.int64)
    for i, w in enumerate(chosen):
        ids = [NAMES_VOCAB.index(c) for c in w]
        X[i, 1 : len(w) + 1] = ids
        Y[i, : len(w)] = ids
        Y[i, len(w)] = 0
    return X, Y


# --------------------------------------------------------------------------- helpers


def _maybe_shuffle(
    X: np.ndarray, y: np.ndarray, shuffle: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    if not shuffle:
        return X, y
    order = rng.permutation(len(X))
    return X[order], y[order]


def _generator(seed: Any, where: str) -> np.random.Generator:
    """A Generator from an int seed, a Generator (used as it is) or None (the default generator)."""
    return random_generator(seed, where, "seed")


def _positive_int(value: Any, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an int, got {value!r}")
    if int(value) < 1:
        raise ValueError(f"{where}: {name} must be at least 1, got {value!r}")
    return int(value)


def _nonnegative(value: Any, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(f"{where}: {name} must be finite and >= 0, got {value!r}")
    return number
