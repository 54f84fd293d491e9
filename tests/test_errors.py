"""Bad input gets a clear error naming the op and the shapes or values, never a wrong gradient."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value


def test_matmul_shape_mismatch_names_op_and_both_shapes() -> None:
    a, b = Tensor(np.ones((32, 4))), Tensor(np.ones((3, 3)))
    with pytest.raises(RuntimeError, match=r"matmul on shapes \(32, 4\) and \(3, 3\).*4.*3"):
        a @ b
    with pytest.raises(RuntimeError, match=r"matmul on shapes \(3,\) and \(\)"):
        Tensor(np.ones(3)) @ Tensor(2.0)


def test_broadcast_mismatch_names_op_and_both_shapes() -> None:
    with pytest.raises(RuntimeError, match=r"add on shapes \(3,\) and \(4,\)"):
        Tensor(np.ones(3)) + Tensor(np.ones(4))
    with pytest.raises(RuntimeError, match=r"mul on shapes \(2, 3\) and \(2,\)"):
        Tensor(np.ones((2, 3))) * np.ones(2)


def test_backward_of_non_scalar_needs_a_gradient_of_its_shape() -> None:
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\).*gradient= an array of shape \(2, 3\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\) but the output has shape \(2, 3\)"):
        y.backward(np.ones(3))


def test_backward_without_graph() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0]) * 2).sum().backward()
    x = Tensor([1.0], requires_grad=True)
    with tg.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()


def test_log_of_non_positive_values_follows_ieee_with_numpys_warning() -> None:
    with pytest.warns(RuntimeWarning):
        assert math.isnan(Value(-1.0).log().data)
    with pytest.warns(RuntimeWarning):
        out = Tensor([1.0, 0.0, -2.0], requires_grad=True).log().data
    assert out[0] == 0.0 and out[1] == -math.inf and math.isnan(out[2])


def test_integer_tensor_cannot_require_grad() -> None:
    with pytest.raises(TypeError, match="only floating-point tensors can require grad, got dtype int64"):
        Tensor(np.arange(3), requires_grad=True)
    assert Tensor(np.arange(3)).dtype == np.int64  # without grad an integer tensor is fine
    assert Tensor([1, 2, 3]).dtype == np.float64  # a list of ints is a float tensor


def test_mixing_value_and_tensor_names_the_op() -> None:
    with pytest.raises(TypeError, match="mul: cannot combine a Value with a Tensor"):
        Value(1.0) * Tensor([1.0])
    with pytest.raises(TypeError, match="add: cannot combine a Tensor with a Value"):
        Tensor([1.0]) + Value(1.0)
    with pytest.raises(TypeError, match="Tensor: data must be"):
        Tensor(Value(1.0))
    with pytest.raises(TypeError, match="Tensor: data must be real numbers"):
        Tensor([Value(1.0), Value(2.0)])


def test_unsupported_operands() -> None:
    with pytest.raises(TypeError, match="add: unsupported operand for Value: str"):
        Value(1.0) + "a"
    with pytest.raises(TypeError, match="Value: data must be a real number"):
        Value("abc")
    with pytest.raises(TypeError, match="pow: unsupported operand for Tensor: str"):
        Tensor([1.0]) ** "2"


def test_axis_and_shape_errors() -> None:
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(IndexError, match=r"sum: axis 2 is out of range for shape \(2, 3\)"):
        t.sum(axis=2)
    with pytest.raises(RuntimeError, match=r"reshape on shape \(2, 3\).*size 6.*\(4,\)"):
        t.reshape(4)
    with pytest.raises(RuntimeError, match="transpose: axes"):
        t.transpose(0, 0, 1)  # (two dims are PyTorch's transpose(dim0, dim1): t.transpose(0, 0) is t)
    with pytest.raises(IndexError, match=r"getitem on shape \(2, 3\)"):
        t[5]
    with pytest.raises(RuntimeError, match=r"concatenate on shapes \(2, 3\) and \(3, 2\)"):
        tg.concatenate([t, Tensor(np.ones((3, 2)))], axis=0)
    with pytest.raises(ValueError, match="item: only a one-element Tensor"):
        t.item()


def test_unsupported_numpy_function_on_a_graph_tensor() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="numpy.arctan is not differentiable"):
        np.arctan(x)
    assert np.arctan(Tensor([0.0]))[0] == 0.0  # without grad NumPy just computes
    y = np.exp(x)  # a differentiable ufunc is recorded
    assert isinstance(y, Tensor) and y.op is tg.REGISTRY["exp"]


def test_nan_from_a_legal_op_propagates() -> None:
    v = Value(0.0, label="zero")
    q = v / v
    assert math.isnan(q.data)
    q.backward()
    assert math.isnan(v.grad)  # never silently turned into a number
    t = Tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = t / t
        r.sum().backward()
    assert math.isnan(r.data[0]) and r.data[1] == 1.0
    assert math.isnan(t.grad[0]) and t.grad[1] == 0.0


def test_cross_entropy_checks_shapes_and_labels() -> None:
    logits = Tensor(np.zeros((3, 4)), requires_grad=True)
    with pytest.raises(ValueError, match=r"cross_entropy: expected logits .*\(3, 4\) and \(2,\)"):
        tg.cross_entropy(logits, [0, 1])
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 4\).*\[4\]"):
        tg.cross_entropy(logits, [0, 1, 4])
    with pytest.raises(ValueError, match="labels must be integers"):
        tg.cross_entropy(logits, [0.0, 1.0, 2.0])


def test_truth_value_of_a_tensor_names_its_shape() -> None:
    with pytest.raises(ValueError, match=r"bool: the truth value of a Tensor of shape \(2, 3\) is ambiguous"):
        bool(Tensor(np.ones((2, 3))))
    with pytest.raises(ValueError, match=r"shape \(0,\)"):  # no elements: no truth value either
        bool(Tensor(np.ones(0)))
    assert bool(Tensor([2.0])) and not bool(Tensor(0.0))
