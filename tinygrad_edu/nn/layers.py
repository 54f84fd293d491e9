"""Layers on Tensors: Linear, activations, Sequential, MLP, and losses as modules.

The network in matrix form, f = s ∘ A_l ∘ ... ∘ s ∘ A_2: one Linear (A_k) and one elementwise
activation (s) per layer. `tinygrad_edu.nn.scalar` builds the same layers neuron by neuron from Values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np

from ..random import generator as random_generator
from ..tensor import Tensor
from . import functional as F
from .activation import ELU, GELU, SELU, Hardsigmoid, Hardtanh, LeakyReLU, ReLU6, SiLU, Softplus, Softsign
from .module import Module

Rng = np.random.Generator | int | None


def init_uniform(in_features: int, out_features: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's default Linear initialisation: weight (out, in), then bias (out,), both U(-k, k), k = 1/√in.

    The draws come in this order (the whole weight matrix, row by row, then the bias), so a Linear and
    the scalar Layer built with the same generator hold the same numbers.

    >>> w, b = init_uniform(3, 2, np.random.default_rng(0)); w.shape, b.shape
    ((2, 3), (2,))
    """
    if in_features < 1 or out_features < 1:
        raise ValueError(f"a layer needs at least 1 input and 1 output, got in={in_features}, out={out_features}")
    bound = 1.0 / np.sqrt(in_features)
    weight = rng.uniform(-bound, bound, size=(out_features, in_features))
    bias = rng.uniform(-bound, bound, size=out_features)
    return weight, bias


class Linear(Module):
    """y = x @ W.T + b for inputs of shape (..., in_features); W has shape (out_features, in_features).

    >>> layer = Linear(3, 2, rng=0)
    >>> layer(Tensor(np.ones((4, 3)))).shape, layer.num_parameters()
    ((4, 2), 8)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng: Rng = None,
        dtype: Any = np.float64,
    ) -> None:
        self.in_features, self.out_features = int(in_features), int(out_features)
        weight, b = init_uniform(self.in_features, self.out_features, random_generator(rng, type(self).__name__))
        self.weight = Tensor(weight, requires_grad=True, dtype=dtype, label="weight")
        self.bias = Tensor(b, requires_grad=True, dtype=dtype, label="bias") if bias else None

    def forward(self, x: Any) -> Tensor:
        """x @ W.T + b over the last axis of x (a Tensor, or numbers taken in the layer's dtype): one
        `linear` node (F.linear)."""
        if not isinstance(x, Tensor):
            x = Tensor(np.asarray(x), dtype=self.weight.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.extra_repr()}): expected an input of shape (..., {self.in_features}), got shape {x.shape}"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    """max(x, 0), elementwise (Tensor or Value)."""

    def forward(self, x: F.T) -> F.T:
        return x.relu()


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise (Tensor or Value)."""

    def forward(self, x: F.T) -> F.T:
        return x.sigmoid()


class Tanh(Module):
    """tanh(x), elementwise (Tensor or Value)."""

    def forward(self, x: F.T) -> F.T:
        return x.tanh()


class Identity(Module):
    """Returns its input unchanged."""

    def forward(self, x: Any) -> Any:
        return x


class CosineSimilarity(Module):
    """The cosine of the angle between two inputs along `dim` (F.cosine_similarity), as torch's module."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        self.dim, self.eps = int(dim), float(eps)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, eps={self.eps}"


# the module of each name in functional.ACTIVATIONS (the same keys: a test holds them equal)
ACTIVATION_MODULES: dict[str, type[Module]] = {
    "relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "identity": Identity,
    "gelu": GELU, "silu": SiLU, "softplus": Softplus, "leaky_relu": LeakyReLU, "elu": ELU, "selu": SELU,
    "softsign": Softsign, "hardtanh": Hardtanh, "relu6": ReLU6, "hardsigmoid": Hardsigmoid,
}


def activation_module(name: str | None) -> Module:
    """A new activation module by name, with its default arguments: "relu", "gelu", ... (None is identity).

    >>> activation_module("tanh")
    Tanh()
    """
    key = "identity" if name is None else name
    if key not in ACTIVATION_MODULES:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATION_MODULES)} (or None)")
    return ACTIVATION_MODULES[key]()


class Sequential(Module):
    """Modules applied one after another; indexable, sized and iterable. Children are named "0", "1", ...

    >>> net = Sequential(Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=1))
    >>> len(net), type(net[1]).__name__, [name for name, _ in net.named_parameters()][:2]
    (3, 'ReLU', ['0.weight', '0.bias'])
    """

    def __init__(self, *modules: Module) -> None:
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a Module")
        self._layers = list(modules)

    def _fields(self) -> Iterator[tuple[str, Any]]:
        return ((str(i), m) for i, m in enumerate(self._layers))

    def forward(self, x: Any) -> Any:
        for m in self._layers:
            x = m(x)
        return x

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        if isinstance(index, slice):
            return Sequential(*self._layers[index])
        return self._layers[index]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)


class MLP(Module):
    """A multilayer perceptron: Linear layers of the given sizes, `activation` between them, and
    `output_activation` (None: none) after the last. `layers[k]` is the k-th Linear.

    >>> net = MLP([2, 16, 16, 1], rng=0)
    >>> net(Tensor(np.zeros((5, 2)))).shape, net.num_parameters()
    ((5, 1), 337)
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | None = "relu",
        output_activation: str | None = None,
        rng: Rng = None,
        dtype: Any = np.float64,
    ) -> None:
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs an input and an output size at least, got {list(sizes)}")
        self.sizes = [int(n) for n in sizes]
        generator = random_generator(rng, type(self).__name__)  # one generator for all layers, drawn layer by layer
        self.layers = [Linear(n_in, n_out, rng=generator, dtype=dtype) for n_in, n_out in zip(self.sizes, self.sizes[1:])]
        self.activation = activation_module(activation)
        self.output_activation = activation_module(output_activation)
        self._names = (activation, output_activation)

    def forward(self, x: Any) -> Tensor:
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.output_activation(self.layers[-1](x))  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, activation={self._names[0]!r}, output_activation={self._names[1]!r}"


# --------------------------------------------------------------------------- losses as modules


class MSELoss(Module):
    """Module form of `mse_loss`: loss(pred, target)."""

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = reduction

    def forward(self, pred: Tensor, target: Any) -> Tensor:
        return F.mse_loss(pred, target, self.reduction)


class L1Loss(Module):
    """Module form of `l1_loss`: loss(pred, target)."""

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = reduction

    def forward(self, pred: Tensor, target: Any) -> Tensor:
        return F.l1_loss(pred, target, self.reduction)


class HuberLoss(Module):
    """Module form of `huber_loss`: loss(pred, target)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        self.reduction, self.delta = reduction, delta

    def forward(self, pred: Tensor, target: Any) -> Tensor:
        return F.huber_loss(pred, target, self.reduction, self.delta)


class SmoothL1Loss(Module):
    """Module form of `smooth_l1_loss`: loss(pred, target)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        self.reduction, self.beta = reduction, beta

    def forward(self, pred: Tensor, target: Any) -> Tensor:
        return F.smooth_l1_loss(pred, target, self.reduction, self.beta)


class BCELoss(Module):
    """Module form of `binary_cross_entropy`: loss(prob, target)."""

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = reduction

    def forward(self, prob: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(prob, target, self.reduction)


class BCEWithLogitsLoss(Module):
    """Module form of `binary_cross_entropy_with_logits`: loss(logits, target)."""

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = reduction

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)


class HingeLoss(Module):
    """Module form of `hinge_loss`: loss(scores, labels) with labels in {-1, +1}."""

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = reduction

    def forward(self, scores: Tensor, labels: Any) -> Tensor:
        return F.hinge_loss(scores, labels, self.reduction)


class KLDivLoss(Module):
    """Module form of `kl_div`: loss(log-probabilities, target probabilities), or with log_target=True
    target log-probabilities; reduction="batchmean" is the true KL divergence averaged over the batch.

    >>> loss = KLDivLoss(reduction="batchmean")
    >>> round(loss(Tensor(np.log([[0.5, 0.5]])), [[0.25, 0.75]]).item(), 6)
    0.130812
    """

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        self.reduction, self.log_target = reduction, bool(log_target)

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002 (PyTorch's names)
        return F.kl_div(input, target, self.reduction, self.log_target)


class CrossEntropyLoss(Module):
    """Module form of `cross_entropy`: loss(logits, target) with class labels or class probabilities.

    >>> loss = CrossEntropyLoss(weight=[1.0, 3.0], label_smoothing=0.1)
    >>> round(loss(Tensor([[2.0, 0.0], [0.0, 2.0]]), [0, 1]).item(), 6)
    0.226928
    """

    weight: Tensor | None  # a buffer

    def __init__(
        self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0
    ) -> None:
        # a buffer, as in PyTorch: state_dict has "weight" when one is given (and load_state_dict takes it)
        self.register_buffer("weight", None if weight is None else np.array(weight.data if isinstance(weight, Tensor) else weight))
        self.ignore_index, self.reduction, self.label_smoothing = ignore_index, reduction, label_smoothing

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(logits, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)

    def extra_repr(self) -> str:
        return _loss_repr(self)


class NLLLoss(Module):
    """Module form of `nll_loss`: loss(log-probabilities, class labels).

    >>> NLLLoss(reduction="sum")(Tensor([[-0.5, -1.0], [-2.0, -0.1]]), [0, 1]).item()
    0.6
    """

    weight: Tensor | None  # a buffer

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        self.register_buffer("weight", None if weight is None else np.array(weight.data if isinstance(weight, Tensor) else weight))
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, log_probs: Tensor, target: Any) -> Tensor:
        return F.nll_loss(log_probs, target, self.weight, self.ignore_index, self.reduction)

    def extra_repr(self) -> str:
        return _loss_repr(self)


def _loss_repr(loss: CrossEntropyLoss | NLLLoss) -> str:
    """The arguments that differ from their defaults, as torch prints only what was given."""
    parts = [] if loss.weight is None else [f"weight={loss.weight.tolist()}"]
    if loss.ignore_index != -100:
        parts.append(f"ignore_index={loss.ignore_index}")
    if loss.reduction != "mean":
        parts.append(f"reduction={loss.reduction!r}")
    if getattr(loss, "label_smoothing", 0.0):
        parts.append(f"label_smoothing={loss.label_smoothing}")  # type: ignore[union-attr]
    return ", ".join(parts)
