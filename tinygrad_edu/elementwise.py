"""PyTorch's torch.xxx spellings of the elementwise methods: `tg.maximum(a, b)`, `tg.sqrt(x)`, ...

Each calls the method of its first argument (a Tensor, or a Value where the method exists); numbers and
arrays become constant Tensors. (A module of its own: its `abs` and `round` would hide Python's elsewhere.)
"""

from __future__ import annotations

from typing import Any

from .engine import Node
from .tensor import Tensor


def _operand(x: Any) -> Any:
    return x if isinstance(x, Node) else Tensor(x)


def maximum(input: Any, other: Any) -> Any:  # noqa: A002 (PyTorch's names)
    """The larger of two tensors, elementwise (broadcasting); a tie splits the gradient half and half.

    >>> maximum(Tensor([1.0, 5.0]), Tensor([3.0, 2.0]))
    Tensor([3., 5.])
    """
    return _operand(input).maximum(other)


def minimum(input: Any, other: Any) -> Any:  # noqa: A002
    """The smaller of two tensors, elementwise (broadcasting); a tie splits the gradient half and half."""
    return _operand(input).minimum(other)


def add(input: Any, other: Any, *, alpha: Any = 1) -> Any:  # noqa: A002
    """input + alpha·other (see Tensor.add)."""
    x = _operand(input)
    return x.add(other, alpha=alpha) if isinstance(x, Tensor) else x + (other if alpha == 1 else other * alpha)


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Any:  # noqa: A002
    """input - alpha·other (see Tensor.sub)."""
    x = _operand(input)
    return x.sub(other, alpha=alpha) if isinstance(x, Tensor) else x - (other if alpha == 1 else other * alpha)


subtract = sub


def mul(input: Any, other: Any) -> Any:  # noqa: A002
    """input · other elementwise."""
    return _operand(input) * other


multiply = mul


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Any:  # noqa: A002
    """input / other elementwise, or its quotient rounded "floor" or "trunc" (see Tensor.div)."""
    x = _operand(input)
    return x / other if rounding_mode is None else x.div(other, rounding_mode=rounding_mode)


divide = div


def true_divide(input: Any, other: Any) -> Any:  # noqa: A002
    """input / other elementwise, a float quotient also of integers."""
    return _operand(input) / other


def pow(input: Any, exponent: Any) -> Any:  # noqa: A001, A002
    """input ** exponent elementwise; input may be a number (`tg.pow(2, x)`)."""
    return _operand(input) ** exponent


def neg(input: Any) -> Any:  # noqa: A002
    """-input elementwise."""
    return -_operand(input)


negative = neg


def isnan(input: Any) -> Tensor:  # noqa: A002
    """True where input is NaN: a boolean tensor."""
    return (input if isinstance(input, Tensor) else Tensor(input)).isnan()


def isinf(input: Any) -> Tensor:  # noqa: A002
    """True where input is infinite: a boolean tensor."""
    return (input if isinstance(input, Tensor) else Tensor(input)).isinf()


def isfinite(input: Any) -> Tensor:  # noqa: A002
    """True where input is neither NaN nor infinite: a boolean tensor."""
    return (input if isinstance(input, Tensor) else Tensor(input)).isfinite()


def clamp(input: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002
    """input limited to [min, max] (see Tensor.clamp)."""
    return _operand(input).clamp(min, max)


clip = clamp


def sqrt(input: Any) -> Any:  # noqa: A002
    """√x elementwise."""
    return _operand(input).sqrt()


def rsqrt(input: Any) -> Any:  # noqa: A002
    """1/√x elementwise."""
    return _operand(input).rsqrt()


def abs(input: Any) -> Any:  # noqa: A001, A002
    """|x| elementwise."""
    return _operand(input).abs()


def sign(input: Any) -> Any:  # noqa: A002
    """-1, 0 or 1 elementwise (gradient 0)."""
    return _operand(input).sign()


def sin(input: Any) -> Any:  # noqa: A002
    """The sine, elementwise."""
    return _operand(input).sin()


def cos(input: Any) -> Any:  # noqa: A002
    """The cosine, elementwise."""
    return _operand(input).cos()


def exp(input: Any) -> Any:  # noqa: A002
    """e**x elementwise."""
    return _operand(input).exp()


def log(input: Any) -> Any:  # noqa: A002
    """The natural logarithm, elementwise."""
    return _operand(input).log()


def log2(input: Any) -> Any:  # noqa: A002
    """The base-2 logarithm, elementwise."""
    return _operand(input).log2()


def log1p(input: Any) -> Any:  # noqa: A002
    """log(1 + x) elementwise, exact also for tiny x."""
    return _operand(input).log1p()


def expm1(input: Any) -> Any:  # noqa: A002
    """exp(x) - 1 elementwise, exact also for tiny x."""
    return _operand(input).expm1()


def square(input: Any) -> Any:  # noqa: A002
    """x ** 2 elementwise."""
    return _operand(input).square()


def reciprocal(input: Any) -> Any:  # noqa: A002
    """1 / x elementwise."""
    return _operand(input).reciprocal()


def erf(input: Any) -> Any:  # noqa: A002
    """The error function, elementwise."""
    return _operand(input).erf()


def tanh(input: Any) -> Any:  # noqa: A002
    """The hyperbolic tangent, elementwise."""
    return _operand(input).tanh()


def sigmoid(input: Any) -> Any:  # noqa: A002
    """1 / (1 + e**-x) elementwise."""
    return _operand(input).sigmoid()


def relu(input: Any) -> Any:  # noqa: A002
    """max(x, 0) elementwise."""
    return _operand(input).relu()


def round(input: Any, decimals: int = 0) -> Any:  # noqa: A001, A002
    """Rounded to `decimals` places, halves to even (gradient 0)."""
    return _operand(input).round(decimals)


def floor(input: Any) -> Any:  # noqa: A002
    """Rounded down, elementwise (gradient 0)."""
    return _operand(input).floor()


def ceil(input: Any) -> Any:  # noqa: A002
    """Rounded up, elementwise (gradient 0)."""
    return _operand(input).ceil()


def remainder(input: Any, other: Any) -> Any:  # noqa: A002
    """input % other, with the sign of the divisor."""
    return _operand(input) % other


def floor_divide(input: Any, other: Any) -> Any:  # noqa: A002
    """input // other, rounded down (not differentiable)."""
    return _operand(input) // other


def isclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:  # noqa: A002
    """|input - other| <= atol + rtol·|other|, elementwise: a boolean tensor."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    return x.isclose(other, rtol=rtol, atol=atol, equal_nan=equal_nan)


def logical_not(input: Any) -> Tensor:  # noqa: A002
    """True where input is 0 (or False): a boolean tensor."""
    return (input if isinstance(input, Tensor) else Tensor(input)).logical_not()


def logical_and(input: Any, other: Any) -> Tensor:  # noqa: A002
    """input and other (nonzero is true), elementwise: a boolean tensor."""
    return (input if isinstance(input, Tensor) else Tensor(input)).logical_and(other)


def logical_or(input: Any, other: Any) -> Tensor:  # noqa: A002
    """input or other (nonzero is true), elementwise: a boolean tensor."""
    return (input if isinstance(input, Tensor) else Tensor(input)).logical_or(other)
