"""PyTorch's torch.xxx spellings of the reductions, products and movement methods: `tg.sum(x, dim)`,
`tg.max(x, dim)`, `tg.softmax(x, dim)`, `tg.transpose(x, 0, 1)`, `tg.sort(x)`, ...

Each calls the Tensor method of its first argument (numbers and arrays become constant Tensors), with
torch's signature where the method's differs: `tg.max(x, dim)` gives (values, indices), where the
method `x.max(dim)` gives the values only. (A module of its own, as elementwise.py: its `sum`, `max` and
`min` would hide Python's elsewhere.)
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np

from .tensor import Axes, Tensor, ValuesAndIndices, _dim


def _tensor(input: Any, dtype: Any = None) -> Tensor:  # noqa: A002 (PyTorch's names)
    """input as a Tensor (numbers and arrays as constants), cast to dtype first where one is given, as torch's
    dtype= arguments do."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    return x if dtype is None else x.to(dtype=dtype)


# --------------------------------------------------------------------------- reductions


def sum(input: Any, dim: Axes = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A001, A002
    """torch.sum: the sum over `dim` (all elements when None).

    >>> sum(Tensor([[1.0, 2.0], [3.0, 4.0]]), 1)
    Tensor([3., 7.])
    """
    return _tensor(input, dtype).sum(dim=dim, keepdim=keepdim)


def mean(input: Any, dim: Axes = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """torch.mean: the mean over `dim` (all elements when None)."""
    return _tensor(input, dtype).mean(dim=dim, keepdim=keepdim)


def prod(input: Any, dim: Axes = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """torch.prod: the product over `dim` (all elements when None); its gradient is right also at zeros."""
    return _tensor(input, dtype).prod(dim=dim, keepdim=keepdim)


@overload
def max(input: Any) -> Tensor: ...  # noqa: A001, A002
@overload
def max(input: Any, dim: int, keepdim: bool = False) -> ValuesAndIndices: ...  # noqa: A001, A002
@overload
def max(input: Any, other: Tensor, /) -> Tensor: ...  # noqa: A001, A002


def max(input: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001, A002
    """torch.max, in its three forms. `max(x)`: the largest element, a 0-d tensor (ties share the gradient
    equally, as in torch). `max(x, dim)`: (values, indices) along dim, as torch's; unlike the method
    `x.max(dim)`, which gives the values only. The index is the first of equal largest elements (a NaN
    counts as the largest), and the value's gradient goes to that element alone, as in torch.
    `max(x, other)` with a Tensor other: tg.maximum(x, other).

    >>> values, indices = max(Tensor([[1.0, 5.0], [7.0, 2.0]]), 1); values, indices
    (Tensor([5., 7.]), Tensor([1, 0], dtype=int64))
    """
    return _extreme(_tensor(input), dim, keepdim, "max")


@overload
def min(input: Any) -> Tensor: ...  # noqa: A001, A002
@overload
def min(input: Any, dim: int, keepdim: bool = False) -> ValuesAndIndices: ...  # noqa: A001, A002
@overload
def min(input: Any, other: Tensor, /) -> Tensor: ...  # noqa: A001, A002


def min(input: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001, A002
    """torch.min, as max: `min(x)` the smallest element, `min(x, dim)` (values, indices) with the
    gradient to the first smallest element alone, `min(x, other)` tg.minimum."""
    return _extreme(_tensor(input), dim, keepdim, "min")


def _extreme(x: Tensor, dim: Any, keepdim: bool, name: str) -> Any:
    """torch.max or torch.min (name) of x: the element, the elementwise extreme, or values and indices."""
    if dim is None:
        return x.max() if name == "max" else x.min()
    if isinstance(dim, Tensor):  # torch.max(input, other)
        return x.maximum(dim) if name == "max" else x.minimum(dim)
    d = _dim(x, dim, name)
    vector = x.reshape(1) if x.ndim == 0 else x  # a 0-d tensor is the vector of its one element, as in torch
    indices = (vector.argmax if name == "max" else vector.argmin)(d, keepdim=True)
    values = vector.gather(d, indices)
    if not keepdim or x.ndim == 0:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return ValuesAndIndices(values, indices)


def std(input: Any, dim: Axes = None, *, correction: float = 1, keepdim: bool = False,  # noqa: A002
        unbiased: bool | None = None) -> Tensor:
    """torch.std: the standard deviation over `dim`, dividing by N - correction (N - 1 by default)."""
    return _tensor(input).std(dim, correction=correction, keepdim=keepdim, unbiased=unbiased)


def var(input: Any, dim: Axes = None, *, correction: float = 1, keepdim: bool = False,  # noqa: A002
        unbiased: bool | None = None) -> Tensor:
    """torch.var: the variance over `dim`, dividing by N - correction (N - 1 by default)."""
    return _tensor(input).var(dim, correction=correction, keepdim=keepdim, unbiased=unbiased)


def norm(input: Any, p: float | str = "fro", dim: Axes = None, keepdim: bool = False, *,  # noqa: A002
         dtype: Any = None) -> Tensor:
    """torch.norm: the p-norm over `dim` (all elements when None); "fro" is the 2-norm of the elements."""
    return _tensor(input, dtype).norm(p, dim, keepdim)


def logsumexp(input: Any, dim: Axes, keepdim: bool = False) -> Tensor:  # noqa: A002
    """torch.logsumexp: log(sum(exp(x))) over `dim`, computed without overflow."""
    return _tensor(input).logsumexp(dim, keepdim)


def cumsum(input: Any, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """torch.cumsum: running sums along `dim`."""
    return _tensor(input, dtype).cumsum(dim)


def argmax(input: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """torch.argmax: the index of the first largest element along `dim` (of the flattened tensor when None)."""
    return _tensor(input).argmax(dim, keepdim)


def argmin(input: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """torch.argmin: the index of the first smallest element along `dim` (of the flattened tensor when None)."""
    return _tensor(input).argmin(dim, keepdim)


def softmax(input: Any, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """torch.softmax: exp(x) / sum(exp(x)) along `dim`, computed without overflow."""
    return _tensor(input, dtype).softmax(dim)


def log_softmax(input: Any, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """torch.log_softmax: x - logsumexp(x) along `dim`, computed without overflow."""
    return _tensor(input, dtype).log_softmax(dim)


# --------------------------------------------------------------------------- products


def matmul(input: Any, other: Any) -> Tensor:  # noqa: A002
    """torch.matmul: input @ other (1-D operands are vectors; leading dims broadcast)."""
    return _tensor(input).matmul(other)


def mm(input: Any, mat2: Any) -> Tensor:  # noqa: A002
    """torch.mm: the product of two matrices, (n, k) @ (k, m), and no other shapes."""
    return _tensor(input).mm(mat2)


def bmm(input: Any, mat2: Any) -> Tensor:  # noqa: A002
    """torch.bmm: batches of matrix products, (b, n, k) @ (b, k, m), with equal batch sizes."""
    return _tensor(input).bmm(mat2)


def dot(input: Any, tensor: Any) -> Tensor:  # noqa: A002
    """torch.dot: the dot product of two 1-D tensors of the same size."""
    return _tensor(input).dot(tensor)


def outer(input: Any, vec2: Any) -> Tensor:  # noqa: A002
    """torch.outer: out[i, j] = input[i] * vec2[j] for two vectors."""
    return _tensor(input).outer(vec2)


# --------------------------------------------------------------------------- movement


def t(input: Any) -> Tensor:  # noqa: A002
    """torch.t: a matrix transposed (a tensor of 0 or 1 dims as it is)."""
    return _tensor(input).t()


def transpose(input: Any, dim0: int, dim1: int) -> Tensor:  # noqa: A002
    """torch.transpose: dims dim0 and dim1 swapped, as `x.transpose(dim0, dim1)`.

    >>> transpose(Tensor(np.zeros((2, 3, 4))), 0, 2).shape
    (4, 3, 2)
    """
    return _tensor(input).transpose(dim0, dim1)


def reshape(input: Any, shape: Any) -> Tensor:  # noqa: A002
    """torch.reshape: the same elements in `shape` (a tuple; -1 once for the size that fits)."""
    return _tensor(input).reshape(shape)


# --------------------------------------------------------------------------- sorting and choosing


def sort(input: Any, dim: int = -1, descending: bool = False, *, stable: bool = False) -> ValuesAndIndices:  # noqa: A002
    """torch.sort: (values, indices) along `dim` (see Tensor.sort: always stable here)."""
    return _tensor(input).sort(dim, descending, stable)


def argsort(input: Any, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:  # noqa: A002
    """torch.argsort: the indices that sort `input` along `dim` (see Tensor.argsort: always stable here)."""
    return _tensor(input).argsort(dim, descending, stable)


def topk(input: Any, k: int, dim: int | None = None, largest: bool = True, sorted: bool = True) -> ValuesAndIndices:  # noqa: A002
    """torch.topk: (values, indices) of the k largest (or smallest) elements along `dim` (the last when None)."""
    return _tensor(input).topk(k, dim, largest, sorted)


# --------------------------------------------------------------------------- what a tensor is, and where it came from


def numel(input: Any) -> int:  # noqa: A002
    """torch.numel: the number of elements."""
    return _tensor(input).numel()


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:  # noqa: A002
    """torch.allclose: whether |input - other| <= atol + rtol·|other| for every element (broadcasting), a bool.

    >>> allclose(Tensor([1.0, 2.0]), Tensor([1.0, 2.0 + 1e-9]))
    True
    """
    x = _tensor(input)
    try:
        return bool(x.isclose(other, rtol=rtol, atol=atol, equal_nan=equal_nan).all())
    except ValueError:
        other_shape = other.shape if isinstance(other, Tensor) else np.shape(other)
        raise RuntimeError(f"allclose: shapes {x.shape} and {other_shape} do not broadcast together") from None


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """torch.from_numpy: a Tensor over the array's own memory, not a copy (`Tensor(array)` copies), so a
    change to either shows in the other. A change made through the tensor (`t[...] = v`, `t -= v`, an
    optimizer step) is tracked as any change in place: a graph that saved the old values refuses its
    backward. A write into the array itself is not seen, as a write into `t.data` is not
    (`tg.detect_anomaly()` catches it before a backward reads it).

    >>> a = np.zeros(2); t = from_numpy(a); a[0] = 5.0; t
    Tensor([5., 0.])
    """
    if type(ndarray) is not np.ndarray:
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(ndarray).__name__}")
    if ndarray.dtype.kind not in "fiub":
        raise TypeError(f"from_numpy: tensors hold real numbers or booleans; the array of shape {ndarray.shape} "
                        f"is {ndarray.dtype}")
    return Tensor.constant(ndarray)
