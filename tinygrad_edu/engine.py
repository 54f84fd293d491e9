"""The graph node, grad mode, and the one reverse-mode engine that serves Value and Tensor.

Each node records the op that made it, its inputs in argument order, and the op's metadata. Nothing
is captured in closures, so a graph is freed by reference counting as soon as its output is dropped.

Backward visits the graph in reverse topological order and gives every node the sum, over every edge
leaving it, of (upstream gradient x local derivative): the "advanced chain rule", for any DAG.
`_run_backward` is that loop (docs/build-it-yourself.md derives it); what backward refuses and what
anomaly mode checks live in checks.py.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import weakref
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, NamedTuple, Self

import numpy as np

from .checks import RELEASED, check_backward, check_saved_values
from .device import ARRAY_TYPES, array_module, is_array
from .ops import ASTYPE, Op, Recorder, call, sum_to_shape

# --------------------------------------------------------------------------- grad mode

# What the front ends do on every op, read from _grad_mode.on_each_op:
SKIP = 0  # record nothing (no_grad)
RECORD = 1  # record a node when an input requires grad
RECORD_AND_CHECK = 2  # record, and check the op for NaN/Inf (anomaly mode)


class _GradModeState(threading.local):
    recording = True  # each thread starts with recording on ...
    anomaly = False  # ... and anomaly detection off
    on_each_op = RECORD  # the two switches in one value: the front ends read it on every op

    # (GradMode sets `on_each_op` from the two switches, inline: `with no_grad()` runs once per
    # evaluation in a gradient check, where a method call more is measurable)


_grad_mode = _GradModeState()


def is_grad_enabled() -> bool:
    """Whether new operations are recorded in this thread."""
    return _grad_mode.recording


class GradMode(contextlib.ContextDecorator):
    """Sets one switch of this thread's grad mode inside a `with` block or a decorated function:
    "recording" (no_grad, enable_grad) or "anomaly" (detect_anomaly)."""

    def __init__(self, switch: str, on: bool) -> None:
        self.switch, self.on = switch, on
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        mode = _grad_mode
        self.previous.append(getattr(mode, self.switch))
        setattr(mode, self.switch, self.on)
        mode.on_each_op = (RECORD_AND_CHECK if mode.anomaly else RECORD) if mode.recording else SKIP

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        mode = _grad_mode
        setattr(mode, self.switch, self.previous.pop())
        mode.on_each_op = (RECORD_AND_CHECK if mode.anomaly else RECORD) if mode.recording else SKIP

    def _recreate_cm(self) -> GradMode:  # as a decorator: a fresh one per call, so threads share nothing
        return type(self)(self.switch, self.on)


def no_grad() -> GradMode:
    """Record nothing inside: `with tg.no_grad(): y = model(x)` (also a decorator). Per thread."""
    return GradMode("recording", False)


def enable_grad() -> GradMode:
    """Record again inside a `no_grad` block (also a decorator). Per thread."""
    return GradMode("recording", True)


class set_grad_enabled(GradMode):  # noqa: N801 (PyTorch's name)
    """Record (True) or not (False) from this call on, as `torch.set_grad_enabled(mode)`; in a `with`
    block or on a decorated function, only there: `with tg.set_grad_enabled(phase == "train"):`. Per thread."""

    def __init__(self, mode: bool) -> None:
        super().__init__("recording", bool(mode))
        super().__enter__()  # at once, as PyTorch's: a plain call switches recording

    def __enter__(self) -> None:  # (switched when made)
        pass

    def __call__(self, func: Any) -> Any:  # as a decorator: the mode of the calls only, not from here on
        super().__exit__(None, None, None)
        return super().__call__(func)

    # each decorated call gets a plain GradMode, which switches on entry (not when made)
    def _recreate_cm(self) -> GradMode:  # type: ignore[override]
        return GradMode(self.switch, self.on)


def inference_mode(mode: bool = True) -> GradMode:
    """Record nothing inside, as `torch.inference_mode()` (also a decorator); here the same as no_grad
    (PyTorch's also marks the tensors made inside as never to be recorded later). Per thread."""
    return GradMode("recording", not mode)


# --------------------------------------------------------------------------- anomaly mode


def detect_anomaly() -> GradMode:
    """Check every recorded op inside, forward and backward, for NaN and Inf (also a decorator).

    The first op whose result is not finite raises AnomalyError naming the op, its input shapes and
    the line of your code that created the node; backward checks every gradient an edge carries.
    Slower (every array is scanned, every node remembers where it was made): for debugging. Per thread.

    >>> with detect_anomaly():
    ...     y = Value(800.0).exp()
    Traceback (most recent call last):
    tinygrad_edu.checks.AnomalyError: forward of 'exp' made inf from finite input(s) of shape () (value 800) at ...
    """
    return GradMode("anomaly", True)


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
    computed from one while grad mode is on. Each kind stores `inputs` and `params` its own way (a
    Tensor in slots, a ScalarNode in two input slots) and sets them for a leaf.
    """

    __slots__ = ("data", "grad", "op", "label", "requires_grad", "_written_at", "__weakref__")

    shaped: ClassVar[bool] = False  # True where data has a shape that broadcasting may change
    retains_grad: bool = False  # whether backward() stores .grad on this node when it is not a leaf

    data: Any
    grad: Any
    op: Op | None
    inputs: tuple[Node, ...]
    params: dict[str, Any] | None
    label: str | None
    requires_grad: bool
    # When its value was last written, on the clock of in-place changes (checks.py): by the op that
    # made it, which saved its inputs then, or by a change in place (a leaf). RELEASED once a
    # backward has used up the values it saved.
    _written_at: int

    def __init__(self, data: Any, grad: Any, label: str | None, requires_grad: bool) -> None:
        """A leaf: made by no op, from no inputs."""
        self.data = data
        self.grad = grad
        self.op = None
        self.label = label
        self.requires_grad = bool(requires_grad)
        self._written_at = 0

    @classmethod
    def constant(cls, data: Any) -> Node:
        """A leaf that needs no gradient (a number or array taking part in an op)."""
        raise NotImplementedError

    def backward(self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Add d(self)/d(leaf) into the `.grad` of every leaf that requires grad.

        Gradients accumulate across calls until zeroed. `gradient` is dL/d(self); it defaults to 1
        and is required when self is not a scalar. Without `retain_graph` the graph is used up: a
        second backward through it raises RuntimeError. With `create_graph`, the gradients are
        themselves graph nodes (so `.grad` holds a Value/Tensor), and can be differentiated again;
        `retain_graph` then defaults to True, as in PyTorch, so the graph they refer to is kept.
        """
        seed = _seed_gradient(self, gradient, "backward")
        _last_backward.output = weakref.ref(self)
        retain = create_graph if retain_graph is None else retain_graph
        with _cyclic_gc_paused():
            _run_backward([self], [seed], retain, create_graph, targets=None)

    def requires_grad_(self, requires_grad: bool = True) -> Self:
        """Set requires_grad in place; returns self. Only a leaf may give it up (a computed node's flag
        says what it was computed from), as in PyTorch. A leaf that gives it up stays a parameter, frozen
        (see is_frozen), so a module still lists and saves it and requires_grad_(True) finds it again.

        >>> w = Value(1.0); w.requires_grad_(False).requires_grad, is_frozen(w)
        (False, True)
        """
        if self.op is not None and self.requires_grad and not requires_grad:
            raise RuntimeError(
                f"requires_grad_: only a leaf's requires_grad can change, and this {type(self).__name__} was "
                f"computed by '{self.op.name}'; use .detach() for its value outside the graph"
            )
        if self.op is None:
            if self.requires_grad and not requires_grad:
                _frozen[id(self)] = self
            elif requires_grad:
                _frozen.pop(id(self), None)
            self.requires_grad = bool(requires_grad)
        return self


class ScalarNode(Node):
    """A node holding one number (a Value): it has at most two inputs and its ops take no params.

    The inputs are kept in two slots, _x and _y (None where absent), rather than in a tuple, so that a
    node is one object for CPython's cycle collector to track, not two: in a scalar graph that
    collector's work is a large share of the time spent building it. The engine reads the slots
    directly; `inputs` gives them as the usual tuple.
    """

    __slots__ = ("_x", "_y")

    _x: ScalarNode | None
    _y: ScalarNode | None
    params = None
    retains_grad = True  # every one keeps its gradient, as in micrograd (so drawings can show it)

    def __init__(self, data: Any, grad: Any, label: str | None, requires_grad: bool) -> None:
        super().__init__(data, grad, label, requires_grad)
        self._x = self._y = None

    @property
    def inputs(self) -> tuple[ScalarNode, ...]:  # type: ignore[override]
        x, y = self._x, self._y
        return () if x is None else (x,) if y is None else (x, y)


# Leaves frozen by requires_grad_(False): still parameters, as a frozen torch Parameter is (a module lists
# and saves them, an optimizer takes them and leaves them alone). Held weakly, so freezing keeps nothing
# alive, and keyed by id, as a Tensor's == compares elements.
_frozen: weakref.WeakValueDictionary[int, Node] = weakref.WeakValueDictionary()


def is_frozen(node: Node) -> bool:
    """Whether node is a parameter frozen by requires_grad_(False): a leaf that required grad and now does not.

    >>> w = Tensor([1.0], requires_grad=True); is_frozen(w), is_frozen(w.requires_grad_(False)), is_frozen(Tensor([1.0]))
    (False, True, False)
    """
    return not node.requires_grad and _frozen.get(id(node)) is node


def zero_grads(params: Iterable[Node], set_to_none: bool = True) -> None:
    """Forget the parameters' gradients (Module.zero_grad and Optimizer.zero_grad): None for a Tensor,
    0.0 for a Value, their "no gradient". With set_to_none=False a Tensor's gradient array is filled
    with zeros in place instead (PyTorch's option); one that backward(create_graph=True) left as a
    graph node becomes zeros without the graph."""
    for p in params:
        if not p.shaped:
            p.grad = 0.0
        elif set_to_none or p.grad is None:
            p.grad = None
        elif is_array(p.grad):
            p.grad[...] = 0
        else:
            p.grad = array_module(p.data).zeros_like(p.data)


def _seed_gradient(out: Node, gradient: Any, where: str) -> Any:
    """dL/d(out) to start backward from: `gradient`, or 1 for a scalar output."""
    kind = type(out).__name__
    if not out.requires_grad:
        raise RuntimeError(
            f"{where}: this {kind} does not require grad, so there is no graph to differentiate "
            "(give a leaf requires_grad=True, and do not compute it under no_grad())"
        )
    if not out.shaped:
        if gradient is None:
            return 1.0
        g = gradient.data if isinstance(gradient, Node) else gradient
        if np.ndim(g) != 0:
            raise TypeError(f"{where}: the output is a Value, so its gradient is one number, not an array of shape "
                            f"{np.shape(g)}")
        return float(np.asarray(g).reshape(()))
    if gradient is None:
        if out.data.size != 1:
            raise RuntimeError(
                f"{where}: the output has shape {out.data.shape}, not a scalar; pass gradient= an array "
                f"of shape {out.data.shape} (dL/d(output)), or reduce the output first, e.g. .sum()"
            )
        data = out.data
        seed = array_module(data).empty(data.shape, dtype=data.dtype)
        seed.fill(1)  # (np.ones, with its Python layer, costs twice as much: this runs on every backward)
        return seed
    g = gradient.data if isinstance(gradient, Node) else gradient
    g = array_module(out.data).asarray(g, dtype=out.data.dtype)  # (a host gradient for a device output goes there)
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
        if isinstance(root, ScalarNode):  # (the hot path for scalar graphs: their input slots read directly)
            _scalar_order(root, visited, order)
            continue
        stack = [(root, iter(root.inputs))]  # each node with the inputs it has yet to visit
        while stack:
            node, pending = stack[-1]
            for inp in pending:
                if inp.requires_grad and inp not in visited:
                    visited.add(inp)
                    if inp.op is None:  # a leaf has no inputs: placed at once, never stacked
                        order.append(inp)
                        continue
                    stack.append((inp, iter(inp.inputs)))
                    break
            else:  # all its inputs are placed: place it
                stack.pop()
                order.append(node)
    return order


def _scalar_order(root: ScalarNode, visited: set[Node], order: list[Node]) -> None:
    """topological_order's depth-first search in a scalar graph, reading the input slots directly."""
    stack = [root]  # a node stays on the stack until its inputs are placed
    while stack:
        node = stack[-1]
        x = node._x
        if x is not None:
            if x.requires_grad and x not in visited:
                visited.add(x)
                if x.op is not None:
                    stack.append(x)
                    continue
                order.append(x)  # a leaf has no inputs: placed at once, never stacked
            y = node._y
            if y is not None and y.requires_grad and y not in visited:
                visited.add(y)
                if y.op is not None:
                    stack.append(y)
                    continue
                order.append(y)
        order.append(stack.pop())


# --------------------------------------------------------------------------- backward


def _run_backward(
    roots: Sequence[Node],
    seeds: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    targets: dict[Node, Any] | None,
    edges: dict[tuple[Node, Node], Any] | None = None,
    where: str = "backward",
) -> None:
    """Propagate gradients from `roots` (seeded with `seeds`) to every node they depend on.

    With targets=None gradients go into .grad (leaves and nodes that retain it); otherwise only
    into `targets[node]`, and no .grad changes. With `edges` (inspection, see gradient_flow), what
    each edge carries back is summed into `edges[input, node]`, and the graph is not used up.
    """
    order = topological_order(roots)
    check_saved_values(order, edges is not None, where)  # before anything changes
    if targets is None and edges is None and not create_graph and _all_values(roots) and not _grad_mode.anomaly:
        _backward_of_values(order, roots, seeds, retain_graph)  # speed: micrograd's loop, no dictionary
        return

    grads: dict[Node, Any] = {}  # dL/d(node): the sum of what the edges leaving it have carried back so far
    for root, seed in zip(roots, seeds):
        if create_graph and not isinstance(seed, Node):
            seed = type(root).constant(seed)
        grads[root] = grads[root] + seed if root in grads else seed
    # speed: gradient arrays something else may hold (the caller's seeds, and what a rule passed through
    # unchanged: add gives g to both inputs) are copied before they become a .grad; any other array the
    # engine made is fresh and taken as it is. Kept by id with a weak reference: the id of an array that
    # died is soon another array's
    shared = {id(s): _weak(s) for s in seeds}
    checking, per_edge_checks = _grad_mode.anomaly, _grad_mode.anomaly or edges is not None
    # rules record graph nodes only with create_graph; otherwise they see raw data and record nothing
    # (speed: entered by hand, not in a `with`: a null context would cost on every backward)
    recording = GradMode("recording", True) if create_graph else None
    if recording is not None:
        recording.__enter__()
    try:
        for node in reversed(order):  # a node comes after every node made from it: its gradient is complete
            g = grads.pop(node, None)
            if g is None:  # nothing flows here (e.g. the node only feeds a path that does not need it)
                continue
            if targets is None:
                if node.op is None or node.retains_grad:
                    node.grad = _accumulated(node, g, shared)
            elif node in targets:
                targets[node] = g
            op = node.op
            if op is None:  # a leaf: nothing to pass on
                continue
            if not retain_graph:  # its saved values are used up (gradient_flow retains: it uses nothing up)
                node._written_at = RELEASED

            # the rules' arguments: (g, out, *inputs), as graph nodes for create_graph, else raw data
            inputs = node.inputs
            if create_graph:
                args = (g, node, *inputs)
            elif len(inputs) == 2:  # speed: no list for the usual one or two inputs
                args = (g, node.data, inputs[0].data, inputs[1].data)
            elif len(inputs) == 1:
                args = (g, node.data, inputs[0].data)
            else:
                args = (g, node.data, *[inp.data for inp in inputs])
            params, shaped, broadcasting = node.params, node.shaped, op.broadcasting
            for inp, rule in zip(inputs, op.vjps):
                if not inp.requires_grad:
                    continue
                try:  # the edge's contribution: upstream gradient x local derivative
                    gk = rule(*args, **params) if params else rule(*args)
                except ArithmeticError:  # Python floats raise where NumPy gives inf/nan
                    gk = _numpy_rule(rule, args, params or {})
                if shaped:
                    if gk is g and not _is_shared(shared, g):  # (the seed, passed down a chain of adds: once)
                        shared[id(g)] = _weak(g)
                    data = inp.data
                    if broadcasting and (gk.shape != data.shape or gk.dtype is not data.dtype):
                        gk = _fit_to_input(gk, inp)  # undo broadcasting and type promotion
                if per_edge_checks:
                    if checking:
                        check_backward(node, inp, g, gk)
                    if edges is not None:  # an input used twice (x*x) has one edge carrying both slots
                        link = (inp, node)
                        edges[link] = gk if link not in edges else edges[link] + gk
                prev = grads.get(inp)  # the chain rule's sum over all edges leaving inp
                grads[inp] = gk if prev is None else prev + gk
    finally:
        if recording is not None:
            recording.__exit__(None, None, None)


def _accumulated(node: Node, g: Any, shared: dict[int, Any]) -> Any:
    """node.grad after a backward adds g into it: backward accumulates, never overwrites."""
    if node.grad is not None:
        total = node.grad + g
    elif type(g) is np.ndarray or type(g) in ARRAY_TYPES:  # taken as it is when nothing else can hold it
        return g if g.base is None and not _is_shared(shared, g) else g.copy()
    else:  # a float, or a graph node (never changed in place)
        total = g
    if type(total) is not np.ndarray and node.shaped and not isinstance(total, Node) and type(total) not in ARRAY_TYPES:
        total = np.asarray(total)  # a sum of 0-d arrays is a NumPy scalar: keep an array
    return total


def _weak(x: Any) -> Any:
    """A weak reference to x (a function returning x where x takes none, as a NumPy scalar)."""
    try:
        return weakref.ref(x)
    except TypeError:
        return lambda: x


def _is_shared(shared: dict[int, Any], g: Any) -> bool:
    """Whether g itself (not a later array given the id of one that died) is among `shared`."""
    ref = shared.get(id(g))
    return ref is not None and ref() is g


def _all_values(roots: Sequence[Node]) -> bool:
    return bool(roots) and isinstance(roots[0], ScalarNode) and all(isinstance(r, ScalarNode) for r in roots)


def _backward_of_values(order: list[Node], roots: Sequence[Node], seeds: Sequence[Any], retain_graph: bool) -> None:
    """_run_backward for a plain backward() of Values (speed): micrograd's loop.

    Every Value keeps its gradient, so each edge's contribution is summed straight into its input's
    .grad: no dictionary, none of the per-edge work a float does not need. What the .grads held before
    is set aside and added back at the end, so each becomes (held) + (this backward's sum): the same
    floats as _run_backward's loop (up to the sign of a zero: a sum starts at 0.0).
    """
    held = {n: n.grad for n in order if type(n.grad) is not float or n.grad}
    for n in held:
        n.grad = 0.0
    try:
        for root, seed in zip(roots, seeds):
            root.grad += seed
        for node in reversed(order):  # node.grad holds all that reached it
            op = node.op
            if op is None:
                continue
            if not retain_graph:
                node._written_at = RELEASED
            x, y = node._x, node._y  # type: ignore[attr-defined]
            args = (node.grad, node.data, x.data) if y is None else (node.grad, node.data, x.data, y.data)
            try:
                gx = op.vjps[0](*args) if x.requires_grad else None
                gy = op.vjps[1](*args) if y is not None and y.requires_grad else None
            except ArithmeticError:  # Python floats raise where NumPy gives inf/nan
                gx = _numpy_rule(op.vjps[0], args, {}) if x.requires_grad else None
                gy = _numpy_rule(op.vjps[1], args, {}) if y is not None and y.requires_grad else None
            if gx is not None:
                x.grad += gx
            if gy is not None:
                y.grad += gy
    finally:  # (also after an error: no gradient held before is lost)
        for n, old in held.items():
            n.grad = n.grad if old is None else old + n.grad


def _numpy_rule(rule: Any, args: tuple[Any, ...], params: dict[str, Any]) -> float:
    """Re-run a rule on float64 NumPy scalars: IEEE results (inf, nan) where Python floats raise."""
    with np.errstate(all="ignore"):
        return float(rule(*(np.float64(a) for a in args), **params))


def _fit_to_input(g: Any, inp: Node) -> Any:
    """Undo broadcasting and type promotion: the gradient takes its input's shape and dtype."""
    data = inp.data
    if g.shape != data.shape:
        g = sum_to_shape(g, data.shape)
    if g.dtype is not data.dtype and g.dtype != data.dtype:
        g = call(ASTYPE, g, dtype=data.dtype)  # recorded when g is a graph node (create_graph)
    return g


class _cyclic_gc_paused:
    """Pause CPython's cycle collector while the engine walks a graph: `with _cyclic_gc_paused():`.

    Backward makes no reference cycles, but the bookkeeping it allocates (one stack entry per node)
    would trigger full collections that traverse the whole graph again and again: on a
    million-node graph that is most of the time. Reference counting still frees everything.
    (A class: a third of the cost of a generator-based context manager, and it runs on every backward.)
    """

    __slots__ = ("was_enabled",)

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()


# --------------------------------------------------------------------------- inspection and grad()


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
        _run_backward([output], [seed], True, False, grads, edges, where="gradient_flow")
    return GradientFlow({n: g for n, g in grads.items() if g is not None}, edges)


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
        _run_backward(outputs, seeds, create_graph if retain_graph is None else retain_graph, create_graph, targets,
                      where="grad")
    results = tuple(_as_array(r) if x.shaped and r is not None and type(r) is not np.ndarray else r
                    for x, r in ((x, targets[x]) for x in inputs))
    for i, (x, r) in enumerate(zip(inputs, results)):
        if r is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} ({_describe(x)}) is not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return results


def _as_array(g: Any) -> Any:
    return g if isinstance(g, Node) or is_array(g) else np.asarray(g)


def _describe(x: Any) -> str:
    label = getattr(x, "label", None)
    return f"{type(x).__name__} {label!r}" if label else type(x).__name__
