"""Tensor: a NumPy array that records the operations made with it."""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from . import ops
from .device import Device, array_module, device_of, get_device, is_array, move_to, to_host
from .checks import check_forward, clock, mark_modified
from .engine import RECORD_AND_CHECK, Node, _grad_mode, no_grad
from .ops import Op
from .random import generator as random_generator

Shape = tuple[int, ...]
Axes = int | Sequence[int] | None  # a reduction's axes: one, several, or all of them (None)


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
        xd, yd = x.data, y.data
        if xd.dtype is not yd.dtype and _may_differ(xd, yd) and (cast := _weakly_promoted((x, y))) is not None:
            x, y = cast
            xd, yd = x.data, y.data
        try:
            data = forward(xd, yd)
        except (ValueError, IndexError, TypeError) as e:
            moved = _with_host_scalars_moved((x, y))
            if moved is not None:
                return operator(*moved)
            raise _forward_error(op, [x.data, y.data], e) from None
        t = _new(Tensor)
        t.data = data if type(data) is np.ndarray else _result(data)  # NumPy returns scalars for 0-d results
        t.grad = t.label = t.params = None
        t._written_at = clock[0]
        t.retains_grad = False
        if (x.requires_grad or y.requires_grad) and (mode := _grad_mode.on_each_op):
            t.op, t.inputs, t.requires_grad = op, (x, y), True
            if mode == RECORD_AND_CHECK:
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


_COMPARABLE = (np.ndarray, np.generic, numbers.Number, list, tuple)


def _comparison(ufunc: Any, name: str) -> Callable[[Tensor, Any], Any]:
    """The method `x <op> y` of a comparison: a boolean Tensor that requires no grad (nothing to record)."""

    def compare(self: Tensor, other: Any) -> Any:
        if not isinstance(other, (Tensor, *_COMPARABLE)):
            return NotImplemented  # (== with a Value, None or a string: Python's own answer)
        x, y = _weak_arrays(self.data, _operand_on(other, self))
        try:
            return _leaf(_result(ufunc(x, y)))
        except (ValueError, TypeError) as e:
            raise _mixed_devices(name, [self.data, y]) or type(e)(
                f"{name} on shapes {self.shape} and {np.shape(y)}: {e}") from None

    return compare


def _bitwise(ufunc: Any, symbol: str) -> Callable[[Tensor, Any], Tensor]:
    """The method `x <symbol> y` for boolean and integer tensors (and, or, xor): outside the graph."""

    def logic(self: Tensor, other: Any) -> Tensor:
        y = _operand_on(other, self)
        y = y if is_array(y) else np.asarray(y)
        if self.dtype.kind not in "biu" or y.dtype.kind not in "biu":
            raise TypeError(f"{symbol} is defined for boolean and integer tensors only, got {self.dtype} and {y.dtype}")
        return _leaf(_result(ufunc(*_weak_arrays(self.data, y))))

    return logic


def _is_bound_array(x: Any) -> bool:
    return isinstance(x, (Tensor, np.ndarray, list, tuple))


class _Size(int):
    """A tensor's number of elements (NumPy's `size`), which also answers PyTorch's `size()` and `size(dim)`."""

    def __new__(cls, shape: tuple[int, ...]) -> _Size:
        size = super().__new__(cls, math.prod(shape))
        size.shape = shape
        return size

    shape: tuple[int, ...]

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        if not isinstance(dim, numbers.Integral) or not -len(self.shape) <= dim < len(self.shape):
            raise IndexError(f"size: dim {dim!r} is out of range for shape {self.shape}")
        return self.shape[dim]


class Tensor(Node):
    """An n-dimensional array in a computation graph (float64 unless float32 or another dtype is given).

    `.grad` is an ndarray of the same shape and dtype, filled by backward() for leaves that require
    grad (and for other tensors after `.retain_grad()`).

    >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> (x * x).sum().backward(); x.grad
    array([[2., 4.],
           [6., 8.]])
    """

    __slots__ = ("inputs", "params", "retains_grad", "_module_calls")
    shaped = True
    # (module, args, kwargs) of each module call that returned this tensor, innermost first; set by
    # Module.__call__ (see nn/module.py), left unset otherwise
    _module_calls: tuple[tuple[Any, tuple[Any, ...], dict[str, Any]], ...]

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        label: str | None = None,
        device: Any = None,
    ) -> None:
        array = _to_array(data, dtype)
        if device is not None:
            array = move_to(array, get_device(device))
        if requires_grad and array.dtype.kind != "f":
            raise TypeError(
                f"Tensor: only floating-point tensors can require grad, got dtype {array.dtype} "
                "(pass dtype=np.float64, or leave requires_grad=False)"
            )
        super().__init__(array, None, label, requires_grad)
        self.inputs, self.params, self.retains_grad = (), None, False

    @classmethod
    def constant(cls, data: Any) -> Tensor:
        return _leaf(data if is_array(data) else np.asarray(data))

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
    def size(self) -> _Size:
        """The number of elements, as NumPy's `size`; called, PyTorch's `size()`: `t.size()` is the shape
        and `t.size(dim)` one dim's length.

        >>> t = Tensor(np.zeros((2, 3))); t.size, t.size(), t.size(-1)
        (6, (2, 3), 3)
        """
        return _Size(self.data.shape)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d Tensor")
        return len(self.data)

    def item(self) -> float:
        """The single element as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element Tensor converts to a number, this one has shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        """The data as (nested) Python lists of numbers, as ndarray.tolist gives."""
        return self.data.tolist()

    def numpy(self) -> np.ndarray:
        """The data as an ndarray: shared on the CPU, copied to the host from a GPU."""
        return to_host(self.data)

    # ---- where it is
    @property
    def device(self) -> Device:
        """The device holding the data: `t.device == "cpu"` or `"cuda"` (prints as cpu or cuda:0)."""
        return device_of(self.data)

    def to(self, *args: Any, device: Any = None, dtype: Any = None, copy: bool = False) -> Tensor:
        """This tensor on another device and/or in another dtype, as PyTorch's `to`: `t.to("cuda")`,
        `t.to(np.float32)`, `t.to("cuda", np.float32)`, `t.to(other)` (other's device and dtype). Itself
        when nothing changes (unless copy=True); otherwise a node of the graph, so that gradients flow
        back to this tensor, on its device and in its dtype.

        >>> x = Tensor([1.0], requires_grad=True)
        >>> y = x.to("cpu", np.float32); y.dtype, y.op
        (dtype('float32'), Op('astype'))
        """
        target, dtype = _device_and_dtype("to", args, device, dtype)
        out = self
        if target is not None and device_of(self.data) is not target:
            out = _apply1(ops.COPY, self, {"device": target})
        if dtype is not None and dtype != out.dtype:
            out = _cast(out, dtype)
        return self.clone() if copy and out is self else out

    def clone(self) -> Tensor:
        """A copy of the data that stays in the graph (the gradient passes through unchanged)."""
        return _apply1(ops.COPY, self, {"device": device_of(self.data)})

    @property
    def is_cuda(self) -> bool:
        """Whether the data is on the GPU."""
        return device_of(self.data).type == "cuda"

    def cpu(self) -> Tensor:
        """This tensor on the CPU (itself when already there)."""
        return self.to("cpu")

    def cuda(self) -> Tensor:
        """This tensor on the GPU (needs CuPy: `pip install 'tinygrad_edu[gpu]'`)."""
        return self.to("cuda")

    def detach(self) -> Tensor:
        """The same data, outside the graph."""
        return _leaf(self.data)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if type(self.data) is not np.ndarray:  # a GPU tensor: a host copy (for plotting, printing)
            return np.asarray(to_host(self.data), dtype=dtype)
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        """An integer tensor of one element used as an index (`seq[t]`, `range(t)`), as in PyTorch."""
        if self.dtype.kind not in "iu":
            raise TypeError(f"only an integer Tensor of one element can be an index, this one is {self.dtype} "
                            f"of shape {self.shape}")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        """A 0-d tensor formats as its number (`f"{loss:.3f}"`), as in PyTorch; others only as str()."""
        if self.data.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __contains__(self, element: Any) -> bool:
        """`v in t`: whether any element equals v (PyTorch's meaning, not a search of the rows)."""
        found = self == element
        if not isinstance(found, Tensor):
            raise TypeError(f"in: a Tensor holds numbers; cannot look for a {type(element).__name__} in it")
        return bool(found.any())

    def __bool__(self) -> bool:
        if self.data.size != 1:  # NumPy's rule: only one-element tensors have a truth value
            raise ValueError(
                f"bool: the truth value of a Tensor of shape {self.shape} is ambiguous (only a one-element "
                "Tensor has one); use (t > 0).any() or .all() on the comparison's array"
            )
        return bool(self.data)

    def __repr__(self) -> str:
        body = np.array2string(to_host(self.data), separator=", ", prefix="Tensor(", threshold=20, edgeitems=2)
        extra = [f"dtype={self.dtype}"] if self.dtype != np.float64 else []
        if type(self.data) is not np.ndarray:
            extra.append(f"device='{self.device}'")
        if self.op is not None:
            extra.append(f"op={self.op.name}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        if self.label:
            extra.append(f"label={self.label!r}")
        return f"Tensor({body}{''.join(', ' + e for e in extra)})"

    # ---- PyTorch's names for what is here under NumPy's (numel is size, dim is ndim, neg is -x), and
    # its is_leaf, requires_grad_, matrix products that refuse to broadcast, and new_* factories
    @property
    def is_leaf(self) -> bool:
        """Whether this tensor is a leaf of the graph: one that requires no grad, or one made by the user
        (by no op), as in PyTorch. backward() fills .grad of the leaves that require grad.

        >>> x = Tensor([1.0], requires_grad=True); x.is_leaf, (x * 2).is_leaf, Tensor([1.0]).is_leaf
        (True, False, True)
        """
        return not self.requires_grad or self.op is None

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set requires_grad in place; returns self. Float tensors only; and only a leaf may give it up, as
        in PyTorch. A module's parameter given False stays one, frozen (see `nn.Module.requires_grad_`).

        >>> Tensor([1.0]).requires_grad_()
        Tensor([1.], requires_grad=True)
        """
        if requires_grad and self.dtype.kind != "f":
            raise RuntimeError(f"requires_grad_: only floating-point tensors can require grad, this one of shape "
                               f"{self.shape} is {self.dtype} (make it with dtype=np.float64)")
        return super().requires_grad_(requires_grad)

    def numel(self) -> int:
        """The number of elements (`size`)."""
        return self.data.size

    nelement = numel

    def dim(self) -> int:
        """The number of dims (`ndim`)."""
        return self.data.ndim

    ndimension = dim

    def element_size(self) -> int:
        """Bytes per element: 8 for float64, 4 for float32."""
        return self.data.dtype.itemsize

    def neg(self) -> Tensor:
        """-x elementwise (one "neg" node)."""
        return -self

    negative = neg

    def matmul(self, other: Any) -> Tensor:
        """self @ other: matrix products that broadcast over leading dims (1-D operands are vectors)."""
        return self @ other

    def mm(self, mat2: Any) -> Tensor:
        """The product of two matrices, (n, k) @ (k, m); unlike matmul, no other shapes.

        >>> Tensor([[1.0, 2.0]]).mm(Tensor([[3.0], [4.0]]))
        Tensor([[11.]])
        """
        self._check_matrix_product(mat2, 2, "mm")
        return self @ mat2

    def bmm(self, mat2: Any) -> Tensor:
        """Batches of matrix products, (b, n, k) @ (b, k, m), with equal batch sizes (no broadcasting)."""
        self._check_matrix_product(mat2, 3, "bmm")
        return self @ mat2

    def dot(self, other: Any) -> Tensor:
        """The dot product of two 1-D tensors of the same size (one matmul node; matmul takes other shapes).

        >>> Tensor([1.0, 2.0]).dot(Tensor([3.0, 4.0]))
        Tensor(11.)
        """
        a, b = self.shape, np.shape(_raw(other))
        if len(a) != 1 or len(b) != 1 or a != b:
            raise RuntimeError(f"dot: expected two 1-D tensors of the same size, got shapes {a} and {b}")
        return self @ other

    def outer(self, vec2: Any) -> Tensor:
        """The outer product of two vectors: out[i, j] = self[i] * vec2[j] (a column times a row: one
        reshape and one mul node).

        >>> Tensor([1.0, 2.0]).outer(Tensor([3.0, 4.0, 5.0]))
        Tensor([[ 3.,  4.,  5.],
                [ 6.,  8., 10.]])
        """
        a, b = self.shape, np.shape(_raw(vec2))
        if len(a) != 1 or len(b) != 1:
            raise RuntimeError(f"outer: expected two 1-D tensors, got shapes {a} and {b}")
        return self.reshape(-1, 1) * vec2

    def _check_matrix_product(self, other: Any, ndim: int, name: str) -> None:
        a, b = self.shape, np.shape(_raw(other))
        if len(a) != ndim or len(b) != ndim:
            raise RuntimeError(f"{name}: expected two {ndim}-D tensors, got shapes {a} and {b} (matmul takes other shapes)")
        if a[:-2] != b[:-2] or a[-1] != b[-2]:
            what = "batch sizes differ" if a[:-2] != b[:-2] else f"{a[-1]} columns against {b[-2]} rows"
            raise RuntimeError(f"{name}: shapes {a} and {b} cannot be multiplied ({what})")

    def t(self) -> Tensor:
        """The transpose of a matrix (a tensor of 0 or 1 dims as it is, in a new node).

        >>> Tensor([[1.0, 2.0]]).t().shape
        (2, 1)
        """
        if self.ndim > 2:
            raise RuntimeError(f"t: expects a tensor of at most 2 dims, got shape {self.shape}; .mT swaps the last two")
        return self.transpose()

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped: a batch of matrices, each transposed."""
        if self.ndim < 2:
            raise RuntimeError(f"mT: expects a matrix or a batch of matrices, got shape {self.shape}")
        return self.swapaxes(-2, -1)

    def new_tensor(self, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """A new leaf holding a copy of `data`, of this tensor's dtype and device unless given.

        >>> Tensor(np.zeros(2, dtype=np.float32)).new_tensor([1, 2])
        Tensor([1., 2.], dtype=float32)
        """
        return Tensor(_raw(data), requires_grad=requires_grad, dtype=self.dtype if dtype is None else dtype,
                      device=self.device if device is None else device)

    def new_full(self, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        """A tensor of `size` filled with `fill_value`, of this tensor's dtype and device unless given."""
        shape = _shape((size,) if isinstance(size, numbers.Integral) else (tuple(size),))
        dtype = self.dtype if dtype is None else dtype
        return self.new_tensor(np.full(shape, fill_value, dtype=dtype), dtype=dtype, device=device, requires_grad=requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """Zeros of `size` (`new_zeros(2, 3)` or `new_zeros((2, 3))`), of this tensor's dtype and device unless given."""
        return self.new_full(_shape(size), 0, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """Ones of `size`, of this tensor's dtype and device unless given."""
        return self.new_full(_shape(size), 1, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """A tensor of `size` whose values are not to be relied on (PyTorch leaves them uninitialised;
        here they are zeros), of this tensor's dtype and device unless given."""
        return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    # ---- elementwise arithmetic (NumPy broadcasting)
    __add__, __radd__ = _binary_operator(ops.ADD), _reflected_operator(ops.ADD)
    __sub__, __rsub__ = _binary_operator(ops.SUB), _reflected_operator(ops.SUB)
    __mul__, __rmul__ = _binary_operator(ops.MUL), _reflected_operator(ops.MUL)
    __truediv__, __rtruediv__ = _binary_operator(ops.DIV), _reflected_operator(ops.DIV)
    __pow__, __rpow__ = _binary_operator(ops.POW), _reflected_operator(ops.POW)
    __matmul__, __rmatmul__ = _binary_operator(ops.MATMUL), _reflected_operator(ops.MATMUL)

    def __neg__(self) -> Tensor:
        return _apply1(ops.NEG, self)

    def __pos__(self) -> Tensor:
        return self

    def exp(self) -> Tensor:
        """`e**x` elementwise."""
        return _apply1(ops.EXP, self)

    def log(self) -> Tensor:
        """The natural logarithm, elementwise: -inf at 0 and nan below, with NumPy's warning, as in
        PyTorch (masked computations rely on it; `tg.detect_anomaly()` names the op that made them)."""
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
        return _apply1(ops.SOFTMAX, self, {"axis": _softmax_axis(self, axis, "softmax")})

    def log_softmax(self, axis: int = -1) -> Tensor:
        """x - log(sum(exp(x))) along axis, computed without overflow."""
        return _apply1(ops.LOG_SOFTMAX, self, {"axis": _softmax_axis(self, axis, "log_softmax")})

    # ---- elementwise math (PyTorch's names; rounding is piecewise constant: its gradient is 0)
    def sqrt(self) -> Tensor:
        """√x elementwise (d/dx = 1/(2√x)); nan for negative elements, as log (IEEE, NumPy's warning)."""
        return _apply1(ops.SQRT, self)

    def rsqrt(self) -> Tensor:
        """1/√x elementwise: one power node, x ** -0.5."""
        return self ** -0.5

    def abs(self) -> Tensor:
        """|x| elementwise (d/dx = sign(x): 0 at the kink, as in PyTorch)."""
        return _apply1(ops.ABS, self)

    __abs__ = abs

    def sign(self) -> Tensor:
        """-1, 0 or 1 elementwise (gradient 0)."""
        return _apply1(ops.SIGN, self)

    def sin(self) -> Tensor:
        """The sine, elementwise."""
        return _apply1(ops.SIN, self)

    def cos(self) -> Tensor:
        """The cosine, elementwise."""
        return _apply1(ops.COS, self)

    def log2(self) -> Tensor:
        """The base-2 logarithm, elementwise (-inf at 0, nan below, as log)."""
        return _apply1(ops.LOG2, self)

    def log1p(self) -> Tensor:
        """log(1 + x) elementwise, exact also for tiny x (d/dx = 1/(1+x)); -inf at -1, nan below, as log."""
        return _apply1(ops.LOG1P, self)

    def expm1(self) -> Tensor:
        """exp(x) - 1 elementwise, exact also for tiny x (d/dx = exp(x))."""
        return _apply1(ops.EXPM1, self)

    def square(self) -> Tensor:
        """x ** 2 elementwise (one power node)."""
        return self**2

    def reciprocal(self) -> Tensor:
        """1 / x elementwise (one division node)."""
        return 1 / self

    # ---- the operators' method forms, with PyTorch's names: the same one node as the operator
    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self + alpha·other (`x.add(y)` is `x + y`)."""
        return self + _times_alpha(other, alpha, self, "add")

    def sub(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self - alpha·other (`x.sub(y)` is `x - y`)."""
        return self - _times_alpha(other, alpha, self, "sub")

    subtract = sub

    def mul(self, other: Any) -> Tensor:
        """self · other elementwise (`x * y`)."""
        return self * other

    multiply = mul

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """self / other elementwise; rounding_mode "floor" rounds the quotient down (`x // y`), "trunc"
        towards 0. The rounded quotients are not differentiable here: a backward through them raises
        (PyTorch gives them gradient 0)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return self // other
        if rounding_mode == "trunc":  # floor(q) for q >= 0, -floor(-q) below: exact, as // is
            with no_grad():
                negative = (self / other) < 0
            return where(negative, -((-self) // other), self // other)
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")

    divide = div

    def true_divide(self, other: Any) -> Tensor:
        """self / other elementwise, a float quotient also of integers."""
        return self / other

    def pow(self, exponent: Any) -> Tensor:
        """self ** exponent elementwise (`x.pow(2)` is `x ** 2`)."""
        return self**exponent

    def multinomial(self, num_samples: int, replacement: bool = False, *,
                    rng: np.random.Generator | int | None = None) -> Tensor:
        """Indices drawn with probabilities proportional to this tensor's weights: `tg.multinomial`."""
        return multinomial(self, num_samples, replacement, rng=rng)

    def isnan(self) -> Tensor:
        """True where x is NaN: a boolean tensor."""
        return _leaf(_result(np.isnan(self.data)))

    def isinf(self) -> Tensor:
        """True where x is +inf or -inf: a boolean tensor."""
        return _leaf(_result(np.isinf(self.data)))

    def isfinite(self) -> Tensor:
        """True where x is neither NaN nor infinite: a boolean tensor."""
        return _leaf(_result(np.isfinite(self.data)))

    def erf(self) -> Tensor:
        """The error function 2/√π ∫₀ˣ exp(-t²) dt, elementwise (d/dx = 2/√π·exp(-x²)).

        >>> Tensor([0.0, 1.0]).erf()
        Tensor([0.        , 0.84270079])
        """
        return _apply1(ops.ERF, self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 (PyTorch's names)
        """x limited to [min, max] (either may be None; numbers or tensors). The gradient is 1 where
        min <= x <= max, bounds included, as in PyTorch; with tensor bounds, min and max get it where
        the output took their value.

        >>> Tensor([-2.0, 0.5, 3.0]).clamp(min=-1.0, max=1.0)
        Tensor([-1. ,  0.5,  1. ])
        """
        if min is None and max is None:
            raise ValueError(f"clamp: give min, max or both (both are None) for the tensor of shape {self.shape}")
        if _is_bound_array(min) or _is_bound_array(max):  # tensor bounds: three inputs, gradients to each
            low = _as_tensor(-np.inf if min is None else min, self, ops.CLIP_TENSOR)
            high = _as_tensor(np.inf if max is None else max, self, ops.CLIP_TENSOR)
            return _apply(ops.CLIP_TENSOR, (self, low, high))
        for name, bound in (("min", min), ("max", max)):
            if bound is not None and not isinstance(bound, numbers.Real):
                raise TypeError(f"clamp: {name} must be a number, a Tensor or None, got {type(bound).__name__}")
        return _apply1(ops.CLIP, self, {"min": min, "max": max})

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        """The larger of x and other, elementwise (broadcasting); a tie splits the gradient half and half."""
        return _binary_operator(ops.MAXIMUM)(self, other)

    def minimum(self, other: Any) -> Tensor:
        """The smaller of x and other, elementwise (broadcasting); a tie splits the gradient half and half."""
        return _binary_operator(ops.MINIMUM)(self, other)

    def round(self, decimals: int = 0) -> Tensor:
        """Rounded to `decimals` places, halves to even (gradient 0)."""
        return _apply1(ops.ROUND, self, {"decimals": int(decimals)} if decimals else None)

    def floor(self) -> Tensor:
        """The largest whole number <= x, elementwise (gradient 0)."""
        return _apply1(ops.FLOOR, self)

    def ceil(self) -> Tensor:
        """The smallest whole number >= x, elementwise (gradient 0)."""
        return _apply1(ops.CEIL, self)

    # x % y takes the sign of the divisor (torch.remainder, Python, NumPy): d/dx = 1, d/dy = -floor(x/y).
    # x // y rounds down; like PyTorch it has no derivative: a backward through it raises
    __mod__, __rmod__ = _binary_operator(ops.REMAINDER), _reflected_operator(ops.REMAINDER)
    __floordiv__, __rfloordiv__ = _binary_operator(ops.FLOOR_DIVIDE), _reflected_operator(ops.FLOOR_DIVIDE)

    def remainder(self, other: Any) -> Tensor:
        """x % other: x - floor(x / other) * other, with the sign of the divisor."""
        return self % other

    def floor_divide(self, other: Any) -> Tensor:
        """x // other, rounded down (not differentiable: a backward through it raises, as in PyTorch)."""
        return self // other

    # ---- comparisons and logic: boolean tensors made from the data, outside the graph (as in PyTorch)
    __lt__ = _comparison(np.less, "lt")
    __le__ = _comparison(np.less_equal, "le")
    __gt__ = _comparison(np.greater, "gt")
    __ge__ = _comparison(np.greater_equal, "ge")
    __eq__ = _comparison(np.equal, "eq")
    __ne__ = _comparison(np.not_equal, "ne")
    __hash__ = Node.__hash__  # by identity, as before (and as in PyTorch): the engine keys dicts by node

    def lt(self, other: Any) -> Tensor:
        """x < other, elementwise: a boolean tensor."""
        return self < other

    def le(self, other: Any) -> Tensor:
        """x <= other, elementwise: a boolean tensor."""
        return self <= other

    def gt(self, other: Any) -> Tensor:
        """x > other, elementwise: a boolean tensor."""
        return self > other

    def ge(self, other: Any) -> Tensor:
        """x >= other, elementwise: a boolean tensor."""
        return self >= other

    def eq(self, other: Any) -> Tensor:
        """x == other, elementwise: a boolean tensor.

        >>> Tensor([1.0, 2.0]).eq(2.0)
        Tensor([False,  True], dtype=bool)
        """
        return self == other

    def ne(self, other: Any) -> Tensor:
        """x != other, elementwise: a boolean tensor."""
        return self != other

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        """|x - other| <= atol + rtol·|other|, elementwise: a boolean tensor."""
        return _leaf(_result(np.isclose(self.data, _operand_on(other, self), rtol=rtol, atol=atol, equal_nan=equal_nan)))

    def logical_not(self) -> Tensor:
        """True where x is 0 (or False), elementwise: a boolean tensor."""
        return _leaf(np.logical_not(self.data))

    def logical_and(self, other: Any) -> Tensor:
        """x and other (nonzero is true), elementwise: a boolean tensor."""
        return _leaf(_result(np.logical_and(self.data, _operand_on(other, self))))

    def logical_or(self, other: Any) -> Tensor:
        """x or other (nonzero is true), elementwise: a boolean tensor."""
        return _leaf(_result(np.logical_or(self.data, _operand_on(other, self))))

    def __invert__(self) -> Tensor:
        if self.dtype.kind == "b":
            return _leaf(np.logical_not(self.data))
        if self.dtype.kind in "iu":
            return _leaf(np.invert(self.data))
        raise TypeError(f"~ is defined for boolean and integer tensors only, this one is {self.dtype} "
                        "(x.logical_not() gives x == 0)")

    __and__ = __rand__ = _bitwise(np.bitwise_and, "&")
    __or__ = __ror__ = _bitwise(np.bitwise_or, "|")
    __xor__ = __rxor__ = _bitwise(np.bitwise_xor, "^")

    # ---- in-place changes: tracked, so that a graph that saved this tensor refuses a later backward
    def __setitem__(self, index: Any, value: Any) -> None:
        """t[index] = value, in place (a leaf only; while recording, only one that needs no gradient)."""
        self._check_in_place("t[...] = v")
        try:
            self.data[index] = _operand_on(value, self)
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
        _, y = _weak_arrays(self.data, _operand_on(other, self))  # computed in this tensor's dtype, as in PyTorch
        try:
            op.forward(self.data, y, out=self.data, casting="same_kind")
        except (ValueError, TypeError) as e:
            raise _mixed_devices(symbol, [self.data, y]) or type(e)(
                f"{symbol} on a tensor of shape {self.shape} and {np.shape(y)}: {e}") from None
        return self

    # PyTorch's in-place methods: the out-of-place result written into this tensor's array. As for `+=`:
    # a leaf, or a constant; while recording, only one that needs no gradient (an optimizer's update
    # inside `tg.no_grad()`); a graph that saved the tensor refuses a later backward.
    def add_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self += alpha·other, in place: `p.add_(g, alpha=-lr)`."""
        return self._write_in_place("add_", lambda: self.add(other, alpha=alpha))

    def sub_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self -= alpha·other, in place."""
        return self._write_in_place("sub_", lambda: self.sub(other, alpha=alpha))

    def mul_(self, other: Any) -> Tensor:
        """self *= other, in place."""
        return self._write_in_place("mul_", lambda: self * other)

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """self /= other, in place (rounding_mode as in div)."""
        return self._write_in_place("div_", lambda: self.div(other, rounding_mode=rounding_mode))

    def pow_(self, exponent: Any) -> Tensor:
        """self **= exponent, in place."""
        return self._write_in_place("pow_", lambda: self**exponent)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 (PyTorch's names)
        """self limited to [min, max], in place."""
        return self._write_in_place("clamp_", lambda: self.clamp(min, max))

    clip_ = clamp_

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        """value where mask is true, in place."""
        return self._write_in_place("masked_fill_", lambda: self.masked_fill(mask, value))

    def fill_(self, value: Any) -> Tensor:
        """Every element set to value (a number or a 0-d tensor), in place."""
        if np.ndim(_raw(value)) != 0:
            raise RuntimeError(f"fill_: value must be a number or a 0-d tensor, got shape {np.shape(_raw(value))}")
        return self._write_in_place("fill_", lambda: self.new_full(self.shape, to_host(_raw(value)).item()))

    def zero_(self) -> Tensor:
        """Every element set to 0, in place."""
        return self.fill_(0)

    def copy_(self, src: Any) -> Tensor:
        """src's values (broadcast to this shape, cast to this dtype, from any device) written into this
        tensor, in place: `target.copy_(source)`."""
        if isinstance(src, Tensor) and src.requires_grad and _grad_mode.recording:
            raise RuntimeError(_UNRECORDED.format(name="copy_", alternative="x = src.clone()"))
        values = src.data if isinstance(src, Tensor) else src
        values = move_to(values if is_array(values) else np.asarray(values), self.device)
        try:
            fits = np.broadcast_shapes(np.shape(values), self.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"copy_: a source of shape {np.shape(values)} does not broadcast to this tensor's "
                               f"shape {self.shape}")
        self._check_in_place("x.copy_(src)")
        self.data[...] = values
        return self

    def _write_in_place(self, name: str, result_of: Callable[[], Tensor]) -> Tensor:
        if self.op is not None or (self.requires_grad and _grad_mode.recording):
            self._check_in_place(f"x.{name}(...)")  # refuses: a graph needs this tensor, or it is being trained
        result = result_of()
        if result.requires_grad:  # an operand needs a gradient, which a write into this array would lose
            raise RuntimeError(_UNRECORDED.format(name=name, alternative=f"x = x.{name.rstrip('_')}(...)"))
        if result.shape != self.shape:
            raise RuntimeError(f"{name}: the result's shape {result.shape} does not fit this tensor's shape "
                               f"{self.shape} (an in-place op does not broadcast its target)")
        if not np.can_cast(result.dtype, self.dtype, "same_kind"):
            raise RuntimeError(f"{name}: the result's dtype {result.dtype} can't be cast to this tensor's {self.dtype}")
        self._check_in_place(f"x.{name}(...)")  # recorded only now: a refused change leaves saved graphs usable
        self.data[...] = result.data
        return self

    def _check_in_place(self, what: str) -> None:
        if self.requires_grad and _grad_mode.recording and self.op is None:  # (mark_modified refuses the others)
            raise RuntimeError(
                f"{what}: this leaf requires grad, so changing it in place while recording would hide the "
                "change from the graph; do it inside `with tg.no_grad():` (as optimizers do)"
            )
        mark_modified(self, what)

    # ---- reductions: `axis`/`keepdims` as in NumPy, or `dim`/`keepdim` as in PyTorch
    def sum(self, axis: Axes = None, keepdims: bool = False, *, dim: Axes = None, keepdim: bool | None = None) -> Tensor:
        """The sum over `axis` (all axes when None), keeping reduced axes as length 1 with `keepdims`."""
        return _reduce(ops.SUM, self, *_torch_spelling(axis, keepdims, dim, keepdim))

    def mean(self, axis: Axes = None, keepdims: bool = False, *, dim: Axes = None, keepdim: bool | None = None) -> Tensor:
        """The mean over `axis` (all axes when None), keeping reduced axes as length 1 with `keepdims`."""
        return _reduce(ops.MEAN, self, *_torch_spelling(axis, keepdims, dim, keepdim))

    def max(self, axis: Axes = None, keepdims: bool = False, *, dim: Axes = None, keepdim: bool | None = None) -> Tensor:
        """The largest element(s); where several tie, they share the gradient equally.

        Unlike PyTorch's `x.max(dim)`, this gives the values only; `x.argmax(dim)` gives the indices, and
        `tg.max(x, dim)` both, as torch.max does."""
        return _reduce(ops.MAX, self, *_torch_spelling(axis, keepdims, dim, keepdim))

    def min(self, axis: Axes = None, keepdims: bool = False, *, dim: Axes = None, keepdim: bool | None = None) -> Tensor:
        """The smallest element(s); where several tie, they share the gradient equally (values only, as max)."""
        return _reduce(ops.MIN, self, *_torch_spelling(axis, keepdims, dim, keepdim))

    amax, amin = max, min  # PyTorch's names for the reductions that give values only

    def prod(self, axis: Axes = None, keepdims: bool = False, *, dim: Axes = None, keepdim: bool | None = None) -> Tensor:
        """The product over `axis`; its gradient is right also where elements are 0.

        >>> Tensor([[1.0, 2.0], [3.0, 4.0]]).prod(axis=1)
        Tensor([ 2., 12.])
        """
        return _reduce(ops.PROD, self, *_torch_spelling(axis, keepdims, dim, keepdim))

    def logsumexp(self, dim: Axes = None, keepdim: bool = False, *, axis: Axes = None, keepdims: bool | None = None) -> Tensor:
        """log(sum(exp(x))) over `dim`, computed without overflow (PyTorch's argument order).

        >>> round(Tensor([1000.0, 1000.0]).logsumexp().item(), 4)
        1000.6931
        """
        return _reduce(ops.LOGSUMEXP, self, *_torch_spelling(dim, keepdim, axis, keepdims))

    def var(self, dim: Axes = None, *, correction: float = 1, keepdim: bool = False, unbiased: bool | None = None,
            axis: Axes = None, keepdims: bool | None = None) -> Tensor:
        """The variance over `dim`: sum((x - mean)²) / (N - correction), PyTorch's default correction=1
        (unbiased); correction=0 (or unbiased=False) divides by N, as NumPy's default does.

        >>> Tensor([1.0, 2.0, 3.0, 4.0]).var().item(), Tensor([1.0, 2.0, 3.0, 4.0]).var(correction=0).item()
        (1.6666666666666667, 1.25)
        """
        return _variance(self, *_torch_spelling(dim, keepdim, axis, keepdims), correction, unbiased, "var")

    def std(self, dim: Axes = None, *, correction: float = 1, keepdim: bool = False, unbiased: bool | None = None,
            axis: Axes = None, keepdims: bool | None = None) -> Tensor:
        """The standard deviation over `dim`: var(...) ** 0.5, with the same `correction`."""
        return _variance(self, *_torch_spelling(dim, keepdim, axis, keepdims), correction, unbiased, "std") ** 0.5

    def norm(self, p: float | str = 2, dim: Axes = None, keepdim: bool = False) -> Tensor:
        """The p-norm over `dim` (all elements when None): (sum |x|^p)^(1/p); p may be inf or "fro" (= 2).

        At the zero vector the 2-norm has no derivative: its gradient there is nan.

        >>> Tensor([3.0, -4.0]).norm().item(), Tensor([3.0, -4.0]).norm(1).item()
        (5.0, 7.0)
        """
        axes, keep = _axes(self, dim, "norm"), bool(keepdim)
        if p == "fro" or p == 2:
            return (self**2).sum(axes, keepdims=keep) ** 0.5
        if p == 1:
            return abs(self).sum(axes, keepdims=keep)
        if p == np.inf:
            return abs(self).max(axes, keepdims=keep)
        if isinstance(p, numbers.Real) and not isinstance(p, bool) and p > 0:
            return (abs(self) ** p).sum(axes, keepdims=keep) ** (1 / p)
        raise ValueError(f"norm: p must be a positive number, inf or 'fro', got {p!r}")

    def cumsum(self, dim: int, *, axis: int | None = None) -> Tensor:
        """Running sums along `dim`: out[..., i] = x[..., 0] + ... + x[..., i].

        >>> Tensor([1.0, 2.0, 3.0]).cumsum(0)
        Tensor([1., 3., 6.])
        """
        return _apply1(ops.CUMSUM, self, {"axis": _axis(self, dim if axis is None else axis, "cumsum")})

    # ---- reductions that give indices or booleans: data only, nothing is recorded
    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the largest element along `dim` (of the flattened tensor when None); the first on ties."""
        return _index_reduction(np.argmax, self, dim, keepdim, "argmax")

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the smallest element along `dim` (of the flattened tensor when None); the first on ties."""
        return _index_reduction(np.argmin, self, dim, keepdim, "argmin")

    # ---- sorting and choosing along a dim: the indices come from the data (int64, outside the graph),
    # the values are gathered at them, so the gradient flows back to each element picked. Ties keep
    # their order (NumPy's stable sort), also where torch, sorting unstably, may order them otherwise.
    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        """The indices that sort the tensor along `dim`, smallest first (largest first with
        `descending`). Always stable here: equal elements keep their order; NaN counts as the
        largest, as in torch.

        >>> Tensor([3.0, 1.0, 2.0]).argsort()
        Tensor([1, 2, 0], dtype=int64)
        """
        return _leaf(_sort_order(self, dim, descending, "argsort").reshape(self.shape))

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesAndIndices:
        """(values, indices): the elements sorted along `dim` and where each came from, as torch.sort
        (stable, as argsort). The values are the input gathered at the indices: each gets the gradient
        of the place it moved to.

        >>> x = Tensor([3.0, 1.0, 2.0], requires_grad=True)
        >>> values, indices = x.sort(descending=True); values, indices
        (Tensor([3., 2., 1.], op=getitem), Tensor([0, 2, 1], dtype=int64))
        >>> (values * Tensor([1.0, 10.0, 100.0])).sum().backward(); x.grad
        array([  1., 100.,  10.])
        """
        return _pick(self, _sort_order(self, dim, descending, "sort"), dim, "sort")

    def topk(self, k: int, dim: int | None = -1, largest: bool = True, sorted: bool = True) -> ValuesAndIndices:
        """(values, indices) of the k largest elements along `dim` (the smallest with largest=False),
        in sorted order (also with sorted=False, for which torch promises no order). Of equal
        elements the first come first, as in a stable sort; torch may pick others.

        >>> Tensor([1.0, 5.0, 3.0, 4.0]).topk(2)
        ValuesAndIndices(values=Tensor([5., 4.]), indices=Tensor([1, 3], dtype=int64))
        """
        dim = -1 if dim is None else dim
        d = _dim(self, dim, "topk")
        n = self.shape[d] if self.ndim else 1
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or not 0 <= k <= n:
            raise RuntimeError(f"topk: k={k!r} is out of range for dim {d} of size {n} (shape {self.shape}); "
                               f"expected 0 <= k <= {n}")
        order = _sort_order(self, dim, largest, "topk")
        return _pick(self, order[_along(d, slice(0, int(k)))], dim, "topk")

    def all(self, dim: Axes = None, keepdim: bool = False) -> Tensor:
        """Whether every element (along `dim`) is nonzero, as a boolean tensor."""
        axes, keep = _torch_spelling(dim, keepdim, None, None)
        return _leaf(_result(np.all(self.data, axis=_axes(self, axes, "all"), keepdims=keep)))

    def any(self, dim: Axes = None, keepdim: bool = False) -> Tensor:
        """Whether some element (along `dim`) is nonzero, as a boolean tensor."""
        axes, keep = _torch_spelling(dim, keepdim, None, None)
        return _leaf(_result(np.any(self.data, axis=_axes(self, axes, "any"), keepdims=keep)))

    # ---- shape
    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in a new shape: `t.reshape(2, 3)` or `t.reshape((2, 3))`, -1 allowed once."""
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
            shape = tuple(shape[0])
        return _apply1(ops.RESHAPE, self, {"shape": tuple(int(n) for n in shape)})

    def transpose(self, *axes: Any) -> Tensor:
        """Two dims: PyTorch's `transpose(dim0, dim1)`, those two exchanged (`k.transpose(-2, -1)`; on a
        matrix both `transpose(0, 1)` and `transpose(1, 0)` give its transpose). Otherwise NumPy's: a
        permutation of all the axes, one by one or as a tuple (reversed when none are given).

        >>> Tensor(np.zeros((2, 3, 4))).transpose(-2, -1).shape
        (2, 4, 3)
        >>> Tensor(np.zeros((2, 3, 4))).transpose(1, 2, 0).shape
        (3, 4, 2)
        """
        if len(axes) == 2 and isinstance(axes[0], numbers.Integral) and isinstance(axes[1], numbers.Integral):
            d0, d1 = _dim(self, axes[0], "transpose"), _dim(self, axes[1], "transpose")
            return self.reshape(()) if self.ndim == 0 else self.swapaxes(d0, d1)
        if len(axes) == 1 and not isinstance(axes[0], numbers.Integral):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        if sorted(_axis(self, a, "transpose") for a in axes) != list(range(self.ndim)):
            raise RuntimeError(f"transpose: axes {axes} are not a permutation of the {self.ndim} axes of shape {self.shape}")
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

    # ---- movement and indexing, with PyTorch's names and conventions (dims count from the end when
    # negative; a bad dim is an IndexError). Composites of reshape, transpose, broadcast_to and
    # getitem, except where and scatter, which are ops of their own.
    def view(self, *shape: Any) -> Tensor:
        """The same elements in a new shape (a reshape here: every Tensor is contiguous)."""
        shape = _sizes(shape)
        known = math.prod(n for n in shape if n != -1)
        free = shape.count(-1)
        if free > 1 or (self.size != known if free == 0 else known == 0 or self.size % known != 0):
            raise RuntimeError(f"view: shape {shape} is invalid for a tensor of shape {self.shape} ({self.size} elements)")
        return self.reshape(shape)

    def view_as(self, other: Tensor) -> Tensor:
        """self.view(other.shape)."""
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        """self.reshape(other.shape)."""
        return self.reshape(other.shape)

    def contiguous(self) -> Tensor:
        """self: a Tensor's array is always one block of memory as far as the graph is concerned."""
        return self

    def squeeze(self, dim: int | Sequence[int] | None = None) -> Tensor:
        """Dims of size 1 removed: all of them, or those among `dim` (others are left alone, as in torch).

        >>> Tensor(np.zeros((2, 1, 3, 1))).squeeze(1).shape
        (2, 3, 1)
        """
        dims = range(self.ndim) if dim is None else _dims(self, dim, "squeeze")
        return self.reshape(tuple(n for d, n in enumerate(self.shape) if not (d in dims and n == 1)))

    def unsqueeze(self, dim: int) -> Tensor:
        """A new dim of size 1 inserted at `dim` (in [-ndim - 1, ndim]).

        >>> Tensor(np.zeros((2, 3))).unsqueeze(-1).shape
        (2, 3, 1)
        """
        d = _dim(self, dim, "unsqueeze", extra=1)
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Dims start_dim..end_dim (inclusive) merged into one.

        >>> Tensor(np.zeros((2, 3, 4))).flatten(1).shape
        (2, 12)
        """
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _dim(self, start_dim, "flatten"), _dim(self, end_dim, "flatten")
        if start > end:
            raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {self.shape}")
        shape = self.shape
        return self.reshape(shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])

    def permute(self, *dims: Any) -> Tensor:
        """The dims in a new order: out's dim i is self's dim dims[i].

        >>> Tensor(np.zeros((2, 3, 4))).permute(2, 0, 1).shape
        (4, 2, 3)
        """
        dims = _sizes(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute: {len(dims)} dims {dims} given for a tensor of shape {self.shape} "
                               f"({self.ndim} dims)")
        return _apply1(ops.TRANSPOSE, self, {"axes": _dims(self, dims, "permute")})

    def expand(self, *sizes: Any) -> Tensor:
        """Dims of size 1 repeated (without copying in torch) to `sizes`; -1 keeps a size, and new
        leading dims may be added. The gradient sums back over the repeats.

        >>> Tensor(np.zeros((3, 1))).expand(2, -1, 4).shape
        (2, 3, 4)
        """
        sizes = _sizes(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: {len(sizes)} sizes {sizes} are fewer than the dims of shape {self.shape}")
        target = list(sizes)
        for d, n in enumerate(sizes):
            have = self.shape[d - lead] if d >= lead else None
            if n == -1 and have is not None:
                target[d] = have
            elif n < 0 or (have is not None and have != 1 and have != n):
                raise RuntimeError(f"expand: cannot expand shape {self.shape} to {sizes}: size {n} at dim {d} "
                                   + (f"does not match {have}" if have is not None else "is negative")
                                   + " (only dims of size 1 can grow)")
        return self.broadcast_to(tuple(target))

    def expand_as(self, other: Tensor) -> Tensor:
        """self.expand(other.shape)."""
        return self.expand(other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        """The whole tensor repeated sizes[d] times along dim d, like np.tile (not np.repeat): extra
        leading sizes add dims.

        >>> Tensor([1.0, 2.0]).repeat(2, 2)
        Tensor([[1., 2., 1., 2.],
                [1., 2., 1., 2.]])
        """
        sizes = _sizes(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"repeat: {len(sizes)} sizes {sizes} are fewer than the dims of shape {self.shape}")
        if any(r < 0 for r in sizes):
            raise ValueError(f"repeat: sizes must not be negative, got {sizes}")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        pairs = tuple(p for n in shape for p in (1, n))  # (1, n0, 1, n1, ...): a length-1 dim before each
        tiled = tuple(p for r, n in zip(sizes, shape) for p in (r, n))
        return self.reshape(pairs).broadcast_to(tiled).reshape(tuple(r * n for r, n in zip(sizes, shape)))

    def tile(self, *dims: Any) -> Tensor:
        """self.repeat(dims), with dims padded with leading 1s to self's number of dims."""
        dims = _sizes(dims)
        return self.repeat((1,) * (self.ndim - len(dims)) + dims)

    def repeat_interleave(self, repeats: Any, dim: int | None = None) -> Tensor:
        """Each element repeated `repeats` times along dim (like np.repeat; flattened first when dim
        is None); repeats is an int or one count per element.

        >>> Tensor([1.0, 2.0]).repeat_interleave(2)
        Tensor([1., 1., 2., 2.])
        """
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else _dim(self, dim, "repeat_interleave")
        counts = np.asarray(_raw(repeats))
        if counts.dtype.kind not in "iu":
            raise TypeError(f"repeat_interleave: repeats must be integers, got dtype {counts.dtype}")
        if (counts < 0).any():
            raise ValueError(f"repeat_interleave: repeats must not be negative, got {counts.tolist()}")
        n = x.shape[d]
        if counts.size == 1:
            r = int(counts.reshape(()))
            shape = x.shape[:d + 1] + (r,) + x.shape[d + 1:]
            return x.unsqueeze(d + 1).broadcast_to(shape).reshape(x.shape[:d] + (n * r,) + x.shape[d + 1:])
        if counts.ndim != 1 or counts.size != n:
            raise RuntimeError(f"repeat_interleave: {counts.size} repeats for dim {d} of size {n} (shape {x.shape})")
        return x[_along(d, np.repeat(np.arange(n), counts))]

    def flip(self, *dims: Any) -> Tensor:
        """The order of the elements reversed along each of `dims`.

        >>> Tensor([[1.0, 2.0], [3.0, 4.0]]).flip(1)
        Tensor([[2., 1.],
                [4., 3.]])
        """
        flipped = _dims(self, _sizes(dims), "flip")
        return self[tuple(slice(None, None, -1) if d in flipped else slice(None) for d in range(self.ndim))]

    def roll(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
        """Elements shifted by `shifts` along `dims`, those pushed off the end coming back at the start
        (the flattened tensor when dims is None).

        >>> Tensor([1.0, 2.0, 3.0]).roll(1)
        Tensor([3., 1., 2.])
        """
        shift = _ints(shifts)
        if dims is None:
            if len(shift) != 1:
                raise RuntimeError(f"roll: {len(shift)} shifts {shift} need as many dims, got dims=None")
            return self.reshape(-1).roll(shift, 0).reshape(self.shape)
        dim = _ints(dims)
        if len(shift) != len(dim):
            raise RuntimeError(f"roll: {len(shift)} shifts {shift} and {len(dim)} dims {dim} must pair up")
        x = self
        for s, d in zip(shift, dim):
            d = _dim(self, d, "roll")
            n = self.shape[d]
            x = x[_along(d, (np.arange(n) - s) % n)] if n else x
        return x

    def split(self, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        """Consecutive pieces along dim: of split_size elements each (the last may be smaller), or of
        the given sizes (which must add up to the dim's size).

        >>> [t.shape for t in Tensor(np.zeros((5, 2))).split(2)]
        [(2, 2), (2, 2), (1, 2)]
        """
        d = _dim(self, dim, "split")
        n = self.shape[d]
        if isinstance(split_size_or_sections, numbers.Integral):
            size = int(split_size_or_sections)
            if size <= 0 and n > 0:
                raise ValueError(f"split: split_size must be positive, got {size} for dim {d} of size {n}")
            sizes = [min(size, n - start) for start in range(0, n, size)] if n else [0]
        else:
            sizes = list(_ints(split_size_or_sections))
            if any(s < 0 for s in sizes):
                raise ValueError(f"split: sizes must not be negative, got {sizes}")
            if sum(sizes) != n:
                raise RuntimeError(f"split: sizes {sizes} add up to {sum(sizes)}, not to the size {n} of dim {d} "
                                   f"of shape {self.shape}")
        starts = np.cumsum([0] + sizes)
        return tuple(self[_along(d, slice(int(a), int(b)))] for a, b in zip(starts[:-1], starts[1:]))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """About equal pieces along dim, each of ceil(size / chunks) elements (so maybe fewer than
        `chunks` pieces, as in torch).

        >>> [t.shape for t in Tensor(np.zeros(6)).chunk(4)]
        [(2,), (2,), (2,)]
        """
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        n = self.shape[_dim(self, dim, "chunk")]
        return self.split(max(-(-n // chunks), 1), dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """The slices along dim, each without it: `h, c = states.unbind(0)`.

        >>> [t.tolist() for t in Tensor([[1.0, 2.0], [3.0, 4.0]]).unbind(1)]
        [[1.0, 3.0], [2.0, 4.0]]
        """
        d = _dim(self, dim, "unbind")
        return tuple(self[(slice(None),) * d + (i,)] for i in range(self.shape[d]))

    def index_select(self, dim: int, index: Any) -> Tensor:
        """The entries at the 1-D `index` along dim (repeats allowed: their gradients add up).

        >>> Tensor([[1.0, 2.0, 3.0]]).index_select(1, [2, 0])
        Tensor([[3., 1.]])
        """
        d = _dim(self, dim, "index_select")
        index = _index_array(index, "index_select")
        if index.ndim > 1:
            raise RuntimeError(f"index_select: index must be 1-D, got shape {index.shape}")
        _check_range(index, self.shape[d], "index_select", d, self.shape)
        return self[_along(d, index.reshape(-1))]

    def gather(self, dim: int, index: Any) -> Tensor:
        """`out[i][j] = self[index[i][j]][j]` for dim 0 (`self[i][index[i][j]]` for dim 1, and so on): index
        has self's number of dims and out has index's shape.

        >>> Tensor([[1.0, 2.0], [3.0, 4.0]]).gather(1, [[1], [0]])
        Tensor([[2.],
                [3.]])
        """
        d = _dim(self, dim, "gather")
        index = _index_array(index, "gather")
        _check_index_shape(index, self.shape, d, "gather")
        _check_range(index, self.shape[d], "gather", d, self.shape)
        return self[_grid(index, d)]

    def take_along_dim(self, indices: Any, dim: int | None = None) -> Tensor:
        """gather, with self and indices broadcast against each other on the other dims and negative
        indices counting from the end (np.take_along_axis); the flattened tensor when dim is None."""
        index = _index_array(indices, "take_along_dim")
        if dim is None:
            return self.reshape(-1).take_along_dim(index.reshape(-1), 0)
        d = _dim(self, dim, "take_along_dim")
        if index.ndim != self.ndim:
            raise RuntimeError(f"take_along_dim: indices of shape {index.shape} need as many dims as the tensor "
                               f"of shape {self.shape}")
        try:
            shape = np.broadcast_shapes(self.shape[:d] + (1,) + self.shape[d + 1:], index.shape[:d] + (1,) + index.shape[d + 1:])
        except ValueError:
            raise RuntimeError(f"take_along_dim: shapes {self.shape} and {index.shape} do not broadcast "
                               f"outside dim {d}") from None
        n = self.shape[d]
        _check_range(index, n, "take_along_dim", d, self.shape, negative=True)
        x = self if self.shape[:d] + self.shape[d + 1:] == shape[:d] + shape[d + 1:] else self.expand(
            shape[:d] + (n,) + shape[d + 1:])
        index = np.broadcast_to(index % max(n, 1), shape[:d] + (index.shape[d],) + shape[d + 1:])
        return x[_grid(index, d)]

    def scatter(self, dim: int, index: Any, src: Any) -> Tensor:
        """A copy of self with `self[index[i][j]][j] = src[i][j]` for dim 0 (and so on): out of place,
        differentiable in self (0 where written) and src. src is a Tensor (of the same dtype, at
        least index's size in every dim) or a number. Where index names one element several times
        the last write (in index's order) wins, and only it gets a gradient.

        >>> Tensor(np.zeros((2, 3))).scatter(1, [[2], [0]], Tensor([[1.0], [2.0]]))
        Tensor([[0., 0., 1.],
                [2., 0., 0.]])
        """
        d = _dim(self, dim, "scatter")
        index = _index_array(index, "scatter")
        _check_index_shape(index, self.shape, d, "scatter")
        _check_range(index, self.shape[d], "scatter", d, self.shape)
        target = tuple(np.broadcast_to(i, index.shape).reshape(-1) for i in _grid(index, d))
        if not isinstance(src, (Tensor, np.ndarray, list, tuple)):  # a number: a masked fill
            return where(ops._hit(self.data, target), src, self)
        source_tensor = _as_tensor(src, self, ops.SCATTER)
        if source_tensor.dtype != self.dtype:
            raise TypeError(f"scatter: src has dtype {source_tensor.dtype} but self has dtype {self.dtype}")
        if source_tensor.ndim != index.ndim or any(i > s for i, s in zip(index.shape, source_tensor.shape)):
            raise RuntimeError(f"scatter: index of shape {index.shape} does not fit in src of shape "
                               f"{source_tensor.shape} (same dims, each at most src's size)")
        source = tuple(i.reshape(-1) for i in np.indices(index.shape))
        flat = np.ravel_multi_index(target, self.shape) if self.size else np.zeros(0, dtype=np.intp)
        _, first_from_end = np.unique(flat[::-1], return_index=True)
        if first_from_end.size < flat.size:  # an element written twice: keep its last writer only
            last = np.sort(flat.size - 1 - first_from_end)
            target, source = tuple(t[last] for t in target), tuple(s[last] for s in source)
        return _apply(ops.SCATTER, (self, source_tensor), {"target": target, "source": source})

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """value where mask is true, self elsewhere (mask broadcast to self's shape); the gradient is
        0 at the filled elements, also for value=-inf (an attention mask).

        >>> Tensor([1.0, 2.0]).masked_fill(np.array([True, False]), -np.inf)
        Tensor([-inf,   2.])
        """
        cond = _condition(mask, "masked_fill")
        try:
            fits = np.broadcast_shapes(cond.shape, self.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"masked_fill: a mask of shape {cond.shape} does not broadcast to the tensor's shape "
                               f"{self.shape}")
        if np.ndim(_raw(value)) != 0:
            raise RuntimeError(f"masked_fill: value must be a number or a 0-d Tensor, got shape {np.shape(_raw(value))}")
        return where(cond, value, self)

    def where(self, condition: Any, other: Any) -> Tensor:
        """self where condition is true, other elsewhere: `tg.where(condition, self, other)`."""
        return where(condition, self, other)

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dims (the rest 0); diagonal > 0 keeps more diagonals above.

        >>> Tensor(np.ones((2, 2))).tril()
        Tensor([[1., 0.],
                [1., 1.]])
        """
        return _triangle(self, diagonal, "tril")

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two dims (the rest 0); diagonal > 0 drops diagonals above it too."""
        return _triangle(self, diagonal, "triu")

    # NumPy functions called on a Tensor: the differentiable ones are recorded, others refuse a graph
    def __array_ufunc__(self, ufunc: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        op = _UFUNC_OPS.get(ufunc)
        if op is not None and method == "__call__" and not kwargs:
            if len(args) == 2 and type(args[1]) is Tensor and type(args[0]) is not Tensor:
                return _binary(op, args[1], args[0], reflected=True)  # array (op) tensor, e.g. x @ w
            like = next(a for a in args if isinstance(a, Tensor))
            return _apply(op, tuple(_as_tensor(a, like, op) for a in args))
        if ufunc in _COMPARISON_UFUNCS and method == "__call__":  # array < tensor: a boolean tensor
            like = next(a for a in args if isinstance(a, Tensor))
            operands = [_operand_on(a, like) for a in args]
            if len(operands) == 2 and is_array(operands[0]):
                operands = list(_weak_arrays(*operands))
            return _leaf(_result(ufunc(*operands, **kwargs)))
        if any(isinstance(a, Tensor) and a.requires_grad for a in args):
            raise TypeError(
                f"numpy.{ufunc.__name__} is not differentiable in tinygrad_edu; "
                "use Tensor methods, or .detach() to compute it outside the graph"
            )
        raw = [a.data if isinstance(a, Tensor) else a for a in args]
        return getattr(ufunc, method)(*raw, **kwargs)

    # ---- PyTorch's casts. Last in the class: from here on, `float`, `int` and `bool` name these methods
    def type_as(self, other: Tensor) -> Tensor:
        """This tensor in other's dtype, on other's device (see `to`)."""
        return self.to(other)

    def double(self) -> Tensor:
        """As float64 (`to(np.float64)`)."""
        return self.to(dtype=np.float64)

    def float(self) -> Tensor:
        """As float32 (`to(np.float32)`)."""
        return self.to(dtype=np.float32)

    def half(self) -> Tensor:
        """As float16 (`to(np.float16)`)."""
        return self.to(dtype=np.float16)

    def long(self) -> Tensor:
        """As int64: data only, outside the graph (as in PyTorch)."""
        return self.to(dtype=np.int64)

    def int(self) -> Tensor:
        """As int32: data only, outside the graph (as in PyTorch)."""
        return self.to(dtype=np.int32)

    def bool(self) -> Tensor:
        """As booleans: data only, outside the graph (as in PyTorch)."""
        return self.to(dtype=np.bool_)


class ValuesAndIndices(NamedTuple):
    """(values, indices) along a dim: what sort, topk, tg.max(x, dim) and tg.min(x, dim) give, as torch's
    torch.return_types: unpack it, or read `.values` and `.indices`."""

    values: Tensor
    indices: Tensor


_UFUNC_OPS = {
    np.add: ops.ADD, np.subtract: ops.SUB, np.multiply: ops.MUL, np.true_divide: ops.DIV,
    np.power: ops.POW, np.negative: ops.NEG, np.exp: ops.EXP, np.tanh: ops.TANH, np.matmul: ops.MATMUL,
    np.sqrt: ops.SQRT, np.absolute: ops.ABS, np.sign: ops.SIGN, np.sin: ops.SIN, np.cos: ops.COS, np.log2: ops.LOG2,
    np.maximum: ops.MAXIMUM, np.minimum: ops.MINIMUM, np.remainder: ops.REMAINDER, np.floor_divide: ops.FLOOR_DIVIDE,
    np.floor: ops.FLOOR, np.ceil: ops.CEIL,
}
_COMPARISON_UFUNCS = frozenset({np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal})


# --------------------------------------------------------------------------- recording


_new = Tensor.__new__


def _leaf(data: np.ndarray) -> Tensor:
    t = _new(Tensor)  # (one attribute per statement: quicker than a tuple assignment)
    t.data = data
    t.grad = t.op = t.params = t.label = None
    t.inputs = ()
    t.requires_grad = t.retains_grad = False
    t._written_at = 0
    return t


# Every op runs through _binary_operator (two inputs, no params: the operators), _apply1 (one input)
# or _apply (any number). The first two are _apply written out for their case: they run on every op
# a model makes, so they spend no time on tuples, lengths or keyword dicts they do not need.


def _apply1(op: Op, x: Tensor, params: dict[str, Any] | None = None) -> Tensor:
    """Run op's forward on one tensor's array; record the result when it requires grad."""
    try:
        if op.saving_forward is not None and x.requires_grad and _grad_mode.on_each_op:
            data, saved = op.saving_forward(x.data, **(params or {}))
            params = {**(params or {}), "saved": saved}  # the rules get it as saved=
        elif not params:
            data = op.forward(x.data)
        else:
            data = op.forward(x.data, **params)
    except (ValueError, IndexError, TypeError) as e:
        raise _forward_error(op, [x.data], e) from None
    t = _new(Tensor)
    t.data = data if type(data) is np.ndarray else _result(data)
    t.grad = t.label = None
    t._written_at = clock[0]
    t.retains_grad = False
    if x.requires_grad and _grad_mode.on_each_op:
        t.op, t.inputs, t.params, t.requires_grad = op, (x,), params, True
        if _grad_mode.on_each_op == RECORD_AND_CHECK:
            check_forward(t)
    else:
        t.op, t.inputs, t.params, t.requires_grad = None, (), None, False
    return t


def _apply(op: Op, inputs: tuple[Tensor, ...], params: dict[str, Any] | None = None) -> Tensor:
    """Run op's forward on the inputs' arrays; record the result when any input requires grad."""
    if len(inputs) == 1:
        return _apply1(op, inputs[0], params)
    if len(inputs) == 2 and not params and op.saving_forward is None:
        return _binary_operator(op)(*inputs)
    if op.broadcasting:
        first = inputs[0].data.dtype
        for t in inputs:
            if t.data.dtype is not first:  # (a loop, not any(): this is every Linear layer's path)
                inputs = _weakly_promoted(inputs) or inputs
                break
    mode = _grad_mode.on_each_op
    recording = mode and any(x.requires_grad for x in inputs)
    try:
        if recording and op.saving_forward is not None:
            data, saved = op.saving_forward(*[t.data for t in inputs], **(params or {}))
            params = {**(params or {}), "saved": saved}  # the rules get it as saved=
        else:
            data = op.forward(*[t.data for t in inputs], **(params or {}))
    except (ValueError, IndexError, TypeError) as e:
        moved = _with_host_scalars_moved(inputs) if op.broadcasting else None  # (elementwise ops, as in PyTorch)
        if moved is not None:
            return _apply(op, moved, params)
        raise _forward_error(op, [t.data for t in inputs], e) from None
    t = _leaf(data if type(data) is np.ndarray else _result(data))
    t._written_at = clock[0]
    if recording:
        t.op, t.inputs, t.params, t.requires_grad = op, inputs, params, True
        if mode == RECORD_AND_CHECK:
            check_forward(t)
    return t


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}  # PyTorch's order of kinds: bool < integers < floats


def _promotion(arrays: Sequence[Any]) -> np.dtype | None:
    """The dtype PyTorch computes an elementwise op of these arrays in, where NumPy's would differ; else None.

    PyTorch has two rules NumPy lacks, and both keep a float32 model in float32:
    - an integer (or bool) with a float gives that float: `ids_int64 * x_float32` is float32 (NumPy: float64);
    - an operand of 0 dims (a 0-d tensor, or a number made into one) sets the dtype only when its category
      is higher than every operand with dims: `x_float32 * Tensor(2.0)` and `x / np.sqrt(d)` stay float32
      (NumPy makes them float64: twice the memory and, on a GPU, far more time), `ids_int32 * Tensor(2)`
      stays int32. Within a category NumPy's rule is PyTorch's (float32 with float64 gives float64)."""
    with_dims = [a.dtype for a in arrays if a.ndim]
    zero_d = [a.dtype for a in arrays if not a.ndim]
    target = _promoted(with_dims or zero_d)
    if with_dims and zero_d and _CATEGORY[(zero := _promoted(zero_d)).kind] > _CATEGORY[target.kind]:
        target = zero
    return None if np.result_type(*with_dims, *zero_d) == target else target


_INTEGER_AND_FLOAT = {"if", "fi", "uf", "fu"}


def _may_differ(a: Any, b: Any) -> bool:
    """Whether PyTorch's promotion of two arrays of different dtypes may differ from NumPy's: with a 0-d one,
    or integers with floats (a float32 model's `x * mask` with a boolean or float64 mask goes by quickly)."""
    return not a.ndim or not b.ndim or a.dtype.kind + b.dtype.kind in _INTEGER_AND_FLOAT


def _promoted(dtypes: list[np.dtype]) -> np.dtype:
    """PyTorch's promotion of operands that weigh alike: NumPy's within the highest category among them."""
    top = max(_CATEGORY[d.kind] for d in dtypes)
    return np.result_type(*[d for d in dtypes if _CATEGORY[d.kind] == top])


def _weakly_promoted(inputs: Sequence[Tensor]) -> tuple[Tensor, ...] | None:
    """The inputs of an elementwise op cast to PyTorch's dtype for them (_promotion; a float tensor by
    a recorded cast, so that its gradient comes back in its own dtype); None when NumPy's promotion is it.
    Asked only when the dtypes differ."""
    target = _promotion([t.data for t in inputs])
    if target is None:
        return None
    return tuple(t if t.data.dtype == target else _cast(t, target) for t in inputs)


def _weak_arrays(a: Any, b: Any) -> tuple[Any, Any]:
    """Two arrays (or an array and a number) as an elementwise computation outside the graph takes them
    (comparisons, logic, in-place updates): PyTorch's promotion, as _weakly_promoted gives a recorded op."""
    if not is_array(b) or a.dtype is b.dtype or not _may_differ(a, b) or (target := _promotion((a, b))) is None:
        return a, b
    return a.astype(target, copy=False), b.astype(target, copy=False)


def _mixed_devices(name: str, arrays: list[Any]) -> RuntimeError | None:
    """PyTorch's error for arrays of two devices in one op (0-d ones, numbers, may go anywhere); None
    if they share one. Asked only when a computation failed: the libraries refuse each other's arrays."""
    devices = list(dict.fromkeys(str(device_of(a)) for a in arrays if is_array(a) and a.ndim))
    if len(devices) > 1:
        return RuntimeError(f"{name}: expected all tensors on the same device, got {devices[0]} and {devices[1]} "
                            "(move one with .to(device))")
    return None


def _with_host_scalars_moved(inputs: Sequence[Tensor]) -> tuple[Tensor, ...] | None:
    """The inputs with each CPU tensor of 0 dims copied (by a recorded copy, so that its gradient comes
    back) to the device of the others, which PyTorch allows as it allows a number; None if none moved.
    Asked only when a forward failed, so the CPU path never pays for it."""
    device = next((t.device for t in inputs if type(t.data) is not np.ndarray), None)
    if device is None or not any(type(t.data) is np.ndarray and t.data.ndim == 0 for t in inputs):
        return None
    return tuple(t.to(device) if type(t.data) is np.ndarray and t.data.ndim == 0 else t for t in inputs)


def _forward_error(op: Op, arrays: list[Any], e: Exception) -> Exception:
    mixed = _mixed_devices(op.name, arrays)
    if mixed is not None:
        return mixed
    shapes = " and ".join(str(np.shape(a)) for a in arrays)
    reason = op.explain(*arrays) if op.explain is not None and isinstance(e, ValueError) else None
    message = f"{op.name} on shape{'s' if len(arrays) > 1 else ''} {shapes}: {reason or e}"
    if isinstance(e, ValueError):  # shapes that do not fit, a bad reshape: PyTorch's RuntimeError
        return RuntimeError(message)
    try:
        return type(e)(message)
    except TypeError:  # NumPy's own subclasses take other arguments: use the built-in type they extend
        base = next(b for b in type(e).__mro__ if b in (ValueError, IndexError, TypeError))
        return base(message)


_UNRECORDED = ("{name}: an operand requires grad, and a change in place is not recorded here (its gradient would "
               "be lost); write `{alternative}`, or do it inside `with tg.no_grad():`")


def _times_alpha(other: Any, alpha: Any, like: Tensor, name: str) -> Any:
    """alpha·other for add and sub (other itself when alpha is 1)."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Number):
        raise TypeError(f"{name}: alpha must be a number, got {type(alpha).__name__}")
    return other if alpha == 1 else _as_tensor(other, like, ops.MUL) * alpha


def _binary(op: Op, x: Tensor, other: Any, reflected: bool = False) -> Tensor:
    kind = type(other)
    if kind is Tensor:
        y = other
    elif not (x.requires_grad and _grad_mode.on_each_op) and (
        kind is float or kind is int or (kind is np.ndarray and other.dtype is x.data.dtype and type(x.data) is np.ndarray)
    ):  # nothing will be recorded: no constant node for the operand (NumPy adapts numbers to the dtype as we
        # do; arrays of another dtype go to the operator, which promotes as PyTorch does)
        args = (other, x.data) if reflected else (x.data, other)
        try:
            data = op.forward(*args)
        except (ValueError, IndexError, TypeError) as e:
            raise _forward_error(op, list(args), e) from None
        return _leaf(data if type(data) is np.ndarray else _result(data))
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
        data = like.data
        dtype = data.dtype if data.dtype.kind == "f" else np.result_type(data.dtype, x)
        if type(data) is np.ndarray:
            return _leaf(np.array(x, dtype=dtype))
        return _leaf(array_module(data).asarray(x, dtype=dtype))
    if kind is np.ndarray and x.dtype.kind in "fiub":
        if type(like.data) is not np.ndarray:  # a NumPy array is a constant: copied to the tensor's device
            return _leaf(device_of(like.data).to_device(x))
        return _leaf(x.copy() if copy else x)
    if is_array(x):  # an array of another device (mixing devices raises in the op's forward)
        return _leaf(x.copy() if copy else x)
    if isinstance(x, Tensor):
        return x
    if isinstance(x, Node):
        raise TypeError(
            f"{op.name}: cannot combine a Tensor with a {type(x).__name__}; use Tensors for both "
            "(a Value is a scalar of the scalar engine)"
        )
    if isinstance(x, np.generic) and x.dtype.kind in "biuf":  # NumPy's scalars are numbers, as in PyTorch
        x = x.item()
    if isinstance(x, (bool, int, float)):  # Python numbers adapt to the tensor's dtype, as in NumPy
        return _leaf(array_module(like.data).asarray(x, dtype=np.result_type(like.data.dtype, x)))
    if isinstance(x, (np.ndarray, np.generic, list, tuple)):  # on the tensor's device, as an array is above
        return _leaf(move_to(_to_array(x, None), like.device))
    raise TypeError(f"{op.name}: unsupported operand for Tensor: {type(x).__name__}")


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    """A fresh array for a new Tensor: lists and numbers default to float64, arrays keep their dtype."""
    if isinstance(data, Node):
        if isinstance(data, Tensor):
            data = data.data
        else:
            raise TypeError(f"Tensor: data must be numbers or arrays, not a {type(data).__name__}")
    if type(data) is not np.ndarray and is_array(data):  # a device's array stays on its device
        array = data.astype(dtype) if dtype is not None else data.copy()
    else:
        array = np.array(data, dtype=dtype)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"Tensor: data must be real numbers, got an array of dtype {array.dtype} from {type(data).__name__}")
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)) and not is_array(data) and array.dtype.kind != "f":
        array = array.astype(np.float64)  # Tensor([1, 2]) is a float tensor
    return array


def _result(data: Any) -> Any:
    """A forward's result that is not an ndarray: a device's array as it is, a NumPy scalar as a 0-d array."""
    return data if is_array(data) else np.asarray(data)


def _device_and_dtype(where: str, args: tuple[Any, ...], device: Any, dtype: Any) -> tuple[Device | None, np.dtype | None]:
    """PyTorch's arguments of `to`: (device), (dtype), (device, dtype) or (a tensor, for its device and
    dtype), or the keywords; the target Device and dtype, None for what stays."""
    for a in args:
        if isinstance(a, Tensor) and len(args) == 1:
            device, dtype = a.device, a.dtype
        elif isinstance(a, (str, Device)) and device is None:
            device = a
        elif not isinstance(a, (str, Device, Tensor)) and dtype is None:
            dtype = a
        else:
            raise TypeError(f"{where}: expected a device, a dtype, both, or one tensor; got {args!r}")
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{where}: {dtype!r} is neither a device nor a dtype") from None
        if dtype.kind not in "fiub":
            raise TypeError(f"{where}: tensors hold real numbers or booleans, not {dtype}")
    return (None if device is None else get_device(device)), dtype


def _cast(t: Tensor, dtype: np.dtype) -> Tensor:
    """t in another dtype: a float dtype is an `astype` node; integers and booleans are data only, outside
    the graph, as in PyTorch (Tensor.astype refuses those for a tensor that requires grad, NumPy-style)."""
    return t.astype(dtype) if dtype.kind == "f" else _leaf(t.data.astype(dtype))


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _operand_on(x: Any, like: Tensor) -> Any:
    """The array (or number) of an operand computed with like's array outside the graph (comparisons,
    logic, in-place updates). Host data goes to like's device, as a constant of a recorded op does: a
    NumPy array or scalar, a list, and (as in PyTorch) a CPU tensor of 0 dims. Another tensor's array
    is left as it is: a tensor of another device is refused by the computation."""
    if isinstance(x, Tensor):
        if x.data.ndim or type(x.data) is not np.ndarray:
            return x.data
        x = x.data
    elif isinstance(x, np.generic) and x.dtype.kind in "biuf":  # a number, as in PyTorch (_promotion)
        return x.item()
    if type(like.data) is np.ndarray or not isinstance(x, (np.ndarray, np.generic, list, tuple)):
        return x
    return move_to(np.asarray(x), like.device)


def _axis(t: Tensor, axis: Any, op: str) -> int:
    if isinstance(axis, numbers.Integral) and -t.ndim <= int(axis) < t.ndim:
        return int(axis) % t.ndim
    if not isinstance(axis, numbers.Integral):
        raise TypeError(f"{op}: axis must be an int, got {axis!r} for shape {t.shape}")
    raise IndexError(f"{op}: axis {axis!r} is out of range for shape {t.shape}")  # (NumPy's and PyTorch's type)


def _reduce(op: Op, t: Tensor, axis: Any, keepdims: bool) -> Tensor:
    return _apply1(op, t, {"axis": _axes(t, axis, op.name), "keepdims": bool(keepdims)})


def _softmax_axis(t: Tensor, axis: Any, op: str) -> int | None:
    """The axis softmax normalises along; None (all of its one element) for a 0-d tensor, which takes
    dim 0 or -1 as in PyTorch."""
    return None if t.ndim == 0 and _dim(t, axis, op) == 0 else _axis(t, axis, op)


def _axes(t: Tensor, axis: Any, op: str) -> tuple[int, ...] | None:
    """A reduction's axis argument as a sorted tuple of axes in range (None: all of them)."""
    if axis is None:
        return None
    if not (isinstance(axis, numbers.Integral) or
            (isinstance(axis, (tuple, list)) and all(isinstance(a, numbers.Integral) for a in axis))):
        raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r} for shape {t.shape}")
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    if t.ndim == 0 and all(a in (0, -1) for a in axes):  # PyTorch: a 0-d tensor has the one dim 0 (or -1)
        if len(axes) > 1:
            raise ValueError(f"{op}: repeated axis in {axes} for shape {t.shape}")
        return ()
    normalized = tuple(sorted({_axis(t, a, op) for a in axes}))
    if len(normalized) != len(axes):
        raise ValueError(f"{op}: repeated axis in {axes} for shape {t.shape}")
    return normalized


def _torch_spelling(axis: Axes, keepdims: bool | None, dim: Axes, keepdim: bool | None) -> tuple[Axes, bool]:
    """A reduction's (axes, keep) from either spelling: NumPy's axis/keepdims or PyTorch's dim/keepdim."""
    if axis is not None and dim is not None:
        raise TypeError(f"got both axis={axis!r} and dim={dim!r}; they are the same argument (give one)")
    return (dim if axis is None else axis), bool(keepdim if keepdims is None else keepdims or bool(keepdim))


def _index_reduction(find: Callable[..., Any], t: Tensor, dim: int | None, keepdim: bool, name: str) -> Tensor:
    if t.size == 0:
        raise RuntimeError(f"{name}: the input of shape {t.shape} is empty; there is no element to pick")
    if dim is None:
        index = _result(find(t.data))
        return _leaf(index.reshape((1,) * t.ndim) if keepdim else index)
    return _leaf(_result(find(t.data, axis=_axis(t, dim, name), keepdims=keepdim)))


def _variance(t: Tensor, axes: Axes, keep: bool, correction: float, unbiased: bool | None, name: str) -> Tensor:
    """sum((x - mean)²) / (N - correction) over axes: var, and std before its square root."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    reduced = _axes(t, axes, name)
    count = t.size if reduced is None else math.prod(t.shape[a] for a in reduced)
    deviation = t - t.mean(reduced, keepdims=True)
    return (deviation**2).sum(reduced, keepdims=keep) / (count - correction)


def _sort_order(t: Tensor, dim: Any, descending: bool, name: str) -> Any:
    """The int64 indices that sort t along dim, stably (a 0-d t as the vector of its one element), an array
    of t's device. Descending: the reversed tensor sorted ascending, the order reversed back, which puts
    the largest first, equal elements in their order and NaN (sorted last) first, as torch does."""
    d = _dim(t, dim, name)
    x = t.data.reshape(1) if t.ndim == 0 else t.data
    xp = array_module(x)
    if not descending:
        return xp.argsort(x, axis=d, kind="stable").astype(np.int64)
    reversed_order = xp.argsort(xp.flip(x, axis=d), axis=d, kind="stable")
    return (x.shape[d] - 1 - xp.flip(reversed_order, axis=d)).astype(np.int64)


def _pick(t: Tensor, order: Any, dim: Any, name: str) -> ValuesAndIndices:
    """(t gathered at the indices `order` along dim, the indices): the gradient goes to the picked elements.
    A 0-d t counts as the vector of its one element, and gives 0-d results, as in torch."""
    d = _dim(t, dim, name)
    values = (t.reshape(1) if t.ndim == 0 else t).gather(d, order)
    if t.ndim == 0 and order.size == 1:
        return ValuesAndIndices(values.reshape(()), _leaf(order.reshape(())))
    return ValuesAndIndices(values, _leaf(order))


def _normalize_index(index: Any) -> tuple[Any, ...]:
    """An index as a tuple, with Tensors and lists turned into arrays (hashable parts kept as they are)."""
    if not isinstance(index, tuple):
        index = (index,)
    return tuple(
        i.data if isinstance(i, Tensor) else np.asarray(i) if isinstance(i, list) else i for i in index
    )


# --------------------------------------------------------------------------- functions and factories


def concatenate(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (`dim=` is torch's name for it)."""
    axis = axis if dim is None else dim
    ts = _as_tensors(tensors, ops.CONCATENATE)
    return _apply(ops.CONCATENATE, ts, {"axis": _axis(ts[0], axis, "concatenate")})


def stack(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along a new axis (`dim=` is torch's name for it)."""
    axis = axis if dim is None else dim
    ts = _as_tensors(tensors, ops.STACK)
    if not -ts[0].ndim - 1 <= axis <= ts[0].ndim:
        raise IndexError(f"stack: axis {axis} is out of range for inputs of shape {ts[0].shape}")
    return _apply(ops.STACK, ts, {"axis": axis % (ts[0].ndim + 1)})


# --------------------------------------------------------------------------- movement and indexing functions
# torch.xxx spellings of the methods above, where, cat, pad and one_hot; and the checks they share


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """input where condition is true, other elsewhere (all three broadcast together): one node. Each
    branch gets the gradient only where it was chosen, so an inf or nan in the branch not taken
    never reaches the other's gradient. input and other are Tensors or numbers.

    >>> x = Tensor([-1.0, 2.0], requires_grad=True)
    >>> y = where(x > 0, x, 0.0); y
    Tensor([0., 2.], op=where)
    >>> y.sum().backward(); x.grad
    array([0., 1.])
    """
    cond = _condition(condition, "where")
    like = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else None
    if like is None:  # numbers or arrays only: a constant
        return _leaf(_result(np.where(cond, input, other)))
    x, y = _as_tensor(input, like, ops.WHERE), _as_tensor(other, like, ops.WHERE)
    if type(like.data) is not np.ndarray:  # a mask made on the host goes where the data is
        cond = move_to(cond, like.device)
    try:
        np.broadcast_shapes(cond.shape, x.shape, y.shape)
    except ValueError:
        raise RuntimeError(f"where: the condition of shape {cond.shape}, input of shape {x.shape} and other of "
                           f"shape {y.shape} do not broadcast together") from None
    return _apply(ops.WHERE, (x, y), {"cond": cond})


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """torch.cat: tensors joined along an existing dim (concatenate)."""
    ts = _as_tensors(tensors, ops.CONCATENATE)
    return concatenate(ts, axis=_dim(ts[0], dim, "cat"))


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | Tensor | None = None) -> Tensor:
    """torch's F.pad: `pad` gives (before, after) pairs from the LAST dim backwards: (left, right)
    pads the last dim, (left, right, top, bottom) the last two. mode "constant" fills with `value`
    (default 0; a number, or a 0-d Tensor that gets the padding's gradient; negative widths crop);
    "reflect" mirrors without repeating the edge, "replicate" repeats the edge, "circular" wraps
    around (these three: a gather of edge, mirrored or wrapped indices, on any number of dims).

    >>> pad(Tensor([[1.0, 2.0]]), (1, 0, 0, 1))
    Tensor([[0., 1., 2.],
            [0., 0., 0.]])
    >>> pad(Tensor([1.0, 2.0, 3.0]), (2, 1), mode="reflect")
    Tensor([3., 2., 1., 2., 3., 2.])
    """
    x = input if isinstance(input, Tensor) else Tensor(input)
    widths = tuple(int(w) for w in pad)
    if len(widths) % 2:
        raise ValueError(f"pad: the padding {widths} must have an even length: (before, after) per dim")
    if len(widths) > 2 * x.ndim:
        raise RuntimeError(f"pad: the padding {widths} gives {len(widths) // 2} dims, more than the {x.ndim} of shape "
                           f"{x.shape}")
    pairs = [(0, 0)] * x.ndim
    for k in range(len(widths) // 2):
        pairs[x.ndim - 1 - k] = (widths[2 * k], widths[2 * k + 1])
    if mode == "constant":
        if any(w < 0 for w in widths):  # crop first: the pad op adds only
            if any(n + a + b < 0 for n, (a, b) in zip(x.shape, pairs)):
                raise RuntimeError(f"pad: the padding {widths} crops more than the shape {x.shape} holds")
            x = x[tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(x.shape, pairs))]
            pairs = [(max(a, 0), max(b, 0)) for a, b in pairs]
        fill = _as_tensor(0.0 if value is None else value, x, ops.PAD)
        if fill.ndim != 0:
            raise ValueError(f"pad: value must be a number, got shape {fill.shape}")
        return _apply(ops.PAD, (x, fill), {"widths": tuple(pairs)})
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {['constant', *_PAD_MODES]}, got {mode!r}")
    if value is not None:
        raise ValueError(f"pad: mode {mode!r} takes no value (only mode='constant' fills with one)")
    for d, (a, b) in enumerate(pairs):  # a gather of edge, mirrored or wrapped indices along each padded dim
        n = x.shape[d]
        if a == b == 0:
            continue
        if min(a, b) < 0:
            raise ValueError(f"pad: negative padding {widths} is for mode='constant' only")
        if n == 0:
            raise RuntimeError(f"pad: mode {mode!r} cannot pad dim {d} of shape {x.shape}: it has no elements")
        limit = {"reflect": n - 1, "replicate": max(a, b), "circular": n}[mode]
        if max(a, b) > limit:
            raise RuntimeError(f"pad: mode {mode!r} pads dim {d} of shape {x.shape} by at most {limit} on each side, "
                               f"got ({a}, {b})")
        x = x[_along(d, np.pad(np.arange(n), (a, b), mode=_PAD_MODES[mode]))]
    return x


_PAD_MODES: dict[str, Any] = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}  # torch's name -> NumPy's


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """Integer class labels as one-hot rows: shape (..., num_classes), dtype int64, no gradient.
    num_classes=-1 uses the largest label + 1.

    >>> one_hot(np.array([0, 2]))
    Tensor([[1, 0, 0],
            [0, 0, 1]], dtype=int64)
    """
    labels = _index_array(tensor, "one_hot")
    if num_classes == -1:
        if labels.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from no labels; pass num_classes")
        num_classes = int(labels.max()) + 1
    _check_range(labels, num_classes, "one_hot", -1, labels.shape, what="class")
    return _leaf((labels[..., np.newaxis] == array_module(labels).arange(num_classes)).astype(np.int64))


def flip(input: Tensor, dims: int | Sequence[int]) -> Tensor:
    """torch.flip: input.flip(dims)."""
    return input.flip(dims)


def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    """torch.roll: input.roll(shifts, dims)."""
    return input.roll(shifts, dims)


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """torch.tile: input.tile(dims)."""
    return input.tile(dims)


def repeat_interleave(input: Tensor, repeats: Any, dim: int | None = None) -> Tensor:
    """torch.repeat_interleave: input.repeat_interleave(repeats, dim)."""
    return input.repeat_interleave(repeats, dim)


def squeeze(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """torch.squeeze: input.squeeze(dim)."""
    return input.squeeze(dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """torch.unsqueeze: input.unsqueeze(dim)."""
    return input.unsqueeze(dim)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """torch.flatten: input.flatten(start_dim, end_dim)."""
    return input.flatten(start_dim, end_dim)


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    """torch.permute: input.permute(dims)."""
    return input.permute(dims)


def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """torch.split: tensor.split(split_size_or_sections, dim)."""
    return tensor.split(split_size_or_sections, dim)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """torch.chunk: input.chunk(chunks, dim)."""
    return input.chunk(chunks, dim)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """torch.unbind: input.unbind(dim)."""
    return input.unbind(dim)


def gather(input: Tensor, dim: int, index: Any) -> Tensor:
    """torch.gather: input.gather(dim, index)."""
    return input.gather(dim, index)


def scatter(input: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    """torch.scatter: input.scatter(dim, index, src)."""
    return input.scatter(dim, index, src)


def take_along_dim(input: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    """torch.take_along_dim: input.take_along_dim(indices, dim)."""
    return input.take_along_dim(indices, dim)


def take_along_axis(arr: Tensor, indices: Any, axis: int | None = -1) -> Tensor:
    """NumPy's spelling: np.take_along_axis(arr, indices, axis) is arr.take_along_dim(indices, axis)."""
    return arr.take_along_dim(indices, axis)


def index_select(input: Tensor, dim: int, index: Any) -> Tensor:
    """torch.index_select: input.index_select(dim, index)."""
    return input.index_select(dim, index)


def masked_fill(input: Tensor, mask: Any, value: Any) -> Tensor:
    """torch.masked_fill: input.masked_fill(mask, value)."""
    return input.masked_fill(mask, value)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """torch.tril: input.tril(diagonal)."""
    return input.tril(diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """torch.triu: input.triu(diagonal)."""
    return input.triu(diagonal)


def _sizes(args: tuple[Any, ...]) -> tuple[int, ...]:
    """Sizes or dims given as f(2, 3) or f((2, 3)), as ints."""
    if len(args) == 1 and not isinstance(args[0], numbers.Integral):
        args = tuple(args[0])
    return tuple(int(n) for n in args)


def _dim(t: Tensor, dim: Any, op: str, extra: int = 0) -> int:
    """dim as an index in [0, ndim + extra), counting from the end when negative (a 0-d tensor takes
    dim 0 or -1, as in torch); IndexError outside."""
    n = max(t.ndim + extra, 1)
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    if not -n <= int(dim) < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of shape {t.shape} (expected a dim in "
                         f"[{-n}, {n - 1}])")
    return int(dim) % n


def _ints(x: Any) -> tuple[int, ...]:
    """One int or a sequence of them, as a tuple of ints."""
    return (int(x),) if isinstance(x, numbers.Integral) else tuple(int(v) for v in x)


def _dims(t: Tensor, dims: Any, op: str) -> tuple[int, ...]:
    """One dim or several, each checked by _dim; a dim named twice is an error."""
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    out = tuple(_dim(t, d, op) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: a dim appears twice in {dims} (shape {t.shape})")
    return out


def _along(d: int, index: Any) -> tuple[Any, ...]:
    """An index that applies `index` (a slice or a 1-D array) to dim d, keeping every other dim."""
    return (slice(None),) * d + (index,)


def _grid(index: np.ndarray, d: int) -> tuple[np.ndarray, ...]:
    """The index arrays of a gather along d: `index` in dim d, each other dim's own position
    elsewhere (shaped to broadcast against index)."""
    return tuple(index if k == d else np.arange(n).reshape((n,) + (1,) * (index.ndim - k - 1))
                 for k, n in enumerate(index.shape))


def _index_array(index: Any, op: str) -> np.ndarray:
    """An index (Tensor, array, list) as an integer ndarray."""
    array = _raw(index)
    array = array if is_array(array) else np.asarray(array)
    if array.dtype.kind not in "iu":
        if array.size == 0:
            return array.astype(np.intp)
        raise TypeError(f"{op}: an index must hold integers, got dtype {array.dtype}")
    return array


def _check_range(index: np.ndarray, size: int, op: str, dim: int, shape: Shape, negative: bool = False,
                 what: str = "index") -> None:
    """IndexError naming the first index outside [0, size) (or [-size, size) when negatives count from the end)."""
    if index.size == 0:
        return
    low = -size if negative else 0
    bad = (index < low) | (index >= size)
    if bad.any():
        place = f"num_classes {size}" if what == "class" else f"dim {dim} of size {size} (shape {shape})"
        raise IndexError(f"{op}: {what} {index[bad].reshape(-1)[0]} is out of range for {place}")


def _check_index_shape(index: np.ndarray, shape: Shape, d: int, op: str) -> None:
    """gather's and scatter's rule: index has the tensor's dims, and no more elements than it outside dim d."""
    if index.ndim != len(shape) or any(i > n for k, (i, n) in enumerate(zip(index.shape, shape)) if k != d):
        raise RuntimeError(f"{op}: an index of shape {index.shape} does not fit a tensor of shape {shape} along "
                           f"dim {d} (same number of dims, and no larger outside dim {d})")


def _condition(condition: Any, op: str) -> np.ndarray:
    """A boolean mask (an array, list or Tensor of booleans) as a fresh boolean ndarray: a constant."""
    cond = _raw(condition)
    cond = cond.copy() if is_array(cond) else np.array(cond)
    if cond.dtype != np.bool_:
        raise TypeError(f"{op}: the condition must be boolean (e.g. x > 0), got dtype {cond.dtype}")
    return cond


def _triangle(t: Tensor, diagonal: int, op: str) -> Tensor:
    if t.ndim < 2:
        raise RuntimeError(f"{op}: needs a tensor of at least 2 dims, got shape {t.shape}")
    rows, cols = t.shape[-2:]
    lower = np.tri(rows, cols, k=diagonal if op == "tril" else diagonal - 1, dtype=bool)
    return where(lower if op == "tril" else ~lower, t, 0)


# --------------------------------------------------------------------------- losses on class scores
# cross_entropy and nll_loss with PyTorch's arguments. The common case (logits (N, C), integer labels,
# no weight, smoothing or ignored label, the mean) is one fused node, ops.CROSS_ENTROPY; every other
# case is a composite over the stable log_softmax: pick the labels' log-probabilities, weight, reduce.

LOSS_REDUCTIONS = ("none", "mean", "sum")


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits against class labels or class probabilities, as torch's `cross_entropy`.

    `input` holds logits of shape (N, C), (N, C, d1, ...) or (C,); `target` is integer class labels of
    that shape without the class axis 1 ((N,), (N, d1, ...) or ()), or float class probabilities of
    the input's own shape. `weight` (C,) rescales each class (a constant); labels equal to
    `ignore_index` count for nothing, and "mean" divides by the total weight of the labels that count
    (nan when none does); `label_smoothing` ε mixes the target with the uniform ε/C over classes.

    >>> round(cross_entropy(Tensor([[2.0, 0.0], [0.0, 2.0]]), [0, 1]).item(), 6)
    0.126928
    >>> cross_entropy(Tensor([[2.0, 0.0], [0.0, 2.0]]), [0, -100], reduction="none")
    Tensor([0.12692801, 0.        ])
    """
    labels = target.data if isinstance(target, Tensor) else np.asarray(target)
    if _is_plain_classification(input, labels, weight, ignore_index, reduction, label_smoothing):
        return _apply1(ops.CROSS_ENTROPY, input, {"labels": labels})  # the fused node, benchmarked
    name = "cross_entropy"
    _check_loss_arguments(input, reduction, name, "logits")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing!r}")
    probabilities = labels.shape == input.shape
    if probabilities:
        if labels.dtype.kind != "f":
            raise ValueError(
                f"{name}: a target of the logits' own shape {input.shape} holds class probabilities and must "
                f"be floating point, got dtype {labels.dtype} (class labels have shape {_label_shape(input)})"
            )
        if ignore_index >= 0:
            raise ValueError(f"{name}: ignore_index ({ignore_index}) is not supported with class-probability targets")
    else:
        _check_labels(input, labels, ignore_index, name, "logits")
    unbatched = input.ndim == 1  # (C,): a batch of one, the class axis 1
    logp = (input.reshape(1, -1) if unbatched else input).log_softmax(axis=1)
    w = _class_weights(weight, logp, name)
    if probabilities:
        probs = target if isinstance(target, Tensor) else Tensor(labels, dtype=logp.dtype)
        if probs.dtype != logp.dtype:
            probs = probs.astype(logp.dtype)
        loss = _soft_target_loss(logp, probs.reshape(logp.shape) if unbatched else probs, w, reduction, label_smoothing)
    else:
        loss = _nll(logp, labels.reshape(1) if unbatched else labels, w, ignore_index, reduction, label_smoothing)
    return loss.reshape(()) if unbatched and reduction == "none" else loss


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """The negative log-likelihood -input[n, target[n]] of class labels under log-probabilities, as torch's.

    Shapes, `weight`, `ignore_index` and `reduction` as in `cross_entropy` (which is nll_loss of
    log_softmax for class labels); the target is class labels only.

    >>> nll_loss(Tensor([[-0.5, -1.0], [-2.0, -0.1]]), [0, 1]).item()   # (0.5 + 0.1) / 2
    0.3
    """
    name = "nll_loss"
    labels = target.data if isinstance(target, Tensor) else np.asarray(target)
    _check_loss_arguments(input, reduction, name, "log-probabilities")
    _check_labels(input, labels, ignore_index, name, "log-probabilities")
    unbatched = input.ndim == 1
    logp = input.reshape(1, -1) if unbatched else input
    loss = _nll(logp, labels.reshape(1) if unbatched else labels, _class_weights(weight, logp, name), ignore_index, reduction)
    return loss.reshape(()) if unbatched and reduction == "none" else loss


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}  # the unsigned integer of each size


def _all_below(ids: Any, n: int) -> bool:
    """Whether every integer of `ids` is in [0, n). Read as unsigned integers (a view: nothing copied),
    negative ones are huge, so one max finds those outside on both sides; the comparison is the host's
    (on a GPU: one kernel, and one read of its result).

    >>> _all_below(np.array([0, 2]), 3), _all_below(np.array([0, 3]), 3), _all_below(np.array([-1]), 3)
    (True, False, False)
    """
    return not ids.size or int(ops._max(ids.view(_UNSIGNED[ids.dtype.itemsize]), None, False)) < n


def _is_plain_classification(
    input: Any, labels: np.ndarray, weight: Any, ignore_index: int, reduction: str, label_smoothing: float
) -> bool:
    """Whether ops.CROSS_ENTROPY computes this loss: logits (N, C), labels (N,) all in [0, C), the mean."""
    if not (type(input) is Tensor and input.ndim == 2 and weight is None and reduction == "mean"
            and not label_smoothing and labels.dtype.kind in "iu" and labels.shape == input.shape[:1]):
        return False
    classes = input.shape[1]
    if not _all_below(labels, classes):
        return False
    return not 0 <= ignore_index < classes or not (labels == ignore_index).any()


def _nll(
    logp: Tensor, labels: np.ndarray, weight: np.ndarray | None, ignore_index: int, reduction: str,
    smoothing: float = 0.0,
) -> Tensor:
    """-weight[y]·logp[n, y, d...] at every position whose label y is not ignore_index, reduced;
    with smoothing ε, (1 - ε) times that plus ε/C times the weighted sum over all classes.

    logp has shape (N, C, d1, ...) and labels (N, d1, ...); only the positions that count are picked,
    so an ignored position adds nothing, not even 0·(-inf).
    """
    counted = np.nonzero(labels != ignore_index)  # the positions that count, in C order
    counted_labels = labels[counted]
    picked = logp[(counted[0], counted_labels) + counted[1:]]  # logp[n, y, d...] for each of them
    if weight is None:
        loss, total = -picked, float(len(counted_labels))
    else:
        label_weights = weight[counted_labels]
        loss, total = picked * -label_weights, float(label_weights.sum())
    if smoothing:
        every_class = logp if weight is None else logp * weight.reshape((-1,) + (1,) * (logp.ndim - 2))
        loss = loss * (1 - smoothing) - every_class.sum(axis=1)[counted] * (smoothing / logp.shape[1])
    if reduction == "none":
        if len(counted_labels) == labels.size:
            return loss.reshape(labels.shape)
        return ops.call(ops.SCATTER_ADD, loss, index=counted, shape=labels.shape)  # (0 where ignored)
    return _reduce_loss(loss, reduction, total)


def _soft_target_loss(logp: Tensor, probs: Tensor, weight: np.ndarray | None, reduction: str, smoothing: float) -> Tensor:
    """-Σ_c weight[c]·p[n, c, d...]·logp[n, c, d...] per position, reduced ("mean" divides by the positions)."""
    classes = logp.shape[1]
    if smoothing:
        probs = probs * (1 - smoothing) + smoothing / classes
    if weight is not None:
        probs = probs * weight.reshape((-1,) + (1,) * (logp.ndim - 2))
    loss = -(logp * probs).sum(axis=1)
    return loss if reduction == "none" else _reduce_loss(loss, reduction, float(loss.size))


def _reduce_loss(loss: Tensor, reduction: str, total: float) -> Tensor:
    if reduction == "sum":
        return loss.sum()
    if total == 0:  # nothing counts: torch's mean is 0/0 = nan (and the gradient 0)
        return loss.sum() * np.nan
    return loss.sum() / total


def _label_shape(input: Tensor) -> Shape:
    return input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()


def _check_loss_arguments(input: Any, reduction: str, name: str, what: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: the {what} must be a Tensor, got {type(input).__name__}")
    if input.ndim == 0:
        raise ValueError(f"{name}: expected {what} of shape (N, C), (N, C, d1, ...) or (C,), got a 0-d tensor")
    if reduction not in LOSS_REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {LOSS_REDUCTIONS}, got {reduction!r}")


def _check_labels(input: Tensor, labels: np.ndarray, ignore_index: int, name: str, what: str) -> None:
    """Class labels of the input's shape without its class axis, integers in [0, C) or ignore_index."""
    expected = _label_shape(input)
    if labels.shape != expected:
        probabilities = " or class probabilities of the logits' own shape" if name == "cross_entropy" else ""
        raise ValueError(
            f"{name}: expected {what} of shape (N, C), (N, C, d1, ...) or (C,) and class labels of shape "
            f"{expected} (the {what}' shape without its class axis){probabilities}; got {input.shape} and {labels.shape}"
        )
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{name}: class labels must be integers in [0, {classes}), got dtype {labels.dtype}")
    outside = labels[((labels < 0) | (labels >= classes)) & (labels != ignore_index)]
    if outside.size:
        raise ValueError(
            f"{name}: labels must be integers in [0, {classes}) for {classes} classes (or ignore_index "
            f"{ignore_index}); {outside.size} are not: {outside[:10].tolist()}"
        )


def _class_weights(weight: Any, logp: Tensor, name: str) -> np.ndarray | None:
    """The per-class weights as a constant array of logp's dtype, one per class (None: all 1)."""
    if weight is None:
        return None
    if isinstance(weight, Tensor) and weight.device != logp.device:
        raise RuntimeError(f"{name}: expected all tensors on the same device, got {logp.device} (the input) and "
                           f"{weight.device} (weight)")
    w = _raw(weight)
    w = w.astype(logp.dtype) if is_array(w) else np.asarray(w, dtype=logp.dtype)
    if w.shape != (logp.shape[1],):
        raise ValueError(
            f"{name}: weight must hold one number per class, shape ({logp.shape[1]},), got shape {w.shape}"
        )
    return move_to(w, logp.device)  # (a constant: NumPy weights go where the logits are)


# --------------------------------------------------------------------------- factories


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


def zeros(*shape: Any, dtype: Any = np.float64, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of zeros: zeros(2, 3) or zeros((2, 3))."""
    return Tensor(np.zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad, device=device)


def ones(*shape: Any, dtype: Any = np.float64, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of ones: ones(2, 3) or ones((2, 3))."""
    return Tensor(np.ones(_shape(shape), dtype=dtype), requires_grad=requires_grad, device=device)


def randn(
    *shape: Any,
    rng: np.random.Generator | int | None = None,
    dtype: Any = np.float64,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Standard normal samples; `rng` is a NumPy Generator or a seed, for repeatable results (None: the
    default generator, which `tg.manual_seed` seeds).

    >>> randn(2, rng=0).shape
    (2,)
    """
    generator = random_generator(rng, "randn")
    return Tensor(generator.standard_normal(_shape(shape)).astype(dtype), requires_grad=requires_grad, device=device)


def rand(
    *shape: Any,
    rng: np.random.Generator | int | None = None,
    dtype: Any = np.float64,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Uniform samples from [0, 1); `rng` is a NumPy Generator or a seed."""
    generator = random_generator(rng, "rand")
    return Tensor(generator.random(_shape(shape)).astype(dtype), requires_grad=requires_grad, device=device)


def randint(*args: int, size: Any, rng: np.random.Generator | int | None = None, dtype: Any = np.int64, device: Any = None) -> Tensor:
    """Integers drawn uniformly from [low, high): randint(high, size=...) or randint(low, high, size=...).

    >>> randint(3, 5, size=(4,), rng=0).data.tolist()
    [4, 4, 4, 3]
    """
    if len(args) not in (1, 2):
        raise TypeError(f"randint: expected (high) or (low, high) and size=, got {len(args)} positional arguments")
    low, high = (0, args[0]) if len(args) == 1 else args
    if not low < high:
        raise ValueError(f"randint: low must be below high, got low={low} and high={high}")
    generator = random_generator(rng, "randint")
    return Tensor(generator.integers(low, high, size=_shape((size,) if isinstance(size, numbers.Integral) else (tuple(size),)),
                                     dtype=dtype), device=device)


def randperm(n: int, *, rng: np.random.Generator | int | None = None, dtype: Any = np.int64, device: Any = None) -> Tensor:
    """The integers 0 .. n-1 in a random order (a shuffle of the rows: `X[tg.randperm(len(X))]`).

    >>> sorted(randperm(5, rng=0).tolist())
    [0, 1, 2, 3, 4]
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, got {n!r}")
    return Tensor(random_generator(rng, "randperm").permutation(int(n)).astype(dtype), device=device)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,  # noqa: A002 (PyTorch's names)
                rng: np.random.Generator | int | None = None) -> Tensor:
    """Indices drawn with probabilities proportional to input's weights (non-negative, any sum), one
    row of num_samples per row of a 2-D input; without replacement an index comes once at most. As
    torch.multinomial: the sampling step of a language model, `tg.multinomial(probs, 1)`.

    >>> multinomial(Tensor([0.0, 1.0, 0.0]), 2, replacement=True, rng=0).tolist()
    [1, 1]
    """
    weights = to_host(input.data if isinstance(input, Tensor) else np.asarray(input)).astype(np.float64)
    if weights.ndim not in (1, 2) or weights.shape[-1] == 0:
        raise RuntimeError(f"multinomial: expects a 1-D or 2-D tensor of weights, got shape {weights.shape}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) or num_samples <= 0:
        raise RuntimeError(f"multinomial: num_samples must be a positive int, got {num_samples!r}")
    rows = weights.reshape(-1, weights.shape[-1])
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise RuntimeError("multinomial: the weights must be finite and non-negative")
    sums = rows.sum(axis=1)
    if np.any(sums <= 0):
        raise RuntimeError("multinomial: a row of weights sums to 0 (nothing to draw)")
    if not replacement and np.any((rows > 0).sum(axis=1) < num_samples):
        raise RuntimeError(f"multinomial: cannot draw {num_samples} samples without replacement from a row with "
                           f"fewer categories of nonzero weight ({int((rows > 0).sum(axis=1).min())})")
    generator = random_generator(rng, "multinomial")
    drawn = np.stack([generator.choice(rows.shape[1], size=num_samples, replace=replacement, p=row / total)
                      for row, total in zip(rows, sums)])
    device = input.device if isinstance(input, Tensor) else None
    return Tensor(drawn.reshape(weights.shape[:-1] + (num_samples,)).astype(np.int64), device=device)


def arange(start: float, end: float | None = None, step: float = 1, *, dtype: Any = None,
           requires_grad: bool = False, device: Any = None) -> Tensor:
    """Evenly spaced numbers in [start, end): integers when all three are integers, else floats.

    >>> arange(4).data.tolist(), arange(0, 1, 0.25).data.tolist()
    ([0, 1, 2, 3], [0.0, 0.25, 0.5, 0.75])
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    whole = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    kind = dtype if dtype is not None else (np.int64 if whole else np.float64)
    return Tensor(np.arange(start, end, step, dtype=kind), requires_grad=requires_grad, device=device)


def linspace(start: float, end: float, steps: int, *, dtype: Any = np.float64, requires_grad: bool = False, device: Any = None) -> Tensor:
    """`steps` evenly spaced numbers from start to end, both included.

    >>> linspace(0, 1, 5).data.tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if int(steps) < 0:
        raise ValueError(f"linspace: steps must be at least 0, got {steps}")
    return Tensor(np.linspace(start, end, int(steps), dtype=dtype), requires_grad=requires_grad, device=device)


def eye(n: int, m: int | None = None, *, dtype: Any = np.float64, requires_grad: bool = False, device: Any = None) -> Tensor:
    """The n x m identity matrix (n x n when m is None)."""
    return Tensor(np.eye(n, m, dtype=dtype), requires_grad=requires_grad, device=device)


def full(size: Any, fill_value: Any, *, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of `size` filled with `fill_value` (dtype from the value as PyTorch infers it: bool,
    int64, or float64).

    >>> full((2, 2), 7).data.tolist()
    [[7, 7], [7, 7]]
    """
    if dtype is None:
        dtype = np.bool_ if isinstance(fill_value, bool) else np.int64 if isinstance(fill_value, numbers.Integral) else np.float64
    shape = _shape((size,) if isinstance(size, numbers.Integral) else (tuple(size),))
    return Tensor(np.full(shape, fill_value, dtype=dtype), requires_grad=requires_grad, device=device)


def zeros_like(t: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of t's shape and dtype (or `dtype`)."""
    return Tensor(np.zeros(t.shape, dtype=dtype or t.dtype), requires_grad=requires_grad, device=t.device)


def ones_like(t: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of t's shape and dtype (or `dtype`)."""
    return Tensor(np.ones(t.shape, dtype=dtype or t.dtype), requires_grad=requires_grad, device=t.device)


def full_like(t: Tensor, fill_value: Any, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """`fill_value` in t's shape and dtype (or `dtype`)."""
    return Tensor(np.full(t.shape, fill_value, dtype=dtype or t.dtype), requires_grad=requires_grad, device=t.device)


def randn_like(t: Tensor, *, rng: np.random.Generator | int | None = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples of t's shape and float dtype."""
    return randn(t.shape, rng=rng, dtype=t.dtype if t.dtype.kind == "f" else np.float64, requires_grad=requires_grad, device=t.device)


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
