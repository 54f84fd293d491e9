"""The engine's promises: the chain-rule sum on any DAG, deep graphs, grad(), retain/release,
create_graph, accumulation, grad mode, memory release, and gradients that never share memory."""

from __future__ import annotations

import gc
import threading
import tracemalloc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value

from .numeric import assert_close, central_differences

# ---------------------------------------------------------------- the post's network: fan-out sums

EDGES = [(1, 3), (1, 4), (2, 3), (2, 4), (3, 6), (4, 6), (4, 7), (5, 6), (5, 7), (6, 9), (7, 9), (8, 9)]


def _post_network(w: dict, x: float) -> dict:
    a = {1: Value(x, requires_grad=False), 2: 1.0, 5: 1.0, 8: 1.0}
    z = {}
    for j in [3, 4, 6, 7, 9]:
        terms = [w[i, j] * a[i] for i, jj in EDGES if jj == j]
        z[j] = terms[0]
        for t in terms[1:]:
            z[j] = z[j] + t
        a[j] = z[j].sigmoid() if j != 9 else z[j]
    return {"a": a, "z": z}


def test_post_network_deltas_sum_over_outgoing_edges() -> None:
    rng = np.random.default_rng(3)
    w = {e: Value(rng.uniform(-1, 1)) for e in EDGES}
    x, y = 0.7, 0.2
    net = _post_network(w, x)
    a, z = net["a"], net["z"]
    loss = (y - a[9]) ** 2
    loss.backward()
    # the post's three steps, written from its formulas with plain floats
    act = {n: (v.data if isinstance(v, Value) else v) for n, v in a.items()}
    sp = {j: act[j] * (1 - act[j]) for j in (3, 4, 6, 7)}
    d9 = -2 * (y - act[9])
    d6, d7 = d9 * w[6, 9].data * sp[6], d9 * w[7, 9].data * sp[7]
    d4 = (d6 * w[4, 6].data + d7 * w[4, 7].data) * sp[4]  # 4 feeds 6 and 7: two terms
    d3 = d6 * w[3, 6].data * sp[3]  # 3 feeds only 6: one term
    deltas = {9: d9, 6: d6, 7: d7, 4: d4, 3: d3}
    for j, d in deltas.items():
        assert z[j].grad == pytest.approx(d, rel=1e-12), f"delta_{j}"
    for i, j in EDGES:
        assert w[i, j].grad == pytest.approx(deltas[j] * act[i], rel=1e-12), f"dL/dw{i}{j}"


def test_input_used_twice_gets_both_slots() -> None:
    x = Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0
    t = Tensor([1.0, -2.0], requires_grad=True)
    (t * t * t).sum().backward()
    assert_close(t.grad, 3 * t.data**2, "d(x^3)")


def test_diamond_and_shared_subexpression() -> None:
    x = Value(0.5)
    s = x.tanh()  # shared by two branches
    out = s * s.exp() + s.sigmoid() * 2.0
    out.backward()
    f = lambda v: np.tanh(v) * np.exp(np.tanh(v)) + 2 / (1 + np.exp(-np.tanh(v)))  # noqa: E731
    assert x.grad == pytest.approx((f(0.5 + 1e-6) - f(0.5 - 1e-6)) / 2e-6, rel=1e-7)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_value_expressions_match_finite_differences(data: st.DataObject) -> None:
    """Random DAGs of scalar ops, nodes reused freely, against central differences."""
    xs0 = data.draw(st.lists(st.floats(-1.5, 1.5), min_size=1, max_size=3))
    steps = data.draw(st.lists(st.tuples(st.sampled_from(["+", "*", "-", "tanh", "sigmoid", "exp/", "sq"]),
                                         st.integers(0, 100), st.integers(0, 100)), min_size=1, max_size=12))

    def build(xs: list) -> Value:
        nodes = list(xs)
        for op, i, j in steps:
            a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
            nodes.append({"+": lambda: a + b, "*": lambda: a * b, "-": lambda: a - b, "tanh": lambda: a.tanh(),
                          "sigmoid": lambda: b.sigmoid(), "exp/": lambda: a.tanh().exp() / (1 + b * b),
                          "sq": lambda: a**2}[op]())
        return nodes[-1]

    values = [Value(x) for x in xs0]
    out = build(values)
    if not isinstance(out, Value) or out.op is None:
        return
    out.backward()
    expected = central_differences(lambda arrays: build([Value(float(a)) for a in arrays]).data,
                                   [np.array(x) for x in xs0])
    for v, e in zip(values, expected):
        assert_close(v.grad, e, "random expression", atol=1e-5)


# ---------------------------------------------------------------- deep graphs, no recursion


def test_200k_value_chain_under_default_recursion_limit() -> None:
    x = Value(1.0)
    y = x
    for i in range(100_000):
        y = y * 1.000001 if i % 2 else y + 0.5  # 200,000 ops with the constants' nodes
    y.backward()
    assert x.grad == pytest.approx(1.000001**50_000, rel=1e-9)


def test_50k_tensor_chain() -> None:
    x = Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y + 1.0
    y.sum().backward()
    assert_close(x.grad, [1.0, 1.0], "chain")


def test_topological_order_puts_inputs_first() -> None:
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = tg.topological_order(e)
    assert set(order) == {a, b, c, d, e}
    for node in order:
        for inp in node.inputs:
            if inp.requires_grad:
                assert order.index(inp) < order.index(node)


# ---------------------------------------------------------------- backward and grad semantics


def test_gradients_accumulate_until_zeroed() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * 3.0).sum().backward()
    assert_close(x.grad, [6.0, 6.0], "two backward calls add up")
    x.grad = None
    (x * 3.0).sum().backward()
    assert_close(x.grad, [3.0, 3.0], "after zeroing")
    v = Value(2.0)
    (v * v).backward()
    (v * v).backward()
    assert v.grad == 8.0


def test_value_backward_adds_to_the_gradients_nodes_already_hold() -> None:
    # a plain scalar backward sums into .grad directly: what was there before must still be added
    x = Value(2.0)
    y = x * x
    z = y + x
    x.grad, y.grad = 0.5, None  # a leaf holding a gradient, a node holding none
    z.backward(retain_graph=True)
    assert (x.grad, y.grad, z.grad) == (0.5 + 5.0, 1.0, 1.0)
    z.backward(gradient=2.0)  # intermediate nodes hold gradients now
    assert (x.grad, y.grad, z.grad) == (0.5 + 5.0 + 10.0, 3.0, 3.0)
    root = x * 3.0
    root.grad = None  # the output itself holding none
    root.backward()
    assert (root.grad, x.grad) == (1.0, 0.5 + 5.0 + 10.0 + 3.0)


def test_second_backward_raises_unless_retained() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"^backward: cannot go .* second time.*retain_graph=True"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"^grad: cannot go .* second time"):  # named by the call made
        tg.grad(y, [x])
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    assert_close(x.grad, [2.0, 4.0] + 2 * np.array([2.0, 4.0]), "retained twice")
    v = Value(1.0)
    w = v.exp()
    w.backward()
    with pytest.raises(RuntimeError, match="second time"):
        w.backward()
    assert w.data == pytest.approx(np.e)  # forward values stay readable after backward
    assert (w.grad, v.grad) == (1.0, pytest.approx(np.e))  # the refused backward changed no .grad
    on_top = w * 3.0  # a new node on a used-up graph: refused before anything accumulates
    with pytest.raises(RuntimeError, match="second time.*'exp' node"):
        on_top.backward()
    assert (on_top.grad, w.grad, v.grad) == (0.0, 1.0, pytest.approx(np.e))


def test_grad_returns_gradients_without_touching_dot_grad() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    w = Tensor([3.0, 4.0], requires_grad=True)
    out = (x * w).sum()
    gx, gw = tg.grad(out, [x, w])
    assert isinstance(gx, np.ndarray)
    assert_close(gx, w.data, "d/dx")
    assert_close(gw, x.data, "d/dw")
    assert x.grad is None and w.grad is None


def test_grad_of_intermediate_and_grad_outputs() -> None:
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 2.0
    y = h.exp()
    (gh,) = tg.grad(y, [h], grad_outputs=np.array([1.0, 0.0, 2.0]))
    assert_close(gh, np.exp(h.data) * [1.0, 0.0, 2.0], "d/dh")


def test_grad_unused_input() -> None:
    x, z = Value(1.0, label="x"), Value(2.0, label="z")
    with pytest.raises(RuntimeError, match="input 1 .*'z'.* not used.*allow_unused=True"):
        tg.grad(x * 3, [x, z])
    gx, gz = tg.grad(x * 3, [x, z], allow_unused=True)
    assert gx == 3.0 and gz is None


def test_hessian_vector_product_of_small_mlp() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 3))
    W1, W2 = rng.normal(size=(3, 4)), rng.normal(size=(4, 1))
    V1, V2 = rng.normal(size=W1.shape), rng.normal(size=W2.shape)

    def loss(w1: Tensor, w2: Tensor) -> Tensor:
        return (((Tensor(X) @ w1).tanh() @ w2).sigmoid() ** 2).mean()

    def directional(w: list) -> Tensor:
        w1, w2 = (a if isinstance(a, Tensor) else Tensor(a, requires_grad=True) for a in w)
        g1, g2 = tg.grad(loss(w1, w2), [w1, w2], create_graph=True)
        return (g1 * V1).sum() + (g2 * V2).sum()

    w1, w2 = Tensor(W1, requires_grad=True), Tensor(W2, requires_grad=True)
    h1, h2 = tg.grad(directional([w1, w2]), [w1, w2])  # H v
    e1, e2 = central_differences(lambda w: directional(w).item(), [W1, W2])
    assert_close(h1, e1, "Hv for W1", atol=1e-6)
    assert_close(h2, e2, "Hv for W2", atol=1e-6)


def test_third_derivative_of_value() -> None:
    x = Value(0.3)
    y = x.tanh()
    (d1,) = tg.grad(y, [x], create_graph=True)
    (d2,) = tg.grad(d1, [x], create_graph=True)
    (d3,) = tg.grad(d2, [x])
    t = np.tanh(0.3)
    assert d3 == pytest.approx(-2 * (1 - t**2) ** 2 + 4 * t**2 * (1 - t**2), rel=1e-10)


def test_backward_create_graph_stores_differentiable_grad() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    assert isinstance(x.grad, Tensor) and x.grad.requires_grad
    (g2,) = tg.grad(x.grad.sum(), [x])
    assert_close(g2, 6 * x.data, "d/dx of 3x^2")


def test_no_grad_records_nothing_and_is_per_thread() -> None:
    x = Tensor([1.0], requires_grad=True)
    with tg.no_grad():
        y = x * 2
        seen_in_thread = []
        t = threading.Thread(target=lambda: seen_in_thread.append((tg.is_grad_enabled(), (x * 2).requires_grad)))
        t.start()
        t.join()
    assert not y.requires_grad and y.op is None and y.inputs == ()
    assert seen_in_thread == [(True, True)]
    assert tg.is_grad_enabled()

    @tg.no_grad()
    def f() -> Tensor:
        with tg.enable_grad():
            return x * 2

    assert f().requires_grad


def test_no_two_grads_share_memory() -> None:
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    (a + b).sum().backward()  # add hands the same gradient to both inputs
    assert not np.shares_memory(a.grad, b.grad)
    a.grad *= 0  # an in-place update of one must not change the other
    assert_close(b.grad, [1, 1, 1], "b.grad untouched")
    seed = np.array([1.0, 2.0, 3.0])
    c = Tensor(np.zeros(3), requires_grad=True)
    c.reshape(3).backward(seed)
    assert not np.shares_memory(c.grad, seed)
    h = (c * 1.0).retain_grad()
    (h + 0.0).sum().backward()
    assert not np.shares_memory(h.grad, c.grad)


def test_retain_grad_on_tensor_intermediate() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3.0).retain_grad()
    k = x * 2.0
    (h * k).sum().backward()
    assert_close(h.grad, k.data, "retained")
    assert k.grad is None


# ---------------------------------------------------------------- memory


def test_dropped_graphs_are_freed_by_refcounting_and_memory_stops_growing() -> None:
    rng = np.random.default_rng(0)
    W = Tensor(rng.normal(size=(8, 16)), requires_grad=True)
    b = Tensor(np.zeros(16), requires_grad=True)
    V = Value(0.5)
    X = rng.normal(size=(32, 8))
    refs: list[weakref.ref] = []
    gc_was = gc.isenabled()
    gc.disable()  # prove that no cycle collector is needed
    tracemalloc.start()
    try:
        sizes = []
        for step in range(2000):
            hidden = (Tensor(X) @ W + b).relu()
            loss = (hidden.sum() * 0.01) ** 2
            s = (V * 2.0).tanh() * V
            loss.backward()
            s.backward()
            W.grad = b.grad = None
            V.grad = 0.0
            if step % 100 == 0:
                refs += [weakref.ref(hidden), weakref.ref(loss), weakref.ref(s)]
            if step in (500, 1999):
                sizes.append(tracemalloc.get_traced_memory()[0])
        del hidden, loss, s
        assert all(r() is None for r in refs), "an old graph node is still alive"
        assert sizes[1] - sizes[0] < 64 * 1024, f"memory grew by {sizes[1] - sizes[0]} bytes after warm-up"
    finally:
        tracemalloc.stop()
        if gc_was:
            gc.enable()
