"""The graph node, grad mode, and the one reverse-mode engine that serves Value and Tensor.

Each node records the op that made it, its inputs in argument order, and the op's metadata. Nothing
is captured in closures, so a graph is freed by reference counting as soon as its output is dropped.

Backward visits the graph in reverse topological order and gives every node the sum, over every edge
leaving it, of (upstream gradient x local derivative): the "advanced chain rule", for any DAG.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np

from .ops import Op, Recorder, sum_to_shape


# --------------------------------------------------------------------------- grad mode


class _GradModeState(threading.local):
    enabled = True  # each thread starts with recording on


_grad_mode = _GradModeState()


def is_grad_enabled() -> bool:
    """Whether new operations are recorded in this thread."""
    return _grad_mode.enabled


class GradMode(contextlib.ContextDecorator):
    """Turns recording on or off inside a `with` block or a decorated function (see no_grad)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(_grad_mode.enabled)
        _grad_mode.enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = self.previous.pop()

    def _recreate_cm(self) -> GradMode:  # as a decorator: a fresh one per call, so threads share nothing
        return type(self)(self.enabled)


def no_grad() -> GradMode:
    """Record nothing inside: `with tg.no_grad(): y = model(x)` (also a decorator). Per thread."""
    return GradMode(False)


def enable_grad() -> GradMode:
    """Record again inside a `no_grad` block (also a decorator). Per thread."""
    return GradMode(True)


class _LastBackward(threading.local):
    output: weakref.ref[Node] | None = None  # weak: remembering an output must not keep its graph alive


_last_backward = _LastBackward()


def last_backward_output() -> Node | None:
    """The output of this thread's latest backward() call, while something else keeps it alive
    (explanations use it when not told which output a gradient is of)."""
    ref = _last_backward.output
    return ref() if ref is not None else None


# --------------------------------------------------------------------------- the node


class Node(Recorder):
    """A value in a computation graph: what a Value and a Tensor have in common.

    `op` and `inputs` say how it was made (None and () for a leaf), `params` holds the op's metadata
    (axis, shape, index). `requires_grad` is true for leaves that want a gradient and for every node
    computed from one while grad mode is on.
    """

    __slots__ = ("data", "grad", "op", "inputs", "params", "label", "requires_grad", "_released", "__weakref__")

    shaped: ClassVar[bool] = False  # True where data has a shape that broadcasting may change
    retains_grad: bool = False  # whether backward() stores .grad on this node when it is not a leaf

    data: Any
    grad: Any
    op: Op | None
    inputs: tuple[Node, ...]
    params: dict[str, Any] | None
    label: str | None
    requires_grad: bool
    _released: bool

    def __init__(self, data: Any, grad: Any, label: str | None, requires_grad: bool) -> None:
        """A leaf: made by no op, from no inputs."""
        self.data = data
        self.grad = grad
        self.op = None
        self.inputs = ()
        self.params = None
        self.label = label
        self.requires_grad = bool(requires_grad)
        self._released = False

    @classmethod
    def constant(cls, data: Any) -> Node:
        """A leaf that needs no gradient (a number or array taking part in an op)."""
        raise NotImplementedError

    def backward(self, gradient: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Add d(self)/d(leaf) into the `.grad` of every leaf that requires grad.

        Gradients accumulate across calls until zeroed. `gradient` is dL/d(self); it defaults to 1
        and is required when self is not a scalar. Without `retain_graph` the graph is used up: a
        second backward through it raises RuntimeError. With `create_graph`, the gradients are
        themselves graph nodes (so `.grad` holds a Value/Tensor), and can be differentiated again.
        """
        seed = _seed_gradient(self, gradient, "backward")
        _last_backward.output = weakref.ref(self)
        with _cyclic_gc_paused():
            _run_backward([self], [seed], retain_graph, create_graph, targets=None)


def _seed_gradient(out: Node, gradient: Any, where: str) -> Any:
    """dL/d(out) to start backward from: `gradient`, or 1 for a scalar output."""
    kind = type(out).__name__
    if not out.requires_grad:
        raise RuntimeError(
            f"{where}: this {kind} does not require grad, so there is no graph to differentiate "
            "(give a leaf requires_grad=True, and do not compute it under no_grad())"
        )
    if not out.shaped:
        return 1.0 if gradient is None else float(gradient.data if isinstance(gradient, Node) else gradient)
    if gradient is None:
        if out.data.size != 1:
            raise RuntimeError(
                f"{where}: the output has shape {out.data.shape}, not a scalar; pass gradient= an array "
                f"of shape {out.data.shape} (dL/d(output)), or reduce the output first, e.g. .sum()"
            )
        return np.ones(out.data.shape, dtype=out.data.dtype)
    g = np.asarray(gradient.data if isinstance(gradient, Node) else gradient, dtype=out.data.dtype)
    if g.shape != out.data.shape:
        raise ValueError(f"{where}: gradient has shape {g.shape} but the output has shape {out.data.shape}")
    return g


# --------------------------------------------------------------------------- traversal


def topological_order(roots: Node | Iterable[Node]) -> list[Node]:
    """Every node the roots depend on that requires grad, inputs before the nodes made from them.

    Iterative depth-first search: no Python recursion, so graphs of any depth work.
    """
    if isinstance(roots, Node):
        roots = (roots,)
    order: list[Node] = []
    visited: set[Node] = set()
    for root in roots:
        if not root.requires_grad or root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(root.inputs))]  # each node with the inputs it has yet to visit
        while stack:
            node, pending = stack[-1]
            for inp in pending:
                if inp.requires_grad and inp not in visited:
                    visited.add(inp)
                    stack.append((inp, iter(inp.inputs)))
                    break
            else:  # all its inputs are placed: place it
                stack.pop()
                order.append(node)
    return order


# --------------------------------------------------------------------------- backward


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause CPython's cycle collector while the engine walks a graph.

    Backward makes no reference cycles, but the bookkeeping it allocates (one stack entry per node)
    would trigger full collections that traverse the whole graph again and again: on a
    million-node graph that is most of the time. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _is_fresh(g: Any) -> bool:
    """Whether gradient g may become a .grad as it is: not a view of another array (floats and
    graph nodes are never modified in place, so they always may)."""
    return not isinstance(g, np.ndarray) or g.base is None


def _numpy_rule(rule: Any, args: tuple[Any, ...], params: dict[str, Any]) -> float:
    """Re-run a rule on float64 NumPy scalars: IEEE results (inf, nan) where Python floats raise."""
    with np.errstate(all="ignore"):
        return float(rule(*(np.float64(a) for a in args), **params))


def _run_backward(
    roots: Sequence[Node],
    seeds: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    targets: dict[Node, Any] | None,
    edges: dict[tuple[Node, Node], Any] | None = None,
) -> None:
    """Propagate gradients from `roots` (seeded with `seeds`) to every node they depend on.

    With targets=None gradients go into .grad (leaves and nodes that retain it); otherwise only
    into `targets[node]`, and no .grad changes. With `edges` (inspection, see gradient_flow), what
    each edge carries back is summed into `edges[input, node]`, and the graph is not used up.
    """
    order = topological_order(roots)
    if edges is None:  # refuse before changing anything: a refused backward leaves every .grad as it was
        for node in order:
            if node._released and node.op is not None:
                raise RuntimeError(
                    f"backward through the graph a second time (at a '{node.op.name}' node): its saved values "
                    "were released by the first backward; pass retain_graph=True to that first call"
                )
    grads: dict[Node, Any] = {}
    # ids of gradient arrays something else may hold: the caller's seeds, and what a rule passed
    # through unchanged (add gives g to both inputs). Copied before they become a .grad, so that no
    # two .grad arrays share memory; any other array the engine made is fresh and taken as it is.
    shared = {id(seed) for seed in seeds}
    for root, seed in zip(roots, seeds):
        if create_graph and not isinstance(seed, Node):
            seed = type(root).constant(seed)
        grads[root] = grads[root] + seed if root in grads else seed

    get = grads.get
    # rules record graph nodes only with create_graph; otherwise they see raw data and record nothing
    with GradMode(True) if create_graph else contextlib.nullcontext():
        for node in reversed(order):
            g = grads.pop(node, None)
            if g is None:  # nothing flows here (e.g. the node only feeds a non-differentiable path)
                continue
            op = node.op
            if targets is None:
                if op is None or node.retains_grad:  # into .grad: backward accumulates, never overwrites
                    if node.grad is None:
                        node.grad = g if id(g) not in shared and _is_fresh(g) else g.copy()
                    else:
                        node.grad = node.grad + g
            elif node in targets:
                targets[node] = g
            if op is None:
                continue
            if not retain_graph:  # (gradient_flow inspects with retain_graph=True: it uses nothing up)
                node._released = True

            # the rules' arguments: (g, out, *inputs), as graph nodes for create_graph, else raw data
            inputs = node.inputs
            if create_graph:
                args = (g, node, *inputs)
            elif len(inputs) == 2:
                args = (g, node.data, inputs[0].data, inputs[1].data)
            elif len(inputs) == 1:
                args = (g, node.data, inputs[0].data)
            else:
                args = (g, node.data, *[inp.data for inp in inputs])
            params = node.params
            shaped = node.shaped  # inputs are of the node's kind: Values, or Tensors
            for inp, rule in zip(inputs, op.vjps):
                if not inp.requires_grad:
                    continue
                try:  # the edge's contribution: upstream gradient x local derivative
                    gk = rule(*args, **params) if params else rule(*args)
                except ArithmeticError:  # Python floats raise where NumPy gives inf/nan
                    gk = _numpy_rule(rule, args, params or {})
                if shaped:
                    if gk is g:
                        shared.add(id(g))
                    data = inp.data
                    if op.broadcasting and (gk.shape != data.shape or gk.dtype is not data.dtype):
                        gk = _fit_to_input(gk, inp)
                if edges is not None:  # an input used twice (x*x) has one edge carrying both slots
                    link = (inp, node)
                    edges[link] = gk if link not in edges else edges[link] + gk
                prev = get(inp)  # the chain rule's sum over all edges leaving inp
                grads[inp] = gk if prev is None else prev + gk


class GradientFlow(NamedTuple):
    """What one backward pass sends through a graph (see gradient_flow)."""

    grads: dict[Node, Any]  # dL/d(node) for every node that requires grad and that the output depends on
    edges: dict[tuple[Node, Node], Any]  # (input, node) -> what that edge carries back to the input


def gradient_flow(output: Node, gradient: Any = None) -> GradientFlow:
    """Every node's gradient and every edge's contribution, computed by the engine's own rules.

    Changes no .grad and does not use up the graph, so it works before and after backward(). A
    node's gradient is the sum of what the edges leaving it carry back: the chain rule, checkable.

    >>> x = Value(3.0); square = x * x; y = square + x
    >>> flow = gradient_flow(y)
    >>> flow.edges[x, square], flow.edges[x, y], flow.grads[x]  # x*x: one edge carrying both slots
    (6.0, 1.0, 7.0)
    """
    seed = _seed_gradient(output, gradient, "gradient_flow")
    order = topological_order(output)
    grads: dict[Node, Any] = dict.fromkeys(order)
    edges: dict[tuple[Node, Node], Any] = {}
    with _cyclic_gc_paused():
        _run_backward([output], [seed], True, False, grads, edges)
    return GradientFlow({n: g for n, g in grads.items() if g is not None}, edges)


def _fit_to_input(g: Any, inp: Node) -> Any:
    """Undo broadcasting and type promotion: the gradient takes its input's shape and dtype."""
    data = inp.data
    if g.shape != data.shape:
        g = sum_to_shape(g, data.shape)
    if g.dtype is not data.dtype and g.dtype != data.dtype:
        g = g.astype(data.dtype)
    return g


def grad(
    outputs: Node | Sequence[Node],
    inputs: Node | Sequence[Node],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """The gradients of `outputs` with respect to `inputs`, returned as a tuple; no .grad changes.

    `grad_outputs` holds dL/d(output) per output (default 1 for scalars). Without `create_graph` the
    gradients are raw data (floats or ndarrays); with it they are graph nodes, so they can be
    differentiated again. `retain_graph` defaults to `create_graph`. An input the outputs do not
    depend on raises, unless `allow_unused` (then its gradient is None).

    >>> x = Value(3.0); (dx,) = grad(x * x, [x]); dx
    6.0
    """
    outputs = [outputs] if isinstance(outputs, Node) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Node) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Node):
        grad_outputs = [grad_outputs] * len(outputs)
    elif len(outputs) == 1 and not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, x in enumerate(inputs):
        if not isinstance(x, Node) or not x.requires_grad:
            raise RuntimeError(f"grad: input {i} ({_describe(x)}) does not require grad")
    seeds = [_seed_gradient(out, g, "grad") for out, g in zip(outputs, grad_outputs)]
    targets: dict[Node, Any] = dict.fromkeys(inputs)
    with _cyclic_gc_paused():
        _run_backward(outputs, seeds, create_graph if retain_graph is None else retain_graph, create_graph, targets)
    results = tuple(targets[x] for x in inputs)
    for i, (x, r) in enumerate(zip(inputs, results)):
        if r is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} ({_describe(x)}) is not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return results


def _describe(x: Any) -> str:
    label = getattr(x, "label", None)
    return f"{type(x).__name__} {label!r}" if label else type(x).__name__
