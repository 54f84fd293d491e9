"""The fuzzer's own model of the library: a float64 NumPy replay of every recorded computation, finite
differences over it, and the tally of what the fuzzer saw (see tests/test_fuzz.py).

Nothing here reads a backward rule or a forward of tinygrad_edu: each op is replayed by its own NumPy
reference, so the gradients computed here are independent of the engine's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# The exception types the library documents and raises for bad input (README "Bad input raises an
# error that names the op"; tests/test_errors.py): shapes, axes and domains -> ValueError, an index out
# of bounds -> IndexError, a wrong operand type (a Value with a Tensor, a string) -> TypeError, using a
# graph up or a backward without a graph -> RuntimeError. Exactly these types: a subclass (NumPy's
# AxisError, UFuncTypeError) escaping is a leak of an implementation detail, and a failure.
ALLOWED_ERRORS: tuple[type[BaseException], ...] = (TypeError, ValueError, RuntimeError, IndexError)

# NumPy floating-point warnings from a legal op (1/0, 0/0, exp overflow): documented ("NaN from a legal op
# propagates as in NumPy"), so counted, not failed. Any other warning fails the test.
FLOAT_WARNING = re.compile(r"divide by zero|invalid value|overflow|underflow")

Replay = Callable[[list[Any], list[Any]], Any]  # (argument arrays, kink signature to append to) -> array


# --------------------------------------------------------------------------- the tally


@dataclass
class Tally:
    """Everything one pytest session of the fuzzer saw, printed when TG_FUZZ_REPORT=1."""

    machines: int = 0  # hypothesis examples: one machine run each (a case)
    invariant_runs: int = 0  # one per machine run, plus one per step
    calls: int = 0  # library calls judged (a step makes one or more)
    rules: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)  # "ok" / "raised" per rule
    errors: Counter[str] = field(default_factory=Counter)  # by exception type
    messages: Counter[tuple[str, str]] = field(default_factory=Counter)  # (type, normalised message)
    warnings: Counter[str] = field(default_factory=Counter)
    known_bugs: Counter[str] = field(default_factory=Counter)
    grad_checks: int = 0  # backward / tg.grad calls whose gradients were compared with finite differences
    low_precision_checks: int = 0  # ... of which had float32 somewhere in the graph
    elements_checked: int = 0
    elements_skipped: Counter[str] = field(default_factory=Counter)  # why: kink, non-finite, ...
    dropped: int = 0  # results not kept for later steps (non-finite or huge)

    def record_error(self, e: BaseException) -> None:
        kind = type(e).__name__
        self.errors[kind] += 1
        self.messages[kind, normalise(str(e))] += 1

    def summary(self, profile: str, seconds: float) -> str:
        lines = [
            f"tinygrad_edu fuzz ({profile} profile): {self.machines} machine runs (cases), "
            f"{self.invariant_runs - self.machines} steps, {self.calls} library calls judged, {seconds:.1f} s",
            f"  rules run: {dict(sorted(self.rules.items()))}",
            f"  outcomes: {dict(sorted(self.outcomes.items()))}",
            f"  gradient checks: {self.grad_checks} backward/grad calls ({self.low_precision_checks} with float32), "
            f"{self.elements_checked} gradient elements "
            f"compared with finite differences; skipped: {dict(self.elements_skipped)}",
            f"  results dropped (non-finite or huge): {self.dropped}",
            f"  warnings (NumPy floating point): {dict(self.warnings)}",
            f"  known-bug exclusions hit: {dict(self.known_bugs)}",
            f"  exceptions by type: {dict(self.errors)}",
            f"  distinct exception messages: {len(self.messages)}",
        ]
        by_type = Counter(kind for kind, _ in self.messages)
        lines.append(f"  distinct messages by type: {dict(by_type)}")
        families = {(kind, family(m)) for kind, m in self.messages}
        lines.append(f"  message families (shapes and values also blanked): {len(families)}, by type "
                     f"{dict(Counter(kind for kind, _ in families))}")
        for (kind, message), count in sorted(self.messages.items()):
            lines.append(f"    {count:6d}  {kind}: {message}")
        return "\n".join(lines)


TALLY = Tally()


def normalise(message: str) -> str:
    """A message with its numbers replaced, so that one kind of error counts once."""
    return re.sub(r"\d+", "#", message)


def family(message: str) -> str:
    """Coarser: shapes, numbers and quoted values blanked too (one family per kind of refusal)."""
    m = re.sub(r"\(([#, ]|newaxis)*\)", "(S)", message)
    m = re.sub(r"np\.float#\([^)]*\)|-?#(\.#)?(e-?#)?", "N", m)
    return re.sub(r"'[^']*'", "'Q'", m)


# --------------------------------------------------------------------------- the replay


class Expr:
    """One object the fuzzer made (or an operand it passed), and how to recompute it in float64 NumPy.

    kind: "leaf" (a Tensor or Value that requires grad), "const" (anything the engine treats as a
    constant: an operand, a leaf without grad, a result computed under no_grad or from constants only;
    its data is snapshotted), or "op" (a recorded node: replayed from its children by `fn`).
    """

    __slots__ = (
        "obj", "kind", "name", "fn", "children", "base", "native", "low", "is_value", "released", "retains",
        "expected", "tol", "unknown", "drift", "snapshot", "wild", "maybe_released", "undefined",
    )

    def __init__(
        self,
        obj: Any,
        kind: str,
        native: Any,
        *,
        name: str = "",
        fn: Replay | None = None,
        children: Sequence[Expr] = (),
        low: bool = False,
        is_value: bool = False,
    ) -> None:
        self.obj = obj
        self.kind = kind
        self.name = name
        self.fn = fn
        self.children = tuple(children)
        self.native = native  # the data as the engine holds it (its own dtype); a 0-d array for a Value
        with np.errstate(all="ignore"):
            self.base = np.array(native, dtype=np.float64)  # the replay's value for leaves and constants
        self.snapshot = np.array(native, copy=True)  # to notice if anything writes into the data later
        self.low: bool = low or np.asarray(native).dtype == np.float32 or any(c.low for c in self.children)
        self.is_value = is_value
        self.released = False  # the model's prediction of "backward used this node up"
        self.retains = False  # retain_grad() was called (Tensor op nodes)
        self.wild = False  # .grad unknown (a known bug stopped a backward halfway) until zeroed
        self.maybe_released = False  # ... and whether that pass used this node up
        self.expected: np.ndarray | None = None if not is_value else np.zeros(())  # expected .grad
        self.tol: np.ndarray | None = None if not is_value else np.zeros(())
        self.unknown: np.ndarray | None = None if not is_value else np.zeros((), dtype=bool)
        self.drift = 0.0  # |engine data - replay from the leaves|, relative: precision already lost
        # undefined(k, child values): whether the partial derivative for input k does not exist here
        # (the chain rule then multiplies NaN by the other factors, even by 0: NaN propagates, as documented)
        self.undefined: Callable[[int, list[Any]], bool] | None = UNDEFINED_PARTIALS.get(name) if kind == "op" else None

    @property
    def requires_grad(self) -> bool:
        return self.kind != "const"

    @property
    def tracked(self) -> bool:
        """Whether the engine keeps a .grad for this node: leaves, every Value, retained Tensors."""
        if self.obj is None:
            return False
        return self.kind == "leaf" or self.is_value or self.retains

    def reset_grad(self) -> None:
        self.wild = False
        if self.is_value:
            self.expected, self.tol, self.unknown = np.zeros(()), np.zeros(()), np.zeros((), dtype=bool)
        else:
            self.expected = self.tol = self.unknown = None

    def add_grad(self, fd: np.ndarray, tol: np.ndarray, unknown: np.ndarray) -> None:
        if self.expected is None:
            self.expected, self.tol, self.unknown = fd.copy(), tol.copy(), unknown.copy()
        else:
            assert self.tol is not None and self.unknown is not None
            self.expected = self.expected + fd
            self.tol = self.tol + tol
            self.unknown = self.unknown | unknown

    def __repr__(self) -> str:
        what = "Value" if self.is_value else f"Tensor{np.shape(self.native)} {np.asarray(self.native).dtype}"
        return f"<{self.kind} {self.name or ''} {what}>"


def _pow_undefined(k: int, args: list[Any]) -> bool:
    # x**y for x < 0: d/dy = x**y log(x) does not exist (x**y is nan for y off the integers)
    return k == 1 and bool(np.any(np.asarray(args[0]) < 0))


UNDEFINED_PARTIALS: dict[str, Callable[[int, list[Any]], bool]] = {"pow": _pow_undefined}


def evaluate(roots: Sequence[Expr], memo: dict[Expr, Any], sigs: dict[Expr, tuple[Any, ...]],
             overrides: dict[Expr, Any] | None = None) -> list[Any]:
    """The replay's float64 value of each root; memo holds (and receives) values already known."""

    def ev(e: Expr) -> Any:
        if overrides and e in overrides:
            return overrides[e]
        v = memo.get(e)
        if v is not None:
            return v
        if e.kind != "op":
            v = e.base
        else:
            args = [ev(c) for c in e.children]
            sig: list[Any] = []
            with np.errstate(all="ignore"):
                v = np.asarray(e.fn(args, sig))  # type: ignore[misc]
            if sig:
                sigs[e] = tuple(sig)
        memo[e] = v
        return v

    return [ev(r) for r in roots]


def drift(e: Expr) -> float:
    """How far the engine's data is from the float64 replay from the leaves (relative, 0 when exact)."""
    (replayed,) = evaluate([e], {}, {})
    data = np.asarray(e.native, dtype=np.float64)
    if not (np.all(np.isfinite(replayed)) and np.all(np.isfinite(data))):
        same = np.array_equal(replayed, data, equal_nan=True)
        return 0.0 if same else float("inf")
    if data.size == 0:
        return 0.0
    return float(np.max(np.abs(data - replayed)) / (1.0 + np.max(np.abs(replayed))))


# --------------------------------------------------------------------------- op references (NumPy, float64)
# Each returns fn(args, sig). relu and max append a kink signature: which side of the kink each element
# is on, and the exact values of elements within `tol` of a kink, so a finite difference that crosses or
# touches a kink is noticed and skipped.


def kink_tol(low: bool) -> float:
    return 1e-4 if low else 1e-9


def relu_ref(tol: float) -> Replay:
    def fn(a: list[Any], sig: list[Any]) -> Any:
        x = a[0]
        near = np.abs(x) <= tol
        sig.extend([(x > 0).tobytes(), np.asarray(x[near], dtype=np.float64).tobytes()])
        return np.where(x > 0, x, np.zeros((), dtype=np.asarray(x).dtype))
    return fn


def max_ref(axis: Any, keepdims: bool, tol: float) -> Replay:
    def fn(a: list[Any], sig: list[Any]) -> Any:
        x = np.asarray(a[0])
        m = np.max(x, axis=axis, keepdims=True)
        scale = tol * np.maximum(1.0, np.abs(m))
        near = x >= m - scale  # the elements that win, or nearly
        tied = near & (np.sum(near, axis=axis, keepdims=True) > 1)
        sig.extend([near.tobytes(), np.asarray(x[tied], dtype=np.float64).tobytes()])
        return np.max(x, axis=axis, keepdims=keepdims)
    return fn


def sigmoid_ref(a: list[Any], sig: list[Any]) -> Any:
    x = a[0]
    return 1 / (1 + np.exp(-x))


def softmax_ref(axis: int) -> Replay:
    def fn(a: list[Any], sig: list[Any]) -> Any:
        x = a[0]
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))  # the shift changes nothing mathematically
        return e / np.sum(e, axis=axis, keepdims=True)
    return fn


def log_softmax_ref(axis: int) -> Replay:
    def fn(a: list[Any], sig: list[Any]) -> Any:
        x = a[0]
        m = np.max(x, axis=axis, keepdims=True)
        return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return fn


def cross_entropy_ref(labels: np.ndarray) -> Replay:
    def fn(a: list[Any], sig: list[Any]) -> Any:
        x = a[0]
        m = np.max(x, axis=1, keepdims=True)
        lse = (m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)))[:, 0]
        picked = x[np.arange(len(labels)), labels]
        return mean(lse - picked)
    return fn


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """np.mean without its warning for an empty slice (0/0 is nan either way)."""
    x = np.asarray(x)
    axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    count = int(np.prod([x.shape[a] for a in axes]))
    total = np.sum(x, axis=axis, keepdims=keepdims)
    return total / count if x.dtype.kind == "f" else total / np.float64(count)


def simple(f: Callable[..., Any]) -> Replay:
    """A reference without kinks: f(*args)."""
    return lambda a, sig: f(*a)


# --------------------------------------------------------------------------- finite differences


@dataclass
class Truth:
    """A gradient from finite differences: value, tolerance, and elements that cannot be checked."""

    fd: np.ndarray
    tol: np.ndarray
    unknown: np.ndarray


def graph_nodes(outputs: Sequence[Expr]) -> list[Expr]:
    """Every node the outputs are replayed from, children first."""
    memo: dict[Expr, Any] = {}
    evaluate(outputs, memo, {})
    return list(memo)


def finite_differences(
    outputs: Sequence[Expr], seeds: Sequence[np.ndarray], targets: Sequence[Expr], low: bool, skipped: Counter[str]
) -> dict[Expr, Truth | None]:
    """d/d(target) of sum_k <replay(output_k), seed_k>, for each target (None: the outputs do not depend on it).

    Central differences at steps h and 2h (their difference estimates the error; Richardson's
    combination is the value). An element is unknown where the function is not finite at any of the
    points, where a perturbation crosses or touches a kink (relu at 0, max ties), or where the two step
    sizes disagree so much that no difference quotient can be trusted.
    """
    base_memo: dict[Expr, Any] = {}
    base_sigs: dict[Expr, tuple[Any, ...]] = {}
    base_outs = evaluate(outputs, base_memo, base_sigs)
    order = list(base_memo)  # children before parents

    def total(outs: list[Any]) -> float:
        with np.errstate(all="ignore"):
            return float(sum(np.sum(np.asarray(o, dtype=np.float64) * s) for o, s in zip(outs, seeds)))

    f0 = total(base_outs)
    rtol = 5e-3 if low else 1e-6
    result: dict[Expr, Truth | None] = {}
    for target in targets:
        if target not in base_memo or target.kind == "const":
            result[target] = None
            continue
        dep = {target}
        for n in order:
            if n.kind == "op" and any(c in dep for c in n.children):
                dep.add(n)
        keep = {n: v for n, v in base_memo.items() if n not in dep}
        undefined = any(
            n.undefined(k, [base_memo[c] for c in n.children])
            for n in dep if n.undefined is not None for k, c in enumerate(n.children) if c in dep
        )
        b = np.array(base_memo[target], dtype=np.float64)
        fd = np.zeros(b.shape)
        err = np.zeros(b.shape)
        unknown = np.zeros(b.shape, dtype=bool)
        rnd = np.zeros(b.shape)
        if undefined:  # a partial derivative on the way does not exist: the gradient is not checked
            skipped["undefined partial"] += b.size
            result[target] = Truth(fd, np.zeros(b.shape), np.ones(b.shape, dtype=bool))
            continue
        for j in range(b.size):
            h = 1e-5 * max(1.0, abs(float(b.flat[j]))) if np.isfinite(b.flat[j]) else 0.0
            if h == 0.0:
                unknown.flat[j] = True
                skipped["non-finite"] += 1
                continue
            values, kinked = [], False
            for step in (h, -h, 2 * h, -2 * h):
                v = b.copy()
                v.flat[j] += step
                memo = dict(keep)
                sigs: dict[Expr, tuple[Any, ...]] = {}
                values.append(total(evaluate(outputs, memo, sigs, {target: v})))
                kinked = kinked or any(sigs.get(n) != base_sigs.get(n) for n in dep if n.kind == "op")
            if kinked:
                unknown.flat[j] = True
                skipped["kink"] += 1
                continue
            if not (np.isfinite(f0) and all(np.isfinite(values))):
                unknown.flat[j] = True
                skipped["non-finite"] += 1
                continue
            d1 = (values[0] - values[1]) / (2 * h)
            d2 = (values[2] - values[3]) / (4 * h)
            fd.flat[j] = d1 + (d1 - d2) / 3  # Richardson: the h² error terms cancel
            err.flat[j] = abs(d1 - d2)
            rnd.flat[j] = 1e-14 * max(abs(f0), *map(abs, values)) / h
            if err.flat[j] > 0.05 * (1 + abs(fd.flat[j])):  # the function is too curved here to difference
                unknown.flat[j] = True
                skipped["ill-conditioned"] += 1
        scale = float(np.max(np.abs(fd), initial=0.0))
        tol = rtol * (1 + np.abs(fd)) + (rtol * 0.2 * scale if low else 0.0) + 10 * err + 10 * rnd
        result[target] = Truth(fd, tol, unknown)
    return result
