"""PyTorch's method and function forms of the operators (x.add(y, alpha=2), x.pow(2), tg.div(a, b,
rounding_mode="trunc")), its in-place methods (p.add_(g, alpha=-lr), w.zero_(), target.copy_(source)),
isnan/isinf/isfinite, set_grad_enabled and inference_mode, randperm and multinomial: against torch where it
is installed (values, gradients, exception types), and against closed forms, direct loops and counts
without it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor

from .numeric import assert_close

RNG = np.random.default_rng(3)
X, Y = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
P = RNG.uniform(0.5, 2.0, (3, 4))
INTS = np.array([[-7, 7, 5, -5], [9, -9, 0, 4], [1, -1, 6, -6]])

# name -> (the expression with m = tg or torch, on tensors of the arrays, the arrays)
FORMS: dict[str, tuple[Callable[..., Any], list[np.ndarray]]] = {
    "Tensor.add": (lambda m, x, y: x.add(y), [X, Y]),
    "Tensor.add alpha": (lambda m, x, y: x.add(y, alpha=-2.5), [X, Y]),
    "Tensor.sub alpha": (lambda m, x, y: x.sub(y, alpha=3), [X, Y]),
    "Tensor.subtract": (lambda m, x, y: x.subtract(y), [X, Y]),
    "Tensor.mul": (lambda m, x, y: x.mul(y), [X, Y]),
    "Tensor.multiply": (lambda m, x: x.multiply(1.5), [X]),
    "Tensor.div": (lambda m, x, p: x.div(p), [X, P]),
    "Tensor.divide": (lambda m, x, p: x.divide(p), [X, P]),
    "Tensor.true_divide": (lambda m, x, p: x.true_divide(p), [X, P]),
    "Tensor.pow": (lambda m, p, x: p.pow(x), [P, X]),
    "Tensor.pow number": (lambda m, x: x.pow(3), [X]),
    "tg.add alpha": (lambda m, x, y: m.add(x, y, alpha=0.5), [X, Y]),
    "tg.sub": (lambda m, x, y: m.sub(x, y), [X, Y]),
    "tg.subtract alpha": (lambda m, x, y: m.subtract(x, y, alpha=2), [X, Y]),
    "tg.mul": (lambda m, x, y: m.mul(x, y), [X, Y]),
    "tg.multiply": (lambda m, x, y: m.multiply(x, y), [X, Y]),
    "tg.div": (lambda m, x, p: m.div(x, p), [X, P]),
    "tg.divide": (lambda m, x, p: m.divide(x, p), [X, P]),
    "tg.true_divide": (lambda m, x, p: m.true_divide(x, p), [X, P]),
    "tg.pow": (lambda m, x: m.pow(x, 2), [X]),
    "tg.pow number base": (lambda m, x: m.pow(2.0, x), [X]),
    "tg.neg": (lambda m, x: m.neg(x), [X]),
    "tg.negative": (lambda m, x: m.negative(x), [X]),
}


def _torch_tensors(torch: Any, arrays: list[np.ndarray]) -> list[Any]:
    return [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]


@pytest.mark.parametrize("name", FORMS)
def test_the_forms_agree_with_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    f, arrays = FORMS[name]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = _torch_tensors(torch, arrays)
    out, ref = f(tg, *ours), f(torch, *theirs)
    assert_close(out.numpy(), ref.detach().numpy(), name, atol=1e-12, rtol=1e-12)
    weights = np.cos(np.arange(out.numel())).reshape(out.shape)
    (out * Tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a.grad, b.grad.numpy(), f"{name}: gradient of input {k}", atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("name", FORMS)
def test_a_form_is_its_operator(name: str) -> None:
    """Without torch: each form gives what NumPy's operator gives on the arrays."""
    f, arrays = FORMS[name]
    xs = [Tensor(a) for a in arrays]
    expected: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
        "Tensor.add": lambda a, b: a + b, "Tensor.add alpha": lambda a, b: a - 2.5 * b,
        "Tensor.sub alpha": lambda a, b: a - 3 * b, "Tensor.subtract": lambda a, b: a - b,
        "Tensor.mul": lambda a, b: a * b, "Tensor.multiply": lambda a, b: a * 1.5, "Tensor.div": lambda a, b: a / b,
        "Tensor.divide": lambda a, b: a / b, "Tensor.true_divide": lambda a, b: a / b, "Tensor.pow": lambda a, b: a**b,
        "Tensor.pow number": lambda a, b: a**3, "tg.add alpha": lambda a, b: a + 0.5 * b, "tg.sub": lambda a, b: a - b,
        "tg.subtract alpha": lambda a, b: a - 2 * b, "tg.mul": lambda a, b: a * b, "tg.multiply": lambda a, b: a * b,
        "tg.div": lambda a, b: a / b, "tg.divide": lambda a, b: a / b, "tg.true_divide": lambda a, b: a / b,
        "tg.pow": lambda a, b: a**2, "tg.pow number base": lambda a, b: 2.0**a, "tg.neg": lambda a, b: -a,
        "tg.negative": lambda a, b: -a,
    }
    np.testing.assert_allclose(f(tg, *xs).numpy(), expected[name](xs[0].data, xs[-1].data), rtol=1e-14)


def test_rounded_division_of_integers_and_floats() -> None:
    """floor rounds down, trunc towards 0 (Python's // and int(a / b)), as torch's rounding_mode."""
    floor = [[a // b for a, b in zip(row, [2, 3, 4, -4])] for row in INTS.tolist()]
    trunc = [[int(a / b) for a, b in zip(row, [2, 3, 4, -4])] for row in INTS.tolist()]
    i = Tensor(INTS)
    assert i.div(np.array([2, 3, 4, -4]), rounding_mode="floor").tolist() == floor
    assert tg.div(i, np.array([2, 3, 4, -4]), rounding_mode="trunc").tolist() == trunc
    assert i.div(np.array([2, 3, 4, -4]), rounding_mode="trunc").dtype == np.int64
    x = Tensor([-3.5, 3.5, 0.5, -0.5])
    assert x.div(2.0, rounding_mode="trunc").tolist() == [-1.0, 1.0, 0.0, -0.0]
    assert x.div(2.0, rounding_mode="floor").tolist() == [-2.0, 1.0, 0.0, -1.0]
    with pytest.raises(ValueError, match="rounding_mode"):
        x.div(2.0, rounding_mode="round")
    with pytest.raises(TypeError, match="alpha"):
        x.add(x, alpha="2")
    torch = pytest.importorskip("torch")
    for mode in ("floor", "trunc"):
        ref = torch.div(torch.tensor(INTS), torch.tensor([2, 3, 4, -4]), rounding_mode=mode)
        assert Tensor(INTS).div(np.array([2, 3, 4, -4]), rounding_mode=mode).tolist() == ref.tolist()
        ref = torch.div(torch.tensor(X), torch.tensor(P), rounding_mode=mode)
        np.testing.assert_array_equal(Tensor(X).div(P, rounding_mode=mode).numpy(), ref.numpy())


# ---- in-place methods

def _t(m: Any, a: Any) -> Any:
    """A tensor of the array: torch.tensor, or Tensor (tg.tensor is the module tinygrad_edu.tensor)."""
    return Tensor(a) if m is tg else m.tensor(a)


IN_PLACE: dict[str, tuple[Callable[[Any, Any], Any], Callable[[np.ndarray], np.ndarray]]] = {
    "add_": (lambda m, t: t.add_(_t(m, Y)), lambda a: a + Y),
    "add_ alpha": (lambda m, t: t.add_(_t(m, Y), alpha=-0.1), lambda a: a - 0.1 * Y),
    "sub_ alpha": (lambda m, t: t.sub_(_t(m, Y), alpha=2), lambda a: a - 2 * Y),
    "mul_": (lambda m, t: t.mul_(2.5), lambda a: a * 2.5),
    "div_": (lambda m, t: t.div_(_t(m, P)), lambda a: a / P),
    "pow_": (lambda m, t: t.pow_(2), lambda a: a**2),
    "clamp_": (lambda m, t: t.clamp_(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5)),
    "clip_": (lambda m, t: t.clip_(min=0.0), lambda a: np.maximum(a, 0.0)),
    "masked_fill_": (lambda m, t: t.masked_fill_(_t(m, X > 0), -1.0), lambda a: np.where(X > 0, -1.0, a)),
    "fill_": (lambda m, t: t.fill_(3.25), lambda a: np.full_like(a, 3.25)),
    "zero_": (lambda m, t: t.zero_(), lambda a: np.zeros_like(a)),
    "copy_": (lambda m, t: t.copy_(_t(m, Y)), lambda a: Y.copy()),
    "copy_ broadcast": (lambda m, t: t.copy_(_t(m, Y[0])), lambda a: np.broadcast_to(Y[0], a.shape).copy()),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_an_in_place_method_changes_the_tensor_s_own_array(name: str) -> None:
    method, expected = IN_PLACE[name]
    t = Tensor(X.copy())
    array = t.data
    assert method(tg, t) is t and t.data is array, "the same tensor and array, changed"
    np.testing.assert_allclose(t.data, expected(X), rtol=1e-15)


@pytest.mark.parametrize("name", IN_PLACE)
def test_an_in_place_method_agrees_with_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    method, _ = IN_PLACE[name]
    ours, theirs = Tensor(X.copy()), torch.tensor(X.copy())
    method(tg, ours)
    method(torch, theirs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15)


def test_an_optimizer_step_written_by_hand() -> None:
    """The update users write: p.add_(p.grad, alpha=-lr) inside no_grad, then p.grad.zero_()."""
    p = Tensor(X.copy(), requires_grad=True)
    (p * p).sum().backward()
    with tg.no_grad():
        p.add_(Tensor(p.grad), alpha=-0.1)
    np.testing.assert_allclose(p.data, X - 0.1 * 2 * X, rtol=1e-15)
    assert p.requires_grad and p.is_leaf


def test_in_place_methods_refuse_what_would_lose_a_gradient() -> None:
    p = Tensor(X.copy(), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"add_.*requires grad"):
        p.add_(1.0)  # a leaf that requires grad, while recording (torch: RuntimeError too)
    y = p * 2
    with pytest.raises(RuntimeError, match=r"x.mul_\(...\): cannot change a Tensor made by 'mul' in place"):
        y.mul_(2.0)
    c = Tensor(np.zeros((3, 4)))
    with pytest.raises(RuntimeError, match="add_: an operand requires grad"):
        c.add_(p)  # torch records it; here the gradient to p would be lost, so it is refused
    with pytest.raises(RuntimeError, match="copy_: an operand requires grad"):
        c.copy_(p)
    with tg.no_grad():
        c.add_(p)  # outside recording nothing is lost
    np.testing.assert_array_equal(c.data, X)


def test_in_place_methods_refuse_a_result_that_does_not_fit() -> None:
    i = Tensor(np.array([1, 2]))
    with pytest.raises(RuntimeError, match="add_: the result's dtype float64 can't be cast to this tensor's int64"):
        i.add_(1.5)
    with pytest.raises(RuntimeError, match="does not fit this tensor's shape"):
        Tensor(np.zeros(3)).add_(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="copy_: a source of shape"):
        Tensor(np.zeros(3)).copy_(np.zeros(2))
    with pytest.raises(RuntimeError, match="fill_: value must be a number or a 0-d tensor"):
        Tensor(np.zeros(3)).fill_(Tensor([1.0, 2.0]))
    assert Tensor(np.zeros(2, dtype=np.int64)).copy_(np.array([1.7, -2.2])).tolist() == [1, -2]  # copy_ casts
    torch = pytest.importorskip("torch")
    for f in (lambda m: _t(m, [1, 2]).add_(1.5), lambda m: m.zeros(3).add_(m.zeros(2, 3)),
              lambda m: m.zeros(3).copy_(m.zeros(2)), lambda m: m.zeros(3).fill_(_t(m, [1.0, 2.0]))):
        with pytest.raises(RuntimeError):
            f(torch)


def test_a_graph_that_saved_a_tensor_changed_in_place_refuses_backward() -> None:
    """As with +=: the engine knows the values it saved were changed (PyTorch's version counter). A change
    that was refused changed nothing, so it leaves the graph usable."""
    w = Tensor(X.copy())
    x = Tensor(Y.copy(), requires_grad=True)
    loss = (x * w).sum()
    with pytest.raises(RuntimeError, match="does not fit"):
        w.add_(np.zeros((2, 3, 4)))
    assert tg.grad(loss, [x], retain_graph=True)[0].tolist() == X.tolist()
    w.mul_(2.0)
    with pytest.raises(RuntimeError, match="changed in place after the node saved it"):
        loss.backward()


# ---- isnan, isinf, isfinite

def test_the_floating_point_classes() -> None:
    a = np.array([np.nan, np.inf, -np.inf, 0.0, -1.5])
    t = Tensor(a)
    for name, f in (("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite)):
        assert getattr(t, name)().tolist() == f(a).tolist() == getattr(tg, name)(t).tolist()
        assert getattr(t, name)().dtype == np.bool_ and not getattr(t, name)().requires_grad
    assert tg.isfinite(Tensor(np.array([1, 2]))).tolist() == [True, True]


# ---- grad modes

def test_set_grad_enabled_as_a_call_a_block_and_a_decorator() -> None:
    x = Tensor([1.0], requires_grad=True)
    try:
        tg.set_grad_enabled(False)  # a plain call switches from here on, as in PyTorch
        assert not tg.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        tg.set_grad_enabled(True)
    assert tg.is_grad_enabled()
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with tg.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()

    @tg.set_grad_enabled(False)
    def predict() -> bool:
        return (x * 2).requires_grad

    assert tg.is_grad_enabled(), "decorating does not switch"
    assert predict() is False and tg.is_grad_enabled()


def test_inference_mode_records_nothing() -> None:
    x = Tensor([1.0], requires_grad=True)
    with tg.inference_mode():
        assert not (x * 2).requires_grad
    with tg.inference_mode(False):
        assert (x * 2).requires_grad

    @tg.inference_mode()
    def predict() -> bool:
        return (x * 2).requires_grad

    assert predict() is False and tg.is_grad_enabled()


# ---- randperm and multinomial

def test_randperm_is_a_permutation_repeatable_by_seed() -> None:
    p = tg.randperm(50, rng=4)
    assert sorted(p.tolist()) == list(range(50)) and p.dtype == np.int64
    assert p.tolist() == tg.randperm(50, rng=4).tolist() != list(range(50))
    tg.manual_seed(9)
    first = tg.randperm(10).tolist()
    tg.manual_seed(9)
    assert tg.randperm(10).tolist() == first
    assert tg.randperm(0).tolist() == []
    with pytest.raises(ValueError, match="randperm"):
        tg.randperm(-1)


def test_multinomial_draws_in_proportion_to_the_weights() -> None:
    """Counts of 40000 draws with replacement against the weights (unnormalised): within 5 standard deviations."""
    weights = np.array([1.0, 0.0, 3.0, 6.0])
    n = 40000
    drawn = tg.multinomial(Tensor(weights), n, replacement=True, rng=1).numpy()
    counts = np.bincount(drawn, minlength=4)
    p = weights / weights.sum()
    assert counts[1] == 0
    assert np.all(np.abs(counts - n * p) <= 5 * np.sqrt(n * p * (1 - p)) + 1e-9), counts


def test_multinomial_without_replacement_and_by_rows() -> None:
    probs = Tensor(np.array([[0.1, 0.2, 0.3, 0.4], [0.0, 5.0, 0.0, 1.0]]))
    drawn = probs.multinomial(2, rng=0)
    assert drawn.shape == (2, 2) and drawn.dtype == np.int64
    for row in drawn.tolist():
        assert len(set(row)) == 2  # each index once at most
    assert sorted(drawn.tolist()[1]) == [1, 3]  # the only two categories with weight
    assert tg.multinomial(probs, 1, rng=5).tolist() == tg.multinomial(probs, 1, rng=5).tolist()
    first_of_many = [tg.multinomial(Tensor([0.0, 0.0, 1.0]), 1, rng=k).item() for k in range(20)]
    assert first_of_many == [2] * 20


def test_multinomial_refuses_weights_it_cannot_draw_from() -> None:
    for weights, n, replacement, words in [
        ([0.0, 0.0], 1, True, "sums to 0"),
        ([1.0, -1.0], 1, True, "non-negative"),
        ([1.0, np.nan], 1, True, "finite"),
        ([1.0, 0.0, 2.0], 3, False, "without replacement"),
        ([[[1.0]]], 1, True, "1-D or 2-D"),
        ([1.0, 2.0], 0, True, "num_samples"),
    ]:
        with pytest.raises(RuntimeError, match=words):
            tg.multinomial(Tensor(weights), n, replacement=replacement)
    torch = pytest.importorskip("torch")  # (torch 2.13 draws a category of weight 0 in the fourth case; NumPy refuses)
    for weights, n, replacement in [([0.0, 0.0], 1, True), ([1.0, -1.0], 1, True), ([1.0, np.nan], 1, True)]:
        with pytest.raises(RuntimeError):
            torch.multinomial(torch.tensor(weights), n, replacement=replacement)
