"""The speed paths found by benchmarks/models.py give the same numbers as the plain computation.

float32 erf (one rational approximation instead of Cody's three), scatter_add of repeated indices (a
weighted count instead of np.add.at), the LSTM cell as one op (against the composite of sigmoid, tanh
and products it replaces), the LSTM layer as one op (against its steps unrolled) and GELU's in-place
backward; torch as a second witness where installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, ops
from tinygrad_edu.nn import functional as F


# --------------------------------------------------------------------------- erf in float32


def test_float32_erf_is_within_1e7_of_erf() -> None:
    x = np.concatenate([np.linspace(-6, 6, 200_001), [1e-30, -1e-30, 1e-45, 3.5, -3.99, 4.0, 4.01, 1e30]])
    x = x.astype(np.float32)
    got = Tensor(x).erf().data
    assert got.dtype == np.float32
    expected = np.array([math.erf(v) for v in x.astype(np.float64)])
    assert np.max(np.abs(got - expected)) < 1.2e-7  # about 2 float32 ulps near ±1
    assert np.max(np.abs(got)) <= 1.0
    np.testing.assert_array_equal(Tensor(-x).erf().data, -got)  # odd, to the bit
    tiny = np.float32([1e-30, -1e-38])
    np.testing.assert_allclose(Tensor(tiny).erf().data, tiny * np.float32(2 / math.sqrt(math.pi)), rtol=1e-6)


def test_float32_erf_special_values() -> None:
    got = Tensor(np.float32([np.nan, np.inf, -np.inf, 0.0, -0.0])).erf().data
    assert np.isnan(got[0]) and list(got[1:3]) == [1.0, -1.0]
    assert got[3] == 0 and not np.signbit(got[3]) and got[4] == 0 and np.signbit(got[4])
    half = Tensor(np.float16([0.5, -2.0])).erf().data
    assert half.dtype == np.float16
    np.testing.assert_allclose(half, [math.erf(0.5), math.erf(-2.0)], rtol=1e-3)


def test_float32_gelu_and_its_gradient_match_float64() -> None:
    x = np.random.default_rng(0).standard_normal(20_000) * 3
    g = np.random.default_rng(1).standard_normal(20_000)
    results = {}
    for dtype in (np.float32, np.float64):
        t = Tensor(x, dtype=dtype, requires_grad=True)
        y = F.gelu(t)
        y.backward(g.astype(dtype))
        assert y.dtype == t.grad.dtype == dtype
        results[dtype] = (y.data, t.grad)
    for single, double in zip(results[np.float32], results[np.float64]):
        np.testing.assert_allclose(single, double, rtol=1e-6, atol=1e-6)


def test_float32_gelu_is_as_close_to_gelu_as_torchs() -> None:
    """float32 GELU evaluates its erf in float32 (not widened, as torch): within 1.4e-6 of x·Φ(x)."""
    x = np.concatenate([np.linspace(-8, 8, 400_001), [1e-30, -1e-30, 5.65, -5.66]]).astype(np.float32)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)])
    got = F.gelu(Tensor(x)).data
    assert got.dtype == np.float32
    assert np.max(np.abs(got - exact)) < 1.5e-6
    with np.errstate(invalid="ignore"):
        special = F.gelu(Tensor(np.float32([np.nan, np.inf, -np.inf, 0.0, -0.0, -10.0]))).data
    assert np.isnan(special[0]) and special[1] == np.inf and np.isnan(special[2])  # -inf·0: nan, as torch
    assert special[3] == 0 and not np.signbit(special[3]) and np.signbit(special[4]) and special[5] == 0


def test_gelu_gradient_at_and_near_zero() -> None:
    x = Tensor([0.0, -0.0, 1e-35, -1e-300, 1e-310], requires_grad=True)
    F.gelu(x).backward(np.ones(5))
    np.testing.assert_array_equal(x.grad, 0.5)  # Φ(0) = 1/2 and x·φ(x) = 0, without 0/0


# --------------------------------------------------------------------------- scatter_add of repeated indices


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scatter_add_of_repeated_indices_is_add_at(dtype: type) -> None:
    rng = np.random.default_rng(2)
    shape = (7, 5, 3)
    indices = [
        (rng.integers(0, 7, (4, 6)),),  # an embedding's ids: rows picked many times
        (rng.integers(0, 7, 9), slice(None), rng.integers(0, 3, 9)),  # arrays around a slice
        (Ellipsis, rng.integers(0, 3, 5)),
        (rng.random(shape) > 0.5,),  # a mask
        (np.array([], dtype=np.int64),),  # nothing selected
    ]
    for index in indices:
        g = rng.standard_normal(np.zeros(shape)[index].shape).astype(dtype)
        expected = np.zeros(shape, dtype=dtype)
        np.add.at(expected, index, g)
        got = ops.call(ops.SCATTER_ADD, g, index=index, shape=shape)
        assert got.dtype == dtype and got.shape == shape
        tolerance = 1e-6 if dtype == np.float32 else 1e-15
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def test_embedding_gradient_counts_every_use() -> None:
    emb = tg.nn.Embedding(4, 2, rng=0)
    ids = np.array([[0, 3, 3], [3, 1, 0]])
    emb(ids).backward(np.ones((2, 3, 2)))
    np.testing.assert_array_equal(emb.weight.grad, [[2, 2], [1, 1], [0, 0], [3, 3]])


# --------------------------------------------------------------------------- the LSTM cell


def _composite_cell(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """The cell as it was written before it became one op: slices, sigmoid, tanh and products."""
    hidden = c.shape[-1]
    i, f, g, o = (gates[..., k * hidden:(k + 1) * hidden] for k in range(4))
    c_next = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c_next.tanh(), c_next


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lstm_cell_op_equals_its_composite(dtype: type) -> None:
    rng = np.random.default_rng(3)
    gates_data, c_data = rng.standard_normal((5, 4 * 6)) * 3, rng.standard_normal((5, 6))
    weights = rng.standard_normal((2, 5, 6))
    results = []
    for fused in (True, False):
        gates, c = Tensor(gates_data, dtype=dtype, requires_grad=True), Tensor(c_data, dtype=dtype, requires_grad=True)
        if fused:
            out = ops.call(ops.LSTM_CELL, gates, c)
            h_next, c_next = out[0], out[1]
        else:
            h_next, c_next = _composite_cell(gates, c)
        (h_next * weights[0] + c_next * weights[1]).sum().backward()
        assert h_next.dtype == gates.grad.dtype == c.grad.dtype == dtype
        results.append([h_next.data, c_next.data, gates.grad, c.grad])
    tolerance = 1e-6 if dtype == np.float32 else 1e-14
    for fused, composite in zip(*results):
        np.testing.assert_allclose(fused, composite, rtol=tolerance, atol=tolerance)


def test_lstm_cell_saturated_gates() -> None:
    """Gates far in the tails (σ and tanh at 0 or 1 to the last bit): no NaN, the right limits."""
    gates = Tensor(np.array([[-800.0, 800.0, 800.0, 800.0], [800.0, -800.0, -800.0, -800.0]]), requires_grad=True)
    c = Tensor(np.array([[0.5], [0.5]]), requires_grad=True)
    out = ops.call(ops.LSTM_CELL, gates, c)
    np.testing.assert_allclose(out.data[:, :, 0], [[np.tanh(0.5), 0.0], [0.5, -1.0]], atol=1e-15)  # (h, c) by (batch)
    out.sum().backward()
    assert np.isfinite(gates.grad).all() and np.isfinite(c.grad).all()


# --------------------------------------------------------------------------- the LSTM layer


def test_lstm_layer_records_one_node_per_layer_and_direction() -> None:
    lstm = tg.nn.LSTM(3, 4, num_layers=2, bidirectional=True, rng=0)
    out, (h, c) = lstm(Tensor(np.ones((5, 2, 3))))
    ops_used = [node.op.name for node in tg.topological_order([out, h, c]) if node.op is not None]
    assert ops_used.count("lstm") == 4 and "lstm_cell" not in ops_used and "matmul" not in ops_used


def _unrolled_layer(x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b: Tensor,
                    reverse: bool) -> list[Tensor]:
    """The layer as it was before it became one op: each step's gates, then the cell's equations."""
    hs: list[Tensor] = [None] * x.shape[0]  # type: ignore[list-item]
    for t in (reversed(range(x.shape[0])) if reverse else range(x.shape[0])):
        h, c = _composite_cell(x[t] @ w_ih.T + b + h @ w_hh.T, c)
        hs[t] = h
    return hs + [c]


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lstm_layer_op_equals_its_unrolled_steps(dtype: type, reverse: bool) -> None:
    """Outputs and every gradient; the gates far in the tails in some rows (σ, tanh saturated), and
    float32 kept in the data, the saved work and the gradients."""
    rng = np.random.default_rng(4)
    steps, n, i, hidden = 6, 3, 2, 5
    arrays = [rng.standard_normal((steps, n, i)), rng.standard_normal((n, hidden)), rng.standard_normal((n, hidden)),
              rng.standard_normal((4 * hidden, i)), rng.standard_normal((4 * hidden, hidden)) * 0.5,
              rng.standard_normal(4 * hidden), rng.standard_normal(4 * hidden)]
    arrays[0][:, 0] *= 40  # (one sequence of the batch saturates its gates)
    weights = rng.standard_normal((steps + 1, n, hidden))
    results = []
    for fused in (True, False):
        ts = [Tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
        if fused:
            out = ops.call(ops.LSTM, *ts, reverse=reverse)
            assert out.dtype == dtype and all(a.dtype == dtype for a in _saved_arrays(out.params["saved"]))
            rows = [out[t] for t in range(steps + 1)]
        else:
            rows = _unrolled_layer(*ts[:5], ts[5] + ts[6], reverse)
        sum((r * w).sum() for r, w in zip(rows, weights)).backward()  # type: ignore[union-attr]
        assert all(t.grad.dtype == dtype for t in ts)
        results.append([np.stack([r.data for r in rows])] + [t.grad for t in ts])
    tolerance = 2e-5 if dtype == np.float32 else 1e-12
    for k, (fused, unrolled) in enumerate(zip(*results)):
        np.testing.assert_allclose(fused, unrolled, rtol=tolerance, atol=tolerance, err_msg=f"item {k}")


def _saved_arrays(work: object) -> list[np.ndarray]:
    return [getattr(work, name) for name in ("act", "cs", "tanh_c") if getattr(work, name) is not None]


def test_lstm_layer_backward_twice_and_after_gradient_flow() -> None:
    """The rules share one BPTT per backward: a second backward through a retained graph (with the
    same gradient array, or after gradient_flow used the node) gives the same gradients again."""
    lstm = tg.nn.LSTM(3, 4, rng=0)
    x = Tensor(np.random.default_rng(1).standard_normal((5, 2, 3)), requires_grad=True)
    out, _ = lstm(x)
    seed = np.random.default_rng(2).standard_normal(out.shape)
    tg.gradient_flow(out, seed)
    out.backward(seed, retain_graph=True)
    first = [x.grad.copy()] + [p.grad.copy() for p in lstm.parameters()]
    out.backward(seed)
    second = [x.grad] + [p.grad for p in lstm.parameters()]
    for a, b in zip(first, second):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-13, atol=1e-15)


# --------------------------------------------------------------------------- layer norm's normalisation


def _composite_layer_norm(x: Tensor, axes: tuple[int, ...], eps: float) -> Tensor:
    """The normalisation as it was written before it became one op."""
    centred = x - x.mean(axis=axes, keepdims=True)
    return centred * ((centred * centred).mean(axis=axes, keepdims=True) + eps) ** -0.5


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normalize_op_equals_its_composite(dtype: type) -> None:
    rng = np.random.default_rng(4)
    x_data, g = rng.standard_normal((3, 4, 5)) * 2 + 1, rng.standard_normal((3, 4, 5))
    x_data[0, 0] = 7.0  # a constant row: variance 0, normalised to 0
    results = []
    for fused in (True, False):
        x = Tensor(x_data, dtype=dtype, requires_grad=True)
        out = F.layer_norm(x, (4, 5), eps=1e-3) if fused else _composite_layer_norm(x, (1, 2), 1e-3)
        assert (out.op.name == "normalize") == fused
        out.backward(g.astype(dtype))
        assert out.dtype == x.grad.dtype == dtype
        results.append((out.data, x.grad))
    tolerance = 1e-5 if dtype == np.float32 else 1e-13
    for fused, composite in zip(*results):
        np.testing.assert_allclose(fused, composite, rtol=tolerance, atol=tolerance)


def test_normalize_second_derivative_against_the_composite() -> None:
    x_data, v = np.random.default_rng(5).standard_normal((2, 6)), np.random.default_rng(6).standard_normal((2, 6))
    hessian_vector = []
    for normalize in (lambda t: F.layer_norm(t, (6,)), lambda t: _composite_layer_norm(t, (1,), 1e-5)):
        x = Tensor(x_data, requires_grad=True)
        (gx,) = tg.grad((normalize(x) ** 3).sum(), [x], create_graph=True)
        (hv,) = tg.grad((gx * v).sum(), [x])
        hessian_vector.append(hv)
    np.testing.assert_allclose(*hessian_vector, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- matmul of a batch by one matrix


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batched_rows_times_a_transposed_matrix(dtype: type) -> None:
    """(..., n, k) @ (k, m) is computed as one 2-D product: the same numbers as NumPy's batched matmul."""
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 3, 4, 5)).astype(dtype), rng.standard_normal((6, 5)).astype(dtype)
    np.testing.assert_allclose(ops.MATMUL.forward(x, w.T), np.matmul(x, w.T), rtol=1e-6, atol=1e-6)
    assert ops.MATMUL.forward(x, w.T).shape == (2, 3, 4, 6)
    strided = x.transpose(1, 0, 2, 3)  # not contiguous: NumPy's own loop
    np.testing.assert_array_equal(ops.MATMUL.forward(strided, w.T), np.matmul(strided, w.T))
    with pytest.raises(RuntimeError, match="inner dimensions differ"):
        Tensor(x) @ Tensor(w)


# --------------------------------------------------------------------------- sums and maxima over a short last axis


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_short_last_axis_reductions_equal_numpys(dtype: type) -> None:
    """Sums (x @ ones) and maxima (over the transposed rows) of many short rows: NumPy's own numbers."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((16, 4, 32, 27)).astype(dtype)
    x[0, 0, 0, 3], x[1, 0, 0, 5], x[2, 0, 0] = np.nan, -np.inf, np.inf  # nan, -inf and inf rows propagate
    assert ops._short_last_axis(x, (3,)) and ops._short_last_axis(x, -1) and not ops._short_last_axis(x, (2, 3))
    assert not ops._short_last_axis(x.swapaxes(2, 3), (3,))  # a strided view: NumPy's own reduction
    tolerance = 1e-5 if dtype == np.float32 else 1e-13
    for keepdims in (True, False):
        np.testing.assert_array_equal(ops._max(x, (3,), keepdims), np.max(x, axis=3, keepdims=keepdims))
        total = ops._sum(x, (3,), keepdims)
        assert total.dtype == dtype and total.shape == np.sum(x, axis=3, keepdims=keepdims).shape
        np.testing.assert_allclose(total, np.sum(x.astype(np.float64), axis=3, keepdims=keepdims), rtol=tolerance,
                                   atol=tolerance)
        mean = Tensor(x).mean(axis=-1, keepdims=keepdims).data
        assert mean.dtype == dtype
        np.testing.assert_allclose(mean, np.mean(x.astype(np.float64), axis=-1, keepdims=keepdims), rtol=tolerance,
                                   atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_layer_norm_and_cross_entropy_on_many_short_rows_match_torch(dtype: type) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x_data, g = rng.standard_normal((32, 4, 32, 32)).astype(dtype), rng.standard_normal((32, 4, 32, 32)).astype(dtype)
    labels = rng.integers(0, 32, 4096)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for ours, theirs in (
        (lambda t: t.softmax(-1), lambda t: torch.softmax(t, dim=-1)),
        (lambda t: F.layer_norm(t, (32,)), lambda t: torch.nn.functional.layer_norm(t, (32,))),
    ):
        x, tx = Tensor(x_data, requires_grad=True), torch.from_numpy(x_data).requires_grad_()
        out, tout = ours(x), theirs(tx)
        out.backward(g)
        tout.backward(torch.from_numpy(g))
        assert out.dtype == x.grad.dtype == dtype
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=tolerance, atol=tolerance)
    logits, tlogits = Tensor(x_data.reshape(4096, 32), requires_grad=True), torch.from_numpy(x_data.reshape(4096, 32))
    tlogits.requires_grad_()
    loss, tloss = F.cross_entropy(logits, Tensor(labels)), torch.nn.functional.cross_entropy(tlogits, torch.from_numpy(labels))
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=tolerance)
    np.testing.assert_allclose(logits.grad, tlogits.grad.numpy(), rtol=tolerance, atol=tolerance)


# --------------------------------------------------------------------------- freed memory kept in the process


def test_freed_memory_is_kept_unless_the_environment_says_not(monkeypatch: pytest.MonkeyPatch) -> None:
    from tinygrad_edu import _malloc

    assert isinstance(_malloc.KEPT, bool)
    monkeypatch.setenv("TINYGRAD_EDU_SYSTEM_MALLOC", "1")
    assert _malloc.keep_freed_memory() is False  # glibc's defaults: nothing is set
