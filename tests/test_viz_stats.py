"""graph_stats: counts of a recorded graph against closed forms and hand counts.

Truth comes from outside the counter: layer sizes (n*k*m for every matmul), hand counts of tiny
expressions, `nbytes` of the arrays written out, and the agreement of two different graphs (the
scalar and the Tensor MLP) that compute the same function.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value
from tinygrad_edu.nn import MLP, ScalarMLP
from tinygrad_edu.nn import functional as F
from tinygrad_edu.viz.stats import GraphStats, graph_stats

B = 5


def mlp_loss(sizes: list[int], batch: int, x_requires_grad: bool = False) -> tuple[MLP, Tensor, Tensor]:
    model = MLP(sizes, rng=0)
    x = Tensor(np.random.default_rng(1).normal(size=(batch, sizes[0])), requires_grad=x_requires_grad)
    loss = F.mse_loss(model(x), np.zeros((batch, sizes[-1])))
    return model, x, loss


# --------------------------------------------------------------------------- Tensor MLP


def test_mlp_parameters_and_linear_macs_have_closed_forms() -> None:
    model, _, loss = mlp_loss([4, 8, 3], B)
    s = graph_stats(loss, model, batch=B)
    assert s.parameters == model.num_parameters() == 4 * 8 + 8 + 8 * 3 + 3
    assert s.forward_macs_by_op["linear"] == s.forward_macs == B * (4 * 8 + 8 * 3)
    # x needs no grad: the first layer's product sends a gradient only to W1 (1 matmul), the second to W2 and h (2)
    assert s.backward_macs_by_op["linear"] == s.backward_macs == B * 4 * 8 + 2 * B * 8 * 3
    # bias add + relu on (B, 8), bias add on (B, 3), then mse_loss: sub, square and mean of the (B, 3) error
    assert s.forward_elementwise == B * 8 + B * 8 + B * 3 + 3 * B * 3
    assert s.input_elements == 0
    assert s.constant_elements == B * 4 + B * 3  # x, the target


def test_mlp_node_counts_by_op() -> None:
    _, _, loss = mlp_loss([4, 8, 3], B)
    s = graph_stats(loss)
    expected = {"leaf": 4, "constant": 2, "linear": 2, "relu": 1, "mse_loss": 1}  # a Linear is one node, mse_loss too
    assert dict(s.by_op) == expected
    assert s.nodes == sum(expected.values())


def test_backward_is_twice_forward_when_every_matmul_input_needs_grad() -> None:
    model, x, loss = mlp_loss([4, 8, 3], B, x_requires_grad=True)
    s = graph_stats(loss, model, batch=B)
    assert s.backward_macs == 2 * s.forward_macs == 2 * B * (4 * 8 + 8 * 3)
    assert s.parameters == model.num_parameters()
    assert s.input_elements == x.size == B * 4  # x requires grad but is not a parameter
    everything = graph_stats(loss)  # without params every leaf that requires grad is a parameter
    assert everything.parameters == model.num_parameters() + B * 4
    assert everything.input_elements == 0
    as_list = graph_stats(loss, model.parameters())
    assert (as_list.parameters, as_list.input_elements) == (s.parameters, s.input_elements)


def test_rules_of_thumb_on_an_mlp() -> None:
    sizes, batch = [4, 8, 3], B
    model, _, loss = mlp_loss(sizes, batch)
    s = graph_stats(loss, model, batch=batch)
    weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
    # forward: 1 MAC per weight per example, so FLOPs per parameter per example near 2
    assert s.forward_macs == weights * batch
    assert s.macs_per_parameter_per_example() == pytest.approx(weights / model.num_parameters())
    assert 1.8 < s.flops_per_parameter_per_example() < 2.2
    assert s.flops_per_parameter_per_example(1) == pytest.approx(batch * s.flops_per_parameter_per_example())
    # training: forward + backward; below 3 here only because x needs no gradient
    macs_ratio = (weights + 4 * 8 + 2 * 8 * 3) / weights
    assert (s.forward_macs + s.backward_macs) / s.forward_macs == pytest.approx(macs_ratio)
    assert 2.2 < s.training_ratio < 3.0
    assert s.training_ratio == pytest.approx(s.training_flops / s.forward_flops)


def test_rules_of_thumb_on_a_wider_mlp_come_out_near_2_and_3() -> None:
    sizes, batch = [64, 128, 128, 10], 16
    model, _, loss = mlp_loss(sizes, batch, x_requires_grad=True)
    s = graph_stats(loss, model, batch=batch)
    assert s.flops_per_parameter_per_example() == pytest.approx(2.0, abs=0.05)
    assert s.training_ratio == pytest.approx(3.0, abs=0.05)
    assert s.backward_ratio == pytest.approx(2.0, abs=0.05)


def test_batched_and_vector_matmuls() -> None:
    x = Tensor(np.ones((2, 3, 4)), requires_grad=True)
    y = Tensor(np.ones((4, 5)), requires_grad=True)
    s = graph_stats(x @ y)
    assert s.forward_macs == 2 * 3 * 4 * 5
    assert s.backward_macs == 2 * (2 * 3 * 4 * 5)
    v = Tensor(np.ones(4))  # a constant vector: only y gets a gradient
    s = graph_stats(v @ y)
    assert (s.forward_macs, s.backward_macs) == (4 * 5, 4 * 5)


# --------------------------------------------------------------------------- Value graphs


def test_tiny_expression_by_hand() -> None:
    a, b = Value(2.0), Value(-3.0)
    s = graph_stats((a * b + b**2).tanh())
    assert dict(s.by_op) == {"leaf": 2, "constant": 1, "mul": 1, "pow": 1, "add": 1, "tanh": 1}
    assert s.nodes == 7
    assert s.parameters == 2 and s.constant_elements == 1
    assert s.forward_macs == 1  # a*b feeds the add: one multiply-accumulate
    assert s.forward_elementwise == 2  # b**2 and tanh (the add is the MAC's accumulate)
    assert s.backward_macs == 2  # a and b both need grad
    assert s.backward_elementwise == 2  # b**2 to b, tanh to its input
    assert s.saved_bytes == 8 * 7  # a, b, 2, a*b, b**2, the sum, tanh: seven floats


def test_a_multiply_with_no_add_is_no_mac() -> None:
    a, b = Value(2.0), Value(3.0)
    s = graph_stats(a * b)
    assert (s.forward_macs, s.forward_elementwise, s.backward_elementwise) == (0, 1, 2)


def test_scalar_mlp_macs_equal_its_weights() -> None:
    sizes = [3, 4, 1]
    model = ScalarMLP(sizes, rng=0)
    s = graph_stats(model([1.0, -2.0, 0.5]), model)
    weights = 3 * 4 + 4 * 1
    assert s.forward_macs == weights
    assert s.by_op["mul"] == weights
    assert s.parameters == model.num_parameters() == weights + 4 + 1
    assert s.backward_macs == 3 * 4 + 2 * 4 * 1  # the first layer's inputs are numbers: no gradient
    assert 1.8 < s.flops_per_parameter_per_example() < 2.2


def test_scalar_and_tensor_mlp_count_the_same_work() -> None:
    sizes = [3, 4, 4, 2]
    scalar, tensor = ScalarMLP(sizes, rng=0), MLP(sizes, rng=0)
    x = [0.5, -1.0, 2.0]
    out = scalar(x)
    s = graph_stats(out[0] + out[1], scalar)
    t_out = tensor(Tensor([x]))
    t = graph_stats(t_out[0, 0] + t_out[0, 1], tensor)
    assert np.allclose(t_out.data[0], [o.data for o in out])  # the same function
    for name in ("parameters", "forward_macs", "forward_elementwise", "backward_macs", "backward_elementwise"):
        assert getattr(s, name) == getattr(t, name), name


def test_a_100000_deep_value_graph_needs_no_recursion() -> None:
    n = 100_000
    x = Value(0.5)
    y = x
    for _ in range(n):
        y = y * 0.9999 + 0.001
    s = graph_stats(y)
    assert s.nodes == 1 + 4 * n  # x, then per step a constant, a mul, a constant and an add
    assert s.by_op["mul"] == s.by_op["add"] == n and s.by_op["constant"] == 2 * n
    assert s.forward_macs == s.backward_macs == n and s.forward_elementwise == 0


# --------------------------------------------------------------------------- saved bytes


def test_saved_bytes_of_a_small_tensor_graph() -> None:
    x = Tensor(np.ones((3, 4)), requires_grad=True)
    w = Tensor(np.ones((2, 4)), requires_grad=True)
    unused = Tensor(np.ones(1000), requires_grad=True)  # not in the graph: not counted
    y = (x @ w.T).tanh().sum()
    s = graph_stats(y)
    # x, w (w.T is a view of it), x @ w.T (3, 2), tanh (3, 2), the sum (0-d), all float64
    assert s.saved_bytes == 3 * 4 * 8 + 2 * 4 * 8 + 3 * 2 * 8 + 3 * 2 * 8 + 8
    assert s.parameters == x.size + w.size
    del unused


def test_saved_bytes_float32_and_a_constant() -> None:
    x = Tensor(np.ones((10, 3)), requires_grad=True, dtype=np.float32)
    y = (x * 2.0).exp()
    s = graph_stats(y)
    assert y.dtype == np.float32
    assert s.saved_bytes == 30 * 4 + 4 + 30 * 4 + 30 * 4  # x, the constant 2, x*2, exp


def test_saved_bytes_count_arrays_in_params() -> None:
    logits = Tensor(np.zeros((4, 3)), requires_grad=True)
    labels = np.array([0, 2, 1, 0], dtype=np.int64)
    s = graph_stats(tg.cross_entropy(logits, labels))
    # logits, the 0-d loss, the labels the rule reads, and what the forward saved for the rule:
    # the exponentials of the shifted logits and their row sums
    assert s.saved_bytes == 4 * 3 * 8 + 8 + 4 * 8 + 4 * 3 * 8 + 4 * 8


def test_saved_bytes_of_the_mlp_by_hand() -> None:
    _, _, loss = mlp_loss([4, 8, 3], B)
    arrays = [
        B * 4, 8 * 4, 8, B * 8, B * 8,  # x, W1, b1, x @ W1.T + b1, relu
        3 * 8, 3, B * 3,  # W2, b2, h @ W2.T + b2
        B * 3, 1, B * 3,  # target, the loss, the error pred - target that mse_loss saves for its rule
    ]
    assert graph_stats(loss).saved_bytes == 8 * sum(arrays)


# --------------------------------------------------------------------------- surface


def test_str_shows_the_counts_and_ratios() -> None:
    model, _, loss = mlp_loss([4, 8, 3], B)
    s = graph_stats(loss, model, batch=B)
    text = str(s)
    assert f"{s.forward_macs:,}" in text and f"{s.backward_macs:,}" in text and f"{s.training_flops:,}" in text
    assert f"{s.flops_per_parameter_per_example():.2f}" in text and f"{s.training_ratio:.2f}" in text
    assert "linear 2" in text and f"{s.saved_bytes:,} bytes" in text
    assert isinstance(s, GraphStats)


def test_no_parameters_gives_nan_ratios() -> None:
    x = Tensor(np.ones(3), requires_grad=True)
    s = graph_stats((x * x).sum(), params=[])
    assert s.parameters == 0 and s.input_elements == 3
    assert math.isnan(s.flops_per_parameter_per_example())


def test_bad_arguments() -> None:
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="Value or Tensor"):
        graph_stats(np.ones(3))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="params"):
        graph_stats(x * 2, params=[np.ones(3)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="batch"):
        graph_stats(x * 2, batch=0)


def test_several_outputs_are_counted_once() -> None:
    a = Value(1.0)
    b = a * 2.0
    s = graph_stats([b, b + 1.0])
    assert s.nodes == 5 and s.forward_macs == 1
