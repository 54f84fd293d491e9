"""Value: a float scalar that records the operations made with it (micrograd's surface)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .checks import check_forward, clock
from .engine import RECORD_AND_CHECK, Node, ScalarNode, _grad_mode
from .ops import (
    ABS,
    ADD,
    CEIL,
    CLIP,
    COS,
    DIV,
    ERF,
    EXP,
    EXPM1,
    FLOOR,
    FLOOR_DIVIDE,
    LOG,
    LOG1P,
    LOG2,
    MAXIMUM,
    MINIMUM,
    MUL,
    NEG,
    POW,
    RELU,
    REMAINDER,
    ROUND,
    SIGMOID,
    SIGN,
    SIN,
    SQRT,
    SUB,
    TANH,
    Op,
    scalar_eval,
    with_params,
)


@functools.cache
def _binary_operator(op: Op, reflected: bool = False) -> Callable[[Value, Any], Value]:
    """The method `self <op> other` (reflected: `other <op> self`): one node, computed by the op's own
    scalar forward. The scalar engine's hottest path: this is where each op's forward is called and
    its node is made, inlined (one Python call per op)."""
    forward = op.scalar_forward
    if forward is None:
        raise TypeError(f"{op.name}: not available on Value (the op has no scalar forward)")

    def operator(self: Value, other: Any) -> Value:
        if type(other) is not Value:
            other = _as_value(other, op)
        x, y = (other, self) if reflected else (self, other)
        try:
            data = forward(x.data, y.data)
        except ArithmeticError:  # 1/0, overflow: NumPy's inf/nan instead
            data = scalar_eval(op, x.data, y.data)
        if (x.requires_grad or y.requires_grad) and (mode := _grad_mode.on_each_op):
            v = _bare(Value)  # _new's work, inlined (one statement per slot: no tuple to build)
            v.data = data
            v.grad = 0.0
            v.op = op
            v._x = x
            v._y = y
            v.label = None
            v.requires_grad = True
            v._written_at = clock[0]
            if mode == RECORD_AND_CHECK:
                check_forward(v)  # anomaly mode: where it was made, and whether it made NaN or Inf
            return v
        return _new(data, None, None)  # a constant: nothing to differentiate, nothing to keep alive

    return operator


class Value(ScalarNode):
    """A float scalar in a computation graph.

    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> e = (a * b + b**2).tanh(); e.backward()
    >>> round(a.grad, 6), round(b.grad, 6)
    (-0.029598, -0.039464)
    """

    __slots__ = ()

    def __init__(self, data: Any, label: str | None = None, requires_grad: bool = True) -> None:
        if isinstance(data, Node):
            raise TypeError(f"Value: data must be a real number, not a {type(data).__name__}")
        try:
            number = float(data)
        except (TypeError, ValueError):
            raise TypeError(f"Value: data must be a real number, got {data!r}") from None
        super().__init__(number, 0.0, label, requires_grad)

    @classmethod
    def constant(cls, data: Any) -> Value:
        return cls(data, requires_grad=False)

    def apply_op(self, op: Op, *args: Any, **params: Any) -> Value:
        if params:  # a Value's node keeps no params: the op's record with them bound
            op = with_params(op, **params)
        if op.scalar_forward is None:
            raise TypeError(f"{op.name}: not available on Value (the op has no scalar forward); use Tensors")
        return _apply(op, tuple(_as_value(a, op) for a in args))

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={_short(self.data)}, grad={_short(self.grad)}{label})"

    # ---- arithmetic: every operator is one node
    __add__, __radd__ = _binary_operator(ADD), _binary_operator(ADD, reflected=True)
    __sub__, __rsub__ = _binary_operator(SUB), _binary_operator(SUB, reflected=True)
    __mul__, __rmul__ = _binary_operator(MUL), _binary_operator(MUL, reflected=True)
    __truediv__, __rtruediv__ = _binary_operator(DIV), _binary_operator(DIV, reflected=True)
    __pow__, __rpow__ = _binary_operator(POW), _binary_operator(POW, reflected=True)

    def __neg__(self) -> Value:
        return _unary(NEG, self)

    def exp(self) -> Value:
        """`e**self` (one "exp" node; d/dx = exp(x))."""
        return _unary(EXP, self)

    def log(self) -> Value:
        """The natural logarithm (d/dx = 1/x): -inf at 0 and nan below, with NumPy's warning."""
        return _unary(LOG, self)

    def relu(self) -> Value:
        """max(0, self) (d/dx = 1 where x > 0, else 0)."""
        return _unary(RELU, self)

    def sigmoid(self) -> Value:
        """`1 / (1 + e**-self)`, computed stably (d/dx = s(1 - s))."""
        return _unary(SIGMOID, self)

    def tanh(self) -> Value:
        """The hyperbolic tangent (d/dx = 1 - t²)."""
        return _unary(TANH, self)

    # ---- elementwise math (as Tensor's; rounding is piecewise constant: its gradient is 0)
    __mod__, __rmod__ = _binary_operator(REMAINDER), _binary_operator(REMAINDER, reflected=True)
    __floordiv__, __rfloordiv__ = _binary_operator(FLOOR_DIVIDE), _binary_operator(FLOOR_DIVIDE, reflected=True)

    def sqrt(self) -> Value:
        """√self (d/dx = 1/(2√x)); nan below 0, with NumPy's warning."""
        return _unary(SQRT, self)

    def rsqrt(self) -> Value:
        """1/√self: one power node, self ** -0.5."""
        return self**-0.5

    def abs(self) -> Value:
        """|self| (d/dx = sign(x), 0 at the kink)."""
        return _unary(ABS, self)

    __abs__ = abs

    def sign(self) -> Value:
        """-1.0, 0.0 or 1.0 (gradient 0)."""
        return _unary(SIGN, self)

    def sin(self) -> Value:
        """The sine (d/dx = cos x)."""
        return _unary(SIN, self)

    def cos(self) -> Value:
        """The cosine (d/dx = -sin x)."""
        return _unary(COS, self)

    def log2(self) -> Value:
        """The base-2 logarithm (-inf at 0, nan below, with NumPy's warning)."""
        return _unary(LOG2, self)

    def log1p(self) -> Value:
        """log(1 + x), exact also for tiny x (-inf at -1, nan below, with NumPy's warning)."""
        return _unary(LOG1P, self)

    def expm1(self) -> Value:
        """exp(x) - 1, exact also for tiny x."""
        return _unary(EXPM1, self)

    def erf(self) -> Value:
        """The error function (d/dx = 2/√π·exp(-x²))."""
        return _unary(ERF, self)

    def square(self) -> Value:
        """self ** 2 (one power node)."""
        return self**2

    def reciprocal(self) -> Value:
        """1 / self (one division node)."""
        return 1 / self

    def maximum(self, other: Any) -> Value:
        """The larger of self and other; a tie splits the gradient half and half."""
        return _binary_operator(MAXIMUM)(self, other)

    def minimum(self, other: Any) -> Value:
        """The smaller of self and other; a tie splits the gradient half and half."""
        return _binary_operator(MINIMUM)(self, other)

    def clamp(self, min: float | None = None, max: float | None = None) -> Value:  # noqa: A002 (PyTorch's names)
        """self limited to [min, max] (gradient 1 where min <= x <= max, bounds included)."""
        if min is None and max is None:
            raise ValueError("clamp: give min, max or both (both are None)")
        bounds = {"min": None if min is None else float(min), "max": None if max is None else float(max)}
        return _unary(with_params(CLIP, **bounds), self)

    clip = clamp

    def round(self, decimals: int = 0) -> Value:
        """Rounded to `decimals` places, halves to even (gradient 0)."""
        return _unary(with_params(ROUND, decimals=int(decimals)), self)

    def floor(self) -> Value:
        """Rounded down (gradient 0)."""
        return _unary(FLOOR, self)

    def ceil(self) -> Value:
        """Rounded up (gradient 0)."""
        return _unary(CEIL, self)

    # ---- comparisons look at the data only (they are not differentiable)
    def __lt__(self, other: Any) -> bool:
        return self.data < _data(other)

    def __le__(self, other: Any) -> bool:
        return self.data <= _data(other)

    def __gt__(self, other: Any) -> bool:
        return self.data > _data(other)

    def __ge__(self, other: Any) -> bool:
        return self.data >= _data(other)

    def __float__(self) -> float:
        return self.data

    def item(self) -> float:
        """The data, as a float."""
        return self.data

    __array_ufunc__ = None  # NumPy scalars defer to our reflected operators: np.float64(2) * v is a Value


_bare = Value.__new__  # a Value without __init__'s checks


def _short(x: Any) -> str:
    """A float to 6 significant digits that still reads as a float: 2.0 (not 2), 0.333333, 1e+06, inf."""
    if not isinstance(x, float):
        return repr(x)
    text = f"{x:.6g}"
    return text if any(c in text for c in ".ein") else text + ".0"  # e: exponent; i, n: inf and nan


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Value) else x


def _as_value(x: Any, op: Op) -> Value:
    """An operand as a Value: numbers become constants; a Tensor or anything else is refused."""
    if isinstance(x, Value):
        return x
    if isinstance(x, (int, float)):
        return _new(float(x), None, None)
    if isinstance(x, Node):
        raise TypeError(
            f"{op.name}: cannot combine a Value with a {type(x).__name__}; use Tensor for both, "
            "or turn a one-element Tensor into a number with .item()"
        )
    if hasattr(x, "__float__") and getattr(x, "ndim", 0) == 0:  # NumPy scalars, 0-d arrays
        return _new(float(x), None, None)
    raise TypeError(f"{op.name}: unsupported operand for Value: {type(x).__name__}")


def _new(data: float, op: Op | None, x: Value | None) -> Value:
    """A Value made by a unary op from x, or a constant when op is None."""
    v = _bare(Value)
    v.data = data
    v.grad = 0.0
    v.op = op
    v._x = x
    v._y = None
    v.label = None
    v.requires_grad = op is not None
    v._written_at = clock[0]
    return v


def _unary(op: Op, x: Value) -> Value:
    try:
        data = op.scalar_forward(x.data)  # type: ignore[misc]
    except ArithmeticError:
        data = scalar_eval(op, x.data)
    if x.requires_grad and (mode := _grad_mode.on_each_op):
        v = _new(data, op, x)
        if mode == RECORD_AND_CHECK:
            check_forward(v)
        return v
    return _new(data, None, None)


def _apply(op: Op, inputs: tuple[Value, ...]) -> Value:
    """Run op on the inputs' floats and record the result when any input requires grad."""
    return _binary_operator(op)(*inputs) if len(inputs) == 2 else _unary(op, *inputs)
