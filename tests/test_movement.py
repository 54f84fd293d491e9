"""Movement and indexing: where, masked_fill, pad, flip, roll, repeat, tile, squeeze/unsqueeze/flatten/
permute/expand/view, split/chunk, gather, scatter, take_along_dim, index_select, tril/triu, one_hot, cat.

Forwards against NumPy (or a direct loop), gradients against finite differences (tg.gradcheck), and,
where torch is installed, values and gradients against torch's own functions of the same names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor

from .numeric import assert_close

RNG = np.random.default_rng(15)


def leaf(*shape: int, dtype: Any = np.float64) -> Tensor:
    return Tensor(RNG.uniform(-2, 2, shape).astype(dtype), requires_grad=True)


def check(fn: Callable[..., Tensor], *inputs: Tensor, second: bool = False) -> None:
    """fn's gradients (and with `second`, its second order) against finite differences."""
    assert tg.gradcheck(fn, list(inputs))
    if second:
        assert tg.gradgradcheck(fn, list(inputs))


# --------------------------------------------------------------------------- where and masked_fill


def test_where_selects_and_broadcasts() -> None:
    cond = np.array([True, False, True])
    x, y = leaf(2, 3), leaf(2, 1)
    out = tg.where(cond, x, y)
    assert out.op is tg.REGISTRY["where"] and out.shape == (2, 3)
    np.testing.assert_array_equal(out.data, np.where(cond, x.data, y.data))
    np.testing.assert_array_equal(x.where(cond, 0.5).data, np.where(cond, x.data, 0.5))
    np.testing.assert_array_equal(tg.where(Tensor(cond), 1.0, 0.0).data, [1.0, 0.0, 1.0])  # numbers: a constant
    check(lambda x, y: tg.where(cond, x, y), x, y, second=True)


def test_where_gives_each_branch_its_gradient_and_never_nan_from_the_other() -> None:
    """A selection, not g * mask: an infinite gradient (or value) on the side not taken stays there."""
    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([np.inf, 3.0], requires_grad=True)
    tg.where(np.array([True, False]), a, b).backward(np.array([5.0, np.inf]))
    np.testing.assert_array_equal(a.grad, [5.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, np.inf])


def test_where_keeps_float32() -> None:
    x = leaf(3, dtype=np.float32)
    out = tg.where(np.array([True, False, True]), x, 0.0)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_masked_fill_with_minus_inf_has_no_gradient_at_the_filled_elements() -> None:
    scores = leaf(2, 3, 3)
    causal = np.triu(np.ones((3, 3), dtype=bool), k=1)  # broadcast over the batch
    masked = scores.masked_fill(causal, -np.inf)
    assert np.all(masked.data[:, causal] == -np.inf)
    np.testing.assert_array_equal(masked.data[:, ~causal], scores.data[:, ~causal])
    attention = masked.softmax(axis=-1)
    attention.backward(RNG.normal(size=attention.shape))
    assert np.all(np.isfinite(scores.grad)) and np.all(scores.grad[:, causal] == 0)
    check(lambda s: s.masked_fill(causal, -1e9).softmax(axis=-1), leaf(2, 3, 3))
    np.testing.assert_array_equal(tg.masked_fill(Tensor([1.0, 2.0]), np.array([False, True]), 7).data, [1.0, 7.0])


# --------------------------------------------------------------------------- pad


PAD_WIDTHS = [(1, 2), (0, 0, 2, 1), (1, 0, 0, 2, 1, 1), (2,) * 2]


@pytest.mark.parametrize("widths", PAD_WIDTHS)
def test_constant_pad_pads_from_the_last_dim_backwards(widths: tuple[int, ...]) -> None:
    x = leaf(2, 3, 4)
    out = F.pad(x, widths, value=-1.5)
    assert out.op is tg.REGISTRY["pad"]
    pairs = [(0, 0)] * (3 - len(widths) // 2) + [widths[2 * k: 2 * k + 2] for k in reversed(range(len(widths) // 2))]
    np.testing.assert_array_equal(out.data, np.pad(x.data, pairs, constant_values=-1.5))
    check(lambda t: F.pad(t, widths, value=-1.5), x, second=True)


def test_a_pad_of_minus_inf_is_no_anomaly() -> None:
    """The fill value is an input of the pad node (a constant), so anomaly mode sees the -inf coming."""
    x = leaf(2, 3)
    with tg.detect_anomaly():
        out = F.pad(x, (1, 1), value=-np.inf)
        out.max(axis=1).sum().backward()
    np.testing.assert_array_equal(out.data[:, [0, -1]], -np.inf)
    assert np.all(np.isfinite(x.grad))


def test_negative_constant_padding_crops() -> None:
    x = leaf(3, 4)
    out = F.pad(x, (-1, 2, 1, -2))
    np.testing.assert_array_equal(out.data, np.pad(x.data[:1, 1:], ((1, 0), (0, 2))))
    check(lambda t: F.pad(t, (-1, 2, 1, -2)), x)


@pytest.mark.parametrize("mode, numpy_mode", [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")])
def test_reflect_replicate_and_circular_match_numpy(mode: str, numpy_mode: str) -> None:
    x = leaf(2, 3, 4)
    out = F.pad(x, (2, 1, 1, 2), mode=mode)
    np.testing.assert_array_equal(out.data, np.pad(x.data, ((0, 0), (1, 2), (2, 1)), mode=numpy_mode))
    check(lambda t: F.pad(t, (2, 1, 1, 2), mode=mode), x, second=True)


# --------------------------------------------------------------------------- reorder and repeat


def test_flip_and_roll_match_numpy() -> None:
    x = leaf(2, 3, 4)
    np.testing.assert_array_equal(x.flip(0, 2).data, np.flip(x.data, (0, 2)))
    np.testing.assert_array_equal(tg.flip(x, [-1]).data, np.flip(x.data, -1))
    np.testing.assert_array_equal(x.roll(5).data, np.roll(x.data, 5))
    np.testing.assert_array_equal(x.roll((1, -2), (0, 2)).data, np.roll(x.data, (1, -2), (0, 2)))
    np.testing.assert_array_equal(tg.roll(x, 7, 1).data, np.roll(x.data, 7, 1))
    check(lambda t: t.flip(0, 2), x)
    check(lambda t: t.roll((1, -2), (0, 2)), x)
    check(lambda t: t.roll(3), x)


def test_repeat_is_tile_not_np_repeat() -> None:
    x = leaf(2, 3)
    np.testing.assert_array_equal(x.repeat(2, 1).data, np.tile(x.data, (2, 1)))
    np.testing.assert_array_equal(x.repeat((3, 2, 2)).data, np.tile(x.data, (3, 2, 2)))
    np.testing.assert_array_equal(x.tile(2).data, np.tile(x.data, 2))  # fewer dims: 1s in front
    np.testing.assert_array_equal(tg.tile(x, (2, 1, 3)).data, np.tile(x.data, (2, 1, 3)))
    check(lambda t: t.repeat(3, 2, 2), x)
    check(lambda t: t.tile(2), x)


def test_repeat_interleave_is_np_repeat() -> None:
    x = leaf(2, 3)
    np.testing.assert_array_equal(x.repeat_interleave(2).data, np.repeat(x.data, 2))
    np.testing.assert_array_equal(x.repeat_interleave(3, dim=1).data, np.repeat(x.data, 3, axis=1))
    np.testing.assert_array_equal(x.repeat_interleave([1, 0, 2], dim=-1).data, np.repeat(x.data, [1, 0, 2], axis=1))
    np.testing.assert_array_equal(tg.repeat_interleave(x, 2, 0).data, np.repeat(x.data, 2, axis=0))
    check(lambda t: t.repeat_interleave(2, dim=0), x)
    check(lambda t: t.repeat_interleave([3, 1], dim=0), x)


# --------------------------------------------------------------------------- shape spellings


def test_shape_spellings() -> None:
    x = leaf(2, 1, 3, 1)
    assert x.squeeze().shape == (2, 3) and x.squeeze(1).shape == (2, 3, 1)
    assert x.squeeze((1, -1)).shape == (2, 3) and x.squeeze(0).shape == x.shape  # not of size 1: left alone
    assert tg.squeeze(x, 3).shape == (2, 1, 3)
    assert x.unsqueeze(0).shape == (1, 2, 1, 3, 1) and tg.unsqueeze(x, -1).shape == (2, 1, 3, 1, 1)
    assert x.flatten().shape == (6,) and x.flatten(1, 2).shape == (2, 3, 1) and tg.flatten(x, 2).shape == (2, 1, 3)
    assert Tensor(3.0).flatten().shape == (1,)
    p = x.permute(3, 0, 2, 1)
    assert p.shape == (1, 2, 3, 1) and p.op is tg.REGISTRY["transpose"]
    np.testing.assert_array_equal(tg.permute(x, (2, 0, 1, 3)).data, np.transpose(x.data, (2, 0, 1, 3)))
    assert x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,) and x.view_as(leaf(6, 1)).shape == (6, 1)
    assert x.reshape_as(leaf(3, 2)).shape == (3, 2) and x.contiguous() is x
    e = leaf(3, 1).expand(2, -1, 4)
    assert e.shape == (2, 3, 4) and leaf(1, 4).expand_as(leaf(3, 4)).shape == (3, 4)
    check(lambda t: t.expand(2, -1, 4), leaf(3, 1))
    check(lambda t: t.permute(2, 0, 1).flatten(1).unsqueeze(0).squeeze(), leaf(2, 3, 2))


def test_split_and_chunk() -> None:
    x = leaf(5, 4)
    assert [t.shape for t in x.split(2)] == [(2, 4), (2, 4), (1, 4)]
    parts = x.split([1, 3], dim=1)
    np.testing.assert_array_equal(parts[1].data, x.data[:, 1:])
    assert [t.shape for t in tg.split(x, 4, 1)] == [(5, 4)]
    assert [t.shape for t in x.chunk(2)] == [(3, 4), (2, 4)]
    assert [t.shape for t in tg.chunk(x, 3, dim=-1)] == [(5, 2), (5, 2)]  # ceil(4 / 3) = 2 each: 2 pieces
    check(lambda t: tg.cat([p * (k + 1) for k, p in enumerate(t.split([1, 3], dim=1))], dim=1), x)


def test_cat_and_stack_take_dim() -> None:
    a, b = leaf(2, 3), leaf(2, 1)
    np.testing.assert_array_equal(tg.cat([a, b], dim=1).data, np.concatenate([a.data, b.data], axis=1))
    np.testing.assert_array_equal(tg.cat((a, a), -2).data, np.concatenate([a.data, a.data]))
    np.testing.assert_array_equal(tg.concatenate([a, b], dim=-1).data, np.concatenate([a.data, b.data], axis=1))
    np.testing.assert_array_equal(tg.stack([a, a], dim=2).data, np.stack([a.data, a.data], axis=2))


# --------------------------------------------------------------------------- indexing


def test_gather_is_take_along_axis() -> None:
    x = leaf(3, 4)
    index = np.array([[0, 3, 3], [2, 2, 1], [1, 0, 0]])
    np.testing.assert_array_equal(x.gather(1, index).data, np.take_along_axis(x.data, index, 1))
    small = np.array([[2, 0], [1, 1]])  # smaller than x outside the dim: allowed
    np.testing.assert_array_equal(tg.gather(x, 0, small).data, np.take_along_axis(x.data[:, :2], small, 0))
    check(lambda t: t.gather(1, index), x, second=True)  # repeated indices: gradients add up


def test_take_along_dim_broadcasts_and_counts_negative_indices_from_the_end() -> None:
    x = leaf(3, 4)
    index = np.array([[-1, 0]])  # broadcast over the 3 rows
    expected = np.take_along_axis(x.data, np.broadcast_to(index, (3, 2)) % 4, 1)
    np.testing.assert_array_equal(x.take_along_dim(index, 1).data, expected)
    np.testing.assert_array_equal(tg.take_along_axis(x, np.array([[1], [0], [3]]), axis=1).data,
                                  np.take_along_axis(x.data, np.array([[1], [0], [3]]), 1))
    np.testing.assert_array_equal(tg.take_along_dim(x, np.array([11, 0])).data, x.data.reshape(-1)[[11, 0]])
    column = leaf(3, 1)
    np.testing.assert_array_equal(column.take_along_dim(np.zeros((3, 2), dtype=int), 0).data,
                                  np.broadcast_to(column.data[0], (3, 2)))
    check(lambda t: t.take_along_dim(index, 1), x)
    check(lambda t: t.take_along_dim(np.array([[0, 2], [1, 1]]), 0), column)


def test_index_select() -> None:
    x = leaf(3, 4)
    np.testing.assert_array_equal(x.index_select(1, [3, 0, 3]).data, x.data[:, [3, 0, 3]])
    np.testing.assert_array_equal(tg.index_select(x, 0, Tensor(np.array([2]))).data, x.data[[2]])
    check(lambda t: t.index_select(1, [3, 0, 3]), x)


def _scatter_loop(x: np.ndarray, dim: int, index: np.ndarray, src: np.ndarray) -> np.ndarray:
    out = x.copy()
    for pos in np.ndindex(index.shape):
        target = list(pos)
        target[dim] = index[pos]
        out[tuple(target)] = src[pos] if isinstance(src, np.ndarray) else src
    return out


def test_scatter_writes_src_out_of_place() -> None:
    x, src = leaf(3, 4), leaf(2, 4)
    index = np.array([[2, 0, 1, 2], [0, 1, 2, 1]])
    out = x.scatter(0, index, src)
    assert out.op is tg.REGISTRY["scatter"]
    np.testing.assert_array_equal(out.data, _scatter_loop(x.data, 0, index, src.data))
    np.testing.assert_array_equal(tg.scatter(x, 1, index[:, :2], 9.0).data, _scatter_loop(x.data, 1, index[:, :2], 9.0))
    assert not np.array_equal(x.data, out.data)  # x itself unchanged
    check(lambda x, s: x.scatter(0, index, s), x, src, second=True)
    check(lambda x: x.scatter(1, index[:, :2], 9.0), x)


def test_scatter_with_repeated_targets_keeps_the_last_write_and_only_its_gradient() -> None:
    x, src = leaf(2), leaf(3)
    out = x.scatter(0, np.array([1, 1, 0]), src)
    np.testing.assert_array_equal(out.data, [src.data[2], src.data[1]])
    out.backward(np.array([10.0, 20.0]))
    np.testing.assert_array_equal(src.grad, [0.0, 20.0, 10.0])
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


@pytest.mark.parametrize("diagonal", [-1, 0, 2])
def test_tril_and_triu(diagonal: int) -> None:
    x = leaf(2, 3, 4)
    np.testing.assert_array_equal(x.tril(diagonal).data, np.tril(x.data, diagonal))
    np.testing.assert_array_equal(tg.triu(x, diagonal).data, np.triu(x.data, diagonal))
    np.testing.assert_array_equal(tg.tril(Tensor(np.ones((2, 2), dtype=np.int64))).data, [[1, 0], [1, 1]])
    check(lambda t: t.tril(diagonal) * 2 + t.triu(diagonal), x)


def test_tril_of_infinities_is_not_nan() -> None:
    out = Tensor(np.full((2, 2), -np.inf)).triu(1)
    np.testing.assert_array_equal(out.data, [[0.0, -np.inf], [0.0, 0.0]])


def test_one_hot_is_an_integer_constant() -> None:
    labels = np.array([[0, 2], [1, 1]])
    out = F.one_hot(labels)
    assert out.dtype == np.int64 and not out.requires_grad
    np.testing.assert_array_equal(out.data, np.eye(3, dtype=np.int64)[labels])
    assert F.one_hot(Tensor(np.array([1])), num_classes=4).shape == (1, 4)


FLOAT32_CALLS: dict[str, Callable[[Tensor], Tensor]] = {
    "where": lambda t: tg.where(t.data > 0, t, 0.0),
    "masked_fill": lambda t: t.masked_fill(t.data > 0, -np.inf),
    "pad": lambda t: F.pad(t, (1, 1), value=2.0),
    "pad_reflect": lambda t: F.pad(t, (1, 1), mode="reflect"),
    "scatter": lambda t: t.scatter(1, [[0], [2]], t[:, :1] * 2),
    "gather": lambda t: t.gather(1, [[2, 0], [1, 1]]),
    "repeat": lambda t: t.repeat(2, 2),
    "tril": lambda t: t.tril(),
    "roll": lambda t: t.roll(1, 1),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_CALLS))
def test_float32_stays_float32(name: str) -> None:
    x = leaf(2, 3, dtype=np.float32)
    out = FLOAT32_CALLS[name](x)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert x.grad.dtype == np.float32


# --------------------------------------------------------------------------- errors


ERRORS: list[tuple[Callable[[], Any], type[Exception], str]] = [
    (lambda: leaf(2, 3).gather(1, [[3], [0]]), IndexError, r"gather: index 3 is out of range for dim 1 of size 3"),
    (lambda: leaf(2, 3).gather(0, [[-1, 0]]), IndexError, r"gather: index -1 is out of range for dim 0 of size 2"),
    (lambda: leaf(2, 3).gather(1, [0, 1]), RuntimeError, r"gather: an index of shape \(2,\) does not fit a tensor of shape \(2, 3\)"),
    (lambda: leaf(2, 3).gather(1, [[0.5]]), TypeError, r"gather: an index must hold integers, got dtype float64"),
    (lambda: leaf(2, 3).gather(2, [[0]]), IndexError, r"gather: dim 2 is out of range for a tensor of shape \(2, 3\)"),
    (lambda: leaf(2, 3).scatter(1, [[5]], leaf(1, 1)), IndexError, r"scatter: index 5 is out of range for dim 1 of size 3"),
    (lambda: leaf(2, 3).scatter(1, [[0, 1]], leaf(1, 1)), RuntimeError, r"scatter: index of shape \(1, 2\) does not fit in src of shape \(1, 1\)"),
    (lambda: leaf(2, 3).scatter(1, [[0]], leaf(1, 1, dtype=np.float32)), TypeError, r"scatter: src has dtype float32"),
    (lambda: leaf(2, 3).index_select(0, [2]), IndexError, r"index_select: index 2 is out of range for dim 0 of size 2"),
    (lambda: leaf(2, 3).take_along_dim(np.array([[-4]]), 1), IndexError, r"take_along_dim: index -4 is out of range for dim 1 of size 3"),
    (lambda: leaf(2, 3).take_along_dim(np.zeros((3, 1), dtype=int), 1), RuntimeError, r"take_along_dim: shapes \(2, 3\) and \(3, 1\) do not broadcast"),
    (lambda: F.one_hot(np.array([0, 3]), 3), IndexError, r"one_hot: class 3 is out of range for num_classes 3"),
    (lambda: F.one_hot(np.array([-1])), IndexError, r"one_hot: class -1 is out of range"),
    (lambda: F.one_hot(np.array([0.0])), TypeError, r"one_hot: an index must hold integers"),
    (lambda: tg.where(np.array([1, 0]), leaf(2), 0.0), TypeError, r"where: the condition must be boolean"),
    (lambda: tg.where(np.array([True, False]), leaf(3), 0.0), RuntimeError,
     r"where: the condition of shape \(2,\), input of shape \(3,\) and other of shape \(\) do not broadcast"),
    (lambda: leaf(2, 3).masked_fill(np.ones((3, 1), dtype=bool), 0.0), RuntimeError,
     r"masked_fill: a mask of shape \(3, 1\) does not broadcast to the tensor's shape \(2, 3\)"),
    (lambda: leaf(3).masked_fill(np.ones((2, 3), dtype=bool), 0.0), RuntimeError, r"masked_fill: a mask of shape \(2, 3\)"),
    (lambda: leaf(3).masked_fill(np.ones(3, dtype=int), 0.0), TypeError, r"masked_fill: the condition must be boolean"),
    (lambda: F.pad(leaf(2, 3), (1,)), ValueError, r"pad: the padding \(1,\) must have an even length"),
    (lambda: F.pad(leaf(3), (1, 1, 1, 1)), RuntimeError, r"pad: the padding \(1, 1, 1, 1\) gives 2 dims, more than the 1 of shape \(3,\)"),
    (lambda: F.pad(leaf(2, 3), (3, 0), mode="reflect"), RuntimeError, r"pad: mode 'reflect' pads dim 1 of shape \(2, 3\) by at most 2"),
    (lambda: F.pad(leaf(2, 3), (1, 1), mode="wrap"), ValueError, r"pad: mode must be one of"),
    (lambda: F.pad(leaf(2, 3), (1, 1), mode="reflect", value=1.0), ValueError, r"pad: mode 'reflect' takes no value"),
    (lambda: F.pad(leaf(2, 3), (-2, -2)), RuntimeError, r"pad: the padding \(-2, -2\) crops more than the shape \(2, 3\)"),
    (lambda: F.pad(Tensor(np.zeros((2, 0))), (1, 1), mode="replicate"), RuntimeError,
     r"pad: mode 'replicate' cannot pad dim 1 of shape \(2, 0\): it has no elements"),
    (lambda: leaf(2, 3).flip(2), IndexError, r"flip: dim 2 is out of range for a tensor of shape \(2, 3\) \(expected a dim in \[-2, 1\]\)"),
    (lambda: leaf(2, 3).flip(0, -2), RuntimeError, r"flip: a dim appears twice in \(0, -2\)"),
    (lambda: leaf(2, 3).roll(1, 3), IndexError, r"roll: dim 3 is out of range"),
    (lambda: leaf(2, 3).roll((1, 2), 0), RuntimeError, r"roll: 2 shifts \(1, 2\) and 1 dims \(0,\) must pair up"),
    (lambda: leaf(2, 3).repeat(2), RuntimeError, r"repeat: 1 sizes \(2,\) are fewer than the dims of shape \(2, 3\)"),
    (lambda: leaf(2, 3).squeeze(2), IndexError, r"squeeze: dim 2 is out of range for a tensor of shape \(2, 3\)"),
    (lambda: leaf(2, 3).unsqueeze(3), IndexError, r"unsqueeze: dim 3 is out of range .* \[-3, 2\]"),
    (lambda: leaf(2, 3, 4).flatten(2, 1), RuntimeError, r"flatten: start_dim 2 comes after end_dim 1 for shape \(2, 3, 4\)"),
    (lambda: leaf(2, 3).permute(0), RuntimeError, r"permute: 1 dims \(0,\) given for a tensor of shape \(2, 3\)"),
    (lambda: leaf(2, 3).permute(0, 2), IndexError, r"permute: dim 2 is out of range"),
    (lambda: leaf(2, 3).permute(1, 1), RuntimeError, r"permute: a dim appears twice"),
    (lambda: leaf(2, 3).expand(2, 4), RuntimeError, r"expand: cannot expand shape \(2, 3\) to \(2, 4\): size 4 at dim 1 does not match 3"),
    (lambda: leaf(2, 3).expand(3), RuntimeError, r"expand: 1 sizes \(3,\) are fewer than the dims of shape \(2, 3\)"),
    (lambda: leaf(2, 3).view(4, 2), RuntimeError, r"view: shape \(4, 2\) is invalid for a tensor of shape \(2, 3\) \(6 elements\)"),
    (lambda: leaf(2, 3).view(-1, 4), RuntimeError, r"view: shape \(-1, 4\) is invalid"),
    (lambda: leaf(5).split([2, 2]), RuntimeError, r"split: sizes \[2, 2\] add up to 4, not to the size 5 of dim 0 of shape \(5,\)"),
    (lambda: leaf(5).split(0), ValueError, r"split: split_size must be positive"),
    (lambda: leaf(5).chunk(0), ValueError, r"chunk: chunks must be positive, got 0"),
    (lambda: leaf(3).tril(), RuntimeError, r"tril: needs a tensor of at least 2 dims, got shape \(3,\)"),
    (lambda: leaf(2, 3).repeat_interleave([1, 2], dim=1), RuntimeError, r"repeat_interleave: 2 repeats for dim 1 of size 3"),
    (lambda: tg.cat([leaf(2, 3), leaf(2, 3)], dim=2), IndexError, r"cat: dim 2 is out of range for a tensor of shape \(2, 3\)"),
]


@pytest.mark.parametrize("make, kind, message", ERRORS, ids=[m for _, _, m in ERRORS])
def test_errors_name_the_op_and_what_was_expected(make: Callable[[], Any], kind: type[Exception], message: str) -> None:
    with pytest.raises(kind, match=message):
        make()


# --------------------------------------------------------------------------- parity with torch


def _torch_cases(torch: Any) -> dict[str, tuple[list[tuple[int, ...]], Callable[..., Any], Callable[..., Any]]]:
    """name -> (input shapes, our function, torch's), both applied to tensors of the same values."""
    tF = torch.nn.functional
    index = np.array([[0, 3, 3], [2, 2, 1], [1, 0, 0]])
    unique = np.array([[2, 0, 1, 2], [0, 1, 2, 0]])  # torch's scatter with repeats is nondeterministic
    mask = RNG.random((3, 4)) > 0.5

    def ti(a: np.ndarray) -> Any:
        return torch.from_numpy(a)

    return {
        "where": ([(3, 4), (1, 4)], lambda x, y: tg.where(mask, x, y), lambda x, y: torch.where(ti(mask), x, y)),
        "masked_fill": ([(2, 3, 4)], lambda x: x.masked_fill(mask, -1e9).softmax(axis=-1),
                        lambda x: x.masked_fill(ti(mask), -1e9).softmax(dim=-1)),
        "pad_constant": ([(2, 3, 4)], lambda x: F.pad(x, (1, 2, -1, 1), value=0.5), lambda x: tF.pad(x, (1, 2, -1, 1), value=0.5)),
        "pad_reflect": ([(2, 3, 4)], lambda x: F.pad(x, (3, 1, 2, 1), mode="reflect"),
                        lambda x: tF.pad(x, (3, 1, 2, 1), mode="reflect")),
        "pad_replicate": ([(2, 3, 4)], lambda x: F.pad(x, (2, 5, 1, 0), mode="replicate"),
                          lambda x: tF.pad(x, (2, 5, 1, 0), mode="replicate")),
        "pad_circular": ([(2, 3, 4)], lambda x: F.pad(x, (4, 1, 3, 2), mode="circular"),
                         lambda x: tF.pad(x, (4, 1, 3, 2), mode="circular")),
        "flip": ([(2, 3, 4)], lambda x: x.flip(0, -1), lambda x: x.flip(0, -1)),
        "roll": ([(2, 3, 4)], lambda x: x.roll((1, -5), (1, 2)), lambda x: x.roll((1, -5), (1, 2))),
        "roll_flat": ([(2, 3)], lambda x: x.roll(4), lambda x: x.roll(4)),
        "repeat": ([(2, 3)], lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3)),
        "tile": ([(2, 3)], lambda x: x.tile((2,)), lambda x: x.tile((2,))),
        "repeat_interleave": ([(2, 3)], lambda x: x.repeat_interleave(2, dim=1), lambda x: x.repeat_interleave(2, dim=1)),
        "repeat_interleave_counts": ([(2, 3)], lambda x: x.repeat_interleave([2, 1], dim=0),
                                     lambda x: x.repeat_interleave(torch.tensor([2, 1]), dim=0)),
        "shape": ([(2, 1, 3)], lambda x: x.squeeze(1).unsqueeze(0).permute(2, 0, 1).flatten(1).expand(2, -1, -1).view(2, 6),
                  lambda x: x.squeeze(1).unsqueeze(0).permute(2, 0, 1).flatten(1).expand(2, -1, -1).reshape(2, 6)),
        "split": ([(5, 4)], lambda x: tg.cat([p * (k + 1) for k, p in enumerate(x.split(2))], 0),
                  lambda x: torch.cat([p * (k + 1) for k, p in enumerate(x.split(2))], 0)),
        "chunk": ([(5, 4)], lambda x: tg.cat([p * (k + 1) for k, p in enumerate(x.chunk(3, dim=1))], 1),
                  lambda x: torch.cat([p * (k + 1) for k, p in enumerate(x.chunk(3, dim=1))], 1)),
        "gather": ([(3, 4)], lambda x: x.gather(1, index), lambda x: x.gather(1, ti(index))),
        "take_along_dim": ([(3, 4)], lambda x: x.take_along_dim(np.array([[-1, 0]]), 1),
                           lambda x: torch.take_along_dim(x, torch.tensor([[-1, 0]]), 1)),
        "index_select": ([(3, 4)], lambda x: x.index_select(1, [3, 0, 3]), lambda x: x.index_select(1, torch.tensor([3, 0, 3]))),
        "scatter": ([(3, 4), (2, 4)],  # (torch fails to differentiate a src larger than index)
                     lambda x, s: x.scatter(0, unique, s), lambda x, s: x.scatter(0, ti(unique), s)),
        "scatter_value": ([(3, 4)], lambda x: x.scatter(1, unique[:, :2], 2.5), lambda x: x.scatter(1, ti(unique[:, :2]), 2.5)),
        "tril": ([(2, 3, 4)], lambda x: x.tril(1), lambda x: x.tril(1)),
        "triu": ([(3, 4)], lambda x: x.triu(-1), lambda x: x.triu(-1)),
    }


TORCH_CASES = ["where", "masked_fill", "pad_constant", "pad_reflect", "pad_replicate", "pad_circular", "flip", "roll",
               "roll_flat", "repeat", "tile", "repeat_interleave", "repeat_interleave_counts", "shape", "split", "chunk",
               "gather", "take_along_dim", "index_select", "scatter", "scatter_value", "tril", "triu"]


@pytest.mark.parametrize("name", TORCH_CASES)
def test_values_and_gradients_match_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    shapes, ours, theirs = _torch_cases(torch)[name]
    arrays = [RNG.normal(size=s) for s in shapes]
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*xs), theirs(*ts)
    assert out.shape == tuple(expected.shape)
    assert_close(out.data, expected.detach().numpy(), f"{name}: value", atol=1e-12)
    cotangent = RNG.normal(size=out.shape)
    out.backward(cotangent)
    expected.backward(torch.from_numpy(cotangent))
    for k, (x, t) in enumerate(zip(xs, ts)):
        assert_close(x.grad, t.grad.numpy(), f"{name}: gradient of input {k}", atol=1e-12)


def test_one_hot_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    labels = np.array([[0, 4], [2, 2]])
    np.testing.assert_array_equal(F.one_hot(labels, 6).data, torch.nn.functional.one_hot(torch.from_numpy(labels), 6))
    np.testing.assert_array_equal(F.one_hot(labels).data, torch.nn.functional.one_hot(torch.from_numpy(labels)))
