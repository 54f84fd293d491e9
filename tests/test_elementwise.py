"""Elementwise math, comparisons and activations (issue 15), beyond what the registry test checks op by op.

The composites (selu, softsign, relu6, hardsigmoid, square, reciprocal, rsqrt), comparisons and logic,
the non-differentiable ops, kinks as gradcheck reports them, float32, Values, the activation tables, and
parity of values and first and second derivatives with PyTorch (float64) where it is installed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, Value, nn
from tinygrad_edu.gradcheck import GradcheckWarning
from tinygrad_edu.nn.layers import ACTIVATION_MODULES

from .numeric import assert_close

# inputs that include the interesting points: 0, the bounds of clip and hardtanh (±1), relu6's 6 and
# hardsigmoid's ±3, and ordinary values in between
POINTS = np.array([-4.0, -3.0, -1.5, -1.0, -0.3, 0.0, 0.4, 1.0, 2.5, 3.0, 6.0, 7.0])

# name -> (ours, PyTorch's, inputs): the same call written for each library
UNARY: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any], np.ndarray]] = {
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt(), np.abs(POINTS) + 0.5),
    "rsqrt": (lambda x: x.rsqrt(), lambda x: x.rsqrt(), np.abs(POINTS) + 0.5),
    "abs": (lambda x: x.abs(), lambda x: x.abs(), POINTS),
    "sign": (lambda x: x.sign(), lambda x: x.sign(), POINTS),
    "sin": (lambda x: x.sin(), lambda x: x.sin(), POINTS),
    "cos": (lambda x: x.cos(), lambda x: x.cos(), POINTS),
    "log2": (lambda x: x.log2(), lambda x: x.log2(), np.abs(POINTS) + 0.5),
    "square": (lambda x: x.square(), lambda x: x.square(), POINTS),
    "reciprocal": (lambda x: x.reciprocal(), lambda x: x.reciprocal(), POINTS + 0.25),
    "erf": (lambda x: x.erf(), lambda x: x.erf(), POINTS),
    "log1p": (lambda x: x.log1p(), lambda x: x.log1p(), np.abs(POINTS) / 8 - 0.5),
    "expm1": (lambda x: x.expm1(), lambda x: x.expm1(), POINTS),
    "clamp": (lambda x: x.clamp(-1.0, 1.0), lambda x: x.clamp(-1.0, 1.0), POINTS),
    "clamp_min": (lambda x: x.clamp(min=0.0), lambda x: x.clamp(min=0.0), POINTS),
    "clip_max": (lambda x: x.clip(max=1.0), lambda x: x.clip(max=1.0), POINTS),
    "round": (lambda x: x.round(), lambda x: x.round(), POINTS + 0.5),  # halves: to even
    "round_2": (lambda x: x.round(decimals=2), lambda x: x.round(decimals=2), POINTS / 7),
    "floor": (lambda x: x.floor(), lambda x: x.floor(), POINTS + 0.5),
    "ceil": (lambda x: x.ceil(), lambda x: x.ceil(), POINTS + 0.5),
    "remainder": (lambda x: x % 0.75, lambda x: x % 0.75, POINTS),
    "gelu": (F.gelu, lambda x: _tf().gelu(x), POINTS),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: _tf().gelu(x, approximate="tanh"), POINTS),
    "silu": (F.silu, lambda x: _tf().silu(x), POINTS),
    "softplus": (F.softplus, lambda x: _tf().softplus(x), POINTS * 6),  # beyond the threshold 20 too
    "softplus_beta": (lambda x: F.softplus(x, beta=2.0, threshold=5.0),
                      lambda x: _tf().softplus(x, beta=2.0, threshold=5.0), POINTS),
    "leaky_relu": (F.leaky_relu, lambda x: _tf().leaky_relu(x), POINTS),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, 0.2), lambda x: _tf().leaky_relu(x, 0.2), POINTS),
    "elu": (F.elu, lambda x: _tf().elu(x), POINTS),
    "elu_alpha": (lambda x: F.elu(x, alpha=0.5), lambda x: _tf().elu(x, alpha=0.5), POINTS),
    "selu": (F.selu, lambda x: _tf().selu(x), POINTS),
    "softsign": (F.softsign, lambda x: _tf().softsign(x), POINTS),
    "hardtanh": (F.hardtanh, lambda x: _tf().hardtanh(x), POINTS),
    "hardtanh_2": (lambda x: F.hardtanh(x, -2.0, 2.5), lambda x: _tf().hardtanh(x, -2.0, 2.5), POINTS),
    "relu6": (F.relu6, lambda x: _tf().relu6(x), POINTS),
    "hardsigmoid": (F.hardsigmoid, lambda x: _tf().hardsigmoid(x), POINTS),
    "relu": (F.relu, lambda x: x.relu(), POINTS),
}

# Second order, off the kinks (where neither library has one to give): the zero-gradient ops have nothing
# to compare, and PyTorch has no double backward for hardsigmoid (ours is 0, as for hardtanh)
SMOOTH_POINTS = np.array([-4.0, -2.7, -1.5, -0.3, 0.4, 1.3, 2.5, 4.5, 7.0])
SECOND_ORDER = [name for name in UNARY if name not in {"sign", "round", "round_2", "floor", "ceil", "hardsigmoid"}]


def _tf() -> Any:
    return pytest.importorskip("torch").nn.functional


def _torch() -> Any:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


# --------------------------------------------------------------------------- parity with PyTorch


@pytest.mark.parametrize("name", sorted(UNARY))
def test_values_and_gradients_match_torch(name: str) -> None:
    """float64, at ordinary points and on the kinks, ties and bounds, where the choice of PyTorch is ours."""
    torch = _torch()
    ours, theirs, points = UNARY[name]
    x = Tensor(points, requires_grad=True)
    xt = torch.tensor(points, requires_grad=True)
    out, out_t = ours(x), theirs(xt)
    assert out.dtype == np.float64
    assert_close(out.data, out_t.detach().numpy(), f"{name}: value", atol=1e-12, rtol=1e-12)
    g = np.linspace(-1.0, 2.0, points.size)
    out.backward(g)
    out_t.backward(torch.tensor(g))
    # (1e-8: PyTorch's hardsigmoid gradient is 1/6 in float32 even for float64 tensors)
    assert_close(x.grad, xt.grad.numpy(), f"{name}: gradient", atol=1e-8, rtol=1e-10)


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_derivatives_match_torch(name: str) -> None:
    torch = _torch()
    ours, theirs, points = UNARY[name]
    points = np.abs(SMOOTH_POINTS) + 0.5 if name in {"sqrt", "rsqrt", "log2", "log1p"} else SMOOTH_POINTS + 0.01
    v = np.cos(np.arange(points.size))
    x = Tensor(points, requires_grad=True)
    (g,) = tg.grad(ours(x).sum(), [x], create_graph=True)
    (h,) = tg.grad((g * v).sum(), [x], allow_unused=True) if g.requires_grad else (None,)
    xt = torch.tensor(points, requires_grad=True)
    (gt,) = torch.autograd.grad(theirs(xt).sum(), [xt], create_graph=True)
    (ht,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), [xt], allow_unused=True) if gt.requires_grad else (None,)
    expected = np.zeros_like(points) if ht is None else ht.detach().numpy(force=True)  # (force: a ZeroTensor)
    assert_close(np.zeros_like(points) if h is None else h, expected, f"{name}: second derivative", atol=1e-10)


@pytest.mark.parametrize("name", ["maximum", "minimum", "clamp_tensors", "remainder", "floor_divide"])
def test_binary_values_and_gradients_match_torch(name: str) -> None:
    """Ties (maximum, minimum), bounds crossing (clamp with min > max), and broadcasting."""
    torch = _torch()
    x = np.array([[1.0, 2.0, -1.0, 3.0], [0.5, -2.0, 2.0, 2.0]])
    y = np.array([1.0, 3.0, -1.5, 2.0])  # ties in column 0 of row 0 and column 3 of row 1
    z = np.array([[1.5], [0.5]])  # with y as min and z as max: min > max in some elements
    calls: dict[str, tuple[Callable[..., Any], Callable[..., Any], list[np.ndarray]]] = {
        "maximum": (tg.maximum, torch.maximum, [x, y]),
        "minimum": (tg.minimum, torch.minimum, [x, y]),
        "clamp_tensors": (lambda a, lo, hi: a.clamp(lo, hi), lambda a, lo, hi: a.clamp(lo, hi), [x, y, z]),
        "remainder": (lambda a, b: a % b, lambda a, b: a % b, [x, y]),
        "floor_divide": (lambda a, b: a.detach() // b.detach(), lambda a, b: a.detach() // b.detach(), [x, y]),
    }
    ours, theirs, arrays = calls[name]
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    tts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, out_t = ours(*ts), theirs(*tts)
    assert_close(out.data, out_t.detach().numpy(), f"{name}: value", atol=1e-12)
    if not out_t.requires_grad:
        assert not out.requires_grad
        return
    g = np.arange(1.0, out.size + 1).reshape(out.shape)
    out.backward(g)
    out_t.backward(torch.tensor(g))
    for i, (t, tt) in enumerate(zip(ts, tts)):
        assert_close(t.grad, tt.grad.numpy(), f"{name}: gradient of input {i}", atol=1e-12)


def test_isclose_and_comparisons_match_torch() -> None:
    torch = _torch()
    a = np.array([1.0, 1.0 + 1e-9, np.nan, np.inf, 2.0, -0.0])
    b = np.array([1.0, 1.0, np.nan, np.inf, 2.1, 0.0])
    for equal_nan in (False, True):
        expected = torch.isclose(torch.tensor(a), torch.tensor(b), equal_nan=equal_nan).numpy()
        assert np.array_equal(tg.isclose(Tensor(a), Tensor(b), equal_nan=equal_nan).data, expected)
    for op in ("eq", "ne", "lt", "le", "gt", "ge"):
        expected = getattr(torch.tensor(a), op)(torch.tensor(b)).numpy()
        assert np.array_equal(getattr(Tensor(a), op)(Tensor(b)).data, expected), op


@pytest.mark.parametrize("module, args", [
    ("GELU", {}), ("GELU", {"approximate": "tanh"}), ("SiLU", {}), ("LeakyReLU", {}), ("LeakyReLU", {"negative_slope": 0.2}),
    ("ELU", {}), ("ELU", {"alpha": 0.7}), ("SELU", {}), ("Softplus", {}), ("Softplus", {"beta": 2.0, "threshold": 3.0}),
    ("Softsign", {}), ("Hardtanh", {}), ("Hardtanh", {"min_val": -2.0, "max_val": 0.5}), ("ReLU6", {}), ("Hardsigmoid", {}),
    ("LeakyReLU", {"inplace": True}),
])
def test_modules_match_torch(module: str, args: dict[str, Any]) -> None:
    """Same class names, arguments and repr; outputs and input gradients at 1e-8 in float64."""
    torch = _torch()
    ours, theirs = getattr(nn, module)(**args), getattr(torch.nn, module)(**args)
    assert repr(ours) == repr(theirs)
    x = Tensor(POINTS, requires_grad=True)
    xt = torch.tensor(POINTS, requires_grad=True)
    out, out_t = ours(x), theirs(xt * 1)  # (* 1: an inplace torch module must not write into a leaf)
    assert_close(out.data, out_t.detach().numpy(), f"{module}: value", atol=1e-8)
    out.sum().backward()
    out_t.sum().backward()
    assert_close(x.grad, xt.grad.numpy(), f"{module}: gradient", atol=1e-8)
    assert ours.state_dict() == {}


# --------------------------------------------------------------------------- without torch: closed forms


def test_erf_is_accurate_to_the_last_bits() -> None:
    """Against math.erf on a dense grid, tiny and huge arguments, and the special values."""
    x = np.concatenate([np.linspace(-7, 7, 20001), np.logspace(-300, 2, 400), -np.logspace(-300, 2, 400)])
    got = Tensor(x).erf().data
    expected = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)) < 1e-15
    special = Tensor([np.nan, np.inf, -np.inf, 0.0, -0.0]).erf().data
    assert np.isnan(special[0]) and list(special[1:]) == [1.0, -1.0, 0.0, 0.0] and np.signbit(special[4])
    big = np.random.default_rng(0).normal(size=70_000)  # more than one block of the blocked evaluation
    assert np.max(np.abs(Tensor(big).erf().data - np.array([math.erf(v) for v in big]))) < 1e-15


def test_zero_gradient_ops_record_and_give_zero() -> None:
    x = Tensor([-1.7, -0.2, 0.4, 2.5], requires_grad=True)
    for f in (lambda t: t.sign(), lambda t: t.round(), lambda t: t.floor(), lambda t: t.ceil(), lambda t: t.round(1)):
        out = f(x)
        assert out.requires_grad  # as in PyTorch: recorded, with gradient 0
        (g,) = tg.grad((out * x).sum(), [x])
        assert_close(g, out.data, "d(f(x)·x)/dx = f(x) + 0")
    assert np.array_equal(Tensor([0.5, 1.5, 2.5, -0.5]).round().data, [0.0, 2.0, 2.0, -0.0])  # halves to even


def test_floor_division_is_recorded_but_not_differentiable() -> None:
    x = Tensor([7.0, -7.0], requires_grad=True)
    q = x // 2
    assert np.array_equal(q.data, [3.0, -4.0]) and q.requires_grad and q.op is tg.REGISTRY["floor_divide"]
    with pytest.raises(RuntimeError, match=r"floor_divide \(//\): the derivative is not implemented"):
        (q * x).sum().backward()
    assert not (x.detach() // 2).requires_grad
    assert np.array_equal((3 // Tensor([2.0, -2.0])).data, [1.0, -2.0])
    ints = Tensor(np.array([7, -7]))
    assert (ints // 2).dtype == ints.dtype and np.array_equal((ints // 2).data, [3, -4])
    assert np.array_equal((ints % 3).data, [1, 2])  # the sign of the divisor
    assert np.array_equal((Tensor([7.0, -7.0]) % -3).data, [-2.0, -1.0])
    v = Value(7.0) // 2
    assert v.data == 3.0
    with pytest.raises(RuntimeError, match="floor_divide"):
        v.backward()


def test_composites_are_the_nodes_they_say() -> None:
    x = Tensor([0.5, -2.0], requires_grad=True)
    assert x.square().op.name == "pow" and x.reciprocal().op.name == "div" and x.abs().rsqrt().op.name == "pow"
    assert F.selu(x).op.name == "mul" and F.softsign(x).op.name == "div"
    assert F.relu6(x).op.name == "hardtanh" and F.hardsigmoid(x).op.name == "hardtanh"
    assert F.gelu(x).op.name == "gelu" and F.gelu(x, approximate="tanh").op.name == "gelu_tanh"
    assert x.clamp(-1, 1).op.name == "clip" and x.clamp(Tensor([0.0, -1.0])).op.name == "clip_tensor"
    assert np.maximum(x, 0).op.name == "maximum" and np.sin(x).op.name == "sin"  # NumPy's ufuncs are recorded


@pytest.mark.parametrize("fn, point, chose", [
    (lambda x: x.abs(), 0.0, "a value between the two"),
    (lambda x: x.clamp(-1.0, 1.0), 1.0, "the left derivative"),  # PyTorch: 1 on the bound
    (lambda x: x.clamp(-1.0, 1.0), -1.0, "the right derivative"),
    (lambda x: F.leaky_relu(x, 0.1), 0.0, "the left derivative"),
    (lambda x: F.hardtanh(x), 1.0, "the right derivative"),  # PyTorch: 0 on the bound
    (lambda x: F.relu6(x), 6.0, "the right derivative"),
    (lambda x: x.maximum(Tensor([2.0])), 2.0, "a value between the two"),  # a tie: half each
])
def test_gradcheck_reports_the_kinks(fn: Callable[[Tensor], Tensor], point: float, chose: str) -> None:
    """At a kink gradcheck passes and says what the analytical gradient chose, on a Tensor and a Value."""
    x = Tensor([point, point - 0.3], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = tg.gradcheck(fn, [x], raise_exception=False, report=True)
    assert report.passed and len(report.kinks) == 1 and report.kinks[0].element == (0,)
    assert report.kinks[0].chose == chose
    assert any(issubclass(w.category, GradcheckWarning) and "non-differentiable point" in str(w.message) for w in caught)


def test_kinks_of_values_are_reported_too() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradcheckWarning)
        for fn, point in ((lambda v: v.abs(), 0.0), (lambda v: v.clamp(0.0, 1.0), 1.0),
                          (lambda v: F.leaky_relu(v, 0.2), 0.0), (lambda v: F.hardtanh(v), -1.0)):
            report = tg.gradcheck(fn, [Value(point)], raise_exception=False, report=True)
            assert report.passed and len(report.kinks) == 1


NEW_TENSOR_CALLS: dict[str, Callable[[Tensor], Tensor]] = {
    "sqrt": lambda x: x.sqrt(), "abs": lambda x: x.abs(), "sign": lambda x: x.sign(), "sin": lambda x: x.sin(),
    "cos": lambda x: x.cos(), "log2": lambda x: x.log2(), "erf": lambda x: x.erf(), "square": lambda x: x.square(),
    "reciprocal": lambda x: x.reciprocal(), "rsqrt": lambda x: x.rsqrt(), "clamp": lambda x: x.clamp(0.7, 1.5),
    "clamp_tensor": lambda x: x.clamp(Tensor(np.float32([0.7])), 1.5), "maximum": lambda x: x.maximum(1.0),
    "minimum": lambda x: x.minimum(x * 2), "remainder": lambda x: x % 0.75, "round": lambda x: x.round(),
    "floor": lambda x: x.floor(), "ceil": lambda x: x.ceil(),
    **{name: F.ACTIVATIONS[name] for name in ("gelu", "silu", "softplus", "leaky_relu", "elu", "selu", "softsign",
                                               "hardtanh", "relu6", "hardsigmoid")},
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
}


@pytest.mark.parametrize("name", sorted(NEW_TENSOR_CALLS))
def test_float32_is_kept_in_data_and_gradients(name: str) -> None:
    x = Tensor(np.random.default_rng(0).uniform(0.5, 2, (3, 3)).astype(np.float32), requires_grad=True)
    out = NEW_TENSOR_CALLS[name](x)
    assert out.dtype == np.float32, f"{name} promoted float32 to {out.dtype}"
    (g,) = tg.grad(out.sum(), [x], retain_graph=True)
    assert g.dtype == np.float32
    (g2,) = tg.grad(out.sum(), [x], create_graph=True)  # and as graph nodes
    assert g2.dtype == np.float32


# --------------------------------------------------------------------------- comparisons and logic


def test_comparisons_give_boolean_tensors_outside_the_graph() -> None:
    x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    for result in (x > 0, x >= 0, x < 0, x <= 0, x == 0, x != 0, 0 < x, np.zeros(3) < x, x.gt(Tensor([0.0])),
                   x.isclose(0.0), tg.isclose(x, 0.0)):
        assert isinstance(result, Tensor) and result.dtype == np.bool_
        assert not result.requires_grad and result.op is None
    assert (x > 0).tolist() == [False, False, True] and (np.zeros(3) < x).tolist() == [False, False, True]
    assert (x == x).tolist() == [True, True, True] and (x != 2).tolist() == [True, True, False]
    assert not (x == None) and x != "x"  # noqa: E711 (not comparable: Python's own answer)
    with pytest.raises(ValueError, match=r"lt on shapes \(3,\) and \(2,\)"):
        x < Tensor([1.0, 2.0])  # noqa: B015


def test_a_boolean_tensor_times_a_float_tensor_records_only_the_float() -> None:
    x = Tensor([-1.0, 0.5, 2.0], requires_grad=True)
    mask = x > 0
    y = mask * x + x * (x < 1)
    assert y.dtype == np.float64 and y.requires_grad
    y.sum().backward()
    assert_close(x.grad, [1.0, 2.0, 1.0], "mask * x + x * mask")
    assert mask.grad is None and not mask.requires_grad


def test_tensors_stay_hashable_by_identity() -> None:
    a, b = Tensor([1.0, 2.0]), Tensor([1.0, 2.0])
    assert len({a, b}) == 2 and {a: 1, b: 2}[b] == 2 and hash(a) != hash(b)
    assert a in {a} and b not in {a}


def test_logic_on_boolean_and_integer_tensors() -> None:
    p, q = Tensor(np.array([True, True, False])), Tensor(np.array([True, False, False]))
    assert (p & q).tolist() == [True, False, False] and (p | q).tolist() == [True, True, False]
    assert (p ^ q).tolist() == [False, True, False] and (~p).tolist() == [False, False, True]
    assert p.logical_not().tolist() == [False, False, True] and tg.logical_and(p, q).tolist() == [True, False, False]
    assert tg.logical_or(p, q).tolist() == [True, True, False] and tg.logical_not(Tensor([0.0, 2.0])).tolist() == [True, False]
    assert (~Tensor(np.array([0, 5]))).tolist() == [-1, -6]
    with pytest.raises(TypeError, match="~ is defined for boolean and integer tensors only"):
        ~Tensor([1.0])
    with pytest.raises(TypeError, match=r"& is defined for boolean and integer tensors only"):
        Tensor([1.0]) & p


def test_values_still_compare_to_python_bools() -> None:
    a, b = Value(1.0), Value(2.0)
    assert (a < b) is True and (a >= 2.0) is False and a == a and a != Value(1.0)


# --------------------------------------------------------------------------- Values and the activation tables


@pytest.mark.parametrize("name", sorted(set(NEW_TENSOR_CALLS) - {"clamp_tensor", "minimum"}))
def test_values_compute_what_tensors_do(name: str) -> None:
    """Every new method and activation on a Value: the Tensor's value and gradient, and second order."""
    calls = {**NEW_TENSOR_CALLS, "maximum": lambda v: v.maximum(1.0)}
    for point in (0.6, 1.1, 1.9):
        t = Tensor([point], requires_grad=True)
        out_t = calls[name](t)
        (gt,) = tg.grad(out_t.sum(), [t])
        v = Value(point)
        out_v = calls[name](v)
        assert isinstance(out_v, Value) and isinstance(out_v.data, float)
        assert_close(out_v.data, out_t.data[0], f"{name}: value", atol=1e-14)
        (g,) = tg.grad(out_v, [v], create_graph=True)
        assert_close(g, gt[0], f"{name}: gradient", atol=1e-14)
    assert Value(-4.0).abs().data == 4.0 and abs(Value(-4.0)).data == 4.0 and (Value(7.0) % 3).data == 1.0


def test_activations_with_arguments_on_values_bind_them() -> None:
    """A Value's node keeps no params: the op's record comes with them bound (same name and symbol)."""
    v = Value(-2.0)
    out = F.leaky_relu(v, 0.25)
    assert out.data == -0.5 and out.op.name == "leaky_relu" and out.op is not tg.REGISTRY["leaky_relu"]
    assert F.leaky_relu(v).op is tg.REGISTRY["leaky_relu"]  # the defaults: the registered record itself
    out.backward()
    assert v.grad == 0.25
    w = Value(-1.0)
    (g,) = tg.grad(F.elu(w, alpha=2.0), [w], create_graph=True)
    (h,) = tg.grad(g, [w])
    assert_close([g.data, h], [2 * math.exp(-1.0)] * 2, "elu's first and second derivative, alpha = 2")


def test_every_activation_name_has_a_function_and_a_module() -> None:
    assert set(F.ACTIVATIONS) == set(ACTIVATION_MODULES)
    x = np.linspace(-4, 7, 12).reshape(3, 4)
    for name, fn in F.ACTIVATIONS.items():
        module = nn.layers.activation_module(name)
        assert isinstance(module, ACTIVATION_MODULES[name])
        expected = fn(Tensor(x)).data
        assert_close(module(Tensor(x)).data, expected, f"{name}: module and function")
        assert_close([fn(Value(v)).data for v in x.ravel()], expected.ravel(), f"{name}: on Values", atol=1e-14)
        net = nn.MLP([4, 3, 1], activation=name, rng=0)
        assert net(Tensor(x)).shape == (3, 1)
        neuron = nn.Neuron(2, activation=name, rng=0)
        assert isinstance(neuron([0.5, -1.0]), Value)


def test_draw_network_draws_new_activations_with_their_symbols() -> None:
    drawing = tg.draw_network(nn.Sequential(nn.Linear(2, 2, rng=0), nn.GELU(), nn.Linear(2, 1, rng=1), nn.SiLU()))
    assert "gelu" in drawing.source and "silu" in drawing.source
    with pytest.raises(TypeError, match="cannot draw a LeakyReLU"):  # not its default slope: no neuron function
        tg.draw_network(nn.Sequential(nn.Linear(2, 2, rng=0), nn.LeakyReLU(0.2)))


# --------------------------------------------------------------------------- errors


def test_clear_errors() -> None:
    x = Tensor([1.0, -1.0])
    with pytest.raises(ValueError, match="clamp: give min, max or both"):
        x.clamp()
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        F.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match="GELU: approximate must be"):
        nn.GELU("erf")
    with pytest.raises(ValueError, match="hardtanh: min_val cannot be greater than max_val"):
        F.hardtanh(x, 1.0, -1.0)
    with pytest.raises(TypeError, match="gelu: expected a Tensor or a Value, got ndarray"):
        F.gelu(np.ones(2))
    with pytest.raises(TypeError, match="clamp: min must be a number, a Tensor or None, got str"):
        x.clamp("0")
