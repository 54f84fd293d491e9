"""Device independence without a GPU: every op of the registry, forward and gradient, and training
steps run on a fake device whose arrays refuse to become NumPy arrays (tests/foreign_array.py); the
same results as on the CPU. The real GPU's tests are marked `gpu` and skip without CuPy and a device."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.device import to_host
from tinygrad_edu.ops import REGISTRY

from .foreign_array import ForeignArray, register
from .numeric import assert_close
from .test_ops_registry import ALL_OPS, SETTINGS, _draw_case

register()


def _host(x: Any) -> np.ndarray:
    assert type(x) is ForeignArray, f"expected an array of the device, got {type(x).__name__}"
    return to_host(x)


def _params_to_device(call: Any) -> None:
    """Array params a case made on the host (max-pool's window index) moved to the device, as the
    forward that makes them in a model would have them: found in the case's closure."""
    for cell in call.__closure__ or ():
        params = cell.cell_contents
        if isinstance(params, dict) and isinstance(params.get("index"), np.ndarray):
            params["index"] = Tensor(params["index"], device="foreign").data


@pytest.mark.parametrize("name", ALL_OPS)
@settings(SETTINGS, max_examples=6)
@given(data=st.data())
def test_every_op_runs_on_a_foreign_device(name: str, data: st.DataObject) -> None:
    case, rng = _draw_case(name, data)
    cpu = [Tensor(a, requires_grad=True) for a in case.inputs]
    dev = [Tensor(a, requires_grad=True, device="foreign") for a in case.inputs]
    out_cpu = case.call(*cpu)
    _params_to_device(case.call)
    out_dev = case.call(*dev)
    assert out_dev.op is REGISTRY[name] and out_dev.device == "foreign"
    assert_close(_host(out_dev.data), out_cpu.data, f"{name}: forward on the device")
    cotangent = rng.normal(size=out_cpu.shape).astype(out_cpu.dtype)
    out_cpu.backward(cotangent)
    out_dev.backward(Tensor(cotangent, device="foreign"))
    for i, (c, d) in enumerate(zip(cpu, dev)):
        assert d.grad.dtype == c.grad.dtype
        assert_close(_host(d.grad), c.grad, f"{name}: gradient of input {i} on the device")


def _train(model: tg.nn.Module, make_optimizer: Any, x: np.ndarray, y: np.ndarray, device: str,
           steps: int = 3) -> tuple[list[float], dict[str, np.ndarray]]:
    """A few steps of training on `device`: the losses and the final parameters, on the host."""
    model.to(device)
    opt = make_optimizer(model.parameters())
    sched = tg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    xs, losses = Tensor(x, device=device), []
    for _ in range(steps):
        opt.zero_grad()
        loss = tg.cross_entropy(model(xs), y)
        loss.backward()
        tg.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    for p in model.parameters():
        assert p.device == device and (p.grad is None or type(p.grad) is type(p.data)), "a parameter left its device"
    return losses, {k: tg.device.to_host(v) for k, v in model.state_dict().items()}


def _mlp() -> tg.nn.Module:
    return tg.nn.Sequential(tg.nn.Linear(6, 8, rng=0), tg.nn.ReLU(), tg.nn.Linear(8, 3, rng=1))


def _cnn() -> tg.nn.Module:
    return tg.nn.Sequential(tg.nn.Conv2d(1, 3, 3, padding=1, rng=0), tg.nn.ReLU(), tg.nn.MaxPool2d(2),
                            tg.nn.Flatten(), tg.nn.Linear(12, 3, rng=1))


@pytest.mark.parametrize("make_model, shape", [(_mlp, (5, 6)), (_cnn, (5, 1, 4, 4))], ids=["mlp", "cnn"])
@pytest.mark.parametrize("optimizer", ["SGD", "AdamW"])
def test_a_training_step_on_a_foreign_device_matches_the_cpu(make_model: Any, shape: Any, optimizer: str) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=shape), rng.integers(0, 3, shape[0])
    make = (lambda ps: tg.optim.SGD(ps, lr=0.1, momentum=0.9)) if optimizer == "SGD" else \
        (lambda ps: tg.optim.AdamW(ps, lr=0.01, weight_decay=0.1))
    cpu_losses, cpu_state = _train(make_model(), make, x, y, "cpu")
    dev_losses, dev_state = _train(make_model(), make, x, y, "foreign")
    np.testing.assert_allclose(dev_losses, cpu_losses, rtol=1e-12)
    for k in cpu_state:
        np.testing.assert_allclose(dev_state[k], cpu_state[k], rtol=1e-10, atol=1e-12, err_msg=k)
