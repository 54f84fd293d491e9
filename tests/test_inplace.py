"""In-place changes: the ones the library offers are recorded, and a backward that would read a changed
value is refused, naming the op and the input, instead of giving a silently wrong gradient."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value

from .numeric import assert_close


def test_an_optimizer_step_before_a_retained_backward_is_refused() -> None:
    w = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, label="w")
    x = Tensor([[1.0, -1.0]])
    loss = (x @ w).sum()  # matmul reads w to give x its gradient
    loss.backward(retain_graph=True)
    tg.optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match=r"input 1 of a 'matmul' node \(Tensor 'w' of shape \(2, 2\)\) was changed in place"):
        loss.backward()
    assert_close(w.grad, [[1.0, 1.0], [-1.0, -1.0]], "the refused backward changed no .grad")


def test_a_rule_that_does_not_read_the_changed_input_still_runs() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([5.0, 6.0], requires_grad=True)
    loss = (w + x).sum()  # add's rule reads neither input
    loss.backward(retain_graph=True)
    with tg.no_grad():
        w += 1.0
    loss.backward()
    assert_close(x.grad, [2.0, 2.0], "two backwards through add")


def test_setitem_on_a_saved_constant_is_caught() -> None:
    w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = Tensor([1.0, 1.0, 1.0], label="batch")
    loss = (w * x).sum()  # mul's rule for w reads x
    x[0] = 10.0
    with pytest.raises(RuntimeError, match=r"input 1 of a 'mul' node \(Tensor 'batch' of shape \(3,\)\)"):
        loss.backward()
    assert w.grad is None


def test_a_view_of_a_changed_leaf_is_caught_too() -> None:
    x = Tensor(np.arange(6.0).reshape(2, 3), label="x")
    w = Tensor(np.ones(3), requires_grad=True)
    row = x[1]  # basic indexing: a view of x's memory
    loss = (row * w).sum()
    x[1, 0] = 100.0  # changes row as well
    with pytest.raises(RuntimeError, match="was changed in place"):
        loss.backward()


def test_changing_after_backward_or_recomputing_after_the_change_is_fine() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    opt = tg.optim.SGD([w], lr=0.5)
    for _ in range(3):  # the usual loop: forward, backward, step
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        opt.step()
    assert_close(w.data, [0.0, 0.0], "w - 0.5 * 2w = 0 after the first step")


def test_value_optimizer_steps_are_tracked_too() -> None:
    w = Value(3.0, label="w")
    loss = w * w
    loss.backward(retain_graph=True)
    tg.optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match=r"input 0 of a 'mul' node \(Value 'w'"):
        loss.backward()


def test_in_place_operators_change_leaves_and_leave_graphs_alone() -> None:
    t = Tensor([1.0, 2.0])
    same = t
    t += 1.0
    t *= Tensor([2.0, 3.0])
    t -= 1
    t /= 2
    assert same is t and t.data.tolist() == [1.5, 4.0]
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = a * 2  # made by an op: += gives a new tensor, so the graph keeps the old one
    old = b
    b += 1.0
    assert b is not old and old.data.tolist() == [2.0, 4.0] and b.data.tolist() == [3.0, 5.0]
    b.sum().backward()
    assert_close(a.grad, [2.0, 2.0], "through the out-of-place +=")


def test_in_place_changes_that_would_hide_from_the_graph_are_refused() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"t \+= v: this leaf requires grad.*no_grad"):
        w += 1.0
    with pytest.raises(RuntimeError, match=r"t\[\.\.\.\] = v: this leaf requires grad"):
        w[0] = 5.0
    with tg.no_grad():
        w[0] = 5.0
    assert w.data.tolist() == [5.0, 2.0]
    made = (w * 1.0).detach() * 1.0  # a constant made by an op under no grad? No: detach gives a leaf
    made[0] = 0.0  # a plain constant tensor: fine
    with pytest.raises(ValueError, match=r"\+= on a tensor of shape \(2,\) and \(3,\)"):
        with tg.no_grad():
            w += np.ones(3)
    with pytest.raises(IndexError, match=r"setitem on a tensor of shape \(2,\)"):
        made[5] = 1.0


def test_gradient_flow_refuses_changed_values_too() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0, 4.0])
    loss = (w * x).sum()
    x[1] = 0.0
    with pytest.raises(RuntimeError, match="^gradient_flow: input 1 of a 'mul' node .* changed in place"):
        tg.gradient_flow(loss)


# ---- writes the library cannot see (straight into .data): caught in anomaly mode by fingerprints


def test_anomaly_mode_catches_a_write_into_data() -> None:
    with tg.detect_anomaly():
        w = Tensor(np.ones((2, 2)), requires_grad=True, label="w")
        y = (w * 3.0).sum()
        w.data[0, 0] = 5.0  # NumPy's own write: no in-place operator of ours saw it
        with pytest.raises(RuntimeError, match=r"backward: input 0 of a 'mul' node \(Tensor 'w' of shape \(2, 2\)\) "
                                               r"was changed .* does not see .*created at .*test_inplace.py"):
            y.backward()
        assert w.grad is None  # refused before anything changed
        np.copyto(w.data, 2.0)  # any NumPy write counts, however it is made
        z = (w * w).sum()
        z.backward(retain_graph=True)  # unchanged since the node was made: fine
        assert_close(w.grad, 2 * w.data, "after recomputing")
        w.data[...] = 0.0
        with pytest.raises(RuntimeError, match="^grad: input 0 of a 'mul' node"):
            tg.grad(z, [w])


def test_anomaly_mode_catches_rebinding_a_values_data() -> None:
    with tg.detect_anomaly():
        v = Value(2.0, label="v")
        z = v * v
        v.data -= 0.1  # micrograd's update, before a backward through the old graph
        with pytest.raises(RuntimeError, match=r"input 0 of a 'mul' node \(Value 'v' of shape \(\)\) was changed"):
            z.backward()
        assert v.grad == 0.0


def test_anomaly_mode_lets_writes_that_no_rule_reads_through() -> None:
    with tg.detect_anomaly():
        x = Tensor([1.0, 2.0], requires_grad=True)
        y = (x + 1.0).sum()  # add's rule reads no input value
        x.data[...] = 7.0
        y.backward()
        assert x.grad.tolist() == [1.0, 1.0]


def test_a_tracked_change_in_anomaly_mode_gets_the_tracked_message() -> None:
    with tg.detect_anomaly():
        w = Tensor([1.0, 2.0], requires_grad=True)
        y = (w * w).sum()
        with tg.no_grad():
            w -= 1.0
        with pytest.raises(RuntimeError, match=r"changed in place after the node saved it \(an optimizer step"):
            y.backward()
