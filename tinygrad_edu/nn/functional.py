"""Activations, linear, losses, attention, convolution and pooling as functions (linear, conv and pooling call their
primitives in ops.py); `pad` and `one_hot` are re-exported from the tensor module, the layers'
functional forms from beside their layers.

Activations take a Tensor or a Value, with PyTorch's arguments and defaults: each one op of the
registry, or a few. `inplace` is accepted where PyTorch's function has it, and the result is always
a new tensor.

Every loss takes a prediction Tensor and a target (a Tensor, an ndarray or a list) of exactly the same
shape: a (N, 1) prediction against (N,) targets is an error, not a silent (N, N) broadcast. `reduction`
is "mean" (the default) or "sum".
"""

from __future__ import annotations

import warnings
from typing import Any, TypeVar

import numpy as np

from .. import ops
from ..random import generator as random_generator
from ..tensor import LOSS_REDUCTIONS, Tensor, _apply, where
from ..tensor import cross_entropy as cross_entropy
from ..tensor import one_hot as one_hot
from ..tensor import pad as pad
from ..tensor import nll_loss as nll_loss
from ..value import Value

# layers' functional forms, defined beside their layers (re-exported here, as torch.nn.functional has them)
from .dropout import dropout as dropout
from .embedding import embedding as embedding
from .normalization import batch_norm as batch_norm
from .normalization import group_norm as group_norm
from .normalization import layer_norm as layer_norm

T = TypeVar("T", Tensor, Value)


# --------------------------------------------------------------------------- activations


def relu(x: T) -> T:
    """max(x, 0), elementwise: one node in the graph.

    >>> relu(Tensor([-1.0, 2.0]))
    Tensor([0., 2.])
    """
    return x.relu()


def sigmoid(x: T) -> T:
    """1 / (1 + exp(-x)), elementwise, without overflow: one node in the graph.

    >>> sigmoid(Value(0.0)).data
    0.5
    """
    return x.sigmoid()


def tanh(x: T) -> T:
    """The hyperbolic tangent, elementwise: one node in the graph."""
    return x.tanh()


def identity(x: T) -> T:
    """x itself (no node): the activation of a linear output layer."""
    return x


def _activate(op: ops.Op, x: Any, name: str, **params: Any) -> Any:
    """op applied to a Tensor or a Value: one node, with its params (a Value's node has them bound)."""
    if not isinstance(x, (Tensor, Value)):
        raise TypeError(f"{name}: expected a Tensor or a Value, got {type(x).__name__}")
    return x.apply_op(op, x, **params)


def gelu(input: T, approximate: str = "none") -> T:  # noqa: A002 (PyTorch's names)
    """x·Φ(x), Φ the standard normal CDF: x/2·(1 + erf(x/√2)); with approximate="tanh",
    x/2·(1 + tanh(√(2/π)(x + 0.044715x³))). One node either way.

    >>> gelu(Tensor([-1.0, 0.0, 1.0]))
    Tensor([-0.15865525,  0.        ,  0.84134475])
    """
    if approximate == "none":
        return _activate(ops.GELU, input, "gelu")
    if approximate == "tanh":
        return _activate(ops.GELU_TANH, input, "gelu")
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: T, inplace: bool = False) -> T:  # noqa: A002
    """x·sigmoid(x) (swish), one node. `inplace` is accepted for PyTorch's signature; the result is new."""
    return _activate(ops.SILU, input, "silu")


def softplus(input: T, beta: float = 1.0, threshold: float = 20.0) -> T:  # noqa: A002
    """log(1 + exp(βx))/β, computed stably; x itself where βx > threshold (as PyTorch). One node."""
    return _activate(ops.SOFTPLUS, input, "softplus", beta=float(beta), threshold=float(threshold))


def leaky_relu(input: T, negative_slope: float = 0.01, inplace: bool = False) -> T:  # noqa: A002
    """x where x > 0, negative_slope·x elsewhere; one node (the gradient at 0 is the slope, as PyTorch's).

    >>> leaky_relu(Tensor([-2.0, 3.0]), 0.1)
    Tensor([-0.2,  3. ])
    """
    return _activate(ops.LEAKY_RELU, input, "leaky_relu", negative_slope=float(negative_slope))


def elu(input: T, alpha: float = 1.0, inplace: bool = False) -> T:  # noqa: A002
    """x where x > 0, α(eˣ - 1) elsewhere; one node."""
    return _activate(ops.ELU, input, "elu", alpha=float(alpha))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: T, inplace: bool = False) -> T:  # noqa: A002
    """scale·elu(x, α) with PyTorch's (self-normalising) constants: two nodes, elu and *."""
    return SELU_SCALE * elu(input, SELU_ALPHA)


def softsign(input: T) -> T:  # noqa: A002
    """x / (1 + |x|), from abs, + and /."""
    if not isinstance(input, (Tensor, Value)):
        raise TypeError(f"softsign: expected a Tensor or a Value, got {type(input).__name__}")
    return input / (input.abs() + 1)


def hardtanh(input: T, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> T:  # noqa: A002
    """x limited to [min_val, max_val]; one node. Unlike clamp, the gradient is 0 on the bounds (PyTorch's).

    >>> hardtanh(Tensor([-3.0, 0.5, 3.0]))
    Tensor([-1. ,  0.5,  1. ])
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got {min_val} > {max_val}")
    return _activate(ops.HARDTANH, input, "hardtanh", min_val=float(min_val), max_val=float(max_val))


def relu6(input: T, inplace: bool = False) -> T:  # noqa: A002
    """min(max(x, 0), 6): hardtanh(x, 0, 6), as PyTorch computes it (gradient 0 at 0 and 6)."""
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input: T, inplace: bool = False) -> T:  # noqa: A002
    """relu6(x + 3) / 6, written hardtanh(x/6 + 1/2, 0, 1): the same values, and PyTorch's gradient
    (1/6 strictly between -3 and 3, else 0)."""
    return hardtanh(input / 6 + 0.5, 0.0, 1.0)


def logsigmoid(input: T) -> T:  # noqa: A002
    """log(sigmoid(x)) = -softplus(-x), without overflow for any x: two nodes, softplus (with no
    threshold: its exact value everywhere) and negation.

    >>> logsigmoid(Tensor([0.0, -1000.0]))
    Tensor([-6.93147181e-01, -1.00000000e+03])
    """
    return -_activate(ops.SOFTPLUS, -input, "logsigmoid", beta=1.0, threshold=float("inf"))


# softmax and its relatives normalise along one axis, `dim` (PyTorch's name)


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:  # noqa: A002
    """exp(x) / sum(exp(x)) along `dim`, without overflow: one node (Tensor.softmax). With `dtype`, the
    input is cast to it first. Without `dim`, torch's old implicit rule, with its warning.

    >>> softmax(Tensor([[0.0, 0.0], [0.0, np.log(3.0)]]), dim=1)
    Tensor([[0.5 , 0.5 ],
            [0.25, 0.75]])
    """
    return _softmax_input(input, dtype, "softmax").softmax(axis=_softmax_dim(input, dim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:  # noqa: A002
    """x - log(sum(exp(x))) along `dim`, without overflow: one node (Tensor.log_softmax)."""
    return _softmax_input(input, dtype, "log_softmax").log_softmax(axis=_softmax_dim(input, dim, "log_softmax"))


def softmin(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:  # noqa: A002
    """exp(-x) / sum(exp(-x)) along `dim`: softmax(-x), the smallest elements weighted most."""
    return (-_softmax_input(input, dtype, "softmin")).softmax(axis=_softmax_dim(input, dim, "softmin"))


def _softmax_input(input: Any, dtype: Any, name: str) -> Tensor:  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
    return input if dtype is None else input.astype(dtype)


def _softmax_dim(input: Tensor, dim: int | None, name: str) -> int:  # noqa: A002
    """`dim`, or where it is None, the axis torch picked before dim was required (0 for 0-, 1- and 3-d
    inputs, else 1), with torch's warning."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", UserWarning, stacklevel=3)
    return 0 if input.ndim in (0, 1, 3) else 1


# The one table of activations by name: what MLP, Neuron, ScalarMLP and NeuronNetwork accept, each
# with its default arguments (nn.layers.ACTIVATION_MODULES gives the module of each name).
ACTIVATIONS = {
    "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "identity": identity,
    "gelu": gelu, "silu": silu, "softplus": softplus, "leaky_relu": leaky_relu, "elu": elu, "selu": selu,
    "softsign": softsign, "hardtanh": hardtanh, "relu6": relu6, "hardsigmoid": hardsigmoid,
}


def activation(name: str | None) -> Any:
    """The activation function called `name` (a key of ACTIVATIONS, e.g. "relu", "gelu"; None is identity)."""
    key = "identity" if name is None else name
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)} (or None)")
    return ACTIVATIONS[key]


# --------------------------------------------------------------------------- linear


def linear(input: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002 (PyTorch's names)
    """input @ weightᵀ + bias over the last axis of the input, as torch's F.linear: one node in the graph.

    `weight` has shape (out_features, in_features) and `bias`, if given, (out_features,); the input
    has shape (..., in_features) (a Tensor, or numbers taken in the weight's dtype).

    >>> w, b = Tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]), Tensor([0.5, 0.0, -1.0])
    >>> linear(Tensor([[1.0, 2.0]]), w, b)
    Tensor([[1.5, 3. , 3. ]])
    """
    if not isinstance(weight, Tensor):
        raise TypeError(f"linear: the weight must be a Tensor, got {type(weight).__name__}")
    x = input if type(input) is Tensor or isinstance(input, Tensor) else Tensor(np.asarray(input), dtype=weight.dtype)
    if weight.ndim != 2:
        raise RuntimeError(f"linear: the weight must have shape (out_features, in_features), got shape {weight.shape}")
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != weight.shape[:1]):
        raise RuntimeError(f"linear: expected a bias Tensor of shape ({weight.shape[0]},) for a weight of shape "
                           f"{weight.shape}, got {bias.shape if isinstance(bias, Tensor) else type(bias).__name__}")
    dtype = weight.data.dtype  # as in PyTorch and conv2d: no silent float64 work in a float32 layer
    if x.data.dtype is not dtype or (bias is not None and bias.data.dtype is not dtype):  # (NumPy's dtypes are singletons)
        for name, t in (("input", x), ("bias", bias)):
            if t is not None and t.dtype != dtype:
                raise RuntimeError(f"linear: the {name} ({t.dtype}) and the weight ({dtype}) must have the same "
                                   f"dtype (cast the {name}: .to({dtype.name!r}))")
    return _apply(ops.LINEAR, (x, weight) if bias is None else (x, weight, bias))


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:  # noqa: A002
    """input divided by its p-norm along `dim` (at least eps, so a zero vector stays zero), as torch's
    F.normalize: unit vectors, the step before a cosine similarity.

    >>> normalize(Tensor([[3.0, 4.0]])).tolist()
    [[0.6, 0.8]]
    """
    return input / input.norm(p, dim=dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """The cosine of the angle between x1 and x2 along `dim` (they broadcast together), as torch's
    F.cosine_similarity: each divided by its 2-norm (at least eps), then their dot product.

    >>> cosine_similarity(Tensor([[1.0, 0.0], [1.0, 1.0]]), Tensor([[0.0, 2.0], [2.0, 2.0]])).tolist()
    [0.0, 0.9999999999999998]
    """
    if not isinstance(x1, Tensor) or not isinstance(x2, Tensor):
        raise TypeError(f"cosine_similarity: x1 and x2 must be Tensors, got {type(x1).__name__} and {type(x2).__name__}")
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise RuntimeError(f"cosine_similarity: shapes {x1.shape} and {x2.shape} do not broadcast") from None
    if not -len(shape) <= dim < max(len(shape), 1):
        raise IndexError(f"cosine_similarity: dim {dim} is out of range for shape {shape}")
    unit1 = x1 / x1.norm(2, dim=dim, keepdim=True).clamp(min=eps)
    unit2 = x2 / x2.norm(2, dim=dim, keepdim=True).clamp(min=eps)
    return (unit1 * unit2).sum(dim)


# --------------------------------------------------------------------------- losses


def mse_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum) of squared errors (pred - target)²: the post's (y - a₉)² on a batch.

    One `mse_loss` node in the graph, as in PyTorch (for reduction="none", or a target of another
    dtype, the subtract and square are recorded as they are).

    >>> mse_loss(Tensor([1.0, 2.0]), [0.0, 4.0]).item()
    2.5
    """
    target = _target(pred, target, "mse_loss")
    if reduction in ("mean", "sum") and pred.dtype.kind == "f" and target.dtype == pred.dtype:
        return _apply(ops.MSE_LOSS, (pred, target), {"reduction": reduction})  # one node (N: 1 for "sum")
    return _reduce((pred - target) ** 2, reduction, "mse_loss")


def l1_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum) of absolute errors |pred - target|, as torch's (the gradient at an exact fit is 0).

    >>> l1_loss(Tensor([1.0, 2.0]), [0.0, 4.0]).item()
    1.5
    """
    return _reduce((pred - _target(pred, target, "l1_loss")).abs(), reduction, "l1_loss")


def huber_loss(pred: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Squared error near the target, absolute error far from it, as torch's: for d = pred - target,
    d²/2 where |d| < delta, else delta·(|d| - delta/2) (the two meet with the same slope at |d| = delta).

    >>> huber_loss(Tensor([0.5, 3.0]), [0.0, 0.0]).item()   # (0.125 + 2.5) / 2
    1.3125
    """
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta!r}")
    return _reduce(_huber(pred - _target(pred, target, "huber_loss"), delta), reduction, "huber_loss")


def smooth_l1_loss(pred: Tensor, target: Any, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """huber_loss / beta, as torch's: for d = pred - target, d²/(2·beta) where |d| < beta, else
    |d| - beta/2; beta = 0 is the L1 loss.

    >>> smooth_l1_loss(Tensor([0.5, 3.0]), [0.0, 0.0]).item()   # (0.125 + 2.5) / 2
    1.3125
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be 0 or more, got {beta!r}")
    d = pred - _target(pred, target, "smooth_l1_loss")
    return _reduce(d.abs() if beta == 0 else _huber(d, beta) / beta, reduction, "smooth_l1_loss")


def _huber(d: Tensor, delta: float) -> Tensor:
    """Elementwise d²/2 where |d| < delta, delta·(|d| - delta/2) elsewhere."""
    size = d.abs()
    return where(size < delta, 0.5 * d * d, delta * (size - 0.5 * delta))


def binary_cross_entropy(prob: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1] and targets y in [0, 1].

    Nothing is clipped, so every gradient is the true one. A term whose weight is 0 counts as 0 even
    where its log is -inf (0·log 0 = 0, so p = 0 with y = 0 is fine); a probability of exactly 0 or 1
    that makes the loss infinite is an error. For outputs of a sigmoid prefer
    `binary_cross_entropy_with_logits`, which is stable for any logit.

    >>> round(binary_cross_entropy(Tensor([0.5, 0.9]), [1.0, 1.0]).item(), 6)
    0.399254
    """
    name = "binary_cross_entropy"
    y = _target(prob, target, name)
    p = prob.data
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"{name}: probabilities must lie in [0, 1]; got values from {np.nanmin(p)!r} to {np.nanmax(p)!r}")
    if not np.all((y.data >= 0) & (y.data <= 1)):
        raise ValueError(f"{name}: targets must lie in [0, 1]; got values from {y.data.min()!r} to {y.data.max()!r}")
    infinite = ((p == 0) & (y.data > 0)) | ((p == 1) & (y.data < 1))
    if infinite.any():
        raise ValueError(
            f"{name}: the loss is infinite: {int(infinite.sum())} probabilities are exactly 0 or 1 against a "
            "target on the other side; use binary_cross_entropy_with_logits on the logits instead"
        )
    loss = -(y * _log_weighted(prob, y.data) + (1 - y) * _log_weighted(1 - prob, 1 - y.data))
    return _reduce(loss, reduction, name)


def _log_weighted(x: Tensor, weight: np.ndarray) -> Tensor:
    """log x, except that where weight == 0 and x == 0 it is log 1 = 0 (so the weighted term is 0·0)."""
    unused = (weight == 0) & (x.data == 0)
    if not unused.any():
        return x.log()
    return (x * ~unused + unused).log()  # those elements become the constant 1: no gradient, as 0·log x has none


def binary_cross_entropy_with_logits(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """binary_cross_entropy(sigmoid(x), y), computed stably from the logits x for any size of x.

    softplus(x) - x·y, where softplus(x) = log(1 + eˣ) is written as x + log(1 + e⁻ˣ) for x ≥ 0 and
    log(1 + eˣ) for x < 0: max(x, 0) + log(1 + e^-|x|), so no exponent is positive. The sign of x picks
    the branch as a constant, so the gradient is exactly sigmoid(x) - y, also at x = 0.

    >>> round(binary_cross_entropy_with_logits(Tensor([0.0, 1000.0]), [1.0, 1.0]).item(), 6)
    0.346574
    """
    name = "binary_cross_entropy_with_logits"
    y = _target(logits, target, name)
    if not np.all((y.data >= 0) & (y.data <= 1)):
        raise ValueError(f"{name}: targets must lie in [0, 1]; got values from {y.data.min()!r} to {y.data.max()!r}")
    positive = (logits.data >= 0).astype(logits.dtype)  # constants: which branch each element takes
    sign = 2 * positive - 1
    softplus = logits * positive + (1 + (-(logits * sign)).exp()).log()
    return _reduce(softplus - logits * y, reduction, name)


def kl_div(input: Tensor, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:  # noqa: A002
    """The Kullback-Leibler divergence of the prediction from the target, elementwise as torch's:
    target·(log target - input), where `input` is log-probabilities (log_softmax's output) and `target`
    probabilities, or, with log_target=True, log-probabilities too: exp(target)·(target - input).

    A target of 0 adds 0 (0·log 0 = 0, as torch's xlogy). `reduction`: "batchmean" divides the sum by the
    batch size (input.shape[0]): the divergence of each sample's distribution, on average, the true KL.
    "mean" (the default, as torch's) divides by the number of elements instead; "sum" and "none" as in
    the other losses.

    >>> p = Tensor(np.log([[0.5, 0.5]]))            # KL([1/4, 3/4] ‖ [1/2, 1/2])
    >>> round(kl_div(p, [[0.25, 0.75]], reduction="batchmean").item(), 6)
    0.130812
    """
    name = "kl_div"
    y = _target(input, target, name)
    if log_target:
        loss = y.exp() * (y - input)
    else:
        if np.any(y.data < 0):
            raise ValueError(f"{name}: targets must be probabilities (0 or more) when log_target=False; the smallest "
                             f"is {float(y.data.min())} (pass log_target=True for log-probabilities)")
        loss = y * _log_weighted(y, y.data) - y * input
    if reduction == "batchmean":  # (a 0-d input is its own batch of one, as in torch)
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    if reduction in LOSS_REDUCTIONS:
        return _reduce(loss, reduction, name)
    raise ValueError(f"{name}: reduction must be one of {(*LOSS_REDUCTIONS, 'batchmean')}, got {reduction!r}")


def hinge_loss(scores: Tensor, labels: Any, reduction: str = "mean") -> Tensor:
    """The max-margin (SVM) loss of micrograd's demo: mean(relu(1 - y·score)) for labels y in {-1, +1}.

    >>> hinge_loss(Tensor([2.0, 0.0, -0.5]), [1, 1, -1]).item()   # (0 + 1 + 0.5) / 3
    0.5
    """
    name = "hinge_loss"
    y = _target(scores, labels, name)
    if not bool(((y.data == 1) | (y.data == -1)).all()):
        raise ValueError(f"{name}: labels must be -1 or +1; got {np.unique(y.data)[:10].tolist()}")
    return _reduce((1 - y * scores).relu(), reduction, name)


# --------------------------------------------------------------------------- checks


def _target(pred: Any, target: Any, name: str) -> Tensor:
    """The target as a Tensor of the prediction's exact shape (a Tensor target keeps its graph)."""
    if not isinstance(pred, Tensor):
        raise TypeError(
            f"{name}: the prediction must be a Tensor, got {type(pred).__name__}"
            + (" (for Values, write the loss with Value arithmetic)" if isinstance(pred, (Value, list)) else "")
        )
    if isinstance(target, Value):
        raise TypeError(f"{name}: the target must be a Tensor, an ndarray or numbers, not a Value")
    if not isinstance(target, Tensor):
        array = np.asarray(target)
        if array.dtype.kind not in "fiub":
            raise TypeError(f"{name}: the target must be numbers, got an array of dtype {array.dtype}")
        target = Tensor(array, dtype=pred.dtype, device=pred.device)  # a float32 model keeps a float32 loss
    if target.shape != pred.shape:
        raise ValueError(
            f"{name}: the prediction has shape {pred.shape} but the target has shape {target.shape}; they "
            "must match exactly (reshape one, e.g. pred.reshape(-1), rather than rely on broadcasting)"
        )
    return target


def _reduce(loss: Tensor, reduction: str, name: str) -> Tensor:
    """The elementwise loss reduced as torch's `reduction` says: "mean", "sum", or "none" (as it is)."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be one of {LOSS_REDUCTIONS}, got {reduction!r}")


# --------------------------------------------------------------------------- attention


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    *,
    rng: np.random.Generator | int | None = None,
) -> Tensor:
    """softmax(query @ keyᵀ · scale + mask) @ value, as torch's: each of the L queries takes a weighted
    mean of the S values, weighted by how well it matches each key.

    Shapes (..., L, E), (..., S, E), (..., S, Ev) -> (..., L, Ev), the leading axes broadcast. `scale`
    defaults to 1/√E. `attn_mask` broadcasts to (..., L, S): a boolean mask says which keys each query
    may look at (True: takes part), a float mask is added to the scores. `is_causal` lets query i look
    at keys 0..i only (no attn_mask then). A query that may look nowhere gets zeros, as in torch.
    `dropout_p` zeroes attention weights at random (and scales the rest by 1/(1 - p)); `rng` (a NumPy
    Generator or a seed, our addition) makes that repeatable.

    >>> q = Tensor(np.eye(2)); v = Tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> scaled_dot_product_attention(q, q, v, is_causal=True)   # the first query sees the first key only
    Tensor([[1.       , 2.       ],
            [2.3395231, 3.3395231]])
    """
    name = "scaled_dot_product_attention"
    for which, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {which} must be a Tensor, got {type(t).__name__}")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(
            f"{name}: query, key and value need at least 2 dimensions, (..., L, E), (..., S, E) and (..., S, Ev); "
            f"got shapes {query.shape}, {key.shape} and {value.shape}"
        )
    if key.shape[-1] != query.shape[-1] or value.shape[-2] != key.shape[-2]:
        raise RuntimeError(
            f"{name}: expected query (..., L, E), key (..., S, E) and value (..., S, Ev) with the same E in query "
            f"and key and the same S in key and value; got shapes {query.shape}, {key.shape} and {value.shape}"
        )
    try:
        batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise RuntimeError(
            f"{name}: the leading (batch) axes of query {query.shape}, key {key.shape} and value {value.shape} "
            "do not broadcast together"
        ) from None
    scores_shape = batch + (query.shape[-2], key.shape[-2])
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{name}: an explicit attn_mask should not be given with is_causal=True")
    if is_causal:  # query i may look at keys 0..i (top-left aligned when L != S, as torch)
        attn_mask = np.tril(np.ones(scores_shape[-2:], dtype=bool))
    bias = None if attn_mask is None else _attention_bias(attn_mask, scores_shape, query.dtype, name, true_takes_part=True)
    scale = 1.0 / float(np.sqrt(query.shape[-1])) if scale is None else scale
    weights = _attention_weights(query, key, bias, scale, dropout_p, rng, empty_rows_attend_to_nothing=True)
    return weights @ value


def _attention_weights(
    query: Tensor,
    key: Tensor,
    bias: Tensor | np.ndarray | None,
    scale: float,
    dropout_p: float = 0.0,
    rng: np.random.Generator | int | None = None,
    empty_rows_attend_to_nothing: bool = False,
) -> Tensor:
    """softmax(query @ keyᵀ · scale + bias) over the keys, then dropout: the weights of attention.

    `bias` is added to the scores (0 where a key takes part, -inf where it does not, or any float). A
    row with no key left gives nan from the softmax, or, with `empty_rows_attend_to_nothing` (torch's
    scaled_dot_product_attention), zeros: its -inf are replaced by 0 before the softmax and the row is
    multiplied by 0 after it (a constant bias only).
    """
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"attention: dropout_p must be between 0 and 1, got {dropout_p!r}")
    scores = (query @ key.swapaxes(-1, -2)) * scale
    keep = None
    if bias is not None and not isinstance(bias, Tensor) and empty_rows_attend_to_nothing:  # (host or device)
        empty = (bias == -np.inf).all(axis=-1, keepdims=True)  # rows where no key takes part
        if empty.any():
            bias = np.where(empty, 0.0, bias).astype(bias.dtype)
            keep = (~empty).astype(scores.dtype)
    if bias is not None:
        scores = scores + bias
    weights = scores.softmax(axis=-1)
    if keep is not None:
        weights = weights * keep
    if dropout_p > 0:
        generator = random_generator(rng, "scaled_dot_product_attention")
        kept = generator.random(weights.shape) >= dropout_p
        weights = weights * (kept / (1.0 - dropout_p) if dropout_p < 1 else kept).astype(weights.dtype)
    return weights


def _attention_bias(mask: Any, shape: tuple[int, ...], dtype: np.dtype, name: str, true_takes_part: bool) -> Any:
    """A mask as what is added to the attention scores: a constant array of 0 and -inf for a boolean
    mask (True: takes part, or with `true_takes_part` False: is left out), the mask itself for floats
    (a Tensor that requires grad stays in the graph). It must broadcast to `shape` (..., L, S)."""
    array = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if array.dtype.kind not in "bf":
        raise TypeError(f"{name}: attn_mask must be boolean or floating point, got dtype {array.dtype}")
    try:
        fits = np.broadcast_shapes(array.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(
            f"{name}: the mask of shape {array.shape} does not broadcast to the attention scores' shape {shape} (..., L, S)"
        )
    if array.dtype.kind == "b":
        return np.where(array == true_takes_part, 0.0, -np.inf).astype(dtype)
    if isinstance(mask, Tensor) and mask.requires_grad:
        return mask
    return array.astype(dtype)
# --------------------------------------------------------------------------- convolution and pooling
# NCHW images (or CHW, unbatched) and torch's kernel layout (C_out, C_in/groups, kH, kW). conv2d,
# its input and weight gradients and max_pool2d are primitives (see ops.py); conv1d is conv2d on
# images one row high, avg_pool2d a depthwise conv2d with a constant kernel, adaptive_avg_pool2d two
# matmuls with constant averaging matrices.

IntOrPair = int | tuple[int, ...]


def conv2d(input: Any, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
           padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    """2-d cross-correlation of images (N, C_in, H, W) with kernels (C_out, C_in/groups, kH, kW), as torch's.

    `padding` is zeros around each side: an int, a pair (height, width), "valid" (none) or "same"
    (the output keeps the input's size; stride 1 only).

    >>> x, w = Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), Tensor(np.ones((1, 1, 2, 2)))
    >>> conv2d(x, w, stride=2).data[0, 0]
    array([[10., 18.],
           [42., 50.]])
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input: Any, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
           padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    """1-d cross-correlation of sequences (N, C_in, L) with kernels (C_out, C_in/groups, k), as torch's:
    conv2d on images one row high.

    >>> conv1d(Tensor([[[1.0, 2.0, 3.0, 4.0]]]), Tensor([[[1.0, -1.0]]])).data
    array([[[-1., -1., -1.]]])
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv_padding(name: str, padding: IntOrPair | str, kernel: tuple[int, ...], stride: tuple[int, ...],
                 dilation: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Padding (before, after) per spatial axis from torch's spellings: an int, a tuple, "valid" or "same"."""
    dims = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * dims
        if padding != "same":
            raise ValueError(f"{name}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions (stride={stride})")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]  # torch puts the odd one after
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in _ints(name, "padding", padding, dims, minimum=0))


def _conv(name: str, dims: int, input: Any, weight: Tensor, bias: Tensor | None, stride: IntOrPair,
          padding: IntOrPair | str, dilation: IntOrPair, groups: int) -> Tensor:
    if not isinstance(weight, Tensor):
        raise TypeError(f"{name}: the weight must be a Tensor, got {type(weight).__name__}")
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input), dtype=weight.dtype)
    kernel_axes = ", ".join(("kH", "kW")[2 - dims:])
    if weight.ndim != dims + 2:
        raise RuntimeError(f"{name}: expected a weight of shape (C_out, C_in/groups, {kernel_axes}), "
                           f"got shape {weight.shape}")
    if x.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"{name}: expected a {dims + 1}-D (unbatched) or {dims + 2}-D (batched) input, "
                           f"got shape {x.shape}")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
    groups = int(groups)
    c_out, c_group = weight.shape[:2]
    kernel = tuple(weight.shape[2:])
    stride_ = _ints(name, "stride", stride, dims, minimum=1)
    dilation_ = _ints(name, "dilation", dilation, dims, minimum=1)
    pads = conv_padding(name, padding, kernel, stride_, dilation_)
    if c_out % groups:
        raise RuntimeError(f"{name}: the weight's {c_out} output channels (shape {weight.shape}) are not "
                           f"divisible by groups={groups}")
    channels = x.shape[-dims - 1]
    if channels != c_group * groups:
        raise RuntimeError(f"{name}: expected an input with {c_group * groups} channels (weight of shape "
                           f"{weight.shape}, groups={groups}), got an input of shape {x.shape}")
    spatial = x.shape[-dims:]
    padded = tuple(n + a + b for n, (a, b) in zip(spatial, pads))
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation_))
    if any(e > p for e, p in zip(extent, padded)):
        raise RuntimeError(f"{name}: the kernel (size {kernel}, dilation {dilation_}, so spanning {extent}) is "
                           f"larger than the padded input {padded} (input shape {x.shape}, padding {pads})")
    if x.dtype != weight.dtype:
        raise RuntimeError(f"{name}: the input ({x.dtype}) and the weight ({weight.dtype}) must have the same dtype")
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != (c_out,)):
        raise RuntimeError(f"{name}: expected a bias Tensor of shape ({c_out},), got "
                           f"{bias.shape if isinstance(bias, Tensor) else type(bias).__name__}")
    if bias is not None and bias.dtype != weight.dtype:  # (the op adds it into its output in place)
        raise RuntimeError(f"{name}: the bias ({bias.dtype}) and the weight ({weight.dtype}) must have the same dtype")
    batched = x.ndim == dims + 2
    if not batched:
        x = x.reshape((1,) + x.shape)
    if dims == 1:  # images one row high
        x = x.reshape(x.shape[:2] + (1,) + x.shape[2:])
        weight = weight.reshape(weight.shape[:2] + (1,) + weight.shape[2:])
        stride_, dilation_, pads = (1,) + stride_, (1,) + dilation_, ((0, 0),) + pads
    inputs = (x, weight) if bias is None else (x, weight, bias)  # the bias is added by the op: one node
    y = ops.call(ops.CONV2D, *inputs, stride=stride_, padding=pads, dilation=dilation_, groups=groups)
    if dims == 1:
        y = y.reshape(y.shape[:2] + y.shape[3:])
    return y if batched else y.reshape(y.shape[1:])


def max_pool2d(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0,
               dilation: IntOrPair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The largest element of each window of images (N, C, H, W) or (C, H, W), as torch's (padding is -inf).

    The gradient goes to each window's maximum (the first one where several tie, as torch).

    >>> max_pool2d(Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2).data[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    if return_indices:
        raise ValueError("max_pool2d: return_indices=True is not supported")
    x, geometry, batched = _pool_args("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)
    y = ops.call(ops.MAX_POOL2D, x, **geometry, ceil_mode=bool(ceil_mode))
    return y if batched else y.reshape(y.shape[1:])


def avg_pool2d(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean of each window of images (N, C, H, W) or (C, H, W), as torch's: a depthwise conv2d with
    a constant kernel (zero padding counts in the mean unless count_include_pad=False).

    >>> avg_pool2d(Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2).data[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    name = "avg_pool2d"
    x, geometry, batched = _pool_args(name, input, kernel_size, stride, padding, 1, ceil_mode)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point input, got dtype {x.dtype}")
    channels, size = x.shape[1], x.shape[2:]
    kernel, step, pad = geometry["kernel_size"], geometry["stride"], geometry["padding"]
    out = tuple(ops.pool_output_size(n, k, s, p, 1, bool(ceil_mode)) for n, k, s, p in zip(size, kernel, step, pad))
    pads = ops.pool_padding(size, kernel, step, pad, (1, 1), out)  # type: ignore[arg-type]
    if divisor_override is not None:
        if int(divisor_override) == 0:
            raise ValueError(f"{name}: divisor_override must be non-zero")
        divisor: Any = float(divisor_override)
    else:  # per window, torch's count: the window clipped to the padded input (or to the input itself)
        counts = []
        for n, k, s, p, o in zip(size, kernel, step, pad, out):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, n + p)
            counts.append(end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0))
        divisor = np.multiply.outer(counts[0], counts[1]).astype(x.dtype)
        if np.all(divisor == divisor.flat[0]):
            divisor = float(divisor.flat[0])
    uniform = isinstance(divisor, float)
    weight = Tensor(np.full((channels, 1) + kernel, 1 / divisor if uniform else 1.0, dtype=x.dtype), device=x.device)
    y = ops.call(ops.CONV2D, x, weight, stride=step, padding=pads, dilation=(1, 1), groups=channels)
    if not uniform:
        y = y * (1 / divisor)
    return y if batched else y.reshape(y.shape[1:])


def adaptive_avg_pool2d(input: Tensor, output_size: int | None | tuple[int | None, int | None]) -> Tensor:  # noqa: A002
    """Images (N, C, H, W) or (C, H, W) averaged down to `output_size` (an int for a square, a pair; None
    keeps that axis), with torch's windows: output row i averages input rows ⌊iH/h⌋ to ⌈(i+1)H/h⌉ - 1,
    windows that overlap where H is not a multiple of h. Output size 1 is the global average.

    A window is a block of rows times a block of columns, so its mean is a row average of column
    averages: the pooling is R @ x @ Cᵀ with constant averaging matrices R (h, H) and C (w, W), two
    matmul nodes, for any sizes.

    >>> adaptive_avg_pool2d(Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2).data[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    >>> adaptive_avg_pool2d(Tensor(np.arange(3.0).reshape(1, 3, 1)), (2, 1)).data[0, :, 0]   # rows 0-1, 1-2
    array([0.5, 1.5])
    """
    name = "adaptive_avg_pool2d"
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{name}: expected a 3-D (unbatched) or 4-D (batched) input, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point input, got dtype {x.dtype}")
    size = x.shape[-2:]
    if min(size) < 1:
        raise RuntimeError(f"{name}: expected an input with non-zero height and width, got shape {x.shape}")
    pair = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    wanted = tuple(n if o is None else o for o, n in zip(pair, size)) if len(pair) == 2 else None
    if wanted is None or not all(isinstance(o, (int, np.integer)) and not isinstance(o, bool) and o >= 1 for o in wanted):
        raise ValueError(f"{name}: output_size must be a positive int or a pair of them (None keeps the input's "
                         f"size), got {output_size!r} for an input of shape {x.shape}")
    rows, cols = (Tensor(_averaging_matrix(int(o), n, x.dtype), device=x.device) for o, n in zip(wanted, size))
    return rows @ x @ cols.T


def _averaging_matrix(out: int, n: int, dtype: np.dtype) -> np.ndarray:
    """(out, n): row i averages elements ⌊i·n/out⌋ to ⌈(i+1)·n/out⌉ - 1, torch's adaptive windows."""
    i = np.arange(out)
    start, end = i * n // out, -(-(i + 1) * n // out)
    inside = (np.arange(n) >= start[:, None]) & (np.arange(n) < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _pool_args(name: str, input: Any, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair,
               dilation: IntOrPair, ceil_mode: bool) -> tuple[Tensor, dict[str, tuple[int, ...]], bool]:
    """The input as a batched Tensor and the checked geometry (pairs), as torch checks them."""
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{name}: expected a 3-D (unbatched) or 4-D (batched) input, got shape {x.shape}")
    kernel = _ints(name, "kernel_size", kernel_size, 2, minimum=1)
    step = kernel if stride is None or stride == () else _ints(name, "stride", stride, 2, minimum=1)
    pad = _ints(name, "padding", padding, 2, minimum=0)
    dil = _ints(name, "dilation", dilation, 2, minimum=1)
    if any(2 * p > k for p, k in zip(pad, kernel)):
        raise ValueError(f"{name}: padding should be at most half of the kernel size, got padding={pad}, "
                         f"kernel_size={kernel}")
    size = x.shape[-2:]
    out = tuple(ops.pool_output_size(n, k, s, p, d, bool(ceil_mode)) for n, k, s, p, d in zip(size, kernel, step, pad, dil))
    if min(out) < 1:
        raise RuntimeError(f"{name}: the input of shape {x.shape} is too small for kernel_size={kernel} with "
                           f"padding={pad}, dilation={dil}: the output would be {out}")
    batched = x.ndim == 4
    if not batched:
        x = x.reshape((1,) + x.shape)
    return x, {"kernel_size": kernel, "stride": step, "padding": pad, "dilation": dil}, batched


def _ints(name: str, what: str, value: Any, dims: int, minimum: int) -> tuple[int, ...]:
    """An int or a tuple of `dims` ints, each at least `minimum`, as a tuple."""
    if type(value) is int and value >= minimum:  # the common case, quickly
        return (value,) * dims
    if isinstance(value, (int, np.integer)):
        items: tuple[Any, ...] | None = (value,) * dims
    else:
        items = tuple(value) if isinstance(value, (tuple, list)) else None
    if (items is None or len(items) != dims or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in items)
            or any(v < minimum for v in items)):
        raise ValueError(f"{name}: {what} must be an int or a tuple of {dims} ints, each at least {minimum}; got {value!r}")
    return tuple(int(v) for v in items)
