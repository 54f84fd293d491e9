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
