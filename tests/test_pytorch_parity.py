"""Where PyTorch and NumPy users expect a behaviour, we have it: IEEE results of log and sqrt outside
their domains, a graph kept by backward(create_graph=True), PyTorch's convention for d(x**y)/dy at
0**0, 0-d tensors taking dim 0 and -1, and the exception types PyTorch users catch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value


@pytest.mark.parametrize("method", ["log", "log2", "sqrt", "rsqrt"])
def test_outside_the_domain_gives_ieee_values_with_numpys_warning(method: str) -> None:
    x = np.array([0.0, -1.0, 4.0])
    with pytest.warns(RuntimeWarning):
        out = getattr(Tensor(x), method)().data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = {"log": np.log, "log2": np.log2, "sqrt": np.sqrt, "rsqrt": lambda a: a ** -0.5}[method](x)
    np.testing.assert_array_equal(out, expected)  # -inf or inf at 0, nan below (nan == nan here)
    if method != "rsqrt":  # (a Value's rsqrt is a power: Python's own arithmetic, nan without a warning)
        with pytest.warns(RuntimeWarning):
            v = getattr(Value(-1.0), method)().data
        assert math.isnan(v)


def test_detect_anomaly_names_the_log_that_made_minus_inf() -> None:
    with pytest.raises(tg.AnomalyError, match="forward of 'log' made -inf"), tg.detect_anomaly(), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Tensor([1.0, 0.0], requires_grad=True).log()


def test_a_masked_log_computes_as_in_pytorch() -> None:
    """The pattern masked code relies on: log of 0 in the branch not taken. The forward is finite;
    the gradient at 0 is 0 x inf = nan, in PyTorch too (mask the input, not only the output)."""
    p = Tensor([0.0, 0.5], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = tg.where(p.detach() > 0, p.log(), 0.0).sum()
        loss.backward()
    assert loss.item() == math.log(0.5) and math.isnan(p.grad[0]) and p.grad[1] == 2.0


@pytest.mark.parametrize("kind", ["value", "tensor"])
def test_backward_with_create_graph_keeps_the_graph(kind: str) -> None:
    """tanh's rule reads its output node, so differentiating x.grad goes back through the graph of
    the first backward: PyTorch's retain_graph defaults to create_graph, and so does ours."""
    make = (lambda: Value(0.5)) if kind == "value" else (lambda: Tensor(0.5, requires_grad=True))
    x = make()
    x.tanh().backward(create_graph=True)  # dx = 1 - tanh², as a graph
    (second,) = tg.grad([x.grad], [x])  # -2 tanh (1 - tanh²)
    t = math.tanh(0.5)
    assert float(np.asarray(second)) == pytest.approx(-2 * t * (1 - t * t))
    y = make()
    y.tanh().backward(create_graph=True, retain_graph=False)  # asked for explicitly: used up
    with pytest.raises(RuntimeError, match="cannot go through the graph a second time"):
        tg.grad([y.grad], [y])


def test_pow_exponent_gradient_at_zero_to_the_zero_is_zero_as_in_pytorch() -> None:
    for make in (lambda v: Value(v), lambda v: Tensor(v, requires_grad=True)):
        x, y = make(0.0), make(0.0)
        (x**y).backward()
        assert float(np.asarray(x.grad)) == 0.0 and float(np.asarray(y.grad)) == 0.0
    assert "0 at x = 0 ≤ y" in tg.REGISTRY["pow"].derivatives[1]
    torch = pytest.importorskip("torch")
    a, b = torch.tensor(0.0, requires_grad=True), torch.tensor(0.0, requires_grad=True)
    (a**b).backward()
    assert a.grad.item() == 0.0 and b.grad.item() == 0.0


def test_zero_dimensional_tensors_take_dim_0_and_minus_1() -> None:
    x = Tensor(3.0, requires_grad=True)
    for dim in (0, -1):
        assert x.sum(dim).item() == 3.0 and x.mean(dim=dim).item() == 3.0 and x.max(dim).item() == 3.0
    assert x.softmax(0).item() == 1.0 and x.log_softmax(-1).item() == 0.0
    x.softmax(-1).backward()
    assert x.grad == 0.0
    with pytest.raises(IndexError, match="sum: axis 1 is out of range for shape"):
        x.sum(1)


MISTAKES = {  # our call, PyTorch's call for the same mistake, the type both raise, our message
    "matmul shapes": (lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3))),
                      "torch.ones(2, 3) @ torch.ones(2, 3)", RuntimeError, "inner dimensions differ"),
    "permutation": (lambda: Tensor(np.ones((2, 3))).permute(0, 0),
                    "torch.ones(2, 3).permute(0, 0)", RuntimeError, "a dim appears twice"),
    "two -1": (lambda: Tensor(np.ones((2, 3))).reshape(-1, -1),
               "torch.ones(2, 3).reshape(-1, -1)", RuntimeError, "reshape"),
    "negative power": (lambda: Tensor(np.array([2, 3])) ** -1,
                       "torch.tensor([2, 3]) ** -1", RuntimeError, "negative integer powers"),
    "axis": (lambda: Tensor(np.ones((2, 3))).sum(2), "torch.ones(2, 3).sum(2)", IndexError, "axis 2 is out of range"),
    "softmax axis": (lambda: Tensor(np.ones((2, 3))).softmax(-3),
                     "torch.ones(2, 3).softmax(-3)", IndexError, "axis -3 is out of range"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_the_exception_types_pytorch_users_catch(mistake: str) -> None:
    ours, theirs, error, message = MISTAKES[mistake]
    with pytest.raises(error, match=message):
        ours()
    torch = pytest.importorskip("torch")
    with pytest.raises(error):  # the same type from PyTorch for the same mistake
        eval(theirs, {"torch": torch})
