"""Dropout: zero each element with probability p while training, scale the rest by 1/(1 - p).

The mask is a constant drawn from a NumPy generator (seedable with `rng=`), so the graph holds one
multiplication: the kept elements pass their gradient on, scaled, the dropped ones pass nothing.
In eval mode the layer is the identity (the scaling keeps the expected value the same in both modes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..random import generator as random_generator
from ..tensor import Tensor
from .module import Module

__all__ = ["Dropout", "dropout"]

Rng = np.random.Generator | int | None


def dropout(input: Tensor, p: float = 0.5, training: bool = True, rng: Rng = None) -> Tensor:
    """input with each element zeroed with probability p and the rest scaled by 1/(1 - p) (when training).

    >>> dropout(Tensor(np.ones(6)), p=0.5, rng=0).data
    array([2., 0., 0., 0., 2., 2.])
    """
    _check_p(p, "dropout")
    if not training or p == 0:
        return input
    generator = random_generator(rng, "dropout")
    dtype = input.dtype if input.dtype.kind == "f" else np.dtype(np.float64)
    if p == 1:  # every element dropped (1/(1 - p) would be infinite)
        return input * np.zeros(input.shape, dtype=dtype)
    keep = generator.random(input.shape) >= p
    return input * (keep * (1.0 / (1.0 - p))).astype(dtype)


class Dropout(Module):
    """Dropout with probability p (0.5 by default): random in training, the identity in eval.

    >>> layer = Dropout(0.25, rng=0)
    >>> x = Tensor(np.ones((2, 4)))
    >>> layer(x).data
    array([[1.33333333, 1.33333333, 0.        , 0.        ],
           [1.33333333, 1.33333333, 1.33333333, 1.33333333]])
    >>> layer.eval()(x) is x
    True
    """

    def __init__(self, p: float = 0.5, rng: Rng = None) -> None:
        self.p = _check_p(p, "Dropout")
        self.rng = None if rng is None else random_generator(rng, "Dropout")  # None: the default, when drawn

    def forward(self, input: Tensor) -> Tensor:
        """A new mask every call while training; the input itself in eval mode."""
        return dropout(input, self.p, self.training, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _check_p(p: Any, where: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"{where}: dropout probability has to be between 0 and 1, but got {p!r}")
    return float(p)
