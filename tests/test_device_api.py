"""Every public function and Tensor method on a device as on the CPU: the same call made on tensors of
the same arrays on the CPU and on the fake device (tests/foreign_array.py), compared on values, devices
and gradients. The registry's ops are run on the device in test_devices.py; these are the calls a user
writes, which reach the ops through argument handling of their own (host masks, index lists, Python
numbers, factories), where a NumPy array can slip in beside a device array. A new public name without
a case here fails test_every_public_callable_has_a_device_case."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.device import is_array, to_host
from tinygrad_edu.nn import functional as F

from .foreign_array import register
from .numeric import assert_close
from .test_devices import DEVICES

register()

RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 4))
Y = RNG.normal(size=(3, 4))
P = RNG.uniform(0.5, 2.0, (3, 4))  # positive: logs, roots, powers
PROB = RNG.uniform(0.1, 0.9, (3, 4))  # in (0, 1): binary cross-entropy
V = RNG.normal(size=4)
W = RNG.normal(size=(4, 2))
X3 = RNG.normal(size=(2, 3, 4))
IMG = RNG.normal(size=(2, 2, 5, 5))
KERNEL = RNG.normal(size=(3, 2, 3, 3))
SEQ = RNG.normal(size=(2, 3, 6))
KERNEL1D = RNG.normal(size=(4, 3, 3))
Q, K, VAL = (RNG.normal(size=(2, 2, 3, 4)) for _ in range(3))
TIES = np.array([[1.0, 5.0, 5.0, -2.0], [7.0, 2.0, 7.0, 2.0], [0.0, 0.5, 0.0, 0.5]])
MASK = X > 0.3
LABELS = np.array([2, 0, 3])
IDS = np.array([[0, 2, 2], [3, 1, 0]])
INDEX = np.array([[0, 3, 1, 1], [2, 2, 0, 1], [3, 0, 0, 2]])  # along dim 1 of a (3, 4)
INTS = np.array([[7, -3, 4, 0], [5, 9, -8, 2], [1, 6, -1, -5]])
BOOLS = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])

Case = tuple[Callable[..., Any], list[np.ndarray]]


def _updated(t: Tensor) -> Tensor:
    """t changed in place by a user's host data: the in-place operators and assignment."""
    t += Y
    t *= [1.0, 2.0, 3.0, 4.0]
    t -= np.float32(0.5)
    t /= Tensor(2.0)  # a CPU tensor of 0 dims, as in PyTorch
    t[0] = Y[0]
    t[MASK] = 0.25
    t[1:, [0, 2]] = np.array([[7.0, 8.0], [9.0, 10.0]])
    t[2] = Tensor(P[2]).to(t.device)
    return t

# name (or "name: variant"; "Tensor: ..." for Python's operators and protocols) -> (the call on tensors
# of the arrays, the arrays). A float array becomes a tensor that requires grad; an int or bool one a
# tensor that does not. The arrays the calls capture stay NumPy arrays (or
# lists): the user's host constants, which the call must take to the device.
CASES: dict[str, Case] = {
    # ---- Tensor: elementwise
    "Tensor.abs": (lambda x: x.abs(), [X]),
    "Tensor.ceil": (lambda x: x.ceil(), [X]),
    "Tensor.clamp": (lambda x: x.clamp(-0.5, 0.5), [X]),
    "Tensor.clamp: tensors": (lambda x, lo, hi: x.clamp(lo - 1, hi), [X, Y, P]),
    "Tensor.clip": (lambda x: x.clip(max=0.2), [X]),
    "Tensor.cos": (lambda x: x.cos(), [X]),
    "Tensor.erf": (lambda x: x.erf(), [X]),
    "Tensor.exp": (lambda x: x.exp(), [X]),
    "Tensor.floor": (lambda x: x.floor(), [X]),
    "Tensor.floor_divide": (lambda x, y: x.detach().floor_divide(y.detach()) * x, [X, P]),  # (no derivative)
    "Tensor.log": (lambda p: p.log(), [P]),
    "Tensor.log2": (lambda p: p.log2(), [P]),
    "Tensor.neg": (lambda x: x.neg(), [X]),
    "Tensor.negative": (lambda x: x.negative(), [X]),
    "Tensor.reciprocal": (lambda p: p.reciprocal(), [P]),
    "Tensor.relu": (lambda x: x.relu(), [X]),
    "Tensor.remainder": (lambda x: x.remainder(0.7), [X]),
    "Tensor.round": (lambda x: x.round(), [X]),
    "Tensor.rsqrt": (lambda p: p.rsqrt(), [P]),
    "Tensor.sigmoid": (lambda x: x.sigmoid(), [X]),
    "Tensor.sign": (lambda x: x.sign(), [X]),
    "Tensor.sin": (lambda x: x.sin(), [X]),
    "Tensor.sqrt": (lambda p: p.sqrt(), [P]),
    "Tensor.square": (lambda x: x.square(), [X]),
    "Tensor.tanh": (lambda x: x.tanh(), [X]),
    "Tensor.maximum": (lambda x, y: x.maximum(y), [X, Y]),
    "Tensor.minimum": (lambda x: x.minimum(Y), [X]),
    "Tensor.where": (lambda x, y: x.where(MASK, y), [X, Y]),
    "Tensor.masked_fill": (lambda x: x.masked_fill(MASK, -1.5), [X]),
    "Tensor.masked_fill: device mask": (lambda x, m: x.masked_fill(m, float("-inf")).softmax(-1), [X, MASK]),
    "Tensor: operators": (lambda x, y: (2 - x) * y / (1 + x * x) + x ** 2 - y ** 3 + 1.5 ** x + (-x) % 1.3, [X, Y]),
    "Tensor: operators host array": (lambda x: x * Y + P - X / P, [X]),
    "Tensor: operators list": (lambda x: x * [1.0, 2.0, 3.0, 4.0] - [[0.5]] * x, [X]),
    "Tensor: operators numpy scalar": (lambda x: x * np.float64(2.0) + np.float32(0.5) - x ** np.int64(2), [X]),
    "Tensor: operators cpu scalar tensor": (lambda x, s: x * Tensor(2.0) + s.cpu() * x - x.maximum(Tensor(0.1)), [X, V[:1].reshape(())]),
    "Tensor: comparisons": (lambda x, y: (x < y) | (x >= 0.5) & ~(y == x) ^ (x != 0.1), [X, Y]),
    "Tensor.matmul: operator": (lambda x, w: x @ w, [X, W]),
    "Tensor: reflected array operand": (lambda x: (Y < x) & (np.float64(0.2) >= x) | (P[:, :3] @ x > 0), [X]),
    "Tensor: in place": (lambda x: _updated(x.detach().clone()) * x, [X]),
    # ---- Tensor: the operators' method forms, and the in-place methods (on a copy: x requires grad)
    "Tensor.add": (lambda x, y: x.add(y, alpha=-2) + x.add(Y), [X, Y]),
    "Tensor.sub": (lambda x: x.sub(Y, alpha=0.5), [X]),
    "Tensor.subtract": (lambda x, y: x.subtract(y), [X, Y]),
    "Tensor.mul": (lambda x: x.mul([1.0, 2.0, 3.0, 4.0]), [X]),
    "Tensor.multiply": (lambda x, y: x.multiply(y), [X, Y]),
    "Tensor.div": (lambda x, p: x.div(p) + x.detach().div(P, rounding_mode="trunc") + x.div(2.0, rounding_mode=None), [X, P]),
    "Tensor.div: floor": (lambda i: i.div(3, rounding_mode="floor"), [INTS]),
    "Tensor.divide": (lambda x, p: x.divide(p), [X, P]),
    "Tensor.true_divide": (lambda i: i.true_divide(np.array([2, 3, 4, 5])), [INTS]),
    "Tensor.pow": (lambda p: p.pow(1.5) + p.pow(Tensor(2.0)), [P]),
    "Tensor.add_": (lambda x: x.detach().clone().add_(Y, alpha=0.5) * x, [X]),
    "Tensor.sub_": (lambda x: x.detach().clone().sub_(np.float64(0.25)) * x, [X]),
    "Tensor.mul_": (lambda x: x.detach().clone().mul_([1.0, 2.0, 3.0, 4.0]) * x, [X]),
    "Tensor.div_": (lambda x: x.detach().clone().div_(Tensor(4.0)) * x, [X]),
    "Tensor.pow_": (lambda p: p.detach().clone().pow_(2) * p, [P]),
    "Tensor.clamp_": (lambda x: x.detach().clone().clamp_(-0.5, Y) * x, [X]),
    "Tensor.clip_": (lambda x: x.detach().clone().clip_(max=0.1) * x, [X]),
    "Tensor.masked_fill_": (lambda x: x.detach().clone().masked_fill_(MASK, 3.0) * x, [X]),
    "Tensor.fill_": (lambda x: x.detach().clone().fill_(Tensor(1.5)) * x, [X]),
    "Tensor.zero_": (lambda x: x.detach().clone().zero_() + x, [X]),
    "Tensor.copy_": (lambda x: x.detach().clone().copy_(Y[0]) * x + x.detach().clone().copy_(Tensor(P)), [X]),
    "Tensor.unbind": (lambda x: x.unbind(1)[2] * 2 + x.unbind()[0][1], [X]),
    "Tensor.log1p": (lambda p: p.log1p(), [P]),
    "Tensor.expm1": (lambda x: x.expm1(), [X]),
    "Tensor.isnan": (lambda x: (x * np.array([np.nan, 1.0, np.inf, -np.inf])).isnan(), [X]),
    "Tensor.isinf": (lambda x: (x * np.array([np.nan, 1.0, np.inf, -np.inf])).isinf(), [X]),
    "Tensor.isfinite": (lambda x: (x * np.array([np.nan, 1.0, np.inf, -np.inf])).isfinite(), [X]),
    "Tensor.multinomial": (lambda p: p.detach().multinomial(3, replacement=True, rng=1), [P]),
    # ---- Tensor: comparisons and logic
    "Tensor.eq": (lambda x: x.eq(TIES), [TIES]),
    "Tensor.eq: list": (lambda x: (x == [1.0, 5.0, 0.0, 2.0]) | (x != np.float64(7.0)), [TIES]),
    "Tensor.eq: cpu scalar tensor": (lambda x: x == Tensor(5.0), [TIES]),
    "Tensor.ne": (lambda x, y: x.ne(y), [X, Y]),
    "Tensor.lt": (lambda x: x.lt(0.2), [X]),
    "Tensor.le": (lambda x, y: x.le(y), [X, Y]),
    "Tensor.gt": (lambda x: x.gt(Y), [X]),
    "Tensor.ge": (lambda x, y: x.ge(y), [X, Y]),
    "Tensor.isclose": (lambda x: x.isclose(X + 1e-9), [X]),
    "Tensor.logical_and": (lambda b: b.logical_and(MASK), [BOOLS]),
    "Tensor.logical_or": (lambda b, c: b.logical_or(c), [BOOLS, MASK]),
    "Tensor.logical_not": (lambda b: b.logical_not(), [BOOLS]),
    "Tensor.all": (lambda b: b.all(1), [BOOLS]),
    "Tensor.any": (lambda b: b.any(), [BOOLS]),
    # ---- Tensor: reductions
    "Tensor.sum": (lambda x: x.sum(1, keepdim=True), [X]),
    "Tensor.mean": (lambda x: x.mean((0, 1)), [X3]),
    "Tensor.prod": (lambda x: x.prod(0), [X]),
    "Tensor.max": (lambda x: x.max(), [TIES]),
    "Tensor.max: dim": (lambda x: x.max(1), [TIES]),
    "Tensor.min": (lambda x: x.min(0, keepdim=True), [TIES]),
    "Tensor.amax": (lambda x: x.amax((0, 1)), [TIES]),
    "Tensor.amin": (lambda x: x.amin(-1), [TIES]),
    "Tensor.argmax": (lambda x: x.argmax(1), [TIES]),
    "Tensor.argmin": (lambda x: x.argmin(), [TIES]),
    "Tensor.std": (lambda x: x.std(1), [X]),
    "Tensor.var": (lambda x: x.var(0, correction=0, keepdim=True), [X]),
    "Tensor.norm": (lambda x: x.norm(3, dim=1), [X]),
    "Tensor.logsumexp": (lambda x: x.logsumexp(-1), [X]),
    "Tensor.cumsum": (lambda x: x.cumsum(1), [X]),
    "Tensor.softmax": (lambda x: x.softmax(0), [X]),
    "Tensor.log_softmax": (lambda x: x.log_softmax(-1), [X]),
    "Tensor.sort": (lambda x: x.sort(1, descending=True), [X]),
    "Tensor.argsort": (lambda x: x.argsort(0), [X]),
    "Tensor.topk": (lambda x: x.topk(2, largest=False), [X]),
    # ---- Tensor: products
    "Tensor.matmul": (lambda x, w: x.matmul(w), [X, W]),
    "Tensor.mm": (lambda x: x.mm(W), [X]),  # a host matrix
    "Tensor.bmm": (lambda a, b: a.bmm(b), [X3, RNG.normal(size=(2, 4, 3))]),
    "Tensor.dot": (lambda u, v: u.dot(v), [V, V[::-1].copy()]),
    "Tensor.outer": (lambda u: u.outer(V[:2]), [V]),
    # ---- Tensor: shapes and indexing
    "Tensor.T": (lambda x: x.T, [X]),
    "Tensor.mT": (lambda x: x.mT, [X3]),
    "Tensor.t": (lambda x: x.t(), [X]),
    "Tensor.transpose": (lambda x: x.transpose(-2, -1) + x.transpose(2, 1, 0).transpose(2, 0, 1), [X3]),
    "Tensor.swapaxes": (lambda x: x.swapaxes(-1, 0), [X3]),
    "Tensor.permute": (lambda x: x.permute(2, 0, 1), [X3]),
    "Tensor.reshape": (lambda x: x.reshape(2, -1), [X]),
    "Tensor.reshape_as": (lambda x, y: x.reshape_as(y), [X, X3[0]]),
    "Tensor.view": (lambda x: x.view(-1), [X]),
    "Tensor.view_as": (lambda x, v: x[0].view_as(v), [X, V]),
    "Tensor.flatten": (lambda x: x.flatten(1), [X3]),
    "Tensor.squeeze": (lambda x: x[:, :1].squeeze(1), [X]),
    "Tensor.unsqueeze": (lambda x: x.unsqueeze(-1), [X]),
    "Tensor.expand": (lambda x: x[:, :1].expand(3, 5), [X]),
    "Tensor.expand_as": (lambda v, x: v.expand_as(x), [V, X]),
    "Tensor.broadcast_to": (lambda v: v.broadcast_to((2, 4)), [V]),
    "Tensor.repeat": (lambda x: x.repeat(2, 1, 2), [X]),
    "Tensor.repeat_interleave": (lambda x: x.repeat_interleave(np.array([1, 0, 2]), dim=0), [X]),
    "Tensor.tile": (lambda x: x.tile((2,)), [X]),
    "Tensor.flip": (lambda x: x.flip((0, 1)), [X]),
    "Tensor.roll": (lambda x: x.roll(1, 1), [X]),
    "Tensor.tril": (lambda x: x.tril(), [X]),
    "Tensor.triu": (lambda x: x.triu(1), [X]),
    "Tensor.split": (lambda x: x.split([1, 3], dim=1), [X]),
    "Tensor.chunk": (lambda x: x.chunk(2), [X]),
    "Tensor: getitem": (lambda x: x[1:, [0, 3, 3]] + x[MASK].sum() + x[np.array([2, 0])][:, 1:2], [X]),
    "Tensor: getitem device index": (lambda x, i: x.T[i], [X, LABELS]),
    "Tensor.index_select": (lambda x: x.index_select(1, [3, 1, 1]), [X]),
    "Tensor.index_select: device index": (lambda x, i: x.index_select(0, i[:2]), [X, LABELS]),
    "Tensor.gather": (lambda x: x.gather(1, INDEX), [X]),
    "Tensor.gather: device index": (lambda x, i: x.gather(1, i), [X, INDEX]),
    "Tensor.take_along_dim": (lambda x: x.take_along_dim(INDEX[:, :2], 1), [X]),
    "Tensor.scatter": (lambda x, y: x.scatter(1, INDEX[:, :1], y[:, :1]), [X, Y]),
    "Tensor.scatter: number": (lambda x: x.scatter(0, np.array([[2, 0, 1, 1]]), 9.0), [X]),
    "Tensor.contiguous": (lambda x: x.T.contiguous(), [X]),
    "Tensor.clone": (lambda x: x.clone() * 2, [X]),
    "Tensor.detach": (lambda x, y: x.detach() * y, [X, Y]),
    # ---- Tensor: types
    "Tensor.astype": (lambda x: x.astype(np.float32), [X]),
    "Tensor.float": (lambda x: x.float(), [X]),
    "Tensor.double": (lambda x: x.float().double(), [X]),
    "Tensor.half": (lambda x: x.half(), [X]),
    "Tensor.int": (lambda i: i.int(), [INTS]),
    "Tensor.long": (lambda x: x.long(), [X]),
    "Tensor.bool": (lambda i: i.bool(), [INTS]),
    "Tensor.type_as": (lambda x, i: i.type_as(x), [X, INTS]),
    # ---- Tensor: factories from a tensor (take its device)
    "Tensor.new_zeros": (lambda x: x.new_zeros((2, 2)), [X]),
    "Tensor.new_ones": (lambda x: x.new_ones(3), [X]),
    "Tensor.new_full": (lambda x: x.new_full((2,), 4.5), [X]),
    "Tensor.new_empty": (lambda x: x.new_empty((2, 3)).shape[1] * x, [X]),
    "Tensor.new_tensor": (lambda x: x.new_tensor([1.0, 2.0]), [X]),
    # ---- top-level functions
    "tg.abs": (lambda x: tg.abs(x), [X]),
    "tg.ceil": (lambda x: tg.ceil(x), [X]),
    "tg.clamp": (lambda x: tg.clamp(x, min=0.0), [X]),
    "tg.clip": (lambda x: tg.clip(x, -1, Y), [X]),  # a host bound
    "tg.cos": (lambda x: tg.cos(x), [X]),
    "tg.erf": (lambda x: tg.erf(x), [X]),
    "tg.exp": (lambda x: tg.exp(x), [X]),
    "tg.floor": (lambda x: tg.floor(x), [X]),
    "tg.floor_divide": (lambda i: tg.floor_divide(i, 3), [INTS]),
    "tg.log": (lambda p: tg.log(p), [P]),
    "tg.log2": (lambda p: tg.log2(p), [P]),
    "tg.reciprocal": (lambda p: tg.reciprocal(p), [P]),
    "tg.relu": (lambda x: tg.relu(x), [X]),
    "tg.remainder": (lambda x, p: tg.remainder(x, p), [X, P]),
    "tg.round": (lambda x: tg.round(x), [X]),
    "tg.rsqrt": (lambda p: tg.rsqrt(p), [P]),
    "tg.sigmoid": (lambda x: tg.sigmoid(x), [X]),
    "tg.sign": (lambda x: tg.sign(x), [X]),
    "tg.sin": (lambda x: tg.sin(x), [X]),
    "tg.sqrt": (lambda p: tg.sqrt(p), [P]),
    "tg.square": (lambda x: tg.square(x), [X]),
    "tg.tanh": (lambda x: tg.tanh(x), [X]),
    "tg.maximum": (lambda x: tg.maximum(x, Y), [X]),
    "tg.minimum": (lambda x, y: tg.minimum(x, y), [X, Y]),
    "tg.where": (lambda x: tg.where(MASK, x, 0.0), [X]),
    "tg.where: device condition": (lambda b, x, y: tg.where(b, x, y), [BOOLS, X, Y]),
    "tg.masked_fill": (lambda x: tg.masked_fill(x, ~MASK, 2.0), [X]),
    "tg.isclose": (lambda x, y: tg.isclose(x, y, atol=0.5), [X, Y]),
    "tg.allclose": (lambda x: float(tg.allclose(x, X)) * x, [X]),
    "tg.logical_and": (lambda b, c: tg.logical_and(b, c), [BOOLS, MASK]),
    "tg.logical_or": (lambda b: tg.logical_or(b, MASK), [BOOLS]),
    "tg.logical_not": (lambda b: tg.logical_not(b), [BOOLS]),
    "tg.add": (lambda x: tg.add(x, Y, alpha=3), [X]),
    "tg.sub": (lambda x, y: tg.sub(x, y), [X, Y]),
    "tg.subtract": (lambda x: tg.subtract(x, 1.5, alpha=2), [X]),
    "tg.mul": (lambda x: tg.mul(x, Y), [X]),
    "tg.multiply": (lambda x, y: tg.multiply(x, y), [X, Y]),
    "tg.div": (lambda x, p: tg.div(x, p) + tg.div(x.detach(), P, rounding_mode="floor"), [X, P]),
    "tg.divide": (lambda x: tg.divide(x, P), [X]),
    "tg.true_divide": (lambda i: tg.true_divide(i, 4), [INTS]),
    "tg.pow": (lambda x: tg.pow(2.0, x) + tg.pow(x, 2), [X]),
    "tg.neg": (lambda x: tg.neg(x), [X]),
    "tg.negative": (lambda x: tg.negative(x), [X]),
    "tg.unbind": (lambda x: tg.unbind(x, -1)[0], [X3]),
    "tg.log1p": (lambda p: tg.log1p(p), [P]),
    "tg.expm1": (lambda x: tg.expm1(x), [X]),
    "tg.isnan": (lambda x: tg.isnan(x + np.array([0.0, np.nan, 1.0, np.nan])), [X]),
    "tg.isinf": (lambda x: tg.isinf(x - np.array([np.inf, 1.0, 0.0, np.nan])), [X]),
    "tg.isfinite": (lambda x: tg.isfinite(x * np.array([np.inf, 1.0, 0.0, np.nan])), [X]),
    "tg.multinomial": (lambda p: tg.multinomial(p.detach()[0], 2, rng=0), [P]),
    "tg.sum": (lambda x: tg.sum(x, (0, 2)), [X3]),
    "tg.mean": (lambda x: tg.mean(x, 1, keepdim=True), [X]),
    "tg.prod": (lambda p: tg.prod(p, 1), [P]),
    "tg.max": (lambda x, y: tg.max(x, y), [X, Y]),
    "tg.min": (lambda x: tg.min(x, 1), [TIES]),
    "tg.argmax": (lambda x: tg.argmax(x, 0), [TIES]),
    "tg.argmin": (lambda x: tg.argmin(x, 1, keepdim=True), [TIES]),
    "tg.std": (lambda x: tg.std(x, unbiased=False), [X]),
    "tg.var": (lambda x: tg.var(x, 1), [X]),
    "tg.norm": (lambda x: tg.norm(x, dim=(0, 1)), [X3]),
    "tg.logsumexp": (lambda x: tg.logsumexp(x, (0, 1)), [X]),
    "tg.cumsum": (lambda x: tg.cumsum(x, 0), [X]),
    "tg.softmax": (lambda x: tg.softmax(x, 1), [X]),
    "tg.log_softmax": (lambda x: tg.log_softmax(x, 0), [X]),
    "tg.sort": (lambda x: tg.sort(x, 0, stable=True), [TIES]),
    "tg.argsort": (lambda x: tg.argsort(x, descending=True, stable=True), [TIES]),
    "tg.topk": (lambda x: tg.topk(x, 3, dim=0), [X]),
    "tg.matmul": (lambda x: tg.matmul(x, W), [X]),
    "tg.mm": (lambda x, w: tg.mm(x, w), [X, W]),
    "tg.bmm": (lambda a, b: tg.bmm(a, b), [X3, RNG.normal(size=(2, 4, 2))]),
    "tg.dot": (lambda u: tg.dot(u, V), [V]),
    "tg.outer": (lambda u, v: tg.outer(u, v), [V, V[:3].copy()]),
    "tg.einsum": (lambda x, w: tg.einsum("bij,jk->bik", x, w) + tg.einsum("bij->j", x)[:2], [X3, W]),
    "tg.t": (lambda x: tg.t(x), [X]),
    "tg.transpose": (lambda x: tg.transpose(x, 0, 1), [X3]),
    "tg.permute": (lambda x: tg.permute(x, (1, 2, 0)), [X3]),
    "tg.reshape": (lambda x: tg.reshape(x, (4, 3)), [X]),
    "tg.flatten": (lambda x: tg.flatten(x), [X3]),
    "tg.squeeze": (lambda x: tg.squeeze(x.reshape(3, 1, 4)), [X]),
    "tg.unsqueeze": (lambda x: tg.unsqueeze(x, 0), [X]),
    "tg.repeat_interleave": (lambda x: tg.repeat_interleave(x, 2), [X]),
    "tg.tile": (lambda x: tg.tile(x, (2, 1)), [X]),
    "tg.flip": (lambda x: tg.flip(x, 1), [X]),
    "tg.roll": (lambda x: tg.roll(x, (1, -1), (0, 1)), [X]),
    "tg.tril": (lambda x: tg.tril(x, -1), [X]),
    "tg.triu": (lambda x: tg.triu(x), [X]),
    "tg.split": (lambda x: tg.split(x, 2, 1), [X]),
    "tg.chunk": (lambda x: tg.chunk(x, 3), [X]),
    "tg.stack": (lambda x, y: tg.stack([x, y], dim=1), [X, Y]),
    "tg.cat": (lambda x, y: tg.cat([x, y[:1]]), [X, Y]),
    "tg.concatenate": (lambda x, y: tg.concatenate((x, y), axis=1), [X, Y]),
    "tg.index_select": (lambda x: tg.index_select(x, 0, np.array([2, 2])), [X]),
    "tg.gather": (lambda x, i: tg.gather(x, 1, i), [X, INDEX]),
    "tg.scatter": (lambda x, y: tg.scatter(x, 1, INDEX[:, :2], y), [X, Y]),
    "tg.take_along_dim": (lambda x: tg.take_along_dim(x, INDEX, 1), [X]),
    "tg.take_along_axis": (lambda x, i: tg.take_along_axis(x, i, 1), [X, INDEX]),
    "tg.cross_entropy": (lambda x: tg.cross_entropy(x, LABELS), [X]),
    "tg.numel": (lambda x: tg.numel(x) * x, [X]),
    "tg.full_like": (lambda x: tg.full_like(x, 3.0) * x, [X]),
    "tg.zeros_like": (lambda x: tg.zeros_like(x) + x, [X]),
    "tg.ones_like": (lambda x: tg.ones_like(x, dtype=np.float32), [X]),
    "tg.randn_like": (lambda x: tg.randn_like(x, rng=3) * x, [X]),
    # ---- nn.functional
    "F.identity": (lambda x: F.identity(x), [X]),
    "F.relu": (lambda x: F.relu(x), [X]),
    "F.relu6": (lambda x: F.relu6(3 * x), [X]),
    "F.sigmoid": (lambda x: F.sigmoid(x), [X]),
    "F.tanh": (lambda x: F.tanh(x), [X]),
    "F.elu": (lambda x: F.elu(x, 0.5), [X]),
    "F.selu": (lambda x: F.selu(x), [X]),
    "F.gelu": (lambda x: F.gelu(x) + F.gelu(x, approximate="tanh"), [X]),
    "F.silu": (lambda x: F.silu(x), [X]),
    "F.softplus": (lambda x: F.softplus(x, beta=2.0), [X]),
    "F.softsign": (lambda x: F.softsign(x), [X]),
    "F.leaky_relu": (lambda x: F.leaky_relu(x, 0.2), [X]),
    "F.hardtanh": (lambda x: F.hardtanh(x, -0.5, 0.5), [X]),
    "F.hardsigmoid": (lambda x: F.hardsigmoid(4 * x), [X]),
    "F.logsigmoid": (lambda x: F.logsigmoid(x), [X]),
    "F.softmax": (lambda x: F.softmax(x, dim=1), [X]),
    "F.softmin": (lambda x: F.softmin(x, dim=0), [X]),
    "F.log_softmax": (lambda x: F.log_softmax(x, dim=-1), [X]),
    "F.activation": (lambda x: F.activation("tanh")(x), [X]),
    "F.where": (lambda x, y: F.where(x > y, x, y), [X, Y]),
    "F.linear": (lambda x, w, b: F.linear(x, w.T, b), [X, W, V[:2].copy()]),
    "F.conv1d": (lambda s, k: F.conv1d(s, k, padding="same", dilation=2), [SEQ, KERNEL1D]),
    "F.conv2d": (lambda i, k, b: F.conv2d(i, k, b, stride=2, padding=1), [IMG, KERNEL, V[:3].copy()]),
    "F.conv2d: groups": (lambda i, k: F.conv2d(i, k, groups=2), [IMG, KERNEL[:2, :1]]),
    "F.max_pool2d": (lambda i: F.max_pool2d(i, 2, ceil_mode=True), [IMG]),
    "F.max_pool2d: padded": (lambda i: F.max_pool2d(i, 3, stride=1, padding=1, dilation=1), [IMG]),
    "F.avg_pool2d": (lambda i: F.avg_pool2d(i, 2, padding=1, count_include_pad=False), [IMG]),
    "F.adaptive_avg_pool2d": (lambda i: F.adaptive_avg_pool2d(i, (2, None)), [IMG]),
    "F.batch_norm": (lambda i, w: F.batch_norm(i, None, None, w, None, training=True), [IMG, V[:2].copy()]),
    "F.batch_norm: running": (lambda i: F.batch_norm(i, Tensor(np.zeros(2)), Tensor(np.ones(2)), training=False), [IMG]),
    "F.layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b), [X3, V, V[::-1].copy()]),
    "F.group_norm": (lambda i: F.group_norm(i, 2), [IMG]),
    "F.dropout": (lambda x: F.dropout(x, 0.4, rng=2), [X]),
    "F.dropout: eval": (lambda x: F.dropout(x, 0.4, training=False), [X]),
    "F.embedding": (lambda w: F.embedding(IDS, w, padding_idx=0), [X.T.copy()]),
    "F.embedding: device ids": (lambda i, w: F.embedding(i, w), [IDS, X.T.copy()]),
    "F.one_hot": (lambda i: F.one_hot(i, 5), [LABELS]),
    "F.pad": (lambda x: F.pad(x, (1, 2, 0, 1), value=0.5) + F.pad(x, (1, 1), mode="reflect").sum(), [X]),
    "F.pad: modes": (lambda x: F.pad(x, (2, 1), mode="replicate") * F.pad(x, (1, 2), mode="circular"), [X]),
    "F.scaled_dot_product_attention": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [Q, K, VAL]),
    "F.scaled_dot_product_attention: mask": (lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=np.array([[True, False, True]] * 3), dropout_p=0.3, rng=1), [Q, K, VAL]),
    "F.scaled_dot_product_attention: device mask": (lambda q, k, v, m: F.scaled_dot_product_attention(
        q, k, v, attn_mask=m), [Q, K, VAL, np.array([[True, False, True], [False, False, False], [True, True, True]])]),
    "F.cross_entropy": (lambda x, y: F.cross_entropy(x, y, weight=V, label_smoothing=0.1), [X, LABELS]),
    "F.cross_entropy: probabilities": (lambda x, p: F.cross_entropy(x, p.softmax(1), reduction="sum"), [X, Y]),
    "F.cross_entropy: ignore": (lambda x: F.cross_entropy(x, [2, -100, 1], reduction="none"), [X]),
    "F.nll_loss": (lambda x, y: F.nll_loss(x.log_softmax(1), y, reduction="sum"), [X, LABELS]),
    "F.mse_loss": (lambda x, y: F.mse_loss(x, y), [X, Y]),
    "F.l1_loss": (lambda x: F.l1_loss(x, Y, reduction="none"), [X]),
    "F.huber_loss": (lambda x, y: F.huber_loss(x, y, delta=0.5), [X, Y]),
    "F.smooth_l1_loss": (lambda x: F.smooth_l1_loss(x, Y, beta=0.5), [X]),
    "F.binary_cross_entropy": (lambda p, t: F.binary_cross_entropy(p, t), [PROB, PROB[::-1].copy()]),
    "F.binary_cross_entropy_with_logits": (lambda x: F.binary_cross_entropy_with_logits(x, PROB), [X]),
    "F.hinge_loss": (lambda x: F.hinge_loss(x, np.sign(Y)), [X]),
    "F.normalize": (lambda x: F.normalize(x, dim=-1) + F.normalize(x, p=1, dim=0), [X]),
    "F.cosine_similarity": (lambda x, y: F.cosine_similarity(x, y) + F.cosine_similarity(x, y[:1], dim=1), [X, Y]),
    "F.kl_div": (lambda x, y: F.kl_div(x.log_softmax(1), y.log_softmax(1), log_target=True), [X, Y]),
}

# factories: name -> the call on a device
FACTORIES: dict[str, Callable[[str], Tensor]] = {
    "tg.zeros": lambda d: tg.zeros(2, 3, device=d),
    "tg.ones": lambda d: tg.ones((3,), dtype=np.float32, device=d),
    "tg.full": lambda d: tg.full((2, 2), 7, device=d),
    "tg.arange": lambda d: tg.arange(1, 4, 0.5, device=d),
    "tg.linspace": lambda d: tg.linspace(0, 1, 5, device=d),
    "tg.eye": lambda d: tg.eye(3, 2, device=d),
    "tg.rand": lambda d: tg.rand(2, 3, rng=0, device=d),
    "tg.randn": lambda d: tg.randn(4, rng=5, device=d),
    "tg.randint": lambda d: tg.randint(0, 10, size=(3,), rng=1, device=d),
    "tg.randperm": lambda d: tg.randperm(6, rng=2, device=d),
    "tg.from_numpy": lambda d: tg.from_numpy(X).to(d),
}

# public names that are not a computation on tensors, with where they are tested on a device
NOT_COMPUTATIONS = {
    # where a tensor lives and how it moves: test_devices.py (moving tensors and modules, to's arguments)
    "Tensor.to", "Tensor.cpu", "Tensor.cuda", "Tensor.numpy", "Tensor.device",
    # what a tensor is, and its values as Python's: test_python_protocols_on_a_device below
    "Tensor.item", "Tensor.tolist", "Tensor.is_cuda", "Tensor.shape", "Tensor.dtype", "Tensor.ndim", "Tensor.size",
    "Tensor.dim", "Tensor.ndimension", "Tensor.numel", "Tensor.nelement", "Tensor.element_size", "Tensor.is_leaf",
    # the autograd switches and hooks, which touch no arrays
    "Tensor.requires_grad_", "Tensor.retain_grad", "Tensor.apply_op", "tg.no_grad", "tg.enable_grad",
    "tg.inference_mode",
    "tg.is_grad_enabled", "tg.detect_anomaly", "tg.manual_seed", "F.random_generator", "F.conv_padding",
    # saving: test_devices.py (save writes host arrays, training resumes on a device)
    "tg.save", "tg.load",
    # the tools: test_devices.py runs gradcheck, the drawings and explain on a device; fit with host data
    "tg.gradcheck", "tg.gradgradcheck", "tg.draw_graph", "tg.explain", "tg.fit", "tg.render",
    # a loop of the user's own training runs: no arrays of its own
    "tg.best_of_restarts",
}

# the tools that read a graph or a model of device tensors: each is run on the device below
TOOLS = {"tg.grad", "tg.gradient_flow", "tg.graph_stats", "tg.trace_backward", "tg.topological_order",
         "tg.numerical_grad", "tg.check_module_grads", "tg.draw_network"}


def _public_callables() -> set[str]:
    names = set()
    for n, v in vars(Tensor).items():
        if not n.startswith("_") and (callable(v) or isinstance(v, property)):
            names.add(f"Tensor.{n}")
    for prefix, module in (("tg", tg), ("F", F)):
        for n in dir(module):
            v = getattr(module, n)
            if not n.startswith("_") and callable(v) and not inspect.isclass(v) and not inspect.ismodule(v):
                names.add(f"{prefix}.{n}")
    return names


def _covered(name: str) -> bool:
    return any(case.split(": ")[0] == name for case in CASES)


def test_every_public_callable_has_a_device_case() -> None:
    missing = sorted(n for n in _public_callables()
                     if not _covered(n) and n not in FACTORIES and n not in NOT_COMPUTATIONS and n not in TOOLS)
    assert not missing, f"public names without a device case (add one to CASES, or say why not): {missing}"
    stale = sorted(n for n in NOT_COMPUTATIONS | TOOLS if n not in _public_callables())
    assert not stale, f"names listed here that are no longer public: {stale}"


def _tensor(a: np.ndarray, device: str) -> Tensor:
    return Tensor(a, requires_grad=a.dtype.kind == "f", device=device)


def _outputs(out: Any) -> list[Tensor]:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _outputs(o)]
    return [out] if isinstance(out, Tensor) else []


def _run(call: Callable[..., Any], arrays: list[np.ndarray], device: str) -> tuple[list[np.ndarray], list[Any]]:
    """The call's outputs on `device` and the gradients a weighted sum of its float outputs sends to
    the inputs, as host arrays; asserting that every output is on the device."""
    inputs = [_tensor(a, device) for a in arrays]
    outs = _outputs(call(*inputs))
    assert outs, "the case returned no tensor"
    for k, o in enumerate(outs):
        assert o.device == device and is_array(o.data), f"output {k} is on {o.device}, not on {device}"
        assert (device == "cpu") == (type(o.data) is np.ndarray), f"output {k}'s array is a {type(o.data).__name__}"
    graded = [o for o in outs if o.requires_grad]
    if graded:
        weights = [np.cos(np.arange(o.numel()) + k).reshape(o.shape) for k, o in enumerate(graded)]
        sum((o * Tensor(w, dtype=o.dtype, device=device)).sum() for o, w in zip(graded, weights)).backward()
    return [to_host(o.data) for o in outs], [None if t.grad is None else to_host(t.grad) for t in inputs]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_call_runs_on_a_device_as_on_the_cpu(name: str, device: str) -> None:
    call, arrays = CASES[name]
    cpu_outs, cpu_grads = _run(call, arrays, "cpu")
    dev_outs, dev_grads = _run(call, arrays, device)
    assert len(dev_outs) == len(cpu_outs)
    for k, (d, c) in enumerate(zip(dev_outs, cpu_outs)):
        assert d.dtype == c.dtype and d.shape == c.shape, f"{name}: output {k} is {d.dtype} {d.shape}, on the CPU {c.dtype} {c.shape}"
        np.testing.assert_allclose(d.astype(np.float64), c, rtol=1e-12, atol=1e-12, err_msg=f"{name}: output {k}")
    for k, (d, c) in enumerate(zip(dev_grads, cpu_grads)):
        assert (d is None) == (c is None), f"{name}: a gradient of input {k} on one side only"
        if c is not None:
            assert_close(d, c, f"{name}: gradient of input {k}", atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_every_factory_makes_its_tensor_on_the_device(name: str, device: str) -> None:
    on_cpu, on_device = FACTORIES[name]("cpu"), FACTORIES[name](device)
    assert on_device.device == device and on_cpu.device == "cpu"
    assert type(on_device.data) is not np.ndarray and is_array(on_device.data)
    np.testing.assert_array_equal(to_host(on_device.data), on_cpu.data)
    assert on_device.dtype == on_cpu.dtype


@pytest.mark.parametrize("device", DEVICES)
def test_the_graph_tools_read_a_graph_of_device_tensors(device: str) -> None:
    def build(where: str) -> tuple[Tensor, Tensor, Tensor]:
        x = Tensor(X, requires_grad=True, device=where, label="x")
        w = Tensor(W, requires_grad=True, device=where, label="w")
        return x, w, ((x @ w).tanh() * 2).sum()

    x, w, y = build(device)
    cx, cw, cy = build("cpu")
    gx, gw = tg.grad(y, [x, w], retain_graph=True)
    ex, ew = tg.grad(cy, [cx, cw], retain_graph=True)
    assert type(gx) is not np.ndarray and is_array(gx)
    assert_close(to_host(gx), ex, "grad x", atol=1e-12, rtol=1e-12)
    assert_close(to_host(gw), ew, "grad w", atol=1e-12, rtol=1e-12)
    assert [n.op for n in tg.topological_order(y)] == [n.op for n in tg.topological_order(cy)]
    assert tg.graph_stats(y) == tg.graph_stats(cy)
    flow, cpu_flow = tg.gradient_flow(y), tg.gradient_flow(cy)
    assert len(flow.grads) == len(cpu_flow.grads) and len(flow.edges) == len(cpu_flow.edges)
    for (node, g), (cnode, cg) in zip(flow.grads.items(), cpu_flow.grads.items()):
        assert type(g) is not np.ndarray and node.op == cnode.op
        assert_close(to_host(g), cg, f"gradient_flow at {node.op}", atol=1e-12, rtol=1e-12)
    for g, cg in zip(flow.edges.values(), cpu_flow.edges.values()):
        assert_close(to_host(g), cg, "gradient_flow on an edge", atol=1e-12, rtol=1e-12)
    assert tg.trace_backward(y).replace(device, "cpu") == tg.trace_backward(cy)
    numeric = tg.numerical_grad(lambda a: ((a @ w).tanh() * 2).sum(), [x])
    assert_close(to_host(numeric[0] if isinstance(numeric, (list, tuple)) else numeric), ex, "numerical_grad", atol=1e-6)

    drawings = {}
    for where in ("cpu", device):
        model = tg.nn.MLP([2, 3, 1], rng=0).to(where)
        inputs, target = Tensor(np.array([[0.5, -1.0]]), device=where), Tensor(np.array([[1.0]]), device=where)
        assert tg.check_module_grads(model, tg.nn.functional.mse_loss, inputs, target)
        tg.nn.functional.mse_loss(model(inputs), target).backward()
        drawings[where] = tg.draw_network(model, [0.5, -1.0], target=1.0).source
    assert drawings[device] == drawings["cpu"]  # every weight, value and gradient, read from the device


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name, call", [
    ("mul", lambda t, c: t * c), ("eq", lambda t, c: t == c), ("lt", lambda t, c: t < c),
    ("+=", lambda t, c: t.__iadd__(c)), ("where", lambda t, c: tg.where(t > 0, t, c)),
])
def test_a_cpu_tensor_with_dims_in_a_device_op_is_refused_naming_both_devices(name: str, call: Any, device: str) -> None:
    on_device, on_cpu = Tensor(X, device=device), Tensor(Y)
    with pytest.raises(RuntimeError, match=f"^{re.escape(name)}: expected all tensors on the same device, got {device}.* and cpu"):
        call(on_device, on_cpu)


@pytest.mark.parametrize("device", DEVICES)
def test_a_cpu_tensor_of_0_dims_joins_a_device_op_and_gets_its_gradient_on_the_cpu(device: str) -> None:
    x = Tensor(X, requires_grad=True, device=device)
    s = Tensor(1.5, requires_grad=True)  # PyTorch allows it, as it allows a number
    y = x * s + tg.where(x > 0, s, x)
    assert y.device == device
    y.sum().backward()
    assert s.grad is not None and type(s.grad) is np.ndarray  # where s is
    assert s.grad == pytest.approx(X.sum() + (X > 0).sum(), rel=1e-12)
    np.testing.assert_allclose(to_host(x.grad), 1.5 + (X <= 0), rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_python_protocols_on_a_device(device: str) -> None:
    loss, ids, grid = (Tensor(a, device=device) for a in (np.float64(0.123456), np.array(2), np.arange(6.0).reshape(2, 3)))
    assert f"{loss:.3f}" == "0.123" and float(loss) == 0.123456 and int(Tensor(2.7, device=device)) == 2
    assert ["a", "b", "c"][ids] == "c" and 4.0 in grid and 7 not in grid and bool(loss)
    assert [row.device for row in grid] == [grid.device] * 2 and len(grid) == 2
    assert loss.item() == 0.123456 and grid.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and not grid.is_cuda
    assert (grid.shape, grid.dtype, grid.ndim, grid.size(), grid.size(1), grid.dim(), grid.ndimension()) == \
        ((2, 3), np.float64, 2, (2, 3), 3, 2, 2)
    assert (grid.numel(), grid.nelement(), grid.element_size(), grid.is_leaf) == (6, 6, 8, True)


@pytest.mark.parametrize("device", ["cpu", "foreign"])
def test_the_graph_tools_take_the_graph_of_every_case(device: str) -> None:
    """draw_graph, graph_stats, trace_backward, gradient_flow and explain on the graph each case above
    makes, on the CPU and on the device: every input in the graph is drawn, traced and explained, and
    what the edges leaving it carry adds up to its gradient. (A constant of shape (1, 1), `[[0.5]] * x`,
    broke trace_backward and explain.)"""
    for name, (call, arrays) in CASES.items():
        inputs = [Tensor(a, requires_grad=a.dtype.kind == "f", device=device, label=f"in{k}") for k, a in enumerate(arrays)]
        outs = [o for o in _outputs(call(*inputs)) if o.requires_grad]
        if not outs:
            continue
        loss = sum((o * 1.0).sum() for o in outs)
        in_graph = {id(n) for n in tg.topological_order(loss)}
        leaves = [t for t in inputs if id(t) in in_graph]
        assert tg.graph_stats(loss).by_op["leaf"] == len(leaves), name
        loss.backward(retain_graph=True)
        drawing, trace, flow = tg.draw_graph(loss).source, tg.trace_backward(loss), tg.gradient_flow(loss)
        for leaf in leaves:
            assert leaf.label in drawing and f"dL/d{leaf.label}" in trace, f"{name}: {leaf.label} missing"
            assert tg.explain(leaf, loss).startswith(f"dL/d{leaf.label} = "), name
            total = sum(to_host(g) for (source, _), g in flow.edges.items() if source is leaf)
            assert_close(total, to_host(leaf.grad), f"{name}: the edges leaving {leaf.label}", atol=1e-10, rtol=1e-10)
