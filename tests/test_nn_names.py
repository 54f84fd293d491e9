"""torch.nn names that PyTorch code uses all the time: the containers (ModuleList, ModuleDict, ParameterList,
ParameterDict), softmax's family, Unflatten, kl_div, GroupNorm and AdaptiveAvgPool2d.

Each is checked against a closed form or a loop written out here (these run without torch), and against
torch (float64, the same weights moved both ways by load_state_dict, every gradient at 1e-10 or tighter).
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.nn import (
    AdaptiveAvgPool2d,
    GroupNorm,
    KLDivLoss,
    Linear,
    LogSigmoid,
    LogSoftmax,
    Module,
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    ReLU,
    Softmax,
    Softmin,
    Tanh,
    Unflatten,
)
from tinygrad_edu.nn import functional as F

from .layer_parity import assert_parity, numpy_state, randomize, torch_state

ATOL = 1e-10


def _without_counts(text: str) -> str:
    """A repr without our "  # 6 parameters" notes: what torch prints."""
    return re.sub(r"  # [\d,]+ parameters?", "", text)


# ----------------------------------------------------------------------------- ModuleList


def test_module_list_is_a_list_of_submodules() -> None:
    a, b, c, d = Linear(2, 2, rng=0), ReLU(), Linear(2, 3, rng=1), Tanh()
    layers = ModuleList([a, b])
    layers.append(c)
    layers += [d]
    assert len(layers) == 4 and list(layers) == [a, b, c, d] and layers[-1] is d and layers[2] is c
    assert isinstance(layers[1:3], ModuleList) and list(layers[1:3]) == [b, c] and list(layers[::-2]) == [d, b]
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    layers.insert(1, Tanh())
    del layers[0]  # the rest are renumbered, as torch renames them
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2", "3"] and layers[2] is c
    assert [n for n, _ in layers.named_parameters()] == ["2.weight", "2.bias"]
    layers[0] = a
    assert layers[0] is a and [n for n, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]
    del layers[1:3]
    assert list(layers) == [a, d]
    assert layers.pop() is d and list(layers) == [a]
    both = layers + [b]
    assert isinstance(both, ModuleList) and list(both) == [a, b] and list(layers) == [a]
    assert ModuleList().extend([a]).append(b)[1] is b  # append and extend return the list, as torch's


def test_module_list_errors_name_the_list_the_item_and_the_size() -> None:
    layers = ModuleList([ReLU(), ReLU()])
    with pytest.raises(TypeError, match=r"ModuleList: item 2 is a ndarray, not a Module"):
        layers.append(np.zeros(2))
    with pytest.raises(IndexError, match=r"ModuleList: index 2 is out of range for 2 items"):
        layers[2]
    with pytest.raises(IndexError, match=r"index -3 is out of range for 2 items"):
        layers[-3] = ReLU()
    with pytest.raises(TypeError, match=r"ModuleList.extend should be called with an iterable, but got ReLU"):
        layers.extend(ReLU())  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match="ModuleList does not define forward"):
        layers(Tensor([1.0]))


def test_module_list_repr_groups_equal_modules_as_torch_does() -> None:
    layers = ModuleList([Linear(2, 2, rng=k) for k in range(3)] + [ReLU(), Linear(2, 1, rng=3)])
    expected = """ModuleList(
  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)
  (3): ReLU()
  (4): Linear(in_features=2, out_features=1, bias=True)
)"""
    assert _without_counts(repr(layers)) == expected
    assert repr(ModuleList()) == "ModuleList()"


# ----------------------------------------------------------------------------- ModuleDict


def test_module_dict_is_a_dict_of_submodules() -> None:
    a, b, c = Linear(2, 2, rng=0), ReLU(), Linear(2, 1, rng=1)
    heads = ModuleDict({"a": a, "b": b})
    heads["c"] = c
    assert list(heads) == list(heads.keys()) == ["a", "b", "c"] and len(heads) == 3
    assert list(heads.values()) == [a, b, c] and list(heads.items())[2] == ("c", c)
    assert "b" in heads and "z" not in heads and heads["a"] is a and heads.a is a
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "c.weight", "c.bias"]
    heads.update([("d", Tanh()), ("a", c)])  # pairs, in their order; an existing key keeps its place
    assert list(heads) == ["a", "b", "c", "d"] and heads["a"] is c
    heads.update(ModuleDict({"e": b}))
    assert heads.pop("b") is b and "b" not in heads
    del heads["e"]
    assert list(heads) == ["a", "c", "d"]
    # c under two keys: parameters are counted once, under the first name (as torch's named_parameters)
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias"]
    heads.clear()
    assert len(heads) == 0 and heads.parameters() == []
    with pytest.raises(AttributeError, match="'ModuleDict' object has no attribute or key 'a'"):
        _ = heads.a


def test_module_dict_errors() -> None:
    heads = ModuleDict()
    with pytest.raises(TypeError, match=r"ModuleDict: keys must be strings, got 1 \(a int\)"):
        heads[1] = ReLU()  # type: ignore[index]
    with pytest.raises(KeyError, match=r"without dots .* got 'a.b'"):
        heads["a.b"] = ReLU()
    with pytest.raises(KeyError, match=r"key 'keys' is the name of an attribute of ModuleDict"):
        heads["keys"] = ReLU()
    with pytest.raises(TypeError, match=r"ModuleDict: the value of key 'x' is a float, not a Module"):
        heads["x"] = 1.0  # type: ignore[assignment]
    with pytest.raises(ValueError, match=r"ModuleDict.update: sequence element #0 has length 3; 2 is required"):
        heads.update([("a", ReLU(), 1)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"ModuleDict.update: sequence element #0 should be a \(key, value\) pair"):
        heads.update([1])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="ModuleDict.update should be called with an iterable"):
        heads.update(3)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        heads["missing"]


# ----------------------------------------------------------------------------- ParameterList, ParameterDict


def test_parameter_containers_make_tensors_parameters() -> None:
    plain, param = Tensor(np.zeros(3)), Tensor(np.ones(2), requires_grad=True)
    params = ParameterList([plain, param])
    assert params[1] is param and params[0].requires_grad and params[0].op is None
    assert params[0].data is plain.data  # the same data, as torch's Parameter(tensor)
    params.append(Tensor(np.ones((2, 2))))
    assert [n for n, _ in params.named_parameters()] == ["0", "1", "2"] and isinstance(params[:2], ParameterList)
    named = ParameterDict({"gain": Tensor(np.ones(2)), "shift": param})
    assert list(named.state_dict()) == ["gain", "shift"] and named["shift"] is named.get("shift") is param
    assert named.get("none") is None and named.gain.requires_grad
    with pytest.raises(TypeError, match=r"ParameterList: item 3 is a list, not a parameter"):
        params.append([1.0])
    with pytest.raises(TypeError, match=r"ParameterDict: the value of key 'n' is a int64 Tensor of shape \(2,\); only float"):
        named["n"] = Tensor(np.array([1, 2]))
    with pytest.raises(TypeError, match=r"ParameterList: item 0 is a Value that is not a leaf requiring grad"):
        ParameterList([tg.Value(1.0) * 2])


# ----------------------------------------------------------------------------- the containers in a model


class Net(Module):
    """Each container in a model, as a torch model would hold them (the same names, TorchNet below)."""

    def __init__(self) -> None:
        self.layers = ModuleList([Linear(3, 4, rng=0), Linear(4, 4, rng=1)])
        self.heads = ModuleDict({"a": Linear(4, 2, rng=2), "b": Linear(4, 2, bias=False, rng=3)})
        self.scales = ParameterList([Tensor(np.full(2, 0.5)), Tensor(np.full(2, 2.0))])
        self.shifts = ParameterDict({"a": Tensor(np.zeros(2)), "b": Tensor(np.ones(2))})

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x).tanh()
        out = [self.heads[k](x) * s + self.shifts[k] for k, s in zip(self.heads.keys(), self.scales)]
        return out[0] * out[1]


STATE_KEYS = ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "heads.a.weight", "heads.a.bias",
              "heads.b.weight", "scales.0", "scales.1", "shifts.a", "shifts.b"]


def test_containers_give_torch_s_names_in_a_model() -> None:
    net = Net()
    assert [n for n, _ in net.named_parameters()] == STATE_KEYS == list(net.state_dict())
    assert [n for n, _ in net.named_modules()][:4] == ["", "layers", "layers.0", "layers.1"]
    assert net.get_submodule("heads.b") is net.heads["b"] and net.get_parameter("shifts.b") is net.shifts["b"]
    other = Net()
    randomize(other, 1)
    net.load_state_dict(other.state_dict())
    x = Tensor(np.random.default_rng(0).normal(size=(5, 3)))
    np.testing.assert_array_equal(net(x).data, other(x).data)
    net.eval()
    assert not net.heads["a"].training and not net.layers[1].training


def test_containers_state_dicts_move_both_ways_with_torch() -> None:
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class TorchNet(nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 4)])
            self.heads = nn.ModuleDict({"a": nn.Linear(4, 2), "b": nn.Linear(4, 2, bias=False)})
            self.scales = nn.ParameterList([nn.Parameter(torch.full((2,), 0.5)), nn.Parameter(torch.full((2,), 2.0))])
            self.shifts = nn.ParameterDict({"a": nn.Parameter(torch.zeros(2)), "b": nn.Parameter(torch.ones(2))})

        def forward(self, x: Any) -> Any:
            for layer in self.layers:
                x = layer(x).tanh()
            out = [self.heads[k](x) * s + self.shifts[k] for k, s in zip(self.heads.keys(), self.scales)]
            return out[0] * out[1]

    theirs, ours = TorchNet().double(), Net()
    assert list(theirs.state_dict()) == STATE_KEYS
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1, 1)
    ours.load_state_dict(numpy_state(theirs))
    x = np.random.default_rng(2).normal(size=(5, 3))
    assert_parity(ours, theirs, x, atol=ATOL)  # outputs, and the gradient of every parameter by name
    randomize(ours, 3)
    theirs.load_state_dict(torch_state(ours))
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=0, atol=ATOL)
    # the reprs, as torch prints them
    assert _without_counts(repr(ours.layers)) == repr(theirs.layers)
    assert _without_counts(repr(ours.heads)) == repr(theirs.heads)


# ----------------------------------------------------------------------------- softmax's family, logsigmoid


def test_softmax_family_closed_forms() -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    e = np.exp(x)
    for dim in (0, 1, -1):
        np.testing.assert_allclose(Softmax(dim)(Tensor(x)).data, e / e.sum(dim, keepdims=True), rtol=1e-13)
        np.testing.assert_allclose(LogSoftmax(dim)(Tensor(x)).data, x - np.log(e.sum(dim, keepdims=True)), atol=1e-13)
        np.testing.assert_allclose(Softmin(dim)(Tensor(x)).data, (1 / e) / (1 / e).sum(dim, keepdims=True), rtol=1e-13)
    big = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    expected = [-1000.0, -30.0 - math.log1p(math.exp(-30.0)), -math.log(2.0), -math.log1p(math.exp(-30.0)), 0.0]
    np.testing.assert_allclose(F.logsigmoid(Tensor(big)).data, expected, rtol=1e-15, atol=1e-300)
    assert F.logsigmoid(tg.Value(0.0)).data == pytest.approx(-math.log(2.0), rel=1e-15)
    x_ = Tensor(big, requires_grad=True)
    LogSigmoid()(x_).sum().backward()
    with np.errstate(over="ignore"):
        sigmoid_of_minus_x = 1 / (1 + np.exp(big))
    np.testing.assert_allclose(x_.grad, sigmoid_of_minus_x, rtol=1e-15)  # d/dx log σ(x) = σ(-x)


@pytest.mark.parametrize("ndim, implicit", [(1, 0), (2, 1), (3, 0), (4, 1)])
def test_softmax_without_dim_takes_torch_s_old_implicit_axis_with_its_warning(ndim: int, implicit: int) -> None:
    x = Tensor(np.random.default_rng(1).normal(size=(2, 3, 2, 3)[:ndim]))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax has been deprecated"):
        out = F.softmax(x)
    np.testing.assert_array_equal(out.data, F.softmax(x, implicit).data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.log_softmax(x, dim=0)  # no warning with a dim


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family_matches_torch(name: str, dim: int) -> None:
    torch = pytest.importorskip("torch")
    layer = {"softmax": Softmax, "log_softmax": LogSoftmax, "softmin": Softmin}[name]
    theirs = getattr(torch.nn, layer.__name__)(dim)
    assert repr(layer(dim)) == repr(theirs)
    assert_parity(layer(dim), theirs, np.random.default_rng(2).normal(size=(3, 4, 5)), atol=ATOL)
    x = np.random.default_rng(3).normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_allclose(getattr(F, name)(Tensor(x), dim, dtype=np.float64).data,
                               getattr(torch.nn.functional, name)(torch.from_numpy(x), dim, dtype=torch.float64).numpy(),
                               rtol=0, atol=ATOL)


def test_logsigmoid_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    assert repr(LogSigmoid()) == repr(torch.nn.LogSigmoid())
    x = np.concatenate([np.random.default_rng(4).normal(size=8) * 10, [-800.0, -40.0, 0.0, 40.0, 800.0]])
    assert_parity(LogSigmoid(), torch.nn.LogSigmoid(), x, atol=1e-12)


# ----------------------------------------------------------------------------- Unflatten


@pytest.mark.parametrize("dim, sizes", [(1, (3, 4)), (1, [2, 2, 3]), (-1, [3, 1]), (0, (2, -1)), (1, (-1, 1, 6)), (2, (3,))])
def test_unflatten_shapes_and_values(dim: int, sizes: Any) -> None:
    x = np.arange(2 * 12 * 3.0).reshape(2, 12, 3)
    axis = dim % 3
    out = Unflatten(dim, sizes)(Tensor(x)).data
    known = math.prod(n for n in sizes if n != -1)
    whole = tuple(x.shape[axis] // known if n == -1 else n for n in sizes)
    assert out.shape == x.shape[:axis] + whole + x.shape[axis + 1:]
    np.testing.assert_array_equal(out.reshape(x.shape), x)  # the same elements, in the same order
    torch = pytest.importorskip("torch")
    assert repr(Unflatten(dim, sizes)) == repr(torch.nn.Unflatten(dim, sizes))
    assert out.shape == tuple(torch.nn.Unflatten(dim, sizes)(torch.from_numpy(x)).shape)


def test_unflatten_errors() -> None:
    with pytest.raises(RuntimeError, match=r"Unflatten\(dim=1, unflattened_size=\(5, 2\)\): the sizes \(5, 2\) do not split "
                                           r"axis 1 of size 12 \(input of shape \(2, 12\)\)"):
        Unflatten(1, (5, 2))(Tensor(np.zeros((2, 12))))
    with pytest.raises(RuntimeError, match="do not split axis 1 of size 12"):
        Unflatten(1, (5, -1))(Tensor(np.zeros((2, 12))))
    with pytest.raises(IndexError, match=r"Unflatten\(dim=2.*out of range for an input of shape \(2, 12\)"):
        Unflatten(2, (3, 4))(Tensor(np.zeros((2, 12))))
    with pytest.raises(ValueError, match="only one size may be -1"):
        Unflatten(1, (-1, -1))
    with pytest.raises(TypeError, match=r"unflattened_size must be ints .* got 2.0 at position 1"):
        Unflatten(1, (3, 2.0))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- kl_div


def kl_loop(logp: np.ndarray, target: np.ndarray, log_target: bool) -> np.ndarray:
    """Element by element: t·(log t - x), a zero target adding 0; or exp(t)·(t - x) for log targets."""
    out = np.zeros_like(logp)
    for i in np.ndindex(logp.shape):
        x, t = logp[i], target[i]
        out[i] = math.exp(t) * (t - x) if log_target else (0.0 if t == 0 else t * (math.log(t) - x))
    return out


def _distributions(seed: int, shape: tuple[int, ...], zeros: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logp = rng.normal(size=shape)
    logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
    target = rng.uniform(0.1, 1.0, shape)
    if zeros:
        target[..., 0] = 0.0
    return logp, target / target.sum(-1, keepdims=True)


@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_against_a_loop(log_target: bool) -> None:
    logp, target = _distributions(0, (4, 5), zeros=not log_target)
    t = np.log(target) if log_target else target
    terms = kl_loop(logp, t, log_target)
    x = Tensor(logp, requires_grad=True)
    results = {r: F.kl_div(x, t, reduction=r, log_target=log_target) for r in ("none", "sum", "mean", "batchmean")}
    np.testing.assert_allclose(results["none"].data, terms, rtol=1e-13, atol=1e-15)
    assert results["sum"].item() == pytest.approx(terms.sum(), rel=1e-13)
    assert results["mean"].item() == pytest.approx(terms.sum() / 20, rel=1e-13)
    assert results["batchmean"].item() == pytest.approx(terms.sum() / 4, rel=1e-13)
    # batchmean is the KL divergence of each row, on average
    kl_rows = [sum(p * math.log(p / q) for p, q in zip(row_t, np.exp(row_x)) if p > 0)
               for row_t, row_x in zip(target, logp)]
    assert results["batchmean"].item() == pytest.approx(np.mean(kl_rows), rel=1e-12)
    results["batchmean"].backward()
    np.testing.assert_allclose(x.grad, -np.exp(t) / 4 if log_target else -t / 4, rtol=1e-14)  # d/dx = -target / N
    assert KLDivLoss(reduction="sum", log_target=log_target)(Tensor(logp), t).item() == pytest.approx(terms.sum(), rel=1e-13)


def test_kl_div_errors() -> None:
    logp = Tensor(np.log(np.full((2, 2), 0.5)))
    with pytest.raises(ValueError, match=r"kl_div: targets must be probabilities \(0 or more\) when log_target=False; "
                                         r"the smallest is -0.5"):
        F.kl_div(logp, [[0.5, 0.5], [-0.5, 1.5]])
    with pytest.raises(ValueError, match=r"kl_div: reduction must be one of \('none', 'mean', 'sum', 'batchmean'\), got 'avg'"):
        F.kl_div(logp, np.full((2, 2), 0.5), reduction="avg")
    with pytest.raises(ValueError, match=r"kl_div: the prediction has shape \(2, 2\) but the target has shape \(2,\)"):
        F.kl_div(logp, [0.5, 0.5])


@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction: str, log_target: bool) -> None:
    torch = pytest.importorskip("torch")
    logp, target = _distributions(1, (3, 4, 5), zeros=False)
    t = np.log(target) if log_target else target
    theirs = torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)
    ours = KLDivLoss(reduction, log_target)
    assert repr(ours) == repr(theirs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's warning about "mean"
        assert_parity(ours, theirs, logp, t, atol=ATOL)  # the gradients of the input and of the target
    if not log_target:  # zero targets: 0·log 0 = 0, as torch's xlogy (the input's gradient there is 0)
        _, with_zeros = _distributions(1, (3, 4, 5))
        x = Tensor(logp, requires_grad=True)
        F.kl_div(x, with_zeros, reduction).sum().backward()
        x_t = torch.tensor(logp, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = torch.nn.functional.kl_div(x_t, torch.from_numpy(with_zeros), reduction=reduction)
        expected.sum().backward()
        np.testing.assert_allclose(F.kl_div(Tensor(logp), with_zeros, reduction).data, expected.detach().numpy(),
                                   rtol=0, atol=ATOL)
        np.testing.assert_allclose(x.grad, x_t.grad.numpy(), rtol=0, atol=ATOL)


# ----------------------------------------------------------------------------- GroupNorm


def group_norm_loop(x: np.ndarray, groups: int, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """Sample by sample, group by group: its channels' elements normalised together, then each channel scaled."""
    out = np.empty_like(x)
    per_group = x.shape[1] // groups
    for n in range(x.shape[0]):
        for g in range(groups):
            block = x[n, g * per_group:(g + 1) * per_group]
            out[n, g * per_group:(g + 1) * per_group] = (block - block.mean()) / math.sqrt(block.var() + eps)
    for c in range(x.shape[1]):
        out[:, c] = out[:, c] * w[c] + b[c]
    return out


@pytest.mark.parametrize("groups, shape", [(2, (3, 4)), (1, (2, 6, 5)), (3, (2, 6, 5)), (6, (2, 6, 5)), (2, (2, 4, 3, 3))])
def test_group_norm_against_a_loop_and_finite_differences(groups: int, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    gn = GroupNorm(groups, shape[1], eps=1e-3)
    randomize(gn, 1)
    x = Tensor(rng.normal(size=shape), requires_grad=True)
    expected = group_norm_loop(x.data, groups, gn.weight.data, gn.bias.data, 1e-3)  # type: ignore[union-attr]
    np.testing.assert_allclose(gn(x).data, expected, rtol=0, atol=1e-12)
    weights = Tensor(rng.normal(size=shape))
    assert tg.gradcheck(lambda x: gn(x) * weights, [x])


def test_group_norm_errors() -> None:
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(6\) must be divisible by num_groups \(4\)"):
        GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match=r"GroupNorm\(2, 4, eps=1e-05, affine=True, bias=True\): expected an input of shape "
                                           r"\(N, 4, \*\), got shape \(2, 6, 3\)"):
        GroupNorm(2, 4)(Tensor(np.zeros((2, 6, 3))))
    with pytest.raises(RuntimeError, match=r"group_norm: the 6 channels of the input \(shape \(2, 6\)\) must split into "
                                           r"num_groups=4 groups"):
        F.group_norm(Tensor(np.zeros((2, 6))), 4)
    with pytest.raises(ValueError, match="GroupNorm: num_groups must be a positive integer, got 0"):
        GroupNorm(0, 4)


@pytest.mark.parametrize("groups, shape, kw", [(2, (3, 4), {}), (3, (2, 6, 5), {"eps": 0.1}), (1, (2, 4, 3, 3), {}),
                                               (4, (2, 4, 3, 3), {"bias": False}), (2, (2, 4, 3), {"affine": False})])
def test_group_norm_matches_torch(groups: int, shape: tuple[int, ...], kw: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    theirs = torch.nn.GroupNorm(groups, shape[1], dtype=torch.float64, **kw)
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1, 1)
    ours = GroupNorm(groups, shape[1], **kw)
    assert _without_counts(repr(ours)) == repr(theirs)
    ours.load_state_dict(numpy_state(theirs))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(3).normal(size=shape)
    assert_parity(ours, theirs, x, atol=ATOL)
    if ours.weight is not None:  # and our weights into torch
        randomize(ours, 5)
        theirs.load_state_dict(torch_state(ours))
        np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=0, atol=ATOL)


# ----------------------------------------------------------------------------- AdaptiveAvgPool2d


def adaptive_pool_loop(x: np.ndarray, out: tuple[int, int]) -> np.ndarray:
    """Window by window, torch's rule: output (i, j) averages rows ⌊iH/h⌋..⌈(i+1)H/h⌉ - 1, likewise columns."""
    (h, w), (H, W) = out, x.shape[-2:]
    y = np.empty(x.shape[:-2] + (h, w))
    for i in range(h):
        for j in range(w):
            rows = slice(math.floor(i * H / h), math.ceil((i + 1) * H / h))
            cols = slice(math.floor(j * W / w), math.ceil((j + 1) * W / w))
            y[..., i, j] = x[..., rows, cols].mean(axis=(-2, -1))
    return y


@pytest.mark.parametrize("size, shape, wanted", [
    (1, (2, 3, 6, 4), (1, 1)),        # global average
    (2, (2, 3, 6, 4), (2, 2)),        # divisible
    ((3, None), (2, 3, 6, 4), (3, 4)),
    ((4, 3), (2, 3, 7, 5), (4, 3)),   # overlapping windows
    ((9, 6), (1, 2, 7, 5), (9, 6)),   # larger than the input
    ((2, 5), (3, 5, 4), (2, 5)),      # unbatched
])
def test_adaptive_avg_pool2d_against_a_loop(size: Any, shape: tuple[int, ...], wanted: tuple[int, int]) -> None:
    x = Tensor(np.random.default_rng(0).normal(size=shape), requires_grad=True)
    y = AdaptiveAvgPool2d(size)(x)
    np.testing.assert_allclose(y.data, adaptive_pool_loop(x.data, wanted), rtol=0, atol=1e-14)
    if size == 1:
        np.testing.assert_allclose(y.data[..., 0, 0], x.data.mean(axis=(-2, -1)), rtol=1e-14)
    assert tg.gradcheck(lambda x: AdaptiveAvgPool2d(size)(x), [x])


def test_adaptive_avg_pool2d_errors() -> None:
    with pytest.raises(ValueError, match=r"AdaptiveAvgPool2d\(output_size=0\): adaptive_avg_pool2d: output_size must be a "
                                         r"positive int or a pair of them .* got 0 for an input of shape \(1, 2, 4, 4\)"):
        AdaptiveAvgPool2d(0)(Tensor(np.zeros((1, 2, 4, 4))))
    with pytest.raises(ValueError, match=r"got \(1, 2, 3\)"):
        F.adaptive_avg_pool2d(Tensor(np.zeros((1, 2, 4, 4))), (1, 2, 3))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match=r"expected a 3-D \(unbatched\) or 4-D \(batched\) input, got shape \(4, 4\)"):
        AdaptiveAvgPool2d(2)(Tensor(np.zeros((4, 4))))


@pytest.mark.parametrize("size, shape", [(1, (2, 3, 6, 4)), (2, (2, 3, 6, 4)), ((3, None), (2, 3, 6, 4)),
                                         ((4, 3), (2, 3, 7, 5)), ((9, 6), (1, 2, 7, 5)), ((2, 5), (3, 5, 4))])
def test_adaptive_avg_pool2d_matches_torch(size: Any, shape: tuple[int, ...]) -> None:
    torch = pytest.importorskip("torch")
    theirs = torch.nn.AdaptiveAvgPool2d(size)
    assert repr(AdaptiveAvgPool2d(size)) == repr(theirs)
    assert_parity(AdaptiveAvgPool2d(size), theirs, np.random.default_rng(1).normal(size=shape), atol=ATOL)
