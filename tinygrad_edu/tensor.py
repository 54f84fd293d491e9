"""Tensor: a NumPy array that records the operations made with it."""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import ops
from .engine import CHECKING, Node, _grad_mode, check_forward, epoch, mark_modified
from .ops import Op

Shape = tuple[int, ...]


@functools.cache
def _binary_operator(op: Op) -> Callable[[Tensor, Any], Tensor]:
    """The method `x <op> y`, and the one place an op of two tensors (and no params) is run and
    recorded: its forward on the two arrays, and a node when either requires grad. An operand that
    is not a Tensor goes through _binary, which comes back here. Made once per op from its record,
    as Value's operators are: the Tensor engine's hottest path, so one Python call per op."""
    forward = op.forward

    def operator(x: Tensor, y: Any) -> Tensor:
        if type(y) is not Tensor and not isinstance(y, Tensor):
            return _binary(op, x, y)
        try:
            data = forward(x.data, y.data)
        except (ValueError, IndexError, TypeError) as e:
            raise _forward_error(op, [x.data, y.data], e) from None
        t = _new(Tensor)
        t.data = data if type(data) is np.ndarray else np.asarray(data)  # NumPy returns scalars for 0-d results
        t.grad = t.label = t.params = None
        t._epoch = epoch[0]
        t.retains_grad = False
        if (x.requires_grad or y.requires_grad) and (mode := _grad_mode.enabled):
            t.op, t.inputs, t.requires_grad = op, (x, y), True
            if mode == CHECKING:
                check_forward(t)  # anomaly mode: where it was made, and whether it made NaN or Inf
        else:  # a constant: nothing to differentiate, nothing to keep alive
            t.op, t.inputs, t.requires_grad = None, (), False
        return t

    return operator


def _reflected_operator(op: Op) -> Callable[[Tensor, Any], Tensor]:
    """The method `y <op> x` for an operand y that is not a Tensor (a Tensor's own method came first)."""

    def operator(x: Tensor, y: Any) -> Tensor:
        return _binary(op, x, y, reflected=True)

    return operator


class Tensor(Node):
    """An n-dimensional array in a computation graph (float64 unless float32 or another dtype is given).

    `.grad` is an ndarray of the same shape and dtype, filled by backward() for leaves that require
    grad (and for other tensors after `.retain_grad()`).

    >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> (x * x).sum().backward(); x.grad
    array([[2., 4.],
           [6., 8.]])
    """

    __slots__ = ("inputs", "params", "retains_grad")
    shaped = True

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        label: str | None = None,
    ) -> None:
        array = _to_array(data, dtype)
        if requires_grad and array.dtype.kind != "f":
            raise TypeError(
                f"Tensor: only floating-point tensors can require grad, got dtype {array.dtype} "
                "(pass dtype=np.float64, or leave requires_grad=False)"
            )
        super().__init__(array, None, label, requires_grad)
        self.inputs, self.params, self.retains_grad = (), None, False

    @classmethod
    def constant(cls, data: Any) -> Tensor:
        return _leaf(np.asarray(data))

    def apply_op(self, op: Op, *args: Any, **params: Any) -> Tensor:
        like = next(a for a in args if isinstance(a, Tensor))
        return _apply(op, tuple(_as_tensor(a, like, op) for a in args), params or None)

    def retain_grad(self) -> Tensor:
        """Keep this non-leaf tensor's gradient in .grad after backward()."""
        self.retains_grad = True
        return self

    # ---- what it is
    @property
    def shape(self) -> Shape:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d Tensor")
        return len(self.data)

    def item(self) -> float:
        """The single element as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element Tensor converts to a number, this one has shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (shared, not copied)."""
        return self.data

    def detach(self) -> Tensor:
        """The same data, outside the graph."""
        return _leaf(self.data)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __float__(self) -> float:
        return float(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:  # NumPy's rule: only one-element tensors have a truth value
            raise ValueError(
                f"bool: the truth value of a Tensor of shape {self.shape} is ambiguous (only a one-element "
                "Tensor has one); use (t > 0).any() or .all() on the comparison's array"
            )
        return bool(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(", threshold=20, edgeitems=2)
        extra = [f"dtype={self.dtype}"] if self.dtype != np.float64 else []
        if self.op is not None:
            extra.append(f"op={self.op.name}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        if self.label:
            extra.append(f"label={self.label!r}")
        return f"Tensor({body}{''.join(', ' + e for e in extra)})"

    # ---- elementwise arithmetic (NumPy broadcasting)
    __add__, __radd__ = _binary_operator(ops.ADD), _reflected_operator(ops.ADD)
    __sub__, __rsub__ = _binary_operator(ops.SUB), _reflected_operator(ops.SUB)
    __mul__, __rmul__ = _binary_operator(ops.MUL), _reflected_operator(ops.MUL)
    __truediv__, __rtruediv__ = _binary_operator(ops.DIV), _reflected_operator(ops.DIV)
    __pow__, __rpow__ = _binary_operator(ops.POW), _reflected_operator(ops.POW)
    __matmul__, __rmatmul__ = _binary_operator(ops.MATMUL), _reflected_operator(ops.MATMUL)

    def __neg__(self) -> Tensor:
        return _apply1(ops.NEG, self)

    def exp(self) -> Tensor:
        """`e**x` elementwise."""
        return _apply1(ops.EXP, self)

    def log(self) -> Tensor:
        """The natural logarithm, elementwise."""
        bad = self.data <= 0
        if bad.any():
            raise ValueError(
                f"log: input must be positive; {int(bad.sum())} of {self.size} elements of the "
                f"shape-{self.shape} input are <= 0 (the smallest is {self.data.min()!r})"
            )
        return _apply1(ops.LOG, self)

    def relu(self) -> Tensor:
        """max(0, x) elementwise."""
        return _apply1(ops.RELU, self)

    def sigmoid(self) -> Tensor:
        """`1 / (1 + e**-x)` elementwise, computed stably."""
        return _apply1(ops.SIGMOID, self)

    def tanh(self) -> Tensor:
        """The hyperbolic tangent, elementwise."""
        return _apply1(ops.TANH, self)

    def softmax(self, axis: int = -1) -> Tensor:
        """exp(x) / sum(exp(x)) along axis, computed without overflow."""
        return _apply1(ops.SOFTMAX, self, {"axis": _axis(self, axis, "softmax")})

    def log_softmax(self, axis: int = -1) -> Tensor:
        """x - log(sum(exp(x))) along axis, computed without overflow."""
        return _apply1(ops.LOG_SOFTMAX, self, {"axis": _axis(self, axis, "log_softmax")})

    # ---- comparisons look at the data only (they are not differentiable) and give booleans
    def __lt__(self, other: Any) -> np.ndarray:
        return self.data < _raw(other)

    def __le__(self, other: Any) -> np.ndarray:
        return self.data <= _raw(other)

    def __gt__(self, other: Any) -> np.ndarray:
        return self.data > _raw(other)

    def __ge__(self, other: Any) -> np.ndarray:
        return self.data >= _raw(other)

    # ---- in-place changes: tracked, so that a graph that saved this tensor refuses a later backward
    def __setitem__(self, index: Any, value: Any) -> None:
        """t[index] = value, in place (a leaf only; while recording, only one that needs no gradient)."""
        self._check_in_place("t[...] = v")
        try:
            self.data[index] = value.data if isinstance(value, Tensor) else value
        except (ValueError, IndexError, TypeError) as e:
            raise type(e)(f"setitem on a tensor of shape {self.shape}: {e}") from None

    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place(ops.ADD, other, "+=")

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place(ops.SUB, other, "-=")

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place(ops.MUL, other, "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place(ops.DIV, other, "/=")

    def _in_place(self, op: Op, other: Any, symbol: str) -> Tensor:
        """t op= other: a tensor made by an op gets a new tensor (its graph keeps the old value);
        a leaf is changed in place, which the engine records."""
        if self.op is not None:
            return _binary(op, self, other)
        self._check_in_place(f"t {symbol} v")
        try:
            op.forward(self.data, _raw(other), out=self.data, casting="same_kind")
        except (ValueError, TypeError) as e:
            raise type(e)(f"{symbol} on a tensor of shape {self.shape} and {np.shape(_raw(other))}: {e}") from None
        return self

    def _check_in_place(self, what: str) -> None:
        if self.requires_grad and _grad_mode.recording:
            raise RuntimeError(
                f"{what}: this leaf requires grad, so changing it in place while recording would hide the "
                "change from the graph; do it inside `with tg.no_grad():` (as optimizers do)"
            )
        mark_modified(self, what)

    # ---- reductions
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """The sum over `axis` (all axes when None), keeping reduced axes as length 1 with `keepdims`."""
        return _reduce(ops.SUM, self, axis, keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """The mean over `axis` (all axes when None), keeping reduced axes as length 1 with `keepdims`."""
        return _reduce(ops.MEAN, self, axis, keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """The largest element(s); where several tie, they share the gradient equally."""
        return _reduce(ops.MAX, self, axis, keepdims)

    # ---- shape
    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in a new shape: `t.reshape(2, 3)` or `t.reshape((2, 3))`, -1 allowed once."""
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
            shape = tuple(shape[0])
        return _apply1(ops.RESHAPE, self, {"shape": tuple(int(n) for n in shape)})

    def transpose(self, *axes: Any) -> Tensor:
        """Permute the axes (reverse them when none are given)."""
        if len(axes) == 1 and not isinstance(axes[0], numbers.Integral):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        if sorted(_axis(self, a, "transpose") for a in axes) != list(range(self.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {self.ndim} axes of shape {self.shape}")
        return _apply1(ops.TRANSPOSE, self, {"axes": tuple(_axis(self, a, "transpose") for a in axes)})

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def swapaxes(self, a: int, b: int) -> Tensor:
        """Axes a and b exchanged."""
        axes = list(range(self.ndim))
        a, b = _axis(self, a, "swapaxes"), _axis(self, b, "swapaxes")
        axes[a], axes[b] = axes[b], axes[a]
        return _apply1(ops.TRANSPOSE, self, {"axes": tuple(axes)})

    def astype(self, dtype: Any) -> Tensor:
        """The same values in another float dtype (one "astype" node; the gradient comes back in this
        tensor's dtype). A cast to integers or booleans is for data only: detach first."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f" and self.requires_grad and _grad_mode.recording:
            raise TypeError(
                f"astype: cannot cast a {self.dtype} tensor of shape {self.shape} that requires grad to {dtype}: "
                "only float tensors carry gradients; use .detach().astype(...) for the data"
            )
        return _apply(ops.ASTYPE, (self,), {"dtype": dtype})

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        """Repeated along new or length-1 axes to `shape`, as NumPy broadcasts (gradients are summed back)."""
        return _apply1(ops.BROADCAST_TO, self, {"shape": tuple(shape)})

    def __getitem__(self, index: Any) -> Tensor:
        return _apply1(ops.GETITEM, self, {"index": _normalize_index(index)})

    # NumPy functions called on a Tensor: the differentiable ones are recorded, others refuse a graph
    def __array_ufunc__(self, ufunc: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        op = _UFUNC_OPS.get(ufunc)
        if op is not None and method == "__call__" and not kwargs:
            if len(args) == 2 and type(args[1]) is Tensor and type(args[0]) is not Tensor:
                return _binary(op, args[1], args[0], reflected=True)  # array (op) tensor, e.g. x @ w
            like = next(a for a in args if isinstance(a, Tensor))
            return _apply(op, tuple(_as_tensor(a, like, op) for a in args))
        if any(isinstance(a, Tensor) and a.requires_grad for a in args):
            raise TypeError(
                f"numpy.{ufunc.__name__} is not differentiable in tinygrad_edu; "
                "use Tensor methods, or .detach() to compute it outside the graph"
            )
        raw = [a.data if isinstance(a, Tensor) else a for a in args]
        return getattr(ufunc, method)(*raw, **kwargs)


_UFUNC_OPS = {
    np.add: ops.ADD, np.subtract: ops.SUB, np.multiply: ops.MUL, np.true_divide: ops.DIV,
    np.power: ops.POW, np.negative: ops.NEG, np.exp: ops.EXP, np.tanh: ops.TANH, np.matmul: ops.MATMUL,
}


# --------------------------------------------------------------------------- recording


_new = Tensor.__new__


def _leaf(data: np.ndarray) -> Tensor:
    t = _new(Tensor)  # (one attribute per statement: quicker than a tuple assignment)
    t.data = data
    t.grad = t.op = t.params = t.label = None
    t.inputs = ()
    t.requires_grad = t.retains_grad = False
    t._epoch = 0
    return t


# Every op runs through _binary_operator (two inputs, no params: the operators), _apply1 (one input)
# or _apply (any number). The first two are _apply written out for their case: they run on every op
# a model makes, so they spend no time on tuples, lengths or keyword dicts they do not need.


def _apply1(op: Op, x: Tensor, params: dict[str, Any] | None = None) -> Tensor:
    """Run op's forward on one tensor's array; record the result when it requires grad."""
    try:
        if not params:
            data = op.forward(x.data)
        elif op.saving_forward is not None and x.requires_grad and _grad_mode.enabled:
            data, saved = op.saving_forward(x.data, **params)
            params = {**params, "saved": saved}  # the rules get it as saved=
        else:
            data = op.forward(x.data, **params)
    except (ValueError, IndexError, TypeError) as e:
        raise _forward_error(op, [x.data], e) from None
    t = _new(Tensor)
    t.data = data if type(data) is np.ndarray else np.asarray(data)
    t.grad = t.label = None
    t._epoch = epoch[0]
    t.retains_grad = False
    if x.requires_grad and _grad_mode.enabled:
        t.op, t.inputs, t.params, t.requires_grad = op, (x,), params, True
        if _grad_mode.enabled == CHECKING:
            check_forward(t)
    else:
        t.op, t.inputs, t.params, t.requires_grad = None, (), None, False
    return t


def _apply(op: Op, inputs: tuple[Tensor, ...], params: dict[str, Any] | None = None) -> Tensor:
    """Run op's forward on the inputs' arrays; record the result when any input requires grad."""
    if len(inputs) == 1:
        return _apply1(op, inputs[0], params)
    if len(inputs) == 2 and not params:
        return _binary_operator(op)(*inputs)
    try:
        data = op.forward(*[t.data for t in inputs], **(params or {}))
    except (ValueError, IndexError, TypeError) as e:
        raise _forward_error(op, [t.data for t in inputs], e) from None
    t = _leaf(data if type(data) is np.ndarray else np.asarray(data))
    t._epoch = epoch[0]
    mode = _grad_mode.enabled
    if mode and any(x.requires_grad for x in inputs):
        t.op, t.inputs, t.params, t.requires_grad = op, inputs, params, True
        if mode == CHECKING:
            check_forward(t)
    return t


def _forward_error(op: Op, arrays: list[Any], e: Exception) -> Exception:
    shapes = " and ".join(str(np.shape(a)) for a in arrays)
    reason = op.explain(*arrays) if op.explain is not None and isinstance(e, ValueError) else None
    message = f"{op.name} on shape{'s' if len(arrays) > 1 else ''} {shapes}: {reason or e}"
    try:
        return type(e)(message)
    except TypeError:  # NumPy's own subclasses take other arguments: use the built-in type they extend
        base = next(b for b in type(e).__mro__ if b in (ValueError, IndexError, TypeError))
        return base(message)


def _binary(op: Op, x: Tensor, other: Any, reflected: bool = False) -> Tensor:
    kind = type(other)
    if kind is Tensor:
        y = other
    elif not (x.requires_grad and _grad_mode.enabled) and (
        kind is float or kind is int or (kind is np.ndarray and other.dtype.kind in "fiub")
    ):  # nothing will be recorded: no constant node for the operand (NumPy adapts numbers to the dtype as we do)
        args = (other, x.data) if reflected else (x.data, other)
        try:
            data = op.forward(*args)
        except (ValueError, IndexError, TypeError) as e:
            raise _forward_error(op, list(args), e) from None
        return _leaf(data if type(data) is np.ndarray else np.asarray(data))
    else:  # an array operand is copied only where a recorded graph keeps it for the backward pass
        y = _as_tensor(other, x, op, copy=x.requires_grad and _grad_mode.recording)
    operator = _binary_operator(op)
    return operator(y, x) if reflected else operator(x, y)


def _as_tensor(x: Any, like: Tensor, op: Op, copy: bool = True) -> Tensor:
    """An operand as a Tensor: numbers and arrays become constants; a Value is refused.

    With copy=False an ndarray is wrapped as it is, for results nothing will keep.
    """
    kind = type(x)
    if kind is Tensor:
        return x
    if kind is float or kind is int:  # the common cases first: `x * 2.0`, `x ** 2`
        dtype = like.data.dtype
        return _leaf(np.array(x, dtype=dtype if dtype.kind == "f" else np.result_type(dtype, x)))
    if kind is np.ndarray and x.dtype.kind in "fiub":
        return _leaf(x.copy() if copy else x)
    if isinstance(x, Tensor):
        return x
    if isinstance(x, Node):
        raise TypeError(
            f"{op.name}: cannot combine a Tensor with a {type(x).__name__}; use Tensors for both "
            "(a Value is a scalar of the scalar engine)"
        )
    if isinstance(x, (bool, int, float)):  # Python numbers adapt to the tensor's dtype, as in NumPy
        return _leaf(np.asarray(x, dtype=np.result_type(like.data.dtype, x)))
    if isinstance(x, (np.ndarray, np.generic, list, tuple)):
        return _leaf(_to_array(x, None))
    raise TypeError(f"{op.name}: unsupported operand for Tensor: {type(x).__name__}")


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    """A fresh array for a new Tensor: lists and numbers default to float64, arrays keep their dtype."""
    if isinstance(data, Node):
        if isinstance(data, Tensor):
            data = data.data
        else:
            raise TypeError(f"Tensor: data must be numbers or arrays, not a {type(data).__name__}")
    array = np.array(data, dtype=dtype)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"Tensor: data must be real numbers, got an array of dtype {array.dtype} from {type(data).__name__}")
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)) and array.dtype.kind != "f":
        array = array.astype(np.float64)  # Tensor([1, 2]) is a float tensor
    return array


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _axis(t: Tensor, axis: Any, op: str) -> int:
    if isinstance(axis, numbers.Integral) and -t.ndim <= int(axis) < t.ndim:
        return int(axis) % t.ndim
    raise ValueError(f"{op}: axis {axis!r} is out of range for shape {t.shape}")


def _reduce(op: Op, t: Tensor, axis: Any, keepdims: bool) -> Tensor:
    if axis is not None:
        if not (isinstance(axis, numbers.Integral) or
                (isinstance(axis, (tuple, list)) and all(isinstance(a, numbers.Integral) for a in axis))):
            raise TypeError(f"{op.name}: axis must be an int or a tuple of ints, got {axis!r} for shape {t.shape}")
        axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
        axis = tuple(sorted({_axis(t, a, op.name) for a in axes}))
        if len(axis) != len(axes):
            raise ValueError(f"{op.name}: repeated axis in {axes} for shape {t.shape}")
    return _apply1(op, t, {"axis": axis, "keepdims": bool(keepdims)})


def _normalize_index(index: Any) -> tuple[Any, ...]:
    """An index as a tuple, with Tensors and lists turned into arrays (hashable parts kept as they are)."""
    if not isinstance(index, tuple):
        index = (index,)
    return tuple(
        i.data if isinstance(i, Tensor) else np.asarray(i) if isinstance(i, list) else i for i in index
    )


# --------------------------------------------------------------------------- functions and factories


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    ts = _as_tensors(tensors, ops.CONCATENATE)
    return _apply(ops.CONCATENATE, ts, {"axis": _axis(ts[0], axis, "concatenate")})


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    ts = _as_tensors(tensors, ops.STACK)
    if not -ts[0].ndim - 1 <= axis <= ts[0].ndim:
        raise ValueError(f"stack: axis {axis} is out of range for inputs of shape {ts[0].shape}")
    return _apply(ops.STACK, ts, {"axis": axis % (ts[0].ndim + 1)})


def cross_entropy(logits: Tensor, labels: Any) -> Tensor:
    """Mean cross-entropy of logits (N, C) against integer class labels (N,), computed stably.

    >>> round(cross_entropy(Tensor([[2.0, 0.0], [0.0, 2.0]]), [0, 1]).item(), 6)
    0.126928
    """
    labels = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"cross_entropy: expected logits of shape (N, C) and labels of shape (N,), got {logits.shape} "
            f"and {labels.shape}"
        )
    classes = logits.shape[1]
    if labels.dtype.kind not in "iu":
        raise ValueError(f"cross_entropy: labels must be integers in [0, {classes}), got dtype {labels.dtype}")
    # as unsigned integers negative labels are huge, so one max finds labels on both sides of the range
    if labels.size and np.maximum.reduce(labels.astype(np.uint64)) >= classes:
        outside = labels[(labels < 0) | (labels >= classes)]
        raise ValueError(
            f"cross_entropy: labels must be integers in [0, {classes}) for {classes} classes; "
            f"{outside.size} are not: {outside[:10].tolist()}"
        )
    return _apply1(ops.CROSS_ENTROPY, logits, {"labels": labels})


def _as_tensors(tensors: Sequence[Any], op: Op) -> tuple[Tensor, ...]:
    if isinstance(tensors, (Tensor, np.ndarray)) or len(tensors) == 0:
        raise ValueError(f"{op.name}: expected a non-empty list of tensors")
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    if like is None:
        like = Tensor(tensors[0])
    return tuple(_as_tensor(t, like, op) for t in tensors)


def _shape(shape: tuple[Any, ...]) -> Shape:
    if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
        shape = tuple(shape[0])
    return tuple(int(n) for n in shape)


def zeros(*shape: Any, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: zeros(2, 3) or zeros((2, 3))."""
    return Tensor(np.zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ones(2, 3) or ones((2, 3))."""
    return Tensor(np.ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def randn(
    *shape: Any,
    rng: np.random.Generator | int | None = None,
    dtype: Any = np.float64,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples; `rng` is a NumPy Generator or a seed, for repeatable results.

    >>> randn(2, rng=0).shape
    (2,)
    """
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return Tensor(generator.standard_normal(_shape(shape)).astype(dtype), requires_grad=requires_grad)


# --------------------------------------------------------------------------- einsum


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, as torch.einsum: "bij,bjk->bik" multiplies and sums over the indices that
    the output ("->") leaves out; without "->" the output is the indices that appear once, sorted.
    One "einsum" node; each operand's gradient is an einsum of the output gradient with the others.
    Ellipsis ("...") and an index repeated within one operand (diagonals) are not supported.

    >>> einsum("ij,j->i", Tensor([[1.0, 2.0], [3.0, 4.0]]), Tensor([1.0, 1.0]))
    Tensor([3., 7.])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])  # torch also takes the operands as one list
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(equation).__name__}")
    if not operands:
        raise ValueError("einsum: expected at least one operand")
    ts = _as_tensors(operands, ops.EINSUM)
    explicit = _einsum_equation(equation, [t.shape for t in ts])
    return _apply(ops.EINSUM, ts, {"equation": explicit})


def _einsum_equation(equation: str, shapes: list[Shape]) -> str:
    """The equation checked against the operands' shapes and written out explicitly ("ij,jk->ik")."""
    eq = equation.replace(" ", "")
    if "." in eq:
        raise ValueError(f"einsum: ellipsis ('...') is not supported in {equation!r}; write every index out")
    lhs, arrow, output = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {equation!r} has {len(terms)} operand term(s) but {len(shapes)} operand(s) were given")
    sizes: dict[str, tuple[int, int]] = {}  # index -> (size, the operand it was first seen in)
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        if not all(c.isascii() and c.isalpha() for c in term):
            raise ValueError(f"einsum: operand {k}'s term {term!r} in {equation!r} must be letters a-z, A-Z only")
        repeated = sorted({c for c in term if term.count(c) > 1})
        if repeated:
            raise ValueError(f"einsum: index {repeated[0]!r} repeats within operand {k} ({term!r}) in {equation!r}: "
                             "diagonals and traces of one operand are not supported")
        if len(term) != len(shape):
            raise RuntimeError(f"einsum: operand {k} has shape {shape} ({len(shape)} axes) but its term {term!r} "
                               f"in {equation!r} names {len(term)}")
        for c, n in zip(term, shape):
            if c in sizes and sizes[c][0] != n:
                size, first = sizes[c]
                raise RuntimeError(f"einsum: index {c!r} in {equation!r} has size {size} in operand {first} but "
                                   f"{n} in operand {k} (shapes {shapes})")
            sizes.setdefault(c, (n, k))
    if not arrow:  # implicit output: the indices that appear once, in alphabetical order
        output = "".join(sorted(c for c in sizes if lhs.count(c) == 1))
    for c in output:
        if c not in sizes or output.count(c) > 1:
            raise ValueError(f"einsum: output index {c!r} in {equation!r} "
                             + ("appears more than once" if c in sizes else "appears in no operand"))
    return ",".join(terms) + "->" + output
