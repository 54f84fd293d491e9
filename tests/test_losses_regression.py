"""l1_loss, huber_loss and smooth_l1_loss: against a direct loop, finite differences and torch.

The loop reference writes each element's loss from its definition with Python floats; it shares no
code with the implementation (no where, no abs node, no reduction code).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.nn import functional as F

from .numeric import assert_close, central_differences


def _element(name: str, d: float, k: float) -> float:
    """One element's loss from its definition; k is delta (huber) or beta (smooth L1)."""
    if name == "l1_loss" or (name == "smooth_l1_loss" and k == 0):
        return abs(d)
    if name == "huber_loss":
        return 0.5 * d * d if abs(d) < k else k * (abs(d) - 0.5 * k)
    return 0.5 * d * d / k if abs(d) < k else abs(d) - 0.5 * k


def _loop(name: str, pred: np.ndarray, target: np.ndarray, reduction: str, k: float) -> Any:
    each = np.array([_element(name, float(p) - float(t), k) for p, t in zip(pred.ravel(), target.ravel())])
    return each.reshape(pred.shape) if reduction == "none" else each.sum() if reduction == "sum" else each.mean()


def _call(name: str, pred: Tensor, target: Any, reduction: str, k: float) -> Tensor:
    if name == "huber_loss":
        return F.huber_loss(pred, target, reduction, delta=k)
    if name == "smooth_l1_loss":
        return F.smooth_l1_loss(pred, target, reduction, beta=k)
    return F.l1_loss(pred, target, reduction)


CASES = [("l1_loss", 1.0), ("huber_loss", 1.0), ("huber_loss", 0.3), ("smooth_l1_loss", 1.0),
         ("smooth_l1_loss", 0.3), ("smooth_l1_loss", 0.0)]


def _data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Errors on both sides of every kink (none closer than 0.01 to one: finite differences stay smooth)."""
    rng = np.random.default_rng(seed)
    pred, target = rng.normal(size=(4, 5)) * 1.5, rng.normal(size=(4, 5))
    d = pred - target
    for kink in (0.0, 0.3, 1.0):
        near = np.abs(np.abs(d) - kink) < 0.01
        pred[near] += 0.05
        d = pred - target
    return pred, target


@pytest.mark.parametrize("name, k", CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses_match_the_direct_loop_and_finite_differences(name: str, k: float, reduction: str) -> None:
    pred, target = _data(1)
    x = Tensor(pred, requires_grad=True)
    loss = _call(name, x, target, reduction, k)
    assert_close(loss.data, _loop(name, pred, target, reduction, k), f"{name}({k}) {reduction}")
    weights = np.random.default_rng(2).normal(size=pred.shape) if reduction == "none" else 1.0
    (loss * weights).sum().backward()
    (expected,) = central_differences(lambda a: float((_loop(name, a[0], target, reduction, k) * weights).sum()), [pred])
    assert_close(x.grad, expected, f"{name}({k}) {reduction}: gradient", rtol=1e-6, atol=1e-8)


def test_the_gradient_of_an_exact_fit_is_zero_and_float32_stays_float32() -> None:
    for name, k in CASES:
        x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
        loss = _call(name, x, [1.0, 2.0], "mean", k)
        loss.backward()
        assert loss.dtype == np.float32 and loss.item() == 0.0 and x.grad.tolist() == [0.0, 0.0], name


def test_modules_match_the_functions() -> None:
    pred, target = _data(3)
    pairs = [(tg.nn.L1Loss(reduction="sum"), F.l1_loss(Tensor(pred), target, "sum")),
             (tg.nn.HuberLoss(delta=0.3), F.huber_loss(Tensor(pred), target, delta=0.3)),
             (tg.nn.SmoothL1Loss(reduction="none", beta=0.3), F.smooth_l1_loss(Tensor(pred), target, "none", beta=0.3))]
    for module, expected in pairs:
        assert np.array_equal(module(Tensor(pred), target).data, expected.data), type(module).__name__


def test_errors_name_the_loss_and_the_bad_argument() -> None:
    x = Tensor(np.zeros(3))
    with pytest.raises(ValueError, match="huber_loss: delta must be positive, got 0"):
        F.huber_loss(x, np.zeros(3), delta=0)
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be 0 or more, got -1"):
        F.smooth_l1_loss(x, np.zeros(3), beta=-1)
    with pytest.raises(ValueError, match=r"l1_loss: the prediction has shape \(3,\) but the target has shape \(2,\)"):
        F.l1_loss(x, np.zeros(2))
    with pytest.raises(ValueError, match="huber_loss: reduction must be one of"):
        F.huber_loss(x, np.zeros(3), reduction="avg")


@pytest.mark.parametrize("name, k", CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses_match_torch(name: str, k: float, reduction: str) -> None:
    torch = pytest.importorskip("torch")
    pred, target = _data(4)
    pred[0, 0] = target[0, 0]  # an exact fit: torch's gradient there is 0 too
    ours = Tensor(pred, requires_grad=True)
    theirs = torch.tensor(pred, requires_grad=True)
    t = torch.from_numpy(target)
    kwargs = {"huber_loss": {"delta": k}, "smooth_l1_loss": {"beta": k}}.get(name, {})
    expected = getattr(torch.nn.functional, name)(theirs, t, reduction=reduction, **kwargs)
    loss = _call(name, ours, target, reduction, k)
    assert_close(loss.data, expected.detach().numpy(), f"{name}({k}) {reduction} against torch", rtol=1e-13, atol=1e-15)
    cotangent = np.random.default_rng(5).normal(size=loss.shape)
    loss.backward(cotangent)
    expected.backward(torch.from_numpy(cotangent))
    assert_close(ours.grad, theirs.grad.numpy(), f"{name}({k}) {reduction}: gradient against torch", rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ["mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_reduction_none_gives_each_element_s_loss_as_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    pred, target = rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))
    ours, theirs = Tensor(pred, requires_grad=True), torch.tensor(pred, requires_grad=True)
    loss, expected = getattr(F, name)(ours, target, "none"), getattr(torch.nn.functional, name)(
        theirs, torch.from_numpy(target), reduction="none")
    assert loss.shape == (3, 4)
    assert_close(loss.data, expected.detach().numpy(), f"{name} none", rtol=1e-12, atol=1e-15)
    cotangent = rng.normal(size=(3, 4))
    loss.backward(cotangent)
    expected.backward(torch.from_numpy(cotangent))
    assert_close(ours.grad, theirs.grad.numpy(), f"{name} none: gradient", rtol=1e-12, atol=1e-15)


def test_hinge_loss_reduction_none_is_each_margin() -> None:
    loss = F.hinge_loss(Tensor([2.0, 0.0, -0.5]), [1, 1, -1], reduction="none")
    assert loss.data.tolist() == [0.0, 1.0, 0.5]  # max(0, 1 - y·score) for each
