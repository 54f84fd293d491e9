"""Convolution, pooling and einsum: forwards against direct loops, layers against torch, errors, dtypes,
and the tools (graph_stats, draw_graph, explain) on a small convolutional network."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn
from tinygrad_edu.nn import functional as F

from .numeric import assert_close


def conv2d_loop(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: int, padding: int, dilation: int,
                groups: int) -> np.ndarray:
    """The textbook definition: one dot product per output element."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * padding, wd + 2 * padding))
    xp[:, :, padding:padding + h, padding:padding + wd] = x
    ho = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    wo = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    y = np.zeros((n, o, ho, wo))
    og = o // groups
    for i in range(n):
        for k in range(o):
            g = k // og
            for r in range(ho):
                for s in range(wo):
                    patch = xp[i, g * cg:(g + 1) * cg, r * stride:r * stride + dilation * (kh - 1) + 1:dilation,
                               s * stride:s * stride + dilation * (kw - 1) + 1:dilation]
                    y[i, k, r, s] = (patch * w[k]).sum() + (0.0 if b is None else b[k])
    return y


@pytest.mark.parametrize("stride, padding, dilation, groups", [(1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 2), (3, 1, 1, 4)])
def test_conv2d_forward_matches_the_direct_loop(stride: int, padding: int, dilation: int, groups: int) -> None:
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 4, 7, 6)), rng.normal(size=(8, 4 // groups, 3, 2)), rng.normal(size=8)
    y = F.conv2d(Tensor(x), Tensor(w), Tensor(b), stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert_close(y.data, conv2d_loop(x, w, b, stride, padding, dilation, groups), "conv2d", atol=1e-12)
    layer = nn.Conv2d(4, 8, (3, 2), stride, padding, dilation, groups, rng=0)
    layer.load_state_dict({"weight": w, "bias": b})
    assert_close(layer(Tensor(x)).data, conv2d_loop(x, w, b, stride, padding, dilation, groups), "Conv2d", atol=1e-12)


def test_conv1d_forward_matches_the_direct_loop_and_takes_unbatched_input() -> None:
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(3, 4, 9)), rng.normal(size=(6, 2, 3))
    y = F.conv1d(Tensor(x), Tensor(w), stride=2, padding=1, dilation=2, groups=2)
    loop = np.zeros(y.shape)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1)))
    for i in range(3):
        for k in range(6):
            g = k // 3
            for s in range(y.shape[2]):
                loop[i, k, s] = (xp[i, 2 * g:2 * g + 2, 2 * s:2 * s + 5:2] * w[k]).sum()
    assert_close(y.data, loop, "conv1d", atol=1e-12)
    assert_close(F.conv1d(Tensor(x[0]), Tensor(w), stride=2, padding=1, dilation=2, groups=2).data, loop[0],
                 "conv1d unbatched", atol=1e-12)
    assert F.conv2d(Tensor(rng.normal(size=(4, 5, 5))), Tensor(rng.normal(size=(2, 4, 3, 3)))).shape == (2, 3, 3)


def test_pools_match_direct_loops() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 7, 8))
    y_max = F.max_pool2d(Tensor(x), 3, stride=2, padding=1).data
    y_avg = F.avg_pool2d(Tensor(x), 3, stride=2, padding=1).data
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    xz = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for r in range(y_max.shape[2]):
        for s in range(y_max.shape[3]):
            assert np.array_equal(y_max[:, :, r, s], xp[:, :, 2 * r:2 * r + 3, 2 * s:2 * s + 3].max(axis=(2, 3)))
            assert_close(y_avg[:, :, r, s], xz[:, :, 2 * r:2 * r + 3, 2 * s:2 * s + 3].sum(axis=(2, 3)) / 9, "avg")


def test_max_pool_gradient_goes_to_the_first_maximum_of_a_tie() -> None:
    x = Tensor(np.array([[[[1.0, 3.0], [3.0, 0.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert np.array_equal(x.grad, [[[[0.0, 1.0], [0.0, 0.0]]]])
    with pytest.warns(tg.GradcheckWarning, match="non-differentiable point"):
        report = tg.gradcheck(lambda x: F.max_pool2d(x, 2), [x], report=True)
    assert report.passed and {k.element for k in report.kinks} == {(0, 0, 0, 1), (0, 0, 1, 0)}


# --------------------------------------------------------------------------- torch parity

def _torch() -> Any:
    """torch, imported when a test needs it (skipped without it; not at collection, which would load it
    into every later test's process)."""
    return pytest.importorskip("torch")


def _to_torch(module: nn.Module, torch_module: Any) -> None:
    torch = _torch()
    torch_module.load_state_dict({k: torch.tensor(v) for k, v in module.state_dict().items()})


def _from_torch(module: nn.Module, torch_module: Any) -> None:
    module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()})


def _compare(ours: nn.Module, theirs: Any, x: np.ndarray) -> None:
    """Outputs, the input's gradient and every parameter's gradient, float64, atol 1e-8."""
    torch = _torch()
    xt = Tensor(x, requires_grad=True)
    xT = torch.tensor(x, requires_grad=True)
    y, Y = ours(xt), theirs(xT)
    assert_close(y.data, Y.detach().numpy(), f"{ours}: output", atol=1e-8)
    g = np.random.default_rng(9).normal(size=y.shape)
    y.backward(g)
    Y.backward(torch.tensor(g))
    assert_close(xt.grad, xT.grad.numpy(), f"{ours}: input gradient", atol=1e-8)
    torch_params = dict(theirs.named_parameters())
    assert set(torch_params) == {name for name, _ in ours.named_parameters()}
    for name, p in ours.named_parameters():
        assert_close(p.grad, torch_params[name].grad.numpy(), f"{ours}: gradient of {name}", atol=1e-8)


CONV_SETTINGS = [
    {},
    {"stride": 2, "padding": 1},
    {"stride": (2, 1), "padding": (0, 2), "dilation": (1, 2)},
    {"padding": "same", "dilation": 2, "groups": 2, "bias": False},
    {"padding": "valid", "groups": 4},
    {"padding": 1, "padding_mode": "reflect"},
    {"padding": (2, 1), "stride": 2, "padding_mode": "circular"},
    {"padding": "same", "padding_mode": "replicate"},
]


@pytest.mark.parametrize("settings", CONV_SETTINGS)
def test_conv2d_matches_torch_both_ways(settings: dict[str, Any]) -> None:
    torch = _torch()
    kernel = (3, 2) if settings.get("padding") != "same" else (2, 3)  # "same" with an even kernel pads unevenly
    theirs = torch.nn.Conv2d(4, 8, kernel, **settings).double()
    ours = nn.Conv2d(4, 8, kernel, **settings, rng=0)
    x = np.random.default_rng(3).normal(size=(2, 4, 7, 6))
    _from_torch(ours, theirs)
    _compare(ours, theirs, x)
    ours = nn.Conv2d(4, 8, kernel, **settings, rng=1)  # and ours into torch
    theirs = torch.nn.Conv2d(4, 8, kernel, **settings).double()
    _to_torch(ours, theirs)
    _compare(ours, theirs, x)


@pytest.mark.parametrize("chunk_bytes", [None, 1])
@pytest.mark.parametrize("c_in, c_out, groups, stride", [(8, 4, 1, 1), (16, 6, 2, 1), (8, 4, 1, 2), (1, 16, 1, 1),
                                                         (2, 24, 2, 1)])
def test_conv2d_with_many_channels_matches_the_loop_and_torch(c_in: int, c_out: int, groups: int, stride: int,
                                                              chunk_bytes: int | None,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # columns of C/groups·kH·kW >= 64 entries take one product for many images (then a reorder to NCHW),
    # shorter ones a product per image; the input's gradient widens g, or the columns when they have fewer
    # rows; chunk_bytes=1: the products that go a few images at a time go one image at a time
    if chunk_bytes is not None:
        monkeypatch.setattr(tg.ops, "CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(5)
    x, w, b = rng.normal(size=(3, c_in, 6, 5)), rng.normal(size=(c_out, c_in // groups, 3, 3)), rng.normal(size=c_out)
    y = F.conv2d(Tensor(x), Tensor(w), Tensor(b), stride=stride, padding=1, groups=groups)
    assert_close(y.data, conv2d_loop(x, w, b, stride, 1, 1, groups), "conv2d", atol=1e-12)
    torch = _torch()
    theirs = torch.nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, groups=groups).double()
    ours = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, groups=groups, rng=0)
    _from_torch(ours, theirs)
    _compare(ours, theirs, x)


@pytest.mark.parametrize("settings", CONV_SETTINGS[:5] + [{"padding": 2, "padding_mode": "reflect"}])
def test_conv1d_matches_torch(settings: dict[str, Any]) -> None:
    torch = _torch()
    settings = {k: v[1] if isinstance(v, tuple) else v for k, v in settings.items()}
    theirs = torch.nn.Conv1d(4, 8, 3, **settings).double()
    ours = nn.Conv1d(4, 8, 3, **settings, rng=0)
    _from_torch(ours, theirs)
    _compare(ours, theirs, np.random.default_rng(4).normal(size=(3, 4, 11)))
    _compare(ours, theirs, np.random.default_rng(4).normal(size=(4, 11)))  # unbatched


def test_a_cnn_matches_torch() -> None:
    """A small CNN built from the same layers in both frameworks: the outputs and all gradients."""
    torch = _torch()
    def build(lib: Any, **kw: Any) -> Any:
        return lib.Sequential(lib.Conv2d(1, 4, 3, padding=1, **kw), lib.ReLU(), lib.MaxPool2d(2),
                              lib.Conv2d(4, 6, 3, groups=2, **kw), lib.AvgPool2d(2, ceil_mode=True), lib.Flatten(),
                              lib.Linear(6 * 1 * 1, 3, **kw))
    ours, theirs = build(nn, rng=0), build(torch.nn).double()
    _from_torch(ours, theirs)
    _compare(ours, theirs, np.random.default_rng(5).normal(size=(5, 1, 8, 8)))


@pytest.mark.parametrize("settings", [
    {"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1}, {"kernel_size": (3, 2), "stride": (2, 1)},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True}, {"kernel_size": 2, "stride": 3, "padding": 1, "ceil_mode": True},
    {"kernel_size": 3, "stride": 1, "padding": 1, "dilation": 2},
    {"kernel_size": 17, "stride": 1, "padding": 8},  # 289 offsets in a window: more than a byte holds
])
def test_max_pool2d_matches_torch(settings: dict[str, Any]) -> None:
    torch = _torch()
    _compare(nn.MaxPool2d(**settings), torch.nn.MaxPool2d(**settings), np.random.default_rng(6).normal(size=(2, 3, 7, 8)))
    _compare(nn.MaxPool2d(**settings), torch.nn.MaxPool2d(**settings), np.random.default_rng(6).normal(size=(3, 7, 8)))


def test_max_pool2d_with_nans_and_ties_matches_torch() -> None:
    torch = _torch()
    x = np.random.default_rng(10).integers(0, 3, size=(2, 3, 6, 6)).astype(np.float64)  # many ties
    x[0, 0, 0, 1] = x[0, 1, 2, 2] = x[0, 1, 3, 3] = x[1, 2, 5, 4] = np.nan  # one window with two NaNs
    for settings in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1}):
        xt, xT = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, Y = nn.MaxPool2d(**settings)(xt), torch.nn.MaxPool2d(**settings)(xT)
        np.testing.assert_array_equal(y.data, Y.detach().numpy())  # NaN where torch has NaN
        g = np.random.default_rng(11).normal(size=y.shape)
        y.backward(g)
        Y.backward(torch.tensor(g))
        # the same element of each window (overlapping windows may add in another order: ulps)
        np.testing.assert_allclose(xt.grad, xT.grad.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("settings", [
    {"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    {"kernel_size": (3, 2), "stride": 2, "ceil_mode": True},
    {"kernel_size": 2, "stride": 3, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": 2, "stride": 3, "padding": 1, "ceil_mode": True},
    {"kernel_size": 3, "divisor_override": 2},
])
def test_avg_pool2d_matches_torch(settings: dict[str, Any]) -> None:
    torch = _torch()
    _compare(nn.AvgPool2d(**settings), torch.nn.AvgPool2d(**settings), np.random.default_rng(7).normal(size=(2, 3, 7, 8)))


def test_flatten_matches_torch() -> None:
    torch = _torch()
    x = np.random.default_rng(8).normal(size=(2, 3, 4, 5))
    for start, end in [(1, -1), (0, -1), (1, 2), (2, 3), (-2, -1)]:
        assert nn.Flatten(start, end)(Tensor(x)).shape == tuple(torch.nn.Flatten(start, end)(torch.tensor(x)).shape)


def test_default_initialisation_has_torchs_bounds() -> None:
    torch = _torch()
    layer = nn.Conv2d(6, 4, (3, 5), groups=2, rng=0)
    bound = 1 / np.sqrt(3 * 3 * 5)  # fan_in = in_channels / groups x kH x kW
    assert np.abs(layer.bias.data).max() <= bound
    assert bound >= np.abs(layer.weight.data).max() > 0.9 * bound  # (60 draws fill the interval)
    assert list(layer.state_dict()) == list(torch.nn.Conv2d(6, 4, (3, 5), groups=2).state_dict())
    assert np.array_equal(nn.Conv2d(6, 4, 3, rng=7).weight.data, nn.Conv2d(6, 4, 3, rng=7).weight.data)


# --------------------------------------------------------------------------- einsum


@pytest.mark.parametrize("equation, shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]), ("i,j", [(3,), (4,)]), ("ij->", [(2, 3)]),
    ("ij,k->ik", [(2, 3), (4,)]), ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 2)]), ("ji", [(2, 3)]),
])
def test_einsum_matches_torch(equation: str, shapes: list[tuple[int, ...]]) -> None:
    torch = _torch()
    rng = np.random.default_rng(10)
    arrays = [rng.normal(size=s) for s in shapes]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, Y = tg.einsum(equation, *ours), torch.einsum(equation, *theirs)
    assert_close(y.data, Y.detach().numpy(), equation, atol=1e-12)
    g = rng.normal(size=y.shape)
    y.backward(g)
    Y.backward(torch.tensor(g))
    for t, T in zip(ours, theirs):
        assert_close(t.grad, T.grad.numpy(), f"{equation}: gradient", atol=1e-12)
    assert tg.einsum(equation, ours).shape == y.shape  # the operands as one list, as torch takes them


def test_einsum_refuses_what_it_does_not_support() -> None:
    a = Tensor(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"ellipsis \('...'\) is not supported"):
        tg.einsum("...ij->...ji", a)
    with pytest.raises(ValueError, match=r"index 'i' repeats within operand 0 \('ii'\).*diagonals"):
        tg.einsum("ii->i", a)
    with pytest.raises(RuntimeError, match=r"operand 1 has shape \(2, 2\) \(2 axes\) but its term 'j'"):
        tg.einsum("ij,j->i", a, a)
    with pytest.raises(RuntimeError, match=r"index 'j' .* has size 2 in operand 0 but 3 in operand 1"):
        tg.einsum("ij,jk->ik", a, Tensor(np.ones((3, 2))))
    with pytest.raises(ValueError, match="2 operand term"):
        tg.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="output index 'z'"):
        tg.einsum("ij->z", a)


# --------------------------------------------------------------------------- errors name the layer


@pytest.mark.parametrize("make, x, error, match", [
    (lambda: nn.Conv2d(3, 4, 3, rng=0), (2, 5, 8, 8), RuntimeError,
     r"Conv2d\(3, 4, kernel_size=\(3, 3\).*expected an input with 3 channels .*got an input of shape \(2, 5, 8, 8\)"),
    (lambda: nn.Conv2d(3, 4, 5, padding=1, rng=0), (1, 3, 2, 9), RuntimeError,
     r"Conv2d\(3, 4, kernel_size=\(5, 5\).*kernel .* is larger than the padded input \(4, 11\)"),
    (lambda: nn.Conv1d(2, 4, 3, rng=0), (2, 2, 3, 3), RuntimeError,
     r"Conv1d\(2, 4.*2-D \(unbatched\) or 3-D \(batched\) input, got shape \(2, 2, 3, 3\)"),
    (lambda: nn.MaxPool2d(3), (1, 1, 2, 2), RuntimeError, r"MaxPool2d\(kernel_size=3.*too small"),
    (lambda: nn.AvgPool2d(2, padding=2), (1, 1, 4, 4), ValueError, r"AvgPool2d\(.*at most half of the kernel size"),
])
def test_errors_name_the_layer_and_the_shapes(make: Callable[[], nn.Module], x: tuple[int, ...], error: type,
                                              match: str) -> None:
    layer = make()
    with pytest.raises(error, match=match):
        layer(Tensor(np.zeros(x)))


def test_constructor_errors() -> None:
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(3\) must be divisible by groups \(2\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"Conv2d: out_channels \(3\) must be divisible by groups \(2\)"):
        nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        nn.Conv2d(4, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv1d(4, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="Conv2d: stride must be an int or a tuple of 2 ints, each at least 1"):
        nn.Conv2d(4, 4, 3, stride=0)
    with pytest.raises(RuntimeError, match=r"conv2d: the input \(float32\) and the weight \(float64\)"):
        F.conv2d(Tensor(np.zeros((1, 1, 3, 3), dtype=np.float32)), Tensor(np.zeros((1, 1, 2, 2))))


# --------------------------------------------------------------------------- dtypes


def test_float32_stays_float32() -> None:
    rng = np.random.default_rng(11)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, rng=0, dtype=np.float32), nn.MaxPool2d(2),
                        nn.AvgPool2d(2), nn.Flatten())
    x = Tensor(rng.normal(size=(3, 2, 8, 8)).astype(np.float32), requires_grad=True)
    y = net(x)
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in net.parameters())
    a, b = Tensor(np.ones((2, 3), np.float32), requires_grad=True), Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    tg.einsum("ij,jk->ik", a, b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float32
    (g,) = tg.grad((F.conv2d(x, net[0].weight) ** 2).sum(), [x], create_graph=True)
    assert g.dtype == np.float32


def test_second_order_through_a_small_cnn() -> None:
    rng = np.random.default_rng(12)
    x = Tensor(rng.normal(size=(1, 2, 5, 5)), requires_grad=True)
    w = Tensor(rng.normal(size=(3, 2, 3, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # distinct values: no kink in the max-pool
        assert tg.gradgradcheck(lambda x, w: F.max_pool2d(F.conv2d(x, w, padding=1).tanh(), 2, stride=1), [x, w])


# --------------------------------------------------------------------------- tools on a conv graph


def _small_cnn_loss() -> tuple[nn.Module, Tensor]:
    net = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 2 * 2, 3, rng=1))
    x = Tensor(np.random.default_rng(13).normal(size=(4, 1, 6, 6)))
    return net, F.cross_entropy(net(x), [0, 1, 2, 0])


def test_graph_stats_counts_conv_and_einsum_multiply_adds() -> None:
    net, loss = _small_cnn_loss()
    stats = tg.graph_stats(loss, net, batch=4)
    conv_macs = 4 * 2 * 4 * 4 * (1 * 3 * 3)  # output elements x C_in/groups x kH x kW
    assert stats.forward_macs_by_op["conv2d"] == conv_macs
    assert stats.backward_macs_by_op["conv2d"] == conv_macs  # only the weight requires grad
    x = Tensor(np.ones((2, 4, 5, 5)), requires_grad=True)
    w = Tensor(np.ones((6, 2, 3, 3)), requires_grad=True)
    stats = tg.graph_stats(F.conv2d(x, w, groups=2).sum())
    assert stats.forward_macs_by_op["conv2d"] == 2 * 6 * 3 * 3 * (2 * 3 * 3)
    assert stats.backward_macs_by_op["conv2d"] == 2 * stats.forward_macs_by_op["conv2d"]
    a, b = Tensor(np.ones((2, 3, 4)), requires_grad=True), Tensor(np.ones((2, 4, 5)))
    stats = tg.graph_stats(tg.einsum("bij,bjk->bik", a, b))
    assert stats.forward_macs_by_op["einsum"] == 2 * 3 * 4 * 5 and stats.backward_macs_by_op["einsum"] == 2 * 3 * 4 * 5


def test_draw_graph_and_explain_on_a_conv_net() -> None:
    net, loss = _small_cnn_loss()
    loss.backward()
    drawing = tg.draw_graph(loss, names=net)
    source = str(drawing.source) if hasattr(drawing, "source") else str(drawing)
    assert "conv2d" in source and "maxpool" in source
    text = tg.explain(net[0].weight, loss, names=net)
    # the weight's rule, Σ windows(x)·g, with the names of the input and the gradient put in
    assert text.startswith("dL/d0.weight = Σ windows(const)·dL/dconv2d(const, 0.weight, 0.bias) = ")


def test_check_module_grads_passes_on_a_cnn() -> None:
    net, _ = _small_cnn_loss()
    x = Tensor(np.random.default_rng(14).normal(size=(2, 1, 6, 6)))
    assert tg.check_module_grads(net, F.cross_entropy, x, np.array([0, 2]))


def test_conv2d_refuses_a_bias_of_another_dtype_as_torch_does() -> None:
    x = Tensor(np.ones((1, 1, 3, 3), np.float32))
    w = Tensor(np.ones((2, 1, 2, 2), np.float32), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"conv2d: the bias \(float64\) and the weight \(float32\)"):
        F.conv2d(x, w, Tensor(np.zeros(2)))
    b = Tensor(np.zeros(2, np.float32), requires_grad=True)
    F.conv2d(x, w, b).sum().backward()  # the bias's gradient: one per output position and image
    assert b.grad.dtype == np.float32 and b.grad.tolist() == [4.0, 4.0]
