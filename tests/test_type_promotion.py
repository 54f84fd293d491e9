"""The dtype of an elementwise op's result: PyTorch's promotion, where a 0-d tensor or a number does not widen
a tensor with dims of its own category (bool < integers < floats), so a float32 model stays float32 beside
`Tensor(2.0)` or `np.sqrt(d)`. A table written out from PyTorch 2.13 (run with its default dtype float64, this
library's) holds without torch; with torch installed, the table is checked against it, and hypothesis draws
dtypes, shapes and operand kinds for more cases compared with torch on dtypes and values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor

from .foreign_array import register

F32, F64, F16, I32, I64, U8, B = np.float32, np.float64, np.float16, np.int32, np.int64, np.uint8, np.bool_


def _zero_d(value: Any, dtype: Any) -> Callable[[Any], Any]:
    return lambda m: m.tensor(np.array(value, dtype=dtype)) if m is not tg else Tensor(np.array(value, dtype=dtype))


def _data(dtype: Any) -> np.ndarray:
    return np.array([0.1, 1.5, 2.0, 3.0]).astype(dtype) if np.dtype(dtype).kind != "b" else np.array([True, False, True, True])


# name -> (the expression, made with m = tg or torch on x, a tensor with dims; its other operand, made
# with m; x's dtype; the dtype PyTorch 2.13 gives, with torch.set_default_dtype(torch.float64))
TABLE: dict[str, tuple[Callable[..., Any], Callable[[Any], Any], Any, Any]] = {
    "float32 * 0-d float64": (lambda m, x, y: x * y, _zero_d(2.0, F64), F32, F32),
    "0-d float64 * float32": (lambda m, x, y: y * x, _zero_d(2.0, F64), F32, F32),
    "float32 - 0-d float64": (lambda m, x, y: x - y, _zero_d(0.1, F64), F32, F32),
    "0-d float64 / float32": (lambda m, x, y: y / x, _zero_d(3.0, F64), F32, F32),
    "float16 + 0-d float64": (lambda m, x, y: x + y, _zero_d(0.5, F64), F16, F16),
    "float64 * 0-d float32": (lambda m, x, y: x * y, _zero_d(2.0, F32), F64, F64),
    "float32 ** 0-d float64": (lambda m, x, y: x ** y, _zero_d(2.0, F64), F32, F32),
    "0-d float64 ** float32": (lambda m, x, y: y ** x, _zero_d(2.0, F64), F32, F32),
    "float32 * NumPy float64 scalar": (lambda m, x, y: x * y, lambda m: np.float64(2.0), F32, F32),
    "float32 / np.sqrt(4)": (lambda m, x, y: x / y, lambda m: np.sqrt(4), F32, F32),
    "NumPy float64 scalar - float32": (lambda m, x, y: y - x, lambda m: np.float64(1.0), F32, F32),
    "float32 * 0-d int64": (lambda m, x, y: x * y, _zero_d(3, I64), F32, F32),
    "int32 * 0-d int64": (lambda m, x, y: x * y, _zero_d(3, I64), I32, I32),
    "int64 * 0-d float32": (lambda m, x, y: x * y, _zero_d(2.5, F32), I64, F32),
    "int64 * NumPy float32 scalar (a number)": (lambda m, x, y: x * y, lambda m: np.float32(2.5), I64, F64),
    "int64 * 2.5": (lambda m, x, y: x * y, lambda m: 2.5, I64, F64),
    "int32 / 0-d int64": (lambda m, x, y: x / y, _zero_d(2, I64), I32, F64),
    "bool * 0-d int64": (lambda m, x, y: x * y, _zero_d(2, I64), B, I64),
    "uint8 + 0-d int64 300 (wraps)": (lambda m, x, y: x + y, _zero_d(300, I64), U8, U8),
    "0-d float32 * 0-d float64": (lambda m, x, y: x.sum() * y, _zero_d(2.0, F64), F32, F64),
    "float32 * float64, both with dims": (lambda m, x, y: x * x.double(), lambda m: None, F32, F64),
    "int64 * float32, both with dims": (lambda m, x, y: x * m.ones(4, dtype=y), lambda m: F32 if m is tg else m.float32,
                                        I64, F32),
    "0-d int32 * 0-d float16": (lambda m, x, y: x.sum() * y, _zero_d(2.0, F16), I32, F16),
    "maximum(float32, 0-d float64)": (lambda m, x, y: m.maximum(x, y), _zero_d(1.0, F64), F32, F32),
    "minimum(0-d float64, float32)": (lambda m, x, y: m.minimum(y, x), _zero_d(1.0, F64), F32, F32),
    "where(cond, float32, 0-d float64)": (lambda m, x, y: m.where(x > 1, x, y), _zero_d(-1.0, F64), F32, F32),
    "where(cond, int64, 0-d float64)": (lambda m, x, y: m.where(x > 1, x, y), _zero_d(0.5, F64), I64, F64),
    "clamp(float32, min=0-d float64)": (lambda m, x, y: x.clamp(min=y), _zero_d(1.0, F64), F32, F32),
    "float32 == 0-d float64 0.1": (lambda m, x, y: x == y, _zero_d(0.1, F64), F32, B),
    "float32 < NumPy float64 scalar": (lambda m, x, y: x < y, lambda m: np.float64(1.5), F32, B),
    "int32 & 0-d int64": (lambda m, x, y: x & y, _zero_d(3, I64), I32, I32),
}


def _ours(name: str) -> tuple[Any, Any]:
    expr, other, dtype, _ = TABLE[name]
    return expr(tg, Tensor(_data(dtype)), other(tg)), dtype


@pytest.mark.parametrize("name", TABLE)
def test_the_result_has_pytorch_s_dtype(name: str) -> None:
    result, _ = _ours(name)
    assert result.dtype == np.dtype(TABLE[name][3]), name


def test_the_0_d_operand_is_rounded_to_the_tensor_s_dtype_first() -> None:
    """As in PyTorch the 0-d operand is cast, then the op computed in the tensor's dtype: a float32 x equals
    a float64 0.1 (both float32(0.1) then), and 300 added to uint8 wraps to 44 first."""
    assert _ours("float32 == 0-d float64 0.1")[0].tolist() == [True, False, False, False]
    assert _ours("uint8 + 0-d int64 300 (wraps)")[0].tolist() == [44, 45, 46, 47]
    assert _ours("float32 - 0-d float64")[0].numpy().tolist() == (_data(F32) - F32(0.1)).tolist()


@pytest.mark.parametrize("name", TABLE)
def test_the_table_is_pytorch_s(name: str) -> None:
    torch = pytest.importorskip("torch")
    expr, other, dtype, expected = TABLE[name]
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        theirs = expr(torch, torch.from_numpy(_data(dtype)), other(torch))
    finally:
        torch.set_default_dtype(default)
    assert str(theirs.dtype).removeprefix("torch.") == np.dtype(expected).name
    ours, _ = _ours(name)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_a_0_d_float64_parameter_gets_its_gradient_in_float64() -> None:
    """The 0-d operand is cast by a recorded node (astype), so its gradient comes back in its own dtype;
    checked against the closed form d/ds sum(x * s) = sum(x), d/dx = s."""
    x = Tensor(_data(F32), requires_grad=True)
    s = Tensor(2.0, requires_grad=True)
    y = (x * s).sum()
    assert y.dtype == np.float32
    y.backward()
    assert s.grad.dtype == np.float64 and x.grad.dtype == np.float32
    assert s.grad == pytest.approx(float(_data(F32).astype(np.float64).sum()), rel=1e-6)
    assert x.grad.tolist() == [2.0] * 4
    assert "astype" in {t.op.name for t in tg.topological_order(y) if t.op is not None}


def test_a_cpu_0_d_float64_with_a_device_float32_tensor() -> None:
    """The cast and PyTorch's move of a CPU 0-d tensor to the device together: the result on the device in
    float32, the gradient of the 0-d tensor on the CPU in float64."""
    device = register()
    x = Tensor(_data(F32), requires_grad=True).to(device)
    s = Tensor(2.0, requires_grad=True)
    y = (x * s).sum()
    assert y.device == device and y.dtype == np.float32
    y.backward()
    assert s.grad.dtype == np.float64 and type(s.grad) is np.ndarray
    assert s.grad == pytest.approx(float(_data(F32).astype(np.float64).sum()), rel=1e-6)


# ---- hypothesis against torch

DTYPES = [B, U8, I32, I64, F16, F32, F64]
BINARY: dict[str, Callable[[Any, Any, Any], Any]] = {
    "+": lambda m, a, b: a + b, "-": lambda m, a, b: a - b, "*": lambda m, a, b: a * b,
    "/": lambda m, a, b: a / b, "maximum": lambda m, a, b: m.maximum(a, b), "==": lambda m, a, b: a == b,
    "<": lambda m, a, b: a < b, "where": lambda m, a, b: m.where(a > 1, a, b),
}


def _operand(kind: str, dtype: Any, shape: tuple[int, ...], values: np.ndarray, m: Any) -> Any:
    array = values[: int(np.prod(shape))].reshape(shape).astype(dtype)
    if kind == "number":
        return array.reshape(-1)[0].item()
    if kind == "numpy scalar":
        return array.reshape(-1)[0]
    return Tensor(array) if m is tg else m.from_numpy(array.copy())  # (np.ascontiguousarray makes 0-d 1-d)


@settings(max_examples=150, deadline=None)
@given(op=st.sampled_from(sorted(BINARY)), dtypes=st.tuples(st.sampled_from(DTYPES), st.sampled_from(DTYPES)),
       shapes=st.tuples(st.sampled_from([(), (3,), (2, 3)]), st.sampled_from([(), (3,), (2, 3)])),
       kind=st.sampled_from(["tensor", "tensor", "number", "numpy scalar"]), swap=st.booleans())
def test_binary_ops_promote_as_pytorch_does(op: str, dtypes: tuple[Any, Any], shapes: tuple[Any, Any], kind: str,
                                            swap: bool) -> None:
    torch = pytest.importorskip("torch")
    values = np.array([1.0, 2.0, 3.0, 1.5, 4.0, 2.5])  # no 0 in any dtype: no division by 0
    if kind != "tensor":
        shapes = (shapes[0], ())
    if kind == "numpy scalar" and dtypes[1] is B:
        return  # torch reads np.bool_ as a float (bool tensor * np.True_ is float64); here it is Python's True
    if op == "-" and B in dtypes:
        return  # torch refuses - on booleans; NumPy too
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        args = [_operand("tensor", dtypes[0], shapes[0], values, torch), _operand(kind, dtypes[1], shapes[1], values, torch)]
        theirs = BINARY[op](torch, *(args[::-1] if swap and kind == "tensor" else args))
    except (RuntimeError, TypeError):
        return  # a combination torch refuses (an op on bool, say): nothing to compare with
    finally:
        torch.set_default_dtype(default)
    args = [_operand("tensor", dtypes[0], shapes[0], values, tg), _operand(kind, dtypes[1], shapes[1], values, tg)]
    ours = BINARY[op](tg, *(args[::-1] if swap and kind == "tensor" else args))
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch."), (op, dtypes, shapes, kind, swap)
    np.testing.assert_allclose(ours.numpy().astype(float), theirs.numpy().astype(float), rtol=1e-3)


# ---- layers: a float32 layer refuses a float64 tensor, as PyTorch's do, instead of computing in float64

LAYERS: dict[str, tuple[Callable[[Any, Any], Any], tuple[int, ...]]] = {
    # name -> (the layer, made with m = tg.nn or torch.nn and the dtype; the input's shape)
    "Linear": (lambda nn, d: nn.Linear(3, 2, dtype=d), (4, 3)),
    "Conv2d": (lambda nn, d: nn.Conv2d(1, 2, 3, dtype=d), (1, 1, 5, 5)),
    "LSTM": (lambda nn, d: nn.LSTM(3, 2, dtype=d), (5, 4, 3)),
    "GRU": (lambda nn, d: nn.GRU(3, 2, batch_first=True, dtype=d), (4, 5, 3)),
    "RNNCell": (lambda nn, d: nn.RNNCell(3, 2, dtype=d), (4, 3)),
    "LSTMCell": (lambda nn, d: nn.LSTMCell(3, 2, dtype=d), (4, 3)),
    "LayerNorm": (lambda nn, d: nn.LayerNorm(3, dtype=d), (4, 3)),
    "GroupNorm": (lambda nn, d: nn.GroupNorm(1, 3, dtype=d), (4, 3, 2)),
    "BatchNorm1d": (lambda nn, d: nn.BatchNorm1d(3, dtype=d), (4, 3)),
    "MultiheadAttention": (lambda nn, d: nn.MultiheadAttention(4, 2, batch_first=True, dtype=d), (2, 3, 4)),
}


def _call(layer: Any, x: Any) -> Any:
    return layer(x, x, x) if "MultiheadAttention" in type(layer).__name__ else layer(x)


@pytest.mark.parametrize("name", LAYERS)
def test_a_float32_layer_refuses_a_float64_tensor(name: str) -> None:
    make, shape = LAYERS[name]
    layer = make(tg.nn, np.float32)
    x = np.random.default_rng(0).normal(size=shape)
    error = ValueError if name in ("LSTM", "GRU") else RuntimeError  # (torch's types)
    with pytest.raises(error, match=r"\(float64\) and the .*\(float32\) must have the same dtype"):
        _call(layer, Tensor(x))
    out = _call(layer, Tensor(x.astype(np.float32)))  # the input cast: float32 through and through
    for o in out if isinstance(out, tuple) else (out,):
        for t in o if isinstance(o, tuple) else (o,):
            assert t is None or t.dtype == np.float32, name
    torch = pytest.importorskip("torch")
    with pytest.raises(error):
        _call(make(torch.nn, torch.float32), torch.tensor(x))
