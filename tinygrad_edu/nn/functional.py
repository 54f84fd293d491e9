"""Activations, losses and attention as functions; `pad` and `one_hot` are re-exported from the tensor
module, the layers' functional forms from beside their layers.

Activations take a Tensor or a Value, with PyTorch's arguments and defaults: each one op of the
registry, or a few. `inplace` is accepted where PyTorch's function has it, and the result is always
a new tensor.

Every loss takes a prediction Tensor and a target (a Tensor, an ndarray or a list) of exactly the same
shape: a (N, 1) prediction against (N,) targets is an error, not a silent (N, N) broadcast. `reduction`
is "mean" (the default) or "sum".
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from .. import ops
from ..tensor import Tensor
from ..tensor import cross_entropy as cross_entropy
from ..tensor import one_hot as one_hot
from ..tensor import pad as pad
from ..tensor import nll_loss as nll_loss
from ..value import Value

# layers' functional forms, defined beside their layers (re-exported here, as torch.nn.functional has them)
from .dropout import dropout as dropout
from .embedding import embedding as embedding
from .normalization import batch_norm as batch_norm
from .normalization import layer_norm as layer_norm

T = TypeVar("T", Tensor, Value)
REDUCTIONS = ("mean", "sum")


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


# --------------------------------------------------------------------------- losses


def mse_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum) of squared errors (pred - target)²: the post's (y - a₉)² on a batch.

    >>> mse_loss(Tensor([1.0, 2.0]), [0.0, 4.0]).item()
    2.5
    """
    target = _target(pred, target, "mse_loss")
    return _reduce((pred - target) ** 2, reduction, "mse_loss")


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


def hinge_loss(scores: Tensor, labels: Any, reduction: str = "mean") -> Tensor:
    """The max-margin (SVM) loss of micrograd's demo: mean(relu(1 - y·score)) for labels y in {-1, +1}.

    >>> hinge_loss(Tensor([2.0, 0.0, -0.5]), [1, 1, -1]).item()   # (0 + 1 + 0.5) / 3
    0.5
    """
    name = "hinge_loss"
    y = _target(scores, labels, name)
    if not np.all(np.isin(y.data, (-1, 1))):
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
        target = Tensor(array, dtype=pred.dtype)  # a float32 model keeps a float32 loss
    if target.shape != pred.shape:
        raise ValueError(
            f"{name}: the prediction has shape {pred.shape} but the target has shape {target.shape}; they "
            "must match exactly (reshape one, e.g. pred.reshape(-1), rather than rely on broadcasting)"
        )
    return target


def _reduce(loss: Tensor, reduction: str, name: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


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
    if isinstance(bias, np.ndarray) and empty_rows_attend_to_nothing:
        empty = np.isneginf(bias).all(axis=-1, keepdims=True)  # rows where no key takes part
        if empty.any():
            bias = np.where(empty, 0.0, bias).astype(bias.dtype)
            keep = (~empty).astype(scores.dtype)
    if bias is not None:
        scores = scores + bias
    weights = scores.softmax(axis=-1)
    if keep is not None:
        weights = weights * keep
    if dropout_p > 0:
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
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
