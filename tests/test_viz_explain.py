"""explain and trace_backward: the chain rule written out, with numbers that are the true gradients."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from tinygrad_edu import Tensor, Value
from tinygrad_edu.viz import explain, trace_backward

from .numeric import central_differences
from .test_network import post_network

NUMBER = r"(-?\d[\d.e+-]*)"


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def posts_loss_of_a4(net, a3: float, a4: float, y: float) -> float:
    """The post's network above neuron 4, by hand: L as a function of a4 (identity output)."""
    w = {e: net.w[e].data for e in net.w}
    a6 = sigmoid(w[3, 6] * a3 + w[4, 6] * a4 + w[5, 6])
    a7 = sigmoid(w[4, 7] * a4 + w[5, 7])
    a9 = w[6, 9] * a6 + w[7, 9] * a7 + w[8, 9]
    return (y - a9) ** 2


def test_explain_neuron_4_is_the_posts_two_term_sum_with_true_numbers() -> None:
    net = post_network(rng=2)
    x, y = 0.7, 0.2
    z, a = net.evaluate(x)
    loss = (y - a[9]) ** 2
    loss.backward()
    text = explain(a[4], precision=12)
    first = text.splitlines()[0]
    pattern = (rf"dL/da4 = dL/dz6 × w4,6 \+ dL/dz7 × w4,7 = {NUMBER} × {NUMBER} \+ {NUMBER} × {NUMBER} = {NUMBER}$")
    match = re.match(pattern, first)
    assert match, first
    d6, w46, d7, w47, total = map(float, match.groups())
    assert d6 == pytest.approx(z[6].grad, rel=1e-10) and d7 == pytest.approx(z[7].grad, rel=1e-10)
    assert w46 == pytest.approx(net.w[4, 6].data, rel=1e-10) and w47 == pytest.approx(net.w[4, 7].data, rel=1e-10)
    assert total == pytest.approx(d6 * w46 + d7 * w47, rel=1e-10)
    # the truth, independently: finite differences of the loss written by hand as a function of a4
    (truth,) = central_differences(lambda v: posts_loss_of_a4(net, a[3].data, float(v[0]), y), [np.array(a[4].data)])
    assert total == pytest.approx(float(truth), rel=1e-6)
    assert len(text.splitlines()) == 3  # one line per edge leaving a4


def test_explain_uses_the_latest_backward_unless_told() -> None:
    a = Value(3.0, label="a")
    first = a * a
    first.backward()
    assert explain(a).splitlines()[0] == "dL/da = dL/d(a*a) × (a + a) = 1 × 6 = 6"  # x*x: one edge, two slots
    other = Value(1.0, label="o") * 5
    with pytest.raises(ValueError, match="not part of the graph"):
        explain(a, other)
    second = (a * 2.0).tanh()
    second.backward()
    assert explain(a).splitlines()[0].endswith(f"= {2 * (1 - math.tanh(6.0) ** 2):.4g}")


def test_explain_refuses_what_it_cannot_explain() -> None:
    import threading

    errors = []

    def fresh_thread() -> None:  # no backward has run in a new thread
        try:
            explain(Value(1.0))
        except ValueError as e:
            errors.append(str(e))

    t = threading.Thread(target=fresh_thread)
    t.start()
    t.join()
    assert errors and "no backward() has run in this thread" in errors[0]
    x = Value(2.0, label="x")
    c = Value(5.0, requires_grad=False, label="c")
    out = x * c
    with pytest.raises(ValueError, match="'c' does not require grad"):
        explain(c, out)


def test_explain_tensors_summarises_arrays() -> None:
    w = Tensor(np.array([[0.5, -1.0], [2.0, 0.25]]), requires_grad=True, label="W")
    h = (Tensor(np.ones((3, 2))) @ w).tanh()
    loss = (h * h).sum() + h.sum()
    loss.backward()
    text = explain(h)
    assert text.startswith("dL/dtanh") and "+" in text.splitlines()[0]  # two edges leave h
    assert "min" in text or "[" in text


def test_trace_backward_follows_the_posts_three_steps() -> None:
    net = post_network(rng=1)
    z, a = net.evaluate(0.3)
    loss = (0.9 - a[9]) ** 2
    loss.backward()
    text = trace_backward(loss, network=net, precision=10)
    titles = [line for line in text.splitlines() if line and not line.startswith(" ")]
    steps = [t.split(":")[0] for t in titles if t.startswith("Step")]
    assert steps == ["Step 1", "Step 2", "Step 2", "Step 3"]
    assert titles.index(next(t for t in titles if "layer 3" in t)) < titles.index(next(t for t in titles if "layer 2" in t))
    for (i, j), w in net.w.items():  # step 3: every weight, dL/dw_ij = delta_j * a_i, with the engine's numbers
        line = next(line for line in text.splitlines() if line.strip().startswith(f"dL/dw{i},{j} = "))
        assert line.strip().startswith(f"dL/dw{i},{j} = dL/dz{j} × a{i} = ")
        assert float(line.rsplit("= ", 1)[1]) == pytest.approx(w.grad, rel=1e-8)
    # step 2 for neuron 4: the sum over the two edges leaving it
    assert re.search(r"dL/da4 = dL/dz6 × w4,6 \+ dL/dz7 × w4,7 = ", text)
    assert "partial sums not shown" in text


def test_trace_backward_markdown_is_a_table_per_step() -> None:
    net = post_network(rng=1)
    _, a = net.evaluate(0.3)
    loss = (0.9 - a[9]) ** 2
    loss.backward()
    md = trace_backward(loss, network=net, markdown=True)
    assert md.count("### Step") == 4
    assert "| gradient | chain rule | value |" in md
    assert re.search(r"\| dL/da4 \| dL/dz6 × w4,6 \+ dL/dz7 × w4,7 \| ", md)
    assert explain(a[4], markdown=True).startswith("| gradient | chain rule | value |")


def test_trace_backward_without_a_network_lists_every_step_then_the_parameters() -> None:
    x = Value(0.5, label="x")
    w = Value(-1.5, label="w")
    y = (w * x).sigmoid()
    y.label = "y"
    text = trace_backward(y)
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "Backward, in reverse topological order"
    assert lines[1] == "dL/dy = 1"
    assert lines[2].startswith("dL/d(w*x) = dL/dy × s(1 - s) = ")
    assert lines.index("Parameters (leaves)") > 2
    dw = next(line for line in lines if line.startswith("dL/dw = "))
    assert dw.startswith("dL/dw = dL/d(w*x) × x = ")
    s = 1 / (1 + math.exp(0.75))
    assert float(dw.rsplit("= ", 1)[1]) == pytest.approx(s * (1 - s) * 0.5, rel=1e-3)
