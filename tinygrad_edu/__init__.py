"""tinygrad_edu: a small, honest autodiff framework for learning and trusting backpropagation.

The public surface is exactly what is re-exported here.
"""

from . import data, nn, optim, viz
from .engine import (
    AnomalyError,
    GradientFlow,
    detect_anomaly,
    enable_grad,
    grad,
    gradient_flow,
    is_grad_enabled,
    no_grad,
    topological_order,
)
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
from .tensor import Tensor, concatenate, cross_entropy, einsum, ones, randn, stack, zeros
from .training import Restarts, best_of_restarts, fit
from .value import Value
from .viz import (
    Drawing,
    GraphStats,
    RendererNotFound,
    draw_graph,
    draw_network,
    explain,
    graph_stats,
    render,
    trace_backward,
)

__all__ = [
    "AnomalyError",
    "Drawing",
    "GradcheckError",
    "GradcheckReport",
    "GradcheckWarning",
    "GradientFlow",
    "GraphStats",
    "Op",
    "REGISTRY",
    "RendererNotFound",
    "Restarts",
    "Tensor",
    "UnsafeFileError",
    "Value",
    "best_of_restarts",
    "check_module_grads",
    "concatenate",
    "cross_entropy",
    "data",
    "detect_anomaly",
    "draw_graph",
    "draw_network",
    "einsum",
    "enable_grad",
    "explain",
    "fit",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "gradient_flow",
    "graph_stats",
    "is_grad_enabled",
    "load",
    "nn",
    "no_grad",
    "numerical_grad",
    "ones",
    "optim",
    "randn",
    "render",
    "save",
    "stack",
    "topological_order",
    "trace_backward",
    "viz",
    "zeros",
]
__version__ = "0.1.0"
