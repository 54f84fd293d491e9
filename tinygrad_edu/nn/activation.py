"""Activation modules beyond ReLU, Sigmoid and Tanh, and softmax's family, with PyTorch's class names,
arguments and reprs.

Each calls its function in `nn.functional` (Tensor or Value; softmax's family, Tensors only). `inplace` is accepted where PyTorch's
constructor has it, for code written for PyTorch; the result is always a new tensor.
"""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


def _inplace(inplace: bool) -> str:
    return "inplace=True" if inplace else ""


class GELU(Module):
    """x·Φ(x) (approximate="none"), or its tanh approximation (approximate="tanh").

    >>> GELU(approximate="tanh")
    GELU(approximate='tanh')
    """

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: F.T) -> F.T:  # noqa: A002 (PyTorch's names)
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x·sigmoid(x)."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def forward(self, input: F.T) -> F.T:  # noqa: A002
        return F.silu(input)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class LeakyReLU(Module):
    """x where x > 0, negative_slope·x elsewhere."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: F.T) -> F.T:  # noqa: A002
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, (f"negative_slope={self.negative_slope}", _inplace(self.inplace))))


class ELU(Module):
    """x where x > 0, α(eˣ - 1) elsewhere."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: F.T) -> F.T:  # noqa: A002
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, (f"alpha={self.alpha}", _inplace(self.inplace))))


class SELU(Module):
    """scale·elu(x, α) with the self-normalising constants."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def forward(self, input: F.T) -> F.T:  # noqa: A002
        return F.selu(input)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class Softplus(Module):
    """log(1 + exp(βx))/β, and x where βx > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta, self.threshold = beta, threshold

    def forward(self, input: F.T) -> F.T:  # noqa: A002
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    """x / (1 + |x|)."""

    def forward(self, input: F.T) -> F.T:  # noqa: A002
        return F.softsign(input)


class Hardtanh(Module):
    """x limited to [min_val, max_val] (gradient 0 on the bounds).

    >>> Hardtanh(-2.0, 2.0)
    Hardtanh(min_val=-2.0, max_val=2.0)
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        if min_val > max_val:
            raise ValueError(f"{type(self).__name__}: min_val cannot be greater than max_val, got {min_val} > {max_val}")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: F.T) -> F.T:  # noqa: A002
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, (f"min_val={self.min_val}, max_val={self.max_val}", _inplace(self.inplace))))


class ReLU6(Hardtanh):
    """min(max(x, 0), 6): Hardtanh(0, 6), as in PyTorch."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class Hardsigmoid(Module):
    """relu6(x + 3) / 6."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def forward(self, input: F.T) -> F.T:  # noqa: A002
        return F.hardsigmoid(input)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class LogSigmoid(Module):
    """log(sigmoid(x)) = -softplus(-x), without overflow."""

    def forward(self, input: F.T) -> F.T:  # noqa: A002
        return F.logsigmoid(input)


class _AlongDim(Module):
    """What softmax's family shares: the axis `dim` each slice is normalised along (None: torch's old
    implicit choice, with its warning)."""

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """exp(x) / sum(exp(x)) along `dim`: each slice along it a probability distribution.

    >>> from tinygrad_edu import Tensor
    >>> Softmax(dim=1)(Tensor([[0.0, 0.0]]))
    Tensor([[0.5, 0.5]])
    """

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.softmax(input, self.dim)


class LogSoftmax(_AlongDim):
    """x - log(sum(exp(x))) along `dim`: log-probabilities (what nll_loss and kl_div take)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.log_softmax(input, self.dim)


class Softmin(_AlongDim):
    """exp(-x) / sum(exp(-x)) along `dim`: softmax(-x)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.softmin(input, self.dim)
