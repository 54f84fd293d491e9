"""Optimizers and schedules against their textbook formulas, written out here in plain NumPy.

The truth is the published update rule (PyTorch's documented SGD, Kingma and Ba's Adam with bias
correction), run step by step on synthetic gradients that we set on `.grad` ourselves; where torch
is importable it is asked as a second witness.
"""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value
from tinygrad_edu.optim import SGD, Adam, Optimizer
from tinygrad_edu.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    InverseTimeLR,
    LRScheduler,
    StepLR,
)

STEPS = 6

# ----------------------------------------------------------------------------- the textbook rules


def sgd_textbook(p0: np.ndarray, grads: list[np.ndarray], lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> list[np.ndarray]:
    """The parameter after each step, by torch.optim.SGD's documented algorithm."""
    p, b, out = np.array(p0, dtype=np.float64), None, []
    for g in grads:
        d = g + weight_decay * p
        if momentum != 0:
            b = d.copy() if b is None else momentum * b + (1 - dampening) * d
            d = d + momentum * b if nesterov else b
        p = p - lr * d
        out.append(p.copy())
    return out


def adam_textbook(p0: np.ndarray, grads: list[np.ndarray], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                  eps: float = 1e-8, weight_decay: float = 0.0) -> list[np.ndarray]:
    """The parameter after each step, by Algorithm 1 of Kingma and Ba (L2 decay added to g, as torch)."""
    beta1, beta2 = betas
    p = np.array(p0, dtype=np.float64)
    m, v, out = np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p.copy())
    return out


def synthetic_grads(shape: tuple[int, ...], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) * (1 + k) for k in range(STEPS)]  # varying size too


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.5),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.05, momentum=0.8, dampening=0.1, weight_decay=0.1),
    dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
]
ADAM_CASES = [
    dict(),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
]
RULES = [(SGD, sgd_textbook, kw) for kw in SGD_CASES] + [(Adam, adam_textbook, kw) for kw in ADAM_CASES]
RULE_IDS = [f"{cls.__name__}-{kw}" for cls, _, kw in RULES]


# ----------------------------------------------------------------------------- update rules


@pytest.mark.parametrize("cls, textbook, kw", RULES, ids=RULE_IDS)
def test_tensor_follows_the_textbook_step_by_step(cls: type[Optimizer], textbook: Any, kw: dict[str, Any]) -> None:
    p0 = np.random.default_rng(0).normal(size=(3, 2))
    grads = synthetic_grads((3, 2), seed=1)
    w = Tensor(p0, requires_grad=True)
    array = w.data
    opt = cls([w], **kw)
    for g, expected in zip(grads, textbook(p0, grads, **kw)):
        w.grad = g.copy()
        opt.step()
        np.testing.assert_allclose(w.data, expected, rtol=1e-12, atol=1e-14)
    assert w.data is array and w.data.dtype == np.float64  # updated in place
    assert w.op is None and w.inputs == ()  # still a leaf: the step recorded nothing


@pytest.mark.parametrize("cls, textbook, kw", RULES, ids=RULE_IDS)
def test_value_follows_the_textbook_step_by_step(cls: type[Optimizer], textbook: Any, kw: dict[str, Any]) -> None:
    grads = synthetic_grads((), seed=2)
    v = Value(0.7)
    opt = cls([v], **kw)
    for g, expected in zip(grads, textbook(np.array(0.7), grads, **kw)):
        v.grad = float(g)
        opt.step()
        assert type(v.data) is float
        assert v.data == pytest.approx(float(expected), rel=1e-12, abs=1e-14)
    assert v.op is None and v.inputs == ()


@pytest.mark.parametrize("cls, textbook, kw", RULES, ids=RULE_IDS)
def test_a_0d_tensor_follows_the_textbook_step_by_step(cls: type[Optimizer], textbook: Any, kw: dict[str, Any]) -> None:
    """A 0-d parameter (a learned scale): with weight decay, g + decay * p is a NumPy scalar, not an array,
    and the state made from it was a float that the in-place rule never changed (Adam's m stayed 0)."""
    grads = synthetic_grads((), seed=5)
    w = Tensor(np.array(0.7), requires_grad=True)
    opt = cls([w], **kw)
    for g, expected in zip(grads, textbook(np.array(0.7), grads, **kw)):
        w.grad = np.array(g)
        opt.step()
        np.testing.assert_allclose(w.data, expected, rtol=1e-12, atol=1e-14)
    assert all(type(v) is np.ndarray and v.shape == () for v in opt.state[w].values() if not isinstance(v, int))


@pytest.mark.parametrize("cls, textbook, kw", RULES, ids=RULE_IDS)
def test_float32_stays_float32(cls: type[Optimizer], textbook: Any, kw: dict[str, Any]) -> None:
    p0 = np.random.default_rng(3).normal(size=5).astype(np.float32)
    grads = [g.astype(np.float32) for g in synthetic_grads((5,), seed=4)]
    w = Tensor(p0, requires_grad=True)
    opt = cls([w], **kw)
    for g, expected in zip(grads, textbook(p0, [g.astype(np.float64) for g in grads], **kw)):
        w.grad = g
        opt.step()
        assert w.data.dtype == np.float32
        np.testing.assert_allclose(w.data, expected, rtol=2e-5, atol=1e-6)
    for buffer in opt.state[w].values():
        assert not isinstance(buffer, np.ndarray) or buffer.dtype == np.float32


def test_momentum_by_hand() -> None:
    # lr 0.1, momentum 0.9, g = 1 every step: buffers 1, 1.9, 2.71; the parameter moves by a tenth of each
    v = Value(0.0)
    opt = SGD([v], lr=0.1, momentum=0.9)
    for expected in (-0.1, -0.29, -0.561):
        v.grad = 1.0
        opt.step()
        assert v.data == pytest.approx(expected, rel=1e-12)


def test_adam_first_step_moves_by_lr_whatever_the_gradient() -> None:
    w = Tensor([1.0, 1.0, 1.0], requires_grad=True)
    opt = Adam([w], lr=0.1, eps=0.0)
    w.grad = np.array([1e-3, 5.0, -300.0])
    opt.step()
    np.testing.assert_allclose(w.data, [0.9, 0.9, 1.1], rtol=1e-12)


def test_momentum_buffer_does_not_alias_the_gradient() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    g = np.array([1.0, 1.0])
    w.grad = g
    opt.step()
    g *= 100.0  # the caller reuses its array
    np.testing.assert_array_equal(opt.state[w]["momentum_buffer"], [1.0, 1.0])


def test_gradient_from_create_graph_is_used_as_data() -> None:
    v = Value(3.0)
    (v * v).backward(create_graph=True)
    assert isinstance(v.grad, Value)
    SGD([v], lr=0.1).step()
    assert v.data == pytest.approx(2.4) and type(v.data) is float


# ----------------------------------------------------------------------------- groups, zero_grad, None grads


def test_param_groups_use_their_own_hyperparameters() -> None:
    a, b = Tensor([1.0, -1.0], requires_grad=True), Value(2.0)
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.01, "momentum": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.5]
    grads = synthetic_grads((2,), seed=5)
    expected_a = sgd_textbook(a.data.copy(), grads, lr=0.1)
    expected_b = sgd_textbook(np.array(2.0), [g[0] for g in grads], lr=0.01, momentum=0.5)
    for g, ea, eb in zip(grads, expected_a, expected_b):
        a.grad, b.grad = g.copy(), float(g[0])
        opt.step()
        np.testing.assert_allclose(a.data, ea, rtol=1e-12)
        assert b.data == pytest.approx(float(eb), rel=1e-12)


def test_a_single_parameter_may_be_given_as_a_group() -> None:
    w = Tensor([1.0], requires_grad=True)
    opt = Adam([{"params": w, "lr": 0.5}])
    assert opt.param_groups[0]["params"] == [w] and opt.param_groups[0]["lr"] == 0.5
    assert opt.param_groups[0]["betas"] == (0.9, 0.999)


def test_add_param_group() -> None:
    a, b = Value(1.0), Value(1.0)
    opt = SGD([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 1.0})
    a.grad = b.grad = 1.0
    opt.step()
    assert (a.data, b.data) == (pytest.approx(0.9), pytest.approx(0.0))


def test_zero_grad() -> None:
    w, v = Tensor([1.0, 2.0], requires_grad=True), Value(3.0)
    ((w * w).sum() + 0.0).backward()
    (v * v).backward()
    assert w.grad is not None and v.grad == 6.0
    SGD([w, v], lr=0.1).zero_grad()
    assert w.grad is None and v.grad == 0.0


def test_zero_grad_set_to_none_false_fills_the_gradients_with_zeros() -> None:
    class Pair(tg.nn.Module):
        def __init__(self) -> None:
            self.w, self.u, self.v = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0], requires_grad=True), Value(3.0)

    model = Pair()
    for zero_grad in (SGD(model.parameters(), lr=0.1).zero_grad, model.zero_grad):  # the optimizer's, the module's
        ((model.w * model.w).sum() + 0.0).backward()
        (model.v * model.v).backward()
        grad = model.w.grad
        zero_grad(set_to_none=False)
        assert model.w.grad is grad and np.array_equal(grad, [0.0, 0.0])  # the same array, as torch's grad.zero_()
        assert model.u.grad is None and model.v.grad == 0.0  # no gradient stays none; a Value's is 0.0 either way


@pytest.mark.parametrize("cls, textbook, kw", RULES + [(Adam, None, dict(lr=0.01, amsgrad=True))], ids=RULE_IDS + ["amsgrad"])
def test_a_step_changes_the_parameter_and_its_state_in_place_and_not_the_gradient(
        cls: type[Optimizer], textbook: Any, kw: dict[str, Any]) -> None:
    a, b = Tensor(np.ones((3, 2)), requires_grad=True), Tensor(np.ones(4), requires_grad=True)
    opt = cls([a, b], **kw)
    for k, g in enumerate(synthetic_grads((3, 2), seed=5)[:3]):
        a.grad, b.grad = g.copy(), g[:2].reshape(4).copy()
        arrays = (a.data, b.data)
        opt.step()
        assert (a.data, b.data) == arrays and a.data is arrays[0] and b.data is arrays[1]
        np.testing.assert_array_equal(a.grad, g)  # the update's scratch work never goes into .grad
        np.testing.assert_array_equal(b.grad, g[:2].reshape(4))
        if k == 0:
            state = {id(x) for s in opt.state.values() for x in s.values() if isinstance(x, np.ndarray)}
        else:  # momentum buffers, Adam's m and v: the same arrays, changed in place (as torch's)
            assert state == {id(x) for s in opt.state.values() for x in s.values() if isinstance(x, np.ndarray)}


def test_params_without_a_gradient_are_untouched() -> None:
    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    for cls in (SGD, Adam):
        opt = cls([a, b], lr=0.1, weight_decay=0.5)  # decay would move b if it were stepped
        a.grad, b.grad = np.array([1.0, 1.0]), None
        before = b.data.copy()
        opt.step()
        np.testing.assert_array_equal(b.data, before)
        assert b not in opt.state and a in opt.state


def test_a_parameter_skipped_for_a_step_keeps_its_momentum() -> None:
    w = Tensor([0.0], requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    w.grad = np.array([1.0])
    opt.step()
    w.grad = None
    opt.step()  # skipped: no move, no buffer decay
    np.testing.assert_allclose(w.data, [-0.1])
    w.grad = np.array([1.0])
    opt.step()
    np.testing.assert_allclose(w.data, [-0.1 - 0.1 * 1.9])


# ----------------------------------------------------------------------------- errors


def test_errors_in_the_parameters() -> None:
    w = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="SGD got an empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam got an empty parameter list"):
        Adam(p for p in list[Tensor]())
    with pytest.raises(ValueError, match="empty parameter list .*group 0"):
        SGD([{"params": []}], lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: parameter 1 \(Tensor 'x'\) does not require grad"):
        SGD([w, Tensor([1.0], label="x")], lr=0.1)
    with pytest.raises(ValueError, match="Adam: parameter 0 .*does not require grad"):
        Adam([Value(1.0, requires_grad=False)])
    with pytest.raises(TypeError, match="SGD: parameter 0 is a ndarray, not a Tensor or Value"):
        SGD([np.ones(3)], lr=0.1)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="SGD: parameter 1 is a float, not a Tensor or Value"):
        SGD([Value(1.0), 2.0], lr=0.1)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="single Tensor; wrap it in a list"):
        SGD(w, lr=0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"SGD: parameter 1 \(Tensor\) appears more than once"):
        SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match="parameter 0 of group 1 .*appears more than once"):
        SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(ValueError, match="is not a leaf .*'mul'"):
        SGD([w * 2.0], lr=0.1)
    with pytest.raises(TypeError, match="mixes parameters and dicts"):
        SGD([w, {"params": [Value(1.0)]}], lr=0.1)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda p: SGD(p, lr=-0.1), ValueError, "SGD: invalid lr -0.1"),
        (lambda p: SGD(p, lr=0.1, momentum=-0.5), ValueError, "SGD: invalid momentum -0.5"),
        (lambda p: SGD(p, lr=0.1, weight_decay=-1e-4), ValueError, "SGD: invalid weight_decay -0.0001"),
        (lambda p: SGD(p, lr=float("nan")), ValueError, "SGD: invalid lr nan"),
        (lambda p: SGD(p, lr="0.1"), TypeError, "SGD: lr must be a real number, got '0.1'"),  # type: ignore[arg-type]
        (lambda p: SGD([{"params": p, "lr": -2}], lr=0.1), ValueError, "SGD: invalid lr -2"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), ValueError, "nesterov momentum requires .*momentum=0.0"),
        (lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "dampening=0.1"),
        (lambda p: Adam(p, lr=-1e-3), ValueError, "Adam: invalid lr -0.001"),
        (lambda p: Adam(p, eps=-1.0), ValueError, "Adam: invalid eps -1.0"),
        (lambda p: Adam(p, weight_decay=-0.1), ValueError, "Adam: invalid weight_decay -0.1"),
        (lambda p: Adam(p, betas=(1.0, 0.999)), ValueError, r"Adam: invalid beta1 1.0 \(must be in \[0, 1\)\)"),
        (lambda p: Adam(p, betas=(0.9, -0.1)), ValueError, "Adam: invalid beta2 -0.1"),
        (lambda p: Adam(p, betas=0.9), ValueError, "Adam: betas must be a pair"),  # type: ignore[arg-type]
    ],
)
def test_errors_in_the_hyperparameters(make: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make([Value(1.0)])


def test_a_gradient_of_the_wrong_shape_is_refused() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True, label="w")
    w.grad = np.ones(3)
    with pytest.raises(ValueError, match=r"SGD: Tensor 'w' has shape \(2,\) but its grad has shape \(3,\)"):
        SGD([w], lr=0.1).step()


# ----------------------------------------------------------------------------- end to end


def test_sgd_momentum_solves_least_squares_through_backward() -> None:
    rng = np.random.default_rng(7)
    A, b = rng.normal(size=(8, 3)), rng.normal(size=8)
    solution = np.linalg.lstsq(A, b, rcond=None)[0]  # the known minimum of |Aw - b|^2
    lr = 1.0 / np.linalg.eigvalsh(2 * A.T @ A).max()  # 1 / (the Hessian's largest eigenvalue)
    w = Tensor(np.zeros(3), requires_grad=True)
    At, bt = Tensor(A), Tensor(b)
    opt = SGD([w], lr=lr, momentum=0.9)
    for _ in range(600):
        opt.zero_grad()
        loss = ((At @ w - bt) ** 2).sum()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(w.data, solution, atol=1e-8)


def test_sgd_momentum_minimises_a_quadratic_of_values() -> None:
    # f = (x - 3)^2 + (y + 1)^2 + x*y/2: grad = 0 at the solution of [[2, .5], [.5, 2]] [x, y] = [6, -2]
    x_min, y_min = np.linalg.solve([[2.0, 0.5], [0.5, 2.0]], [6.0, -2.0])
    x, y = Value(0.0), Value(0.0)
    opt = SGD([x, y], lr=0.1, momentum=0.9)
    for _ in range(600):  # heavy ball with momentum 0.9 contracts by about sqrt(0.9) a step
        opt.zero_grad()
        ((x - 3) ** 2 + (y + 1) ** 2 + x * y / 2).backward()
        opt.step()
    assert (x.data, y.data) == (pytest.approx(x_min, abs=1e-9), pytest.approx(y_min, abs=1e-9))


# ----------------------------------------------------------------------------- schedules


def run_schedule(make: Any, base_lrs: list[float], epochs: int) -> list[list[float]]:
    """The lrs of each group at epochs 0..epochs-1 (read from the groups and from get_last_lr)."""
    opt = SGD([{"params": [Value(0.0)], "lr": lr} for lr in base_lrs], lr=1.0)
    scheduler = make(opt)
    seen = []
    for _ in range(epochs):
        lrs = [g["lr"] for g in opt.param_groups]
        assert scheduler.get_last_lr() == lrs
        seen.append(lrs)
        opt.step()
        scheduler.step()
    return seen


BASE = [0.1, 0.02]
SCHEDULES = [
    (lambda o: StepLR(o, step_size=3, gamma=0.5), lambda lr, t: lr * 0.5 ** (t // 3)),
    (lambda o: StepLR(o, step_size=2), lambda lr, t: lr * 0.1 ** (t // 2)),
    (lambda o: ExponentialLR(o, gamma=0.9), lambda lr, t: lr * 0.9**t),
    (lambda o: InverseTimeLR(o, decay_rate=0.5), lambda lr, t: lr / (1 + 0.5 * t)),
    (lambda o: InverseTimeLR(o, decay_rate=0.5, decay_steps=4), lambda lr, t: lr / (1 + 0.5 * t / 4)),
    (lambda o: CosineAnnealingLR(o, T_max=10), lambda lr, t: lr * (1 + math.cos(math.pi * min(t, 10) / 10)) / 2),
    (
        lambda o: CosineAnnealingLR(o, T_max=8, eta_min=0.01),
        lambda lr, t: 0.01 + (lr - 0.01) * (1 + math.cos(math.pi * min(t, 8) / 8)) / 2,
    ),
]


@pytest.mark.parametrize("make, formula", SCHEDULES)
def test_schedules_follow_their_closed_forms(make: Any, formula: Any) -> None:
    seen = run_schedule(make, BASE, epochs=15)
    expected = [[formula(lr, t) for lr in BASE] for t in range(15)]
    for got, want in zip(seen, expected):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert seen[0] == BASE
    for group in range(len(BASE)):  # the step size never grows
        lrs = [row[group] for row in seen]
        assert all(later <= earlier + 1e-15 for earlier, later in zip(lrs, lrs[1:]))


def test_cosine_annealing_stays_at_eta_min_past_t_max() -> None:
    seen = run_schedule(lambda o: CosineAnnealingLR(o, T_max=4, eta_min=0.001), [0.1], epochs=12)
    assert seen[4][0] == pytest.approx(0.001, rel=1e-12)
    assert [row[0] for row in seen[4:]] == [seen[4][0]] * 8


def test_the_schedule_drives_the_optimizer() -> None:
    v = Value(0.0)
    opt = SGD([v], lr=0.5)
    scheduler = ExponentialLR(opt, gamma=0.5)
    for _ in range(5):
        v.grad = 1.0
        opt.step()
        scheduler.step()
    assert v.data == pytest.approx(-sum(0.5 * 0.5**t for t in range(5)))


def test_scheduler_bookkeeping() -> None:
    opt = SGD([Value(0.0)], lr=0.3)
    scheduler = StepLR(opt, step_size=1, gamma=0.5)
    assert scheduler.base_lrs == [0.3] and opt.param_groups[0]["initial_lr"] == 0.3
    scheduler.step()
    assert scheduler.last_epoch == 1 and opt.param_groups[0]["lr"] == 0.15
    assert LRScheduler(opt).get_last_lr() == [0.3]  # the base class is the constant schedule of initial_lr
    opt.add_param_group({"params": [Value(0.0)]})
    with pytest.raises(RuntimeError, match="StepLR: the optimizer has 2 parameter groups but the scheduler was made for 1"):
        scheduler.step()


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda o: StepLR(o, step_size=0), ValueError, "StepLR: invalid step_size 0"),
        (lambda o: StepLR(o, step_size=-3), ValueError, "StepLR: invalid step_size -3"),
        (lambda o: StepLR(o, step_size=1.5), TypeError, "StepLR: step_size must be an integer, got 1.5"),  # type: ignore[arg-type]
        (lambda o: StepLR(o, step_size=2, gamma=0.0), ValueError, "StepLR: invalid gamma 0.0"),
        (lambda o: ExponentialLR(o, gamma=-0.5), ValueError, "ExponentialLR: invalid gamma -0.5"),
        (lambda o: ExponentialLR(o, gamma="0.5"), TypeError, "ExponentialLR: gamma must be a real number"),  # type: ignore[arg-type]
        (lambda o: InverseTimeLR(o, decay_rate=-1.0), ValueError, "InverseTimeLR: invalid decay_rate -1.0"),
        (lambda o: InverseTimeLR(o, decay_rate=1.0, decay_steps=0), ValueError, "InverseTimeLR: invalid decay_steps 0"),
        (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, "CosineAnnealingLR: invalid T_max 0"),
        (lambda o: CosineAnnealingLR(o, T_max=5, eta_min=-0.1), ValueError, "CosineAnnealingLR: invalid eta_min -0.1"),
        (lambda o: StepLR("sgd", step_size=1), TypeError, "StepLR: optimizer must be an Optimizer, got a str"),  # type: ignore[arg-type]
    ],
)
def test_schedule_errors(make: Any, error: type[Exception], match: str) -> None:
    opt = SGD([Value(0.0)], lr=0.1)
    with pytest.raises(error, match=match):
        make(opt)


def test_lr_scheduler_is_an_attribute_of_optim() -> None:
    code = "from tinygrad_edu import optim; print(optim.lr_scheduler.StepLR.__name__, optim.SGD.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["StepLR", "SGD"]


# ----------------------------------------------------------------------------- torch, a second witness


@pytest.mark.parametrize("cls, textbook, kw", RULES, ids=RULE_IDS)
def test_matches_torch_step_by_step(cls: type[Optimizer], textbook: Any, kw: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    p0 = np.random.default_rng(8).normal(size=(2, 3))
    grads = synthetic_grads((2, 3), seed=9)
    w = Tensor(p0, requires_grad=True)
    tw = torch.tensor(p0, requires_grad=True)
    ours, theirs = cls([w], **kw), getattr(torch.optim, cls.__name__)([tw], **kw)
    for g in grads:
        w.grad, tw.grad = g.copy(), torch.tensor(g)
        ours.step()
        theirs.step()
        np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "name, kw, epochs",
    [("StepLR", dict(step_size=3, gamma=0.5), 12), ("ExponentialLR", dict(gamma=0.9), 12),
     ("CosineAnnealingLR", dict(T_max=10, eta_min=0.01), 11)],  # to T_max: past it, torch's cosine rises again
)
def test_schedules_match_torch(name: str, kw: dict[str, Any], epochs: int) -> None:
    torch = pytest.importorskip("torch")
    tw = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([tw], lr=0.1)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    theirs = []
    for _ in range(epochs):
        theirs.append(tsched.get_last_lr())
        topt.step()
        tsched.step()
    assert run_schedule(lambda o: getattr(tg.optim.lr_scheduler, name)(o, **kw), [0.1], epochs) == [
        pytest.approx(lrs, rel=1e-12) for lrs in theirs
    ]
