"""The foreach step (optim/foreach.py): a group's rule run once on its parameters laid end to end gives the
per-parameter step's numbers bit for bit, keeps PyTorch's state layout, and launches few device kernels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.device import to_host

from .foreign_array import OPERATIONS, register

register()

SHAPES = [(3, 4), (4,), (), (2, 3, 2), (1,), (5, 1), (2,), (3,), (4, 4), (1, 2)]  # (more than 8: see launch_bound)

CONFIGS: dict[str, tuple[Any, dict[str, Any]]] = {
    "sgd": (tg.optim.SGD, dict(lr=0.1)),
    "sgd momentum, decay": (tg.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    "sgd nesterov": (tg.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    "adam": (tg.optim.Adam, dict(lr=0.01)),
    "adam amsgrad, decay": (tg.optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    "adamw": (tg.optim.AdamW, dict(lr=0.01, betas=(0.8, 0.9))),
    "rmsprop centered, momentum": (tg.optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
    "adagrad": (tg.optim.Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
}


def _params(device: str = "cpu", dtype: Any = np.float64) -> list[Tensor]:
    rng = np.random.default_rng(0)
    return [Tensor(rng.normal(size=s).astype(dtype), requires_grad=True, device=device) for s in SHAPES]


def _set_grads(params: list[Tensor], step: int, skip: int | None = None) -> None:
    rng = np.random.default_rng(100 + step)
    for i, p in enumerate(params):
        g = rng.normal(size=p.shape).astype(p.dtype)
        p.grad = None if i == skip else Tensor(g, device=p.device).data


def _host_state(opt: tg.optim.Optimizer) -> dict[int, dict[str, Any]]:
    return {i: {k: to_host(v) if tg.device.is_array(v) else v for k, v in s.items()}
            for i, s in opt.state_dict()["state"].items()}


def _assert_same(a: list[Tensor], b: list[Tensor], opt_a: tg.optim.Optimizer, opt_b: tg.optim.Optimizer) -> None:
    for i, (p, q) in enumerate(zip(a, b)):
        np.testing.assert_array_equal(to_host(p.data), to_host(q.data), err_msg=f"parameter {i}")
    state_a, state_b = _host_state(opt_a), _host_state(opt_b)
    assert state_a.keys() == state_b.keys()
    for i in state_a:
        assert state_a[i].keys() == state_b[i].keys()
        for k in state_a[i]:
            np.testing.assert_array_equal(state_a[i][k], state_b[i][k], err_msg=f"state {k} of parameter {i}")


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("device", ["cpu", "foreign"])
def test_the_foreach_step_gives_the_per_parameter_steps_numbers_bit_for_bit(config: str, device: str) -> None:
    make, hyper = CONFIGS[config]
    loop_params, grouped_params = _params("cpu"), _params(device)
    loop = make(loop_params, foreach=False, **hyper)
    grouped = make(grouped_params, foreach=True if device == "cpu" else None, **hyper)  # (None: grouped on a device)
    for step in range(4):
        _set_grads(loop_params, step)
        _set_grads(grouped_params, step)
        loop.step()
        grouped.step()
    assert grouped._flat_groups, "the foreach step was not taken"
    _assert_same(loop_params, grouped_params, loop, grouped)


@pytest.mark.parametrize("config", ["sgd momentum, decay", "adam amsgrad, decay", "rmsprop centered, momentum"])
def test_foreach_steps_go_on_from_a_loaded_state_from_a_missing_gradient_and_from_per_parameter_steps(
    config: str, tmp_path: Any
) -> None:
    """The per-parameter entries are views of the flat state: what changes them (loading a state, a step per
    parameter in between, a parameter without a gradient for a step) is seen by the next foreach step."""
    make, hyper = CONFIGS[config]
    loop_params, grouped_params = _params(), _params()
    loop = make(loop_params, foreach=False, **hyper)
    grouped = make(grouped_params, foreach=True, **hyper)
    schedule = [
        ("foreach", None), ("foreach", None),
        ("reload", None), ("foreach", None),
        ("per parameter", None), ("foreach", None),
        ("foreach", 1),  # parameter 1 has no gradient: the others step together without it
        ("foreach", None),  # now its step count differs: the group falls back to per parameter
    ]
    for step, (what, skip) in enumerate(schedule):
        if what == "reload":  # a new optimizer from the saved file, as when resuming a run
            tg.save(grouped, tmp_path / "optimizer.npz")
            grouped = tg.load(tmp_path / "optimizer.npz", into=make(grouped_params, foreach=False, **hyper))
            assert grouped.param_groups[0]["foreach"] is True  # (saved: True)
            continue
        grouped.param_groups[0]["foreach"] = what == "foreach"
        _set_grads(loop_params, step, skip)
        _set_grads(grouped_params, step, skip)
        loop.step()
        grouped.step()
        _assert_same(loop_params, grouped_params, loop, grouped)


def test_the_state_dict_of_a_foreach_optimizer_is_pytorchs_layout_per_parameter() -> None:
    params = _params()
    opt = tg.optim.Adam(params, lr=0.01, foreach=True)
    _set_grads(params, 0)
    opt.step()
    saved = opt.state_dict()
    assert saved["param_groups"][0]["foreach"] is True
    assert list(saved["state"]) == list(range(len(SHAPES)))
    for i, shape in enumerate(SHAPES):
        assert saved["state"][i]["step"] == 1
        assert saved["state"][i]["exp_avg"].shape == shape and saved["state"][i]["exp_avg_sq"].shape == shape
    saved["state"][0]["exp_avg"][...] = 7  # a copy: the optimizer's own state does not change
    assert not (opt.state[params[0]]["exp_avg"] == 7).any()


def test_an_adamw_step_on_a_device_launches_a_few_kernels_plus_one_per_parameter() -> None:
    """Per parameter, AdamW's rule is 13 array operations (kernel launches on CuPy); grouped, it is about 15
    for the whole group, and a copy back into each parameter."""
    params = [Tensor(np.ones((3, 2)), requires_grad=True, device="foreign") for _ in range(20)]
    counts = {}
    for foreach in (False, True):
        opt = tg.optim.AdamW(params, lr=0.01, foreach=foreach)
        for step in range(2):
            _set_grads(params, step)
            OPERATIONS.clear()
            opt.step()
        counts[foreach] = sum(OPERATIONS.values())
    assert counts[False] >= 10 * len(params)  # (the counter sees the per-parameter rule)
    assert counts[True] <= len(params) + 20, counts


def test_foreach_must_be_a_bool_or_none() -> None:
    with pytest.raises(TypeError, match="SGD: foreach must be None, True or False, got 'yes'"):
        tg.optim.SGD(_params(), lr=0.1, foreach="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf"), 0.0])
def test_clip_grad_norm_foreach_gives_the_total_of_the_per_gradient_norms(norm_type: float) -> None:
    a, b = _params(), _params()
    _set_grads(a, 0)
    _set_grads(b, 0)
    total_a = tg.nn.utils.clip_grad_norm_(a, 0.5, norm_type, foreach=False)
    total_b = tg.nn.utils.clip_grad_norm_(b, 0.5, norm_type, foreach=True)
    np.testing.assert_allclose(total_b.data, total_a.data, rtol=1e-13)
    for p, q in zip(a, b):
        np.testing.assert_allclose(q.grad, p.grad, rtol=1e-13)


@pytest.mark.parametrize("device, shapes, grouped", [
    ("cpu", [(3, 4), (4,)] * 6, False),  # PyTorch's default: foreach on CUDA only
    ("foreign", [(3, 4), (4,)] * 6, True),  # many small parameters: their launches cost more than the copies
    ("foreign", [(3, 4), (4,)] * 4, False),  # 8: CuPy would join them with a copy for each
    ("foreign", [(600, 600), (600,)] * 6, False),  # 1.4 MiB on average: CuPy would join them with a copy for each
])
def test_foreach_none_groups_small_parameters_on_a_device(device: str, shapes: list[tuple[int, ...]],
                                                          grouped: bool) -> None:
    params = [Tensor(np.ones(s), requires_grad=True, device=device) for s in shapes]
    opt = tg.optim.SGD(params, lr=0.1)
    _set_grads(params, 0)
    opt.step()
    assert bool(opt._flat_groups) is grouped


def test_a_frozen_parameter_is_left_out_of_the_foreach_step() -> None:
    loop_params, grouped_params = _params(), _params()
    for params in (loop_params, grouped_params):
        params[3].requires_grad_(False)  # frozen: still in the group, never stepped
    loop = tg.optim.AdamW(loop_params, lr=0.01, foreach=False)
    grouped = tg.optim.AdamW(grouped_params, lr=0.01, foreach=True)
    before = grouped_params[3].data.copy()
    for step in range(3):
        _set_grads(loop_params, step)
        _set_grads(grouped_params, step)
        loop.step()
        grouped.step()
    assert len(grouped._flat_groups) == 1 and len(next(iter(grouped._flat_groups.values())).params) == len(SHAPES) - 1
    np.testing.assert_array_equal(grouped_params[3].data, before)
    _assert_same(loop_params, grouped_params, loop, grouped)


class _LayerwiseSGD(tg.optim.Optimizer):
    """A rule that looks at the whole parameter (LARS's trust ratio, simplified): lr * |p| / |g| * g."""

    def __init__(self, params: Any, lr: float) -> None:
        super().__init__(params, dict(lr=lr))

    def _update(self, p: Any, g: Any, group: Any, state: Any) -> None:
        ratio = np.sqrt(np.sum(p.data * p.data)) / (np.sqrt(np.sum(g * g)) + 1e-12)
        p.data -= group["lr"] * ratio * g


def test_an_optimizer_without_foreach_is_never_grouped() -> None:
    """A grouped step would give LARS's ratio the norm of the whole group instead of each parameter's."""
    params = _params("foreign")  # many small parameters on a device: what foreach=None would group
    expected = [to_host(p.data) for p in params]
    opt = _LayerwiseSGD(params, lr=0.1)
    _set_grads(params, 0)
    grads = [to_host(p.grad) for p in params]
    opt.step()
    assert not opt._flat_groups
    for p, p0, g in zip(params, expected, grads):
        ratio = np.sqrt(np.sum(p0 * p0)) / (np.sqrt(np.sum(g * g)) + 1e-12)
        np.testing.assert_allclose(to_host(p.data), p0 - 0.1 * ratio * g, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_mix_of_foreach_steps_gives_the_per_parameter_numbers(data: st.DataObject) -> None:
    """Drawn: an optimizer, shapes, frozen parameters, which parameters lack a gradient at each step, and
    steps that switch foreach off or reload the state from a state_dict; always the per-parameter numbers."""
    config = data.draw(st.sampled_from(list(CONFIGS)), label="optimizer")
    make, hyper = CONFIGS[config]
    shapes = data.draw(st.lists(st.sampled_from([(), (1,), (3,), (2, 3), (4, 1, 2)]), min_size=1, max_size=12),
                       label="shapes")
    frozen = data.draw(st.sets(st.integers(0, len(shapes) - 1), max_size=2), label="frozen")
    rng = np.random.default_rng(0)
    start = [rng.normal(size=s) for s in shapes]
    loop_params = [Tensor(a.copy(), requires_grad=True) for a in start]
    grouped_params = [Tensor(a.copy(), requires_grad=True) for a in start]
    for i in frozen:
        loop_params[i].requires_grad_(False)
        grouped_params[i].requires_grad_(False)
    loop = make(loop_params, foreach=False, **hyper)
    grouped = make(grouped_params, foreach=True, **hyper)
    for step in range(data.draw(st.integers(1, 6), label="steps")):
        what = data.draw(st.sampled_from(["foreach", "foreach", "foreach", "per parameter", "reload"]))
        if what == "reload":
            saved = grouped.state_dict()
            grouped = make(grouped_params, foreach=True, **hyper)
            grouped.load_state_dict(saved)
        grouped.param_groups[0]["foreach"] = what != "per parameter"
        missing = data.draw(st.sets(st.integers(0, len(shapes) - 1), max_size=2), label="without a gradient")
        for params in (loop_params, grouped_params):
            step_rng = np.random.default_rng(100 + step)
            for i, p in enumerate(params):
                g = step_rng.normal(size=p.shape)
                p.grad = None if i in missing else g
        loop.step()
        grouped.step()
        _assert_same(loop_params, grouped_params, loop, grouped)
