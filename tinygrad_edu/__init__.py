"""tinygrad_edu: a small, honest autodiff framework for learning and trusting backpropagation.

The public surface is exactly what is re-exported here.
"""

from . import data, nn, optim
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
from .saving import UnsafeFileError, load, save
from .tensor import Tensor, concatenate, cross_entropy, ones, randn, stack, zeros
from .training import Restarts, best_of_restarts, fit
from .value import Value

__all__ = [
    "GradcheckError",
    "GradcheckReport",
    "GradcheckWarning",
    "Op",
    "REGISTRY",
    "Restarts",
    "Tensor",
    "UnsafeFileError",
    "Value",
    "best_of_restarts",
    "check_module_grads",
    "concatenate",
    "cross_entropy",
    "data",
    "enable_grad",
    "fit",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "load",
    "nn",
    "no_grad",
    "numerical_grad",
    "ones",
    "optim",
    "randn",
    "save",
    "stack",
    "topological_order",
    "zeros",
]
__version__ = "0.1.0"
