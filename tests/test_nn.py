"""The nn package: parameter discovery, saving and loading, layers, losses, and the scalar layers.

Truth comes from outside the engine: plain NumPy forwards, closed-form losses, and central differences
of the forward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value
from tinygrad_edu.nn import (
    MLP,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HingeLoss,
    Identity,
    Layer,
    Linear,
    Module,
    MSELoss,
    Neuron,
    ReLU,
    ScalarMLP,
    Sequential,
    Sigmoid,
    Tanh,
)
from tinygrad_edu.nn import functional as F

from .numeric import assert_close, central_differences


def numeric_param_grads(model: Module, loss: Callable[[], float], eps: float = 1e-6) -> list[np.ndarray]:
    """d loss / d parameter by central differences, perturbing each parameter's data in place."""
    grads = []
    for p in model.parameters():
        if isinstance(p, Value):
            keep = p.data
            p.data = keep + eps
            up = loss()
            p.data = keep - eps
            down = loss()
            p.data = keep
            grads.append(np.array((up - down) / (2 * eps)))
            continue
        g = np.zeros_like(p.data)
        flat, gflat = p.data.reshape(-1), g.reshape(-1)
        for j in range(flat.size):
            keep = flat[j]
            flat[j] = keep + eps
            up = loss()
            flat[j] = keep - eps
            down = loss()
            flat[j] = keep
            gflat[j] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def np_sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * x))  # an independent, overflow-free formula


# --------------------------------------------------------------------------- discovery


class Block(Module):
    def __init__(self, seed: int) -> None:
        self.lin = Linear(2, 2, rng=seed)
        self.gain = Value(1.5)

    def forward(self, x: Tensor) -> Tensor:
        return self.lin(x) * self.gain.data


class Net(Module):
    def __init__(self) -> None:
        self.first = Linear(2, 3, rng=0)
        self.blocks = [Block(1), Block(2)]
        self.heads: dict[str, Any] = {"a": Linear(3, 1, rng=3), "b": (Linear(3, 1, rng=4), self.first)}  # first is shared
        self.scale = Tensor([2.0], requires_grad=True)
        self.frozen = Tensor([1.0, 2.0])  # requires_grad=False: not a parameter
        self.const = Value(3.0, requires_grad=False)  # not a parameter
        self.derived = self.scale * 2  # not a leaf: not a parameter
        self.again = self.scale  # the same tensor twice: counted once, under its first name
        self.name = "net"
        self.me = self  # a cycle must not loop

    def forward(self, x: Tensor) -> Tensor:
        return self.heads["a"](self.first(x)) * self.scale


def test_named_parameters_nested_containers_and_sharing() -> None:
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == [
        "first.weight", "first.bias",
        "blocks.0.lin.weight", "blocks.0.lin.bias", "blocks.0.gain",
        "blocks.1.lin.weight", "blocks.1.lin.bias", "blocks.1.gain",
        "heads.a.weight", "heads.a.bias",
        "heads.b.0.weight", "heads.b.0.bias",
        "scale",
    ]
    params = net.parameters()
    assert len({id(p) for p in params}) == len(params) == 13
    assert params[0] is net.first.weight and params[-1] is net.scale
    assert net.num_parameters() == (6 + 3) + 2 * (6 + 1) + 2 * (3 + 1) + 1


def test_children_and_modules() -> None:
    net = Net()
    assert [n for n, _ in net.named_children()] == ["first", "blocks.0", "blocks.1", "heads.a", "heads.b.0"]
    assert net.children()[0] is net.first
    names = [n for n, _ in net.named_modules()]
    assert names == ["", "first", "blocks.0", "blocks.0.lin", "blocks.1", "blocks.1.lin", "heads.a", "heads.b.0"]
    assert net.modules()[0] is net and len(net.modules()) == len(names)


def test_shared_layer_counted_once_and_trains_once() -> None:
    shared = Linear(2, 2, rng=0)
    seq = Sequential(shared, ReLU(), shared)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert seq.num_parameters() == 6
    x = Tensor(np.ones((3, 2)))
    seq(x).sum().backward()
    assert shared.weight.grad is not None  # both uses accumulate into the one parameter


def test_zero_grad_tensor_and_value() -> None:
    net, scalar = MLP([2, 3, 1], rng=0), ScalarMLP([2, 3, 1], rng=0)
    net(Tensor(np.ones((4, 2)))).sum().backward()
    scalar([1.0, 2.0]).backward()  # type: ignore[union-attr]
    assert all(p.grad is not None for p in net.parameters())
    assert any(p.grad != 0.0 for p in scalar.parameters())
    net.zero_grad()
    scalar.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert all(p.grad == 0.0 for p in scalar.parameters())


def test_train_eval_propagate_to_every_submodule() -> None:
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert not net.blocks[1].lin.training and not net.heads["b"][0].training
    net.blocks[0].train()  # only that subtree
    assert net.blocks[0].lin.training and not net.first.training
    net.train()
    assert all(m.training for m in net.modules())


def test_forward_must_be_defined() -> None:
    class Empty(Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty"):
        Empty()(1.0)


# --------------------------------------------------------------------------- state_dict


def test_state_dict_is_an_ordered_copy() -> None:
    net = Net()
    state = net.state_dict()
    assert list(state) == [n for n, _ in net.named_parameters()]
    assert all(isinstance(v, np.ndarray) for v in state.values())
    assert state["blocks.0.gain"].shape == () and state["blocks.0.gain"].dtype == np.float64
    state["first.weight"][...] = 0.0  # a copy: the model is unchanged
    assert np.any(net.first.weight.data != 0.0)


def test_state_dict_round_trip_restores_outputs() -> None:
    x = Tensor(np.random.default_rng(5).normal(size=(7, 2)))
    a, b = MLP([2, 8, 8, 1], rng=1), MLP([2, 8, 8, 1], rng=2)
    assert not np.allclose(a(x).data, b(x).data)
    params_before = b.parameters()
    data_before = [p.data for p in params_before]
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(b(x).data, a(x).data)
    # in place: the same parameter objects and arrays (an optimizer holding them keeps working)
    assert all(p is q and p.data is d for p, q, d in zip(b.parameters(), params_before, data_before))


def test_state_dict_round_trip_scalar_mlp() -> None:
    a, b = ScalarMLP([3, 4, 2], rng=1), ScalarMLP([3, 4, 2], rng=2)
    b.load_state_dict(a.state_dict())
    xs = [0.5, -1.0, 2.0]
    assert [v.data for v in a(xs)] == [v.data for v in b(xs)]  # type: ignore[union-attr]


def test_load_keeps_dtype() -> None:
    small = Linear(3, 2, rng=0, dtype=np.float32)
    big = Linear(3, 2, rng=1)
    small.load_state_dict(big.state_dict())
    assert small.weight.dtype == np.float32
    assert_close(small.weight.data, big.weight.data, "float32 copy", atol=1e-7)


def test_load_errors_name_the_key() -> None:
    net = MLP([2, 3, 1], rng=0)
    state = net.state_dict()
    missing = {k: v for k, v in state.items() if k != "layers.1.bias"}
    with pytest.raises(KeyError, match=r"missing key 'layers\.1\.bias' \(the model's parameter has shape \(1,\)\)"):
        net.load_state_dict(missing)
    with pytest.raises(KeyError, match=r"unexpected key 'extra' \(shape \(2,\)\)"):
        net.load_state_dict({**state, "extra": np.zeros(2)})
    bad = {**state, "layers.0.weight": np.zeros((2, 3))}
    with pytest.raises(ValueError, match=r"'layers\.0\.weight'.*shape \(3, 2\).*shape \(2, 3\)"):
        net.load_state_dict(bad)


def test_failed_load_changes_nothing_and_non_strict_reports() -> None:
    net = MLP([2, 3, 1], rng=0)
    before = net.state_dict()
    other = MLP([2, 3, 1], rng=1).state_dict()
    other["layers.1.weight"] = np.zeros((3, 1))  # mis-shaped, found after the first key
    with pytest.raises(ValueError):
        net.load_state_dict(other)
    assert all(np.array_equal(before[k], v) for k, v in net.state_dict().items())
    partial = {"layers.0.weight": np.ones((3, 2)), "junk": np.ones(1)}
    result = net.load_state_dict(partial, strict=False)
    assert result.unexpected_keys == ["junk"] and "layers.0.bias" in result.missing_keys
    assert np.array_equal(net.layers[0].weight.data, np.ones((3, 2)))
    with pytest.raises(ValueError, match="shape mismatch"):  # shapes are checked even when not strict
        net.load_state_dict({"layers.0.bias": np.ones(4)}, strict=False)


# --------------------------------------------------------------------------- repr


def test_repr_shows_structure_and_counts() -> None:
    text = repr(MLP([2, 16, 16, 1], rng=0))
    lines = text.splitlines()
    assert lines[0] == "MLP(  # 337 parameters"
    assert "  (layers.0): Linear(in_features=2, out_features=16, bias=True)  # 48 parameters" in lines
    assert "  (layers.1): Linear(in_features=16, out_features=16, bias=True)  # 272 parameters" in lines
    assert "  (activation): ReLU()" in lines and lines[-1] == ")"
    nested = repr(ScalarMLP([2, 2, 1], rng=0)).splitlines()
    assert nested[0] == "ScalarMLP(  # 9 parameters"
    assert "  (layers.0): Layer(  # 6 parameters" in nested
    assert "    (neurons.1): Neuron(n_in=2, activation='relu')  # 3 parameters" in nested  # indented twice
    shared = Linear(2, 2, rng=0)
    assert "(2): the same Linear as (0)" in repr(Sequential(shared, ReLU(), shared))
    assert repr(ReLU()) == "ReLU()"


# --------------------------------------------------------------------------- Linear


def test_linear_init_bounds_shapes_and_statistics() -> None:
    layer = Linear(100, 300, rng=0)
    bound = 1 / np.sqrt(100)
    assert layer.weight.shape == (300, 100) and layer.bias is not None and layer.bias.shape == (300,)
    assert layer.weight.requires_grad and layer.bias.requires_grad
    w = layer.weight.data
    assert np.abs(w).max() <= bound and np.abs(layer.bias.data).max() <= bound
    # U(-k, k): mean 0 and variance k²/3; 30000 draws put both well within these margins
    assert abs(w.mean()) < 0.05 * bound
    assert abs(w.var() / (bound**2 / 3) - 1) < 0.05
    assert w.min() < -0.99 * bound and w.max() > 0.99 * bound  # the whole interval is used


def test_linear_seeding() -> None:
    a, b, c = Linear(4, 3, rng=7), Linear(4, 3, rng=7), Linear(4, 3, rng=8)
    assert np.array_equal(a.weight.data, b.weight.data) and np.array_equal(a.bias.data, b.bias.data)  # type: ignore[union-attr]
    assert not np.array_equal(a.weight.data, c.weight.data)
    gen = np.random.default_rng(7)
    d = Linear(4, 3, rng=gen)
    assert np.array_equal(d.weight.data, a.weight.data)
    assert not np.array_equal(Linear(4, 3, rng=gen).weight.data, d.weight.data)  # the generator moved on
    assert not np.array_equal(Linear(4, 3).weight.data, Linear(4, 3).weight.data)  # None: fresh each time
    # the draws are the weight matrix, then the bias, from one uniform stream
    expected = np.random.default_rng(7).uniform(-0.5, 0.5, size=4 * 3 + 3)
    assert np.array_equal(a.weight.data.reshape(-1), expected[:12]) and np.array_equal(a.bias.data, expected[12:])  # type: ignore[union-attr]


def test_linear_options() -> None:
    layer = Linear(3, 2, bias=False, rng=0, dtype=np.float32)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert layer.weight.dtype == np.float32
    y = layer(np.ones((4, 3)))  # numbers are taken in the layer's dtype
    assert y.dtype == np.float32 and y.shape == (4, 2)
    assert "bias=False" in repr(layer)


@pytest.mark.parametrize("shape", [(3,), (5, 3), (2, 4, 3)])
def test_linear_forward_matches_numpy(shape: tuple[int, ...]) -> None:
    layer = Linear(3, 4, rng=1)
    x = np.random.default_rng(2).normal(size=shape)
    expected = x @ layer.weight.data.T + layer.bias.data  # type: ignore[union-attr]
    assert layer(Tensor(x)).shape == shape[:-1] + (4,)
    assert_close(layer(Tensor(x)).data, expected, "Linear forward", atol=1e-12)


def test_linear_rejects_a_wrong_last_axis() -> None:
    layer = Linear(3, 4, rng=0)
    with pytest.raises(ValueError, match=r"Linear\(in_features=3, out_features=4.*\(\.\.\., 3\).*\(5, 2\)"):
        layer(Tensor(np.ones((5, 2))))
    with pytest.raises(ValueError, match=r"shape \(\)"):
        layer(Tensor(1.0))


def test_linear_gradients_match_central_differences() -> None:
    rng = np.random.default_rng(3)
    layer = Linear(3, 2, rng=4)
    x = rng.normal(size=(5, 3))
    target = rng.normal(size=(5, 2))

    def loss_of(xa: np.ndarray) -> float:
        with tg.no_grad():
            return F.mse_loss(layer(Tensor(xa)), target).item()

    xt = Tensor(x, requires_grad=True)
    F.mse_loss(layer(xt), target).backward()
    expected = numeric_param_grads(layer, lambda: loss_of(x))
    assert_close(layer.weight.grad, expected[0], "dL/dW")
    assert_close(layer.bias.grad, expected[1], "dL/db")  # type: ignore[union-attr]
    (gx,) = central_differences(lambda arrays: loss_of(arrays[0]), [x])
    assert_close(xt.grad, gx, "dL/dx")


@pytest.mark.parametrize("shape", [(3,), (5, 3), (2, 4, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_both_ways(shape: tuple[int, ...], bias: bool) -> None:
    """Outputs and every gradient (weight, bias, input) of nn.Linear against torch.nn.Linear, with torch's
    weights loaded into ours and ours into torch's."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).normal(size=shape)
    g = np.random.default_rng(6).normal(size=shape[:-1] + (4,))
    for direction in ("torch into ours", "ours into torch"):
        theirs = torch.nn.Linear(3, 4, bias=bias, dtype=torch.float64)
        ours = Linear(3, 4, bias=bias, rng=7)
        if direction == "torch into ours":
            ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        else:
            theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
        xt, xo = torch.tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
        yt, yo = theirs(xt), ours(xo)
        assert yo.op is tg.REGISTRY["linear"]  # one node
        assert_close(yo.data, yt.detach().numpy(), f"{direction}: output", atol=1e-12)
        yt.backward(torch.from_numpy(g))
        yo.backward(g)
        assert_close(ours.weight.grad, theirs.weight.grad.numpy(), f"{direction}: dL/dW", atol=1e-12)
        if bias:
            assert_close(ours.bias.grad, theirs.bias.grad.numpy(), f"{direction}: dL/db", atol=1e-12)  # type: ignore[union-attr]
        assert_close(xo.grad, xt.grad.numpy(), f"{direction}: dL/dx", atol=1e-12)


def test_functional_linear_keeps_float32_and_refuses_bad_shapes() -> None:
    w, b = Tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True), Tensor(np.ones(4, dtype=np.float32))
    y = F.linear(np.ones((2, 3)), w, b)  # numbers are taken in the weight's dtype
    assert y.dtype == np.float32 and y.shape == (2, 4)
    y.sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.flags.c_contiguous  # in the weight's own layout
    with pytest.raises(RuntimeError, match=r"linear on shapes \(2, 2\) and \(4, 3\).*in_features \(3\)"):
        F.linear(Tensor(np.ones((2, 2), dtype=np.float32)), w, b)
    with pytest.raises(RuntimeError, match=r"linear: expected a bias Tensor of shape \(4,\).*got \(3,\)"):
        F.linear(Tensor(np.ones((2, 3))), w, Tensor(np.ones(3)))
    with pytest.raises(RuntimeError, match=r"linear: the weight must have shape \(out_features, in_features\)"):
        F.linear(Tensor(np.ones((2, 3))), Tensor(np.ones(3)))
    # a tensor of another dtype is refused, as in PyTorch (a float32 layer would compute in float64 silently)
    with pytest.raises(RuntimeError, match=r"linear: the input \(float64\) and the weight \(float32\) must have the same"):
        F.linear(Tensor(np.ones((2, 3))), w, b)
    with pytest.raises(RuntimeError, match=r"linear: the bias \(float64\) and the weight \(float32\) must have the same"):
        F.linear(Tensor(np.ones((2, 3), dtype=np.float32)), w, Tensor(np.ones(4)))
    with pytest.raises(RuntimeError, match=r"linear: the input \(int64\) and the weight \(float32\)"):
        Linear(3, 4, dtype=np.float32)(Tensor(np.ones((2, 3), dtype=np.int64)))


# --------------------------------------------------------------------------- activations, Sequential, MLP


def test_activation_functions_and_modules_on_tensor_and_value() -> None:
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    for fn, module, ref in [
        (F.relu, ReLU(), np.maximum(x, 0)),
        (F.sigmoid, Sigmoid(), 1 / (1 + np.exp(-x))),
        (F.tanh, Tanh(), np.tanh(x)),
    ]:
        assert_close(fn(Tensor(x)).data, ref, "function", atol=1e-12)
        assert_close(module(Tensor(x)).data, ref, "module", atol=1e-12)
        assert_close([fn(Value(v)).data for v in x], ref, "Value", atol=1e-12)
    v = Value(1.0)
    assert Identity()(v) is v


def test_sequential_container() -> None:
    a, b = Linear(2, 3, rng=0), Linear(3, 1, rng=1)
    seq = Sequential(a, Tanh(), b)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is b and list(seq) == [a, seq[1], b]
    head = seq[:2]
    assert isinstance(head, Sequential) and len(head) == 2 and head[0] is a
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = np.random.default_rng(0).normal(size=(4, 2))
    assert_close(seq(Tensor(x)).data, b(a(Tensor(x)).tanh()).data, "Sequential", atol=0)
    with pytest.raises(TypeError, match="argument 1 is a int"):
        Sequential(a, 3)  # type: ignore[arg-type]


def test_mlp_forward_matches_numpy() -> None:
    net = MLP([3, 5, 4, 2], activation="tanh", output_activation="sigmoid", rng=0)
    x = np.random.default_rng(1).normal(size=(6, 3))
    h = x
    for k, layer in enumerate(net.layers):
        h = h @ layer.weight.data.T + layer.bias.data  # type: ignore[union-attr]
        h = np.tanh(h) if k < 2 else 1 / (1 + np.exp(-h))
    assert_close(net(Tensor(x)).data, h, "MLP forward", atol=1e-12)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLP([2, 1], activation="swish")
    with pytest.raises(ValueError, match="sizes"):
        MLP([2])


def test_mlp_learns_xor() -> None:
    """End to end: the post's claim that one hidden layer implements XOR, by plain gradient descent."""
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    net = MLP([2, 8, 1], activation="tanh", rng=0)
    for _ in range(500):
        net.zero_grad()
        loss = F.binary_cross_entropy_with_logits(net(Tensor(x)).reshape(-1), y)
        loss.backward()
        for p in net.parameters():
            p.data -= 0.5 * p.grad
    assert loss.item() < 0.05
    assert ((net(Tensor(x)).data.reshape(-1) > 0) == (y > 0.5)).all()


# --------------------------------------------------------------------------- losses


def test_mse_loss_closed_form_and_gradient() -> None:
    rng = np.random.default_rng(0)
    p, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    assert_close(F.mse_loss(Tensor(p), t).item(), np.mean((p - t) ** 2), "mse mean", atol=1e-12)
    assert_close(F.mse_loss(Tensor(p), Tensor(t), reduction="sum").item(), np.sum((p - t) ** 2), "mse sum", atol=1e-12)
    pt = Tensor(p, requires_grad=True)
    F.mse_loss(pt, t).backward()
    assert_close(pt.grad, 2 * (p - t) / p.size, "d mse")
    tt = Tensor(t, requires_grad=True)  # a Tensor target takes part in the graph
    F.mse_loss(Tensor(p), tt).backward()
    assert_close(tt.grad, -2 * (p - t) / p.size, "d mse / d target")


def test_binary_cross_entropy_closed_form_and_gradient() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.95, size=6)
    y = rng.uniform(0, 1, size=6)  # soft targets too
    closed = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert_close(F.binary_cross_entropy(Tensor(p), y).item(), closed.mean(), "bce", atol=1e-12)
    assert_close(F.binary_cross_entropy(Tensor(p), y, reduction="sum").item(), closed.sum(), "bce sum", atol=1e-12)
    pt = Tensor(p, requires_grad=True)
    F.binary_cross_entropy(pt, y).backward()
    (numeric,) = central_differences(lambda a: F.binary_cross_entropy(Tensor(a[0]), y).item(), [p])
    assert_close(pt.grad, numeric, "d bce")
    assert_close(pt.grad, (p - y) / (p * (1 - p)) / 6, "d bce closed form")


def test_binary_cross_entropy_at_exact_zero_and_one() -> None:
    """No clipping: a certain, correct prediction costs 0 and keeps its true gradient; a certain wrong
    one is an error rather than a silently clipped value."""
    p = Tensor([0.0, 1.0, 0.25], requires_grad=True)
    loss = F.binary_cross_entropy(p, [0.0, 1.0, 1.0])
    assert_close(loss.item(), -np.log(0.25) / 3, "bce with certain predictions", atol=1e-12)
    loss.backward()
    # d/dp of -(1-y)log(1-p) at p=0, y=0 is 1/(1-p) = 1, and of -y log p at p=1, y=1 is -1/p = -1
    assert_close(p.grad, np.array([1.0, -1.0, -1 / 0.25]) / 3, "d bce at the ends")
    with pytest.raises(ValueError, match="binary_cross_entropy: the loss is infinite"):
        F.binary_cross_entropy(Tensor([0.0, 0.5]), [1.0, 0.5])
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]"):
        F.binary_cross_entropy(Tensor([1.5]), [1.0])
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        F.binary_cross_entropy(Tensor([0.5]), [2.0])


def test_bce_with_logits_closed_form_gradient_and_stability() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(scale=3, size=8)
    y = rng.uniform(0, 1, size=8)
    closed = np.logaddexp(0, x) - x * y  # log(1 + e^x) - x y
    xt = Tensor(x, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(xt, y)
    assert_close(loss.item(), closed.mean(), "bce with logits", atol=1e-12)
    assert_close(loss.item(), F.binary_cross_entropy(Tensor(np_sigmoid(x)), y).item(), "= bce of sigmoid", atol=1e-10)
    loss.backward()
    (numeric,) = central_differences(lambda a: F.binary_cross_entropy_with_logits(Tensor(a[0]), y).item(), [x])
    assert_close(xt.grad, numeric, "d bce with logits")
    assert_close(xt.grad, (np_sigmoid(x) - y) / 8, "sigmoid(x) - y")


def test_bce_with_logits_at_huge_and_zero_logits() -> None:
    x = Tensor([1000.0, -1000.0, 1000.0, -1000.0, 0.0, 0.0], requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="sum")
    # right with certainty costs 0, wrong with certainty costs |x|, a zero logit costs log 2
    assert_close(loss.item(), 2000 + 2 * np.log(2), "extreme logits", atol=1e-9)
    loss.backward()
    assert np.isfinite(x.grad).all()
    # exactly sigmoid(x) - y, also at the branch point x = 0
    assert_close(x.grad, [0.0, 0.0, 1.0, -1.0, -0.5, 0.5], "gradient at extremes", atol=1e-12)


def test_hinge_loss_closed_form_and_gradient() -> None:
    scores = np.array([2.0, 0.3, -0.4, -3.0, 0.9])
    labels = np.array([1, 1, -1, 1, -1])
    closed = np.maximum(0, 1 - labels * scores)
    st = Tensor(scores, requires_grad=True)
    loss = F.hinge_loss(st, labels)
    assert_close(loss.item(), closed.mean(), "hinge", atol=1e-12)
    loss.backward()
    (numeric,) = central_differences(lambda a: F.hinge_loss(Tensor(a[0]), labels).item(), [scores])
    assert_close(st.grad, numeric, "d hinge")  # no score sits on the kink at y·s = 1
    assert_close(F.hinge_loss(Tensor(scores), labels, "sum").item(), closed.sum(), "hinge sum", atol=1e-12)
    with pytest.raises(ValueError, match=r"hinge_loss: labels must be -1 or \+1; got \[0\.0, 1\.0\]"):
        F.hinge_loss(Tensor([1.0, 2.0]), [0, 1])


def test_cross_entropy_is_the_fused_op() -> None:
    assert F.cross_entropy is tg.tensor.cross_entropy
    logits = np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 3.0]])
    labels = np.array([0, 2])
    shifted = logits - logits.max(axis=1, keepdims=True)
    closed = -(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))[[0, 1], labels].mean()
    assert_close(CrossEntropyLoss()(Tensor(logits), labels).item(), closed, "cross entropy", atol=1e-12)


def test_loss_modules_match_functions() -> None:
    p, t = Tensor([0.2, 0.7]), np.array([0.0, 1.0])
    assert MSELoss()(p, t).item() == F.mse_loss(p, t).item()
    assert MSELoss("sum")(p, t).item() == F.mse_loss(p, t, "sum").item()
    assert BCELoss()(p, t).item() == F.binary_cross_entropy(p, t).item()
    assert BCEWithLogitsLoss()(p, t).item() == F.binary_cross_entropy_with_logits(p, t).item()
    assert HingeLoss()(p, 2 * t - 1).item() == F.hinge_loss(p, 2 * t - 1).item()


@pytest.mark.parametrize(
    "loss", [F.mse_loss, F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.hinge_loss]
)
def test_losses_refuse_broadcasting_and_bad_arguments(loss: Callable[..., Any]) -> None:
    name = loss.__name__
    pred = Tensor(np.full((4, 1), 0.5))
    with pytest.raises(ValueError, match=rf"{name}: the prediction has shape \(4, 1\) but the target has shape \(4,\)"):
        loss(pred, np.ones(4))
    with pytest.raises(TypeError, match=rf"{name}: the prediction must be a Tensor, got list"):
        loss([0.5], [1.0])
    with pytest.raises(TypeError, match=rf"{name}: the target must be"):
        loss(Tensor([0.5]), Value(1.0))
    with pytest.raises(ValueError, match=rf"{name}: reduction must be one of"):
        loss(pred, np.ones((4, 1)), reduction="max")


def test_loss_follows_the_prediction_dtype() -> None:
    pred = Tensor(np.array([0.5, 1.5], dtype=np.float32), requires_grad=True)
    loss = F.mse_loss(pred, np.array([0.0, 1.0]))  # a float64 target does not promote the loss
    assert loss.dtype == np.float32
    loss.backward()
    assert pred.grad.dtype == np.float32


# --------------------------------------------------------------------------- the scalar layers


def test_neuron_computes_the_weighted_sum() -> None:
    n = Neuron(3, activation="sigmoid", weights=[0.5, -1.0, 2.0], bias=0.25)
    assert [p.label for p in n.parameters()] == ["w0", "w1", "w2", "b"]
    assert [name for name, _ in n.named_parameters()] == ["w.0", "w.1", "w.2", "b"]
    out = n([1.0, 2.0, Value(0.5)])
    z = 0.5 - 2.0 + 1.0 + 0.25
    assert_close(out.data, 1 / (1 + np.exp(-z)), "neuron", atol=1e-15)
    with pytest.raises(ValueError, match="expected 3 inputs, got 2"):
        n([1.0, 2.0])
    with pytest.raises(ValueError, match="both weights and bias"):
        Neuron(2, weights=[1.0, 2.0])


def test_neuron_and_layer_draw_like_linear() -> None:
    lin1, neuron = Linear(4, 1, rng=3), Neuron(4, rng=3)
    assert [w.data for w in neuron.w] == lin1.weight.data[0].tolist() and neuron.b.data == lin1.bias.data[0]  # type: ignore[union-attr]
    lin, layer = Linear(4, 3, rng=5), Layer(4, 3, rng=5)
    assert [[w.data for w in n.w] for n in layer.neurons] == lin.weight.data.tolist()
    assert [n.b.data for n in layer.neurons] == lin.bias.data.tolist()  # type: ignore[union-attr]
    assert isinstance(Layer(2, 1, rng=0)([1.0, 2.0]), Value)  # one output: a Value, as in micrograd


@pytest.mark.parametrize("activation,output_activation", [("relu", None), ("tanh", "sigmoid")])
def test_scalar_mlp_equals_mlp(activation: str, output_activation: str | None) -> None:
    """The neuron picture and the matrix picture are one function: same weights, outputs and gradients."""
    sizes = [3, 5, 4, 2]
    net = MLP(sizes, activation=activation, output_activation=output_activation, rng=11)
    scalar = ScalarMLP(sizes, activation=activation, output_activation=output_activation, rng=11)
    assert net.num_parameters() == scalar.num_parameters() == 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2
    for lin, layer in zip(net.layers, scalar.layers):  # identical numbers, not merely close
        assert [[w.data for w in n.w] for n in layer.neurons] == lin.weight.data.tolist()
        assert [n.b.data for n in layer.neurons] == lin.bias.data.tolist()  # type: ignore[union-attr]

    xs = np.random.default_rng(0).normal(size=(4, 3))
    target = np.array([0.3, -0.7])
    total = Tensor(0.0)
    scalar_total = Value(0.0)
    for x in xs:
        out = net(Tensor(x))
        souts = scalar(x.tolist())
        assert isinstance(souts, list)
        assert_close([v.data for v in souts], out.data, "outputs", atol=1e-13)
        total = total + ((out - target) ** 2).sum()
        scalar_total = scalar_total + sum(((o - t) ** 2 for o, t in zip(souts, target)), Value(0.0))
    assert_close(scalar_total.data, total.item(), "loss", atol=1e-12)
    total.backward()
    scalar_total.backward()
    for lin, layer in zip(net.layers, scalar.layers):
        assert_close([[w.grad for w in n.w] for n in layer.neurons], lin.weight.grad, "dL/dW", atol=1e-12)
        assert_close([n.b.grad for n in layer.neurons], lin.bias.grad, "dL/db", atol=1e-12)  # type: ignore[union-attr]


def test_scalar_mlp_gradients_match_central_differences() -> None:
    scalar = ScalarMLP([2, 3, 1], activation="tanh", rng=4)
    x = [0.7, -1.2]

    def loss() -> float:
        with tg.no_grad():
            return float((scalar(x) - 0.5) ** 2)  # type: ignore[operator]

    ((scalar(x) - 0.5) ** 2).backward()  # type: ignore[operator]
    numeric = numeric_param_grads(scalar, loss)
    assert_close([p.grad for p in scalar.parameters()], [float(g) for g in numeric], "scalar MLP gradients")


def test_scalar_state_dict_maps_onto_linear_weights() -> None:
    """With the same seed, a ScalarMLP's state holds the MLP's matrices, neuron by neuron."""
    scalar, net = ScalarMLP([2, 3, 1], rng=9), MLP([2, 3, 1], rng=9)
    state = scalar.state_dict()
    assert state["layers.0.neurons.2.w.1"] == net.layers[0].weight.data[2, 1]
    assert state["layers.1.neurons.0.b"] == net.layers[1].bias.data[0]  # type: ignore[union-attr]
