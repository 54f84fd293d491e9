"""RMSprop and Adagrad: their rules written out here as NumPy loops, and torch as a second witness on a
small network (20 steps, a grid of options, float64 and float32), its state_dict passed both ways mid-run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinygrad_edu import Tensor, Value
from tinygrad_edu.nn import Linear, Sequential, Tanh
from tinygrad_edu.nn.functional import mse_loss
from tinygrad_edu.optim import Adagrad, Optimizer, RMSprop

from .layer_parity import numpy_state

STEPS = 20


def grads(shape: tuple[int, ...], seed: int) -> list[np.ndarray]:
    r = np.random.default_rng(seed)
    return [r.normal(size=shape) * r.uniform(0.1, 3) for _ in range(STEPS)]


def rmsprop_textbook(p0: np.ndarray, gs: list[np.ndarray], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                     weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> list[np.ndarray]:
    """torch's documented RMSprop: v and the gradient's mean a by exponential averaging, eps after the root."""
    p, v, a, b, out = p0.copy(), np.zeros_like(p0), np.zeros_like(p0), np.zeros_like(p0), []
    for g in gs:
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g**2
        a = alpha * a + (1 - alpha) * g
        d = g / (np.sqrt(v - a**2 if centered else v) + eps)
        b = momentum * b + d
        p = p - lr * (b if momentum > 0 else d)
        out.append(p)
    return out


def adagrad_textbook(p0: np.ndarray, gs: list[np.ndarray], lr: float = 1e-2, lr_decay: float = 0.0,
                     weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                     eps: float = 1e-10) -> list[np.ndarray]:
    """torch's documented Adagrad: the sum of squared gradients, the step size lr / (1 + (t - 1) lr_decay)."""
    p, total, out = p0.copy(), np.full_like(p0, initial_accumulator_value), []
    for t, g in enumerate(gs, start=1):
        g = g + weight_decay * p
        total = total + g**2
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(total) + eps)
        out.append(p)
    return out


RMSPROP_CASES = [dict(), dict(momentum=0.9), dict(centered=True), dict(centered=True, momentum=0.5, weight_decay=0.1),
                 dict(lr=0.003, alpha=0.9, eps=1e-3, weight_decay=0.01)]
ADAGRAD_CASES = [dict(), dict(lr_decay=0.05), dict(initial_accumulator_value=0.1, weight_decay=0.1),
                 dict(lr=0.1, lr_decay=0.01, eps=1e-6, initial_accumulator_value=0.5)]
CASES = [(RMSprop, rmsprop_textbook, kw) for kw in RMSPROP_CASES] + \
        [(Adagrad, adagrad_textbook, kw) for kw in ADAGRAD_CASES]
IDS = [f"{cls.__name__}-{kw}" for cls, _, kw in CASES]


# ----------------------------------------------------------------------------- the rules, without torch


@pytest.mark.parametrize("cls, textbook, kw", CASES, ids=IDS)
def test_follows_the_textbook_step_by_step(cls: type[Optimizer], textbook: Any, kw: dict[str, Any]) -> None:
    p0 = np.random.default_rng(1).normal(size=(2, 3))
    w, v = Tensor(p0, requires_grad=True), Value(float(p0[0, 0]))
    scale = Tensor(np.array(p0[0, 0]), requires_grad=True)  # a 0-d parameter: its state must be arrays too
    ours, on_value, on_scale = cls([w], **kw), cls([v], **kw), cls([scale], **kw)
    gs = grads((2, 3), 2)
    for g, expected, expected_value in zip(gs, textbook(p0, gs, **kw), textbook(p0[0, 0], [g[0, 0] for g in gs], **kw)):
        w.grad, v.grad, scale.grad = g, float(g[0, 0]), np.array(g[0, 0])
        ours.step()
        on_value.step()
        on_scale.step()
        np.testing.assert_allclose(w.data, expected, rtol=1e-12, atol=1e-15)
        assert v.data == pytest.approx(float(expected_value), rel=1e-12, abs=1e-15)
        np.testing.assert_allclose(scale.data, expected_value, rtol=1e-12, atol=1e-15)
    assert not np.shares_memory(w.grad, w.data) and np.array_equal(w.grad, gs[-1])  # the gradient left alone


def test_first_steps_by_hand() -> None:
    w = Tensor([1.0, -1.0], requires_grad=True)
    opt = RMSprop([w], lr=0.01, centered=True)
    w.grad = np.array([2.0, -2.0])  # v = 0.01 * 4, a = 0.01 * 2: v - a² = 0.0396
    opt.step()
    np.testing.assert_allclose(w.data, [1 - 0.01 * 2 / (0.0396**0.5 + 1e-8), -1 + 0.01 * 2 / (0.0396**0.5 + 1e-8)])
    w = Tensor([1.0], requires_grad=True)
    opt = Adagrad([w], lr=0.5, lr_decay=1.0, initial_accumulator_value=5.0, eps=0.0)
    for expected in (1 - 0.5 * 2 / 3, 1 - 0.5 * 2 / 3 - 0.25 * 2 / 13**0.5):  # sums 9, 13; step sizes 0.5, 0.25
        w.grad = np.array([2.0])
        opt.step()
        assert w.data[0] == pytest.approx(expected, rel=1e-15)


def test_float32_stays_float32_and_state_changes_in_place() -> None:
    for opt_cls, kw in ((RMSprop, dict(momentum=0.9, centered=True)), (Adagrad, dict(initial_accumulator_value=0.1))):
        w = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
        opt = opt_cls([w], **kw)
        w.grad = np.full(3, 0.5, dtype=np.float32)
        opt.step()
        arrays = {k: v for k, v in opt.state[w].items() if k != "step"}
        w.grad = np.full(3, -0.25, dtype=np.float32)
        opt.step()
        assert w.data.dtype == np.float32 and all(v.dtype == np.float32 for v in arrays.values())
        assert all(opt.state[w][k] is v for k, v in arrays.items())  # the same arrays, changed in place (as torch's)


def test_adagrad_state_exists_from_the_start_as_torchs() -> None:
    a, b = Tensor([1.0, 2.0], requires_grad=True), Value(3.0)
    opt = Adagrad([{"params": [a]}, {"params": [b], "initial_accumulator_value": 0.5}])
    state = opt.state_dict()["state"]
    assert state[0]["step"] == 0 and np.array_equal(state[0]["sum"], [0.0, 0.0]) and state[1] == {"step": 0, "sum": 0.5}
    opt.add_param_group({"params": [c := Tensor([0.0], requires_grad=True)]})
    assert np.array_equal(opt.state[c]["sum"], [0.0])
    assert RMSprop([a]).state == {}  # RMSprop, as torch's, starts a parameter's state at its first step


@pytest.mark.parametrize("make, match", [
    (lambda p: RMSprop(p, lr=-0.1), r"RMSprop: invalid lr -0.1 \(must be >= 0\)"),
    (lambda p: RMSprop(p, alpha=-0.5), r"RMSprop: invalid alpha -0.5 \(must be >= 0\)"),
    (lambda p: RMSprop(p, alpha=1.5), r"RMSprop: invalid alpha 1.5 \(must be in \[0, 1\]\)"),
    (lambda p: RMSprop(p, eps=-1e-8), r"RMSprop: invalid eps -1e-08"),
    (lambda p: RMSprop(p, momentum=-0.9), r"RMSprop: invalid momentum -0.9"),
    (lambda p: RMSprop(p, weight_decay=float("nan")), r"RMSprop: invalid weight_decay nan"),
    (lambda p: Adagrad(p, lr=-1), r"Adagrad: invalid lr -1 \(must be >= 0\)"),
    (lambda p: Adagrad(p, lr_decay=-0.1), r"Adagrad: invalid lr_decay -0.1"),
    (lambda p: Adagrad(p, weight_decay=-1e-4), r"Adagrad: invalid weight_decay -0.0001"),
    (lambda p: Adagrad(p, initial_accumulator_value=-1.0), r"Adagrad: invalid initial_accumulator_value -1.0"),
    (lambda p: Adagrad(p, eps=-1e-10), r"Adagrad: invalid eps -1e-10"),
    (lambda p: Adagrad([{"params": p, "lr_decay": -2.0}]), r"Adagrad: invalid lr_decay -2.0"),
])
def test_errors_name_the_optimizer_and_the_argument(make: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make([Value(0.0)])


def test_a_bad_hyperparameter_in_a_loaded_state_is_refused() -> None:
    opt = RMSprop([Value(0.0)])
    saved = opt.state_dict()
    with pytest.raises(ValueError, match="RMSprop: invalid alpha 2.0"):
        opt.load_state_dict({**saved, "param_groups": [{**saved["param_groups"][0], "alpha": 2.0}]})
    with pytest.raises(TypeError, match="Adagrad: lr_decay must be a real number"):
        Adagrad([Value(0.0)], lr_decay="0.1")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- torch, a second witness


def networks(torch: Any, dtype: Any) -> tuple[Sequential, Any]:
    """The same small tanh network in both libraries, in `dtype`."""
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    theirs = theirs.double() if dtype == np.float64 else theirs.float()
    ours = Sequential(Linear(3, 8, rng=0), Tanh(), Linear(8, 2, rng=1)).to(dtype=dtype)
    ours.load_state_dict(numpy_state(theirs))
    return ours, theirs


def groups(model: Any, lr: float) -> list[dict[str, Any]]:
    """Two parameter groups, the second with half the step size: groups are kept apart."""
    return [{"params": list(model[0].parameters())}, {"params": list(model[2].parameters()), "lr": lr / 2}]


def train(torch: Any, model: Any, opt: Any, batches: list[tuple[np.ndarray, np.ndarray]]) -> None:
    for x, y in batches:
        opt.zero_grad()
        if isinstance(model, Sequential):
            mse_loss(model(Tensor(x)), Tensor(y)).backward()
        else:
            torch.nn.functional.mse_loss(model(torch.tensor(x)), torch.tensor(y)).backward()
        opt.step()


def batches(dtype: Any, n: int = STEPS, seed: int = 6) -> list[tuple[np.ndarray, np.ndarray]]:
    r = np.random.default_rng(seed)
    return [(r.normal(size=(16, 3)).astype(dtype), r.normal(size=(16, 2)).astype(dtype)) for _ in range(n)]


def assert_same_parameters(ours: Sequential, theirs: Any, dtype: Any) -> None:
    tol = dict(rtol=0, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    for k, v in numpy_state(theirs).items():
        assert ours.state_dict()[k].dtype == dtype
        np.testing.assert_allclose(ours.state_dict()[k], v, **tol, err_msg=k)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cls, textbook, kw", CASES, ids=IDS)
def test_training_matches_torch(cls: type[Optimizer], textbook: Any, kw: dict[str, Any], dtype: Any) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = networks(torch, dtype)
    lr = kw.get("lr", 1e-2)
    our_opt = cls(groups(ours, lr), **kw)
    their_opt = getattr(torch.optim, cls.__name__)(groups(theirs, lr), **kw)
    train(torch, ours, our_opt, batches(dtype))
    train(torch, theirs, their_opt, batches(dtype))
    assert_same_parameters(ours, theirs, dtype)


def torch_optimizer_state(state: dict[str, Any]) -> dict[str, Any]:
    """Our optimizer's state_dict with torch tensors for its arrays (torch's load_state_dict takes tensors)."""
    import torch

    return {"state": {i: {k: torch.from_numpy(v.copy()) if isinstance(v, np.ndarray) else v for k, v in s.items()}
                      for i, s in state["state"].items()},
            "param_groups": state["param_groups"]}


@pytest.mark.parametrize("cls, textbook, kw", CASES, ids=IDS)
def test_state_dict_moves_both_ways_with_torch(cls: type[Optimizer], textbook: Any, kw: dict[str, Any]) -> None:
    """Train both 7 steps: the same state, by name and value. Then each continues from the other's state
    (and weights) for 8 steps, in step with the other continuing from its own."""
    torch = pytest.importorskip("torch")
    ours, theirs = networks(torch, np.float64)
    lr = kw.get("lr", 1e-2)
    our_opt = cls(groups(ours, lr), **kw)
    their_opt = getattr(torch.optim, cls.__name__)(groups(theirs, lr), **kw)
    assert list(our_opt.state_dict()["state"]) == list(their_opt.state_dict()["state"])  # Adagrad's: from the start
    first, then = batches(np.float64, 7), batches(np.float64, 8, seed=7)
    train(torch, ours, our_opt, first)
    train(torch, theirs, their_opt, first)
    our_state, their_state = our_opt.state_dict(), their_opt.state_dict()
    assert list(our_state["state"]) == list(their_state["state"])
    for i, entries in their_state["state"].items():
        assert sorted(our_state["state"][i]) == sorted(entries)
        assert our_state["state"][i]["step"] == entries["step"].item() == 7
        for k in entries.keys() - {"step"}:
            np.testing.assert_allclose(our_state["state"][i][k], entries[k].numpy(), rtol=1e-12, atol=1e-15)
    for ours_g, theirs_g in zip(our_state["param_groups"], their_state["param_groups"]):
        assert {k: theirs_g[k] for k in ours_g} == ours_g  # ours: torch's names and values, less foreach & co.

    ours_from_torch, torch_from_ours = networks(torch, np.float64)
    ours_from_torch.load_state_dict(numpy_state(theirs))
    torch_from_ours.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    opt_from_torch = cls(groups(ours_from_torch, 1.0))  # other hyperparameters: the state's replace them
    opt_from_torch.load_state_dict(their_opt.state_dict())
    torch_opt_from_ours = getattr(torch.optim, cls.__name__)(groups(torch_from_ours, 1.0))
    torch_opt_from_ours.load_state_dict(torch_optimizer_state(our_opt.state_dict()))
    for model, opt in ((ours, our_opt), (theirs, their_opt), (ours_from_torch, opt_from_torch),
                       (torch_from_ours, torch_opt_from_ours)):
        train(torch, model, opt, then)
    assert_same_parameters(ours_from_torch, theirs, np.float64)
    assert_same_parameters(ours, torch_from_ours, np.float64)
    assert_same_parameters(ours, theirs, np.float64)
