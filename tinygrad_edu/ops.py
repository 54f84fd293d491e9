"""Every primitive operation, defined once.

An `Op` is data: its forward (NumPy, plus a `math` version for scalars), one backward rule (a
vector-Jacobian product) per input, the local derivative of each input as text, and the input domain
tests may sample from. The engine, the gradient checker, the renderer and the tests all read these
records; no derivative is written anywhere else.

Backward rules are written with operators and a few helpers (`call`, `sum_to_shape`) that work on raw
data (floats, ndarrays) and on graph nodes alike. The engine passes raw data for a plain backward and
graph nodes for `create_graph=True`, so the same rule gives first and higher derivatives.

The records come in families, each under its banner, in this order: the post's elementwise ops,
the matrix product, reductions, shape and indexing, the softmax family and cross-entropy, movement
and indexing (where, pad, scatter), elementwise math and activations, convolution and pooling, einsum,
and fused ops that make common layers fast (normalisation, the LSTM cell, the LSTM layer).

This module imports only NumPy and the standard library.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .device import array_module, copy_to, device_of, is_array

# Input domains a test may sample from (one per input):
#   "real"     any moderate real number
#   "positive" strictly positive (log, the base of a power)
#   "nonzero"  bounded away from zero (divisors)
#   "smooth"   bounded away from the op's kink at 0 (relu)
#   "distinct" no two elements equal (max)
#   "steps"    at least 0.05 from every multiple of 0.5 (round, floor, ceil, sign; clip at such bounds)
#   "halves"   a nonzero multiple of 0.5 in [-2, 2] (a divisor of %: with x from "steps", x/y is never whole)
DOMAINS = ("real", "positive", "nonzero", "smooth", "distinct", "steps", "halves")


@dataclass(frozen=True, eq=False)
class Op:
    """One primitive: forward, backward rule per input, and derivative text per input."""

    name: str
    symbol: str  # what a drawing shows in the node, e.g. "*"
    forward: Callable[..., Any]  # raw NumPy data (and params by keyword) -> raw output
    vjps: Sequence[Callable[..., Any]] | ForEachInput  # vjps[k](grad_out, out, *inputs, **params) -> gradient of input k
    # local derivative of each input as text, e.g. ("y", "x") for x*y, in the rule's letters (x, y: the
    # inputs); or, where it names the gradient arriving (the rule's first argument, g), the whole
    # vector-Jacobian product, as matmul's ("g @ yᵀ", "xᵀ @ g")
    derivatives: tuple[str, ...]
    domain: tuple[str, ...]  # where tests may sample each input (see DOMAINS)
    scalar_forward: Callable[..., float] | None = None  # float forward; None: not available on Value
    # inputs are broadcast and type-promoted (PyTorch's rule, tensor._promotion): the engine sums gradients back
    broadcasting: bool = False
    reads: tuple[int, ...] | None = None  # the inputs whose values the rules read (None: all of them)
    # (*inputs) -> why the forward refused them, in words clearer than NumPy's (None: NumPy's words);
    # asked only after a failure, so that the forward stays NumPy's own function
    explain: Callable[..., str | None] | None = None
    # (*inputs, **params) -> (output, saved): the forward of a node being recorded, also returning work
    # its rules reuse instead of redoing (cross_entropy's exponentials). The node keeps it in its params,
    # so the rules get it as `saved=`; they must also work without it (a caller that has only the inputs).
    # Honoured wherever a Tensor records the op (tensor._apply1, _apply); the registry test asserts it is used
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


def _sum(g: Any, axis: tuple[int, ...] | None, keepdims: bool = False) -> Any:
    """g summed over axis: an array by NumPy's reduction itself (ndarray.sum adds a Python layer), a
    graph node by its own sum, so that it is recorded."""
    if type(g) is np.ndarray:
        if _short_last_axis(g, axis):  # rows of a few dozen: a product with ones, 4-6x faster
            s = np.matmul(g, _ones(g.shape[-1], g.dtype))
            return s.reshape(s.shape + (1,)) if keepdims else s
        return np.add.reduce(g, axis=axis, keepdims=keepdims)  # type: ignore[call-overload]
    return g.sum(axis=axis, keepdims=keepdims)


def _short_last_axis(x: np.ndarray, axis: Any) -> bool:
    """True when `axis` is only the last axis of x, a short one (<= 256), of a C-contiguous float32 or
    float64 array of many rows: NumPy then reduces row by row, each short row with its own inner loop,
    and is several times slower than a matrix-vector product (sums) or a pass over the transposed rows."""
    if axis is None or x.ndim < 2 or x.size < 4096 or x.shape[-1] > 256 or x.dtype.char not in "fd" or \
            not x.flags.c_contiguous:
        return False
    if isinstance(axis, tuple):
        if len(axis) != 1:
            return False
        axis = axis[0]
    return isinstance(axis, (int, np.integer)) and axis % x.ndim == x.ndim - 1


def _axes(axis: int | None) -> tuple[int, ...] | None:
    """One axis (or None: all of them) as _sum takes it."""
    return None if axis is None else (axis,)


@functools.lru_cache(maxsize=32)
def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of n ones (sums over a short last axis as x @ ones)."""
    ones = np.ones(n, dtype=dtype)
    ones.flags.writeable = False
    return ones


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
    return float(np.log(np.float64(x)))  # -inf at 0, nan below, with NumPy's warning (math raises)


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


def _max(x: Any, axis: Any, keepdims: bool) -> Any:
    """x's maximum along axis: NumPy's reduction itself (x.max adds a Python layer), or the method of a
    device's array (CuPy has ufunc.reduce for add and multiply only)."""
    if type(x) is np.ndarray:
        if _short_last_axis(x, axis):  # short rows: their columns as rows, then one pass per column (2x faster)
            m = np.maximum.reduce(np.ascontiguousarray(x.reshape(-1, x.shape[-1]).T), axis=0)
            return m.reshape(x.shape[:-1] + ((1,) if keepdims else ()))
        return np.maximum.reduce(x, axis=axis, keepdims=keepdims)  # type: ignore[call-overload]
    return x.max(axis=axis, keepdims=keepdims)


def _raw(x: Any) -> Any:
    """The data of a graph node, or x itself: for rules that look at values only to choose (a mask)."""
    return x.data if isinstance(x, Recorder) else x  # type: ignore[attr-defined]  # (a Recorder is a Node)


def _values(v: Any) -> Any:
    """The array of a graph node, an array, or a number (as a 0-d NumPy array)."""
    data = _raw(v)
    return data if is_array(data) else np.asarray(data)


def _pow_grad_base(g: Any, out: Any, x: Any, y: Any) -> Any:
    # y·x^(y-1), except where y == 0: x**0 is the constant 1, even at x == 0 (where 0 * inf would give nan)
    recording = isinstance(y, Recorder)
    if not recording:  # numbers and arrays: where y == 0 the exponent is 0 instead, and y·x^0 = 0;
        return g * y * call(POW, x, y - 1 + (y == 0))  # nothing looked at (on a GPU, nothing waits for a read)
    # graph nodes (create_graph): the exponent y - 1 everywhere, so that its derivative in y is right at y == 0
    zero_exponent = _values(y) == 0
    if zero_exponent.any():  # (x is looked at only then: the usual exponent, a constant like 2, never is 0)
        both_zero = zero_exponent & (_values(x) == 0)
        if both_zero.any():
            x = _one_where(x, both_zero)
    return g * y * call(POW, x, y - 1)


def _pow_grad_exponent(g: Any, out: Any, x: Any, y: Any) -> Any:
    # x^y·log(x), except where x == 0 <= y: there it is 0, not 0 * -inf. For y > 0, 0**y is 0 nearby;
    # at y == 0 the limit from x > 0 is 0 as well (PyTorch's convention); for y < 0, 0**y is inf: the
    # rule's nan says there is no derivative
    flat = (_values(x) == 0) & (_values(y) >= 0)
    return g * out * call(LOG, _one_where(x, flat))  # (always: asking whether any base is 0 would make a GPU wait)


POW: Op = define(Op(
    "pow", "**", _power,
    vjps=(_pow_grad_base, _pow_grad_exponent),
    derivatives=("y·x^(y-1)", "x^y·log(x); 0 at x = 0 ≤ y"), domain=("positive", "real"),
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
    vjps=(lambda g, out, x: g * (out > 0),),  # a boolean constant (a boolean Tensor on graph nodes)
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


def _matmul(x: Any, y: Any) -> Any:
    """x @ y; a batch of rows times one matrix (a Linear layer's x @ W.T) as one 2-D product: NumPy's
    loop over the batch is up to 1.7x slower when the matrix is a transposed view, and CuPy's batched
    product would first copy that view (a 2-D product reads it as it is)."""
    if x.ndim > 2 and np.ndim(y) == 2 and x.size and x.flags.c_contiguous:
        return np.matmul(x.reshape(-1, x.shape[-1]), y).reshape(x.shape[:-1] + (y.shape[1],))
    return np.matmul(x, y)


MATMUL = define(Op(
    "matmul", "@", _matmul,
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
    # NumPy accumulates these in a wider type; a device's mean is one kernel (its sum and a divide are two)
    if x.dtype.kind != "f" or x.dtype.itemsize < 4 or type(x) is not np.ndarray:
        return x.mean(axis=axis, keepdims=keepdims)
    count = x.size if axis is None else math.prod(x.shape[a] for a in axis)
    return _sum(x, axis, keepdims) / count  # mean, minus its Python layer


MEAN = define(Op(
    "mean", "mean", _mean,
    vjps=(lambda g, out, x, axis=None, keepdims=False: _spread(g / (x.size // max(out.size, 1)), x, axis),),
    derivatives=("1/n",), domain=("real",),
    reads=(),
))


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
    if is_array(flat):  # products from the left and from the right, each excluding the element
        ones = array_module(flat).ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
        left = np.concatenate([ones, np.cumprod(flat[..., :-1], axis=-1)], axis=-1)
        right = np.concatenate([np.cumprod(flat[..., :0:-1], axis=-1)[..., ::-1], ones], axis=-1)
        others = left * right
    else:  # a graph node: row i of an n x n grid is x with x_i replaced by 1 (differentiable again)
        eye = array_module(flat.data).eye(n, dtype=flat.dtype)
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


def _copy_back(g: Any, out: Any, x: Any, device: Any) -> Any:
    """The gradient of a copy, on the device its input was on (a copy across devices again, or g itself)."""
    home = device_of(_raw(x))
    return g if device_of(_raw(g)) is home else call(COPY, g, device=home)


COPY: Op = define(Op(  # clone(), and .to(device) across devices: the gradient goes back where the input was
    "copy", "copy", copy_to,
    vjps=(_copy_back,),
    derivatives=("1",), domain=("real",),
    reads=(),  # the rule reads the input's device, never its values
))


def _broadcast_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if x.ndim > len(shape):  # assignment below would drop leading axes of length 1; broadcasting never does
        raise ValueError(f"cannot broadcast shape {x.shape} to {tuple(shape)}, which has fewer axes")
    out = array_module(x).empty(shape, dtype=x.dtype)  # a writable array; np.broadcast_to's view is slower to make
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
    if not _is_basic_index(index) and g.dtype.kind == "f" and type(g) is np.ndarray:  # (a NumPy speed path)
        return _scatter_add_by_count(g, index, shape)
    xp = array_module(g)
    z = xp.zeros(shape, dtype=g.dtype)
    if _is_basic_index(index):
        z[index] = g
    else:
        xp.add.at(z, index, g)  # an element selected twice receives both gradients
    return z


def _scatter_add_by_count(g: np.ndarray, index: tuple[Any, ...], shape: tuple[int, ...]) -> np.ndarray:
    """_scatter_add for an index that may select an element twice (an embedding's ids), as np.add.at
    computes it but 4x faster: the flat position of every selected element (the index applied to the
    positions themselves), then one weighted count of the positions, accumulated in float64."""
    size = math.prod(shape)
    positions = np.arange(size).reshape(shape)[index]
    total = np.bincount(positions.reshape(-1), weights=g.reshape(-1), minlength=size)
    return total.astype(g.dtype, copy=False).reshape(shape)


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
    e = x - _max(x, axis, True)
    e = np.exp(e, out=e) if is_array(e) and e.dtype.kind == "f" else np.exp(e)  # in place: one array, not two
    e /= _sum(e, _axes(axis), keepdims=True)
    return e


LOG_SOFTMAX = define(Op(
    "log_softmax", "log_softmax", _log_softmax,
    vjps=(lambda g, out, x, axis: g - call(EXP, out) * g.sum(axis=axis, keepdims=True),),
    derivatives=("δ - softmax",), domain=("real",),
    reads=(),
))

SOFTMAX = define(Op(
    "softmax", "softmax", _softmax,
    vjps=(lambda g, out, x, axis: out * (g - _sum(g * out, _axes(axis), keepdims=True)),),
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
    shifted = logits - _max(logits, -1, True)
    exps = np.exp(shifted)
    sums = _sum(exps, (-1,))
    loss = _mean(np.log(sums) - shifted[_row_numbers(array_module(shifted), len(labels)), labels])
    return loss, (exps, sums)


@functools.lru_cache(maxsize=16)
def _row_numbers(xp: Any, n: int) -> Any:
    """The row numbers 0..n-1 that pick one label per row, made once per batch size and array library
    (speed: on a GPU each arange is a kernel launch, and the classifier's loss needs them twice a step)."""
    rows = xp.arange(n)
    if type(rows) is np.ndarray:
        rows.flags.writeable = False  # shared: nobody may change it
    return rows


def _cross_entropy(logits: np.ndarray, labels: np.ndarray) -> Any:
    return _cross_entropy_saving(logits, labels)[0]


def _one_hot(labels: np.ndarray, like: Any) -> Any:
    xp = array_module(like)
    z = xp.zeros(like.shape, dtype=like.dtype)
    z[_row_numbers(xp, len(labels)), labels] = 1
    return z


def _cross_entropy_grad(g: Any, out: Any, x: Any, labels: np.ndarray,
                        saved: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
    n = len(labels)
    if is_array(x):  # raw data: the same formula, worked out in place in one fresh array
        if saved is None:
            d = _softmax(x, axis=-1)
        else:  # the forward's exponentials: no second pass of max, exp and sum
            exps, sums = saved
            d = exps / sums[:, np.newaxis]
        d[_row_numbers(array_module(d), n), labels] -= 1
        d *= g / n
        return d
    return (call(SOFTMAX, x, axis=-1) - _one_hot(labels, x.data)) * (g / n)


CROSS_ENTROPY = define(Op(  # one node for log_softmax, pick and mean: the classifier's usual loss
    "cross_entropy", "cross_entropy", _cross_entropy,
    vjps=(_cross_entropy_grad,), saving_forward=_cross_entropy_saving,
    derivatives=("(softmax - onehot) / N",), domain=("real",),
))


def _mse_loss_saving(pred: Any, target: Any, reduction: str) -> tuple[Any, Any]:
    """Σ (pred - target)², divided by the number of elements for reduction="mean"; and, for the rules,
    the difference d = pred - target (the gradient is 2d/N for pred, -2d/N for the target)."""
    d = pred - target
    total = np.vdot(d, d)  # one pass, no squared array
    return (total / d.size if reduction == "mean" else total), d


def _mse_loss(pred: Any, target: Any, reduction: str) -> Any:
    return _mse_loss_saving(pred, target, reduction)[0]


def _mse_loss_grad_pred(g: Any, out: Any, pred: Any, target: Any, reduction: str, saved: Any = None) -> Any:
    scale = g * (2 / (pred.size if reduction == "mean" else 1))
    if is_array(pred) and saved is not None:  # raw data: the forward's difference, not computed again
        return saved * scale
    return (pred - target) * scale  # graph nodes (create_graph): a graph of its own, differentiable again


def _mse_loss_grad_target(g: Any, out: Any, pred: Any, target: Any, reduction: str, saved: Any = None) -> Any:
    return -_mse_loss_grad_pred(g, out, pred, target, reduction, saved)


MSE_LOSS = define(Op(  # one node for subtract, square and mean (or sum): the regression's usual loss
    "mse_loss", "mse_loss", _mse_loss,
    vjps=(_mse_loss_grad_pred, _mse_loss_grad_target), saving_forward=_mse_loss_saving,
    derivatives=("2(pred - target)/N", "-2(pred - target)/N"), domain=("real", "real"),
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
    out = array_module(x).full([n + a + b for n, (a, b) in zip(x.shape, widths)], value, dtype=x.dtype)
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


def _hit(x: Any, target: tuple[np.ndarray, ...]) -> Any:
    mask = array_module(_values(x)).zeros(x.shape, dtype=bool)
    mask[target] = True
    return mask


SCATTER: Op = define(Op(  # x with the elements at `target` replaced by src's at `source` (flat index arrays)
    "scatter", "scatter", _scatter,
    vjps=(lambda g, out, x, src, target, source: call(WHERE, 0.0, g, cond=_hit(x, target)),
          lambda g, out, x, src, target, source: call(SCATTER_ADD, g[target], index=source, shape=src.shape)),
    derivatives=("0 where overwritten, else 1", "1 where written"), domain=("real", "real"),
    reads=(),
))



# --------------------------------------------------------------------------- elementwise math and activations
# sqrt, abs, sign, clip, maximum, minimum, sin, cos, log2, erf, remainder (%), floor division (//), round,
# floor, ceil; the activations gelu (exact and tanh), silu, softplus, leaky_relu, elu, hardtanh. Masks and
# the other constants a rule multiplies by are built from the inputs' values (`_raw`), never recorded:
# they are piecewise constant, so their own derivative is 0 and second order is right without them.


def _zero_gradient(g: Any, out: Any, *inputs: Any, **params: Any) -> Any:
    """The rule of a piecewise-constant op: 0 wherever its derivative exists (PyTorch's answer too)."""
    if is_array(g):
        return np.zeros_like(g)
    return 0.0 if type(g) is float else g * 0


def _scalar_sign(x: float) -> float:
    return 1.0 if x > 0 else -1.0 if x < 0 else x * 0.0  # 0 stays 0, NaN stays NaN


def _sign_constant(x: Any) -> Any:
    d = _raw(x)
    return _scalar_sign(d) if type(d) is float else np.sign(d)


def _scalar_sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else float(np.sqrt(np.float64(x)))  # NumPy's nan and warning (math raises)


def _scalar_log2(x: float) -> float:
    if x > 0:
        return math.log2(x)
    return float(np.log2(np.float64(x)))  # -inf at 0, nan below, with NumPy's warning


def _scalar_sin(x: float) -> float:
    return math.sin(x) if math.isfinite(x) else math.nan  # (math raises for ±inf)


def _scalar_cos(x: float) -> float:
    return math.cos(x) if math.isfinite(x) else math.nan


def _scalar_floor(x: float) -> float:
    return float(math.floor(x)) if math.isfinite(x) else x


def _scalar_ceil(x: float) -> float:
    return float(math.ceil(x)) if math.isfinite(x) else x


def _round(x: Any, decimals: int = 0) -> Any:
    return np.round(x, decimals)  # halves to even, as PyTorch and Python round


def _scalar_round(x: float, decimals: int = 0) -> float:
    return round(x, 0) if decimals == 0 else float(np.round(x, decimals))


SQRT = define(Op(
    "sqrt", "√", np.sqrt,
    vjps=(lambda g, out, x: g / (2 * out),),  # from the saved output
    derivatives=("1/(2√x)",), domain=("positive",),
    scalar_forward=_scalar_sqrt,
    reads=(),
))

ABS = define(Op(
    "abs", "|x|", np.abs,
    vjps=(lambda g, out, x: g * _sign_constant(x),),  # sign(0) = 0: PyTorch's choice at the kink
    derivatives=("sign(x)",), domain=("smooth",),
    scalar_forward=abs,
    reads=(0,),
))

SIGN = define(Op(
    "sign", "sign", np.sign,
    vjps=(_zero_gradient,),
    derivatives=("0",), domain=("steps",),
    scalar_forward=_scalar_sign,
    reads=(),
))

SIN: Op = define(Op(
    "sin", "sin", np.sin,
    vjps=(lambda g, out, x: g * call(COS, x),),
    derivatives=("cos(x)",), domain=("real",),
    scalar_forward=_scalar_sin,
    reads=(0,),
))

COS: Op = define(Op(
    "cos", "cos", np.cos,
    vjps=(lambda g, out, x: -g * call(SIN, x),),
    derivatives=("-sin(x)",), domain=("real",),
    scalar_forward=_scalar_cos,
    reads=(0,),
))

_LN2 = math.log(2.0)

LOG2 = define(Op(
    "log2", "log₂", np.log2,
    vjps=(lambda g, out, x: g / (x * _LN2),),
    derivatives=("1/(x·ln 2)",), domain=("positive",),
    scalar_forward=_scalar_log2,
    reads=(0,),
))


def _scalar_log1p(x: float) -> float:
    if x > -1:
        return math.log1p(x)
    return float(np.log1p(np.float64(x)))  # -inf at -1, nan below, with NumPy's warning (math raises)


LOG1P = define(Op(  # log(1 + x), exact also where 1 + x would round x away (|x| < 1e-16 and up)
    "log1p", "log1p", np.log1p,
    vjps=(lambda g, out, x: g / (1 + x),),
    derivatives=("1/(1+x)",), domain=("positive",),
    scalar_forward=_scalar_log1p,
    reads=(0,),
))

EXPM1 = define(Op(  # exp(x) - 1, exact also for small x, where exp(x) - 1 cancels
    "expm1", "expm1", np.expm1,
    vjps=(lambda g, out, x: g * (out + 1),),
    derivatives=("exp(x)",), domain=("real",),
    scalar_forward=math.expm1,
    reads=(),
))


# erf after W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969),
# 631-637 (the coefficients of his SPECFUN routine CALERF): erf(x) = x·P(x²)/Q(x²) for |x| <= 0.46875;
# erfc(x) = exp(-x²)·P(x)/Q(x) up to 4; beyond, erfc(x) = exp(-x²)/x·(1/√π - z·P(z)/Q(z)) with z = 1/x².
# Full float64 accuracy in a few array passes (NumPy has no erf); each list runs from the highest power.
_ERF_SMALL = ((1.85777706184603153e-1, 3.16112374387056560, 1.13864154151050156e2, 3.77485237685302021e2,
               3.20937758913846947e3),
              (1.0, 2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3, 2.84423683343917062e3))
_ERFC_MIDDLE = ((2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594, 6.61191906371416295e1,
                 2.98635138197400131e2, 8.81952221241769090e2, 1.71204761263407058e3, 2.05107837782607147e3,
                 1.23033935479799725e3),
                (1.0, 1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2, 1.62138957456669019e3,
                 3.29079923573345963e3, 4.36261909014324716e3, 3.43936767414372164e3, 1.23033935480374942e3))
_ERFC_LARGE = ((1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
                1.60837851487422766e-2, 6.58749161529837803e-4),
               (1.0, 2.56852019228982242, 1.87295284992346047, 5.27905102951428412e-1, 6.05183413124413191e-2,
                2.33520497626869185e-3))
_INV_SQRT_PI = 1 / math.sqrt(math.pi)


@functools.cache
def _stacked(coefficients: tuple[tuple[float, ...], tuple[float, ...]], dtype: np.dtype, xp: Any) -> Any:
    return xp.asarray(np.array(coefficients, dtype=dtype)[:, :, np.newaxis])  # (P or Q, power, 1)


def _ratio(coefficients: tuple[tuple[float, ...], tuple[float, ...]], z: np.ndarray) -> np.ndarray:
    """P(z) / Q(z) by Horner's rule, P and Q stacked in one array (half the NumPy calls), in place."""
    xp = array_module(z)
    c, flat = _stacked(coefficients, z.dtype, xp), z.reshape(-1)
    pq = xp.empty((2, flat.size), dtype=z.dtype)
    pq[...] = c[:, 0]
    for k in range(1, c.shape[1]):
        pq *= flat
        pq += c[:, k]
    return np.divide(pq[0], pq[1], out=pq[0]).reshape(z.shape)


def _erf_of_magnitude(y: np.ndarray) -> np.ndarray:
    """erf(y) for y >= 0 (or NaN). Each branch is computed on the whole block and kept where it applies:
    cheaper than gathering elements by a mask and scattering them back."""
    with np.errstate(all="ignore"):  # each branch overflows or divides by 0 where another one is used
        out = _ratio(_ERFC_MIDDLE, y)
        out *= np.exp(-y * y)
        np.subtract(1, out, out=out)  # NaN stays here: it is neither small nor large
        small = y <= 0.46875
        if small.any():
            s = _ratio(_ERF_SMALL, y * y)
            s *= y
            np.putmask(out, small, s)  # (np.copyto with where= is slower)
        large = y > 4.0
        if large.any():
            z = 1 / (y * y)
            erfc = np.exp(-y * y) * (_INV_SQRT_PI - z * _ratio(_ERFC_LARGE, z)) / y
            np.putmask(out, large, 1 - erfc)
    return out


# float32 (and smaller): the rational approximation erf(x) = x·P(x²)/Q(x²) on [-4, 4] that Eigen and XLA
# use for float32 (beyond ±4, erf is ±1 to float32's precision), evaluated in float64: within 1e-7 of erf
# (2 float32 ulps), one branch instead of Cody's three and no exp: 3x faster.
_ERF_SINGLE = ((-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
                -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02),
               (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
                -1.42647390514189e-02))


def _erf_single(x: np.ndarray) -> np.ndarray:
    """erf(x) for a float32 (or float16) block x, to that precision (see above)."""
    y = np.clip(x.astype(np.float64), -4.0, 4.0)  # (NaN stays NaN)
    return _erf_rational(y, _ERF_SINGLE).astype(x.dtype)


def _erf_rational(y: np.ndarray, coefficients: Any) -> np.ndarray:
    """y·P(y²)/Q(y²), _erf_single's rational approximation, in y's dtype (Horner's rule, in place)."""
    z = y * y
    p, q = (z * c[0] + c[1] for c in coefficients)
    for c in coefficients[0][2:]:
        p *= z
        p += c
    for c in coefficients[1][2:]:
        q *= z
        q += c
    p *= y
    p /= q
    return p


def _erf_block(x: np.ndarray) -> np.ndarray:
    """erf of a float block: Cody's approximations for float64, the single one for float32 and smaller."""
    if x.dtype.itemsize <= 4:
        return _erf_single(x)
    out = _erf_of_magnitude(np.abs(x))
    return np.copysign(out, x, out=out)


_ERF_BLOCK = 16384  # elements per block: a dozen temporaries of this size stay in the CPU's cache (3-4x faster)


def _erf(x: Any) -> np.ndarray:
    """The error function, elementwise: Cody's rational approximations in float64, a single one for
    float32 (see above)."""
    if not is_array(x):
        x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    return _by_blocks(_erf_block, x)


def _by_blocks(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, block: int = _ERF_BLOCK) -> np.ndarray:
    """f(x) for an elementwise f of a float array, computed on blocks of `block` elements when x is a large
    NumPy array. A device's array is computed whole: it has no CPU cache to fit, and each operation on
    a block would be a kernel launch of its own."""
    if x.size <= 2 * block or type(x) is not np.ndarray:
        return f(x)
    flat, out = x.reshape(-1), array_module(x).empty(x.shape, dtype=x.dtype)
    flat_out = out.reshape(-1)
    for i in range(0, flat.size, block):
        flat_out[i:i + block] = f(flat[i:i + block])
    return out


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)

ERF: Op = define(Op(
    "erf", "erf", _erf,
    vjps=(lambda g, out, x: g * call(EXP, -(x * x)) * _TWO_OVER_SQRT_PI,),
    derivatives=("2/√π·exp(-x²)",), domain=("real",),
    scalar_forward=math.erf,
    reads=(0,),
))


def _share(x: Any, y: Any, out: Any, loses: Callable[[Any, Any], Any]) -> Any:
    """The part of the gradient that goes to x: 1 where x is chosen, 1/2 at a tie, 0 where y is (PyTorch's
    rule: a tie splits it, and so x and y each get g/2)."""
    xd, yd = _raw(x), _raw(y)
    if type(xd) is float and type(yd) is float:
        return 0.5 if xd == yd else 0.0 if loses(xd, yd) else 1.0
    dtype = _raw(out).dtype
    return np.where(xd == yd, 0.5, ~loses(xd, yd)).astype(dtype, copy=False)


def _scalar_maximum(x: float, y: float) -> float:
    return x if x > y or x != x else y  # NaN wins, as in NumPy


def _scalar_minimum(x: float, y: float) -> float:
    return x if x < y or x != x else y


MAXIMUM = define(Op(
    "maximum", "maximum", np.maximum,
    vjps=(lambda g, out, x, y: g * _share(x, y, out, np.less),
          lambda g, out, x, y: g * _share(y, x, out, np.less)),
    derivatives=("1 if x > y, ½ if x = y", "1 if y > x, ½ if x = y"), domain=("real", "real"),
    scalar_forward=_scalar_maximum, broadcasting=True,
))

MINIMUM = define(Op(
    "minimum", "minimum", np.minimum,
    vjps=(lambda g, out, x, y: g * _share(x, y, out, np.greater),
          lambda g, out, x, y: g * _share(y, x, out, np.greater)),
    derivatives=("1 if x < y, ½ if x = y", "1 if y < x, ½ if x = y"), domain=("real", "real"),
    scalar_forward=_scalar_minimum, broadcasting=True,
))


def _clip(x: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002 (PyTorch's names for the params)
    return np.clip(x, min, max)


def _scalar_clip(x: float, min: Any = None, max: Any = None) -> float:  # noqa: A002
    if min is not None and x < min:
        x = min
    if max is not None and x > max:  # (min > max gives max, as in PyTorch and NumPy)
        x = max
    return float(x)


def _clip_grad(g: Any, out: Any, x: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002
    d = _raw(x)
    inside = True if min is None else d >= min  # bounds included: gradient 1 on them, as in PyTorch
    if max is not None:
        inside = inside & (d <= max)
    return g * inside


CLIP = define(Op(
    "clip", "clip", _clip,
    vjps=(_clip_grad,),
    derivatives=("1 if min <= x <= max else 0",), domain=("steps",),
    scalar_forward=_scalar_clip,
    reads=(0,),
))


def _clip_tensor_grad(k: int, g: Any, out: Any, x: Any, low: Any, high: Any) -> Any:
    """PyTorch's rule for bounds that are tensors: each element's gradient goes to whichever of x, min and
    max the output took (max when min > max)."""
    x, low, high = _raw(x), _raw(low), _raw(high)
    if k == 0:
        return g * ((x >= low) & (x <= high))
    if k == 1:
        return g * ((x < low) & (low < high))
    return g * ((x > high) | (high < low))


CLIP_TENSOR = define(Op(  # clip(x, min, max) with tensor bounds (either may be ±inf): three inputs
    "clip_tensor", "clip", lambda x, low, high: np.minimum(np.maximum(x, low), high),
    vjps=ForEachInput(_clip_tensor_grad),
    derivatives=("1 if min <= x <= max", "1 if x < min < max", "1 if x > max or max < min"),
    domain=("steps", "halves", "halves"), broadcasting=True,
))


def _floor_quotient(x: Any, y: Any) -> Any:
    """floor(x / y) as Python's // and NumPy's floor_divide compute it (a constant to the rules)."""
    xd, yd = _raw(x), _raw(y)
    if type(xd) is float and type(yd) is float:
        return xd // yd  # (ZeroDivisionError: the engine falls back to NumPy, giving inf or nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.floor_divide(xd, yd)


REMAINDER = define(Op(  # x % y = x - floor(x/y)·y: the sign of the divisor, as Python, NumPy and torch.remainder
    "remainder", "%", np.remainder,
    vjps=(lambda g, out, x, y: g,
          lambda g, out, x, y: -g * _floor_quotient(x, y)),
    derivatives=("1", "-floor(x/y)"), domain=("steps", "halves"),
    scalar_forward=lambda x, y: x % y, broadcasting=True,
))


def _floor_divide_grad(g: Any, out: Any, x: Any, y: Any) -> Any:
    raise RuntimeError(
        "floor_divide (//): the derivative is not implemented, as in PyTorch (it is 0 wherever it exists); "
        "divide detached operands (x.detach() // y), or use (x / y).floor(), whose gradient is 0"
    )


FLOOR_DIVIDE = define(Op(  # recorded like any op, but its backward raises: PyTorch's behaviour
    "floor_divide", "//", np.floor_divide,
    vjps=(_floor_divide_grad, _floor_divide_grad),
    derivatives=("not differentiable", "not differentiable"), domain=("steps", "halves"),
    scalar_forward=lambda x, y: x // y, broadcasting=True,
    reads=(),
))

ROUND = define(Op(
    "round", "round", _round,
    vjps=(_zero_gradient,),
    derivatives=("0",), domain=("steps",),
    scalar_forward=_scalar_round,
    reads=(),
))

FLOOR = define(Op(
    "floor", "⌊x⌋", np.floor,
    vjps=(_zero_gradient,),
    derivatives=("0",), domain=("steps",),
    scalar_forward=_scalar_floor,
    reads=(),
))

CEIL = define(Op(
    "ceil", "⌈x⌉", np.ceil,
    vjps=(_zero_gradient,),
    derivatives=("0",), domain=("steps",),
    scalar_forward=_scalar_ceil,
    reads=(),
))


# ---- activations (PyTorch's forms; each is one node with its textbook derivative)

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_GELU_K = math.sqrt(2 / math.pi)  # the tanh approximation's constants
_GELU_C = 0.044715


def _gelu(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.float32:
        return _by_blocks(_gelu_single, x, 2 * _ERF_BLOCK)
    return _by_blocks(_gelu_block, x) if x.dtype.kind == "f" else _gelu_block(x)


_ERF_SINGLE_32 = tuple(tuple(np.float32(c) for c in cs) for cs in _ERF_SINGLE)


def _gelu_single(x: np.ndarray) -> np.ndarray:
    """GELU of a float32 block with _erf_single's rational erf evaluated in float32 itself, not widened:
    2.3x faster, within 1.4e-6 of GELU (torch's float32 GELU: 1.2e-6; erf's own op keeps its 2 ulps)."""
    y = x * np.float32(_SQRT_HALF)
    np.clip(y, -4.0, 4.0, out=y)  # (NaN stays NaN; at ±4 the float32 rational is ±1 exactly, as erf)
    p = _erf_rational(y, _ERF_SINGLE_32)  # erf(x/√2)
    p += 1
    p *= x
    p *= 0.5
    return p


def _gelu_block(x: np.ndarray) -> np.ndarray:
    e = _erf_block(x * _SQRT_HALF)  # x·Φ(x), Φ(x) = (1 + erf(x/√2))/2
    e += 1
    e *= x
    e *= 0.5
    return e


def _gelu_grad(g: Any, out: Any, x: Any) -> Any:  # Φ(x) + x·φ(x)
    if is_array(out):  # plain backward: Φ(x) = out/x from the saved output, without a second erf
        with np.errstate(all="ignore"):  # (arrays given as out=: a 0-d result stays an array, not a scalar)
            d = np.divide(out, x, out=np.empty_like(out))
        # near 0, where out/x loses its digits, Φ is 1/2 to the last bit (always written: asking whether
        # any x is that small would make a GPU wait, and copyto is quick where the mask is all False)
        np.copyto(d, 0.5, where=np.abs(x) < 1e-30)
        pdf = np.multiply(x, -0.5, out=np.empty_like(out))  # then x·φ(x), in place (temporaries cost more)
        pdf *= x
        np.exp(pdf, out=pdf)
        pdf *= x
        pdf *= _INV_SQRT_2PI
        d += pdf
        d *= g
        return d
    cdf = (call(ERF, x * _SQRT_HALF) + 1) * 0.5  # on graph nodes: differentiable again
    return g * (cdf + x * call(EXP, x * x * -0.5) * _INV_SQRT_2PI)


GELU: Op = define(Op(
    "gelu", "gelu", _gelu,
    vjps=(_gelu_grad,),
    derivatives=("Φ(x) + x·φ(x)",), domain=("real",),
    scalar_forward=lambda x: 0.5 * x * (1 + math.erf(x * _SQRT_HALF)),
    reads=(0,),
))


def _gelu_tanh_saving(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The output, and t = tanh(k(x + c·x³)) for the rule: the tanh is most of the rule's cost."""
    t = np.tanh(_GELU_K * (x + _GELU_C * (x * x * x)))
    out = t + 1
    out *= x
    out *= 0.5
    return out, t


def _gelu_tanh_grad(g: Any, out: Any, x: Any, saved: Any = None) -> Any:  # ½(1 + t) + ½x(1 - t²)·k(1 + 3c·x²)
    if saved is not None and is_array(g) and is_array(x):  # the forward's t; the formula in two fresh arrays
        slope = x * x
        slope *= 3 * _GELU_C * _GELU_K
        slope += _GELU_K  # k(1 + 3c·x²)
        d = saved * saved
        d -= 1
        d *= slope
        d *= x
        d -= saved
        d -= 1  # -2 × the derivative (in-place steps only: a 0-d array's products are NumPy scalars)
        d *= g
        d *= -0.5
        return d
    x2 = x * x
    t = call(TANH, (x + x2 * x * _GELU_C) * _GELU_K)
    return g * ((t + 1) * 0.5 + x * (1 - t * t) * (x2 * (3 * _GELU_C) + 1) * (0.5 * _GELU_K))


GELU_TANH: Op = define(Op(
    "gelu_tanh", "gelu(tanh)", lambda x: _gelu_tanh_saving(x)[0],
    vjps=(_gelu_tanh_grad,), saving_forward=_gelu_tanh_saving,
    derivatives=("½(1 + t) + ½x(1 - t²)·√(2/π)(1 + 3·0.044715·x²)",), domain=("real",),
    scalar_forward=lambda x: 0.5 * x * (1 + math.tanh(_GELU_K * (x + _GELU_C * x * x * x))),
    reads=(0,),
))


def _silu_grad(g: Any, out: Any, x: Any) -> Any:
    s = call(SIGMOID, x)
    return g * s * (x * (1 - s) + 1)


SILU: Op = define(Op(
    "silu", "silu", lambda x: x * _sigmoid(x),
    vjps=(_silu_grad,),
    derivatives=("s(1 + x(1 - s))",), domain=("real",),
    scalar_forward=lambda x: x * _scalar_sigmoid(x),
    reads=(0,),
))


def _softplus(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    bx = x * beta  # log(1 + e^bx)/β, written max(bx, 0) + log(1 + e^-|bx|) so that no exponent is positive
    soft = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta
    return np.where(bx > threshold, x, soft)  # above the threshold PyTorch returns x itself


def _scalar_softplus(x: float, beta: float = 1.0, threshold: float = 20.0) -> float:
    bx = x * beta
    if bx > threshold:
        return x
    return (max(bx, 0.0) + math.log1p(math.exp(-abs(bx)))) / beta


def _softplus_grad(g: Any, out: Any, x: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    s = call(SIGMOID, x * beta)
    above = _raw(x) * beta > threshold
    if type(above) is bool:
        return g if above else g * s
    if is_array(s) and is_array(above):  # a fresh array: 1 written where above, not asked about (a GPU would wait)
        np.copyto(s, 1, where=above)
        return g * s
    if not above.any():
        return g * s
    return g * (s * ~above + above)


SOFTPLUS = define(Op(
    "softplus", "softplus", _softplus,
    vjps=(_softplus_grad,),
    derivatives=("σ(βx)",), domain=("real",),
    scalar_forward=_scalar_softplus,
    reads=(0,),
))


def _leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, x, x * negative_slope)


def _leaky_relu_grad(g: Any, out: Any, x: Any, negative_slope: float = 0.01) -> Any:
    d = _raw(x)
    if type(d) is float:
        return g if d > 0 else g * negative_slope
    return g * np.where(d > 0, 1, negative_slope).astype(d.dtype, copy=False)  # the slope at 0, as PyTorch


LEAKY_RELU = define(Op(
    "leaky_relu", "leaky_relu", _leaky_relu,
    vjps=(_leaky_relu_grad,),
    derivatives=("1 if x > 0 else slope",), domain=("smooth",),
    scalar_forward=lambda x, negative_slope=0.01: x if x > 0 else x * negative_slope,
    reads=(0,),
))


def _elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))  # (the minimum: no overflow in the unused branch)


def _elu_grad(g: Any, out: Any, x: Any, alpha: float = 1.0) -> Any:
    d = _raw(x)  # below 0 the derivative α·eˣ is out + α: from the saved output
    if type(d) is float:
        return g if d > 0 else g * (out + alpha)
    positive = d > 0
    if is_array(out):
        return np.where(positive, g, g * (out + alpha))
    return g * ((out + alpha) * ~positive + positive)


ELU = define(Op(
    "elu", "elu", _elu,
    vjps=(_elu_grad,),
    derivatives=("1 if x > 0 else α·eˣ",), domain=("smooth",),
    scalar_forward=lambda x, alpha=1.0: x if x > 0 else alpha * math.expm1(x),
    reads=(0,),
))


def _hardtanh_grad(g: Any, out: Any, x: Any, min_val: float = -1.0, max_val: float = 1.0) -> Any:
    d = _raw(x)
    return g * ((d > min_val) & (d < max_val))  # bounds excluded: gradient 0 on them, as in PyTorch


HARDTANH = define(Op(
    "hardtanh", "hardtanh", lambda x, min_val=-1.0, max_val=1.0: np.clip(x, min_val, max_val),
    vjps=(_hardtanh_grad,),
    derivatives=("1 if min < x < max else 0",), domain=("steps",),
    scalar_forward=lambda x, min_val=-1.0, max_val=1.0: min(max(x, min_val), max_val),
    reads=(0,),
))


@functools.cache
def with_params(op: Op, **params: Any) -> Op:
    """`op` with its params fixed, for a Value (whose nodes keep no params): `op` itself where they are its
    forward's defaults, otherwise an unregistered copy of its record whose functions have them bound.

    >>> with_params(LEAKY_RELU, negative_slope=0.01) is LEAKY_RELU, with_params(LEAKY_RELU, negative_slope=0.2).name
    (True, 'leaky_relu')
    """
    defaults = inspect.signature(op.forward).parameters
    if all(k in defaults and defaults[k].default == v for k, v in params.items()):
        return op
    return dataclasses.replace(
        op,
        forward=functools.partial(op.forward, **params),
        vjps=tuple(functools.partial(op.vjps[k], **params) for k in range(len(op.domain))),
        scalar_forward=None if op.scalar_forward is None else functools.partial(op.scalar_forward, **params),
        saving_forward=None,
    )


# --------------------------------------------------------------------------- convolution and pooling
# Images are NCHW and kernels torch's (C_out, C_in/groups, kH, kW). Geometry params are (height, width)
# pairs: stride, dilation, kernel_size; padding is ((top, bottom), (left, right)), as np.pad takes it.
# conv2d is bilinear, and its two rules are the two other products of the same three arrays:
#   conv2d(x, w) -> y              dx = conv2d_input_grad(g, w)     dw = conv2d_weight_grad(x, g)
#   conv2d_input_grad(g, w) -> x   dg = conv2d(h, w)                dw = conv2d_weight_grad(h, g)
#   conv2d_weight_grad(x, g) -> w  dx = conv2d_input_grad(g, h)     dg = conv2d(x, h)
# (h: the gradient arriving at the op's output), so the three close under differentiation. Their
# derivative texts are these rules, in the rules' own letters (g for conv2d's output gradient, h for
# the gradient arriving at a gradient op), as matmul's "g @ yᵀ" is.

Pair = tuple[int, int]
Padding2d = tuple[Pair, Pair]


def conv_output_size(size: int, kernel: int, stride: int, padding: Pair, dilation: int) -> int:
    """How many windows of a (dilated) kernel fit along an axis of `size` padded by (before, after)."""
    return (size + padding[0] + padding[1] - dilation * (kernel - 1) - 1) // stride + 1


def _pad2d(x: np.ndarray, padding: Padding2d, value: float = 0.0) -> np.ndarray:
    """x (N, C, H, W) with `value` around the last two axes (a fresh array; x itself when no padding)."""
    (top, bottom), (left, right) = padding
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    out = array_module(x).full((n, c, top + h + bottom, left + w + right), value, dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def _windows(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out: Pair) -> np.ndarray:
    """The view (N, C, H_out, W_out, kH, kW) of padded images: every window, nothing copied."""
    n, c = xp.shape[:2]
    s_n, s_c, s_h, s_w = xp.strides
    shape = (n, c, out[0], out[1], kernel[0], kernel[1])
    strides = (s_n, s_c, s_h * stride[0], s_w * stride[1], s_h * dilation[0], s_w * dilation[1])
    if type(xp) is not np.ndarray:  # a device's array: its library's own as_strided
        return array_module(xp).lib.stride_tricks.as_strided(xp, shape, strides)
    if not xp.flags.c_contiguous:
        return np.lib.stride_tricks.as_strided(xp, shape, strides, writeable=False)
    view = np.ndarray(shape, xp.dtype, buffer=xp, strides=strides)  # (as_strided, minus its Python layer)
    view.flags.writeable = False
    return view


def _columns(x: np.ndarray, kernel: Pair, stride: Pair, padding: Padding2d, dilation: Pair, groups: int,
             out: Pair) -> np.ndarray:
    """im2col: every window of the padded images copied into a column, one matrix per group,
    (groups, C/groups·kH·kW, N·H_out·W_out), the images' columns side by side."""
    n, c = x.shape[:2]
    windows = _windows(_pad2d(x, padding), kernel, stride, dilation, out)  # (N, C, H_out, W_out, kH, kW)
    windows = windows.reshape(n, groups, c // groups, out[0], out[1], kernel[0], kernel[1])
    return windows.transpose(1, 2, 5, 6, 0, 3, 4).reshape(groups, -1, n * out[0] * out[1])


def _grad_by_group(g: np.ndarray, groups: int) -> np.ndarray:
    """An output gradient (N, C_out, H_out, W_out) as (groups, C_out/groups, N·H_out·W_out)."""
    n, c = g.shape[:2]
    return g.reshape(n, groups, c // groups, -1).transpose(1, 2, 0, 3).reshape(groups, c // groups, -1)


CHUNK_BYTES = 1 << 20  # what a product's result in flight may take: about a core's L2 cache


def _image_chunks(n: int, bytes_per_image: int, like: Any) -> list[tuple[int, int]]:
    """(start, stop) of runs of the batch's N images whose products take about CHUNK_BYTES each: the
    result is used (copied, added) while still in cache, and no batch-sized temporary is made. For a
    device's arrays (`like`) one run: each run's product and copies are kernel launches of their own."""
    if type(like) is not np.ndarray:
        return [(0, n)]
    step = max(1, CHUNK_BYTES // max(1, bytes_per_image))
    return [(start, min(n, start + step)) for start in range(0, n, step)]


def _conv2d_saving(x: np.ndarray, w: np.ndarray, *bias: np.ndarray, stride: Pair, padding: Padding2d,
                   dilation: Pair, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Cross-correlation of images x (N, C, H, W) with kernels w (C_out, C/groups, kH, kW), plus a bias
    (C_out,) when given: im2col, then a matrix product per group; and, for the kernels' rule, the
    columns (their gradient is one product with them, see _weight_grad)."""
    y, cols = _conv2d_columns(x, w, stride, padding, dilation, groups)
    if bias:
        y += bias[0].reshape(-1, 1, 1)  # (y is this op's own array: added in place)
    return y, cols


def _conv2d_columns(x: np.ndarray, w: np.ndarray, stride: Pair, padding: Padding2d, dilation: Pair,
                    groups: int) -> tuple[np.ndarray, np.ndarray]:
    """_conv2d_saving without the bias: the output, a fresh array, and im2col's columns."""
    n = x.shape[0]
    c_out, _, kh, kw = w.shape
    out = (conv_output_size(x.shape[2], kh, stride[0], padding[0], dilation[0]),
           conv_output_size(x.shape[3], kw, stride[1], padding[1], dilation[1]))
    cols = _columns(x, (kh, kw), stride, padding, dilation, groups, out)
    w_g = w.reshape(groups, c_out // groups, -1)
    if cols.shape[1] < 64:  # short columns: the product costs about what writing its result does, so it
        # is done per image, each landing where NCHW puts it (no transposing copy after it)
        images = cols.reshape(groups, -1, n, out[0] * out[1]).transpose(2, 0, 1, 3)
        return np.matmul(w_g, images).reshape(n, c_out, out[0], out[1]), cols
    # long columns: one product for many images at a time, then put in NCHW order
    y = array_module(cols).empty((n, c_out, out[0], out[1]), dtype=np.result_type(w.dtype, cols.dtype))
    p = out[0] * out[1]
    for start, stop in _image_chunks(n, c_out * p * y.itemsize, cols):
        part = np.matmul(w_g, cols[:, :, start * p:stop * p])  # (groups, C_out/groups, images·H_out·W_out)
        y[start:stop] = part.reshape(c_out, stop - start, out[0], out[1]).transpose(1, 0, 2, 3)
    return y, cols


def _conv2d(x: np.ndarray, w: np.ndarray, *bias: np.ndarray, stride: Pair, padding: Padding2d, dilation: Pair,
            groups: int) -> np.ndarray:
    return _conv2d_saving(x, w, *bias, stride=stride, padding=padding, dilation=dilation, groups=groups)[0]


def _conv2d_input_grad(g: np.ndarray, w: np.ndarray, stride: Pair, padding: Padding2d, dilation: Pair, groups: int,
                       input_size: Pair) -> np.ndarray:
    """The transposed convolution: what conv2d's output gradient g gives its input x (N, C, H, W).

    Each window's share wᵀg (one matrix product per group, every image at once) is summed back where
    the window came from (col2im), one strided add per kernel offset, kH·kW NumPy operations in all,
    into padded images laid out (C, N, H, W), the product's own order; then cropped, in NCHW order."""
    n, c_out, ho, wo = g.shape
    _, c_group, kh, kw = w.shape
    (top, bottom), (left, right) = padding
    h, wd = input_size
    hp, wp = top + h + bottom, left + wd + right
    w_t = w.reshape(groups, c_out // groups, -1).transpose(0, 2, 1)  # (groups, C/groups·kH·kW, C_out/groups)
    if stride == (1, 1):
        xp = _col2im_stride1(g, w_t, (kh, kw), dilation, (hp, wp))
    else:
        cols = np.matmul(w_t, _grad_by_group(g, groups)).reshape(groups * c_group, kh, kw, n, ho, wo)
        xp = array_module(cols).zeros((groups * c_group, n, hp, wp), dtype=cols.dtype)
        sh, sw = stride
        for i in range(kh):
            r = i * dilation[0]
            for j in range(kw):
                s = j * dilation[1]
                xp[:, :, r:r + sh * (ho - 1) + 1:sh, s:s + sw * (wo - 1) + 1:sw] += cols[:, i, j]
    return xp[:, :, top:top + h, left:left + wd].transpose(1, 0, 2, 3).copy()


def _col2im_stride1(g: np.ndarray, w_t: np.ndarray, kernel: Pair, dilation: Pair, padded: Pair) -> np.ndarray:
    """_conv2d_input_grad's padded images (C, N, H_pad, W_pad) at stride 1, faster: col2im on the
    images laid out flat, where a kernel offset is one shift of every plane at once, so each of the
    kH·kW adds runs along a row as long as a plane instead of one output row. The columns are made as
    wide as a padded row for that (the extra entries zero, from zeros put after each row of g or of
    the columns, whichever has fewer rows); the columns, when widened, also as tall as a padded image,
    so that each add is one run over all the images."""
    n, c_out, ho, wo = g.shape
    groups, k, c_out_group = w_t.shape
    hp, wp = padded
    c, kk = groups * k // (kernel[0] * kernel[1]), kernel[0] * kernel[1]
    size = c * n * hp * wp
    flat = array_module(g).zeros(size + (kernel[0] - 1) * dilation[0] * wp + (kernel[1] - 1) * dilation[1],
                                 dtype=np.result_type(g.dtype, w_t.dtype))

    def add(cols: np.ndarray, rows: int, start: int, stop: int) -> None:  # the columns (C, kH·kW, images, rows·W_pad)
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                shift = i * dilation[0] * wp + j * dilation[1]  # (the zeros after a row land in the padding)
                flat[shift:shift + size].reshape(c, n, hp * wp)[:, start:stop, :rows * wp] += cols[:, i * kernel[1] + j]

    if c_out_group <= k:  # widen g, on its way to the order of one product for many images at once
        wide = array_module(g).zeros((c_out, n, ho, wp), dtype=g.dtype)
        wide[..., :wo] = g.transpose(1, 0, 2, 3)
        wide = wide.reshape(groups, c_out_group, n, ho * wp)
        for start, stop in _image_chunks(n, groups * k * ho * wp * flat.itemsize, flat):  # (added while in cache)
            cols = np.matmul(w_t, wide[:, :, start:stop].reshape(groups, c_out_group, -1))
            add(cols.reshape(c, kk, stop - start, ho * wp), ho, start, stop)
    else:  # widen the columns, one product per image (g as it is), into the order of the adds
        narrow = np.matmul(w_t, g.reshape(n, groups, c_out_group, ho * wo))
        # speed: images as tall as padded ones (zero rows below), so that an add is one run, not one per image
        cols = array_module(narrow).zeros((groups, k, n, hp, wp), dtype=narrow.dtype)
        cols[..., :ho, :wo] = narrow.reshape(n, groups, k, ho, wo).transpose(1, 2, 0, 3, 4)
        add(cols.reshape(c, kk, n, hp * wp), hp, 0, n)
    return flat[:size].reshape(c, n, hp, wp)


def _conv2d_weight_grad(x: np.ndarray, g: np.ndarray, stride: Pair, padding: Padding2d, dilation: Pair, groups: int,
                        kernel_size: Pair) -> np.ndarray:
    """What conv2d's output gradient g gives its kernels: each window of x weighted by g, summed over
    the batch and positions."""
    cols = _columns(x, kernel_size, stride, padding, dilation, groups, g.shape[2:])
    return _weight_grad(cols, g, groups, kernel_size)


def _weight_grad(cols: np.ndarray, g: np.ndarray, groups: int, kernel_size: Pair) -> np.ndarray:
    """The kernels' gradient from im2col's columns (groups, C/groups·kH·kW, N·H_out·W_out): one matrix
    product per group with g laid out the same way."""
    dw = np.matmul(_grad_by_group(g, groups), cols.transpose(0, 2, 1))  # (groups, C_out/groups, C/groups·kH·kW)
    return dw.reshape(g.shape[1], -1, kernel_size[0], kernel_size[1])


def _conv2d_grad_w(g: Any, out: Any, x: Any, w: Any, *bias: Any, saved: np.ndarray | None = None, **p: Any) -> Any:
    if saved is not None and is_array(g):  # the forward's columns: no second im2col
        return _weight_grad(saved, g, p["groups"], tuple(w.shape[2:]))
    return call(CONV2D_WEIGHT_GRAD, x, g, kernel_size=tuple(w.shape[2:]), **p)


def _conv2d_grad_b(g: Any, out: Any, x: Any, w: Any, b: Any, saved: np.ndarray | None = None, **p: Any) -> Any:
    if type(g) is np.ndarray and g.dtype.char in "fd":  # speed: two products with ones, over the images and
        # then over the positions: 3-4x faster than NumPy's sum over three axes
        n, c, h, wd = g.shape
        per_position = _ones(n, g.dtype) @ g.reshape(n, c * h * wd)
        return per_position.reshape(c, h * wd) @ _ones(h * wd, g.dtype)
    return _sum(g, (0, 2, 3))


CONV2D: Op = define(Op(  # two inputs (x, w) without a bias, three with one
    "conv2d", "conv", _conv2d,
    vjps=(lambda g, out, x, w, *b, saved=None, **p: call(CONV2D_INPUT_GRAD, g, w, input_size=tuple(x.shape[2:]), **p),
          _conv2d_grad_w,
          _conv2d_grad_b), saving_forward=_conv2d_saving,
    derivatives=("convᵀ(g, w)", "Σ windows(x)·g", "Σ g over images and positions"), domain=("real", "real", "real"),
    reads=(0, 1),
))

CONV2D_INPUT_GRAD: Op = define(Op(  # the transposed convolution, conv2d's rule for its input
    "conv2d_input_grad", "convᵀ", _conv2d_input_grad,
    vjps=(lambda h, out, g, w, input_size, **p: call(CONV2D, h, w, **p),
          lambda h, out, g, w, input_size, **p: call(CONV2D_WEIGHT_GRAD, h, g, kernel_size=tuple(w.shape[2:]), **p)),
    derivatives=("conv(h, w)", "Σ windows(h)·g"), domain=("real", "real"),
))

CONV2D_WEIGHT_GRAD: Op = define(Op(  # conv2d's rule for its kernels
    "conv2d_weight_grad", "conv_w", _conv2d_weight_grad,
    vjps=(lambda h, out, x, g, kernel_size, **p: call(CONV2D_INPUT_GRAD, g, h, input_size=tuple(x.shape[2:]), **p),
          lambda h, out, x, g, kernel_size, **p: call(CONV2D, x, h, **p)),
    derivatives=("convᵀ(g, h)", "conv(x, h)"), domain=("real", "real"),
))


def pool_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    """torch's count of pooling windows along an axis: with ceil_mode a last, partial window is kept
    when it starts inside the input or its left padding."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def pool_padding(size: Pair, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, out: Pair) -> Padding2d:
    """Padding before and after each axis: `padding`, and after it as much as ceil mode's last window needs."""
    after = tuple(max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)
                  for n, k, s, p, d, o in zip(size, kernel, stride, padding, dilation, out))
    return (padding[0], after[0]), (padding[1], after[1])


def _max_pool2d_saving(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
                       ceil_mode: bool) -> tuple[np.ndarray, np.ndarray]:
    """The largest element of each window of x (N, C, H, W) padded with -inf; and, for the rule, the
    offset of that element in its window (row-major over kH x kW; the first on ties, a NaN if any, as
    torch). One pass per kernel offset, over every window at once (NumPy's max over small strided
    axes is far slower)."""
    windows = _max_pool2d_windows(x, kernel_size, stride, padding, dilation, ceil_mode)
    out = windows[..., 0, 0].copy()
    offsets = kernel_size[0] * kernel_size[1]
    # speed: a byte per window where the offsets fit one (kernels up to 16x16): its updates below take a third less
    index = array_module(out).zeros(out.shape, dtype=np.uint8 if offsets <= 256 else np.intp)
    for k in range(1, offsets):
        v = windows[..., k // kernel_size[1], k % kernel_size[1]].copy()  # (contiguous: the next three are fast)
        better = v > out
        if x.dtype.kind == "f":
            better |= np.isnan(v)
        np.maximum(out, v, out=out)  # (a NaN stays, as in torch)
        index += better * (k - index)  # (masked assignments are slow in NumPy)
    return out, index


def _max_pool2d_windows(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
                        ceil_mode: bool) -> np.ndarray:
    """The view (N, C, H_out, W_out, kH, kW) of x padded with -inf (and as ceil mode's last window needs)."""
    size = (x.shape[2], x.shape[3])
    out = tuple(pool_output_size(*a, ceil_mode) for a in zip(size, kernel_size, stride, padding, dilation))
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    pads = pool_padding(size, kernel_size, stride, padding, dilation, out)  # type: ignore[arg-type]
    return _windows(_pad2d(x, pads, low), kernel_size, stride, dilation, out)  # type: ignore[arg-type]


def _max_pool2d(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
                ceil_mode: bool) -> np.ndarray:
    windows = _max_pool2d_windows(x, kernel_size, stride, padding, dilation, ceil_mode)
    out = windows[..., 0, 0].copy()
    for i in range(kernel_size[0]):
        for j in range(kernel_size[1]):
            if i or j:
                np.maximum(out, windows[..., i, j], out=out)  # (NaN wins, as in torch)
    return out


def _max_pool2d_grad(g: Any, out: Any, x: Any, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
                     ceil_mode: bool, saved: np.ndarray | None = None) -> Any:
    index = saved if saved is not None else _max_pool2d_saving(
        x if is_array(x) else x.data, kernel_size, stride, padding, dilation, ceil_mode)[1]  # constants
    return call(MAX_POOL2D_SCATTER, g, index=index, input_size=tuple(x.shape[2:]), kernel_size=kernel_size,
                stride=stride, padding=padding, dilation=dilation)


MAX_POOL2D: Op = define(Op(
    "max_pool2d", "maxpool", _max_pool2d,
    vjps=(_max_pool2d_grad,), saving_forward=_max_pool2d_saving,
    derivatives=("1 at each window's maximum",), domain=("distinct",),
))


def _picked_positions(index: np.ndarray, input_size: Pair, kernel_size: Pair, stride: Pair, padding: Pair,
                      dilation: Pair) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each window, the row and column (in the unpadded image) of the element `index` picks, and
    whether it lies inside the image (not in the padding)."""
    ho, wo = index.shape[2:]
    xp = array_module(index)
    index = index.astype(np.intp)  # (the offset may be saved as a byte: no arithmetic in bytes)
    rows = (xp.arange(ho) * stride[0] - padding[0])[:, np.newaxis] + index // kernel_size[1] * dilation[0]
    cols = xp.arange(wo) * stride[1] - padding[1] + index % kernel_size[1] * dilation[1]
    inside = (rows >= 0) & (rows < input_size[0]) & (cols >= 0) & (cols < input_size[1])
    return rows, cols, inside


def _max_pool2d_scatter(g: np.ndarray, index: np.ndarray, input_size: Pair, kernel_size: Pair, stride: Pair,
                        padding: Pair, dilation: Pair) -> np.ndarray:
    """Zeros the shape of the pooled images, with each window's g added where its index points: one
    strided add per kernel offset (windows may overlap; one offset's positions never do)."""
    n, c, ho, wo = g.shape
    pads = pool_padding(input_size, kernel_size, stride, padding, dilation, (ho, wo))
    (top, bottom), (left, right) = pads
    zp = array_module(g).zeros((n, c, top + input_size[0] + bottom, left + input_size[1] + right), dtype=g.dtype)
    apart = all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel_size))  # windows that do not overlap
    for i in range(kernel_size[0]):
        r = i * dilation[0]
        for j in range(kernel_size[1]):
            s = j * dilation[1]
            view = zp[:, :, r:r + stride[0] * (ho - 1) + 1:stride[0], s:s + stride[1] * (wo - 1) + 1:stride[1]]
            picked = g * (index == i * kernel_size[1] + j)
            if apart:  # every element belongs to one window: set, not add
                view[...] = picked
            else:
                view += picked
    if not (top or bottom or left or right):
        return zp
    return zp[:, :, top:top + input_size[0], left:left + input_size[1]].copy()


def _max_pool2d_gather(h: np.ndarray, index: np.ndarray, input_size: Pair, kernel_size: Pair, stride: Pair,
                       padding: Pair, dilation: Pair) -> np.ndarray:
    """Each window's element of h (N, C, H, W) where its index points (0 where that is padding)."""
    rows, cols, inside = _picked_positions(index, input_size, kernel_size, stride, padding, dilation)
    n, c = h.shape[:2]
    xp = array_module(h)
    picked = h[xp.arange(n)[:, None, None, None], xp.arange(c)[None, :, None, None],
               np.clip(rows, 0, input_size[0] - 1), np.clip(cols, 0, input_size[1] - 1)]
    return picked * inside


MAX_POOL2D_SCATTER: Op = define(Op(  # max_pool2d's rule: g goes to each window's maximum
    "max_pool2d_scatter", "unpool", _max_pool2d_scatter,
    vjps=(lambda h, out, g, **p: call(MAX_POOL2D_GATHER, h, **p),),
    derivatives=("gather at the maxima",), domain=("real",),
    reads=(),
))

MAX_POOL2D_GATHER: Op = define(Op(  # the adjoint of the scatter: each window's maximum picked out of h
    "max_pool2d_gather", "pick", _max_pool2d_gather,
    vjps=(lambda g, out, h, **p: call(MAX_POOL2D_SCATTER, g, **p),),
    derivatives=("scatter to the maxima",), domain=("real",),
    reads=(),
))


# --------------------------------------------------------------------------- einsum


@functools.lru_cache(maxsize=256)
def einsum_terms(equation: str) -> tuple[tuple[str, ...], str]:
    """An explicit equation "ij,jk->ik" split into its input terms and its output term."""
    inputs, output = equation.split("->")
    return tuple(inputs.split(",")), output


def _einsum(*xs: np.ndarray, equation: str) -> np.ndarray:
    return np.einsum(equation, *xs, optimize=len(xs) > 1)  # (BLAS where it can)


def _einsum_grad(k: int, g: Any, out: Any, *xs: Any, equation: str) -> Any:
    """Operand k's gradient: the einsum of g with the other operands, onto k's indices; an index only k
    has (summed out of the output) comes back by broadcasting."""
    inputs, output = einsum_terms(equation)
    others = [term for j, term in enumerate(inputs) if j != k]
    present = set(output).union(*others)
    term = inputs[k]
    kept = "".join(i for i in term if i in present)
    grad = call(EINSUM, g, *(x for j, x in enumerate(xs) if j != k), equation=",".join([output, *others]) + "->" + kept)
    if kept != term:
        shape = xs[k].shape
        grad = call(BROADCAST_TO, grad.reshape(tuple(n if i in present else 1 for i, n in zip(term, shape))),
                    shape=tuple(shape))
    return grad


EINSUM: Op = define(Op(
    "einsum", "einsum", _einsum,
    vjps=ForEachInput(_einsum_grad),
    derivatives=("einsum of g with the others",), domain=("real",), broadcasting=True,  # may promote dtypes
))


# --------------------------------------------------------------------------- normalisation
# (x - mean) / sqrt(var + eps) over some axes (biased var) as one node: LayerNorm's core (its weight and
# bias stay the usual * and +). As a composite it is seven nodes (mean, -, *, mean, +, **, *) whose
# backward passes over the data a dozen times. With x̂ the output and r = 1/sqrt(var + eps), the rule is
#   dx = r·(g - mean(g) - x̂·mean(g·x̂))        (means over the normalised axes)


def _normalize_saving(x: np.ndarray, axes: tuple[int, ...], eps: float) -> tuple[np.ndarray, np.ndarray]:
    """x̂, and for the rule r = 1/sqrt(var + eps) (keepdims)."""
    centred = x - _mean(x, axes, keepdims=True)
    var = _mean(centred * centred, axes, keepdims=True)
    var += eps
    r = np.sqrt(var, out=var)
    np.divide(1, r, out=r)
    centred *= r
    return centred, r


def _inverse_std(x: Any, axes: tuple[int, ...], eps: float) -> Any:
    """1/sqrt(var + eps) of x over `axes` (keepdims), with operators: recorded when x is a graph node."""
    centred = x - x.mean(axis=axes, keepdims=True)
    return ((centred * centred).mean(axis=axes, keepdims=True) + eps) ** -0.5


def _normalize_grad(g: Any, out: Any, x: Any, axes: tuple[int, ...], eps: float, saved: Any = None) -> Any:
    r = saved if saved is not None and is_array(x) else _inverse_std(x, axes, eps)
    if is_array(g) and is_array(out):  # the same formula, worked out in one fresh array
        dx = g - _mean(g, axes, keepdims=True)
        dx -= out * _mean(g * out, axes, keepdims=True)
        dx *= r
        return dx
    return (g - g.mean(axis=axes, keepdims=True) - out * (g * out).mean(axis=axes, keepdims=True)) * r


NORMALIZE: Op = define(Op(
    "normalize", "norm", lambda x, axes, eps: _normalize_saving(x, axes, eps)[0],
    vjps=(_normalize_grad,), saving_forward=_normalize_saving,
    derivatives=("(g - mean(g) - x̂·mean(g·x̂))/σ",), domain=("real",),
))


# --------------------------------------------------------------------------- recurrent cells
# One step of an LSTM as one node: unrolled over 64 steps its dozen small nodes per step (four gate
# slices, three sigmoids, two tanh, the products) cost more in bookkeeping than in arithmetic.
#   gates (..., 4H) = W_ih x + b_ih + W_hh h + b_hh, in PyTorch's order [i | f | g | o]; c (..., H)
#   i, f, o = σ(gates_i), σ(gates_f), σ(gates_o);  g = tanh(gates_g)
#   c' = f·c + i·g;  h' = o·tanh(c');  out = stack(h', c')  of shape (2, ..., H)
# The rules share dc' = g_c' + g_h'·o·(1 - tanh²c'); then the gates get (dc'·g·σ', dc'·c·σ', dc'·i·tanh',
# g_h'·tanh(c')·σ') and c gets dc'·f. Written with operators and call(), so they differentiate again.


@functools.lru_cache(maxsize=16)
def _lstm_gate_scale(hidden: int, dtype: np.dtype) -> np.ndarray:
    """What the gates are multiplied by before one tanh: x/2 for i, f and o (σ(x) = (1 + tanh(x/2))/2), x for g."""
    return np.repeat(np.array([0.5, 0.5, 1.0, 0.5], dtype=dtype), hidden)


def _lstm_cell_saving(gates: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(h', c') stacked, and for the rules the four activated gates side by side and tanh(c')."""
    hidden = c.shape[-1]
    scale = _lstm_gate_scale(hidden, gates.dtype)
    if type(gates) is not np.ndarray:  # a device's array: the constant goes there too
        scale = array_module(gates).asarray(scale)
    act = np.tanh(gates * scale)  # one tanh for all four gates (exp: 4x slower)
    for sigmoid in (act[..., :2 * hidden], act[..., 3 * hidden:]):
        sigmoid *= 0.5
        sigmoid += 0.5
    i, f, g, o = (act[..., k * hidden:(k + 1) * hidden] for k in range(4))
    out = array_module(c).empty((2,) + c.shape, dtype=np.result_type(act, c))
    np.multiply(f, c, out=out[1])
    out[1] += i * g
    tanh_c = np.tanh(out[1])
    np.multiply(o, tanh_c, out=out[0])
    return out, (act, tanh_c)


def _lstm_cell_parts(out: Any, gates: Any, c: Any, saved: tuple[np.ndarray, np.ndarray] | None) -> tuple[Any, ...]:
    """i, f, g, o and tanh(c') for the rules: saved by the forward, or recomputed (as graph nodes under
    create_graph, so that the rules differentiate again)."""
    if saved is not None and is_array(gates):
        act, tanh_c = saved
    elif is_array(gates):
        act, tanh_c = _lstm_cell_saving(gates, c)[1]
    else:
        hidden = c.shape[-1]
        blocks = [gates[..., k * hidden:(k + 1) * hidden] for k in range(4)]
        i, f, o = (call(SIGMOID, blocks[k]) for k in (0, 1, 3))
        return i, f, call(TANH, blocks[2]), o, call(TANH, out[1])
    hidden = tanh_c.shape[-1]
    return tuple(act[..., k * hidden:(k + 1) * hidden] for k in range(4)) + (tanh_c,)


def _lstm_cell_grad_state(g: Any, o: Any, tanh_c: Any) -> Any:
    """dL/dc': what reaches c' directly, plus what reaches it through h' = o·tanh(c')."""
    return g[1] + g[0] * o * (1 - tanh_c * tanh_c)


def _lstm_cell_grad_gates(g: Any, out: Any, gates: Any, c: Any, saved: Any = None) -> Any:
    i, f, g_, o, tanh_c = _lstm_cell_parts(out, gates, c, saved)
    dc = _lstm_cell_grad_state(g, o, tanh_c)
    blocks = (dc * g_ * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g_ * g_), g[0] * tanh_c * o * (1 - o))
    return call(CONCATENATE, *blocks, axis=gates.ndim - 1)


def _lstm_cell_grad_c(g: Any, out: Any, gates: Any, c: Any, saved: Any = None) -> Any:
    _, f, _, o, tanh_c = _lstm_cell_parts(out, gates, c, saved)
    return _lstm_cell_grad_state(g, o, tanh_c) * f


LSTM_CELL: Op = define(Op(
    "lstm_cell", "LSTM", lambda gates, c: _lstm_cell_saving(gates, c)[0],
    vjps=(_lstm_cell_grad_gates, _lstm_cell_grad_c), saving_forward=_lstm_cell_saving,
    derivatives=("σ', tanh' of each gate times what reaches c' and h'", "f"), domain=("real", "real"),
))

# --------------------------------------------------------------------------- the LSTM layer
# One direction of one LSTM layer over a whole sequence as one node, as torch's fused nn.LSTM is: the
# cell's equations (above) for t = 1..T. Inputs x (T, N, I), h0 and c0 (N, H), W_ih (4H, I), W_hh
# (4H, H), and b_ih, b_hh (4H) or neither; the output (T+1, N, H) holds h_1..h_T, then c_T (h_T is
# its row T-1). With reverse=True the steps run from t = T to 1 (a bidirectional layer's second
# direction), and row t still holds the h of step t. The forward makes x @ W_ihᵀ for every step in one
# product, then loops over time; it saves the activated gates, the cell states and their tanh.
# The rules share one backpropagation through time (BPTT), from t = T down to 1:
#   dh_t = g_t + δ_(t+1) W_hh;   dc_t = f_(t+1)·dc_(t+1) + dh_t·o_t·(1 - tanh²c_t)   (dc_T: g's row T)
#   δ_t = (dc_t·g_t·σ'(i), dc_t·c_(t-1)·σ'(f), dc_t·i_t·(1 - g_t²), dh_t·tanh(c_t)·σ'(o))  (the cell's rule)
# and then dx = δ W_ih, dW_ih = Σ δ_tᵀ x_t, dW_hh = Σ δ_tᵀ h_(t-1), db = Σ δ_t, dh0 = δ_1 W_hh,
# dc0 = f_1·dc_1. It runs once per backward: the first rule called stores δ in the node's saved work,
# the others take it from there. On graph nodes (create_graph) the rules recompute the steps as
# lstm_cell nodes and run the same BPTT with lstm_cell's own rules, so they differentiate again.


def _lstm_error(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, *biases: Any) -> str | None:
    """Why the lstm op refused its inputs, in our words."""
    if np.ndim(x) != 3 or np.ndim(h0) != 2 or np.ndim(c0) != 2:
        return f"expected x (T, N, I) and h0, c0 (N, H), got x {np.shape(x)}, h0 {np.shape(h0)}, c0 {np.shape(c0)}"
    (_, n, i), h = np.shape(x), np.shape(h0)[1]
    want = {"h0": (n, h), "c0": (n, h), "W_ih": (4 * h, i), "W_hh": (4 * h, h), "b_ih": (4 * h,), "b_hh": (4 * h,)}
    for name, a in zip(want, (h0, c0, w_ih, w_hh, *biases)):
        if np.shape(a) != want[name]:
            return f"expected {name} of shape {want[name]} for x {np.shape(x)} and hidden size {h}, got {np.shape(a)}"
    return None


class _LSTMWork:
    """What the lstm op's forward saves for its rules, and the BPTT its rules share (see above)."""

    __slots__ = ("act", "cs", "tanh_c", "g", "bptt", "served")

    def __init__(self, act: Any, cs: Any, tanh_c: Any) -> None:
        self.act, self.cs, self.tanh_c = act, cs, tanh_c  # (T, N, 4H) i, f, g, o activated; (T, N, H) c_t, tanh c_t
        self.g: Any = None  # the output gradient the BPTT below was run for ...
        self.bptt: Any = None  # ... (δ, dh0, dc0) ...
        self.served: set[int] = set()  # ... and the inputs whose rule has used it (each once: then it is run anew)


@functools.lru_cache(maxsize=16)
def _lstm_gate_shift(hidden: int, dtype: np.dtype) -> np.ndarray:
    """What is added to the gates' tanh after the scale: 1/2 for i, f and o (σ(x) = (1 + tanh(x/2))/2), 0 for g."""
    return np.repeat(np.array([0.5, 0.5, 0.0, 0.5], dtype=dtype), hidden)


def _lstm_order(steps: int, reverse: bool) -> range:
    return range(steps - 1, -1, -1) if reverse else range(steps)


def _lstm_neighbours(steps: int, reverse: bool) -> tuple[slice, slice]:
    """(later, before): the steps that follow another step, and the steps they follow, in the same order."""
    return (slice(0, steps - 1), slice(1, steps)) if reverse else (slice(1, steps), slice(0, steps - 1))


def _lstm_saving(x: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
                 *biases: np.ndarray, reverse: bool = False) -> tuple[np.ndarray, _LSTMWork]:
    """The layer's output (T+1, N, H), and its saved work. The i, f, o rows of the weights are halved
    first (exact), so that one tanh per step makes all four gates, as lstm_cell's forward does."""
    steps, n = x.shape[:2]
    hidden = h0.shape[-1]
    dtype = np.result_type(x, h0, c0, w_ih, w_hh, *biases)
    xp = array_module(x)
    half = _lstm_gate_scale(hidden, dtype)
    shift = _lstm_gate_shift(hidden, dtype)
    if xp is not np:  # a device's array: the constants go there too
        half, shift = xp.asarray(half), xp.asarray(shift)
    # (I, 4H) and (H, 4H) in row order: NumPy lays out w.T * half as w.T is (columns), and BLAS is 2x
    # slower with W_hh's product that way round
    w_ih_half = xp.ascontiguousarray(w_ih.T.astype(dtype, copy=False) * half)
    w_hh_half = xp.ascontiguousarray(w_hh.T.astype(dtype, copy=False) * half)
    act = xp.empty((steps, n, 4 * hidden), dtype=dtype)  # the gates of every step, then activated in place
    np.matmul(x.reshape(steps * n, x.shape[2]), w_ih_half, out=act.reshape(steps * n, 4 * hidden))
    if biases:
        act += (biases[0] + biases[1]) * half
    cs, tanh_c = xp.empty((steps, n, hidden), dtype=dtype), xp.empty((steps, n, hidden), dtype=dtype)
    out = xp.empty((steps + 1, n, hidden), dtype=dtype)
    product, scratch = xp.empty((n, 4 * hidden), dtype=dtype), xp.empty((n, hidden), dtype=dtype)
    h, c = h0, c0
    for t in _lstm_order(steps, reverse):
        a = act[t]
        np.matmul(h, w_hh_half, out=product)
        a += product
        np.tanh(a, out=a)
        a *= half  # (1 + tanh)/2 on the i, f and o blocks: their sigmoid
        a += shift
        np.multiply(a[:, hidden:2 * hidden], c, out=cs[t])  # c_t = f·c_(t-1) + i·g
        np.multiply(a[:, :hidden], a[:, 2 * hidden:3 * hidden], out=scratch)
        cs[t] += scratch
        np.tanh(cs[t], out=tanh_c[t])
        np.multiply(a[:, 3 * hidden:], tanh_c[t], out=out[t])  # h_t = o·tanh(c_t)
        h, c = out[t], cs[t]
    out[steps] = c
    return out, _LSTMWork(act, cs, tanh_c)


def _lstm_backward(g: np.ndarray, out: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_hh: np.ndarray,
                   work: _LSTMWork, reverse: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BPTT on raw arrays: (δ (T, N, 4H), dh0, dc0). Every local derivative is made for all steps at
    once before the loop, which keeps only what is sequential: one product and six array operations."""
    act, cs, tanh_c = work.act, work.cs, work.tanh_c
    steps, n, hidden = cs.shape
    xp = array_module(act)
    order = _lstm_order(steps, reverse)
    first, (later, before) = order[0], _lstm_neighbours(steps, reverse)  # step `first` follows (h0, c0)
    i, f, gate, o = (act[..., k * hidden:(k + 1) * hidden] for k in range(4))
    local = act * act  # δ_t / (dc_t, dc_t, dc_t, dh_t), block by block:
    np.subtract(act, local, out=local)  # σ' = s(1 - s) for i, f, o
    local[..., :hidden] *= gate  # ·g
    local[later, :, hidden:2 * hidden] *= cs[before]  # ·c_(t-1)
    local[first, :, hidden:2 * hidden] *= c0
    np.multiply(gate, gate, out=local[..., 2 * hidden:3 * hidden])  # i·(1 - g²)
    np.subtract(1, local[..., 2 * hidden:3 * hidden], out=local[..., 2 * hidden:3 * hidden])
    local[..., 2 * hidden:3 * hidden] *= i
    local[..., 3 * hidden:] *= tanh_c  # ·tanh(c_t)
    through_h = tanh_c * tanh_c  # dc_t gets dh_t·o·(1 - tanh²c_t)
    np.subtract(1, through_h, out=through_h)
    through_h *= o
    delta = xp.empty(act.shape, dtype=act.dtype)
    dh, dc, scratch = xp.empty((n, hidden), dtype=act.dtype), g[steps].astype(act.dtype), xp.empty((n, hidden), dtype=act.dtype)
    following = None
    for t in reversed(order):
        if following is None:
            dh[...] = g[t]
        else:
            np.matmul(delta[following], w_hh, out=dh)
            dh += g[t]
            dc *= f[following]
        np.multiply(dh, through_h[t], out=scratch)
        dc += scratch
        np.multiply(dc[:, np.newaxis], local[t].reshape(n, 4, hidden)[:, :3],
                    out=delta[t].reshape(n, 4, hidden)[:, :3])
        np.multiply(dh, local[t, :, 3 * hidden:], out=delta[t, :, 3 * hidden:])
        following = t
    dc *= f[first]
    return delta, delta[first] @ w_hh, dc


def _lstm_backward_by_cells(g: Any, x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, biases: tuple[Any, ...],
                            reverse: bool) -> tuple[Any, Any, Any]:
    """BPTT on graph nodes: the steps recomputed as lstm_cell nodes, then the loop above with the
    cell's own rules; every operation is recorded, so the result differentiates again."""
    steps = x.shape[0]
    gates_x = x @ w_ih.transpose((1, 0))
    if biases:
        gates_x = gates_x + (biases[0] + biases[1])
    w_hh_t = w_hh.transpose((1, 0))
    order = _lstm_order(steps, reverse)
    cells, h, c = {}, h0, c0
    for t in order:
        gates = gates_x[t] + h @ w_hh_t
        cell = call(LSTM_CELL, gates, c)
        cells[t] = (cell, gates, c)
        h, c = cell[0], cell[1]
    deltas: dict[int, Any] = {}
    dc, following = g[steps], None
    for t in reversed(order):
        dh = g[t] if following is None else g[t] + deltas[following] @ w_hh
        g_cell = call(STACK, dh, dc, axis=0)
        deltas[t] = _lstm_cell_grad_gates(g_cell, *cells[t])
        dc = _lstm_cell_grad_c(g_cell, *cells[t])
        following = t
    return call(STACK, *(deltas[t] for t in range(steps)), axis=0), deltas[order[0]] @ w_hh, dc


def _lstm_grad(k: int, g: Any, out: Any, x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, *biases: Any,
               reverse: bool = False, saved: _LSTMWork | None = None) -> Any:
    """The gradient of input k (x, h0, c0, W_ih, W_hh, b_ih, b_hh), from the BPTT the rules share."""
    raw = is_array(g) and is_array(x)
    if saved is not None and saved.g is g and k not in saved.served:
        delta, dh0, dc0 = saved.bptt
    else:
        if not raw:
            delta, dh0, dc0 = _lstm_backward_by_cells(g, x, h0, c0, w_ih, w_hh, biases, reverse)
        elif saved is None:  # (a caller with only the inputs: the forward again)
            out, work = _lstm_saving(x, h0, c0, w_ih, w_hh, *biases, reverse=reverse)
            delta, dh0, dc0 = _lstm_backward(g, out, h0, c0, w_hh, work, reverse)
        else:
            delta, dh0, dc0 = _lstm_backward(g, out, h0, c0, w_hh, saved, reverse)
        if saved is not None:
            saved.g, saved.bptt, saved.served = g, (delta, dh0, dc0), set()
    if saved is not None:
        saved.served.add(k)
    steps, n = x.shape[:2]
    flat = delta.reshape((steps * n, delta.shape[2]))
    if k == 0:
        grad = (flat @ w_ih).reshape(x.shape)
    elif k == 1:
        grad = dh0
    elif k == 2:
        grad = dc0
    elif k == 3:
        grad = flat.transpose((1, 0)) @ x.reshape((steps * n, x.shape[2]))
    elif k == 4:  # Σ δ_tᵀ h_(t-1): h0 before the first step, the output's row t∓1 before the others
        first = _lstm_order(steps, reverse)[0]
        grad = delta[first].transpose((1, 0)) @ h0
        if steps > 1:
            later, before = _lstm_neighbours(steps, reverse)
            rest = (steps - 1) * n
            grad = grad + delta[later].reshape((rest, delta.shape[2])).transpose((1, 0)) @ \
                out[before].reshape((rest, out.shape[2]))
    else:
        grad = _sum(flat, (0,))
    dtype = (x, h0, c0, w_ih, w_hh, *biases)[k].dtype
    if grad.dtype != dtype:  # (inputs of mixed precision: computed in the widest, returned in the input's)
        return grad.astype(dtype) if raw else call(ASTYPE, grad, dtype=dtype)
    return grad


LSTM: Op = define(Op(
    "lstm", "LSTM", lambda *inputs, reverse=False: _lstm_saving(*inputs, reverse=reverse)[0],
    vjps=ForEachInput(_lstm_grad), saving_forward=_lstm_saving, explain=_lstm_error,
    derivatives=("BPTT(g) @ W_ih", "BPTT(g)₁ @ W_hh", "f₁·dc₁ (BPTT)", "Σₜ BPTT(g)ₜᵀ xₜ", "Σₜ BPTT(g)ₜᵀ hₜ₋₁",
                 "Σₜ BPTT(g)ₜ", "Σₜ BPTT(g)ₜ"),
    domain=("real",) * 7,
))


# --------------------------------------------------------------------------- linear layers
# y = x @ wᵀ + b over the last axis of x, for a weight w of shape (out, in) (PyTorch's F.linear), as one
# node. As matmul, transpose and add it is three nodes, and w's gradient comes back through the
# transpose as a transposed view that has to be copied into w's layout. Here each input's rule makes it
# in its own layout directly (BLAS reads the transposes in place):
#   dx = g @ w;   dw = gᵀ @ x (rows of every batch axis together);   db = g summed over the batch axes


def _rows(a: Any) -> Any:
    """a as a matrix of rows: the batch axes of (..., n) flattened into one (a 2-D array is itself)."""
    return a if a.ndim == 2 else a.reshape(-1, a.shape[-1])


def _linear(x: Any, w: Any, b: Any = None) -> Any:
    y = _matmul(x, w.T)  # (all rows of a batch as one 2-D product)
    if b is None:
        return y
    if b.dtype == y.dtype and b.shape == y.shape[-1:]:
        y += b  # into the product's fresh output: no second array
        return y
    return y + b


def _linear_grad_x(g: Any, out: Any, x: Any, w: Any, b: Any = None) -> Any:
    return call(MATMUL, g, w)


def _linear_grad_w(g: Any, out: Any, x: Any, w: Any, b: Any = None) -> Any:
    if x.ndim == 1:  # one input vector: the outer product g xᵀ
        return g.reshape(g.shape[0], 1) @ x.reshape(1, x.shape[0])
    return _rows(g).T @ _rows(x)  # (out, in): w's own layout, a fresh array


def _linear_grad_b(g: Any, out: Any, x: Any, w: Any, b: Any = None) -> Any:
    return _sum(g, tuple(range(g.ndim - 1))) if g.ndim > 1 else g


def _linear_error(x: Any, w: Any, b: Any = None) -> str | None:
    """Why the product refused its operands, in PyTorch's terms (input, weight, bias)."""
    if np.ndim(w) != 2:
        return f"the weight must be a matrix (out_features, in_features), got shape {np.shape(w)}"
    if np.ndim(x) == 0 or np.shape(x)[-1] != np.shape(w)[1]:
        return (f"the input's last axis must have the weight's in_features ({np.shape(w)[1]}), "
                f"got an input of shape {np.shape(x)}")
    if b is not None:
        return f"the bias must have shape ({np.shape(w)[0]},), got shape {np.shape(b)}"
    return None


LINEAR: Op = define(Op(  # two inputs (x, w) without a bias, three with one
    "linear", "linear", _linear,
    vjps=(_linear_grad_x, _linear_grad_w, _linear_grad_b),
    derivatives=("g @ w", "gᵀ @ x", "g summed over the batch"), domain=("real", "real", "real"),
    broadcasting=True, explain=_linear_error,  # (the engine casts a promoted gradient back to its input's dtype)
    reads=(0, 1),
))

SCALAR_OPS = tuple(op for op in REGISTRY.values() if op.scalar_forward is not None)
