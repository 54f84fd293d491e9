"""Utilities on the gradients of parameters: clipping by their total norm or elementwise (as torch.nn.utils).

They work on the raw gradients that backward() left in `.grad`, in place, between backward() and the
optimizer's step(); nothing is recorded in the graph.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..device import array_module, is_array, launch_bound, to_host

from ..engine import Node
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def clip_grad_norm_(
    parameters: Node | Iterable[Node],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale every gradient by min(1, max_norm / (total + 1e-6)), where total is the norm of all the
    gradients together (as if concatenated); returns total as a 0-d Tensor, as PyTorch does.

    `norm_type` is p of the p-norm (`float("inf")`: the largest |g|). Parameters without a gradient are
    skipped. A total norm that is NaN or infinite raises RuntimeError with `error_if_nonfinite`.
    `foreach` takes the norm of the gradients laid end to end in one array instead of each gradient's: on a
    GPU, a few kernel launches instead of a few per parameter; the total differs only by rounding (norm_type
    0 keeps the per-gradient way). None, the default, chooses it for gradients on a device other than the
    CPU that are small on average, as the optimizers do (device.launch_bound).

    >>> w = Tensor([0.0, 0.0], requires_grad=True); w.grad = np.array([3.0, 4.0])
    >>> clip_grad_norm_([w], max_norm=1.0).item(), w.grad.round(6)
    (5.0, array([0.6, 0.8]))
    """
    params = [parameters] if isinstance(parameters, Node) else list(parameters)
    grads = [(p, _raw(p.grad)) for p in params if p.grad is not None]
    if not grads:
        return Tensor(0.0)
    p_norm = float(norm_type)
    dtype = np.result_type(*(g.dtype if is_array(g) else np.asarray(g).dtype for _, g in grads))
    arrays = [g.astype(dtype, copy=False) if is_array(g) else np.asarray(g, dtype=dtype) for _, g in grads]
    # the total and the factor stay where the gradients are: on a GPU, nothing waits for a copy to the host
    xp = array_module(arrays[0])
    one_device = all(type(a) is type(arrays[0]) for a in arrays)
    # (speed, foreach: for p > 0 the norm of the norms is the norm of all the elements; for p = 0 torch's total
    # counts the gradients with a nonzero element, as the norm of the norms does)
    if one_device and p_norm > 0 and (foreach if foreach is not None else launch_bound(arrays)):
        total = _norm(xp.concatenate([a.ravel() for a in arrays]), p_norm)
    else:
        norms = [_norm(a, p_norm) for a in arrays]
        if not one_device:  # their norms meet on the host
            xp, norms = np, [to_host(n) for n in norms]
        total = _norm(xp.stack(norms), p_norm)
    if error_if_nonfinite and not bool(xp.isfinite(total)):  # (the one read of a device value, when asked)
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients of {len(grads)} parameters is "
            f"non-finite ({float(total)}), so it cannot be clipped; pass error_if_nonfinite=False to scale the "
            "gradients by it anyway"
        )
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)  # always applied, as in PyTorch (a factor of 1 changes nothing)
    if not one_device:
        coef = float(coef)  # (a number: what every device's arrays take)
    for p, _ in grads:
        _scale_grad(p, coef)
    return Tensor(total)


def clip_grad_value_(parameters: Node | Iterable[Node], clip_value: float) -> None:
    """Clip every gradient elementwise into [-clip_value, clip_value], in place.

    >>> w = Tensor([0.0, 0.0], requires_grad=True); w.grad = np.array([3.0, -0.5])
    >>> clip_grad_value_([w], 1.0); w.grad
    array([ 1. , -0.5])
    """
    params = [parameters] if isinstance(parameters, Node) else list(parameters)
    limit = float(clip_value)
    for p in params:
        g = p.grad
        if g is None:
            continue
        if is_array(g):
            np.clip(g, -limit, limit, out=g)
        elif isinstance(g, Node):  # a gradient kept as a graph (create_graph=True): replaced by its clipped data
            p.grad = np.clip(g.data, -limit, limit)
        else:  # a Value's float gradient
            p.grad = min(max(g, -limit), limit)


def _raw(g: Any) -> Any:
    return g.data if isinstance(g, Node) else g


def _norm(x: np.ndarray, p: float) -> Any:
    """The p-norm of all the elements of x, as torch.linalg.vector_norm."""
    a = np.abs(x)
    if p == math.inf:
        return a.max() if a.size else a.dtype.type(0)
    if p == -math.inf:
        return a.min()
    if p == 0:
        return (a != 0).sum(dtype=a.dtype)  # (not dtype.type(count): NumPy cannot read a device's 0-d count)
    if p == 2:
        return np.sqrt(np.sum(a * a))
    if p == 1:
        return a.sum()
    return np.sum(a**p) ** (1.0 / p)


def _scale_grad(p: Node, coef: Any) -> None:
    """p's gradient times coef (a 0-d array where the gradients are, or a number)."""
    g = p.grad
    if is_array(g):
        g *= coef
    elif isinstance(g, Tensor):  # one kept as a graph (create_graph=True): scaled as a new one
        p.grad = g * coef
    else:  # a Value's float gradient (or graph): a number on the host
        p.grad = g * float(coef)
