"""Initialisation in place, as torch.nn.init: each function fills a Tensor's data and returns the Tensor.

Names, arguments, formulas and errors are PyTorch's. `generator` means what `rng` means for a layer:
an int seed, a `np.random.Generator` (which moves on with each draw), or None for fresh entropy.
Numbers are drawn on the host in float64, then cast to the tensor's dtype and copied to its device.
A fill is recorded as an in-place change, as an optimizer step is: a graph that saved the old value
refuses a later backward. Like torch's, the functions record nothing (no `no_grad()` needed around them).

>>> def init_weights(m):
...     if isinstance(m, tg.nn.Linear):
...         tg.nn.init.kaiming_uniform_(m.weight, nonlinearity="relu", generator=0)
...         tg.nn.init.zeros_(m.bias)
>>> net = tg.nn.MLP([4, 8, 1], rng=0).apply(init_weights)
>>> bound = np.sqrt(2) * np.sqrt(3 / 4)   # gain · √(3 / fan_in) for the first layer
>>> bool(np.abs(net.layers[0].weight.data).max() <= bound), net.layers[0].bias.data.tolist()
(True, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from ..checks import mark_modified
from ..device import device_of, move_to
from ..random import generator as random_generator
from ..tensor import Tensor
from .layers import Rng

__all__ = [
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

GAIN_ONE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance steady through `nonlinearity`: 1 for linear, conv and
    sigmoid, 5/3 for tanh, √2 for relu, √(2 / (1 + slope²)) for leaky_relu (slope `param`, 0.01 when None),
    3/4 for selu.

    >>> calculate_gain("tanh"), round(calculate_gain("leaky_relu", 0.2), 4)
    (1.6666666666666667, 1.3868)
    """
    if nonlinearity in GAIN_ONE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r} (expected one of "
                     f"{', '.join(GAIN_ONE)}, tanh, relu, leaky_relu, selu)")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight (out, in, *kernel): in and out times the kernel's size, as torch's.

    >>> _calculate_fan_in_and_fan_out(Tensor(np.empty((16, 3, 5, 5))))
    (75, 400)
    """
    return _fans(_tensor(tensor, "_calculate_fan_in_and_fan_out").shape, "_calculate_fan_in_and_fan_out")


def _fans(shape: tuple[int, ...], where: str) -> tuple[int, int]:
    if len(shape) < 2:
        raise ValueError(f"nn.init.{where}: fan in and fan out can not be computed for a tensor with fewer than "
                         f"2 dimensions, got shape {shape}")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str, where: str) -> float:
    """gain / √fan, the fan that `mode` names."""
    if mode.lower() not in ("fan_in", "fan_out"):
        raise ValueError(f"nn.init.{where}: mode {mode!r} not supported, please use one of 'fan_in', 'fan_out'")
    fan_in, fan_out = _fans(tensor.shape, where)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode.lower() == "fan_in" else fan_out)


# --------------------------------------------------------------------------- constants


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with `val`."""
    return _fill(tensor, val, "constant_")


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return _fill(tensor, 1, "ones_")


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return _fill(tensor, 0, "zeros_")


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-d tensor with the identity (ones on the diagonal of a rectangular one too)."""
    shape = _tensor(tensor, "eye_").shape
    if len(shape) != 2:
        raise ValueError(f"nn.init.eye_: only tensors with 2 dimensions are supported, got shape {shape}")
    return _fill(tensor, np.eye(*shape), "eye_")


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a conv weight (out, in, *kernel), 3-d to 5-d, so that the convolution passes its inputs through:
    within each of `groups`, output channel d reads input channel d at the kernel's centre."""
    shape = _tensor(tensor, "dirac_").shape
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"nn.init.dirac_: only tensors with 3, 4 or 5 dimensions are supported, got shape {shape}")
    if shape[0] % groups != 0:
        raise ValueError(f"nn.init.dirac_: dim 0 ({shape[0]}) must be divisible by groups ({groups})")
    per_group = shape[0] // groups
    channel = np.arange(min(per_group, shape[1]))
    centre: list[Any] = [size // 2 for size in shape[2:]]
    values = np.zeros(shape)
    for g in range(groups):
        values[(g * per_group + channel, channel, *centre)] = 1
    return _fill(tensor, values, "dirac_")


# --------------------------------------------------------------------------- random


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Rng = None) -> Tensor:
    """Fill with draws from U(a, b)."""
    rng = _random(tensor, generator, "uniform_")
    if a > b:
        raise RuntimeError(f"nn.init.uniform_ expects a range [a, b), but found a={a} > b={b}")
    return _fill(tensor, rng.uniform(a, b, tensor.shape), "uniform_")


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Rng = None) -> Tensor:
    """Fill with draws from N(mean, std²)."""
    rng = _random(tensor, generator, "normal_")
    if std < 0:
        raise RuntimeError(f"nn.init.normal_ expects std >= 0.0, but found std {std}")
    return _fill(tensor, rng.normal(mean, std, tensor.shape), "normal_")


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Rng = None) -> Tensor:
    """Fill with draws from N(mean, std²) kept to [a, b] (bounds in the tensor's units, not in stds).

    Exact, by rejection: normal draws outside [a, b] are drawn again; where [a, b] holds less than 30% of
    the normal's mass, uniform draws on [a, b] are kept with probability density / (its peak on [a, b]).

    >>> t = trunc_normal_(Tensor(np.empty(1000)), std=2.0, a=-1.0, b=1.0, generator=0)
    >>> bool(t.data.min() >= -1.0 and t.data.max() <= 1.0)
    True
    """
    rng = _random(tensor, generator, "trunc_normal_")
    if not std > 0 or not a <= b:
        raise ValueError(f"nn.init.trunc_normal_: expected std > 0 and a <= b, got std={std}, a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_: drawing may be slow",
                      stacklevel=2)

    def cdf(x: float) -> float:
        return (1.0 + math.erf((x - mean) / (std * math.sqrt(2.0)))) / 2.0

    peak = min(max(mean, a), b)  # where the density is highest on [a, b]
    by_normal = cdf(b) - cdf(a) > 0.3
    values = np.empty(tensor.numel())
    filled = 0
    while filled < values.size:
        want = values.size - filled
        if by_normal:
            draws = rng.normal(mean, std, want)
            kept = draws[(a <= draws) & (draws <= b)]
        else:
            draws = rng.uniform(a, b, want)
            density_over_peak = np.exp((((peak - mean) / std) ** 2 - ((draws - mean) / std) ** 2) / 2)
            kept = draws[rng.random(want) < density_over_peak]
        values[filled:filled + kept.size] = kept
        filled += kept.size
    return _fill(tensor, values.reshape(tensor.shape), "trunc_normal_")


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Rng = None) -> Tensor:
    """Glorot's uniform: U(-bound, bound), bound = gain · √(6 / (fan_in + fan_out))."""
    rng = _random(tensor, generator, "xavier_uniform_")
    fan_in, fan_out = _fans(tensor.shape, "xavier_uniform_")
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, rng.uniform(-bound, bound, tensor.shape), "xavier_uniform_")


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Rng = None) -> Tensor:
    """Glorot's normal: N(0, std²), std = gain · √(2 / (fan_in + fan_out))."""
    rng = _random(tensor, generator, "xavier_normal_")
    fan_in, fan_out = _fans(tensor.shape, "xavier_normal_")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, rng.normal(0.0, std, tensor.shape), "xavier_normal_")


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: Rng = None) -> Tensor:
    """He's uniform: U(-bound, bound), bound = gain · √(3 / fan), gain = calculate_gain(nonlinearity, a),
    fan = fan_in (keeps the forward's variance) or fan_out (the backward's) as `mode` says."""
    rng = _random(tensor, generator, "kaiming_uniform_")
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    return _fill(tensor, rng.uniform(-bound, bound, tensor.shape), "kaiming_uniform_")


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: Rng = None) -> Tensor:
    """He's normal: N(0, std²), std = gain / √fan, gain and fan as in kaiming_uniform_."""
    rng = _random(tensor, generator, "kaiming_normal_")
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    return _fill(tensor, rng.normal(0.0, std, tensor.shape), "kaiming_normal_")


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Rng = None) -> Tensor:
    """A (semi-)orthogonal matrix times `gain`, over dims 1.. flattened: W Wᵀ = gain²·I for a wide W
    (rows < cols), Wᵀ W = gain²·I otherwise. Q of the QR of a normal matrix, column signs made those of
    R's diagonal, so that Q is uniform over orthogonal matrices (Saxe et al., 2013; Mezzadri, 2007)."""
    rng = _random(tensor, generator, "orthogonal_")
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"nn.init.orthogonal_: only tensors with 2 or more dimensions are supported, got shape {shape}")
    if tensor.numel() == 0:
        return tensor
    rows, cols = shape[0], tensor.numel() // shape[0]
    wide = rows < cols
    normal = rng.normal(0.0, 1.0, (rows, cols))
    q, r = np.linalg.qr(normal.T if wide else normal)
    q *= np.sign(np.diag(r))
    return _fill(tensor, (gain * (q.T if wide else q)).reshape(shape), "orthogonal_")


# --------------------------------------------------------------------------- helpers


def _tensor(tensor: Any, where: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        hint = " (a scalar Value: set v.data instead)" if type(tensor).__name__ == "Value" else ""
        raise TypeError(f"nn.init.{where}: expected a Tensor, got {type(tensor).__name__}{hint}")
    return tensor


def _random(tensor: Any, generator: Any, where: str) -> np.random.Generator:
    """The generator to draw with, once the tensor is one random numbers can fill."""
    _tensor(tensor, where)
    if tensor.dtype.kind != "f":
        raise TypeError(f"nn.init.{where}: random values need a floating-point tensor, this one is {tensor.dtype}")
    return random_generator(generator, f"nn.init.{where}", "generator")


def _fill(tensor: Any, values: Any, where: str) -> Tensor:
    """Write `values` (a number, or a host array of the tensor's shape) into the tensor, on its device, in
    its dtype; recorded as an in-place change."""
    _tensor(tensor, where)
    mark_modified(tensor, f"nn.init.{where}")
    if isinstance(values, np.ndarray):
        values = move_to(values.astype(tensor.dtype, copy=False), device_of(tensor.data))
    tensor.data[...] = values
    return tensor
