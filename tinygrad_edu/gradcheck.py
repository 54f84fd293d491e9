"""Gradient checking: the engine's gradients against central finite differences of the forward alone.

The expected value of every check comes from evaluating a forward at nudged inputs: the user's
function, or, to find which op is to blame, that op's own forward at one node. No backward rule is
ever read for the truth.

The checked inputs keep their identity: for the length of a check each one's `.data` is swapped for
a float64 copy that the check nudges, and the original array (or float) is put back at the end, even
when the check fails or the function raises. `.grad` is never touched.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .device import device_of, is_array, to_host
from .engine import Node, _cyclic_gc_paused, enable_grad, grad, no_grad, topological_order
from .ops import sum_to_shape

# A kink is declared where the one-sided differences disagree by this many times the tolerance; a
# smooth function's one-sided differences differ only by about f''·eps.
_KINK_FACTOR = 10.0
_WORST_SHOWN = 5  # rows of the table of worst elements in a report


class GradcheckError(AssertionError):
    """The analytical gradient disagrees with finite differences; `.report` holds the details."""

    def __init__(self, report: GradcheckReport) -> None:
        super().__init__(str(report))
        self.report = report


class GradcheckWarning(UserWarning):
    """Something the check did that changes what it means: a float64 copy, a kink, a skipped node."""


# --------------------------------------------------------------------------- what a report holds


@dataclass(frozen=True)
class Mismatch:
    """One Jacobian entry where the analytical and the numerical value disagree."""

    input: str  # e.g. "input 0 ('x')", or a module's parameter name
    element: tuple[int, ...] | None  # None: a random projection (fast mode), not one element
    output: str | None  # which output element, when the function has more than one
    analytical: float
    numerical: float

    @property
    def abs_error(self) -> float:
        return abs(self.analytical - self.numerical)

    @property
    def rel_error(self) -> float:
        if self.abs_error == 0:
            return 0.0
        return self.abs_error / abs(self.numerical) if self.numerical != 0 else math.inf

    def __str__(self) -> str:
        return (f"{_where(self.input, self.element, self.output)}: analytical {self.analytical:.6g}, "
                f"numerical {self.numerical:.6g} (abs error {self.abs_error:.3g}, rel error {self.rel_error:.3g})")


@dataclass(frozen=True)
class Kink:
    """A point where the function has no derivative: its left and right derivatives differ."""

    input: str
    element: tuple[int, ...] | None
    output: str | None
    left: float
    right: float
    analytical: float

    @property
    def chose(self) -> str:
        """What the analytical gradient picked at the kink, in words."""
        if math.isclose(self.analytical, self.left, rel_tol=1e-6, abs_tol=1e-9):
            return "the left derivative"
        if math.isclose(self.analytical, self.right, rel_tol=1e-6, abs_tol=1e-9):
            return "the right derivative"
        return "a value between the two"

    def __str__(self) -> str:
        return (f"non-differentiable point at {_where(self.input, self.element, self.output)}: left derivative "
                f"{self.left:.6g}, right derivative {self.right:.6g}; the analytical gradient chose "
                f"{self.analytical:.6g} ({self.chose})")


@dataclass(frozen=True)
class RuleDisagreement:
    """A node whose op's backward rule disagrees with finite differences of that op's own forward."""

    op: str
    node: str  # the node, described by its label and input shapes
    input: int  # which input of the op
    rule: float  # <g, J v> from the backward rule, for random unit vectors g and v
    numerical: float  # the same from central differences of the op's forward

    def __str__(self) -> str:
        return (f"the backward rule of op '{self.op}' is wrong: at {self.node}, for its input {self.input}, "
                f"the rule gives <g, J v> = {self.rule:.6g} but finite differences of the op's own forward "
                f"give {self.numerical:.6g} (g, v random unit vectors)")


@dataclass
class InputSummary:
    """How one checked input (or parameter) fared."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    elements: int
    failed: int = 0  # elements with at least one failing Jacobian entry
    kinks: int = 0
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0


@dataclass
class GradcheckReport:
    """The outcome of a check; truthy when it passed. `str(report)` is the text a person reads."""

    passed: bool
    fast_mode: bool
    eps: float
    atol: float
    rtol: float
    inputs: list[InputSummary]
    evaluations: int  # forward evaluations used for the numerical side
    mismatches: list[Mismatch] = field(default_factory=list)  # worst first
    kinks: list[Kink] = field(default_factory=list)
    rules: list[RuleDisagreement] = field(default_factory=list)
    nodes_checked: int | None = None  # nodes whose rules were checked to find a cause (after a failure)
    notes: list[str] = field(default_factory=list)
    check: str = "gradcheck"  # which function made the report
    projection_error: float | None = None  # fast mode: |analytical - numerical| of u·J·v

    def __bool__(self) -> bool:
        return self.passed

    @property
    def order(self) -> int:
        """1: gradients were checked; 2: gradients of gradients."""
        return 2 if self.check == "gradgradcheck" else 1

    def __str__(self) -> str:
        what = self.check
        unit = "parameter(s)" if what == "check_module_grads" else "input(s)"
        how = "random projections u·J·v" if self.fast_mode else "central finite differences"
        settings = f"eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g}"
        lines = []
        if self.passed:
            elements = sum(s.elements for s in self.inputs)
            worst = (self.projection_error or 0.0) if self.fast_mode else max((s.max_abs_error for s in self.inputs), default=0.0)
            lines.append(f"{what} passed: {len(self.inputs)} {unit}, {elements} element(s) agree with {how} "
                         f"({settings}; max abs error {worst:.3g}; {self.evaluations} evaluations)")
        else:
            lines.append(f"{what} failed: the analytical gradient disagrees with {how} ({settings})")
            for s in self.inputs:
                if s.failed:
                    shape = f", shape {s.shape}" if s.shape else ""
                    if self.fast_mode:
                        lines.append(f"  the projection onto {s.name}{shape} disagrees")
                    else:
                        lines.append(f"  {s.failed} of {s.elements} elements of {s.name}{shape} disagree")
            if self.mismatches:
                lines.append(f"Largest error: {self.mismatches[0]}")
                lines.append(f"The {min(len(self.mismatches), _WORST_SHOWN)} worst:")
                lines.extend("  " + row for row in _table(self.mismatches[:_WORST_SHOWN]))
            if self.rules:
                lines.append("Cause: " + "\n       ".join(map(str, self.rules)))
            elif self.nodes_checked is not None:
                lines.append(
                    f"Cause: the backward rule of every op agrees with its own forward at all {self.nodes_checked} "
                    "node(s) of the graph, so the gradient is lost in how the function is built: a value "
                    "taken out of the graph (.data, .item(), .numpy(), float(), a Tensor made from data) "
                    "carries no gradient back"
                )
        lines.extend(map(str, self.kinks[:_WORST_SHOWN]))
        if len(self.kinks) > _WORST_SHOWN:
            lines.append(f"... and {len(self.kinks) - _WORST_SHOWN} more non-differentiable points")
        lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)


def _where(input: str, element: tuple[int, ...] | None, output: str | None) -> str:
    text = input if element is None or element == () else f"{input}, element {element}"
    return f"{text}, {output}" if output else text


def _table(rows: Sequence[Mismatch]) -> list[str]:
    cells = [("input", "element", "output", "analytical", "numerical", "abs error", "rel error")]
    for m in rows:
        cells.append((m.input, "projection" if m.element is None else str(m.element), m.output or "",
                      f"{m.analytical:.6g}", f"{m.numerical:.6g}", f"{m.abs_error:.3g}", f"{m.rel_error:.3g}"))
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]


# --------------------------------------------------------------------------- inputs and outputs


@dataclass
class _Leaf:
    """A checked input: the node, its name in reports, and its own data, put back after the check."""

    node: Node
    name: str
    original: Any

    @property
    def size(self) -> int:
        return int(self.node.data.size) if self.node.shaped else 1


def _find_leaves(args: Sequence[Any], names: Sequence[str] | None = None) -> list[_Leaf]:
    """The nodes in args (lists and tuples searched too) that require grad, each once, in order."""
    leaves: list[_Leaf] = []
    seen: set[int] = set()
    pending: list[tuple[str, Any]] = [(f"input {i}", a) for i, a in enumerate(args)][::-1]
    while pending:
        where, item = pending.pop()
        if isinstance(item, Node):
            if item.requires_grad and id(item) not in seen:
                seen.add(id(item))
                label = f" ({item.label!r})" if item.label else ""
                leaves.append(_Leaf(item, where + label, item.data))
        elif isinstance(item, (list, tuple)):
            pending.extend((f"{where}[{j}]", x) for j, x in reversed(list(enumerate(item))))
    if names is not None:
        for leaf, name in zip(leaves, names):
            leaf.name = name
    return leaves


@contextlib.contextmanager
def _float64_working_copies(leaves: Sequence[_Leaf]) -> Iterator[list[str]]:
    """Give each leaf a float64 copy of its data to nudge; put every original back at the end."""
    notes = []
    try:
        for leaf in leaves:
            node = leaf.node
            if node.shaped:
                if node.data.dtype != np.float64:
                    notes.append(
                        f"{leaf.name} is {node.data.dtype}; it was checked in a float64 copy (finite differences "
                        f"in {node.data.dtype} are too coarse to judge a gradient), so the check covers the rules' "
                        "mathematics, not the rounding of the lower-precision computation"
                    )
                data = node.data  # (a GPU's array stays there: the function runs where its inputs are)
                node.data = data.astype(np.float64) if type(data) is not np.ndarray and is_array(data) \
                    else np.array(data, dtype=np.float64)
            else:
                node.data = float(node.data)
        yield notes
    finally:
        for leaf in leaves:
            leaf.node.data = leaf.original


def _outputs(result: Any, where: str) -> list[Node]:
    """The function's outputs as a list of nodes (it may return one, or a tuple or list of them)."""
    outs = list(result) if isinstance(result, (list, tuple)) else [result]
    for i, out in enumerate(outs):
        if not isinstance(out, Node):
            raise TypeError(f"{where}: the function must return a Value or a Tensor (or a tuple of them); "
                            f"output {i} is a {type(out).__name__}")
    return outs


def _flat(outs: Sequence[Node]) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(to_host(o.data), dtype=np.float64)) for o in outs])


def _output_names(outs: Sequence[Node]) -> list[str | None]:
    """A name for every output element, in the order of _flat; None for a single scalar output."""
    if len(outs) == 1 and np.size(outs[0].data) == 1:
        return [None]
    names: list[str | None] = []
    for i, out in enumerate(outs):
        prefix = f"output {i}" if len(outs) > 1 else "output"
        shape = np.shape(out.data)
        names.extend(f"{prefix} element {idx}" if shape else prefix for idx in np.ndindex(*shape))
    return names


def _element(leaf: _Leaf, j: int) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(j, leaf.node.data.shape)) if leaf.node.shaped else ()


class _Evaluator:
    """Runs the function for its value alone, counting the calls; call it inside `with evaluator.mode():`."""

    def __init__(self, fn: Callable[..., Any], args: Sequence[Any], record: bool, where: str) -> None:
        self.fn, self.args, self.record, self.where = fn, args, record, where
        self.calls = 0

    @contextlib.contextmanager
    def mode(self) -> Iterator[None]:
        """No graph unless `record` (gradgradcheck's function differentiates inside); IEEE inf/nan quietly.

        The cycle collector is paused as in backward: evaluations make no cycles, only many objects.
        """
        with enable_grad() if self.record else no_grad(), np.errstate(all="ignore"), _cyclic_gc_paused():
            yield

    def __call__(self) -> Any:
        """The outputs' values: one output's data, copied (the usual case, kept quick), else a flat vector."""
        self.calls += 1
        result = self.fn(*self.args)
        if isinstance(result, Node):  # copied: it may be a view of an input the check is about to nudge
            data = result.data
            if not is_array(data) or data.ndim == 0:  # one number (a loss): float() is the quick copy
                return float(data)
            return np.array(to_host(data), dtype=np.float64)  # (the comparison happens on the host)
        return _flat(_outputs(result, self.where))

    def vector(self) -> np.ndarray:
        return np.ravel(np.asarray(self(), dtype=np.float64))


# --------------------------------------------------------------------------- the two sides


def _analytical_jacobian(outs: Sequence[Node], leaves: Sequence[_Leaf]) -> np.ndarray:
    """J[input element, output element], one vector-Jacobian product per output element."""
    nodes = [leaf.node for leaf in leaves]
    n_in = sum(leaf.size for leaf in leaves)
    columns = []
    for out in outs:
        size = int(np.size(out.data))
        for k in range(size):
            if not out.requires_grad:  # the output does not depend on any input
                columns.append(np.zeros(n_in))
                continue
            seed: Any = 1.0
            if out.shaped:
                seed = np.zeros(out.data.shape)
                seed.flat[k] = 1.0
            grads = grad(out, nodes, grad_outputs=seed, retain_graph=True, allow_unused=True)
            columns.append(_concat(grads, leaves))
    return np.stack(columns, axis=1) if columns else np.zeros((n_in, 0))


def _concat(grads: Sequence[Any], leaves: Sequence[_Leaf]) -> np.ndarray:
    """Gradients for all leaves as one float64 vector (an unused input's gradient is zero)."""
    parts = []
    for g, leaf in zip(grads, leaves):
        g = g.data if isinstance(g, Node) else g  # a graph node (from create_graph) or raw data
        parts.append(np.zeros(leaf.size) if g is None else np.ravel(np.asarray(to_host(g), dtype=np.float64)))
    return np.concatenate(parts)


@dataclass
class _Differences:
    """Finite differences for each input element (rows) and output element (columns)."""

    central: np.ndarray
    left: np.ndarray
    right: np.ndarray


def _numerical_jacobian(evaluate: _Evaluator, leaves: Sequence[_Leaf], eps: float) -> _Differences:
    """Central and one-sided differences, nudging one input element at a time: 2P evaluations + 1."""
    ups: list[Any] = []
    downs: list[Any] = []
    with evaluate.mode():
        f0 = evaluate.vector()
        for leaf in leaves:
            node = leaf.node
            if not node.shaped:  # a Value: its data is a float, replaced, not written into
                keep = node.data
                try:
                    node.data = keep + eps
                    ups.append(evaluate())
                    node.data = keep - eps
                    downs.append(evaluate())
                finally:
                    node.data = keep
                continue
            flat = node.data.reshape(-1)  # a view: the working copy is contiguous
            for j in range(flat.size):
                # a Python float: the same sums as NumPy's, with less overhead (CuPy's item() takes no index)
                keep = flat.item(j) if type(flat) is np.ndarray else float(flat[j])
                try:
                    flat[j] = keep + eps
                    ups.append(evaluate())
                    flat[j] = keep - eps
                    downs.append(evaluate())
                finally:
                    flat[j] = keep
    shape = (len(ups), f0.size)  # explicit, for empty inputs and outputs
    up = np.array(ups, dtype=np.float64).reshape(shape)
    down = np.array(downs, dtype=np.float64).reshape(shape)
    return _Differences((up - down) / (2 * eps), (f0 - down) / eps, (up - f0) / eps)


def _judge(analytical: np.ndarray, numerical: _Differences, atol: float, rtol: float) -> tuple[np.ndarray, np.ndarray]:
    """(failures, kinks): entries that disagree, and entries that sit on a kink the analytical value respects."""
    with np.errstate(invalid="ignore"):
        central = numerical.central
        # np.isclose's test, written out (its Python layer costs more than a small model's whole check):
        # finite entries within atol + rtol·|numerical|, infinite ones only when equal, NaN never
        close = np.where(np.isfinite(analytical) & np.isfinite(central),
                         np.abs(analytical - central) <= atol + rtol * np.abs(central), analytical == central)
        wrong = ~close
        left, right = numerical.left, numerical.right
        tol = atol + rtol * np.maximum(np.abs(left), np.abs(right))
        spread = np.abs(right - left) > _KINK_FACTOR * tol
        between = (analytical >= np.minimum(left, right) - tol) & (analytical <= np.maximum(left, right) + tol)
    kinks = spread & between  # reported even where the central difference happens to agree (max with ties)
    return wrong & ~kinks, kinks


# --------------------------------------------------------------------------- finding the op to blame


def _rules_that_disagree(
    outs: Sequence[Node], eps: float, atol: float, rtol: float, rng: np.random.Generator
) -> tuple[list[RuleDisagreement], int]:
    """Check every node's backward rule against finite differences of its op's forward at that node."""
    found, checked = [], 0
    for node in topological_order([o for o in outs if o.requires_grad]):
        if node.op is None:
            continue
        checked += 1
        found.extend(_check_node_rule(node, eps, atol, rtol, rng))
    return found, checked


def _check_node_rule(node: Node, eps: float, atol: float, rtol: float, rng: np.random.Generator) -> list[RuleDisagreement]:
    op = node.op
    assert op is not None
    params = node.params or {}
    forward_params = {k: v for k, v in params.items() if k != "saved"}  # (what a saving forward kept is for rules)
    xs = [np.array(inp.data, dtype=np.float64) if inp.requires_grad else inp.data for inp in node.inputs]
    shapes = ", ".join(str(np.shape(x)) for x in xs)
    label = f" {node.label!r}" if node.label else ""
    where = f"a '{op.name}' node{label} with input shape(s) {shapes}"
    found = []
    with np.errstate(all="ignore"):
        out = np.asarray(op.forward(*xs, **forward_params), dtype=np.float64)
        g = _unit(rng.standard_normal(out.shape))

        def projected(k: int, x: np.ndarray) -> float:
            return float(np.sum(g * op.forward(*xs[:k], x, *xs[k + 1:], **forward_params)))

        for k, inp in enumerate(node.inputs):
            if not inp.requires_grad:
                continue
            v = _unit(rng.standard_normal(xs[k].shape))
            gk = np.asarray(op.vjps[k](g, out, *xs, **params), dtype=np.float64)
            if gk.shape != xs[k].shape and op.broadcasting:
                gk = sum_to_shape(gk, xs[k].shape)
            if gk.shape != xs[k].shape:
                found.append(RuleDisagreement(op.name, where, k, math.nan, math.nan))
                continue
            rule = float(np.sum(gk * v))
            up, mid, down = projected(k, xs[k] + eps * v), projected(k, xs[k]), projected(k, xs[k] - eps * v)
            central, left, right = (up - down) / (2 * eps), (mid - down) / eps, (up - mid) / eps
            if abs(right - left) > _KINK_FACTOR * (atol + rtol * max(abs(left), abs(right))):
                continue  # the direction crosses a kink of this op: no verdict either way
            if not np.isclose(rule, central, rtol=rtol, atol=atol):
                found.append(RuleDisagreement(op.name, where, k, rule, central))
    return found


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.sqrt(np.sum(v * v)))
    return v / norm if norm > 0 else v


# --------------------------------------------------------------------------- the checks


def _validate(where: str, eps: float, atol: float, rtol: float) -> None:
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"{where}: eps must be a positive finite number, got {eps!r}")
    for name, tol in (("atol", atol), ("rtol", rtol)):
        if not (isinstance(tol, (int, float)) and tol >= 0):
            raise ValueError(f"{where}: {name} must be a non-negative number, got {tol!r}")


def _shape_and_dtype(data: Any) -> tuple[tuple[int, ...], str]:
    if is_array(data):
        return data.shape, _dtype_name(data.dtype)
    return tuple(np.shape(data)), _dtype_name(np.asarray(data).dtype)


@functools.cache
def _dtype_name(dtype: np.dtype) -> str:
    return str(dtype)  # (NumPy names a dtype in Python code: slow enough to show in a small model's check)


def _as_args(inputs: Any) -> list[Any]:
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


def _check(
    fn: Callable[..., Any],
    inputs: Any,
    *,
    where: str,
    eps: float,
    atol: float,
    rtol: float,
    fast_mode: bool,
    seed: int,
    record: bool,
    names: Sequence[str] | None = None,
) -> GradcheckReport:
    """The check behind gradcheck, gradgradcheck and check_module_grads."""
    _validate(where, eps, atol, rtol)
    args = _as_args(inputs)
    leaves = _find_leaves(args, names)
    if not leaves:
        raise ValueError(f"{where}: no input requires grad, so there is no gradient to check "
                         "(pass Values, or Tensors made with requires_grad=True)")
    summaries = [InputSummary(leaf.name, *_shape_and_dtype(leaf.original), leaf.size) for leaf in leaves]
    rng = np.random.default_rng(seed) if fast_mode else None  # (made only where needed: it costs a small check's time)
    with _float64_working_copies(leaves) as notes:
        evaluate = _Evaluator(fn, args, record, where)
        with enable_grad():
            outs = _outputs(fn(*args), where)
        report = GradcheckReport(True, fast_mode, eps, atol, rtol, summaries, 0, notes=notes, check=where)
        if fast_mode:
            assert rng is not None
            _compare_projections(report, outs, leaves, evaluate, rng)
        else:
            _compare_jacobians(report, outs, leaves, evaluate)
        report.evaluations = evaluate.calls
        if not report.passed:  # find the op whose rule is wrong, on a fresh graph at the unnudged inputs
            rng = rng or np.random.default_rng(seed)
            report.rules, report.nodes_checked = _rules_that_disagree(outs, eps, atol, rtol, rng)
    for text in notes:
        warnings.warn(f"{where}: {text}", GradcheckWarning, stacklevel=3)
    if report.kinks:
        more = f" (and {len(report.kinks) - 1} more)" if len(report.kinks) > 1 else ""
        warnings.warn(f"{where}: {report.kinks[0]}{more}", GradcheckWarning, stacklevel=3)
    return report


def _compare_jacobians(report: GradcheckReport, outs: Sequence[Node], leaves: Sequence[_Leaf], evaluate: _Evaluator) -> None:
    analytical = _analytical_jacobian(outs, leaves)
    numerical = _numerical_jacobian(evaluate, leaves, report.eps)
    failures, kinks = _judge(analytical, numerical, report.atol, report.rtol)
    output_names = _output_names(outs)
    with np.errstate(invalid="ignore", divide="ignore"):
        abs_err = np.where(kinks, 0.0, np.abs(analytical - numerical.central))  # no derivative to miss at a kink
        rel_err = np.where(abs_err == 0, 0.0, abs_err / np.abs(numerical.central))
    # per input element (row), over all outputs at once: a few array operations, not a few per input
    failed_rows, kink_rows = np.logical_or.reduce(failures, axis=1), np.logical_or.reduce(kinks, axis=1)
    abs_rows = np.maximum.reduce(np.where(np.isnan(abs_err), np.inf, abs_err), axis=1, initial=0.0)  # NaN: the worst
    rel_rows = np.maximum.reduce(np.where(np.isnan(rel_err), np.inf, rel_err), axis=1, initial=0.0)
    row = 0
    for leaf, summary in zip(leaves, report.inputs):
        rows = slice(row, row + leaf.size)
        row += leaf.size
        summary.failed = int(np.count_nonzero(failed_rows[rows]))
        summary.kinks = int(np.count_nonzero(kink_rows[rows]))
        summary.max_abs_error = float(np.maximum.reduce(abs_rows[rows], initial=0.0))
        summary.max_rel_error = float(np.maximum.reduce(rel_rows[rows], initial=0.0))
        if summary.failed:
            for j, col in zip(*np.nonzero(failures[rows])):
                report.mismatches.append(Mismatch(leaf.name, _element(leaf, j), output_names[col],
                                                  float(analytical[rows][j, col]), float(numerical.central[rows][j, col])))
        if summary.kinks:
            for j, col in zip(*np.nonzero(kinks[rows])):
                report.kinks.append(Kink(leaf.name, _element(leaf, j), output_names[col], float(numerical.left[rows][j, col]),
                                         float(numerical.right[rows][j, col]), float(analytical[rows][j, col])))
    report.mismatches.sort(key=lambda m: -m.abs_error if not math.isnan(m.abs_error) else -math.inf)
    report.passed = not report.mismatches


def _compare_projections(
    report: GradcheckReport, outs: Sequence[Node], leaves: Sequence[_Leaf], evaluate: _Evaluator, rng: np.random.Generator
) -> None:
    """Fast mode: compare u·J·v for random unit u, v: three evaluations, whatever the input size.

    After a failure, each input gets its own projection (two evaluations more per input) to say
    which inputs are wrong.
    """
    n_out = sum(int(np.size(o.data)) for o in outs)
    u = _unit(rng.standard_normal(n_out))
    vs = [rng.standard_normal(leaf.size) for leaf in leaves]
    scale = math.sqrt(sum(float(v @ v) for v in vs))
    vs = [v / scale for v in vs]
    per_input = _projected_gradients(outs, leaves, u)  # J_i^T u for each input i
    analytical = sum(float(gi @ v) for gi, v in zip(per_input, vs))
    numerical = _directional(evaluate, leaves, vs, u, report.eps)
    failures, kinks = _judge(np.array([analytical]), numerical, report.atol, report.rtol)
    if kinks.any():
        report.kinks.append(Kink("the inputs, along a random direction", None, None, float(numerical.left[0]),
                                 float(numerical.right[0]), analytical))
    if not failures.any():
        report.projection_error = abs(analytical - float(numerical.central[0]))
        return
    report.passed = False
    for i, (leaf, summary) in enumerate(zip(leaves, report.inputs)):
        alone = [v if j == i else np.zeros_like(v) for j, v in enumerate(vs)]
        a = float(per_input[i] @ vs[i])
        n = _directional(evaluate, leaves, alone, u, report.eps)
        bad, _ = _judge(np.array([a]), n, report.atol, report.rtol)
        if bad.any():
            summary.failed = 1
            report.mismatches.append(Mismatch(leaf.name, None, None, a, float(n.central[0])))
    if not report.mismatches:  # only the sum over inputs disagrees
        report.mismatches.append(Mismatch("all inputs together", None, None, analytical, float(numerical.central[0])))


def _projected_gradients(outs: Sequence[Node], leaves: Sequence[_Leaf], u: np.ndarray) -> list[np.ndarray]:
    live, seeds, start = [], [], 0
    for out in outs:
        size = int(np.size(out.data))
        if out.requires_grad:
            live.append(out)
            seeds.append(u[start:start + size].reshape(np.shape(out.data)) if out.shaped else float(u[start]))
        start += size
    if not live:
        return [np.zeros(leaf.size) for leaf in leaves]
    grads = grad(live, [leaf.node for leaf in leaves], grad_outputs=seeds, retain_graph=True, allow_unused=True)
    flat = _concat(grads, leaves)
    bounds = np.cumsum([0] + [leaf.size for leaf in leaves])
    return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _directional(evaluate: _Evaluator, leaves: Sequence[_Leaf], vs: Sequence[np.ndarray], u: np.ndarray, eps: float) -> _Differences:
    """u · (f(x + eps v) - f(x - eps v)) / (2 eps), and its one-sided versions."""
    bases = [leaf.node.data for leaf in leaves]

    def at(step: float) -> float:
        try:
            for leaf, base, v in zip(leaves, bases, vs):
                leaf.node.data = (base + step * device_of(base).to_device(v.reshape(np.shape(base))) if leaf.node.shaped
                                  else float(base + step * v[0]))
            return float(u @ evaluate.vector())
        finally:
            for leaf, base in zip(leaves, bases):
                leaf.node.data = base

    with evaluate.mode():
        up, mid, down = at(eps), at(0.0), at(-eps)
    return _Differences(np.array([(up - down) / (2 * eps)]), np.array([(mid - down) / eps]), np.array([(up - mid) / eps]))


def _finish(report: GradcheckReport, raise_exception: bool, want_report: bool) -> Any:
    if not report.passed and raise_exception:
        raise GradcheckError(report)
    return report if want_report else report.passed


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    report: bool = False,
    seed: int = 0,
) -> Any:
    """Check fn's gradients with respect to every input that requires grad against finite differences.

    `fn(*inputs)` returns a Value or Tensor (or a tuple of them); inputs are Values, Tensors, or lists
    and tuples of them (anything else is passed through unchecked). The whole Jacobian is compared,
    entry by entry, with `|analytical - numerical| <= atol + rtol * |numerical|`; `fast_mode` compares
    one random projection u·J·v instead. Returns True, or raises GradcheckError saying which input,
    element and op disagree; with `raise_exception=False` returns False instead, and with
    `report=True` returns the GradcheckReport (truthy when passed). Kinks (left and right
    derivatives differ) and float32 inputs (checked in float64 copies) are reported with warnings.

    >>> x = Tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True)
    >>> tg.gradcheck(lambda x: (x @ x).tanh().sum(), [x])
    True
    """
    result = _check(fn, inputs, where="gradcheck", eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode,
                    seed=seed, record=False)
    return _finish(result, raise_exception, report)


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    report: bool = False,
    seed: int = 0,
) -> Any:
    """Check the gradients of fn's gradients (made with create_graph=True) against finite differences.

    The first derivatives are the gradients of `sum(output * grad_output)`; `grad_outputs` defaults to
    1 for scalar outputs and to fixed random arrays otherwise. Their own gradients are then checked as
    gradcheck checks fn's. Arguments and results as for gradcheck.

    >>> x = Value(0.3)
    >>> tg.gradgradcheck(lambda x: (x * x).sigmoid(), [x])
    True
    """
    rng = np.random.default_rng(seed + 1)
    chosen: list[Any] = [] if grad_outputs is None else _as_args(grad_outputs)

    def first_derivatives(*args: Any) -> tuple[Node, ...]:
        outs = _outputs(fn(*args), "gradgradcheck")
        if not chosen:  # fixed once, so that the checked function does not change between calls
            chosen.extend(rng.standard_normal(np.shape(o.data)) if o.shaped and o.data.size > 1
                          else np.ones(np.shape(o.data)) if o.shaped else 1.0 for o in outs)
        if len(chosen) != len(outs):
            raise ValueError(f"gradgradcheck: {len(outs)} outputs but {len(chosen)} grad_outputs")
        live = [(o, s) for o, s in zip(outs, chosen) if o.requires_grad]
        nodes = [leaf.node for leaf in _find_leaves(args)]
        grads = grad([o for o, _ in live], nodes, grad_outputs=[s for _, s in live], create_graph=True,
                     allow_unused=True) if live else (None,) * len(nodes)
        # an unused input's gradient is a zero that depends on nothing
        return tuple(g if isinstance(g, Node) else type(n).constant(np.zeros(np.shape(n.data)) if n.shaped else 0.0)
                     for g, n in zip(grads, nodes))

    result = _check(first_derivatives, inputs, where="gradgradcheck", eps=eps, atol=atol, rtol=rtol,
                    fast_mode=fast_mode, seed=seed, record=True)
    return _finish(result, raise_exception, report)


def numerical_grad(fn: Callable[..., Any], inputs: Any, eps: float = 1e-6, grad_output: Any = None) -> Any:
    """Central finite differences of fn's output with respect to each input, from the forward alone.

    Returns a list shaped like `inputs`: a float for a Value, a float64 ndarray for a Tensor, None
    for anything that does not require grad. A non-scalar output needs `grad_output` (the gradient
    of sum(output * grad_output) is returned), as backward() does.

    >>> x = Value(2.0)
    >>> round(tg.numerical_grad(lambda x: x ** 3, [x])[0], 6)
    12.0
    """
    _validate("numerical_grad", eps, 0.0, 0.0)
    args = _as_args(inputs)
    leaves = _find_leaves(args)
    if not leaves:
        raise ValueError("numerical_grad: no input requires grad (pass Values, or Tensors made with requires_grad=True)")
    with _float64_working_copies(leaves) as notes:
        for text in notes:
            warnings.warn(f"numerical_grad: {text}", GradcheckWarning, stacklevel=2)
        evaluate = _Evaluator(fn, args, False, "numerical_grad")
        with evaluate.mode():
            n_out = evaluate.vector().size
        if grad_output is None:
            if n_out != 1:
                raise ValueError(f"numerical_grad: the output has {n_out} elements, not one; pass grad_output= "
                                 "(dL/d(output), with the output's shape), or reduce the output first")
            weights = np.ones(1)
        else:
            weights = np.ravel(np.asarray(to_host(grad_output.data if isinstance(grad_output, Node) else grad_output),
                                          dtype=np.float64))
            if weights.size != n_out:
                raise ValueError(f"numerical_grad: grad_output has {weights.size} elements but the output has {n_out}")
        gradient = _numerical_jacobian(evaluate, leaves, eps).central @ weights
    by_node, start = {}, 0
    for leaf in leaves:
        part = gradient[start:start + leaf.size]
        start += leaf.size
        by_node[id(leaf.node)] = part.reshape(np.shape(leaf.original)) if leaf.node.shaped else float(part[0])
    return _shaped_like(args, by_node)


def _shaped_like(items: Sequence[Any], by_node: dict[int, Any]) -> list[Any]:
    """One entry per item (lists and tuples mirrored): the gradient found for a node, else None."""
    return [_shaped_like(x, by_node) if isinstance(x, (list, tuple)) else by_node.get(id(x)) for x in items]


def check_module_grads(
    module: Any,
    loss_fn: Callable[..., Any],
    *batch: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    report: bool = False,
    seed: int = 0,
) -> Any:
    """gradcheck for every parameter of a model at once: `loss_fn(module(x), *targets)` for batch (x, *targets).

    The batch may be given as separate arguments or as one tuple. Reports name each parameter as
    `named_parameters()` does; `report=True` returns the GradcheckReport, whose `inputs` list the
    errors per parameter.
    """
    if len(batch) == 1 and isinstance(batch[0], (tuple, list)):
        batch = tuple(batch[0])
    if not batch:
        raise ValueError("check_module_grads: no batch given; pass the model's input (and targets): "
                         "check_module_grads(model, loss_fn, x, y)")
    named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]  # (not the frozen ones)
    if not named:
        raise ValueError(f"check_module_grads: {type(module).__name__} has no parameters to check (none that require grad)")
    x, *targets = batch

    def loss(*_: Any) -> Any:  # the parameters are nudged in place; the model reads them itself
        return loss_fn(module(x), *targets)

    result = _check(loss, [p for _, p in named], where="check_module_grads", eps=eps, atol=atol, rtol=rtol,
                    fast_mode=fast_mode, seed=seed, record=False, names=[n for n, _ in named])
    return _finish(result, raise_exception, report)
