"""RNN, LSTM, GRU and their cells: the equations written out in NumPy for one step, finite differences
through a small unrolled LSTM, and torch as a second witness for every variant (float64, 1e-8)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

from .layer_parity import assert_parity, numpy_state, randomize, torch_state

I, H, L, N = 3, 4, 5, 2  # input size, hidden size, sequence length, batch
rng = np.random.default_rng(0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


# ----------------------------------------------------------------------------- the equations, directly


def test_lstm_cell_step_by_its_equations() -> None:
    cell = LSTMCell(I, H, rng=1)
    x, h, c = rng.normal(size=(N, I)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    gates = x @ cell.weight_ih.data.T + cell.bias_ih.data + h @ cell.weight_hh.data.T + cell.bias_hh.data  # type: ignore[union-attr]
    i, f, g, o = sigmoid(gates[:, :H]), sigmoid(gates[:, H:2 * H]), np.tanh(gates[:, 2 * H:3 * H]), sigmoid(gates[:, 3 * H:])
    c2 = f * c + i * g
    h2, c2_ours = cell(Tensor(x), (Tensor(h), Tensor(c)))
    np.testing.assert_allclose(c2_ours.data, c2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(h2.data, o * np.tanh(c2), rtol=0, atol=1e-14)


def test_gru_cell_step_by_its_equations() -> None:
    cell = GRUCell(I, H, rng=1)
    x, h = rng.normal(size=(N, I)), rng.normal(size=(N, H))
    a = x @ cell.weight_ih.data.T + cell.bias_ih.data  # type: ignore[union-attr]
    b = h @ cell.weight_hh.data.T + cell.bias_hh.data  # type: ignore[union-attr]
    r, z = sigmoid(a[:, :H] + b[:, :H]), sigmoid(a[:, H:2 * H] + b[:, H:2 * H])
    n = np.tanh(a[:, 2 * H:] + r * b[:, 2 * H:])
    np.testing.assert_allclose(cell(Tensor(x), Tensor(h)).data, (1 - z) * n + z * h, rtol=0, atol=1e-14)


def test_rnn_layer_is_its_cell_unrolled() -> None:
    rnn, cell = RNN(I, H, nonlinearity="relu", rng=2), RNNCell(I, H, nonlinearity="relu", rng=3)
    cell.load_state_dict({k[:-3]: v for k, v in rnn.state_dict().items()})  # weight_ih_l0 -> weight_ih
    x = rng.normal(size=(L, N, I))
    out, h_n = rnn(Tensor(x))
    h = Tensor(np.zeros((N, H)))
    for t in range(L):
        h = cell(Tensor(x[t]), h)
        np.testing.assert_allclose(out.data[t], h.data, rtol=0, atol=1e-14)
    np.testing.assert_allclose(h_n.data[0], h.data, rtol=0, atol=1e-14)


def test_small_lstm_against_finite_differences() -> None:
    lstm = LSTM(2, 3, num_layers=2, rng=4)
    x = Tensor(rng.normal(size=(3, 2, 2)), requires_grad=True)
    h0, c0 = (Tensor(rng.normal(size=(2, 2, 3)), requires_grad=True) for _ in range(2))
    weights = Tensor(rng.normal(size=(3, 2, 3)))
    assert tg.gradcheck(lambda x, h0, c0: (lstm(x, (h0, c0))[0] * weights).sum(), [x, h0, c0])
    assert tg.check_module_grads(lstm, lambda out: (out[0] * weights).sum() + out[1][1].sum(), x.detach())


def test_initialisation_bounds_and_float32() -> None:
    gru = GRU(I, 16, num_layers=2, rng=0, dtype=np.float32)
    for name, p in gru.named_parameters():
        assert p.dtype == np.float32 and np.abs(p.data).max() <= 0.25, name  # U(-1/sqrt(16), 1/sqrt(16))
    x = Tensor(rng.normal(size=(L, N, I)).astype(np.float32), requires_grad=True)
    out, h_n = gru(x)
    (out.sum() + h_n.sum()).backward()
    assert out.dtype == h_n.dtype == x.grad.dtype == gru.weight_hh_l1.grad.dtype == np.float32  # type: ignore[attr-defined,union-attr]


def test_dropout_between_layers_only_in_training() -> None:
    lstm = LSTM(I, H, num_layers=2, dropout=0.5, rng=5)
    x = Tensor(rng.normal(size=(L, N, I)))
    train_out = lstm(x)[0].data
    lstm.eval()
    eval_out = lstm(x)[0].data
    assert not np.allclose(train_out, eval_out)
    np.testing.assert_array_equal(lstm(x)[0].data, eval_out)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        RNN(I, H, dropout=0.5)


def test_errors_name_the_layer_and_shapes() -> None:
    lstm = LSTM(I, H)
    with pytest.raises(RuntimeError, match=r"LSTM\(3, 4\): input.size\(-1\) must be equal to input_size: expected 3"):
        lstm(Tensor(np.zeros((L, N, 5))))
    with pytest.raises(ValueError, match="expected input to be 2D or 3D, got 4D"):
        lstm(Tensor(np.zeros((1, L, N, I))))
    with pytest.raises(RuntimeError, match=r"expected h_0 of shape \(1, 2, 4\), got \(1, 3, 4\)"):
        lstm(Tensor(np.zeros((L, N, I))), (Tensor(np.zeros((1, 3, H))), Tensor(np.zeros((1, 3, H)))))
    with pytest.raises(RuntimeError, match="for unbatched 2-D input, h_0 should be 2-D"):
        GRU(I, H)(Tensor(np.zeros((L, I))), Tensor(np.zeros((1, 1, H))))
    with pytest.raises(TypeError, match=r"hx must be a pair \(h_0, c_0\)"):
        lstm(Tensor(np.zeros((L, N, I))), Tensor(np.zeros((1, N, H))))
    with pytest.raises(ValueError, match="unknown nonlinearity 'gelu'"):
        RNN(I, H, nonlinearity="gelu")
    with pytest.raises(NotImplementedError, match="proj_size"):
        LSTM(I, H, proj_size=2)
    with pytest.raises(RuntimeError, match=r"GRUCell\(3, 4\): expected h of shape \(2, 4\)"):
        GRUCell(I, H)(Tensor(np.zeros((N, I))), Tensor(np.zeros((3, H))))
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        GRU(I, 0)


# ----------------------------------------------------------------------------- torch, a second witness

CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu", "bias": False}), ("LSTMCell", {}),
         ("LSTMCell", {"bias": False}), ("GRUCell", {}), ("GRUCell", {"bias": False})]


@pytest.mark.parametrize("name, kw", CELLS, ids=[f"{n}-{kw}" for n, kw in CELLS])
@pytest.mark.parametrize("with_state, batched", [(False, True), (True, True), (True, False)])
def test_cells_match_torch(name: str, kw: dict[str, Any], with_state: bool, batched: bool) -> None:
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(I, H, dtype=torch.float64, **kw)
    ours = getattr(tg.nn, name)(I, H, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(numpy_state(theirs))
    lead = (N,) if batched else ()
    x = rng.normal(size=lead + (I,))
    state: Any = None
    if with_state:
        state = rng.normal(size=lead + (H,))
        if name == "LSTMCell":
            state = (state, rng.normal(size=lead + (H,)))
    assert_parity(ours, theirs, x, *([state] if with_state else []))


LAYERS = [
    ("RNN", {}), ("RNN", {"nonlinearity": "relu", "num_layers": 2}), ("RNN", {"bias": False, "batch_first": True}),
    ("LSTM", {}), ("LSTM", {"num_layers": 2, "batch_first": True}), ("LSTM", {"bidirectional": True, "num_layers": 2}),
    ("LSTM", {"bias": False}), ("GRU", {}), ("GRU", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("GRU", {"bias": False, "num_layers": 2}),
]


@pytest.mark.parametrize("name, kw", LAYERS, ids=[f"{n}-{kw}" for n, kw in LAYERS])
@pytest.mark.parametrize("with_state, batched", [(False, True), (True, True), (True, False)])
def test_layers_match_torch(name: str, kw: dict[str, Any], with_state: bool, batched: bool) -> None:
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(I, H, dtype=torch.float64, **kw)
    ours = getattr(tg.nn, name)(I, H, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(numpy_state(theirs))
    x = rng.normal(size=((N, L, I) if kw.get("batch_first") else (L, N, I)) if batched else (L, I))
    state: Any = None
    if with_state:
        shape = (kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1),) + ((N,) if batched else ()) + (H,)
        state = rng.normal(size=shape)
        if name == "LSTM":
            state = (state, rng.normal(size=shape))
    assert_parity(ours, theirs, x, *([state] if with_state else []))


def test_our_weights_move_into_torch() -> None:
    torch = pytest.importorskip("torch")
    ours = LSTM(I, H, num_layers=2, bidirectional=True, rng=0)
    randomize(ours, 1)
    theirs = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    theirs.load_state_dict(torch_state(ours))
    x = rng.normal(size=(L, N, I))
    out, (h, c) = ours(Tensor(x))
    t_out, (t_h, t_c) = theirs(torch.from_numpy(x))
    for a, b in ((out, t_out), (h, t_h), (c, t_c)):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=0, atol=1e-8)


def test_eval_with_dropout_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    theirs = torch.nn.GRU(I, H, num_layers=2, dropout=0.5, dtype=torch.float64).eval()
    ours = GRU(I, H, num_layers=2, dropout=0.5).eval()
    ours.load_state_dict(numpy_state(theirs))
    assert_parity(ours, theirs, rng.normal(size=(L, N, I)))
