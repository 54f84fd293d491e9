"""Reductions and factories beyond sum/mean/max: their values against closed forms and direct loops,
their gradients against finite differences (also where the registry's random inputs never go: zeros
in a product, infinities in logsumexp), PyTorch's spellings, and PyTorch itself where installed."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor

from .numeric import assert_close, central_differences


def _gradient(f: Any, x: np.ndarray) -> np.ndarray:
    t = Tensor(x, requires_grad=True)
    f(t).backward()
    return t.grad


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_prod_gradient_with_zeros(axis: Any) -> None:
    """d prod / dx_i is the product of the others: with one zero only the zero's entry is nonzero,
    with two zeros every entry is 0. out / x would give nan there."""
    x = np.array([[0.0, 2.0, 3.0], [1.5, 0.0, 0.0], [2.0, -1.0, 0.5]])
    cotangent = np.random.default_rng(0).normal(size=np.shape(np.prod(x, axis=axis)))

    def f(t: Tensor) -> Tensor:
        return (t.prod(axis=axis) * cotangent).sum()

    expected = central_differences(lambda a: float(f(Tensor(a[0])).data), [x])[0]
    assert_close(_gradient(f, x), expected, "prod with zeros")


def test_prod_second_order_with_zeros() -> None:
    """The Hessian of prod(x) at a point with a zero, through create_graph."""
    x = np.array([0.0, 2.0, -3.0, 0.5])
    t = Tensor(x, requires_grad=True)
    (g,) = tg.grad(t.prod(), [t], create_graph=True)
    hessian = np.stack([tg.grad(g[i], [t], retain_graph=True)[0] for i in range(4)])
    expected = np.stack([central_differences(lambda a, i=i: float(_gradient(lambda u: u.prod(), a[0])[i]), [x])[0]
                         for i in range(4)])
    assert_close(hessian, expected, "Hessian of prod", atol=1e-5)


def test_logsumexp_is_stable_and_handles_infinities() -> None:
    x = Tensor([[1000.0, 1000.0], [-np.inf, -np.inf], [-np.inf, 0.0]], requires_grad=True)
    out = x.logsumexp(dim=1)
    assert_close(out.data[[0, 2]], [1000 + math.log(2), 0.0], "logsumexp")
    assert out.data[1] == -np.inf
    with np.errstate(invalid="ignore"):
        out[[0, 2]].sum().backward()
    assert_close(x.grad[[0, 2]], [[0.5, 0.5], [0, 1]], "softmax as its gradient")
    assert np.isnan(x.grad[1]).all()  # as PyTorch: a row of -inf has no softmax (0 x nan, even unused)


@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_var_and_std_closed_form_and_gradient(correction: int, dim: Any) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 5))
    n = x.size if dim is None else math.prod(np.atleast_1d(np.array(x.shape)[list(np.atleast_1d(dim))]))
    mean = x.mean(axis=dim, keepdims=True)
    expected = ((x - mean) ** 2).sum(axis=dim) / (n - correction)
    assert_close(Tensor(x).var(dim, correction=correction).data, expected, "var")
    assert_close(Tensor(x).std(dim, correction=correction).data, np.sqrt(expected), "std")
    assert Tensor(x).var(dim, keepdim=True).shape == np.var(x, axis=dim, keepdims=True).shape
    cotangent = rng.normal(size=np.shape(expected))
    expected_grad = central_differences(lambda a: float((Tensor(a[0]).std(dim, correction=correction).data * cotangent).sum()), [x])[0]
    assert_close(_gradient(lambda t: (t.std(dim, correction=correction) * cotangent).sum(), x), expected_grad, "std gradient")


def test_var_unbiased_keyword_and_numpy_spelling() -> None:
    x = Tensor([1.0, 2.0, 4.0])
    assert x.var(unbiased=False).item() == pytest.approx(np.var([1, 2, 4]))
    assert x.var(axis=0, keepdims=True).shape == (1,)


@pytest.mark.parametrize("p, expected", [(2, 5.0), ("fro", 5.0), (1, 7.0), (np.inf, 4.0), (3, (27 + 64) ** (1 / 3))])
def test_norm_values(p: Any, expected: float) -> None:
    assert Tensor([3.0, -4.0]).norm(p).item() == pytest.approx(expected)


def test_norm_gradient_and_bad_p() -> None:
    x = np.array([[3.0, -4.0], [1.0, 2.0]])
    for p in (2, 1, 3):
        expected = central_differences(lambda a: float(Tensor(a[0]).norm(p, dim=1).data.sum()), [x])[0]
        assert_close(_gradient(lambda t: t.norm(p, dim=1).sum(), x), expected, f"norm p={p}")
    with pytest.raises(ValueError, match="norm: p must be a positive number"):
        Tensor(x).norm(-1)


def test_cumsum_gradient_is_the_reversed_cumsum() -> None:
    g = np.array([1.0, 2.0, 3.0, 4.0])
    x = Tensor(np.zeros(4), requires_grad=True)
    x.cumsum(0).backward(g)
    assert_close(x.grad, [10.0, 9.0, 7.0, 4.0], "cumsum backward")


def test_argmax_argmin_all_any_follow_torch_shapes() -> None:
    x = Tensor([[1.0, 5.0, 5.0], [7.0, -1.0, 0.0]])
    assert x.argmax().item() == 3 and x.argmin().item() == 4
    assert x.argmax(1).data.tolist() == [1, 0]  # the first of tied maxima
    assert x.argmax(dim=0, keepdim=True).shape == (1, 3)
    assert x.argmax(keepdim=True).shape == (1, 1)
    assert x.argmin(-1).dtype == np.int64 and not x.argmin(-1).requires_grad
    assert (x > 0).all(dim=1).data.tolist() == [True, False] if isinstance(x > 0, Tensor) else True
    assert Tensor([[1.0, 0.0], [1.0, 1.0]]).all(1).data.tolist() == [False, True]
    assert Tensor([[0.0, 0.0], [1.0, 0.0]]).any(dim=1).data.tolist() == [False, True]
    assert Tensor([0.0, 2.0]).any().item() is True
    with pytest.raises(RuntimeError, match=r"argmax: the input of shape \(0,\) is empty"):
        Tensor(np.zeros(0)).argmax()


def test_min_and_the_torch_names() -> None:
    x = Tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    assert x.min(dim=1).data.tolist() == [-2.0, 0.5]
    assert x.amax(1, keepdim=True).shape == (2, 1) and x.amin().item() == -2.0
    assert x.sum(dim=0, keepdim=True).shape == (1, 2)
    assert x.mean(dim=(0, 1)).item() == pytest.approx(0.625)
    with pytest.raises(TypeError, match="both axis=0 and dim=1"):
        x.sum(0, dim=1)


def test_factories() -> None:
    assert tg.arange(2, 8, 2).data.tolist() == [2, 4, 6] and tg.arange(3).dtype == np.int64
    assert tg.arange(0.0, 1.0, 0.5).dtype == np.float64
    assert tg.linspace(-1, 1, 3).data.tolist() == [-1.0, 0.0, 1.0]
    assert np.array_equal(tg.eye(2, 3).data, np.eye(2, 3))
    assert tg.full((2, 1), True).dtype == np.bool_ and tg.full(3, 2.5).data.tolist() == [2.5] * 3
    x = tg.randn(2, 3, dtype=np.float32)
    for like in (tg.zeros_like(x), tg.ones_like(x), tg.full_like(x, 4.0), tg.randn_like(x, rng=0)):
        assert like.shape == (2, 3) and like.dtype == np.float32
    draws = tg.randint(2, 5, size=(1000,), rng=0).data
    assert draws.min() == 2 and draws.max() == 4 and draws.dtype == np.int64
    assert np.array_equal(tg.randint(5, size=4, rng=3).data, tg.randint(5, size=4, rng=3).data)
    r = tg.rand(100, rng=1).data
    assert 0 <= r.min() and r.max() < 1
    with pytest.raises(ValueError, match="randint: low must be below high"):
        tg.randint(3, 3, size=2)


def test_against_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4))
    cases = {
        "prod": (lambda t: t.prod(1), lambda t: t.prod(1)),
        "logsumexp": (lambda t: t.logsumexp(1), lambda t: t.logsumexp(1)),
        "var": (lambda t: t.var(0), lambda t: t.var(0)),
        "std": (lambda t: t.std(1, correction=0, keepdim=True), lambda t: t.std(1, correction=0, keepdim=True)),
        "min": (lambda t: t.amin(0), lambda t: t.amin(0)),
        "cumsum": (lambda t: t.cumsum(1), lambda t: t.cumsum(1)),
        "norm": (lambda t: t.norm(dim=1), lambda t: t.norm(dim=1)),
    }
    for name, (ours, theirs) in cases.items():
        t = Tensor(x, requires_grad=True)
        u = torch.tensor(x, requires_grad=True)
        a, b = ours(t), theirs(u)
        g = rng.normal(size=a.shape)
        a.backward(g)
        b.backward(torch.tensor(g))
        assert_close(a.data, b.detach().numpy(), f"{name} value", atol=1e-12)
        assert_close(t.grad, u.grad.numpy(), f"{name} gradient", atol=1e-12)
