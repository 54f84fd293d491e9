"""Every primitive operation, defined once.

An `Op` is data: its forward (NumPy, plus a `math` version for scalars), one backward rule (a
vector-Jacobian product) per input, the local derivative of each input as text, and the input domain
tests may sample from. The engine, the gradient checker, the renderer and the tests all read these
records; no derivative is written anywhere else.

Backward rules are written with operators and a few helpers (`call`, `sum_to_shape`) that work on raw
data (floats, ndarrays) and on graph nodes alike. The engine passes raw data for a plain backward and
graph nodes for `create_graph=True`, so the same rule gives first and higher derivatives.

This module imports only NumPy and the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Input domains a test may sample from (one per input):
#   "real"     any moderate real number
#   "positive" strictly positive (log, the base of a power)
#   "nonzero"  bounded away from zero (divisors)
#   "smooth"   bounded away from the op's kink at 0 (relu)
#   "distinct" no two elements equal (max)
DOMAINS = ("real", "positive", "nonzero", "smooth", "distinct")


@dataclass(frozen=True, eq=False)
class Op:
    """One primitive: forward, backward rule per input, and derivative text per input."""

    name: str
    symbol: str  # what a drawing shows in the node, e.g. "*"
    forward: Callable[..., Any]  # raw NumPy data (and params by keyword) -> raw output
    vjps: Sequence[Callable[..., Any]] | ForEachInput  # vjps[k](grad_out, out, *inputs, **params) -> gradient of input k
    derivatives: tuple[str, ...]  # local derivative of each input as text, e.g. ("y", "x") for x*y
    domain: tuple[str, ...]  # where tests may sample each input (see DOMAINS)
    scalar_forward: Callable[..., float] | None = None  # float forward; None: not available on Value
    broadcasting: bool = False  # inputs are broadcast and type-promoted: the engine sums gradients back
    reads: tuple[int, ...] | None = None  # the inputs whose values the rules read (None: all of them)
    # (*inputs) -> why the forward refused them, in words clearer than NumPy's (None: NumPy's words);
    # asked only after a failure, so that the forward stays NumPy's own function
    explain: Callable[..., str | None] | None = None
    # (*inputs, **params) -> (output, saved): the forward of a node being recorded, also returning work
    # its rules reuse instead of redoing (cross_entropy's exponentials). The node keeps it in its params,
    # so the rules get it as `saved=`; they must also work without it (a caller that has only the inputs).
    # Honoured for ops of one input with params (tensor._apply1); the registry test asserts it is used
    saving_forward: Callable[..., tuple[Any, Any]] | None = None

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


class ForEachInput:
    """The backward rules of an op that takes any number of inputs: rule(k, grad_out, out, *inputs)."""

    def __init__(self, rule: Callable[..., Any]) -> None:
        self.rule = rule

    def __getitem__(self, k: int) -> Callable[..., Any]:
        return lambda *args, **params: self.rule(k, *args, **params)

    def __iter__(self) -> Iterator[Callable[..., Any]]:  # endless: zip() with the inputs stops it
        k = 0
        while True:
            yield self[k]
            k += 1


REGISTRY: dict[str, Op] = {}


def define(op: Op) -> Op:
    assert op.name not in REGISTRY, f"op {op.name!r} defined twice"
    assert len(op.derivatives) == len(op.domain), op.name
    REGISTRY[op.name] = op
    return op


# --------------------------------------------------------------------------- helpers for rules


class Recorder:
    """What a rule needs of a graph node: applying an op to it records the op (engine.Node is one)."""

    __slots__ = ()

    def apply_op(self, op: Op, *args: Any, **params: Any) -> Any:
        raise NotImplementedError


def call(op: Op, *args: Any, **params: Any) -> Any:
    """Apply `op` inside a backward rule: recorded when an argument is a graph node, computed otherwise."""
    for a in args:
        if isinstance(a, Recorder):
            return a.apply_op(op, *args, **params)
    if op.scalar_forward is not None and type(args[0]) is float:
        return scalar_eval(op, *args)
    return op.forward(*args, **params)


def scalar_eval(op: Op, *xs: float) -> float:
    """Evaluate `op` on floats with NumPy's IEEE semantics (1/0 = inf, 0/0 = nan) instead of exceptions."""
    try:
        return op.scalar_forward(*xs)  # type: ignore[misc]
    except ArithmeticError:  # ZeroDivisionError, OverflowError: let NumPy give inf/nan instead
        with np.errstate(all="ignore"):
            return float(op.forward(*map(np.float64, xs)))


def sum_to_shape(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum a broadcast gradient back to `shape`: the single place broadcasting is undone."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead:  # axes broadcasting added in front (a bias: the batch axis)
        g = _sum(g, tuple(range(lead)))
        if g.shape == shape:
            return g
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:  # axes of length 1 that broadcasting stretched
        g = _sum(g, stretched, keepdims=True)
    return g


def _sum(g: Any, axis: tuple[int, ...], keepdims: bool = False) -> Any:
    """g summed over axis: an array by NumPy's reduction itself (ndarray.sum adds a Python layer), a
    graph node by its own sum, so that it is recorded."""
    if type(g) is np.ndarray:
        return np.add.reduce(g, axis=axis, keepdims=keepdims)  # type: ignore[call-overload]
    return g.sum(axis=axis, keepdims=keepdims)


def _is_basic_index(index: tuple[Any, ...]) -> bool:
    """True for ints, slices, None and Ellipsis only: such an index never selects an element twice."""
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in index)


# --------------------------------------------------------------------------- scalar forwards


def _scalar_div(x: float, y: float) -> float:
    return x / y  # ZeroDivisionError falls back to NumPy in scalar_eval


def _scalar_pow(x: float, y: float) -> float:
    r = x**y
    return math.nan if type(r) is complex else r  # NumPy: a negative base to a fractional power is nan


def _scalar_log(x: float) -> float:
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def _scalar_sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # never overflows for x < 0
    return e / (1.0 + e)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # in (0, 1]: no overflow
    r = 1 / (1 + e)
    return np.where(x >= 0, r, e * r)


# --------------------------------------------------------------------------- elementwise ops
# Rules receive (g, out, x[, y]): g is dL/d(out). Each returns dL/d(input) = g * (local derivative).

ADD = define(Op(
    "add", "+", np.add,
    vjps=(lambda g, out, x, y: g,
          lambda g, out, x, y: g),
    derivatives=("1", "1"), domain=("real", "real"),
    scalar_forward=lambda x, y: x + y, broadcasting=True,
    reads=(),
))

SUB = define(Op(
    "sub", "-", np.subtract,
    vjps=(lambda g, out, x, y: g,
          lambda g, out, x, y: -g),
    derivatives=("1", "-1"), domain=("real", "real"),
    scalar_forward=lambda x, y: x - y, broadcasting=True,
    reads=(),
))

MUL = define(Op(
    "mul", "*", np.multiply,
    vjps=(lambda g, out, x, y: g * y,
          lambda g, out, x, y: g * x),
    derivatives=("y", "x"), domain=("real", "real"),
    scalar_forward=lambda x, y: x * y, broadcasting=True,
))

DIV = define(Op(
    "div", "/", np.true_divide,
    vjps=(lambda g, out, x, y: g / y,
          lambda g, out, x, y: -g * out / y),
    derivatives=("1/y", "-x/y²"), domain=("real", "nonzero"),
    scalar_forward=_scalar_div, broadcasting=True,
    reads=(1,),
))

def _power(x: Any, y: Any) -> Any:
    # x**2 of a float array as NumPy's own ** computes it, x*x: faster (integers keep NumPy's promotion)
    if (type(y) is int or type(y) is float) and y == 2 and isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return np.square(x)
    return np.power(x, y)


def _one_where(x: Any, mask: Any) -> Any:
    """x with 1 where mask is true: a base that keeps 0 * inf out of pow's rules (mask is a constant)."""
    if type(x) is float:
        return 1.0 if mask else x
    return x + mask


def _pow_grad_base(g: Any, out: Any, x: Any, y: Any) -> Any:
    # y·x^(y-1), except where y == 0: x**0 is the constant 1, even at x == 0 (where 0 * inf would give nan)
    zero_exponent = np.asarray(getattr(y, "data", y)) == 0
    if zero_exponent.any():  # (x is looked at only then: the usual exponent, a constant like 2, never is 0)
        both_zero = zero_exponent & (np.asarray(getattr(x, "data", x)) == 0)
        if both_zero.any():
            x = _one_where(x, both_zero)
    return g * y * call(POW, x, y - 1)


def _pow_grad_exponent(g: Any, out: Any, x: Any, y: Any) -> Any:
    # x^y·log(x), except where x == 0 < y: there 0**y is 0 nearby, so d/dy is 0, not 0 * -inf
    # (at 0**y with y <= 0 it jumps: no derivative, and the rule's inf or nan says so)
    flat = (np.asarray(getattr(x, "data", x)) == 0) & (np.asarray(getattr(y, "data", y)) > 0)
    return g * out * call(LOG, _one_where(x, flat) if flat.any() else x)


POW: Op = define(Op(
    "pow", "**", _power,
    vjps=(_pow_grad_base, _pow_grad_exponent),
    derivatives=("y·x^(y-1)", "x^y·log(x)"), domain=("positive", "real"),
    scalar_forward=_scalar_pow, broadcasting=True,
))

NEG = define(Op(
    "neg", "-", np.negative,
    vjps=(lambda g, out, x: -g,),
    derivatives=("-1",), domain=("real",),
    scalar_forward=lambda x: -x,
    reads=(),
))

EXP: Op = define(Op(
    "exp", "exp", np.exp,
    vjps=(lambda g, out, x: g * out,),
    derivatives=("exp(x)",), domain=("real",),
    scalar_forward=math.exp,
    reads=(),
))

LOG: Op = define(Op(
    "log", "log", np.log,
    vjps=(lambda g, out, x: g / x,),
    derivatives=("1/x",), domain=("positive",),
    scalar_forward=_scalar_log,
    reads=(0,),
))

RELU = define(Op(
    "relu", "relu", lambda x: np.maximum(x, 0),
    vjps=(lambda g, out, x: g * (out > 0),),  # comparisons give raw booleans, even on graph nodes
    derivatives=("1 if x > 0 else 0",), domain=("smooth",),
    scalar_forward=lambda x: x if x > 0 else 0.0,
    reads=(),
))

SIGMOID = define(Op(
    "sigmoid", "σ", _sigmoid,
    vjps=(lambda g, out, x: g * out * (1 - out),),  # from the saved output: stable at both tails
    derivatives=("s(1 - s)",), domain=("real",),
    scalar_forward=_scalar_sigmoid,
    reads=(),
))

TANH = define(Op(
    "tanh", "tanh", np.tanh,
    vjps=(lambda g, out, x: g * (1 - out * out),),
    derivatives=("1 - t²",), domain=("real",),
    scalar_forward=math.tanh,
    reads=(),
))


# --------------------------------------------------------------------------- matrix product


def _matmul_grad_x(g: Any, out: Any, x: Any, y: Any) -> Any:
    if y.ndim == 1:  # out = x @ y dropped y's column axis: put it back
        g, y = g.reshape(g.shape + (1,)), y.reshape((1, y.shape[0]))
    else:
        y = y.swapaxes(-1, -2)
    if x.ndim == 1:  # x was a row vector: view g as a 1-row matrix, then drop that row
        g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:])
        gx = g @ y
        return gx.reshape(gx.shape[:-2] + gx.shape[-1:])
    return g @ y  # batch axes are summed back by the engine


def _matmul_grad_y(g: Any, out: Any, x: Any, y: Any) -> Any:
    if x.ndim == 1:
        g, x = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:]), x.reshape((x.shape[0], 1))
    else:
        x = x.swapaxes(-1, -2)
    if y.ndim == 1:
        g = g.reshape(g.shape + (1,))
        gy = x @ g
        return gy.reshape(gy.shape[:-1])
    return x @ g


def _matmul_error(x: Any, y: Any) -> str | None:
    """Why np.matmul refused x and y, in our words."""
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return "matmul needs at least 1-D operands (use * for scalars)"
    kx, ky = np.shape(x)[-1], np.shape(y)[0] if np.ndim(y) == 1 else np.shape(y)[-2]
    if kx != ky:
        return f"inner dimensions differ: {kx} (last axis of x) != {ky} (first matrix axis of y)"
    return None


MATMUL = define(Op(
    "matmul", "@", np.matmul,
    vjps=(_matmul_grad_x, _matmul_grad_y),
    derivatives=("g @ yᵀ", "xᵀ @ g"), domain=("real", "real"),
    broadcasting=True, explain=_matmul_error,
))


# --------------------------------------------------------------------------- reductions


def _kept_shape(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape a reduction over `axis` has with keepdims=True (axes already normalised)."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def _spread(g: Any, x: Any, axis: tuple[int, ...] | None) -> Any:
    """Broadcast a reduction's gradient back over the reduced axes of x."""
    return call(BROADCAST_TO, g.reshape(_kept_shape(x.shape, axis)), shape=x.shape)


SUM = define(Op(
    "sum", "Σ", lambda x, axis=None, keepdims=False: x.sum(axis=axis, keepdims=keepdims),
    vjps=(lambda g, out, x, axis=None, keepdims=False: _spread(g, x, axis),),
    derivatives=("1",), domain=("real",),
    reads=(),
))

def _mean(x: np.ndarray, axis: tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    if x.dtype.kind != "f" or x.dtype.itemsize < 4:  # NumPy accumulates these in a wider type
        return x.mean(axis=axis, keepdims=keepdims)
    count = x.size if axis is None else math.prod(x.shape[a] for a in axis)
    return np.add.reduce(x, axis=axis, keepdims=keepdims) / count  # type: ignore[call-overload]  # mean, minus its Python layer


MEAN = define(Op(
    "mean", "mean", _mean,
    vjps=(lambda g, out, x, axis=None, keepdims=False: _spread(g / (x.size // max(out.size, 1)), x, axis),),
    derivatives=("1/n",), domain=("real",),
    reads=(),
))


def _raw(x: Any) -> Any:
    """The data of a graph node, or x itself: for rules that look at values only to choose (a mask)."""
    return x.data if isinstance(x, Recorder) else x  # type: ignore[attr-defined]  # (a Recorder is a Node)


def _extremum_grad(g: Any, out: Any, x: Any, axis: tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    kept = _kept_shape(x.shape, axis)
    winners = _raw(x) == _raw(out).reshape(kept)  # a constant mask; ties share the gradient equally
    share = (winners / winners.sum(axis=axis, keepdims=True)).astype(x.dtype)  # float32 stays float32
    return _spread(g, x, axis) * share


MAX = define(Op(
    "max", "max", lambda x, axis=None, keepdims=False: x.max(axis=axis, keepdims=keepdims),
    vjps=(_extremum_grad,),
    derivatives=("1 at the maximum (ties share)",), domain=("distinct",),
))

MIN = define(Op(
    "min", "min", lambda x, axis=None, keepdims=False: x.min(axis=axis, keepdims=keepdims),
    vjps=(_extremum_grad,),
    derivatives=("1 at the minimum (ties share)",), domain=("distinct",),
))


def _moved_last(x: Any, axis: tuple[int, ...] | None) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    """x with the reduced axes moved to the end and flattened into one: (x', shape before flattening, perm)."""
    axes = tuple(range(x.ndim)) if axis is None else axis
    perm = tuple(i for i in range(x.ndim) if i not in axes) + axes
    moved = x.transpose(perm)
    kept = moved.shape[:x.ndim - len(axes)]
    return moved.reshape(kept + (math.prod(moved.shape[len(kept):]),)), moved.shape, perm


def _product_of_others(x: Any, axis: tuple[int, ...] | None) -> Any:
    """For each element of x, the product of the other elements of its reduction: d prod / d x, also
    where x holds zeros (where out / x would be 0/0)."""
    flat, moved_shape, perm = _moved_last(x, axis)
    n = flat.shape[-1]
    if type(flat) is np.ndarray:  # products from the left and from the right, each excluding the element
        ones = np.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
        left = np.concatenate([ones, np.cumprod(flat[..., :-1], axis=-1)], axis=-1)
        right = np.concatenate([np.cumprod(flat[..., :0:-1], axis=-1)[..., ::-1], ones], axis=-1)
        others = left * right
    else:  # a graph node: row i of an n x n grid is x with x_i replaced by 1 (differentiable again)
        eye = np.eye(n, dtype=flat.dtype)
        grid = flat.reshape(flat.shape[:-1] + (1, n)) * (1 - eye) + eye
        others = call(PROD, grid, axis=(grid.ndim - 1,), keepdims=False)
    return others.reshape(moved_shape).transpose(tuple(int(i) for i in np.argsort(perm)))


def _prod_grad(g: Any, out: Any, x: Any, axis: tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    if (_raw(x) == 0).any():
        return _spread(g, x, axis) * _product_of_others(x, axis)
    return _spread(g, x, axis) * _spread(out, x, axis) / x  # the product of the others, without zeros


PROD: Op = define(Op(
    "prod", "Π", lambda x, axis=None, keepdims=False: np.prod(x, axis=axis, keepdims=keepdims),
    vjps=(_prod_grad,),
    derivatives=("product of the others",), domain=("real",),
))


def _logsumexp(x: np.ndarray, axis: tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    shift = np.max(x, axis=axis, keepdims=True)
    shift[~np.isfinite(shift)] = 0  # all -inf (or an inf): no shift, so the result is -inf (or inf, nan)
    with np.errstate(divide="ignore"):  # log 0 = -inf where every element is -inf, as intended
        out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else out.reshape(np.sum(x, axis=axis).shape)


LOGSUMEXP = define(Op(  # one node, computed with the largest element shifted to 0: no overflow
    "logsumexp", "logΣexp", _logsumexp,
    vjps=(lambda g, out, x, axis=None, keepdims=False: _spread(g, x, axis) * call(EXP, x - _spread(out, x, axis)),),
    derivatives=("softmax(x)",), domain=("real",),
))


def _cumsum(x: np.ndarray, axis: int, reverse: bool = False) -> np.ndarray:
    if not reverse:
        return np.cumsum(x, axis=axis)
    flipped = _slice_along(axis, slice(None, None, -1))
    return np.cumsum(x[flipped], axis=axis)[flipped]


CUMSUM: Op = define(Op(  # reverse=True sums from the end: the adjoint of the forward sum, and vice versa
    "cumsum", "cumsum", _cumsum,
    vjps=(lambda g, out, x, axis, reverse=False: call(CUMSUM, g, axis=axis, reverse=not reverse),),
    derivatives=("1 for every position at or after it",), domain=("real",),
    reads=(),
))


# --------------------------------------------------------------------------- shape and indexing

RESHAPE = define(Op(
    "reshape", "reshape", lambda x, shape: np.reshape(x, shape),
    vjps=(lambda g, out, x, shape: g.reshape(x.shape),),
    derivatives=("reshape back",), domain=("real",),
    reads=(),
))

TRANSPOSE = define(Op(
    "transpose", "ᵀ", lambda x, axes: np.transpose(x, axes),
    vjps=(lambda g, out, x, axes: g.transpose(tuple(np.argsort(axes))),),
    derivatives=("transpose back",), domain=("real",),
    reads=(),
))

ASTYPE: Op = define(Op(  # a change of float precision: the gradient goes back in the input's dtype
    "astype", "cast", lambda x, dtype: x.astype(dtype),
    vjps=(lambda g, out, x, dtype: call(ASTYPE, g, dtype=x.dtype),),
    derivatives=("1",), domain=("real",),
    reads=(),  # the rule reads the input's dtype, never its values
))


def _broadcast_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if x.ndim > len(shape):  # assignment below would drop leading axes of length 1; broadcasting never does
        raise ValueError(f"cannot broadcast shape {x.shape} to {tuple(shape)}, which has fewer axes")
    out = np.empty(shape, dtype=x.dtype)  # a writable array; np.broadcast_to's view is slower to make
    out[...] = x
    return out


BROADCAST_TO: Op = define(Op(
    "broadcast_to", "broadcast", _broadcast_to,
    vjps=(lambda g, out, x, shape: sum_to_shape(g, x.shape),),
    derivatives=("sum back",), domain=("real",),
    reads=(),
))

GETITEM: Op = define(Op(
    "getitem", "[]", lambda x, index: x[index],
    vjps=(lambda g, out, x, index: call(SCATTER_ADD, g, index=index, shape=x.shape),),
    derivatives=("1 where selected",), domain=("real",),
    reads=(),
))


def _scatter_add(g: np.ndarray, index: tuple[Any, ...], shape: tuple[int, ...]) -> np.ndarray:
    z = np.zeros(shape, dtype=g.dtype)
    if _is_basic_index(index):
        z[index] = g
    else:
        np.add.at(z, index, g)  # an element selected twice receives both gradients
    return z


SCATTER_ADD: Op = define(Op(  # the adjoint of getitem: zeros of `shape` with g added at `index`
    "scatter_add", "scatter", _scatter_add,
    vjps=(lambda g, out, x, index, shape: call(GETITEM, g, index=index),),
    derivatives=("gather",), domain=("real",),
    reads=(),
))


def _slice_along(axis: int, k: Any) -> tuple[Any, ...]:
    return (slice(None),) * axis + (k,)


def _concatenate_grad(k: int, g: Any, out: Any, *xs: Any, axis: int) -> Any:
    start = sum(x.shape[axis] for x in xs[:k])
    return g[_slice_along(axis, slice(start, start + xs[k].shape[axis]))]


CONCATENATE = define(Op(
    "concatenate", "concat", lambda *xs, axis: np.concatenate(xs, axis=axis),
    vjps=ForEachInput(_concatenate_grad),
    derivatives=("1 on its slice",), domain=("real",), broadcasting=True,  # may promote dtypes
    reads=(),
))

STACK = define(Op(
    "stack", "stack", lambda *xs, axis: np.stack(xs, axis=axis),
    vjps=ForEachInput(lambda k, g, out, *xs, axis: g[_slice_along(axis, k)]),
    derivatives=("1 on its slice",), domain=("real",), broadcasting=True,
    reads=(),
))


# --------------------------------------------------------------------------- softmax family


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    if x.dtype.kind != "f":  # integers: the result is not (NumPy's float default, as np.exp gives)
        x = x.astype(np.float64)
    shifted = x - x.max(axis=axis, keepdims=True)  # largest exponent is 0: no overflow
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - np.maximum.reduce(x, axis=axis, keepdims=True))  # (x.max without its Python layer)
    e /= np.add.reduce(e, axis=axis, keepdims=True)
    return e


LOG_SOFTMAX = define(Op(
    "log_softmax", "log_softmax", _log_softmax,
    vjps=(lambda g, out, x, axis: g - call(EXP, out) * g.sum(axis=axis, keepdims=True),),
    derivatives=("δ - softmax",), domain=("real",),
    reads=(),
))

SOFTMAX = define(Op(
    "softmax", "softmax", _softmax,
    vjps=(lambda g, out, x, axis: out * (g - (g * out).sum(axis=axis, keepdims=True)),),
    derivatives=("s(δ - s)",), domain=("real",),
    reads=(),
))


def _cross_entropy_saving(logits: np.ndarray, labels: np.ndarray) -> tuple[Any, tuple[np.ndarray, np.ndarray]]:
    """Mean over rows of -log softmax(logits)[row, label]: the loss of a classifier on a batch; and,
    for its rule, the exponentials of the shifted logits and their row sums (softmax = exps / sums).

    -log softmax(x)[label] = log(sum(exp(x))) - x[label], both taken from x shifted by its row's
    maximum (no overflow); only the picked elements are subtracted, not the whole log-softmax.
    """
    if logits.dtype.kind != "f":  # integers: a float loss, as log_softmax gives
        logits = logits.astype(np.float64)
    shifted = logits - np.maximum.reduce(logits, axis=-1, keepdims=True)
    exps = np.exp(shifted)
    sums = np.add.reduce(exps, axis=-1)
    loss = np.add.reduce(np.log(sums) - shifted[np.arange(len(labels)), labels]) / len(labels)
    return loss, (exps, sums)


def _cross_entropy(logits: np.ndarray, labels: np.ndarray) -> Any:
    return _cross_entropy_saving(logits, labels)[0]


def _one_hot(labels: np.ndarray, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    z = np.zeros(shape, dtype=dtype)
    z[np.arange(len(labels)), labels] = 1
    return z


def _cross_entropy_grad(g: Any, out: Any, x: Any, labels: np.ndarray,
                        saved: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
    n = len(labels)
    if type(x) is np.ndarray:  # raw data: the same formula, worked out in place in one fresh array
        if saved is None:
            d = _softmax(x, axis=-1)
        else:  # the forward's exponentials: no second pass of max, exp and sum
            exps, sums = saved
            d = exps / sums[:, np.newaxis]
        d[np.arange(n), labels] -= 1
        d *= g / n
        return d
    return (call(SOFTMAX, x, axis=-1) - _one_hot(labels, x.shape, x.dtype)) * (g / n)


CROSS_ENTROPY = define(Op(  # one node for log_softmax, pick and mean: the classifier's usual loss
    "cross_entropy", "cross_entropy", _cross_entropy,
    vjps=(_cross_entropy_grad,), saving_forward=_cross_entropy_saving,
    derivatives=("(softmax - onehot) / N",), domain=("real",),
))


# --------------------------------------------------------------------------- movement and indexing
# where, constant pad and scatter are primitives: one node each in a drawing, and rules that are
# selections (no 0 * inf from the branch not taken). The other movement ops (flip, roll, repeat,
# gather, reflect pad...) are composites of reshape, broadcast_to and getitem.


WHERE: Op = define(Op(  # x where cond, else y; cond is a constant boolean mask kept in the params
    "where", "where", lambda x, y, cond: np.where(cond, x, y),
    vjps=(lambda g, out, x, y, cond: call(WHERE, g, 0.0, cond=cond),  # a selection, never g * mask
          lambda g, out, x, y, cond: call(WHERE, 0.0, g, cond=cond)),
    derivatives=("1 where cond, else 0", "0 where cond, else 1"), domain=("real", "real"),
    broadcasting=True,  # x, y and cond broadcast together; the engine sums each gradient back
    reads=(),
))


def _inside(widths: tuple[tuple[int, int], ...], shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The slices of a padded array that hold the original (unpadded) array of `shape`."""
    return tuple(slice(before, before + n) for (before, _), n in zip(widths, shape))


def _pad(x: np.ndarray, value: Any, widths: tuple[tuple[int, int], ...]) -> np.ndarray:
    out = np.full([n + a + b for n, (a, b) in zip(x.shape, widths)], value, dtype=x.dtype)
    out[_inside(widths, x.shape)] = x
    return out


def _pad_grad_value(g: Any, out: Any, x: Any, value: Any, widths: tuple[tuple[int, int], ...]) -> Any:
    every = tuple(range(g.ndim))
    return _sum(g, every) - _sum(g[_inside(widths, x.shape)], every)  # what fell on the padding


PAD = define(Op(  # constant padding: widths[d] = (before, after) copies of the 0-d `value` on axis d
    "pad", "pad", _pad,
    vjps=(lambda g, out, x, value, widths: g[_inside(widths, x.shape)],  # its adjoint: a slice
          _pad_grad_value),
    derivatives=("1 inside, 0 on the padding", "1 on the padding"), domain=("real", "real"),
    reads=(),  # (the value is an input, not a param, so that anomaly mode sees a pad of -inf coming)
))


def _scatter(x: np.ndarray, src: np.ndarray, target: tuple[np.ndarray, ...], source: tuple[np.ndarray, ...]) -> np.ndarray:
    out = x.copy()
    out[target] = src[source]  # (each target at most once: the caller keeps one writer per element)
    return out


def _hit(shape: tuple[int, ...], target: tuple[np.ndarray, ...]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[target] = True
    return mask


SCATTER: Op = define(Op(  # x with the elements at `target` replaced by src's at `source` (flat index arrays)
    "scatter", "scatter", _scatter,
    vjps=(lambda g, out, x, src, target, source: call(WHERE, 0.0, g, cond=_hit(x.shape, target)),
          lambda g, out, x, src, target, source: call(SCATTER_ADD, g[target], index=source, shape=src.shape)),
    derivatives=("0 where overwritten, else 1", "1 where written"), domain=("real", "real"),
    reads=(),
))


SCALAR_OPS = tuple(op for op in REGISTRY.values() if op.scalar_forward is not None)
