"""Memory: a graph that is dropped is freed at once by reference counting, with the cyclic garbage
collector switched off, and a long training run does not accumulate memory.

How it is checked, without timing anything:
* weak references to every node of a graph: after the graph's output is dropped (with `gc.disable()`,
  so nothing but reference counting can free it) each of them must be dead, after every way of using a
  graph: backward, retain_graph, create_graph, tg.grad, gradient_flow, gradcheck, the drawings and
  explanations, optimizer steps;
* a census of the Tensors and Values the cyclic collector tracks: a training step leaves none behind,
  and `gc.collect()` then finds none of ours to free (so there was no reference cycle through a node);
* tracemalloc over a few hundred training steps after warm-up: the memory held does not grow.
* tracemalloc around one backward: a weight's fresh gradient becomes its .grad without a copy.

The one reference cycle that exists is the user's, as in PyTorch: after `backward(create_graph=True)`
a leaf's `.grad` is a graph that refers to the leaf itself. `zero_grad()` (or `.grad = None`) breaks it;
a test below shows that it does.
"""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value, nn, optim
from tinygrad_edu.engine import Node

# --------------------------------------------------------------------------- helpers


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    """Only reference counting frees memory inside the test (the engine's own pauses keep it off)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def every_node(*roots: Any) -> list[Node]:
    """Every node reachable from the roots through their inputs (whether or not it requires grad)."""
    seen: dict[int, Node] = {}
    stack = [r for r in roots if isinstance(r, Node)]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            stack.extend(node.inputs)
    return list(seen.values())


def weak(nodes: Iterable[Node]) -> list[weakref.ref[Node]]:
    return [weakref.ref(n) for n in nodes]


def alive(refs: list[weakref.ref[Node]]) -> list[str]:
    """What is still alive, described (op and type), for a readable failure."""
    out = []
    for ref in refs:
        node = ref()
        if node is not None:
            out.append(f"{type(node).__name__}({node.op.name if node.op else 'leaf'!s}, label={node.label!r})")
    return out


def tracked_nodes() -> int:
    """How many Tensors and Values the cyclic collector tracks right now (by type(), which reads no
    attribute: isinstance asks for __class__, and torch's lazy modules warn when asked, once imported)."""
    return sum(1 for obj in gc.get_objects() if issubclass(type(obj), Node))


def tensor_model() -> tuple[nn.Module, Tensor, Tensor]:
    rng = np.random.default_rng(0)
    model = nn.MLP([4, 8, 8, 1], rng=0)
    return model, Tensor(rng.standard_normal((8, 4))), Tensor(rng.standard_normal((8, 1)))


def scalar_model() -> tuple[nn.Module, list[list[float]], list[float]]:
    return nn.ScalarMLP([2, 3, 1], rng=0, activation="tanh"), [[0.5, -1.0], [1.0, 2.0], [-0.5, 0.0]], [1.0, -1.0, 0.5]


def tensor_loss(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    return nn.functional.mse_loss(model(x), y)


def scalar_loss(model: nn.Module, xs: list[list[float]], ys: list[float]) -> Value:
    loss = Value(0.0)
    for x, y in zip(xs, ys):
        loss = loss + (model(x) - y) ** 2
    return loss


# --------------------------------------------------------------------------- (a) dropped graphs die at once

# Each use builds a graph from the model's parameters, uses it, and returns what a user would hold on
# to (the loss, a gradient, a drawing). The test then drops that and checks every node has died.


def t_forward(m: Any, x: Any, y: Any) -> Any:
    return tensor_loss(m, x, y)


def t_backward(m: Any, x: Any, y: Any) -> Any:
    loss = tensor_loss(m, x, y)
    loss.backward()
    return loss


def t_retain_graph(m: Any, x: Any, y: Any) -> Any:
    loss = tensor_loss(m, x, y)
    loss.backward(retain_graph=True)
    loss.backward()
    return loss


def t_grad(m: Any, x: Any, y: Any) -> Any:
    loss = tensor_loss(m, x, y)
    return loss, tg.grad(loss, m.parameters())


def t_second_order(m: Any, x: Any, y: Any) -> Any:
    loss = tensor_loss(m, x, y)
    grads = tg.grad(loss, m.parameters(), create_graph=True)
    penalty = sum(((g * g).sum() for g in grads), Tensor(0.0))
    return loss, grads, penalty, tg.grad(penalty, m.parameters(), allow_unused=True)


def t_gradient_flow(m: Any, x: Any, y: Any) -> Any:
    loss = tensor_loss(m, x, y)
    loss.backward(retain_graph=True)
    return loss, tg.gradient_flow(loss)


def t_pictures(m: Any, x: Any, y: Any) -> Any:
    loss = tensor_loss(m, x, y)
    loss.backward()
    first = m.parameters()[0]
    return loss, tg.draw_graph(loss), tg.explain(first, loss), tg.graph_stats(loss, m), tg.trace_backward(loss)


def t_sgd_steps(m: Any, x: Any, y: Any) -> Any:
    opt = optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    for _ in range(3):
        loss = tensor_loss(m, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss, opt


def t_adam_steps(m: Any, x: Any, y: Any) -> Any:
    opt = optim.Adam(m.parameters(), lr=0.01)
    for _ in range(3):
        loss = tensor_loss(m, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss, opt


def t_no_grad(m: Any, x: Any, y: Any) -> Any:
    with tg.no_grad():
        return tensor_loss(m, x, y)


def t_raising_backward(m: Any, x: Any, y: Any) -> Any:
    """A backward that fails halfway (a used-up graph) must not leave anything holding the graph."""
    loss = tensor_loss(m, x, y)
    loss.backward()
    with pytest.raises(RuntimeError):
        loss.backward()
    return loss


def s_backward(m: Any, xs: Any, ys: Any) -> Any:
    loss = scalar_loss(m, xs, ys)
    loss.backward()
    return loss


def s_retain_graph(m: Any, xs: Any, ys: Any) -> Any:
    loss = scalar_loss(m, xs, ys)
    loss.backward(retain_graph=True)
    loss.backward()
    return loss


def s_second_order(m: Any, xs: Any, ys: Any) -> Any:
    loss = scalar_loss(m, xs, ys)
    grads = tg.grad(loss, m.parameters(), create_graph=True)
    penalty = sum((g * g for g in grads), Value(0.0))
    return loss, grads, penalty, tg.grad(penalty, m.parameters())


def s_gradient_flow_and_pictures(m: Any, xs: Any, ys: Any) -> Any:
    loss = scalar_loss(m, xs, ys)
    loss.backward()
    first = m.parameters()[0]
    return loss, tg.gradient_flow(loss), tg.draw_graph(loss), tg.explain(first), tg.trace_backward(loss)


def s_sgd_steps(m: Any, xs: Any, ys: Any) -> Any:
    opt = optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    for _ in range(3):
        loss = scalar_loss(m, xs, ys)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss, opt


TENSOR_USES = [t_forward, t_backward, t_retain_graph, t_grad, t_second_order, t_gradient_flow, t_pictures,
               t_sgd_steps, t_adam_steps, t_no_grad, t_raising_backward]
SCALAR_USES = [s_backward, s_retain_graph, s_second_order, s_gradient_flow_and_pictures, s_sgd_steps]


def check_freed(make: Callable[[], tuple[Any, ...]], use: Callable[..., Any]) -> None:
    model, *data = make()
    held = use(model, *data)
    roots = held if isinstance(held, tuple) else (held,)
    params = weak(model.parameters())
    graph = weak(n for n in every_node(*roots, *_nodes_in(roots)) if n.op is not None)
    assert graph or use in (t_no_grad,), "the use built no graph: the test would check nothing"
    del held, roots
    assert alive(graph) == [], f"{use.__name__}: nodes outlive their graph without the cyclic GC"
    del model, data
    assert alive(params) == [], f"{use.__name__}: the model's parameters outlive it without the cyclic GC"


def _nodes_in(objects: Iterable[Any]) -> list[Node]:
    """Nodes held directly in returned tuples and lists (gradients from tg.grad with create_graph)."""
    found: list[Node] = []
    for obj in objects:
        if isinstance(obj, Node):
            found.append(obj)
        elif isinstance(obj, (tuple, list)):
            found.extend(_nodes_in(obj))
    return found


@pytest.mark.parametrize("use", TENSOR_USES, ids=lambda f: f.__name__)
def test_tensor_graph_is_freed_without_the_cyclic_gc(use: Callable[..., Any], no_cyclic_gc: None) -> None:
    check_freed(tensor_model, use)


@pytest.mark.parametrize("use", SCALAR_USES, ids=lambda f: f.__name__)
def test_value_graph_is_freed_without_the_cyclic_gc(use: Callable[..., Any], no_cyclic_gc: None) -> None:
    check_freed(scalar_model, use)


def t_cycle(m: Any, x: Any, y: Any) -> Any:
    """A deliberate reference cycle through two nodes: what the checks above must catch."""
    loss = tensor_loss(m, x, y)
    loss.inputs[0].params = {"cycle": loss}
    return loss


def test_the_freed_check_can_fail(no_cyclic_gc: None) -> None:
    with pytest.raises(AssertionError, match="nodes outlive their graph"):
        check_freed(tensor_model, t_cycle)
    gc.collect()


def test_neuron_network_and_its_trace_are_freed(no_cyclic_gc: None) -> None:
    edges = [(1, 3), (1, 4), (2, 3), (2, 4), (3, 5), (4, 5)]
    net = nn.NeuronNetwork(edges, inputs=[1], biases=[2], outputs=[5], rng=0)
    z, a = net.evaluate(0.5)
    loss = (0.8 - a[5]) ** 2
    loss.backward()
    text = tg.trace_backward(loss, network=net) + tg.explain(a[3]) + str(tg.draw_network(net, 0.5, 0.8))
    assert "dL/d" in text
    graph = weak(n for n in every_node(loss) if n.op is not None)
    weights = weak(net.parameters())
    del z, a, loss
    assert alive(graph) == []
    del net
    assert alive(weights) == []


def test_gradcheck_leaves_no_graph_behind(no_cyclic_gc: None) -> None:
    """gradcheck and gradgradcheck build many graphs inside; none survive them."""
    x = Tensor(np.random.default_rng(0).standard_normal((3, 3)), requires_grad=True)
    before = tracked_nodes()
    assert tg.gradcheck(lambda x: (x @ x).tanh().sum(), [x])
    assert tg.gradgradcheck(lambda x: (x * x).sigmoid().sum(), [x])
    model, data, target = tensor_model()
    assert tg.check_module_grads(model, nn.functional.mse_loss, data, target)
    del model, data, target
    assert tracked_nodes() == before


@pytest.mark.skipif(not hasattr(tg.engine, "detect_anomaly"), reason="no anomaly mode in this version")
def test_anomaly_mode_keeps_no_graph_alive(no_cyclic_gc: None) -> None:
    """Anomaly mode remembers where each node was made, weakly: the graph still dies when dropped."""
    model, x, y = tensor_model()
    with tg.engine.detect_anomaly():
        loss = tensor_loss(model, x, y)
        loss.backward()
    graph = weak(n for n in every_node(loss) if n.op is not None)
    del loss
    assert alive(graph) == []


def test_create_graph_backward_is_freed_by_zero_grad(no_cyclic_gc: None) -> None:
    """backward(create_graph=True) makes each leaf's .grad a graph that refers to the leaf (as in
    PyTorch, a cycle through the user's own parameter): zero_grad() breaks it, and all of it dies."""
    model, x, y = tensor_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = tensor_loss(model, x, y)
    loss.backward(create_graph=True)
    grads = [p.grad for p in model.parameters()]
    assert all(isinstance(g, Tensor) and g.requires_grad for g in grads)
    graph = weak(n for n in every_node(loss, *grads) if n.op is not None)
    del loss, grads
    opt.zero_grad()
    assert alive(graph) == []
    params = weak(model.parameters())
    del model, opt
    assert alive(params) == []


# --------------------------------------------------------------------------- (b) no cycles: a census


def test_training_steps_leave_no_node_for_the_cyclic_gc(no_cyclic_gc: None) -> None:
    """With the collector off, after training steps the only Tensors and Values alive are the model's
    parameters and the data; gc.collect() then finds none of ours (no node was in a cycle)."""
    others = tracked_nodes()  # nodes other tests keep alive (module globals): not ours to count
    model, x, y = tensor_model()
    smodel, xs, ys = scalar_model()
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sopt = optim.Adam(smodel.parameters(), lr=0.01)
    expected = others + len(model.parameters()) + len(smodel.parameters()) + 2  # + x and y
    assert tracked_nodes() == expected
    for _ in range(5):
        loss = tensor_loss(model, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        tg.gradient_flow(tensor_loss(model, x, y))
        tg.grad(tensor_loss(model, x, y), model.parameters(), create_graph=True)
        sloss = scalar_loss(smodel, xs, ys)
        sopt.zero_grad()
        sloss.backward()
        sopt.step()
    del loss, sloss
    assert tracked_nodes() == expected  # nothing waits for the collector
    gc.collect()
    assert tracked_nodes() == expected and gc.garbage == []


def test_the_census_can_fail(no_cyclic_gc: None) -> None:
    others = tracked_nodes()
    model, x, y = tensor_model()
    expected = others + len(model.parameters()) + 2
    t_cycle(model, x, y)
    assert tracked_nodes() > expected  # the cycle's nodes wait for the collector
    gc.collect()
    assert tracked_nodes() == expected


# --------------------------------------------------------------------------- (c) long runs stay flat


def training_growth(step: Callable[[], None], warmup: int, steps: int) -> int:
    """Bytes held after `steps` more steps than after `warmup` steps (tracemalloc; collected both times)."""
    tracemalloc.start()
    try:
        for _ in range(warmup):
            step()
        gc.collect()
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(steps):
            step()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()


def test_tensor_training_memory_is_flat() -> None:
    model, x, y = tensor_model()
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        loss = tensor_loss(model, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    growth = training_growth(step, warmup=200, steps=300)
    assert growth < 200 * 1024, f"300 training steps kept {growth / 1024:.0f} KiB more memory"


def test_scalar_training_memory_is_flat() -> None:
    model, xs, ys = scalar_model()
    opt = optim.Adam(model.parameters(), lr=0.01)

    def step() -> None:
        loss = scalar_loss(model, xs, ys)
        opt.zero_grad()
        loss.backward()
        opt.step()

    growth = training_growth(step, warmup=50, steps=200)
    assert growth < 200 * 1024, f"200 training steps kept {growth / 1024:.0f} KiB more memory"


def test_the_growth_check_can_fail() -> None:
    """The control: a loop that keeps every loss (and so every graph) alive is caught."""
    model, x, y = tensor_model()
    kept: list[Tensor] = []

    def step() -> None:
        loss = tensor_loss(model, x, y)
        loss.backward()
        kept.append(loss)

    assert training_growth(step, warmup=5, steps=100) > 200 * 1024


def test_a_fresh_weight_gradient_becomes_the_grad_without_a_copy() -> None:
    """backward copies a gradient into .grad only if something else may hold it (a seed, or what a
    rule passed through, as mse's subtraction does); an array that merely took the id of such an array
    after it died is fresh, and is not copied: the peak is one weight gradient, not two."""
    model = nn.Sequential(nn.Linear(400, 300, rng=0), nn.ReLU(), nn.Linear(300, 10, rng=1))
    rng = np.random.default_rng(0)
    x, target = Tensor(rng.normal(size=(8, 400))), Tensor(rng.normal(size=(8, 10)))
    for _ in range(3):
        model.zero_grad()
        loss = nn.functional.mse_loss(model(x), target)
        tracemalloc.start()
        try:
            loss.backward()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1.5 * model[0].weight.grad.nbytes, (peak, model[0].weight.grad.nbytes)
