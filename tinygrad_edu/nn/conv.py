"""Convolution and pooling layers with torch's names, signatures and state_dict keys.

Conv1d and Conv2d hold `weight` (C_out, C_in/groups, *kernel) and `bias` (C_out,), drawn as torch
draws them; MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten and Unflatten have no parameters. Errors
name the layer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..random import generator as random_generator
from ..tensor import Tensor
from . import functional as F
from .layers import Rng
from .module import Module

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_NUMPY_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class _ConvNd(Module):
    """What Conv1d and Conv2d share: the checks, torch's initialisation, non-zero padding modes."""

    dims = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any, groups: int, bias: bool, padding_mode: str, rng: Rng, dtype: Any) -> None:
        name = type(self).__name__
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        if self.groups < 1:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if self.in_channels < 1 or self.out_channels < 1:
            raise ValueError(f"{name}: in_channels and out_channels must be positive, got {in_channels}, {out_channels}")
        if self.in_channels % self.groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if self.out_channels % self.groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        self.kernel_size = F._ints(name, "kernel_size", kernel_size, self.dims, 1)
        self.stride = F._ints(name, "stride", stride, self.dims, 1)
        self.dilation = F._ints(name, "dilation", dilation, self.dims, 1)
        self.padding: tuple[int, ...] | str = (
            padding if isinstance(padding, str) else F._ints(name, "padding", padding, self.dims, 0))
        F.conv_padding(name, self.padding, self.kernel_size, self.stride, self.dilation)  # checks "same" etc.
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        self.padding_mode = padding_mode
        # torch's default: kaiming_uniform_(a=√5) for the weight, i.e. U(-1/√fan_in, 1/√fan_in), and the same for the bias
        fan_in = self.in_channels // self.groups * math.prod(self.kernel_size)
        bound = 1 / math.sqrt(fan_in)
        generator = random_generator(rng, type(self).__name__)
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Tensor(generator.uniform(-bound, bound, shape), requires_grad=True, dtype=dtype, label="weight")
        self.bias = (Tensor(generator.uniform(-bound, bound, self.out_channels), requires_grad=True, dtype=dtype,
                            label="bias") if bias else None)

    def forward(self, x: Any) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(np.asarray(x), dtype=self.weight.dtype)
        conv = F.conv1d if self.dims == 1 else F.conv2d
        try:
            if self.padding_mode == "zeros":
                return conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
            return conv(self._pad(x), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        except (RuntimeError, ValueError) as e:
            raise type(e)(f"{self._describe()}: {e}") from None

    def _pad(self, x: Tensor) -> Tensor:
        """x padded by repeating its own elements (reflect, replicate, circular): one gather per axis."""
        pads = F.conv_padding(type(self).__name__, self.padding, self.kernel_size, self.stride, self.dilation)
        if x.ndim < self.dims + 1:
            raise RuntimeError(f"expected a {self.dims + 1}-D (unbatched) or {self.dims + 2}-D (batched) input, "
                               f"got shape {x.shape}")
        for k, (before, after) in enumerate(pads):
            axis = x.ndim - self.dims + k
            n = x.shape[axis]
            if self.padding_mode != "replicate" and max(before, after) > n - (self.padding_mode == "reflect"):
                raise RuntimeError(f"padding ({before}, {after}) is too large for an axis of size {n} "
                                   f"in padding_mode={self.padding_mode!r}")
            if before or after:
                mode = _NUMPY_PAD_MODES[self.padding_mode]
                index = np.pad(np.arange(n), (before, after), mode=mode)  # type: ignore[call-overload]
                x = x[(slice(None),) * axis + (index,)]
        return x

    def _describe(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        parts = [f"{self.in_channels}, {self.out_channels}", f"kernel_size={self.kernel_size}", f"stride={self.stride}"]
        zero = (0,) * self.dims
        if self.padding != zero:
            parts.append(f"padding={self.padding!r}")
        if self.dilation != (1,) * self.dims:
            parts.append(f"dilation={self.dilation}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode!r}")
        return ", ".join(parts)


class Conv1d(_ConvNd):
    """1-d convolution of sequences (N, C_in, L) or (C_in, L), as torch.nn.Conv1d.

    >>> conv = Conv1d(2, 4, kernel_size=3, padding=1, rng=0)
    >>> conv(Tensor(np.ones((5, 2, 10)))).shape, conv.weight.shape
    ((5, 4, 10), (4, 2, 3))
    """

    dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int], stride: int | tuple[int] = 1,
                 padding: int | tuple[int] | str = 0, dilation: int | tuple[int] = 1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", *, rng: Rng = None, dtype: Any = np.float64) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, rng, dtype)


class Conv2d(_ConvNd):
    """2-d convolution of images (N, C_in, H, W) or (C_in, H, W), as torch.nn.Conv2d.

    >>> conv = Conv2d(3, 8, kernel_size=3, stride=2, rng=0)
    >>> conv(Tensor(np.ones((1, 3, 9, 9)))).shape, conv.num_parameters()
    ((1, 8, 4, 4), 224)
    """

    dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 *, rng: Rng = None, dtype: Any = np.float64) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, rng, dtype)


class MaxPool2d(Module):
    """The largest element of each window, as torch.nn.MaxPool2d (stride defaults to the kernel size).

    >>> MaxPool2d(2)(Tensor(np.arange(16.0).reshape(1, 1, 4, 4))).data[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        if return_indices:
            raise ValueError("MaxPool2d: return_indices=True is not supported")
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.dilation, self.ceil_mode = dilation, bool(ceil_mode)

    def forward(self, x: Tensor) -> Tensor:
        try:
            return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)
        except (RuntimeError, ValueError) as e:
            raise type(e)(f"MaxPool2d({self.extra_repr()}): {e}") from None

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean of each window, as torch.nn.AvgPool2d (stride defaults to the kernel size).

    >>> AvgPool2d(2)(Tensor(np.arange(16.0).reshape(1, 1, 4, 4))).data[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        try:
            return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                self.count_include_pad, self.divisor_override)
        except (RuntimeError, ValueError) as e:
            raise type(e)(f"AvgPool2d({self.extra_repr()}): {e}") from None

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Flatten(Module):
    """Axes start_dim..end_dim merged into one, as torch.nn.Flatten (by default all but the batch axis).

    >>> Flatten()(Tensor(np.zeros((2, 3, 4, 5)))).shape
    (2, 60)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: Tensor) -> Tensor:
        ndim = max(x.ndim, 1)
        start, end = self.start_dim, self.end_dim
        if not (-ndim <= start < ndim and -ndim <= end < ndim):
            raise IndexError(f"Flatten({self.extra_repr()}): dimension out of range for an input of shape {x.shape}")
        start, end = start % ndim, end % ndim
        if start > end:
            raise RuntimeError(f"Flatten({self.extra_repr()}): start_dim comes after end_dim for an input of shape "
                               f"{x.shape}")
        shape = x.shape
        return x.reshape(shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Axis `dim` split into the axes `unflattened_size`, as torch.nn.Unflatten (Flatten's inverse);
    one size may be -1, worked out from the others.

    >>> Unflatten(1, (3, 4))(Tensor(np.zeros((2, 12)))).shape
    (2, 3, 4)
    """

    def __init__(self, dim: int, unflattened_size: tuple[int, ...] | list[int]) -> None:
        where = f"Unflatten(dim={dim!r}, unflattened_size={unflattened_size!r})"
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"{where}: dim must be an int")
        if not isinstance(unflattened_size, (tuple, list)) or not unflattened_size:
            raise TypeError(f"{where}: unflattened_size must be a non-empty tuple or list of ints")
        for k, n in enumerate(unflattened_size):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < -1:
                raise TypeError(f"{where}: unflattened_size must be ints of 0 or more (one may be -1), got {n!r} "
                                f"at position {k}")
        if list(unflattened_size).count(-1) > 1:
            raise ValueError(f"{where}: only one size may be -1")
        self.dim, self.unflattened_size = int(dim), unflattened_size

    def forward(self, x: Tensor) -> Tensor:
        shape, sizes = x.shape, tuple(int(n) for n in self.unflattened_size)
        if not -x.ndim <= self.dim < x.ndim:
            raise IndexError(f"Unflatten({self.extra_repr()}): dimension out of range for an input of shape {shape}")
        axis = self.dim % x.ndim
        known = math.prod(n for n in sizes if n != -1)
        fits = known > 0 and shape[axis] % known == 0 if -1 in sizes else known == shape[axis]
        if not fits:
            raise RuntimeError(f"Unflatten({self.extra_repr()}): the sizes {sizes} do not split axis {axis} of size "
                               f"{shape[axis]} (input of shape {shape})")
        return x.reshape(shape[:axis] + sizes + shape[axis + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class AdaptiveAvgPool2d(Module):
    """Images averaged down to `output_size` (an int, or a pair; None keeps that axis) whatever their
    size, as torch.nn.AdaptiveAvgPool2d; AdaptiveAvgPool2d(1) is global average pooling. See
    `functional.adaptive_avg_pool2d` for the windows.

    >>> AdaptiveAvgPool2d((1, 2))(Tensor(np.arange(16.0).reshape(1, 1, 4, 4))).data[0, 0]
    array([[6.5, 8.5]])
    """

    def __init__(self, output_size: int | None | tuple[int | None, int | None]) -> None:
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        try:
            return F.adaptive_avg_pool2d(x, self.output_size)
        except (RuntimeError, ValueError, TypeError) as e:
            raise type(e)(f"AdaptiveAvgPool2d({self.extra_repr()}): {e}") from None

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
