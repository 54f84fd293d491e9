"""Value: a float scalar that records the operations made with it (micrograd's surface)."""

from __future__ import annotations

from typing import Any

from .engine import Node, _grad_mode, check_forward, epoch
from .ops import ADD, DIV, EXP, LOG, MUL, NEG, POW, RELU, SIGMOID, SUB, TANH, Op, scalar_eval


class Value(Node):
    """A float scalar in a computation graph.

    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> e = (a * b + b**2).tanh(); e.backward()
    >>> round(a.grad, 6), round(b.grad, 6)
    (-0.029598, -0.039464)
    """

    __slots__ = ()
    retains_grad = True  # every Value keeps its gradient, as in micrograd, so drawings can show it

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
        return _apply(op, tuple(_as_value(a, op) for a in args))

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={_short(self.grad)}{label})"

    # ---- arithmetic: every operator is one node
    def __add__(self, other: Any) -> Value:
        return _binary(ADD, self, other if type(other) is Value else _as_value(other, ADD))

    def __radd__(self, other: Any) -> Value:
        return _binary(ADD, other if type(other) is Value else _as_value(other, ADD), self)

    def __sub__(self, other: Any) -> Value:
        return _binary(SUB, self, other if type(other) is Value else _as_value(other, SUB))

    def __rsub__(self, other: Any) -> Value:
        return _binary(SUB, other if type(other) is Value else _as_value(other, SUB), self)

    def __mul__(self, other: Any) -> Value:
        return _binary(MUL, self, other if type(other) is Value else _as_value(other, MUL))

    def __rmul__(self, other: Any) -> Value:
        return _binary(MUL, other if type(other) is Value else _as_value(other, MUL), self)

    def __truediv__(self, other: Any) -> Value:
        return _binary(DIV, self, other if type(other) is Value else _as_value(other, DIV))

    def __rtruediv__(self, other: Any) -> Value:
        return _binary(DIV, other if type(other) is Value else _as_value(other, DIV), self)

    def __pow__(self, exponent: Any) -> Value:
        return _binary(POW, self, exponent if type(exponent) is Value else _as_value(exponent, POW))

    def __rpow__(self, base: Any) -> Value:
        return _binary(POW, base if type(base) is Value else _as_value(base, POW), self)

    def __neg__(self) -> Value:
        return _unary(NEG, self)

    def exp(self) -> Value:
        """`e**self` (one "exp" node; d/dx = exp(x))."""
        return _unary(EXP, self)

    def log(self) -> Value:
        """The natural logarithm; raises ValueError for data <= 0 (d/dx = 1/x)."""
        if not self.data > 0:
            raise ValueError(f"log: input must be positive, got {self.data!r}")
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


def _short(x: Any) -> str:
    return f"{x:.6g}" if isinstance(x, float) else repr(x)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Value) else x


def _as_value(x: Any, op: Op) -> Value:
    """An operand as a Value: numbers become constants; a Tensor or anything else is refused."""
    if isinstance(x, Value):
        return x
    if isinstance(x, (int, float)):
        return _new(float(x), None, ())
    if isinstance(x, Node):
        raise TypeError(
            f"{op.name}: cannot combine a Value with a {type(x).__name__}; use Tensor for both, "
            "or turn a one-element Tensor into a number with .item()"
        )
    if hasattr(x, "__float__") and getattr(x, "ndim", 0) == 0:  # NumPy scalars, 0-d arrays
        return _new(float(x), None, ())
    raise TypeError(f"{op.name}: unsupported operand for Value: {type(x).__name__}")


def _new(data: float, op: Op | None, inputs: tuple[Value, ...]) -> Value:
    """A Value made by an op (or a constant when op is None), without __init__'s checks."""
    v = Value.__new__(Value)
    v.data, v.grad, v.op, v.inputs, v.params, v.label, v._epoch = data, 0.0, op, inputs, None, None, epoch[0]
    v.requires_grad = op is not None
    return v


def _binary(op: Op, x: Value, y: Value) -> Value:
    try:  # scalar_eval, inlined: this is the scalar engine's hottest path
        data = op.scalar_forward(x.data, y.data)  # type: ignore[misc]
    except ArithmeticError:  # 1/0, overflow: NumPy's inf/nan instead
        data = scalar_eval(op, x.data, y.data)
    mode = _grad_mode.enabled
    if (x.requires_grad or y.requires_grad) and mode:
        return _new(data, op, (x, y)) if mode == 1 else _checked(_new(data, op, (x, y)))  # 1: no checks
    return _new(data, None, ())  # a constant: nothing to differentiate, nothing to keep alive


def _unary(op: Op, x: Value) -> Value:
    try:
        data = op.scalar_forward(x.data)  # type: ignore[misc]
    except ArithmeticError:
        data = scalar_eval(op, x.data)
    mode = _grad_mode.enabled
    if x.requires_grad and mode:
        return _new(data, op, (x,)) if mode == 1 else _checked(_new(data, op, (x,)))
    return _new(data, None, ())


def _checked(v: Value) -> Value:
    check_forward(v)  # anomaly mode: where it was made, and whether it made NaN or Inf
    return v


def _apply(op: Op, inputs: tuple[Value, ...]) -> Value:
    """Run op on the inputs' floats and record the result when any input requires grad."""
    return _binary(op, *inputs) if len(inputs) == 2 else _unary(op, *inputs)
