"""tinygrad_edu: a small, honest autodiff framework for learning and trusting backpropagation.

The public surface is exactly what is re-exported here.
"""

from .engine import enable_grad, grad, is_grad_enabled, no_grad, topological_order
from .ops import REGISTRY, Op
from .tensor import Tensor, concatenate, cross_entropy, ones, randn, stack, zeros
from .value import Value

__all__ = [
    "REGISTRY",
    "Op",
    "Tensor",
    "Value",
    "concatenate",
    "cross_entropy",
    "enable_grad",
    "grad",
    "is_grad_enabled",
    "no_grad",
    "ones",
    "randn",
    "stack",
    "topological_order",
    "zeros",
]
__version__ = "0.1.0"
