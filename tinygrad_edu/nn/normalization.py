"""Normalisation layers: LayerNorm, GroupNorm and BatchNorm, composites of the Tensor's existing ops
(LayerNorm's and GroupNorm's normalisation one op of its own, ops.NORMALIZE: seven nodes as a
composite, and far slower).

Each subtracts a mean and divides by a standard deviation, then scales and shifts by learned weights:
LayerNorm over each sample's last axes, GroupNorm over each sample's groups of channels (and their
positions), BatchNorm over the batch (and positions) of each channel.
BatchNorm keeps running estimates of each channel's mean and variance as buffers (state that is not
trained but is saved in `state_dict`), used in eval mode in place of the batch's own statistics.
PyTorch's semantics, step for step: the biased variance normalises, the unbiased one updates running_var.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ops import NORMALIZE, call
from ..tensor import Tensor
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm", "batch_norm", "group_norm", "layer_norm"]


# --------------------------------------------------------------------------- functions


def _same_dtype(name: str, input: Tensor, **others: Any) -> None:  # noqa: A002
    """Refuse a weight, bias or running statistic of another dtype than the input, as PyTorch does (a
    float32 layer would otherwise compute a float64 input in float64, silently)."""
    for what, t in others.items():
        if t is not None and t.dtype != input.dtype:
            raise RuntimeError(f"{name}: the input ({input.dtype}) and the {what} ({t.dtype}) must have the same "
                               f"dtype (cast the input: .to({np.dtype(t.dtype).name!r}))")


def layer_norm(
    input: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) axes (biased var).

    >>> layer_norm(Tensor([[1.0, 2.0, 3.0]]), (3,)).data.round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """
    shape = _as_shape(normalized_shape, "layer_norm")
    if input.shape[input.ndim - len(shape):] != shape or input.ndim < len(shape):
        raise RuntimeError(
            f"layer_norm: expected an input of shape (*, {', '.join(map(str, shape))}) to normalise over its "
            f"last {len(shape)} axes {shape}, got shape {input.shape}"
        )
    _same_dtype("layer_norm", input, weight=weight, bias=bias)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    # (x - mean) / sqrt(var + eps), the var biased (divided by n): one node, ops.NORMALIZE
    out = call(NORMALIZE, input, axes=axes, eps=float(eps))
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (axis 1) of an (N, C, *) input by its statistics over every other axis.

    training: by the batch's mean and biased variance, and, if given, running_mean and running_var are
    updated in place: r = (1 - momentum) * r + momentum * s, with the unbiased variance for running_var.
    Otherwise by running_mean and running_var.

    >>> batch_norm(Tensor([[1.0], [3.0]]), None, None, training=True).data.round(4)
    array([[-1.],
           [ 1.]])
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, *) with at least 2 axes, got {input.shape}")
    channels = input.shape[1]
    per_channel = (1, channels) + (1,) * (input.ndim - 2)  # broadcasts against (N, C, *)
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise RuntimeError(
                f"batch_norm: {name} should have shape ({channels},) for an input of {channels} channels "
                f"(shape {input.shape}), got shape {t.shape}"
            )
    _same_dtype("batch_norm", input, running_mean=running_mean, running_var=running_var, weight=weight, bias=bias)
    if training:
        axes = (0,) + tuple(range(2, input.ndim))
        count = input.size // max(channels, 1)
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input of shape {input.shape}"
            )
        mean = input.mean(axis=axes, keepdims=True)
        centred = input - mean
        var = (centred * centred).mean(axis=axes, keepdims=True)  # biased: what normalises the batch
        if running_mean is not None:
            running_mean[...] = (1 - momentum) * running_mean.data + momentum * mean.data.reshape(channels)
        if running_var is not None:
            unbiased = var.data.reshape(channels) * (count / (count - 1))
            running_var[...] = (1 - momentum) * running_var.data + momentum * unbiased
        out = centred * (var + eps) ** -0.5
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
        inv_std = ((running_var.data + eps) ** -0.5).reshape(per_channel)  # constants: no gradient
        out = (input - running_mean.data.reshape(per_channel)) * inv_std
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Split the channels (axis 1) of an (N, C, *) input into `num_groups` groups and normalise each
    sample's group over its channels and positions (biased var), then scale and shift per channel.

    One group is LayerNorm over (C, *) with per-channel weights; C groups normalise each channel of
    each sample alone (instance norm). Unlike BatchNorm, nothing depends on the other samples.

    >>> group_norm(Tensor([[1.0, 3.0, 10.0, 30.0]]), 2).data.round(4)
    array([[-1.,  1., -1.,  1.]])
    """
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected an input of shape (N, C, *) with at least 2 axes, got {input.shape}")
    n, channels = input.shape[:2]
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral) or num_groups < 1 or channels % num_groups:
        raise RuntimeError(f"group_norm: the {channels} channels of the input (shape {input.shape}) must split into "
                           f"num_groups={num_groups!r} groups of the same size")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise RuntimeError(f"group_norm: {name} should have shape ({channels},) for an input of {channels} channels "
                               f"(shape {input.shape}), got shape {t.shape}")
    _same_dtype("group_norm", input, weight=weight, bias=bias)
    grouped = input.reshape(n, int(num_groups), -1)  # each group's channels and positions on one axis
    out = call(NORMALIZE, grouped, axes=(2,), eps=float(eps)).reshape(input.shape)
    per_channel = (1, channels) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


# --------------------------------------------------------------------------- layers


class LayerNorm(Module):
    """Normalise each sample over its last axes (`normalized_shape`), then scale and shift elementwise.

    Weight (ones) and bias (zeros) have shape `normalized_shape`; `elementwise_affine=False` drops both,
    `bias=False` the bias.

    >>> ln = LayerNorm(3)
    >>> ln(Tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 3.0]])).data.round(4)
    array([[-1.2247,  0.    ,  1.2247],
           [-0.7071, -0.7071,  1.4142]])
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = np.float64,
    ) -> None:
        self.normalized_shape = _as_shape(normalized_shape, "LayerNorm")
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight: Tensor | None = None
        self.bias: Tensor | None = None
        if elementwise_affine:
            self.weight = Tensor(np.ones(self.normalized_shape), requires_grad=True, dtype=dtype, label="weight")
            if bias:
                self.bias = Tensor(np.zeros(self.normalized_shape), requires_grad=True, dtype=dtype, label="bias")

    def forward(self, input: Tensor) -> Tensor:
        """The normalised input, of the input's shape."""
        shape = self.normalized_shape
        if input.ndim < len(shape) or input.shape[input.ndim - len(shape):] != shape:
            raise RuntimeError(
                f"LayerNorm({self.extra_repr()}): expected an input of shape (*, {', '.join(map(str, shape))}), "
                f"got shape {input.shape}"
            )
        return layer_norm(input, shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalise each sample's groups of channels (axis 1 of an (N, C, *) input), then scale and shift
    per channel, as torch.nn.GroupNorm. Weight (ones) and bias (zeros) have shape (num_channels,);
    `affine=False` drops both, `bias=False` the bias.

    >>> gn = GroupNorm(2, 4); gn
    GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)  # 8 parameters
    >>> gn(Tensor([[1.0, 3.0, 10.0, 30.0]])).data.round(4)
    array([[-1.,  1., -1.,  1.]])
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, *,
                 bias: bool = True, dtype: Any = np.float64) -> None:
        for what, n in (("num_groups", num_groups), ("num_channels", num_channels)):
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
                raise ValueError(f"GroupNorm: {what} must be a positive integer, got {n!r}")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = float(eps), bool(affine)
        self.weight: Tensor | None = None
        self.bias: Tensor | None = None
        if affine:
            self.weight = Tensor(np.ones(num_channels), requires_grad=True, dtype=dtype, label="weight")
            if bias:
                self.bias = Tensor(np.zeros(num_channels), requires_grad=True, dtype=dtype, label="bias")

    def forward(self, input: Tensor) -> Tensor:
        """The normalised input, of the input's shape."""
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise RuntimeError(f"GroupNorm({self.extra_repr()}): expected an input of shape (N, {self.num_channels}, *), "
                               f"got shape {input.shape}")
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.bias is not None}"


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share: parameters, buffers, the running-statistics update."""

    dims: tuple[int, ...] = ()  # the numbers of axes the input may have
    num_features: int
    eps: float
    momentum: float | None
    affine: bool
    track_running_stats: bool

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = np.float64,
    ) -> None:
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, numbers.Integral) or num_features < 1:
            raise ValueError(f"{name}: num_features must be a positive integer, got {num_features!r}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None (a cumulative average), got {momentum!r}")
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        self.weight: Tensor | None = None
        self.bias: Tensor | None = None
        if affine:
            self.weight = Tensor(np.ones(num_features), requires_grad=True, dtype=dtype, label="weight")
            self.bias = Tensor(np.zeros(num_features), requires_grad=True, dtype=dtype, label="bias")
        tracked = track_running_stats
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype) if tracked else None)
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype) if tracked else None)
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64) if tracked else None)

    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batch seen."""
        for buffer, value in ((self.running_mean, 0), (self.running_var, 1), (self.num_batches_tracked, 0)):
            if buffer is not None:
                buffer[...] = value

    def forward(self, input: Tensor) -> Tensor:
        """Normalised by the batch's statistics in training (updating the running ones), by the running
        statistics in eval (by the batch's when there are none: track_running_stats=False)."""
        name = type(self).__name__
        if input.ndim not in self.dims:
            wanted = " or ".join(f"{d}D" for d in self.dims)
            raise ValueError(
                f"{name}({self.num_features}): expected {wanted} input, got {input.ndim}D input of shape {input.shape}"
            )
        if input.shape[1] != self.num_features:
            raise RuntimeError(
                f"{name}({self.num_features}): expected {self.num_features} channels on axis 1, got input of shape "
                f"{input.shape}"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked[...] = self.num_batches_tracked.data + 1
            if self.momentum is None:  # cumulative moving average: the mean of every batch so far
                factor = 1.0 / float(self.num_batches_tracked.data)
        use_batch = self.training or self.running_mean is None
        return batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                          training=use_batch, momentum=factor, eps=self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C.

    >>> bn = BatchNorm1d(2)
    >>> y = bn(Tensor([[1.0, 10.0], [3.0, 30.0]])); y.data.round(4), bn.running_mean.data
    (array([[-1., -1.],
           [ 1.,  1.]]), array([0.2, 2. ]))
    """

    dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel C (over the batch and every position)."""

    dims = (4,)


def _as_shape(shape: int | Sequence[int], where: str) -> tuple[int, ...]:
    dims: tuple[Any, ...] = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)  # type: ignore[arg-type]
    if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and int(n) >= 1 for n in dims):
        raise ValueError(f"{where}: normalized_shape must be positive integers, got {shape!r}")
    return tuple(int(n) for n in dims)
