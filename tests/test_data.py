"""Minibatches and the built-in datasets, checked against facts computed here independently.

Batches are checked by the rows they carry (every row once per epoch, X and Y rows kept together);
datasets by their geometry with noise switched off (points on the circles and spiral arms their
definitions describe) and the parity targets by Python's own bit count.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.data import batches, parity, spirals, two_moons, xor

# ----------------------------------------------------------------------------- batches


@pytest.mark.parametrize("n, size", [(10, 3), (10, 5), (10, 10), (10, 32), (1, 1), (7, 1)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_cover_every_row_once_and_keep_rows_paired(n: int, size: int, shuffle: bool) -> None:
    X = np.arange(n * 2, dtype=np.float64).reshape(n, 2)  # row i is [2i, 2i + 1]
    Y = np.arange(n) * 10  # row i's label is 10 i
    out = list(batches(X, Y, batch_size=size, shuffle=shuffle, seed=3))
    assert [len(xb) for xb, _ in out] == [min(size, n - i) for i in range(0, n, size)]
    rows = np.concatenate([xb.data[:, 0] // 2 for xb, _ in out]).astype(int)
    assert sorted(rows.tolist()) == list(range(n))
    for xb, yb in out:
        assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
        assert xb.shape[1:] == (2,) and yb.shape == (len(xb),)
        assert np.array_equal(yb.data, (xb.data[:, 0] // 2).astype(int) * 10)
        assert not xb.requires_grad
    if not shuffle:
        assert rows.tolist() == list(range(n))


def test_batches_without_targets_yield_tensors() -> None:
    out = list(batches(np.arange(5.0), batch_size=2))
    assert all(isinstance(xb, Tensor) for xb in out)
    assert [xb.data.tolist() for xb in out] == [[0.0, 1.0], [2.0, 3.0], [4.0]]


def test_drop_last_keeps_only_full_batches() -> None:
    out = list(batches(np.arange(10), np.arange(10), batch_size=4, shuffle=True, seed=0, drop_last=True))
    assert [len(xb) for xb, _ in out] == [4, 4]
    rows = np.concatenate([xb.data for xb, _ in out])
    assert len(set(rows.tolist())) == 8
    assert list(batches(np.arange(3), batch_size=4, drop_last=True)) == []
    assert len(list(batches(np.arange(8), batch_size=4, drop_last=True))) == 2  # nothing dropped when it divides


def order(seed: int | np.random.Generator, n: int = 50) -> list[int]:
    return np.concatenate([xb.data for xb in batches(np.arange(n), batch_size=7, shuffle=True, seed=seed)]).tolist()


def test_seeds_reproduce_and_differ() -> None:
    assert order(1) == order(1)
    assert order(1) != order(2)
    assert order(1) != list(range(50))
    g = np.random.default_rng(5)
    first, second = order(g), order(g)  # one generator: a new order each epoch ...
    assert first != second
    h = np.random.default_rng(5)
    assert [order(h), order(h)] == [first, second]  # ... reproducible from the generator's seed


def test_dtypes_are_kept() -> None:
    X32 = np.ones((4, 3), dtype=np.float32)
    labels = np.array([0, 2, 1, 2])
    ((xb, yb),) = batches(X32, labels, batch_size=4)
    assert xb.dtype == np.float32 and yb.dtype.kind == "i"
    ((xb, yb),) = batches([[0, 1], [1, 0]], [1, 0], batch_size=2)  # lists: features float, labels int
    assert xb.dtype == np.float64 and yb.dtype.kind == "i"
    ((xb, yb),) = batches(Tensor(X32), Tensor(np.zeros((4, 1))), batch_size=4)
    assert xb.dtype == np.float32 and yb.shape == (4, 1)


def test_batches_are_copies() -> None:
    X = np.zeros((3, 2))
    (xb,) = batches(X, batch_size=3)
    xb.data[:] = 7.0
    assert (X == 0).all()


def test_length_mismatch_names_both_lengths() -> None:
    with pytest.raises(ValueError, match=r"X with 7 and Y with 5"):
        batches(np.zeros((7, 2)), np.zeros(5))  # raised at the call, before any iteration


@pytest.mark.parametrize("size, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError)])
def test_bad_batch_size(size: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="batch_size"):
        batches(np.zeros(3), batch_size=size)  # type: ignore[call-overload]


def test_bad_data() -> None:
    with pytest.raises(ValueError, match="at least one axis"):
        batches(np.float64(3.0))
    with pytest.raises(TypeError, match="real numbers"):
        batches(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="seed"):
        batches(np.zeros(3), shuffle=True, seed="x")  # type: ignore[call-overload]


# ----------------------------------------------------------------------------- datasets


def test_xor() -> None:
    X, y = xor()
    assert X.shape == (4, 2) and y.shape == (4, 1) and X.dtype == y.dtype == np.float64
    assert sorted(map(tuple, X.tolist())) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert y[:, 0].tolist() == [float(a != b) for a, b in X.tolist()]


@pytest.mark.parametrize("n_bits", [1, 2, 3, 5, 8])
def test_parity_against_a_direct_bit_count(n_bits: int) -> None:
    X, y = parity(n_bits)
    assert X.shape == (2**n_bits, n_bits) and y.shape == (2**n_bits, 1)
    assert X.dtype == y.dtype == np.float64
    numbers = [int("".join(str(int(b)) for b in row), 2) for row in X]  # most significant bit first
    assert numbers == list(range(2**n_bits))
    assert y[:, 0].tolist() == [float(bin(i).count("1") % 2) for i in numbers]


@pytest.mark.parametrize("n_bits, error", [(0, ValueError), (21, ValueError), (2.0, TypeError)])
def test_parity_bad_arguments(n_bits: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="n_bits"):
        parity(n_bits)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [2, 7, 200])
def test_two_moons_shapes_labels_and_geometry(n: int) -> None:
    X, y = two_moons(n=n, noise=0.0)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype.kind == "i" and set(y.tolist()) == {0, 1}
    assert (y == 0).sum() == n // 2
    upper, lower = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0) and (upper[:, 1] >= -1e-12).all()
    assert np.allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0) and (lower[:, 1] <= 0.5 + 1e-12).all()


def test_two_moons_seeds_and_noise() -> None:
    X0, y0 = two_moons()
    X1, y1 = two_moons(seed=0)
    assert np.array_equal(X0, X1) and np.array_equal(y0, y1)
    assert not np.array_equal(two_moons(seed=1)[0], X0)
    clean, _ = two_moons(noise=0.0, shuffle=False)
    noisy, _ = two_moons(noise=0.1, shuffle=False)
    assert 0.07 < np.std(noisy - clean) < 0.13  # the noise has the asked standard deviation
    assert two_moons(shuffle=False)[1].tolist() == [0] * 100 + [1] * 100


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n": 1}, ValueError, "n must be at least 2"),
        ({"n": 10.0}, TypeError, "n must be an int"),
        ({"noise": -0.1}, ValueError, "noise"),
        ({"noise": math.nan}, ValueError, "noise"),
        ({"seed": "a"}, TypeError, "seed"),
    ],
)
def test_two_moons_bad_arguments(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        two_moons(**kwargs)


@pytest.mark.parametrize("per_class, classes", [(100, 3), (5, 4), (1, 1)])
def test_spirals_shapes_labels_and_geometry(per_class: int, classes: int) -> None:
    X, y = spirals(n_per_class=per_class, classes=classes, noise=0.0)
    assert X.shape == (per_class * classes, 2) and X.dtype == np.float64 and y.dtype.kind == "i"
    assert np.bincount(y, minlength=classes).tolist() == [per_class] * classes
    r = np.hypot(X[:, 0], X[:, 1])
    assert (r <= 1 + 1e-12).all()
    on_arm = r > 1e-9  # away from the centre the angle is 4k + 4r (mod 2π)
    angle = np.arctan2(X[on_arm, 0], X[on_arm, 1])
    diff = np.angle(np.exp(1j * (angle - (4.0 * y[on_arm] + 4.0 * r[on_arm]))))
    assert np.allclose(diff, 0.0, atol=1e-9)


def test_spirals_seeds() -> None:
    assert np.array_equal(spirals()[0], spirals(seed=0)[0])
    assert not np.array_equal(spirals(seed=1)[0], spirals(seed=0)[0])
    assert spirals(n_per_class=2, shuffle=False)[1].tolist() == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_per_class": 0}, ValueError, "n_per_class"),
        ({"classes": 0}, ValueError, "classes"),
        ({"classes": 2.0}, TypeError, "classes"),
        ({"noise": math.inf}, ValueError, "noise"),
    ],
)
def test_spirals_bad_arguments(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        spirals(**kwargs)
