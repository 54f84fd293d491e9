"""Resuming training: a run saved after N steps (model, optimizer, scheduler) and loaded into fresh objects
must continue exactly as the uninterrupted run does, bit for bit. Also `load(path, into=...)`, and the
optimizers' and schedulers' state_dict / load_state_dict on their own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value
from tinygrad_edu.nn import MLP, ScalarMLP, mse_loss
from tinygrad_edu.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from tinygrad_edu.optim.lr_scheduler import (
    CosineAnnealingLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    SequentialLR,
    StepLR,
)

N, M = 5, 4  # steps before and after the save

OPTIMIZERS: dict[str, Callable[[Any], Optimizer]] = {
    "sgd-nesterov": lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "sgd-dampening": lambda ps: SGD(ps, lr=0.05, momentum=0.5, dampening=0.3),
    "adam-amsgrad": lambda ps: Adam(ps, lr=0.01, weight_decay=1e-2, amsgrad=True),
    "adamw": lambda ps: AdamW(ps, lr=0.01, betas=(0.8, 0.99)),
    "rmsprop-centered": lambda ps: RMSprop(ps, lr=0.01, momentum=0.5, centered=True, weight_decay=1e-2),
    "adagrad": lambda ps: Adagrad(ps, lr=0.05, lr_decay=0.1, initial_accumulator_value=0.1),
}
SCHEDULERS: dict[str, Callable[[Optimizer], LRScheduler | None]] = {
    "none": lambda opt: None,
    "step": lambda opt: StepLR(opt, step_size=3, gamma=0.5),
    "warmup-cosine": lambda opt: SequentialLR(
        opt, [LinearLR(opt, start_factor=0.1, total_iters=3), CosineAnnealingLR(opt, T_max=8)], milestones=[3]
    ),
}


def batch(step: int, dtype: Any) -> tuple[Tensor, Tensor]:
    """The minibatch of a step: the same for the interrupted and the uninterrupted run."""
    rng = np.random.default_rng(step)
    x = rng.standard_normal((8, 3)).astype(dtype)
    return Tensor(x), Tensor(np.sin(x.sum(axis=1, keepdims=True)))


def train(model: MLP, opt: Optimizer, scheduler: LRScheduler | None, steps: range, dtype: Any) -> list[float]:
    losses = []
    for step in steps:
        x, y = batch(step, dtype)
        opt.zero_grad()
        loss = mse_loss(model(x), y)
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(float(loss.data))
    return losses


def build(opt_name: str, sched_name: str, seed: int, dtype: Any) -> tuple[MLP, Optimizer, LRScheduler | None]:
    model = MLP([3, 6, 1], rng=seed, dtype=dtype)
    head = model.layers[-1].parameters()
    body = model.layers[0].parameters()
    opt = OPTIMIZERS[opt_name]([{"params": body}, {"params": head, "lr": 0.02}])  # two groups, two lrs
    return model, opt, SCHEDULERS[sched_name](opt)


@pytest.mark.parametrize("sched_name", list(SCHEDULERS))
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_resumed_run_matches_the_uninterrupted_one(
    tmp_path: Path, opt_name: str, sched_name: str, dtype: Any
) -> None:
    model, opt, scheduler = build(opt_name, sched_name, 0, dtype)
    whole = train(model, opt, scheduler, range(N + M), dtype)

    first, opt1, scheduler1 = build(opt_name, sched_name, 0, dtype)
    before = train(first, opt1, scheduler1, range(N), dtype)
    path = tmp_path / "checkpoint.npz"
    tg.save({"model": first, "optimizer": opt1, "scheduler": scheduler1} if scheduler1 else
            {"model": first, "optimizer": opt1}, path)
    assert all("/" in name for name in tg.load(path))  # the dict form still reads the file

    second, opt2, scheduler2 = build(opt_name, sched_name, 1, dtype)  # other weights, a fresh state
    into: dict[str, Any] = {"model": second, "optimizer": opt2}
    if scheduler2 is not None:
        into["scheduler"] = scheduler2
    assert tg.load(path, into=into) is into
    after = train(second, opt2, scheduler2, range(N, N + M), dtype)

    assert before + after == whole
    for (name, p), (_, q) in zip(model.named_parameters(), second.named_parameters()):
        assert q.data.dtype == dtype and np.array_equal(p.data, q.data), name
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]


def test_a_scalar_model_resumes_exactly(tmp_path: Path) -> None:
    """Values keep their state as floats: a file gives 0-d arrays back, load_state_dict makes floats again."""
    xs = [([0.5, -1.0], 1.0), ([2.0, 0.25], -1.0), ([0.0, 1.0], 0.5)]

    def run(model: ScalarMLP, opt: Optimizer, steps: range) -> None:
        for step in steps:
            x, y = xs[step % len(xs)]
            opt.zero_grad()
            ((model(x) - y) ** 2).backward()
            opt.step()

    model = ScalarMLP([2, 3, 1], rng=0)
    opt = Adam(model.parameters(), lr=0.05, amsgrad=True)
    run(model, opt, range(N + M))
    first = ScalarMLP([2, 3, 1], rng=0)
    opt1 = Adam(first.parameters(), lr=0.05, amsgrad=True)
    run(first, opt1, range(N))
    tg.save({"model": first, "optimizer": opt1}, tmp_path / "scalar.npz")
    second = ScalarMLP([2, 3, 1], rng=1)
    opt2 = tg.load(tmp_path / "scalar.npz", into={"model": second, "optimizer": Adam(second.parameters())})["optimizer"]
    assert all(type(v) is float for s in opt2.state.values() for k, v in s.items() if k != "step")
    assert opt2.param_groups[0]["lr"] == 0.05 and opt2.param_groups[0]["amsgrad"] is True  # the saved settings
    run(second, opt2, range(N, N + M))
    assert [p.data for p in second.parameters()] == [p.data for p in model.parameters()]


def test_fit_resumes_exactly(tmp_path: Path) -> None:
    X = np.linspace(-1, 1, 24)[:, None]
    Y = np.sin(3 * X)

    def setup(seed: int) -> tuple[MLP, Optimizer, LRScheduler]:
        model = MLP([1, 8, 1], rng=seed)
        opt = Adam(model.parameters(), lr=0.02)
        return model, opt, StepLR(opt, step_size=2, gamma=0.7)

    model, opt, scheduler = setup(0)
    whole = tg.fit(model, mse_loss, opt, X, Y, epochs=6, batch_size=8, shuffle=False, scheduler=scheduler)
    model, opt, scheduler = setup(0)
    before = tg.fit(model, mse_loss, opt, X, Y, epochs=4, batch_size=8, shuffle=False, scheduler=scheduler)
    tg.save({"model": model, "optimizer": opt, "scheduler": scheduler}, tmp_path / "fit.npz")
    model, opt, scheduler = setup(3)
    tg.load(tmp_path / "fit.npz", into={"model": model, "optimizer": opt, "scheduler": scheduler})
    after = tg.fit(model, mse_loss, opt, X, Y, epochs=2, batch_size=8, shuffle=False, scheduler=scheduler)
    assert before + after == whole


# ----------------------------------------------------------------------------- load(path, into=...)


def test_load_into_a_model_returns_it(tmp_path: Path) -> None:
    model = MLP([2, 4, 1], rng=0)
    tg.save(model, tmp_path / "m.npz")
    m2 = tg.load(tmp_path / "m.npz", into=MLP([2, 4, 1], rng=7))
    x = Tensor(np.ones((3, 2)))
    assert isinstance(m2, MLP) and np.array_equal(m2(x).data, model(x).data)
    assert list(tg.load(tmp_path / "m.npz")) == [name for name, _ in model.named_parameters()]  # the dict form


def test_load_into_says_what_does_not_fit(tmp_path: Path) -> None:
    model = MLP([2, 4, 1], rng=0)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    tg.save({"model": model, "optimizer": opt}, tmp_path / "both.npz")
    with pytest.raises(KeyError, match=r"holds several objects \(model, optimizer\).*into=\{'model': \.\.\."):
        tg.load(tmp_path / "both.npz", into=MLP([2, 4, 1]))
    with pytest.raises(KeyError, match="'optimizer' has nowhere to go.*; pass strict=False"):
        tg.load(tmp_path / "both.npz", into={"model": MLP([2, 4, 1])})
    x = Tensor(np.ones((1, 2)))
    only = tg.load(tmp_path / "both.npz", into={"model": MLP([2, 4, 1])}, strict=False)["model"]
    assert np.array_equal(only(x).data, model(x).data)
    with pytest.raises(KeyError, match="'scheduler' is not in the file"):
        tg.load(tmp_path / "both.npz", into={"model": model, "optimizer": opt, "scheduler": StepLR(opt, 2)})
    with pytest.raises(TypeError, match="no load_state_dict"):
        tg.load(tmp_path / "both.npz", into={"model": model, "optimizer": 3})
    with pytest.raises(TypeError, match="into must be a Module"):
        tg.load(tmp_path / "both.npz", into=[model])
    with pytest.raises(ValueError, match="shape mismatch"):
        tg.load(tmp_path / "both.npz", into={"model": MLP([2, 5, 1]), "optimizer": opt})


def test_save_takes_nested_dicts_lists_and_numbers(tmp_path: Path) -> None:
    tg.save({"run": {"epoch": 3, "lrs": [0.1, 0.01], "tags": [{"a": 1.5}]}, "w": Value(2.0)}, tmp_path / "n.npz")
    state = tg.load(tmp_path / "n.npz")
    assert list(state) == ["run/epoch", "run/lrs", "run/tags/0/a", "w"]
    assert state["run/lrs"].tolist() == [0.1, 0.01] and state["run/epoch"].item() == 3
    with pytest.raises(TypeError, match="non-empty string or an int"):
        tg.save({"run": {None: 1}}, tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="holds no arrays"):
        tg.save({"run": {}}, tmp_path / "bad.npz")


# ----------------------------------------------------------------------------- state_dict in memory


def test_optimizer_state_dict_layout_is_pytorchs() -> None:
    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([[3.0]], requires_grad=True)
    opt = Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad = np.array([1.0, -1.0])  # b has no gradient: no state, as in PyTorch
    opt.step()
    state = opt.state_dict()
    assert list(state) == ["state", "param_groups"] and list(state["state"]) == [0]
    assert sorted(state["state"][0]) == ["exp_avg", "exp_avg_sq", "step"] and state["state"][0]["step"] == 1
    assert [g["params"] for g in state["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in state["param_groups"]] == [0.1, 0.5] and state["param_groups"][0]["betas"] == (0.9, 0.999)
    state["state"][0]["exp_avg"][:] = 99.0  # a copy: changing it leaves the optimizer alone
    assert opt.state[a]["exp_avg"][0] != 99.0


def test_optimizer_state_dict_names_match_torch() -> None:
    torch = pytest.importorskip("torch")
    w = torch.zeros(2, requires_grad=True)
    theirs = torch.optim.Adam([w], lr=0.1, amsgrad=True)
    w.grad = torch.ones(2)
    theirs.step()
    ours_w = Tensor([0.0, 0.0], requires_grad=True)
    ours = Adam([ours_w], lr=0.1, amsgrad=True)
    ours_w.grad = np.ones(2)
    ours.step()
    their_state, our_state = theirs.state_dict(), ours.state_dict()
    assert set(our_state["state"][0]) == set(their_state["state"][0])
    assert set(our_state["param_groups"][0]) <= set(their_state["param_groups"][0])
    for key in our_state["state"][0]:
        np.testing.assert_allclose(np.asarray(our_state["state"][0][key]), their_state["state"][0][key].numpy(),
                                   rtol=1e-6)


def test_optimizer_load_state_dict_checks_before_changing_anything() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    w.grad = np.ones(2)
    opt.step()
    saved = opt.state_dict()
    other = SGD([Tensor([0.0, 0.0, 0.0], requires_grad=True)], lr=0.3)
    with pytest.raises(ValueError, match=r"'momentum_buffer' has shape \(2,\), but its parameter .* has shape \(3,\)"):
        other.load_state_dict(saved)
    assert other.state == {} and other.param_groups[0]["lr"] == 0.3
    with pytest.raises(ValueError, match="the state has 1 parameter groups, the optimizer 2"):
        SGD([{"params": [Value(1.0)]}, {"params": [Value(2.0)]}], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="parameter group 0 of the state has 1 parameters, the optimizer's has 2"):
        SGD([Value(1.0), Value(2.0)], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups'"):
        opt.load_state_dict({"w": np.ones(2)})
    with pytest.raises(ValueError, match="invalid lr"):
        opt.load_state_dict({**saved, "param_groups": [{**saved["param_groups"][0], "lr": -1.0}]})


def test_scheduler_state_dict_round_trip() -> None:
    opt = SGD([Value(0.0)], lr=1.0)
    warm = LinearLR(opt, start_factor=0.5, total_iters=2)
    s = SequentialLR(opt, [warm, StepLR(opt, step_size=2, gamma=0.5)], milestones=[2])
    for _ in range(5):
        s.step()
    state = s.state_dict()
    assert state["last_epoch"] == 5 and len(state["schedulers"]) == 2 and state["milestones"] == [2]
    opt2 = SGD([Value(0.0)], lr=1.0)
    s2 = SequentialLR(opt2, [LinearLR(opt2, start_factor=0.5, total_iters=2), StepLR(opt2, 2, 0.5)], milestones=[2])
    s2.load_state_dict(state)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == s2.get_last_lr()[0]
    s.step(), s2.step()
    assert s2.get_last_lr() == s.get_last_lr()
    lam = LambdaLR(SGD([Value(0.0)], lr=1.0), lambda t: 0.9**t)
    assert "lr_lambdas" not in lam.state_dict()  # functions are not saved (as in PyTorch)
    with pytest.raises(ValueError, match="keys this scheduler does not"):
        lam.load_state_dict({"gamma": 0.5})
