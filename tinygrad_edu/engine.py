"""The graph node, grad mode, and the one reverse-mode engine that serves Value and Tensor.

Each node records the op that made it, its inputs in argument order, and the op's metadata. Nothing
is captured in closures, so a graph is freed by reference counting as soon as its output is dropped.

Backward visits the graph in reverse topological order and gives every node the sum, over every edge
leaving it, of (upstream gradient x local derivative): the "advanced chain rule", for any DAG.
"""

from __future__ import annotations

import contextlib
import gc
import linecache
import math
import os
import sys
import threading
import weakref
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

import numpy as np

from .device import ARRAY_TYPES, array_module, is_array, to_host
from .ops import ASTYPE, Op, Recorder, call, sum_to_shape


# --------------------------------------------------------------------------- grad mode


CHECKING = 2  # the value of _grad_mode.enabled in anomaly mode: record, and check every op for NaN/Inf


class _GradModeState(threading.local):
    recording = True  # each thread starts with recording on ...
    anomaly = False  # ... and anomaly detection off
    enabled = 1  # what the front ends read on every op: 0 records nothing, 1 records, CHECKING also checks

    # (GradMode sets `enabled` from the two switches, inline: `with no_grad()` runs once per evaluation
    # in a gradient check, where a method call more is measurable)


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
        mode.enabled = (CHECKING if mode.anomaly else 1) if mode.recording else 0

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        mode = _grad_mode
        setattr(mode, self.switch, self.previous.pop())
        mode.enabled = (CHECKING if mode.anomaly else 1) if mode.recording else 0

    def _recreate_cm(self) -> GradMode:  # as a decorator: a fresh one per call, so threads share nothing
        return type(self)(self.switch, self.on)


def no_grad() -> GradMode:
    """Record nothing inside: `with tg.no_grad(): y = model(x)` (also a decorator). Per thread."""
    return GradMode("recording", False)


def enable_grad() -> GradMode:
    """Record again inside a `no_grad` block (also a decorator). Per thread."""
    return GradMode("recording", True)


# --------------------------------------------------------------------------- anomaly mode


class AnomalyError(RuntimeError):
    """In anomaly mode, an op whose forward or backward made NaN or Inf from finite inputs."""


def detect_anomaly() -> GradMode:
    """Check every recorded op inside, forward and backward, for NaN and Inf (also a decorator).

    The first op whose result is not finite raises AnomalyError naming the op, its input shapes and
    the line of your code that created the node; backward checks every gradient an edge carries.
    Slower (every array is scanned, every node remembers where it was made): for debugging. Per thread.

    >>> with detect_anomaly():
    ...     y = Value(800.0).exp()
    Traceback (most recent call last):
    tinygrad_edu.engine.AnomalyError: forward of 'exp' made inf from finite input(s) of shape () (value 800) at ...
    """
    return GradMode("anomaly", True)


V = TypeVar("V")


class WeakIdKeyDictionary(Generic[V]):
    """node -> value, each entry gone when its node is: a weakref.WeakKeyDictionary keyed by identity,
    since that one compares keys with ==, which a Tensor answers elementwise (PyTorch keeps one too)."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[Any], V]] = {}

    def __setitem__(self, node: Any, value: V) -> None:
        key, entries = id(node), self._entries

        def forget(ref: weakref.ref[Any]) -> None:
            if entries.get(key, (None,))[0] is ref:  # (not a newer entry for an object at the same address)
                del entries[key]

        entries[key] = (weakref.ref(node, forget), value)

    def get(self, node: Any, default: Any = None) -> Any:
        entry = self._entries.get(id(node))
        return entry[1] if entry is not None and entry[0]() is node else default

    def __len__(self) -> int:
        return len(self._entries)


_created_at: WeakIdKeyDictionary[str] = WeakIdKeyDictionary()  # nodes made in anomaly mode
# nodes made in anomaly mode -> (input k, fingerprint of its data) for every input the node's rules read:
# catches writes the library cannot see (t.data[...] = v, v.data = x) before a backward reads them
_fingerprints: WeakIdKeyDictionary[tuple[tuple[int, Any], ...]] = WeakIdKeyDictionary()
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_frame() -> str:
    """The innermost line of the caller's code outside this package: where a node is being made."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR + os.sep):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return "(inside tinygrad_edu)"
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    where = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
    return f"{where}: {line}" if line else where


def _describe_data(data: Any) -> str:
    if is_array(data) and data.size > 1:
        return f"shape {data.shape}"
    return f"shape {np.shape(data)} (value {float(to_host(data).reshape(())):g})"


def _fingerprint(data: Any) -> Any:
    """What a value was when a node saved it: the float itself, or an array's shape, dtype and CRC-32."""
    if type(data) is float:
        return data.hex()  # (nan == nan as text)
    array = np.asarray(to_host(data))  # (a host copy of a device's array: anomaly mode is for debugging)
    return array.shape, array.dtype.str, zlib.crc32(array.tobytes())  # (a copy: anomaly mode is for debugging)


def _not_finite(data: Any) -> bool:
    if type(data) is float:
        return not math.isfinite(data)
    return not bool(np.isfinite(data).all())  # (a host bool: one sync per check on a GPU)


def check_forward(node: Node) -> None:
    """In anomaly mode, after a recorded op: remember where the node was made and a fingerprint of
    each input its rules read; raise if the op made NaN or Inf from finite inputs."""
    site = _user_frame()
    _created_at[node] = site
    assert node.op is not None
    inputs = node.inputs
    reads = range(len(inputs)) if node.op.reads is None else node.op.reads
    _fingerprints[node] = tuple((k, _fingerprint(inputs[k].data)) for k in reads if k < len(inputs))
    if _not_finite(node.data) and not any(_not_finite(i.data) for i in node.inputs):
        what = "nan" if np.isnan(node.data).any() else ("-inf" if np.min(node.data) == -math.inf else "inf")
        shapes = " and ".join(_describe_data(i.data) for i in node.inputs)
        raise AnomalyError(f"forward of '{node.op.name}' made {what} from finite input(s) of {shapes} at {site}")


def _check_backward(node: Node, inp: Node, g: Any, gk: Any) -> None:
    """In anomaly mode, after an edge's rule: raise if it made NaN or Inf from a finite gradient."""
    g, gk = (v.data if isinstance(v, Node) else v for v in (g, gk))  # graph nodes with create_graph
    if _not_finite(gk) and not _not_finite(g):
        assert node.op is not None
        k = next(i for i, x in enumerate(node.inputs) if x is inp)
        shapes = " and ".join(_describe_data(i.data) for i in node.inputs)
        site = _created_at.get(node, "an unknown place (the node was made outside detect_anomaly())")
        raise AnomalyError(
            f"backward of '{node.op.name}' made a non-finite gradient for its input {k} (inputs of {shapes}; "
            f"upstream gradient finite); the node was created at {site}"
        )


class _LastBackward(threading.local):
    output: weakref.ref[Node] | None = None  # weak: remembering an output must not keep its graph alive


_last_backward = _LastBackward()


def last_backward_output() -> Node | None:
    """The output of this thread's latest backward() call, while something else keeps it alive
    (explanations use it when not told which output a gradient is of)."""
    ref = _last_backward.output
    return ref() if ref is not None else None


# --------------------------------------------------------------------------- in-place changes

# The clock of in-place changes: every tracked change of a leaf (an optimizer step, t[...] = v, t += v)
# moves it on and stamps the leaf; every node made by an op is stamped with the time it saved its
# inputs. Backward refuses a node whose input was changed after that: its rule would read new values.
epoch = [0]  # a list, so that value.py and tensor.py read the one counter
RELEASED = -1


def mark_modified(node: Node, where: str) -> None:
    """Record an in-place change of a leaf; refuse one of a node made by an op (its graph needs it)."""
    if node.op is not None:
        raise RuntimeError(
            f"{where}: cannot change a {type(node).__name__} made by '{node.op.name}' in place: the graph "
            "that made it may need its value; change a copy (x.detach() makes one without the graph)"
        )
    epoch[0] += 1
    node._epoch = epoch[0]
    if is_array(node.data):  # views of this memory (t[1:], t.T) change with it
        memory = _memory_of(node.data)
        key = id(memory)  # the entry goes when the memory does: nothing accumulates over a long run
        try:
            ref = weakref.ref(memory, lambda _: _changed_memory.pop(key, None))
        except TypeError:  # an array library without weak references: only the leaf itself is tracked
            return
        _changed_memory[key] = (ref, epoch[0])


# id of an array that owns memory -> (a weak reference to it, the epoch it was last changed in place)
_changed_memory: dict[int, tuple[weakref.ref[np.ndarray], int]] = {}


def _memory_of(array: Any) -> Any:
    """The array that owns the memory an array views (NumPy's or a device's)."""
    while is_array(array.base):
        array = array.base
    return array


def _changed_since(x: Node, made: int) -> bool:
    """Whether x's value was changed in place after epoch `made`: x itself, or the memory it views."""
    if x._epoch > made and x.op is None:
        return True
    data = x.data
    if _changed_memory and is_array(data):
        memory = _memory_of(data)
        entry = _changed_memory.get(id(memory))
        if entry is not None and entry[0]() is memory and entry[1] > made:
            return True
    return False


# --------------------------------------------------------------------------- the node


class Node(Recorder):
    """A value in a computation graph: what a Value and a Tensor have in common.

    `op` and `inputs` say how it was made (None and () for a leaf), `params` holds the op's metadata
    (axis, shape, index). `requires_grad` is true for leaves that want a gradient and for every node
    computed from one while grad mode is on. Each kind stores `inputs` and `params` its own way (a
    Tensor in slots, a ScalarNode in two input slots) and sets them for a leaf.
    """

    __slots__ = ("data", "grad", "op", "label", "requires_grad", "_epoch", "__weakref__")

    shaped: ClassVar[bool] = False  # True where data has a shape that broadcasting may change
    retains_grad: bool = False  # whether backward() stores .grad on this node when it is not a leaf

    data: Any
    grad: Any
    op: Op | None
    inputs: tuple[Node, ...]
    params: dict[str, Any] | None
    label: str | None
    requires_grad: bool
    # A node made by an op: the epoch it was made in (when it saved its inputs), or RELEASED after a
    # backward used it up. A leaf: the epoch of its latest in-place change (0: never changed).
    _epoch: int

    def __init__(self, data: Any, grad: Any, label: str | None, requires_grad: bool) -> None:
        """A leaf: made by no op, from no inputs."""
        self.data = data
        self.grad = grad
        self.op = None
        self.label = label
        self.requires_grad = bool(requires_grad)
        self._epoch = 0

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


def _check_saved_values(order: list[Node], inspecting: bool, where: str) -> None:
    """Refuse a backward whose rules would read values that are gone or changed: a graph used up by
    an earlier backward, or an input changed in place after the node saved it."""
    now = epoch[0]
    for node in order:
        made = node._epoch
        if made >= now or node.op is None:  # made after the latest in-place change (RELEASED is below 0)
            continue
        op = node.op
        if made == RELEASED:
            if inspecting:  # (inspection only reads: the values are still there)
                continue
            raise RuntimeError(
                f"{where}: cannot go through the graph a second time (at a '{op.name}' node): its saved values "
                "were released by the first backward; pass retain_graph=True to that first call"
            )
        inputs = node.inputs  # something changed in place since this node was made: an input it reads?
        for k in range(len(inputs)) if op.reads is None else op.reads:
            if k < len(inputs) and _changed_since(inputs[k], made):
                x = inputs[k]
                name = f" {x.label!r}" if x.label else ""
                raise RuntimeError(
                    f"{where}: input {k} of a '{op.name}' node ({type(x).__name__}{name} of shape "
                    f"{np.shape(x.data)}) was changed in place after the node saved it (an optimizer step, "
                    "t[...] = v, or t += v); its backward rule would read the new value. Compute the "
                    "forward again after changing it, or change it after backward"
                )
    if _fingerprints:  # nodes made in anomaly mode: are the inputs they saved still what they were?
        _check_fingerprints(order, where)


def _check_fingerprints(order: list[Node], where: str) -> None:
    for node in order:
        saved = _fingerprints.get(node)
        if saved is None or node._epoch == RELEASED:
            continue
        for k, fingerprint in saved:
            x = node.inputs[k]
            if _fingerprint(x.data) != fingerprint:
                assert node.op is not None
                name = f" {x.label!r}" if x.label else ""
                raise RuntimeError(
                    f"{where}: input {k} of a '{node.op.name}' node ({type(x).__name__}{name} of shape "
                    f"{np.shape(x.data)}) was changed after the node saved it, by a write the library does "
                    "not see (into .data: t.data[...] = v, NumPy writing into t.data, v.data = x); its backward "
                    "rule would read the new value. Change it after backward, or compute the forward again after "
                    "changing it (t[...] = v, t -= v and optimizer steps are tracked even outside anomaly mode). "
                    f"The node was created at {_created_at.get(node)}"
                )


def _as_array(g: Any) -> Any:
    return g if isinstance(g, Node) or is_array(g) else np.asarray(g)


def _weak(x: Any) -> Any:
    """A weak reference to x (a function returning x where x takes none, as a float)."""
    try:
        return weakref.ref(x)
    except TypeError:
        return lambda: x


def _is_shared(shared: dict[int, Any], g: Any) -> bool:
    """Whether g itself (not a later array given the id of one that died) is among `shared`."""
    ref = shared.get(id(g))
    return ref is not None and ref() is g


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
    where: str = "backward",
) -> None:
    """Propagate gradients from `roots` (seeded with `seeds`) to every node they depend on.

    With targets=None gradients go into .grad (leaves and nodes that retain it); otherwise only
    into `targets[node]`, and no .grad changes. With `edges` (inspection, see gradient_flow), what
    each edge carries back is summed into `edges[input, node]`, and the graph is not used up.
    """
    order = topological_order(roots)
    _check_saved_values(order, edges is not None, where)  # before anything changes
    checking = _grad_mode.anomaly
    # A plain backward of scalars sums each gradient straight into .grad, as micrograd does (every
    # scalar node keeps its gradient): no dict, no per-edge work that a float does not need. What a
    # .grad held before is set aside and added back at the end, so each becomes (held) + (this
    # backward's sum), the same floats the general path gives (up to the sign of a zero: a sum starts
    # at 0.0).
    in_grad = (targets is None and not (create_graph or checking or edges is not None)
               and bool(roots) and isinstance(roots[0], ScalarNode)  # (the usual Tensor root: no loop)
               and all(isinstance(root, ScalarNode) for root in roots))
    held = {n: n.grad for n in order if type(n.grad) is not float or n.grad} if in_grad else {}
    for n in held:
        n.grad = 0.0
    grads: dict[Node, Any] = {}
    # gradient arrays something else may hold: the caller's seeds, and what a rule passed through
    # unchanged (add gives g to both inputs). Copied before they become a .grad, so that no two .grad
    # arrays share memory; any other array the engine made is fresh and taken as it is. Kept by id
    # with a weak reference: the id of an array that died is soon another array's
    shared = {id(s): _weak(s) for s in seeds}
    for root, seed in zip(roots, seeds):
        if create_graph and not isinstance(seed, Node):
            seed = type(root).constant(seed)
        if in_grad:
            root.grad += seed
        else:
            grads[root] = grads[root] + seed if root in grads else seed

    get = grads.get
    per_edge_checks = checking or edges is not None
    # rules record graph nodes only with create_graph; otherwise they see raw data and record nothing
    # (entered by hand, not in a `with`: a null context would cost on every backward)
    recording = GradMode("recording", True) if create_graph else None
    if recording is not None:
        recording.__enter__()
    try:
        for node in reversed(order):
            op = node.op
            if in_grad and isinstance(node, ScalarNode):  # its .grad holds all that reached it
                if op is None:
                    continue
                if not retain_graph:
                    node._epoch = RELEASED
                g, out, x, y = node.grad, node.data, node._x, node._y
                assert x is not None  # (made by an op: it has an input)
                if y is None:
                    if x.requires_grad:
                        rule = op.vjps[0]  # (indexed: vjps may be a ForEachInput)
                        try:
                            x.grad += rule(g, out, x.data)
                        except ArithmeticError:  # Python floats raise where NumPy gives inf/nan
                            x.grad += _numpy_rule(rule, (g, out, x.data), {})
                    continue
                xd, yd = x.data, y.data
                rule, rule_y = op.vjps[0], op.vjps[1]
                if x.requires_grad:
                    try:
                        x.grad += rule(g, out, xd, yd)
                    except ArithmeticError:
                        x.grad += _numpy_rule(rule, (g, out, xd, yd), {})
                if y.requires_grad:
                    try:
                        y.grad += rule_y(g, out, xd, yd)
                    except ArithmeticError:
                        y.grad += _numpy_rule(rule_y, (g, out, xd, yd), {})
                continue

            g = grads.pop(node, None)
            if g is None:  # nothing flows here (e.g. the node only feeds a non-differentiable path)
                continue
            if targets is None:
                if op is None or node.retains_grad:  # into .grad: backward accumulates, never overwrites
                    if node.grad is not None:
                        total = node.grad + g
                    elif type(g) is np.ndarray or type(g) in ARRAY_TYPES:  # taken as it is when nothing else can hold it
                        total = g if g.base is None and not _is_shared(shared, g) else g.copy()
                    else:  # a float, or a graph node (never changed in place)
                        total = g
                    if (type(total) is not np.ndarray and node.shaped and not isinstance(total, Node)
                            and type(total) not in ARRAY_TYPES):
                        total = np.asarray(total)  # a sum of 0-d arrays is a NumPy scalar: keep an array
                    node.grad = total
            elif node in targets:
                targets[node] = g
            if op is None:
                continue
            if not retain_graph:  # (gradient_flow inspects with retain_graph=True: it uses nothing up)
                node._epoch = RELEASED

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
            broadcasting = op.broadcasting
            for inp, rule in zip(inputs, op.vjps):
                if not inp.requires_grad:
                    continue
                try:  # the edge's contribution: upstream gradient x local derivative
                    gk = rule(*args, **params) if params else rule(*args)
                except ArithmeticError:  # Python floats raise where NumPy gives inf/nan
                    gk = _numpy_rule(rule, args, params or {})
                if shaped:
                    if gk is g:
                        shared[id(g)] = _weak(g)
                    data = inp.data
                    if broadcasting and (gk.shape != data.shape or gk.dtype is not data.dtype):
                        gk = _fit_to_input(gk, inp)
                if per_edge_checks:
                    if checking:
                        _check_backward(node, inp, g, gk)
                    if edges is not None:  # an input used twice (x*x) has one edge carrying both slots
                        link = (inp, node)
                        edges[link] = gk if link not in edges else edges[link] + gk
                prev = get(inp)  # the chain rule's sum over all edges leaving inp
                grads[inp] = gk if prev is None else prev + gk
    finally:  # (also after an error: no gradient held before is lost)
        if recording is not None:
            recording.__exit__(None, None, None)
        for n, old in held.items():
            n.grad = n.grad if old is None else old + n.grad


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


def _fit_to_input(g: Any, inp: Node) -> Any:
    """Undo broadcasting and type promotion: the gradient takes its input's shape and dtype."""
    data = inp.data
    if g.shape != data.shape:
        g = sum_to_shape(g, data.shape)
    if g.dtype is not data.dtype and g.dtype != data.dtype:
        g = call(ASTYPE, g, dtype=data.dtype)  # recorded when g is a graph node (create_graph)
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


def _describe(x: Any) -> str:
    label = getattr(x, "label", None)
    return f"{type(x).__name__} {label!r}" if label else type(x).__name__
