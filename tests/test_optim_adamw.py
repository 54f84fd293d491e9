"""AdamW, AMSGrad, gradient clipping and the warmup schedules: textbook formulas written out here, and
torch as a second witness step by step (and on the whole recipe: AdamW + warmup/cosine + clipping)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value
from tinygrad_edu.nn import Linear, Sequential, Tanh
from tinygrad_edu.nn.utils import clip_grad_norm_, clip_grad_value_
from tinygrad_edu.optim import Adam, AdamW
from tinygrad_edu.optim.lr_scheduler import (CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, MultiStepLR,
                                             ReduceLROnPlateau, SequentialLR, StepLR)

from .layer_parity import numpy_state

STEPS = 20


def grads(shape: tuple[int, ...], seed: int) -> list[np.ndarray]:
    r = np.random.default_rng(seed)
    return [r.normal(size=shape) * r.uniform(0.1, 3) for _ in range(STEPS)]


def adamw_textbook(p0: np.ndarray, gs: list[np.ndarray], lr: float, betas: tuple[float, float], eps: float,
                   weight_decay: float, amsgrad: bool) -> list[np.ndarray]:
    """Loshchilov and Hutter's AdamW, as torch documents it: decay p, then Adam's bias-corrected step."""
    p, m, v, vmax, out = p0.copy(), np.zeros_like(p0), np.zeros_like(p0), np.zeros_like(p0), []
    for t, g in enumerate(gs, start=1):
        p = p - lr * weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        vmax = np.maximum(vmax, v)
        v_hat = (vmax if amsgrad else v) / (1 - betas[1] ** t)
        p = p - lr * (m / (1 - betas[0] ** t)) / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


ADAMW_CASES = [dict(), dict(lr=0.05, weight_decay=0.1), dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True)]


@pytest.mark.parametrize("kw", ADAMW_CASES, ids=str)
def test_adamw_matches_its_textbook_rule(kw: dict[str, Any]) -> None:
    p0 = np.random.default_rng(1).normal(size=(2, 3))
    w = Tensor(p0, requires_grad=True)
    opt = AdamW([w], **kw)
    full = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False) | kw
    for g, expected in zip(grads((2, 3), 2), adamw_textbook(p0, grads((2, 3), 2), **full)):
        w.grad = g
        opt.step()
        np.testing.assert_allclose(w.data, expected, rtol=1e-12, atol=1e-15)


def test_adamw_on_a_value_and_its_errors() -> None:
    w = Value(2.0)
    opt = AdamW([w], lr=0.1, weight_decay=0.5, amsgrad=True)
    for g in (1.0, -3.0):
        w.grad = g
        opt.step()
    assert w.data == pytest.approx(adamw_textbook(np.array(2.0), [np.array(1.0), np.array(-3.0)], 0.1, (0.9, 0.999),
                                                  1e-8, 0.5, True)[-1], rel=1e-12)
    with pytest.raises(ValueError, match=r"AdamW: invalid beta2 1.0"):
        AdamW([Value(0.0)], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="AdamW: invalid weight_decay -1"):
        AdamW([Value(0.0)], weight_decay=-1)


@pytest.mark.parametrize("cls, kw", [(AdamW, d) for d in ADAMW_CASES] + [(Adam, dict(lr=0.01, amsgrad=True))], ids=str)
def test_adamw_and_amsgrad_match_torch(cls: type, kw: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    p0 = np.random.default_rng(3).normal(size=(2, 3))
    w, tw = Tensor(p0, requires_grad=True), torch.tensor(p0, requires_grad=True)
    ours, theirs = cls([w], **kw), getattr(torch.optim, cls.__name__)([tw], **kw)
    for g in grads((2, 3), 4):
        w.grad, tw.grad = g.copy(), torch.tensor(g)
        ours.step()
        theirs.step()
        np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------- clipping


def test_clip_grad_norm_by_its_formula() -> None:
    a, b = Tensor(np.zeros(3), requires_grad=True), Tensor(np.zeros((2, 2)), requires_grad=True)
    unused = Tensor(np.zeros(2), requires_grad=True)  # no gradient: skipped
    ga, gb = np.array([1.0, -2.0, 2.0]), np.array([[4.0, 0.0], [0.0, -4.0]])
    for norm_type, total in ((2.0, math.sqrt(9 + 32)), (1.0, 13.0), (math.inf, 4.0), (3.0, (17 + 128) ** (1 / 3))):
        a.grad, b.grad = ga.copy(), gb.copy()
        result = clip_grad_norm_([a, b, unused], max_norm=2.0, norm_type=norm_type)
        assert isinstance(result, Tensor) and result.shape == () and result.item() == pytest.approx(total, rel=1e-14)
        coef = 2.0 / (total + 1e-6)
        np.testing.assert_allclose(a.grad, ga * coef, rtol=1e-14)
        np.testing.assert_allclose(b.grad, gb * coef, rtol=1e-14)
    a.grad = ga.copy()
    assert clip_grad_norm_(a, max_norm=100.0).item() == 3.0 and np.array_equal(a.grad, ga)  # below: unchanged
    assert unused.grad is None and clip_grad_norm_([unused], 1.0).item() == 0.0


def test_clip_grad_norm_float32_values_and_nonfinite() -> None:
    w = Tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
    w.grad = np.array([3.0, 4.0], dtype=np.float32)
    assert clip_grad_norm_([w], 1.0).dtype == w.grad.dtype == np.float32
    v = Value(0.0)
    v.grad = -10.0
    assert clip_grad_norm_([v], 5.0).item() == 10.0 and v.grad == pytest.approx(-5.0, rel=1e-6)
    w.grad = np.array([np.inf, 1.0], dtype=np.float32)
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    assert tg.nn.utils.clip_grad_norm_ is clip_grad_norm_


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clipping_matches_torch(norm_type: float, max_norm: float) -> None:
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(5)
    gs = [r.normal(size=(3, 4)), r.normal(size=(4,))]
    ours = [Tensor(np.zeros_like(g), requires_grad=True) for g in gs]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in gs]
    for p, q, g in zip(ours, theirs, gs):
        p.grad, q.grad = g.copy(), torch.tensor(g)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert total.item() == pytest.approx(t_total.item(), rel=1e-13)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-13)
    clip_grad_value_(ours, 0.3)
    torch.nn.utils.clip_grad_value_(theirs, 0.3)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad, q.grad.numpy())


# ----------------------------------------------------------------------------- schedules


def our_lrs(make: Any, base_lrs: list[float], epochs: int) -> list[list[float]]:
    groups = [{"params": [Value(0.0)], "lr": lr} for lr in base_lrs]
    opt = tg.optim.SGD(groups, lr=base_lrs[0])
    scheduler = make(opt)
    out = []
    for _ in range(epochs):
        out.append([g["lr"] for g in opt.param_groups])
        assert out[-1] == scheduler.get_last_lr()
        opt.step()
        scheduler.step()
    return out


def torch_lrs(make: Any, base_lrs: list[float], epochs: int) -> list[list[float]]:
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in base_lrs])
    scheduler = make(opt)
    out = []
    for _ in range(epochs):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        scheduler.step()
    return out


def warmup_cosine(lib: Any) -> Any:
    """The torch recipe, written once for both libraries: 5 epochs of linear warmup, then a cosine."""
    def make(opt: Any) -> Any:
        warmup = lib.LinearLR(opt, start_factor=0.01, total_iters=5)
        cosine = lib.CosineAnnealingLR(opt, T_max=15, eta_min=1e-4)
        return lib.SequentialLR(opt, [warmup, cosine], milestones=[5])
    return make


SCHEDULES = {
    "linear-default": lambda lib: lambda opt: lib.LinearLR(opt),
    "linear-decay": lambda lib: lambda opt: lib.LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=8),
    "lambda": lambda lib: lambda opt: lib.LambdaLR(opt, lambda t: 1 / (1 + t) ** 0.5),
    "lambda-per-group": lambda lib: lambda opt: lib.LambdaLR(opt, [lambda t: 0.9**t, lambda t: min(1.0, (t + 1) / 4)]),
    "warmup-cosine": warmup_cosine,
    "multistep": lambda lib: lambda opt: lib.MultiStepLR(opt, milestones=[3, 7, 7, 12], gamma=0.5),
    "three-stages": lambda lib: lambda opt: lib.SequentialLR(
        opt, [lib.LinearLR(opt, start_factor=0.5, total_iters=3), lib.ExponentialLR(opt, gamma=0.8),
              lib.StepLR(opt, step_size=2, gamma=0.5)], milestones=[3, 9]),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedules_match_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    base = [0.1, 0.03]
    theirs = torch_lrs(SCHEDULES[name](torch.optim.lr_scheduler), base, STEPS)
    ours = our_lrs(SCHEDULES[name](tg.optim.lr_scheduler), base, STEPS)
    assert ours == [pytest.approx(lrs, rel=1e-12) for lrs in theirs]


def test_warmup_cosine_by_its_closed_form() -> None:
    lrs = [lr for [lr] in our_lrs(warmup_cosine(tg.optim.lr_scheduler), [0.1], STEPS)]
    warm = [0.1 * (0.01 + 0.99 * t / 5) for t in range(5)]
    cos = [1e-4 + (0.1 - 1e-4) * (1 + math.cos(math.pi * t / 15)) / 2 for t in range(15)]
    assert lrs == pytest.approx(warm + cos, rel=1e-14)


def test_schedule_errors() -> None:
    opt = tg.optim.SGD([Value(0.0)], lr=0.1)
    with pytest.raises(ValueError, match="start_factor must be in"):
        LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="one milestone fewer than schedulers"):
        SequentialLR(opt, [LinearLR(opt), ExponentialLR(opt, 0.9)], milestones=[])
    other = tg.optim.SGD([Value(0.0)], lr=0.1)
    with pytest.raises(ValueError, match="same optimizer"):
        SequentialLR(opt, [LinearLR(opt), StepLR(other, 2)], milestones=[3])
    with pytest.raises(ValueError, match="expected 1 lr_lambdas"):
        LambdaLR(opt, [lambda t: 1.0, lambda t: 1.0])
    assert CosineAnnealingLR.__name__ in tg.optim.lr_scheduler.__all__


# ----------------------------------------------------------------------------- ReduceLROnPlateau

# a validation loss that improves, stalls (with changes under the threshold), improves, then rises
PLATEAU_METRICS = [5.0, 4.0, 3.9999, 4.1, 4.0, 4.05, 3.0, 3.0, 2.99999, 3.5, 3.2, 3.1, 3.3, 3.4, 3.0, 2.0, 2.5, 2.6,
                   2.7, 2.8, -1.0, -0.99995, -1.2, -1.1, -1.1, -1.1]
PLATEAUS = {
    "defaults-patience-2": dict(patience=2),
    "factor-cooldown": dict(factor=0.5, patience=1, cooldown=2),
    "abs-threshold-min-lr": dict(factor=0.3, patience=0, threshold=0.05, threshold_mode="abs", min_lr=0.004),
    "max-mode": dict(mode="max", factor=0.5, patience=1),
    "min-lr-per-group": dict(factor=0.1, patience=1, min_lr=[0.001, 0.0005]),
}


def plateau_lrs(lib: Any, kwargs: dict[str, Any], torch_params: bool = False) -> tuple[list[list[float]], Any]:
    if torch_params:
        params: list[Any] = [lib.zeros(1, requires_grad=True), lib.zeros(1, requires_grad=True)]
    else:
        params = [Value(0.0), Value(0.0)]
    opt = lib.optim.SGD([{"params": [params[0]], "lr": 0.1}, {"params": [params[1]], "lr": 0.03}], lr=0.1)
    scheduler = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    out = []
    for metric in PLATEAU_METRICS:
        opt.step()
        scheduler.step(metric)
        out.append([g["lr"] for g in opt.param_groups])
    return out, scheduler


@pytest.mark.parametrize("name", list(PLATEAUS))
def test_reduce_lr_on_plateau_matches_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    ours, _ = plateau_lrs(tg, PLATEAUS[name])
    theirs, _ = plateau_lrs(torch, PLATEAUS[name], torch_params=True)
    assert ours == [pytest.approx(lrs, rel=1e-12) for lrs in theirs]
    assert ours[0] != ours[-1], "the sequence reduced the lr at least once"


def test_reduce_lr_on_plateau_by_hand() -> None:
    """patience 1: the third epoch without improvement past the best (2.0) halves the lr; then a
    cooldown of 1 epoch in which bad epochs do not count."""
    opt = tg.optim.SGD([Value(0.0)], lr=1.0)
    s = ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1)
    lrs = []
    for loss in [3.0, 2.0, 2.5, 2.4, 2.3, 2.2, 2.1, 1.0]:
        s.step(loss)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    assert s.best == 1.0 and s.get_last_lr() == [0.25]
    resumed = ReduceLROnPlateau(tg.optim.SGD([Value(0.0)], lr=1.0), factor=0.5, patience=1, cooldown=1)
    resumed.load_state_dict(s.state_dict())  # the lrs, the best metric and the counts come back
    assert resumed.optimizer.param_groups[0]["lr"] == 0.25 and resumed.best == 1.0
    assert resumed.num_bad_epochs == s.num_bad_epochs and resumed.last_epoch == 8
    with pytest.raises(TypeError, match="step needs the metric"):
        s.step()
    with pytest.raises(ValueError, match="factor must be below 1.0"):
        ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="expected 1 min_lrs"):
        ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])


def test_multistep_by_its_closed_form() -> None:
    lrs = [lr for [lr] in our_lrs(lambda opt: MultiStepLR(opt, milestones=[5, 2, 5], gamma=0.1), [1.0], 8)]
    assert lrs == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.1, 0.001, 0.001, 0.001], rel=1e-14)


# ----------------------------------------------------------------------------- the whole recipe


def test_training_recipe_matches_torch() -> None:
    """AdamW, warmup then cosine, and clipping at 0.5 on a small tanh network: the same weights after 20 steps."""
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    ours = Sequential(Linear(3, 8, rng=0), Tanh(), Linear(8, 2, rng=1))
    ours.load_state_dict(numpy_state(theirs))
    r = np.random.default_rng(6)
    batches = [(r.normal(size=(16, 3)), r.normal(size=(16, 2))) for _ in range(STEPS)]
    runs = []
    for lib, model, F in ((tg, ours, tg.nn.functional), (torch, theirs, torch.nn.functional)):
        opt = lib.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.1)
        schedule = warmup_cosine(lib.optim.lr_scheduler)(opt)
        norms = []
        for x, y in batches:
            opt.zero_grad()
            loss = F.mse_loss(model(lib.tensor(x) if lib is torch else Tensor(x)), lib.tensor(y) if lib is torch else y)
            loss.backward()
            norms.append(lib.nn.utils.clip_grad_norm_(model.parameters(), 0.5).item())
            opt.step()
            schedule.step()
        runs.append(norms)
    assert runs[0] == pytest.approx(runs[1], rel=1e-9)
    for k, v in numpy_state(theirs).items():
        np.testing.assert_allclose(ours.state_dict()[k], v, rtol=0, atol=1e-10, err_msg=k)
