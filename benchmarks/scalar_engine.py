"""Speed of the scalar engine (tinygrad_edu.Value) against micrograd and against plain Python floats.

What it measures, all in one process, contenders interleaved, medians of repeated samples:

1. One training step of micrograd's own demo: MLP(2, [16, 16, 1]) (ReLU hidden layers, linear
   output) on 100 two-moons points (noise 0.1, labels -1/+1), loss = mean(relu(1 - y*score)) +
   1e-4 * sum(p*p), then forward + backward + SGD update (lr 0.1). Three contenders start from the
   same weights and data:
     (a) micrograd 0.1.0 exactly as its demo runs it (its Value and MLP, zero_grad, backward, update),
         with the cyclic GC on;
     (b) tinygrad_edu.Value in a Neuron/Layer/MLP written here with micrograd's nn.py structure;
     (c) the same step written by hand with Python floats (backward derived by hand);
     (d) diagnostic, no target: the floor of the design. A minimal scalar engine written here in a
         few lines (one slotted object per node with two input slots, only add, mul and relu, no
         checks, no anomaly mode, no in-place tracking, no create_graph): what one Python object
         per recorded op costs in CPython, whatever the engine around it does.
   Targets: micrograd / tinygrad_edu >= 15x; tinygrad_edu / floats <= 10x. (b), (c) and (d) are
   checked once to give the same loss and gradients (to 1e-9).
2. Scaling: build + backward of a random DAG of adds and muls at 1e3 .. 1e6 nodes, in ns per node,
   GC on. Target: max/min of ns/node <= 1.5. (The same with the GC off is printed as a diagnostic.)
3. A 1,000,000-node chain (x = x * 1.0000001; x = x + 0.0, alternating) backpropagates under the
   default recursion limit (no RecursionError).
4. Memory: bytes allocated (tracemalloc) building a 1e5-node graph, per node. Target <= 250 bytes;
   micrograd's same graph for comparison.

How it is timed: a sample of the MLP step is 3 consecutive steps from freshly reset weights (so every
sample does the same work, and a contender whose graphs are freed late by the GC, as micrograd's
cyclic ones are, pays for that inside the block as a user's training loop does), divided by 3. The
GC is collected, untimed, before every sample. Timings are per step.

Run: python benchmarks/scalar_engine.py [--quick] [--repeats N]
Writes benchmarks/results/scalar_engine.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy is imported (tinygrad_edu imports it)

import functools  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import _bench  # noqa: E402
import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Value  # noqa: E402

try:
    from micrograd.engine import Value as MgValue
    from micrograd.nn import MLP as MgMLP
except Exception as e:  # a peer that is missing (or broken) is skipped, never fatal
    MgValue = MgMLP = None
    MICROGRAD_MISSING = f"{type(e).__name__}: {e}"
else:
    MICROGRAD_MISSING = ""

SEED = 1337
N_POINTS = 100
SIZES = [2, 16, 16, 1]  # MLP(2, [16, 16, 1])
ALPHA = 1e-4  # weight of the L2 penalty
LR = 0.1
STEPS_PER_SAMPLE = 3

Layers = list[tuple[list[list[float]], list[float]]]  # per layer: weight rows (one per neuron), biases


# --------------------------------------------------------------------------- data and weights


def make_moons(n: int, noise: float, seed: int) -> tuple[list[list[float]], list[float]]:
    """Two interleaving half circles, as sklearn's make_moons draws them; labels -1 (outer) / +1."""
    rng = np.random.default_rng(seed)
    n_outer = n // 2
    n_inner = n - n_outer
    t_outer = np.linspace(0, np.pi, n_outer)
    t_inner = np.linspace(0, np.pi, n_inner)
    x = np.concatenate([np.cos(t_outer), 1 - np.cos(t_inner)])
    y = np.concatenate([np.sin(t_outer), 1 - np.sin(t_inner) - 0.5])
    points = np.stack([x, y], axis=1) + rng.normal(scale=noise, size=(n, 2))
    labels = np.concatenate([-np.ones(n_outer), np.ones(n_inner)])
    order = rng.permutation(n)
    return points[order].tolist(), labels[order].tolist()


def initial_weights(sizes: list[int], seed: int) -> Layers:
    """micrograd's initialisation: weights uniform(-1, 1), biases 0."""
    rnd = random.Random(seed)
    return [
        ([[rnd.uniform(-1, 1) for _ in range(nin)] for _ in range(nout)], [0.0] * nout)
        for nin, nout in zip(sizes[:-1], sizes[1:])
    ]


def flat(layers: Layers) -> list[float]:
    """Parameters in micrograd's order: layer by layer, neuron by neuron, its weights then its bias."""
    return [x for W, b in layers for row, bj in zip(W, b) for x in (*row, bj)]


# --------------------------------------------------------------------------- (b) tinygrad_edu.Value


class Neuron:
    def __init__(self, w: list[float], b: float, nonlin: bool) -> None:
        self.w = [Value(wi) for wi in w]
        self.b = Value(b)
        self.nonlin = nonlin

    def __call__(self, x: list[Value]) -> Value:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        return self.w + [self.b]


class Layer:
    def __init__(self, W: list[list[float]], b: list[float], nonlin: bool) -> None:
        self.neurons = [Neuron(row, bj, nonlin) for row, bj in zip(W, b)]

    def __call__(self, x: list[Value]) -> Any:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    """micrograd's nn.MLP, built from tinygrad_edu.Value and given weights."""

    def __init__(self, layers: Layers) -> None:
        self.layers = [Layer(W, b, nonlin=i != len(layers) - 1) for i, (W, b) in enumerate(layers)]

    def __call__(self, x: list[Value]) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0


def demo_loss(model: Any, X: list[list[float]], Y: list[float], make_input: Any) -> Any:
    """micrograd's demo loss (SVM max-margin + L2), for either library's Value and MLP."""
    inputs = [[make_input(v) for v in row] for row in X]
    scores = [model(x) for x in inputs]
    losses = [(1 + -yi * si).relu() for yi, si in zip(Y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def tg_constant(v: float) -> Value:
    return Value(v, requires_grad=False)


def train_step(model: Any, X: list[list[float]], Y: list[float], make_input: Any) -> None:
    """micrograd's demo step, for either engine: loss, zero_grad, backward, SGD update."""
    loss = demo_loss(model, X, Y, make_input)
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= LR * p.grad


# --------------------------------------------------------------------------- (a) micrograd


def mg_model(layers: Layers) -> Any:
    random.seed(SEED)
    model = MgMLP(SIZES[0], SIZES[1:])
    set_params(model.parameters(), flat(layers))
    return model


def set_params(params: list[Any], values: list[float]) -> None:
    assert len(params) == len(values)
    for p, v in zip(params, values):
        p.data = v
        p.grad = 0.0


# --------------------------------------------------------------------------- (c) plain floats


def floats_loss_and_grads(layers: Layers, X: list[list[float]], Y: list[float]) -> tuple[float, Layers]:
    """The loss and its gradient for every weight and bias, with the backward derived by hand."""
    n = len(X)
    last = len(layers) - 1
    grads: Layers = [([[0.0] * len(row) for row in W], [0.0] * len(b)) for W, b in layers]
    data_loss = 0.0
    for x, y in zip(X, Y):
        acts = [x]  # the input, then each layer's output
        for li, (W, b) in enumerate(layers):
            a = acts[-1]
            z = [bj + sum(w * ai for w, ai in zip(row, a)) for row, bj in zip(W, b)]
            acts.append(z if li == last else [v if v > 0.0 else 0.0 for v in z])
        margin = 1.0 - y * acts[-1][0]
        if margin <= 0.0:  # relu(margin) is 0 and so is its gradient
            continue
        data_loss += margin
        delta = [-y / n]  # dL/d(score)
        for li in range(last, -1, -1):
            W, _ = layers[li]
            gW, gb = grads[li]
            a_in = acts[li]
            for j, dj in enumerate(delta):
                gb[j] += dj
                gW[j] = [g + dj * ai for g, ai in zip(gW[j], a_in)]
            if li:  # dL/d(a_in) = W^T delta, through the ReLU that made a_in
                back = [0.0] * len(a_in)
                for row, dj in zip(W, delta):
                    back = [s + w * dj for s, w in zip(back, row)]
                delta = [s if ai > 0.0 else 0.0 for s, ai in zip(back, a_in)]
    reg = 0.0
    for (W, b), (gW, gb) in zip(layers, grads):
        for row, grow in zip(W, gW):
            reg += sum(w * w for w in row)
            grow[:] = [g + 2 * ALPHA * w for g, w in zip(grow, row)]
        reg += sum(bj * bj for bj in b)
        gb[:] = [g + 2 * ALPHA * bj for g, bj in zip(gb, b)]
    return data_loss / n + ALPHA * reg, grads


def floats_step(layers: Layers, X: list[list[float]], Y: list[float]) -> None:
    _, grads = floats_loss_and_grads(layers, X, Y)
    for (W, b), (gW, gb) in zip(layers, grads):
        for row, grow in zip(W, gW):
            row[:] = [w - LR * g for w, g in zip(row, grow)]
        b[:] = [bj - LR * g for bj, g in zip(b, gb)]


def copy_layers(layers: Layers) -> Layers:
    return [([list(row) for row in W], list(b)) for W, b in layers]


def reset_floats(target: Layers, source: Layers) -> None:
    for (W, b), (W0, b0) in zip(target, source):
        for row, row0 in zip(W, W0):
            row[:] = row0
        b[:] = b0


# --------------------------------------------------------------------------- (d) the floor of the design


class FloorValue:
    """The least a scalar engine with one Python object per recorded op can do (diagnostic only)."""

    __slots__ = ("data", "grad", "kind", "x", "y")  # kind: 0 add, 1 mul, 2 relu, None a leaf

    def __init__(self, data: float, kind: int | None = None, x: Any = None, y: Any = None) -> None:
        self.data, self.grad, self.kind, self.x, self.y = data, 0.0, kind, x, y

    # the operators make their node inline (no __init__ call): the fewest Python calls per op
    def __add__(self, other: Any) -> FloorValue:
        if type(other) is not FloorValue:
            other = FloorValue(float(other))
        v = _bare_floor(FloorValue)
        v.data, v.grad, v.kind, v.x, v.y = self.data + other.data, 0.0, 0, self, other
        return v

    def __mul__(self, other: Any) -> FloorValue:
        if type(other) is not FloorValue:
            other = FloorValue(float(other))
        v = _bare_floor(FloorValue)
        v.data, v.grad, v.kind, v.x, v.y = self.data * other.data, 0.0, 1, self, other
        return v

    __radd__, __rmul__ = __add__, __mul__

    def relu(self) -> FloorValue:
        v = _bare_floor(FloorValue)
        v.data, v.grad, v.kind, v.x, v.y = self.data if self.data > 0 else 0.0, 0.0, 2, self, None
        return v

    def backward(self) -> None:
        order: list[FloorValue] = []
        seen: set[FloorValue] = set()
        stack: list[tuple[FloorValue, bool]] = [(self, False)]
        while stack:  # iterative post-order depth-first search
            node, placed = stack.pop()
            if placed:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in (node.x, node.y) if child is not None)
        self.grad = 1.0
        for node in reversed(order):
            g, kind = node.grad, node.kind
            if kind == 0:
                node.x.grad += g
                node.y.grad += g
            elif kind == 1:
                node.x.grad += g * node.y.data
                node.y.grad += g * node.x.data
            elif kind == 2 and node.data > 0:
                node.x.grad += g


_bare_floor = object.__new__


class FloorNeuron(Neuron):
    def __init__(self, w: list[float], b: float, nonlin: bool) -> None:
        self.w, self.b, self.nonlin = [FloorValue(wi) for wi in w], FloorValue(b), nonlin


class FloorMLP(MLP):
    def __init__(self, layers: Layers) -> None:
        self.layers = []
        for i, (W, b) in enumerate(layers):
            layer = Layer.__new__(Layer)
            layer.neurons = [FloorNeuron(row, bj, nonlin=i != len(layers) - 1) for row, bj in zip(W, b)]
            self.layers.append(layer)


# --------------------------------------------------------------------------- part 1: the MLP step


def check_same_gradients(layers: Layers, X: list[list[float]], Y: list[float]) -> dict[str, Any]:
    """(b) against (c), and micrograd against (c) when installed: loss and every gradient."""
    loss_f, grads_f = floats_loss_and_grads(copy_layers(layers), X, Y)
    gf = flat(grads_f)
    result: dict[str, Any] = {}
    model = MLP(layers)
    loss = demo_loss(model, X, Y, tg_constant)
    loss.backward()
    gt = [p.grad for p in model.parameters()]
    result["tinygrad_edu_vs_floats"] = _compare(loss.data, loss_f, gt, gf)
    floor = FloorMLP(layers)
    loss_floor = demo_loss(floor, X, Y, FloorValue)
    loss_floor.backward()
    result["floor_vs_floats"] = _compare(loss_floor.data, loss_f, [p.grad for p in floor.parameters()], gf)
    if MgMLP is not None:
        mg = mg_model(layers)
        loss_m = demo_loss(mg, X, Y, MgValue)
        loss_m.backward()
        result["micrograd_vs_floats"] = _compare(loss_m.data, loss_f, [float(p.grad) for p in mg.parameters()], gf)
    return result


def _compare(loss_a: float, loss_b: float, ga: list[float], gb: list[float]) -> dict[str, Any]:
    assert len(ga) == len(gb)
    loss_diff = abs(loss_a - loss_b)
    grad_diff = max(abs(a - b) for a, b in zip(ga, gb))
    return {"loss": loss_b, "loss_abs_diff": loss_diff, "max_grad_abs_diff": grad_diff,
            "params": len(ga), "ok": loss_diff <= 1e-9 and grad_diff <= 1e-9}


def bench_mlp_step(repeats: int) -> dict[str, Any]:
    X, Y = make_moons(N_POINTS, noise=0.1, seed=SEED)
    init = initial_weights(SIZES, SEED)
    init_flat = flat(init)

    print(f"== MLP{tuple(SIZES)} step on {N_POINTS} two-moons points (forward + backward + SGD update)")
    check = check_same_gradients(init, X, Y)
    for name, c in check.items():
        print(f"  check {name}: loss {c['loss']:.12f}, |loss diff| {c['loss_abs_diff']:.1e}, "
              f"max |grad diff| {c['max_grad_abs_diff']:.1e} over {c['params']} params -> "
              f"{'OK (<= 1e-9)' if c['ok'] else 'MISMATCH'}")

    tg_model = MLP(init)
    tg_params = tg_model.parameters()
    float_layers = copy_layers(init)
    floor_model = FloorMLP(init)
    floor_params = floor_model.parameters()
    contenders = {
        "tinygrad_edu": lambda: train_step(tg_model, X, Y, tg_constant),
        "floats": lambda: floats_step(float_layers, X, Y),
        "floor": lambda: train_step(floor_model, X, Y, FloorValue),
    }
    resets = {
        "tinygrad_edu": lambda: set_params(tg_params, init_flat),
        "floats": lambda: reset_floats(float_layers, init),
        "floor": lambda: set_params(floor_params, init_flat),
    }
    if MgMLP is not None:
        mg = mg_model(init)
        mg_params = mg.parameters()
        contenders = {"micrograd": lambda: train_step(mg, X, Y, MgValue), **contenders}
        resets["micrograd"] = lambda: set_params(mg_params, init_flat)
    else:
        print(f"  skipped: micrograd not installed ({MICROGRAD_MISSING})")

    loss = demo_loss(tg_model, X, Y, tg_constant)
    nodes = len(tg.topological_order(loss))
    del loss
    print(f"  graph: {nodes} nodes that require grad per step (tinygrad_edu); gc enabled: {gc.isenabled()}")

    samples = _bench.interleaved(contenders, repeats, warmup=1, number=STEPS_PER_SAMPLE, before_sample=resets)
    med = {k: _bench.median(v) for k, v in samples.items()}
    for name, m in med.items():
        print(f"  {name:<14} {_bench.fmt_time(m):>12} per step   (spread {_bench.spread(samples[name]):.0%})")
    targets = []
    if "micrograd" in med:
        targets.append(_bench.target("mlp_step: micrograd / tinygrad_edu", med["micrograd"] / med["tinygrad_edu"], ">=", 15))
    targets.append(_bench.target("mlp_step: tinygrad_edu / floats", med["tinygrad_edu"] / med["floats"], "<=", 10))
    for t in targets:
        _bench.print_target(t)
    floor = {"tinygrad_edu / floor": med["tinygrad_edu"] / med["floor"], "floor / floats": med["floor"] / med["floats"]}
    if "micrograd" in med:
        floor["micrograd / floor"] = med["micrograd"] / med["floor"]
    print("  (diagnostic) the floor of one object per op: " + ", ".join(f"{k} {v:.2f}x" for k, v in floor.items()))
    return {"check": check, "graph_nodes": nodes, "seconds_per_step": med, "samples": samples,
            "steps_per_sample": STEPS_PER_SAMPLE, "floor_diagnostic": floor, "targets": targets}


# --------------------------------------------------------------------------- part 2: scaling


WINDOW = 64  # a node may feed from any of the last WINDOW nodes
N_LEAVES = 16


def dag_plan(steps: int, seed: int) -> list[tuple[int, int]]:
    """Random choices for build_dag, drawn before timing starts."""
    rng = np.random.default_rng(seed)
    return list(zip(rng.integers(0, WINDOW, steps).tolist(), rng.integers(0, N_LEAVES, steps).tolist()))


def leaf_data(seed: int) -> list[float]:
    return np.random.default_rng(seed).uniform(0.45, 0.55, N_LEAVES).tolist()


def build_dag(leaves: list[Any], plan: list[tuple[int, int]]) -> Any:
    """2 nodes per step: s = prev + (one of the last WINDOW nodes); prev = s * (a random leaf).

    Every node feeds the next one (so all are reachable from the root) and many feed a later one as
    well: a DAG with fan-out, not just a chain. Leaves are near 0.5 so the values stay near 1.
    Works for any Value class with + and *.
    """
    prev = leaves[0]
    ring = [prev] * WINDOW
    for i, (j, k) in enumerate(plan):
        prev = (prev + ring[j]) * leaves[k]
        ring[i % WINDOW] = prev
    return prev


def build_and_backward(leaves: list[Value], plan: list[tuple[int, int]]) -> None:
    build_dag(leaves, plan).backward()  # the graph is freed on return: that is timed too


def without_gc(fn: Any) -> None:
    """Diagnostic only: run fn with the cyclic GC off, to show how much of the cost is the GC's."""
    gc.disable()
    try:
        fn()
    finally:
        gc.enable()


def bench_scaling(repeats: int, quick: bool) -> dict[str, Any]:
    sizes = [1_000, 10_000, 100_000] if quick else [1_000, 10_000, 100_000, 1_000_000]
    print(f"\n== scaling: build + backward (+ free) of a random add/mul DAG, per node; gc enabled: {gc.isenabled()}")
    leaves = [Value(d) for d in leaf_data(SEED)]
    plans = {n: dag_plan(n // 2, SEED + n) for n in sizes}
    counted = {}
    for n, plan in plans.items():  # count the nodes the engine visits (interior nodes + leaves)
        root = build_dag(leaves, plan)
        counted[n] = len(tg.topological_order(root))
        del root
    contenders: dict[str, Callable[[], Any]] = {}
    for n, plan in plans.items():
        run = functools.partial(build_and_backward, leaves, plan)
        contenders[f"{n:.0e}"] = run
        contenders[f"{n:.0e} gc off"] = functools.partial(without_gc, run)
    samples = _bench.interleaved(contenders, max(3, repeats // 2), warmup=1, min_sample_s=0.05)
    ns_per_node: dict[int, float] = {}
    ns_per_node_gc_off: dict[int, float] = {}
    for n in sizes:
        med = _bench.median(samples[f"{n:.0e}"])
        ns_per_node[n] = med / n * 1e9
        ns_per_node_gc_off[n] = _bench.median(samples[f"{n:.0e} gc off"]) / n * 1e9
        print(f"  {n:>9,} nodes ({counted[n]:,} visited): {_bench.fmt_time(med):>12}   {ns_per_node[n]:7.0f} ns/node"
              f"   (diagnostic, gc off: {ns_per_node_gc_off[n]:5.0f} ns/node)")
    ratio = max(ns_per_node.values()) / min(ns_per_node.values())
    ratio_off = max(ns_per_node_gc_off.values()) / min(ns_per_node_gc_off.values())
    print(f"  (diagnostic) max/min with gc off: {ratio_off:.2f}x")
    t = _bench.target("scaling: max/min ns per node", ratio, "<=", 1.5)
    _bench.print_target(t)
    return {"ns_per_node": ns_per_node, "ns_per_node_gc_off_diagnostic": ns_per_node_gc_off,
            "max_min_gc_off_diagnostic": ratio_off, "visited_nodes": counted, "targets": [t]}


# --------------------------------------------------------------------------- part 3: a deep chain


def bench_deep_chain(quick: bool) -> dict[str, Any]:
    n = 200_000 if quick else 1_000_000
    print(f"\n== a {n:,}-node chain (x = x * 1.0000001; x = x + 0.0), recursion limit {sys.getrecursionlimit()}")
    result: dict[str, Any] = {"nodes": n, "recursion_limit": sys.getrecursionlimit()}
    gc.collect()
    x0 = Value(1.0)
    t0 = time.perf_counter()
    x = x0
    for _ in range(n // 2):
        x = x * 1.0000001
        x = x + 0.0
    t1 = time.perf_counter()
    try:
        x.backward()
        result["recursion_error"] = False
    except RecursionError:
        result["recursion_error"] = True
    t2 = time.perf_counter()
    del x
    t3 = time.perf_counter()
    expected = 1.0000001 ** (n // 2)
    result.update(build_s=t1 - t0, backward_s=t2 - t1, free_s=t3 - t2, grad=x0.grad,
                  grad_ok=(not result["recursion_error"]) and math.isclose(x0.grad, expected, rel_tol=1e-9))
    print(f"  build {_bench.fmt_time(t1 - t0)}, backward {_bench.fmt_time(t2 - t1)}, free {_bench.fmt_time(t3 - t2)}; "
          f"RecursionError: {'YES' if result['recursion_error'] else 'no'}; "
          f"dx0 = {x0.grad:.9f} (expected {expected:.9f}: {'ok' if result['grad_ok'] else 'WRONG'})")
    return result


# --------------------------------------------------------------------------- part 4: memory


def bytes_per_node(make_leaf: Any, plan: list[tuple[int, int]]) -> tuple[float, int]:
    """Bytes tracemalloc sees allocated while building the graph (leaves included), per node."""
    data = leaf_data(SEED)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        leaves = [make_leaf(d) for d in data]
        root = build_dag(leaves, plan)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    nodes = 2 * len(plan) + N_LEAVES
    del root, leaves
    return used / nodes, nodes


def bench_memory() -> dict[str, Any]:
    plan = dag_plan(50_000, SEED)
    print("\n== memory: bytes allocated building a 1e5-node graph (tracemalloc), per node")
    per_node, nodes = bytes_per_node(Value, plan)
    print(f"  tinygrad_edu {per_node:7.1f} bytes/node  ({nodes:,} nodes)")
    result: dict[str, Any] = {"nodes": nodes, "bytes_per_node": {"tinygrad_edu": per_node}}
    if MgValue is not None:
        mg_per_node, _ = bytes_per_node(MgValue, plan)
        result["bytes_per_node"]["micrograd"] = mg_per_node
        print(f"  micrograd    {mg_per_node:7.1f} bytes/node  ({mg_per_node / per_node:.1f}x tinygrad_edu)")
    else:
        print("  skipped: micrograd not installed")
    t = _bench.target("memory: bytes per node (1e5-node graph)", per_node, "<=", 250, unit=" B")
    _bench.print_target(t)
    result["targets"] = [t]
    return result


def main() -> None:
    args = _bench.parse_args(__doc__.splitlines()[0])
    env = _bench.environment(("micrograd",))
    print(_bench.run_line(env, args, "micrograd") + "\n")
    mlp = bench_mlp_step(args.repeats)
    scaling = bench_scaling(args.repeats, args.quick)
    chain = bench_deep_chain(args.quick)
    memory = bench_memory()
    _bench.write_results("scalar_engine", {
        "script": "scalar_engine", "environment": env, "quick": args.quick, "repeats": args.repeats,
        "mlp_step": mlp, "scaling": scaling, "deep_chain": chain, "memory": memory,
        "targets": mlp["targets"] + scaling["targets"] + memory["targets"] + [
            _bench.target("check: Value and floats agree to 1e-9 (1 = yes)",
                          float(mlp["check"]["tinygrad_edu_vs_floats"]["ok"]), ">=", 1, unit=""),
            _bench.target(f"deep chain ({chain['nodes']:,} nodes) backprops, right grad (1 = yes)",
                          float(not chain["recursion_error"] and chain["grad_ok"]), ">=", 1, unit=""),
        ],
    })


if __name__ == "__main__":
    main()
