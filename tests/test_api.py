"""The public surface: micrograd's Value API, Tensor conveniences, factories, the package's layering."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value

from .numeric import assert_close

PACKAGE = pathlib.Path(tg.__file__).parent


def test_micrograd_surface() -> None:
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    # micrograd's own sanity numbers (computed by PyTorch in micrograd's test suite)
    assert g.data == pytest.approx(24.70408163265306, abs=1e-10)
    assert a.grad == pytest.approx(138.83381924198252, abs=1e-10)
    assert b.grad == pytest.approx(645.5772594752186, abs=1e-10)


def test_value_reflected_ops_and_value_exponent() -> None:
    x = Value(2.0)
    y = 1 - x  # rsub
    z = 6 / x  # rtruediv
    p = 2**x  # rpow: a number base, a Value exponent
    q = x**x  # a Value exponent
    assert (y.data, z.data, p.data, q.data) == (-1.0, 3.0, 4.0, 4.0)
    (y + z + p + q).backward()
    assert x.grad == pytest.approx(-1 - 6 / 4 + 4 * np.log(2) + 4 * (np.log(2) + 1))


def test_value_niceties() -> None:
    v = Value(1.5, label="v")
    assert "data=1.5" in repr(v) and "label='v'" in repr(v)
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"  # floats read as floats
    assert [repr(Value(x)).split(",")[0] for x in (1e6, 1 / 3, float("nan"), -7)] == [
        "Value(data=1e+06", "Value(data=0.333333", "Value(data=nan", "Value(data=-7.0"]
    assert float(v) == 1.5 and v.item() == 1.5
    assert v > 1 and v < Value(2.0) and v >= 1.5 and v <= 1.5
    w = np.float64(2.0) * v  # NumPy scalars defer to Value
    assert isinstance(w, Value) and w.data == 3.0
    c = Value(1.0) + 2
    assert c.inputs[1].requires_grad is False  # numbers become constants without gradients


def test_tensor_conveniences() -> None:
    t = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, label="t")
    assert t.shape == (2, 2) and t.dtype == np.float64 and t.ndim == 2 and t.size == 4 and len(t) == 2
    assert np.asarray(t) is t.data and t.numpy() is t.data
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    assert Tensor([3.0]).item() == 3.0 and float(Tensor(2.0)) == 2.0
    d = t.detach()
    assert d.data is t.data and not d.requires_grad and d.op is None
    assert "requires_grad=True" in repr(t) and "label='t'" in repr(t)
    assert "op=mul" in repr(t * 2)
    assert bool(Tensor([1.0])) and not bool(Tensor([0.0]))
    assert (t > 2).tolist() == [[False, False], [True, True]]
    rows = [r.data.tolist() for r in t]
    assert rows == [[1.0, 2.0], [3.0, 4.0]]


def test_tensor_copies_its_input() -> None:
    a = np.ones(3)
    t = Tensor(a, requires_grad=True)
    a[0] = 5.0
    assert t.data[0] == 1.0


def test_factories() -> None:
    assert tg.zeros(2, 3).shape == (2, 3) and tg.ones((4,)).data.sum() == 4
    assert tg.zeros(2, dtype=np.float32).dtype == np.float32
    r1, r2 = tg.randn(3, 2, rng=7), tg.randn(3, 2, rng=7)
    assert np.array_equal(r1.data, r2.data) and r1.shape == (3, 2)
    gen = np.random.default_rng(1)
    assert not np.array_equal(tg.randn(3, rng=gen).data, tg.randn(3, rng=gen).data)
    assert tg.randn(2, requires_grad=True).requires_grad


def test_indexing_basic_and_integer_array() -> None:
    x = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = x[1:, ::2].sum() + x[[0, 0, 2], [1, 1, 3]].sum() + x[Tensor(np.array([2]))].sum() + x[..., -1].sum()
    y.backward()
    expected = np.zeros((3, 4))
    expected[1:, ::2] += 1
    expected[0, 1] += 2  # selected twice: both gradients add up
    expected[2, 3] += 1
    expected[2] += 1
    expected[:, -1] += 1
    assert_close(x.grad, expected, "indexing gradient")
    m = x.data > 5
    x.grad = None
    x[m].sum().backward()
    assert_close(x.grad, m.astype(float), "boolean mask")


def test_concatenate_stack_transpose() -> None:
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.full((1, 3), 2.0), requires_grad=True)
    c = tg.concatenate([a, b])
    assert c.shape == (3, 3)
    s = tg.stack([a, a * 2], axis=-1)
    assert s.shape == (2, 3, 2)
    (c.sum() + s.sum() + a.T.sum() + a.swapaxes(0, 1)[0].sum()).backward()
    assert_close(b.grad, np.ones((1, 3)), "concatenate slice")
    expected = 1 + 3 + 1 + np.array([[1, 0, 0], [1, 0, 0]])
    assert_close(a.grad, expected, "stack, transpose, swapaxes")


def test_softmax_and_log_softmax_are_stable() -> None:
    x = Tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    ls = x.log_softmax(axis=-1)
    assert np.isfinite(ls.data).all() and ls.data[0, 0] == 0.0 and ls.data[0, 2] == -2000.0
    sm = x.softmax()
    assert_close(sm.data, [[1.0, 0.0, 0.0]], "softmax")
    (ls[0, 1] + sm[0, 0]).backward()
    assert np.isfinite(x.grad).all()
    assert_close(x.grad, [[-1.0, 1.0, 0.0]], "d log_softmax")


def test_max_shares_gradient_between_ties() -> None:
    x = Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    assert_close(x.grad, [0.0, 0.5, 0.5], "ties share")


def test_matmul_batched_broadcasts_and_sums_back() -> None:
    rng = np.random.default_rng(0)
    A = Tensor(rng.normal(size=(5, 2, 3)), requires_grad=True)
    B = Tensor(rng.normal(size=(3, 4)), requires_grad=True)
    (A @ B).sum().backward()
    assert B.grad.shape == (3, 4)
    assert_close(B.grad, A.data.sum(axis=(0, 1))[:, None] * np.ones((1, 4)), "batched matmul")


def test_public_surface_is_explicit() -> None:
    assert sorted(tg.__all__) == sorted(n for n in tg.__all__ if hasattr(tg, n))
    for name in ("Value", "Tensor", "grad", "no_grad", "enable_grad", "topological_order", "zeros", "ones",
                 "randn", "concatenate", "stack", "REGISTRY", "gradcheck", "gradgradcheck", "numerical_grad",
                 "check_module_grads", "nn", "optim", "data", "fit", "best_of_restarts", "save", "load"):
        assert name in tg.__all__


def test_imports_point_one_way() -> None:
    """device <- ops <- checks <- engine <- value, tensor <- dataloader <- gradcheck, nn, optim, data <- training, saving, viz
    <- __init__.

    No module imports one above it (an import for type annotations only, under TYPE_CHECKING, may).

    Modules inside a subpackage (nn, optim) may import each other; the subpackage as a whole sits on
    its layer.
    """
    layers = {"_malloc": -2, "device": -1, "random": -1, "cuda": -0.5, "ops": 0, "checks": 0.5, "engine": 1, "value": 2, "tensor": 2, "dataloader": 2.5, "gradcheck": 3, "nn": 3, "optim": 3, "data": 3, "elementwise": 3, "functions": 3,
              "training": 4, "saving": 4, "viz": 4, "__init__": 9}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts  # ("nn", "layers"), or ("ops",)
        level = layers[parts[0]]
        tree = ast.parse(path.read_text())
        for_types_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                          and getattr(block.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(block)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 1 and id(node) not in for_types_only:
                base = parts[:-1][: len(parts) - node.level]  # the package the relative import starts from
                targets = [(*base, *node.module.split("."))] if node.module else [(*base, a.name) for a in node.names]
                for target in targets:
                    if len(parts) > 1 and target[0] == parts[0]:
                        continue  # within the same subpackage
                    assert layers[target[0]] < level, f"{path} imports {'.'.join(target)}, which is not below it"
