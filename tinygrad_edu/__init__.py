"""tinygrad_edu: a small, honest autodiff framework for learning and trusting backpropagation.

The public surface is exactly what is re-exported here.
"""

from . import nn, optim
from .engine import enable_grad, grad, is_grad_enabled, no_grad, topological_order
from .gradcheck import (
    GradcheckError,
    GradcheckReport,
    GradcheckWarning,
    check_module_grads,
    gradcheck,
    gradgradcheck,
    numerical_grad,
)
from .ops import REGISTRY, Op
from .tensor import Tensor, concatenate, cross_entropy, ones, randn, stack, zeros
from .value import Value

__all__ = [
    "GradcheckError",
    "GradcheckReport",
    "GradcheckWarning",
    "REGISTRY",
    "Op",
    "Tensor",
    "Value",
    "concatenate",
    "check_module_grads",
    "cross_entropy",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "nn",
    "no_grad",
    "numerical_grad",
    "ones",
    "optim",
    "randn",
    "stack",
    "topological_order",
    "zeros",
]
__version__ = "0.1.0"
