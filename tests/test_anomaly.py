"""Anomaly mode: the first op that makes NaN or Inf, forward or backward, is named with its shapes and
the line of the user's code that made the node."""

from __future__ import annotations

import inspect
import math
import threading

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value


def this_line() -> int:
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno


def test_forward_names_the_op_the_shapes_and_the_users_line() -> None:
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    zero = Tensor([1.0, 0.0])
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError) as info, np.errstate(divide="ignore"):
        line = this_line(); y = x / zero  # noqa: E702  (the line the error must point at)
    message = str(info.value)
    assert "forward of 'div' made inf" in message
    assert "shape (2, 2) and shape (2,)" in message
    assert f"test_anomaly.py:{line} in test_forward_names_the_op_the_shapes_and_the_users_line" in message
    assert "y = x / zero" in message


def test_without_anomaly_mode_nan_and_inf_propagate_as_in_numpy() -> None:
    x = Tensor([1.0, 0.0], requires_grad=True)
    with np.errstate(all="ignore"):
        y = (x / Tensor([1.0, 0.0])).sum()
    assert math.isnan(y.item())
    big = Value(800.0)
    assert big.exp().data == math.inf


def test_only_the_first_op_is_blamed_not_those_that_inherit_a_nan() -> None:
    x = Tensor([np.inf, 1.0], requires_grad=True)  # already not finite: no op made it
    with tg.detect_anomaly():
        y = (x * 2.0).tanh()  # inf in, inf/1 out: not this op's doing
    assert y.data[0] == 1.0


def test_backward_names_the_op_the_input_and_where_the_node_was_made() -> None:
    x = Tensor([4.0, 0.0], requires_grad=True)
    with tg.detect_anomaly():
        line = this_line(); root = x ** 0.5  # noqa: E702  d/dx sqrt(x) is inf at 0
        loss = root.sum()
        with pytest.raises(tg.AnomalyError) as info, np.errstate(all="ignore"):
            loss.backward()
    message = str(info.value)
    assert "backward of 'pow' made a non-finite gradient for its input 0" in message
    assert "shape (2,) and shape () (value 0.5)" in message
    assert f"test_anomaly.py:{line}" in message and "root = x ** 0.5" in message


def test_backward_of_a_node_made_outside_anomaly_mode_says_so() -> None:
    v = Value(0.0)
    r = v ** 0.5  # made outside detect_anomaly: its place is unknown
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError, match="made outside detect_anomaly"):
        r.backward()


def test_second_order_gradients_are_checked_too() -> None:
    x = Value(0.0, label="x")
    with tg.detect_anomaly():
        y = x * x + 1.0
        (dy,) = tg.grad(y, [x], create_graph=True)  # 2x: finite
        (d2y,) = tg.grad(dy, [x])
    assert d2y == 2.0
    with tg.detect_anomaly():
        s = x ** 1.5  # first derivative finite (0), second infinite at 0
        (ds,) = tg.grad(s, [x], create_graph=True)
        with pytest.raises(tg.AnomalyError, match="backward of 'pow'"), np.errstate(all="ignore"):
            tg.grad(ds, [x])


def test_nothing_is_checked_or_recorded_under_no_grad_and_the_mode_nests() -> None:
    with tg.detect_anomaly():
        with tg.no_grad():
            assert not tg.is_grad_enabled()
            y = Value(800.0, requires_grad=True).exp()  # not recorded: nothing to check
        assert tg.is_grad_enabled() and y.data == math.inf
    assert tg.is_grad_enabled()
    with tg.no_grad(), tg.detect_anomaly():
        assert not tg.is_grad_enabled()


def test_anomaly_mode_is_per_thread() -> None:
    seen: list[str] = []

    def other_thread() -> None:
        z = Value(800.0, requires_grad=True).exp()  # this thread is not in anomaly mode
        seen.append(str(z.data))

    with tg.detect_anomaly():
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    assert seen == ["inf"]


def test_as_a_decorator() -> None:
    @tg.detect_anomaly()
    def blow_up(v: Value) -> Value:
        return v.exp()

    with pytest.raises(tg.AnomalyError, match="'exp'"):
        blow_up(Value(1000.0))
    assert Value(1000.0).exp().data == math.inf  # and outside it, no check
