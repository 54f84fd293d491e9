"""The bugs the fuzzer found (tests/test_fuzz.py), each pinned by its minimal reproduction."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value


def test_create_graph_through_an_op_that_passes_the_gradient_on() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x + 1).sum().backward(create_graph=True)  # add hands g on unchanged: it used to be .copy()-ed
    assert isinstance(x.grad, Tensor) and x.grad.data.tolist() == [1.0, 1.0]


def test_create_graph_through_an_op_that_promoted_float32() -> None:
    x = Tensor([1.0], requires_grad=True)  # float64 times float32: the gradient of w is cast back to float32
    w = Tensor(np.array([2.0], np.float32), requires_grad=True)
    (gw,) = tg.grad((x * w).sum(), [w], create_graph=True)  # used to raise AttributeError ('astype')
    assert isinstance(gw, Tensor) and gw.dtype == np.float32 and gw.data.tolist() == [1.0]
    (gx,) = tg.grad(gw.sum(), [x])  # d/dx of dL/dw = x: 1
    assert gx.tolist() == [1.0]


def test_broadcast_to_fewer_axes_is_refused_as_numpy_does() -> None:
    x = Tensor(np.ones((1, 2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"broadcast_to on shape \(1, 2, 3\): cannot broadcast .* fewer axes"):
        x.broadcast_to((2, 3))


def test_pow_at_a_zero_base_has_the_true_gradient() -> None:
    v = Value(1.0)
    (0.0 ** v).backward()  # 0**y = 0 for y near 1: d/dy = 0 (the rule used to give 0 * -inf)
    assert v.grad == 0.0
    y = Tensor([2.0], requires_grad=True)
    (Tensor([0.0]) ** y).sum().backward()
    assert y.grad.tolist() == [0.0]
    x = Value(0.0)
    assert tg.grad(x ** 0, [x]) == (0.0,)  # x**0 is the constant 1
    w = Value(0.0)
    (dw,) = tg.grad(0.0 ** w, [w])  # 0**y jumps at y = 0: PyTorch's convention gives 0 there (the limit from y > 0)
    assert dw == 0.0
    u = Value(-1.0)
    (du,) = tg.grad(0.0 ** u, [u])  # 0**y is inf for y < 0: no derivative, and the result says so
    assert not math.isfinite(du)


def test_a_base_that_is_always_zero_to_a_power_below_one_gives_nan_as_in_pytorch() -> None:
    # (v*0 + v*0)**v is 0 for every v > 0, but the chain rule multiplies the infinite slope of x**0.5 at
    # x = 0 by the base's derivative 0: inf * 0 = nan, in PyTorch too. The fuzzer counts it as a kink.
    v = Value(0.5)
    a = v * 0.0
    (dv,) = tg.grad((a + a) ** v, [v])
    assert math.isnan(dv)
    torch = pytest.importorskip("torch")
    t = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    b = t * 0.0
    ((b + b) ** t).backward()
    assert math.isnan(t.grad.item())


def test_max_keeps_float32() -> None:
    x = Tensor(np.array([1, 3, 2], np.float32), requires_grad=True)
    x.max().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [0.0, 1.0, 0.0]


def test_a_0d_tensors_gradient_is_an_array() -> None:
    x = Tensor(2.0, requires_grad=True)
    (x * 3).backward()
    (x * 3).backward()  # accumulated: a sum of 0-d arrays is a NumPy scalar unless kept an array
    assert type(x.grad) is np.ndarray and x.grad.shape == () and float(x.grad) == 6.0
    (g,) = tg.grad(x - 1.0, [x])
    assert type(g) is np.ndarray


def test_softmax_family_of_integers_is_computed_in_floats() -> None:
    out = Tensor(np.arange(3)).log_softmax()
    assert out.dtype == np.float64
    np.testing.assert_allclose(np.exp(out.data).sum(), 1.0)


def test_bad_axis_and_value_seed_messages_name_the_function() -> None:
    with pytest.raises(TypeError, match=r"sum: axis must be an int or a tuple of ints, got 1.0 for shape \(2, 3\)"):
        Tensor(np.ones((2, 3))).sum(axis=1.0)
    with pytest.raises(TypeError, match=r"backward: the output is a Value, so its gradient is one number"):
        Value(1.0).backward(np.ones(1))
    Value(1.0).backward(np.float64(2.0))  # a NumPy number is a number
