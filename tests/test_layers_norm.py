"""Module buffers, LayerNorm and BatchNorm: closed forms written out in NumPy here, and torch as a second
witness (weights moved both ways through load_state_dict, float64, every gradient at 1e-8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.nn import BatchNorm1d, BatchNorm2d, LayerNorm, Linear, Module, Sequential, Tanh

from .layer_parity import assert_parity, numpy_state, randomize, torch_state

# ----------------------------------------------------------------------------- buffers


class Counter(Module):
    def __init__(self) -> None:
        self.scale = Tensor([2.0], requires_grad=True)
        self.register_buffer("seen", np.zeros(3))
        self.register_buffer("scratch", np.ones(2), persistent=False)
        self.inner = Linear(2, 1, rng=0)


def test_buffers_are_state_but_not_parameters() -> None:
    m = Counter()
    assert [n for n, _ in m.named_parameters()] == ["scale", "inner.weight", "inner.bias"]
    assert [n for n, _ in m.named_buffers()] == ["seen", "scratch"]
    assert m.buffers()[0] is m.seen and not m.seen.requires_grad
    # a module's own parameters, its (persistent) buffers, then its submodules: torch's order
    assert list(m.state_dict()) == ["scale", "seen", "inner.weight", "inner.bias"]


def test_buffers_load_and_are_checked() -> None:
    m, other = Counter(), Counter()
    other.seen[...] = [1.0, 2.0, 3.0]
    m.load_state_dict(other.state_dict())
    np.testing.assert_array_equal(m.seen.data, [1.0, 2.0, 3.0])
    state = other.state_dict()
    del state["seen"]
    with pytest.raises(KeyError, match="missing key 'seen' .*buffer"):
        m.load_state_dict(state)
    with pytest.raises(ValueError, match="'seen'.*buffer has shape"):
        m.load_state_dict({**other.state_dict(), "seen": np.zeros(4)})


def test_register_buffer_errors() -> None:
    m = Counter()
    with pytest.raises(ValueError, match="requires grad"):
        m.register_buffer("w", Tensor([1.0], requires_grad=True))
    with pytest.raises(KeyError, match="'scale' already exists"):
        m.register_buffer("scale", np.zeros(1))
    with pytest.raises(KeyError, match="identifier"):
        m.register_buffer("a.b", np.zeros(1))
    m.register_buffer("empty", None)  # an empty slot: in neither list
    assert "empty" not in dict(m.named_buffers()) and "empty" not in m.state_dict()


def test_batchnorm_state_round_trips_through_a_file(tmp_path: Path) -> None:
    net = Sequential(Linear(3, 4, rng=0), BatchNorm1d(4))
    net(Tensor(np.random.default_rng(1).normal(size=(5, 3))))
    tg.save(net, tmp_path / "net.npz")
    copy = Sequential(Linear(3, 4, rng=2), BatchNorm1d(4))
    copy.load_state_dict(tg.load(tmp_path / "net.npz"))
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(copy.state_dict()[k], v)
    assert copy[1].num_batches_tracked.dtype == np.int64 and copy[1].num_batches_tracked.item() == 1


# ----------------------------------------------------------------------------- LayerNorm


def layer_norm_closed_form(x: np.ndarray, k: int, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def test_layer_norm_closed_form_and_finite_differences() -> None:
    rng = np.random.default_rng(0)
    ln = LayerNorm((3, 4), eps=1e-3)
    randomize(ln, 1)
    x = Tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    expected = layer_norm_closed_form(x.data, 2, ln.weight.data, ln.bias.data, 1e-3)  # type: ignore[union-attr]
    np.testing.assert_allclose(ln(x).data, expected, rtol=0, atol=1e-12)
    weights = Tensor(rng.normal(size=(2, 3, 4)))
    assert tg.gradcheck(lambda x: ln(x) * weights, [x])
    assert tg.check_module_grads(ln, lambda y: (y * y * y).sum(), x.detach())


def test_layer_norm_float32_stays_float32() -> None:
    ln = LayerNorm(4, dtype=np.float32)
    x = Tensor(np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32), requires_grad=True)
    y = ln(x)
    (y * y).sum().backward()
    assert y.dtype == x.grad.dtype == ln.weight.grad.dtype == np.float32  # type: ignore[union-attr]


def test_layer_norm_errors() -> None:
    with pytest.raises(RuntimeError, match=r"LayerNorm\(\(4,\).*\(\*, 4\), got shape \(2, 3\)"):
        LayerNorm(4)(Tensor(np.zeros((2, 3))))
    with pytest.raises(ValueError, match="normalized_shape"):
        LayerNorm(0)


@pytest.mark.parametrize("shape, kw", [((4,), {}), ((3, 4), {}), ((4,), {"elementwise_affine": False}),
                                       ((4,), {"bias": False}), ((4,), {"eps": 0.1})])
def test_layer_norm_matches_torch(shape: tuple[int, ...], kw: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    theirs = torch.nn.LayerNorm(shape, dtype=torch.float64, **kw)
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1, 1)
    ours = LayerNorm(shape, **kw)
    ours.load_state_dict(numpy_state(theirs))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(3).normal(size=(2, 3, 4))
    assert_parity(ours, theirs, x)
    # and the other way: our weights into torch
    randomize(ours, 5)
    theirs.load_state_dict(torch_state(ours))
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=0, atol=1e-8)


# ----------------------------------------------------------------------------- BatchNorm


def test_batch_norm_running_statistics_closed_form() -> None:
    rng = np.random.default_rng(0)
    bn = BatchNorm1d(3, momentum=0.25)
    xs = [rng.normal(2.0, 3.0, size=(6, 3, 2)) for _ in range(3)]
    mean, var = np.zeros(3), np.ones(3)
    for x in xs:
        y = bn(Tensor(x))
        m, v = x.mean(axis=(0, 2)), x.var(axis=(0, 2))  # biased: what normalises the batch
        expected = (x - m[:, None]) / np.sqrt(v[:, None] + 1e-5)
        np.testing.assert_allclose(y.data, expected, rtol=0, atol=1e-12)
        mean = 0.75 * mean + 0.25 * m
        var = 0.75 * var + 0.25 * x.var(axis=(0, 2), ddof=1)  # unbiased for the running estimate
    np.testing.assert_allclose(bn.running_mean.data, mean, rtol=1e-13)  # type: ignore[union-attr]
    np.testing.assert_allclose(bn.running_var.data, var, rtol=1e-13)  # type: ignore[union-attr]
    assert bn.num_batches_tracked.item() == 3  # type: ignore[union-attr]
    bn.eval()
    x = rng.normal(size=(4, 3, 2))
    np.testing.assert_allclose(bn(Tensor(x)).data, (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-5), atol=1e-12)


def test_batch_norm_momentum_none_is_a_cumulative_average() -> None:
    rng = np.random.default_rng(1)
    bn = BatchNorm1d(2, momentum=None)
    xs = [rng.normal(size=(5, 2)) for _ in range(4)]
    for x in xs:
        bn(Tensor(x))
    np.testing.assert_allclose(bn.running_mean.data, np.mean([x.mean(axis=0) for x in xs], axis=0), rtol=1e-12)  # type: ignore[union-attr]


def test_batch_norm_errors() -> None:
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): expected 2D or 3D input, got 4D"):
        BatchNorm1d(3)(Tensor(np.zeros((2, 3, 4, 5))))
    with pytest.raises(RuntimeError, match=r"BatchNorm2d\(3\): expected 3 channels on axis 1, got input of shape \(2, 4, 5, 5\)"):
        BatchNorm2d(3)(Tensor(np.zeros((2, 4, 5, 5))))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm1d(3)(Tensor(np.zeros((1, 3))))
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm1d(3, momentum=1.5)


@pytest.mark.parametrize("cls, shape, kw", [
    ("BatchNorm1d", (5, 3), {}),
    ("BatchNorm1d", (4, 3, 6), {"momentum": None}),
    ("BatchNorm1d", (5, 3), {"affine": False}),
    ("BatchNorm1d", (5, 3), {"track_running_stats": False}),
    ("BatchNorm2d", (3, 3, 4, 5), {"momentum": 0.3, "eps": 1e-3}),
])
def test_batch_norm_matches_torch_through_training_and_eval(cls: str, shape: tuple[int, ...], kw: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, cls)(3, dtype=torch.float64, **kw)
    ours = getattr(tg.nn, cls)(3, **kw)
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(0.5, 1.5)
    ours.load_state_dict(numpy_state(theirs))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(4)
    for step in range(3):
        theirs.zero_grad()
        ours.zero_grad()
        assert_parity(ours, theirs, rng.normal(1.0, 2.0, size=shape), seed=step)
        for k, v in numpy_state(theirs).items():  # running statistics and the batch count
            np.testing.assert_allclose(ours.state_dict()[k], v, rtol=0, atol=1e-12, err_msg=k)
    ours.eval()
    theirs.eval()
    theirs.zero_grad()
    ours.zero_grad()
    assert_parity(ours, theirs, rng.normal(size=shape), seed=9)
    # our trained statistics into torch: the same eval outputs
    fresh = getattr(torch.nn, cls)(3, dtype=torch.float64, **kw).eval()
    fresh.load_state_dict(torch_state(ours))
    x = rng.normal(size=shape)
    np.testing.assert_allclose(ours(Tensor(x)).data, fresh(torch.from_numpy(x)).detach().numpy(), rtol=0, atol=1e-8)


def test_sequential_state_dict_keys_match_torch() -> None:
    torch = pytest.importorskip("torch")
    ours = Sequential(Linear(3, 4, rng=0), BatchNorm1d(4), Tanh(), Linear(4, 2, rng=1), LayerNorm(2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(),
                                 torch.nn.Linear(4, 2), torch.nn.LayerNorm(2)).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(numpy_state(theirs))
    assert_parity(ours, theirs, np.random.default_rng(0).normal(size=(6, 3)))
