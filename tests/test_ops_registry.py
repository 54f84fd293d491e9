"""One table-driven test over the whole op registry: no op escapes checking.

For every op, on Tensor (hypothesis-generated shapes, broadcasting included) and on Value where the op
exists for scalars: the forward against an independent NumPy/math reference, the gradient against
central finite differences of the forward, and the second derivative against finite differences of
the first-order gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value, ops
from tinygrad_edu.ops import REGISTRY

from .numeric import assert_close, central_differences, sample

Draw = Callable[[st.SearchStrategy[Any]], Any]


@dataclass
class Case:
    """Inputs for one op, a call through the public API, and an independent reference forward."""

    inputs: list[np.ndarray]
    call: Callable[..., Any]  # Tensors (or Values) -> output
    reference: Callable[..., Any]  # ndarrays (or floats) -> expected output


def _sigmoid_ref(x: Any) -> Any:
    return 1 / (1 + np.exp(-x))


def _log_softmax_ref(x: np.ndarray, axis: int) -> np.ndarray:
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))  # inputs are moderate: direct formula


# Each op's operator as a user writes it (works on Values and Tensors alike) and its reference.
ELEMENTWISE: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "add": (lambda x, y: x + y, lambda x, y: x + y),
    "sub": (lambda x, y: x - y, lambda x, y: x - y),
    "mul": (lambda x, y: x * y, lambda x, y: x * y),
    "div": (lambda x, y: x / y, lambda x, y: x / y),
    "pow": (lambda x, y: x**y, lambda x, y: np.exp(y * np.log(x))),
    "neg": (lambda x: -x, lambda x: 0 - x),
    "exp": (lambda x: x.exp(), lambda x: np.e**x),
    "log": (lambda x: x.log(), lambda x: np.log(x)),
    "relu": (lambda x: x.relu(), lambda x: np.where(x > 0, x, 0.0)),
    "sigmoid": (lambda x: x.sigmoid(), _sigmoid_ref),
    "tanh": (lambda x: x.tanh(), lambda x: (np.exp(2 * x) - 1) / (np.exp(2 * x) + 1)),
    # elementwise math: references from math (per element) or closed forms in other ops
    "sqrt": (lambda x: x.sqrt(), lambda x: x**0.5),
    "abs": (lambda x: x.abs(), lambda x: np.where(x < 0, -x, x)),
    "sign": (lambda x: x.sign(), lambda x: np.where(x > 0, 1.0, np.where(x < 0, -1.0, 0.0))),
    "sin": (lambda x: x.sin(), np.vectorize(math.sin)),
    "cos": (lambda x: x.cos(), np.vectorize(math.cos)),
    "log2": (lambda x: x.log2(), np.vectorize(math.log2)),
    "erf": (lambda x: x.erf(), np.vectorize(math.erf)),
    "log1p": (lambda x: x.log1p(), np.vectorize(math.log1p)),
    "expm1": (lambda x: x.expm1(), np.vectorize(math.expm1)),
    "maximum": (lambda x, y: x.maximum(y), lambda x, y: np.where(x > y, x, y)),
    "minimum": (lambda x, y: x.minimum(y), lambda x, y: np.where(x < y, x, y)),
    "clip": (lambda x: x.clip(-0.5, 1.0), lambda x: np.where(x < -0.5, -0.5, np.where(x > 1.0, 1.0, x))),
    "remainder": (lambda x, y: x % y, lambda x, y: x - np.floor(x / y) * y),
    "floor_divide": (lambda x, y: x // y, lambda x, y: np.floor(x / y)),
    "round": (lambda x: x.round(), np.vectorize(lambda v: float(round(v)))),
    "floor": (lambda x: x.floor(), np.vectorize(lambda v: float(math.floor(v)))),
    "ceil": (lambda x: x.ceil(), np.vectorize(lambda v: float(math.ceil(v)))),
    # activations, some with other arguments than their defaults (a Value's node then has them bound)
    "gelu": (lambda x: tg.nn.functional.gelu(x), np.vectorize(lambda v: v / 2 * (1 + math.erf(v / math.sqrt(2))))),
    "gelu_tanh": (lambda x: tg.nn.functional.gelu(x, approximate="tanh"),
                  lambda x: x / 2 * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))),
    "silu": (lambda x: tg.nn.functional.silu(x), lambda x: x / (1 + np.exp(-x))),
    "softplus": (lambda x: tg.nn.functional.softplus(x, beta=2.0), lambda x: np.log(1 + np.exp(2 * x)) / 2),
    "leaky_relu": (lambda x: tg.nn.functional.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    "elu": (lambda x: tg.nn.functional.elu(x, alpha=1.5), lambda x: np.where(x > 0, x, 1.5 * (np.exp(x) - 1))),
    "hardtanh": (lambda x: tg.nn.functional.hardtanh(x), lambda x: np.where(x < -1, -1.0, np.where(x > 1, 1.0, x))),
}
NOT_DIFFERENTIABLE = {"floor_divide"}  # recorded, but a backward through it raises (as in PyTorch)


def _elementwise_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    call, reference = ELEMENTWISE[op.name]
    if len(op.domain) == 2:
        shapes = draw(mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)).input_shapes
    else:
        shapes = [draw(array_shapes(min_dims=0, max_dims=3, max_side=4))]
    return Case([sample(rng, d, s) for d, s in zip(op.domain, shapes)], call, reference)


def _reduction_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=4))
    axis = draw(st.none() | st.integers(-len(shape), len(shape) - 1)
                | st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True).map(tuple))
    keepdims = draw(st.booleans())
    references = {  # NumPy's own for the plain ones; closed forms where NumPy's function is our forward
        "sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min,
        "prod": lambda x, axis, keepdims: (np.exp(np.sum(np.log(np.abs(x)), axis=axis, keepdims=keepdims))
                                          * (-1.0) ** np.sum(x < 0, axis=axis, keepdims=keepdims)),
        "logsumexp": lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims)),
    }
    reference = references[op.name]
    return Case(
        [sample(rng, op.domain[0], shape)],
        lambda x: getattr(x, op.name)(axis=axis, keepdims=keepdims),
        lambda x: reference(x, axis=axis, keepdims=keepdims),
    )


def _cumsum_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=4))
    axis = draw(st.integers(-len(shape), len(shape) - 1))

    def reference(x: np.ndarray) -> np.ndarray:  # a direct loop over the positions along the axis
        moved = np.moveaxis(x, axis, -1)
        out = np.zeros_like(moved)
        for i in range(moved.shape[-1]):
            out[..., i] = moved[..., : i + 1].sum(axis=-1)
        return np.moveaxis(out, -1, axis)

    return Case([sample(rng, "real", shape)], lambda t: t.cumsum(axis), reference)


def _matmul_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    n, k, m, b = (draw(st.integers(1, 4)) for _ in range(4))
    shapes = draw(st.sampled_from([
        ((k,), (k,)), ((k,), (k, m)), ((n, k), (k,)), ((n, k), (k, m)),
        ((b, n, k), (k, m)), ((b, n, k), (b, k, m)), ((1, n, k), (b, k, m)), ((k,), (b, k, m)), ((b, n, k), (k,)),
    ]))
    return Case([sample(rng, "real", s) for s in shapes], lambda x, y: x @ y, np.matmul)


def _shape_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=4))
    x = sample(rng, "real", shape)
    if op.name == "reshape":
        new = shape[::-1] if draw(st.booleans()) else (x.size,)
        return Case([x], lambda t: t.reshape(new), lambda a: a.reshape(new))
    if op.name == "transpose":
        axes = tuple(draw(st.permutations(range(len(shape)))))
        return Case([x], lambda t: t.transpose(axes), lambda a: np.transpose(a, axes))
    if op.name == "astype":  # float64 to float64 here (finite differences need the precision);
        # precision changes are checked against the closed form in test_astype_changes_precision_both_ways
        return Case([x], lambda t: t.astype(np.float64), lambda a: a.astype(np.float64))
    if op.name == "copy":  # clone(): a copy on the tensor's own device (across devices: tests/test_devices.py)
        return Case([x], lambda t: t.clone(), lambda a: a.copy())
    if op.name == "broadcast_to":
        small = tuple(draw(st.sampled_from([1, n])) for n in shape)
        target = (2,) + shape
        return Case([sample(rng, "real", small)], lambda t: t.broadcast_to(target),
                    lambda a: np.broadcast_to(a, target))
    raise AssertionError(op.name)


def _index(draw: Draw, rng: np.random.Generator, shape: tuple[int, ...]) -> Any:
    kind = draw(st.sampled_from(["int", "slice", "array", "repeat", "mask", "mixed"]))
    if kind == "int":
        return int(rng.integers(-shape[0], shape[0]))
    if kind == "slice":
        return (slice(None, None, -1),) + tuple(slice(0, max(1, n - 1)) for n in shape[1:])
    if kind == "array":
        return rng.integers(0, shape[0], size=3)
    if kind == "repeat":  # the same element selected several times: gradients must add up
        return np.array([0, shape[0] - 1, 0, 0])
    if kind == "mask":
        return rng.random(shape) > 0.4
    return (Ellipsis, rng.integers(0, shape[-1], size=2))


def _indexing_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=4))
    index = _index(draw, rng, shape)
    if op.name == "getitem":
        return Case([sample(rng, "real", shape)], lambda t: t[index], lambda a: a[index])
    # scatter_add has no method of its own: it is getitem's backward, called as the engine calls it
    key = tg.tensor._normalize_index(index)
    g = sample(rng, "real", np.zeros(shape)[key].shape)

    def reference(a: np.ndarray) -> np.ndarray:
        z = np.zeros(shape)
        np.add.at(z, key, a)
        return z

    return Case([g], lambda t: ops.call(ops.SCATTER_ADD, t, index=key, shape=shape), reference)


def _join_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=3))
    count = draw(st.integers(1, 3))
    if op.name == "concatenate":
        axis = draw(st.integers(-len(shape), len(shape) - 1))
        shapes = [shape[:axis % len(shape)] + (draw(st.integers(1, 3)),) + shape[axis % len(shape) + 1:]
                  for _ in range(count)]
        return Case([sample(rng, "real", s) for s in shapes],
                    lambda *ts: tg.concatenate(ts, axis=axis), lambda *a: np.concatenate(a, axis=axis))
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    return Case([sample(rng, "real", shape) for _ in range(count)],
                lambda *ts: tg.stack(ts, axis=axis), lambda *a: np.stack(a, axis=axis))


def _softmax_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=4))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    if op.name == "log_softmax":
        return Case([sample(rng, "real", shape)], lambda t: t.log_softmax(axis=axis),
                    lambda a: _log_softmax_ref(a, axis))
    return Case([sample(rng, "real", shape)], lambda t: t.softmax(axis=axis),
                lambda a: np.exp(_log_softmax_ref(a, axis)))


def _cross_entropy_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    labels = rng.integers(0, c, n)

    def reference(x: np.ndarray) -> float:
        return float(np.mean([np.log(np.exp(row).sum()) - row[k] for row, k in zip(x, labels)]))

    return Case([sample(rng, "real", (n, c))], lambda t: tg.cross_entropy(t, labels), reference)


def _where_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    shapes = draw(mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3)).input_shapes
    cond = rng.random(shapes[0]) > 0.5

    def reference(x: np.ndarray, y: np.ndarray) -> np.ndarray:  # element by element
        out_shape = np.broadcast_shapes(*shapes)
        c, a, b = (np.broadcast_to(v, out_shape) for v in (cond, x, y))
        return np.array([a[i] if c[i] else b[i] for i in np.ndindex(out_shape)]).reshape(out_shape)

    return Case([sample(rng, "real", s) for s in shapes[1:]], lambda x, y: tg.where(cond, x, y), reference)


def _pad_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=3))
    widths = [draw(st.integers(0, 2)) for _ in range(2 * draw(st.integers(1, len(shape))))]  # last dim first

    def reference(x: np.ndarray, value: np.ndarray) -> np.ndarray:
        pairs = [(0, 0)] * (x.ndim - len(widths) // 2) + [(widths[2 * k], widths[2 * k + 1])
                                                           for k in reversed(range(len(widths) // 2))]
        return np.pad(x, pairs, constant_values=value)

    return Case([sample(rng, "real", shape), sample(rng, "real", ())],
                lambda t, value: tg.nn.functional.pad(t, widths, value=value), reference)


def _scatter_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=3))
    dim = draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(draw(st.integers(1, shape[d] if d != dim else 4)) for d in range(len(shape)))
    index = rng.integers(0, shape[dim], index_shape)  # repeats likely: the last write wins
    src_shape = tuple(n + draw(st.integers(0, 1)) for n in index_shape)

    def reference(x: np.ndarray, src: np.ndarray) -> np.ndarray:
        out = x.copy()
        for pos in np.ndindex(index_shape):  # in index's order, so a later write replaces an earlier one
            target = list(pos)
            target[dim] = index[pos]
            out[tuple(target)] = src[pos]
        return out

    return Case([sample(rng, "real", shape), sample(rng, "real", src_shape)],
                lambda x, src: x.scatter(dim, index, src), reference)
def _clip_tensor_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    shapes = draw(mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3)).input_shapes
    x = sample(rng, "steps", shapes[0])  # never within 0.05 of the bounds, which are multiples of 0.5
    low, high = rng.choice([-1.5, -1.0, -0.5, 0.0], shapes[1]), rng.choice([0.5, 1.0, 1.5], shapes[2])
    return Case([x, low, high], lambda t, lo, hi: t.clamp(lo, hi),
                lambda a, lo, hi: np.where(a < lo, lo, np.where(a > hi, hi, a)))
# --------------------------------------------------------------------------- convolution and pooling
# References are direct loops over output positions (no im2col, no strides), or np.einsum.


def _conv_geometry(draw: Draw) -> dict[str, Any]:
    """A tiny random conv: every element is perturbed by the second-order test's finite differences."""
    groups = draw(st.sampled_from([1, 1, 2]))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), 1)
    padding = ((draw(st.integers(0, 1)), draw(st.integers(0, 1))), (draw(st.integers(0, 1)), 0))
    size = tuple(draw(st.integers(max(1, d * (k - 1) + 1 - sum(p)), d * (k - 1) + 2))
                 for k, d, p in zip(kernel, dilation, padding))
    return {"n": draw(st.integers(1, 2)), "c_group": draw(st.integers(1, 2)), "o_group": draw(st.integers(1, 2)),
            "groups": groups, "kernel": kernel, "stride": stride, "dilation": dilation, "padding": padding,
            "size": size}


def _conv_loop(geo: dict[str, Any], visit: Callable[[int, int, int, int, int, slice, Any, Any], None]) -> None:
    """Call visit(n, o, i, j, group, channels, rows, cols) for every output position of the conv."""
    (sh, sw), (dh, dw), ((top, bottom), (left, right)) = geo["stride"], geo["dilation"], geo["padding"]
    kh, kw = geo["kernel"]
    h, w = geo["size"]
    ho, wo = ((h + top + bottom - dh * (kh - 1) - 1) // sh + 1, (w + left + right - dw * (kw - 1) - 1) // sw + 1)
    for n in range(geo["n"]):
        for o in range(geo["o_group"] * geo["groups"]):
            group = o // geo["o_group"]
            channels = slice(group * geo["c_group"], (group + 1) * geo["c_group"])
            for i in range(ho):
                for j in range(wo):  # window positions in the padded image
                    visit(n, o, i, j, group, channels, np.arange(kh) * dh + i * sh, np.arange(kw) * dw + j * sw)


def _conv_shapes(geo: dict[str, Any]) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Shapes of x, w and y."""
    (sh, sw), (dh, dw), ((top, bottom), (left, right)) = geo["stride"], geo["dilation"], geo["padding"]
    (kh, kw), (h, w) = geo["kernel"], geo["size"]
    c, o = geo["c_group"] * geo["groups"], geo["o_group"] * geo["groups"]
    y = (geo["n"], o, (h + top + bottom - dh * (kh - 1) - 1) // sh + 1, (w + left + right - dw * (kw - 1) - 1) // sw + 1)
    return (geo["n"], c, h, w), (o, geo["c_group"], kh, kw), y


def _padded(x: np.ndarray, padding: Any) -> np.ndarray:
    (top, bottom), (left, right) = padding
    out = np.zeros(x.shape[:2] + (x.shape[2] + top + bottom, x.shape[3] + left + right))
    out[:, :, top:top + x.shape[2], left:left + x.shape[3]] = x
    return out


def _conv_params(geo: dict[str, Any]) -> dict[str, Any]:
    return {"stride": geo["stride"], "padding": geo["padding"], "dilation": geo["dilation"], "groups": geo["groups"]}


def _conv_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    geo = _conv_geometry(draw)
    x_shape, w_shape, y_shape = _conv_shapes(geo)
    (top, _), (left, _) = geo["padding"]
    h, w_ = geo["size"]

    def conv(x: np.ndarray, w: np.ndarray, *bias: np.ndarray) -> np.ndarray:
        xp, y = _padded(x, geo["padding"]), np.zeros(y_shape)

        def visit(n: int, o: int, i: int, j: int, group: int, channels: slice, rows: Any, cols: Any) -> None:
            y[n, o, i, j] = (xp[n, channels][:, rows][:, :, cols] * w[o]).sum() + (bias[0][o] if bias else 0.0)

        _conv_loop(geo, visit)
        return y

    def input_grad(g: np.ndarray, w: np.ndarray) -> np.ndarray:  # every window gets back g·w
        xp = np.zeros(_padded(np.zeros(x_shape), geo["padding"]).shape)

        def visit(n: int, o: int, i: int, j: int, group: int, channels: slice, rows: Any, cols: Any) -> None:
            xp[n][np.ix_(np.arange(channels.start, channels.stop), rows, cols)] += g[n, o, i, j] * w[o]

        _conv_loop(geo, visit)
        return xp[:, :, top:top + h, left:left + w_]

    def weight_grad(x: np.ndarray, g: np.ndarray) -> np.ndarray:  # every window of x, weighted by g
        xp, dw = _padded(x, geo["padding"]), np.zeros(w_shape)

        def visit(n: int, o: int, i: int, j: int, group: int, channels: slice, rows: Any, cols: Any) -> None:
            dw[o] += g[n, o, i, j] * xp[n, channels][:, rows][:, :, cols]

        _conv_loop(geo, visit)
        return dw

    params = _conv_params(geo)
    if op.name == "conv2d":
        def call(x: Tensor, w: Tensor, *bias: Tensor) -> Tensor:
            return tg.nn.functional.conv2d(x, w, *bias, stride=geo["stride"], dilation=geo["dilation"],
                                           groups=geo["groups"], padding=0) if not any(map(any, geo["padding"])) else \
                ops.call(ops.CONV2D, x, w, *bias, **params)  # asymmetric padding has no public spelling

        bias = [sample(rng, "real", (w_shape[0],))] if draw(st.booleans()) else []
        return Case([sample(rng, "real", x_shape), sample(rng, "real", w_shape)] + bias, call, conv)
    if op.name == "conv2d_input_grad":  # conv2d's rule for its input, called as the engine calls it
        return Case([sample(rng, "real", y_shape), sample(rng, "real", w_shape)],
                    lambda g, w: ops.call(ops.CONV2D_INPUT_GRAD, g, w, input_size=geo["size"], **params), input_grad)
    return Case([sample(rng, "real", x_shape), sample(rng, "real", y_shape)],
                lambda x, g: ops.call(ops.CONV2D_WEIGHT_GRAD, x, g, kernel_size=geo["kernel"], **params), weight_grad)


def _pool_geometry(draw: Draw) -> dict[str, Any]:
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    geo = {"kernel_size": kernel, "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 2))),
           "padding": tuple(draw(st.integers(0, k // 2)) for k in kernel), "dilation": (draw(st.integers(1, 2)), 1)}
    # at least one kernel span: then every window holds an element of the image (none is all padding)
    size = tuple(draw(st.integers(d * (k - 1) + 1, d * (k - 1) + 3)) for k, d in zip(kernel, geo["dilation"]))
    return {**geo, "size": size, "ceil_mode": draw(st.booleans()), "nc": (draw(st.integers(1, 2)), draw(st.integers(1, 2)))}


def _pool_windows(geo: dict[str, Any]) -> list[tuple[int, int, list[tuple[int, int, int]]]]:
    """For each output position (i, j), its window's elements inside the image: (offset, row, col)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = geo["kernel_size"], geo["stride"], geo["padding"], geo["dilation"]
    h, w = geo["size"]
    out = [tg.ops.pool_output_size(n, k, s, p, d, geo["ceil_mode"])
           for n, k, s, p, d in zip((h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw))]
    windows = []
    for i in range(out[0]):
        for j in range(out[1]):
            cells = [(a * kw + b, i * sh - ph + a * dh, j * sw - pw + b * dw) for a in range(kh) for b in range(kw)]
            windows.append((i, j, [(k, r, c) for k, r, c in cells if 0 <= r < h and 0 <= c < w]))
    return windows


def _max_pool_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    geo = _pool_geometry(draw)
    n, c = geo["nc"]
    x_shape = (n, c) + geo["size"]
    windows = _pool_windows(geo)
    y_shape = (n, c, windows[-1][0] + 1, windows[-1][1] + 1)
    params = {k: geo[k] for k in ("kernel_size", "stride", "padding", "dilation")}
    if op.name == "max_pool2d":
        def reference(x: np.ndarray) -> np.ndarray:
            y = np.zeros(y_shape)
            for i, j, cells in windows:
                y[:, :, i, j] = np.max([x[:, :, r, col] for _, r, col in cells], axis=0)
            return y

        return Case([sample(rng, "distinct", x_shape)],
                    lambda t: tg.nn.functional.max_pool2d(t, **params, ceil_mode=geo["ceil_mode"]), reference)
    # the rule's scatter and its adjoint gather, for any choice of offsets (padding ones included)
    index = rng.integers(0, geo["kernel_size"][0] * geo["kernel_size"][1], y_shape)
    where = {(i, j): {k: (r, col) for k, r, col in cells} for i, j, cells in windows}
    params.update(index=index, input_size=geo["size"])
    if op.name == "max_pool2d_scatter":
        def scatter(g: np.ndarray) -> np.ndarray:
            z = np.zeros(x_shape)
            for (a, b, i, j), k in np.ndenumerate(index):
                if k in where[i, j]:
                    z[(a, b) + where[i, j][k]] += g[a, b, i, j]
            return z

        return Case([sample(rng, "real", y_shape)], lambda t: ops.call(ops.MAX_POOL2D_SCATTER, t, **params), scatter)

    def gather(h: np.ndarray) -> np.ndarray:
        y = np.zeros(y_shape)
        for (a, b, i, j), k in np.ndenumerate(index):
            if k in where[i, j]:
                y[a, b, i, j] = h[(a, b) + where[i, j][k]]
        return y

    return Case([sample(rng, "real", x_shape)], lambda t: ops.call(ops.MAX_POOL2D_GATHER, t, **params), gather)


EINSUM_EQUATIONS = ["ij,jk->ik", "bij,bjk->bik", "bhqd,bhkd->bhqk", "i,j->ij", "ij->ji", "ij->", "ij->i",
                    "ij,j->i", "ij,k->ik", "ab,bc,cd->ad", "ij,ij->", "ijk,ik->j", "ij,jk"]


def _einsum_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    equation = draw(st.sampled_from(EINSUM_EQUATIONS))
    terms = equation.split("->")[0].split(",")
    sizes = {c: draw(st.integers(1, 3)) for c in sorted(set("".join(terms)))}
    return Case([sample(rng, "real", tuple(sizes[c] for c in t)) for t in terms],
                lambda *ts: tg.einsum(equation, *ts), lambda *xs: np.einsum(equation, *xs))


def _normalize_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))  # (2+ elements: a variance)
    count = draw(st.integers(1, len(shape)))
    axes = tuple(range(len(shape) - count, len(shape)))  # the last `count` axes, as LayerNorm's

    def reference(x: np.ndarray) -> np.ndarray:  # the textbook formula, the variance by its definition
        mean = np.mean(x, axis=axes, keepdims=True)
        return (x - mean) / np.sqrt(np.mean((x - mean) ** 2, axis=axes, keepdims=True) + 1e-5)

    return Case([sample(rng, "real", shape)], lambda t: tg.nn.functional.layer_norm(t, shape[len(shape) - count:]),
                reference)


def _lstm_cell_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    lead = draw(st.sampled_from([(), (1,), (3,), (2, 2)]))  # unbatched, batches, and an extra axis
    hidden = draw(st.integers(1, 3))

    def reference(gates: np.ndarray, c: np.ndarray) -> np.ndarray:  # PyTorch's equations, gate order i, f, g, o
        i, f, g, o = (gates[..., k * hidden:(k + 1) * hidden] for k in range(4))
        c_next = _sigmoid_ref(f) * c + _sigmoid_ref(i) * np.tanh(g)
        return np.stack([_sigmoid_ref(o) * np.tanh(c_next), c_next])

    return Case([sample(rng, "real", lead + (4 * hidden,)), sample(rng, "real", lead + (hidden,))],
                lambda gates, c: ops.call(ops.LSTM_CELL, gates, c), reference)


def _lstm_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    steps, n, i, hidden = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    reverse, bias = draw(st.booleans()), draw(st.booleans())
    shapes = [(steps, n, i), (n, hidden), (n, hidden), (4 * hidden, i), (4 * hidden, hidden)] + [(4 * hidden,)] * 2 * bias

    def reference(x: np.ndarray, h: np.ndarray, c: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
                  *b: np.ndarray) -> np.ndarray:  # PyTorch's equations, step by step; then c_T after the h's
        out = np.zeros((steps + 1, n, hidden))
        for t in (reversed(range(steps)) if reverse else range(steps)):
            gates = x[t] @ w_ih.T + h @ w_hh.T + (b[0] + b[1] if b else 0)
            i_, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
            c = _sigmoid_ref(f) * c + _sigmoid_ref(i_) * np.tanh(g)
            h = out[t] = _sigmoid_ref(o) * np.tanh(c)
        out[steps] = c
        return out

    return Case([sample(rng, "real", s) for s in shapes],
                lambda *ts: ops.call(ops.LSTM, *ts, reverse=reverse), reference)
def _linear_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    lead = draw(st.sampled_from([(), (1,), (3,), (2, 2)]))  # one input vector, batches, and an extra axis
    n_in, n_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    bias = draw(st.booleans())

    def reference(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        # output feature o: the sum over inputs i of x_i w_oi, plus b_o (a direct loop over o)
        columns = [(x * w[o]).sum(axis=-1) + (0.0 if b is None else b[o]) for o in range(n_out)]
        return np.stack(columns, axis=-1)

    shapes = [lead + (n_in,), (n_out, n_in)] + ([(n_out,)] if bias else [])
    return Case([sample(rng, "real", s) for s in shapes], lambda *ts: tg.nn.functional.linear(*ts), reference)


def _mse_loss_case(op: ops.Op, draw: Draw, rng: np.random.Generator) -> Case:
    shape = draw(array_shapes(min_dims=0, max_dims=3, max_side=3))
    reduction = draw(st.sampled_from(["mean", "sum"]))

    def reference(pred: np.ndarray, target: np.ndarray) -> float:  # element by element
        total = sum((float(p) - float(t)) ** 2 for p, t in zip(pred.ravel(), target.ravel()))
        return total / pred.size if reduction == "mean" else total

    return Case([sample(rng, "real", shape), sample(rng, "real", shape)],
                lambda p, t: tg.nn.functional.mse_loss(p, t, reduction), reference)


CASES: dict[str, Callable[[ops.Op, Draw, np.random.Generator], Case]] = {
    **{name: _elementwise_case for name in ELEMENTWISE},
    "matmul": _matmul_case,
    "sum": _reduction_case, "mean": _reduction_case, "max": _reduction_case, "min": _reduction_case,
    "prod": _reduction_case, "logsumexp": _reduction_case, "cumsum": _cumsum_case,
    "reshape": _shape_case, "transpose": _shape_case, "broadcast_to": _shape_case, "astype": _shape_case,
    "copy": _shape_case,
    "getitem": _indexing_case, "scatter_add": _indexing_case,
    "concatenate": _join_case, "stack": _join_case,
    "log_softmax": _softmax_case, "softmax": _softmax_case,
    "cross_entropy": _cross_entropy_case,
    "where": _where_case, "pad": _pad_case, "scatter": _scatter_case,
    "clip_tensor": _clip_tensor_case,
    "conv2d": _conv_case, "conv2d_input_grad": _conv_case, "conv2d_weight_grad": _conv_case,
    "max_pool2d": _max_pool_case, "max_pool2d_scatter": _max_pool_case, "max_pool2d_gather": _max_pool_case,
    "einsum": _einsum_case,
    "lstm_cell": _lstm_cell_case,
    "lstm": _lstm_case,
    "normalize": _normalize_case,
    "linear": _linear_case,
    "mse_loss": _mse_loss_case,
}

ALL_OPS = sorted(set(REGISTRY) - NOT_DIFFERENTIABLE)
SCALAR_OPS = sorted(op.name for op in ops.SCALAR_OPS if op.name not in NOT_DIFFERENTIABLE)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_registered_op_has_a_case() -> None:
    assert set(CASES) == set(REGISTRY), f"ops without a test case: {set(REGISTRY) - set(CASES)}"


def test_every_op_record_is_complete() -> None:
    for op in REGISTRY.values():
        assert op.symbol and op.derivatives and all(d in ops.DOMAINS for d in op.domain), op.name


def _draw_case(name: str, data: st.DataObject) -> tuple[Case, np.random.Generator]:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    return CASES[name](REGISTRY[name], data.draw, rng), rng


@pytest.mark.parametrize("name", ALL_OPS)
@SETTINGS
@given(data=st.data())
def test_tensor_forward_and_gradient(name: str, data: st.DataObject) -> None:
    case, rng = _draw_case(name, data)
    tensors = [Tensor(a, requires_grad=True) for a in case.inputs]
    out = case.call(*tensors)
    assert out.op is REGISTRY[name], f"{name}: the call recorded {out.op} instead"
    assert_close(out.data, case.reference(*case.inputs), f"{name}: forward")
    assert out.data.shape == np.shape(case.reference(*case.inputs))

    cotangent = rng.normal(size=out.shape)  # checks the vector-Jacobian product for a random vector
    out.backward(cotangent)

    def projected(arrays: list[np.ndarray]) -> float:
        with tg.no_grad():
            return float((case.call(*[Tensor(a) for a in arrays]).data * cotangent).sum())

    for i, (t, expected) in enumerate(zip(tensors, central_differences(projected, case.inputs))):
        assert t.grad.shape == t.shape and t.grad.dtype == t.dtype
        assert_close(t.grad, expected, f"{name}: gradient of input {i}")


SAVING_OPS = sorted(op.name for op in REGISTRY.values() if op.saving_forward is not None)


def test_the_ops_that_save_work_for_their_rules() -> None:
    # a new one is also covered by the test below
    assert SAVING_OPS == ["conv2d", "cross_entropy", "gelu_tanh", "lstm", "lstm_cell", "max_pool2d", "mse_loss", "normalize"]


@pytest.mark.parametrize("name", SAVING_OPS)
@SETTINGS
@given(data=st.data())
def test_a_saving_forward_changes_nothing_but_the_work(name: str, data: st.DataObject) -> None:
    """The recorded node's output is the plain forward's, and its rule gives the same gradient with
    the saved work as from the inputs alone (the path of every caller that has only the inputs)."""
    case, rng = _draw_case(name, data)
    out = case.call(*[Tensor(a, requires_grad=True) for a in case.inputs])
    op = REGISTRY[name]
    assert out.op is op and "saved" in out.params
    plain = {k: v for k, v in out.params.items() if k != "saved"}
    inputs = [i.data for i in out.inputs]
    np.testing.assert_array_equal(out.data, op.forward(*inputs, **plain))
    g = rng.normal(size=out.shape)
    for k in range(len(inputs)):
        rule = op.vjps[k]
        assert_close(rule(g, out.data, *inputs, **out.params), rule(g, out.data, *inputs, **plain),
                     f"{name}: rule {k} with and without the saved work", atol=1e-12)


@pytest.mark.parametrize("name", ALL_OPS)
@settings(SETTINGS, max_examples=12)
@given(data=st.data())
def test_tensor_second_order(name: str, data: st.DataObject) -> None:
    """d/dx <grad f(x), v>, through create_graph, against finite differences of the first-order gradient."""
    case, rng = _draw_case(name, data)
    cotangent = rng.normal(size=np.shape(case.reference(*case.inputs)))
    directions = [rng.normal(size=a.shape) for a in case.inputs]

    def directional(arrays: list[Any], create_graph: bool) -> Any:
        ts = [a if isinstance(a, Tensor) else Tensor(a, requires_grad=True) for a in arrays]
        f = (case.call(*ts) * cotangent).sum()
        grads = tg.grad(f, ts, create_graph=create_graph)
        return sum((g * v).sum() for g, v in zip(grads, directions))

    tensors = [Tensor(a, requires_grad=True) for a in case.inputs]
    s = directional(tensors, create_graph=True)
    if isinstance(s, Tensor) and s.requires_grad:
        second = tg.grad(s, tensors, allow_unused=True)
    else:  # the gradient does not depend on the inputs: the op is linear in them
        second = (None,) * len(tensors)
    expected = central_differences(lambda arrays: float(directional(arrays, create_graph=False)), case.inputs)
    for i, (got, exp) in enumerate(zip(second, expected)):
        assert_close(np.zeros_like(exp) if got is None else got, exp, f"{name}: second order, input {i}", atol=1e-5)


@pytest.mark.parametrize("name", SCALAR_OPS)
@SETTINGS
@given(data=st.data())
def test_value_forward_and_gradient(name: str, data: st.DataObject) -> None:
    op = REGISTRY[name]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    call, reference = ELEMENTWISE[name]
    xs = [float(sample(rng, d, ())) for d in op.domain]
    values = [Value(x) for x in xs]
    out = call(*values)
    assert isinstance(out, Value) and isinstance(out.data, float)
    assert out.op is op or out.op.name == name  # (params other than the defaults: the record with them bound)
    assert_close(out.data, reference(*map(np.float64, xs)), f"{name}: forward")
    out.backward()

    def f(arrays: list[np.ndarray]) -> float:
        return call(*[Value(float(a)) for a in arrays]).data

    for i, (v, expected) in enumerate(zip(values, central_differences(f, [np.array(x) for x in xs]))):
        assert isinstance(v.grad, float)
        assert_close(v.grad, expected, f"{name}: gradient of input {i}")


@pytest.mark.parametrize("name", SCALAR_OPS)
@settings(SETTINGS, max_examples=15)
@given(data=st.data())
def test_value_second_derivative(name: str, data: st.DataObject) -> None:
    op = REGISTRY[name]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    call, _ = ELEMENTWISE[name]
    xs = [float(sample(rng, d, ())) for d in op.domain]

    def first(arrays: list[Any], create_graph: bool) -> tuple[Any, ...]:
        vs = [a if isinstance(a, Value) else Value(float(a)) for a in arrays]
        return tg.grad(call(*vs), vs, create_graph=create_graph)

    values = [Value(x) for x in xs]
    for j, g in enumerate(first(values, create_graph=True)):  # row j of the Hessian
        row = tg.grad(g, values, allow_unused=True) if isinstance(g, Value) and g.requires_grad else (None,) * len(xs)
        expected = central_differences(lambda arrays: float(first(arrays, False)[j]), [np.array(x) for x in xs])
        for i, (got, exp) in enumerate(zip(row, expected)):
            assert_close(0.0 if got is None else got, exp, f"{name}: d2/dx{j}dx{i}", atol=1e-5)


@pytest.mark.parametrize("name", ["add", "mul", "div", "matmul", "sigmoid", "tanh", "log_softmax", "sum"])
def test_float32_is_kept_in_data_and_gradients(name: str) -> None:
    rng = np.random.default_rng(0)
    x = Tensor(rng.uniform(0.5, 2, (3, 3)).astype(np.float32), requires_grad=True)
    y = Tensor(rng.uniform(0.5, 2, (3, 3)).astype(np.float32), requires_grad=True)
    calls = {
        "add": lambda: x + y + 1.5, "mul": lambda: x * y * 2, "div": lambda: x / y / 3.0,
        "matmul": lambda: x @ y, "sigmoid": lambda: x.sigmoid(), "tanh": lambda: x.tanh(),
        "log_softmax": lambda: x.log_softmax(axis=0), "sum": lambda: x.sum(axis=1),
    }
    out = calls[name]()
    assert out.dtype == np.float32, f"{name} promoted float32 to {out.dtype}"
    out.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("source, target", [(np.float32, np.float64), (np.float64, np.float32)])
def test_astype_changes_precision_both_ways(source: Any, target: Any) -> None:
    """d(cast x)/dx = 1: the gradient is the upstream gradient, in the input's dtype; second order
    through a cast works (create_graph records the cast back)."""
    rng = np.random.default_rng(5)
    x = Tensor(rng.uniform(-2, 2, (2, 3)).astype(source), requires_grad=True)
    cotangent = rng.normal(size=(2, 3))
    y = x.astype(target)
    assert y.dtype == target and np.array_equal(y.data, x.data.astype(target))
    y.backward(cotangent)
    assert x.grad.dtype == source
    assert np.array_equal(x.grad, cotangent.astype(target).astype(source))
    (g,) = tg.grad((x.astype(target) ** 3).sum(), [x], create_graph=True)  # 3 x², as a graph node
    assert isinstance(g, Tensor) and g.dtype == source
    (h,) = tg.grad(g.sum(), [x])  # 6 x
    assert_close(h, 6 * x.data.astype(np.float64), "second order through astype", atol=1e-4, rtol=1e-4)


def test_astype_to_integers_refuses_a_tensor_that_requires_grad() -> None:
    x = Tensor([1.5, 2.5], requires_grad=True)
    with pytest.raises(TypeError, match=r"astype: cannot cast a float64 tensor of shape \(2,\) that requires grad to int64"):
        x.astype(np.int64)
    assert np.array_equal(x.detach().astype(np.int64).data, [1, 2])


def test_python_numbers_do_not_promote_but_float64_arrays_do() -> None:
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = x * np.ones(3)  # a float64 array promotes, as in NumPy
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32  # but the gradient takes its input's dtype


def test_scalar_math_matches_numpy_ieee_semantics() -> None:
    assert math.isnan((Value(0.0) / Value(0.0)).data)
    assert (Value(1.0) / 0).data == math.inf and (Value(-1.0) / 0).data == -math.inf
    assert math.isnan((Value(-8.0) ** (1 / 3)).data)  # NumPy gives nan, Python a complex number
    assert Value(1000.0).exp().data == math.inf  # math.exp raises OverflowError
    assert (Value(-1000.0).sigmoid()).data == 0.0 and Value(1000.0).sigmoid().data == 1.0


@pytest.mark.parametrize("name", sorted(NOT_DIFFERENTIABLE))
@settings(SETTINGS, max_examples=10)
@given(data=st.data())
def test_a_non_differentiable_op_computes_and_refuses_a_backward(name: str, data: st.DataObject) -> None:
    """Its forward against the reference, on Tensor and Value; the node is recorded (it requires grad, as
    in PyTorch), and a backward through it raises a RuntimeError naming it."""
    case, _ = _draw_case(name, data)
    out = case.call(*[Tensor(a, requires_grad=True) for a in case.inputs])
    assert out.op is REGISTRY[name] and out.requires_grad
    assert_close(out.data, case.reference(*case.inputs), f"{name}: forward")
    with pytest.raises(RuntimeError, match=name):
        out.sum().backward()
    xs = [float(np.ravel(a)[0]) for a in case.inputs]
    value = case.call(*[Value(x) for x in xs])
    assert_close(value.data, case.reference(*map(np.float64, xs)), f"{name}: Value forward")
    with pytest.raises(RuntimeError, match=name):
        value.backward()
