"""cross_entropy and nll_loss with torch's arguments: against a direct loop, finite differences and torch.

The loop reference works position by position with math.exp and math.log, so it shares nothing with
the implementation (no log_softmax, no picking, no reduction code).
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, ops
from tinygrad_edu.nn import CrossEntropyLoss, NLLLoss
from tinygrad_edu.nn import functional as F

from .numeric import assert_close, central_differences

# --------------------------------------------------------------------------- the direct loop


def _positions(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every position of a loss without its class axis: (n, d1, ...) for input (N, C, d1, ...)."""
    return list(itertools.product(*(range(n) for i, n in enumerate(shape) if i != 1)))


def _log_softmax_at(x: np.ndarray, pos: tuple[int, ...]) -> list[float]:
    row = [float(x[(pos[0], c) + pos[1:]]) for c in range(x.shape[1])]
    total = sum(math.exp(v) for v in row)
    return [v - math.log(total) for v in row]


def loop_cross_entropy(
    x: np.ndarray, target: np.ndarray, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
    smoothing: float = 0.0, log_probs: bool = False,
) -> Any:
    """torch's cross_entropy (or nll_loss with log_probs) by the definition, one position at a time."""
    unbatched = x.ndim == 1
    if unbatched:
        x, target = x[None], (target[None] if target.shape == x.shape else target.reshape(1))
    classes = x.shape[1]
    w = [1.0] * classes if weight is None else [float(v) for v in weight]
    soft = target.shape == x.shape
    losses, counts = {}, []
    for pos in _positions(x.shape):
        logp = ([float(x[(pos[0], c) + pos[1:]]) for c in range(classes)] if log_probs
                else _log_softmax_at(x, pos))
        if soft:
            p = [float(target[(pos[0], c) + pos[1:]]) * (1 - smoothing) + smoothing / classes for c in range(classes)]
            losses[pos] = -sum(w[c] * p[c] * logp[c] for c in range(classes))
            counts.append(1.0)
        elif int(target[pos]) == ignore_index:
            losses[pos] = 0.0
        else:
            y = int(target[pos])
            losses[pos] = -(1 - smoothing) * w[y] * logp[y] - smoothing / classes * sum(
                w[c] * logp[c] for c in range(classes))
            counts.append(w[y])
    if reduction == "none":
        out = np.array([losses[p] for p in _positions(x.shape)]).reshape(x.shape[:1] + x.shape[2:])
        return out.reshape(()) if unbatched else out
    total = sum(losses.values())
    if reduction == "sum":
        return total
    return total / sum(counts) if sum(counts) else math.nan


# --------------------------------------------------------------------------- cases

SHAPES = [(3, 4), (2, 3, 2), (2, 3, 2, 2), (4,)]


def _case(rng: np.random.Generator, shape: tuple[int, ...], kind: str, ignore_index: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=shape) * 1.5
    classes = shape[1] if len(shape) > 1 else shape[0]
    if kind == "probabilities":
        p = rng.uniform(0.05, 1, shape)
        return x, p / p.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
    label_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    labels = rng.integers(0, classes, label_shape)
    if kind == "ignored":  # some (never all) positions ignored, in the flat order
        flat = labels.reshape(-1)
        flat[:: 2] = ignore_index
        if labels.size > 1:
            flat[1] = 0 if ignore_index != 0 else 1
    return x, labels


COMBOS = [
    (shape, kind, weighted, reduction, smoothing, ignore_index)
    for shape in SHAPES
    for kind in ("labels", "ignored", "probabilities")
    for weighted in (False, True)
    for reduction in ("none", "sum", "mean")
    for smoothing in (0.0, 0.25)
    for ignore_index in (-100, 1)
    if not (kind == "probabilities" and ignore_index >= 0)  # not allowed with probabilities (as torch)
    if not (kind == "ignored" and shape == (4,) and reduction == "mean")  # all ignored: nan, tested apart
]


def _weights(rng: np.random.Generator, shape: tuple[int, ...], weighted: bool) -> np.ndarray | None:
    classes = shape[1] if len(shape) > 1 else shape[0]
    return rng.uniform(0.5, 2.0, classes) if weighted else None


# --------------------------------------------------------------------------- against the loop (no torch)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_cross_entropy_matches_the_direct_loop(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    for _, kind, weighted, reduction, smoothing, ignore_index in (c for c in COMBOS if c[0] == shape):
        x, target = _case(rng, shape, kind, ignore_index)
        w = _weights(rng, shape, weighted)
        what = f"{shape} {kind} weight={weighted} {reduction} ε={smoothing} ignore={ignore_index}"
        out = tg.cross_entropy(Tensor(x), target, w, ignore_index, reduction, smoothing)
        expected = loop_cross_entropy(x, target, w, ignore_index, reduction, smoothing)
        assert out.shape == np.shape(expected), what
        assert_close(out.data, expected, what, atol=1e-12, rtol=1e-12)
        if kind != "probabilities" and not smoothing:
            nll = F.nll_loss(Tensor(x).log_softmax(axis=1 if x.ndim > 1 else 0), target, w, ignore_index, reduction)
            assert_close(nll.data, expected, "nll_loss of log_softmax: " + what, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("kind", ["labels", "ignored", "probabilities"])
def test_cross_entropy_gradients_match_finite_differences(kind: str) -> None:
    """One case per kind with everything on (weights, smoothing, a random cotangent on "none")."""
    rng = np.random.default_rng(2)
    x, target = _case(rng, (3, 4, 2), kind, -100)
    w = _weights(rng, (3, 4, 2), True)
    for reduction in ("none", "mean"):
        g = rng.normal(size=(3, 2)) if reduction == "none" else np.array(1.0)
        xt = Tensor(x, requires_grad=True)
        tg.cross_entropy(xt, target, w, reduction=reduction, label_smoothing=0.1).backward(g)
        (numeric,) = central_differences(
            lambda a: float((loop_cross_entropy(a[0], target, w, -100, reduction, 0.1) * g).sum()), [x])
        assert_close(xt.grad, numeric, f"d cross_entropy / d logits ({kind}, {reduction})", atol=1e-7)


def test_probability_targets_get_gradients_too() -> None:
    rng = np.random.default_rng(3)
    x, p = _case(rng, (2, 3), "probabilities", -100)
    pt = Tensor(p, requires_grad=True)
    tg.cross_entropy(Tensor(x), pt, label_smoothing=0.2).backward()
    (numeric,) = central_differences(lambda a: loop_cross_entropy(x, a[0], smoothing=0.2), [p])
    assert_close(pt.grad, numeric, "d cross_entropy / d probabilities", atol=1e-7)


def test_nll_loss_matches_the_direct_loop_and_finite_differences() -> None:
    rng = np.random.default_rng(4)
    logp = rng.normal(size=(3, 4, 2))
    labels = np.array([[0, 3], [-1, 2], [1, -1]])
    w = rng.uniform(0.5, 2, 4)
    for reduction in ("none", "sum", "mean"):
        out = F.nll_loss(Tensor(logp), labels, w, ignore_index=-1, reduction=reduction)
        expected = loop_cross_entropy(logp, labels, w, -1, reduction, log_probs=True)
        assert_close(out.data, expected, f"nll_loss {reduction}", atol=1e-12, rtol=1e-12)
    xt = Tensor(logp, requires_grad=True)
    F.nll_loss(xt, labels, w, ignore_index=-1).backward()
    (numeric,) = central_differences(lambda a: loop_cross_entropy(a[0], labels, w, -1, log_probs=True), [logp])
    assert_close(xt.grad, numeric, "d nll_loss", atol=1e-7)


def test_second_order_through_the_composite() -> None:
    rng = np.random.default_rng(5)
    x = Tensor(rng.normal(size=(3, 3)), requires_grad=True)
    w = rng.uniform(0.5, 2, 3)
    assert tg.gradgradcheck(lambda t: tg.cross_entropy(t, [0, -100, 2], w, label_smoothing=0.3), [x])
    assert tg.gradgradcheck(lambda t: tg.cross_entropy(t, [1, 2, 0], reduction="none"), [x])


def test_the_common_case_is_still_the_fused_op() -> None:
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    assert tg.cross_entropy(x, [0, 2]).op is ops.CROSS_ENTROPY
    assert tg.cross_entropy(x, [0, 2], ignore_index=1).op is ops.CROSS_ENTROPY  # no label is ignored
    for other in ({"reduction": "sum"}, {"weight": [1.0, 2.0, 3.0]}, {"label_smoothing": 0.1}, {"ignore_index": 2}):
        assert tg.cross_entropy(x, [0, 2], **other).op is not ops.CROSS_ENTROPY, other  # type: ignore[arg-type]
    assert F.cross_entropy is tg.cross_entropy


def test_everything_ignored_gives_nan_and_zero_gradients_without_warnings() -> None:
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = tg.cross_entropy(x, [-100, -100], label_smoothing=0.1)
        assert math.isnan(loss.item())
        loss.backward()
        assert np.array_equal(x.grad, np.zeros((2, 3)))
        assert math.isnan(tg.cross_entropy(Tensor(np.ones(3)), np.array(-100)).item())  # unbatched
        assert math.isnan(F.nll_loss(x, [0, 1], weight=[0.0, 0.0, 1.0]).item())  # total weight 0
        assert tg.cross_entropy(x, [-100, -100], reduction="sum").item() == 0.0


def test_minus_infinity_logits_of_other_classes_leave_the_loss_finite() -> None:
    """Only the picked log-probabilities enter (no 0·(-inf)); with smoothing every class does: inf, as torch."""
    x = Tensor([[0.0, -np.inf, 1.0], [2.0, 0.0, -np.inf]], requires_grad=True)
    loss = tg.cross_entropy(x, [0, -100], reduction="sum")
    assert_close(loss.item(), math.log(1 + math.e), "finite loss", atol=1e-12)
    loss.backward()
    assert np.isfinite(x.grad).all() and x.grad[0, 1] == 0 and (x.grad[1] == 0).all()
    assert tg.cross_entropy(x, [0, 0], label_smoothing=0.1).item() == math.inf


def test_unbatched_input_and_a_0d_target() -> None:
    x = np.array([0.5, -1.0, 2.0])
    out = tg.cross_entropy(Tensor(x), np.array(2), reduction="none")
    assert out.shape == () and out.item() == pytest.approx(loop_cross_entropy(x, np.array(2), reduction="none"))
    assert tg.cross_entropy(Tensor(x), np.array(-100), reduction="none").item() == 0.0
    assert F.nll_loss(Tensor(x), np.array(1)).item() == 1.0


@pytest.mark.parametrize("kind", ["labels", "probabilities"])
def test_float32_stays_float32(kind: str) -> None:
    rng = np.random.default_rng(6)
    x, target = _case(rng, (3, 4), kind, -100)
    xt = Tensor(x.astype(np.float32), requires_grad=True)
    loss = tg.cross_entropy(xt, target, weight=np.ones(4), label_smoothing=0.1)
    assert loss.dtype == np.float32
    loss.backward()
    assert xt.grad.dtype == np.float32


def test_loss_modules_match_the_functions() -> None:
    rng = np.random.default_rng(7)
    x, labels = _case(rng, (4, 3), "ignored", 2)
    w = np.array([0.5, 1.0, 2.0])
    module = CrossEntropyLoss(weight=w, ignore_index=2, reduction="sum", label_smoothing=0.1)
    assert module(Tensor(x), labels).item() == tg.cross_entropy(Tensor(x), labels, w, 2, "sum", 0.1).item()
    assert repr(module) == "CrossEntropyLoss(weight=[0.5, 1.0, 2.0], ignore_index=2, reduction='sum', label_smoothing=0.1)"
    assert CrossEntropyLoss()(Tensor(x), [0, 1, 2, 0]).item() == tg.cross_entropy(Tensor(x), [0, 1, 2, 0]).item()
    nll = NLLLoss(weight=w, ignore_index=2, reduction="none")
    assert np.array_equal(nll(Tensor(x), labels).data, F.nll_loss(Tensor(x), labels, w, 2, "none").data)
    assert repr(NLLLoss()) == "NLLLoss()"


# --------------------------------------------------------------------------- errors


def test_errors_name_the_shapes_values_and_arguments() -> None:
    x = Tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"cross_entropy: expected logits .*\(3,\).*; got \(3, 4\) and \(2,\)"):
        tg.cross_entropy(x, [0, 1])
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 4\) for 4 classes \(or ignore_index -100\); "
                                         r"2 are not: \[4, -1\]"):
        tg.cross_entropy(x, [4, -100, -1])
    with pytest.raises(ValueError, match=r"class labels must be integers in \[0, 4\), got dtype float64"):
        tg.cross_entropy(x, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"expected logits .*\(2, 2\) .*; got \(2, 4, 2\) and \(2, 4\)"):
        tg.cross_entropy(Tensor(np.zeros((2, 4, 2))), np.zeros((2, 4), dtype=int))
    with pytest.raises(ValueError, match=r"a target of the logits' own shape \(3, 4\) holds class probabilities and "
                                         r"must be floating point, got dtype int64"):
        tg.cross_entropy(x, np.zeros((3, 4), dtype=np.int64))
    with pytest.raises(ValueError, match=r"ignore_index \(0\) is not supported with class-probability targets"):
        tg.cross_entropy(x, np.full((3, 4), 0.25), ignore_index=0)
    with pytest.raises(ValueError, match=r"weight must hold one number per class, shape \(4,\), got shape \(3,\)"):
        tg.cross_entropy(x, [0, 1, 2], weight=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"label_smoothing must be between 0.0 and 1.0, got 1.5"):
        tg.cross_entropy(x, [0, 1, 2], label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"reduction must be one of \('none', 'mean', 'sum'\), got 'avg'"):
        tg.cross_entropy(x, [0, 1, 2], reduction="avg")
    with pytest.raises(ValueError, match=r"expected logits of shape .* got a 0-d tensor"):
        tg.cross_entropy(Tensor(1.0), np.array(0))
    with pytest.raises(TypeError, match=r"cross_entropy: the logits must be a Tensor, got list"):
        tg.cross_entropy([[0.0, 1.0]], [0])
    with pytest.raises(ValueError, match=r"nll_loss: expected log-probabilities .*\(3,\).*; got \(3, 4\) and \(3, 4\)"):
        F.nll_loss(x, np.full((3, 4), 0.25))  # no probability targets
    with pytest.raises(ValueError, match=r"nll_loss: labels must be integers in \[0, 4\) .*ignore_index 9.*\[5\]"):
        F.nll_loss(x, [9, 5, 0], ignore_index=9)


# --------------------------------------------------------------------------- against torch


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_cross_entropy_matches_torch(shape: tuple[int, ...]) -> None:
    """Values and gradients (logits, and probability targets) at 1e-8 in float64, across the arguments,
    for tg.cross_entropy, nn.functional.cross_entropy, CrossEntropyLoss, and nll_loss / NLLLoss."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    rng = np.random.default_rng(8)
    for _, kind, weighted, reduction, smoothing, ignore_index in (c for c in COMBOS if c[0] == shape):
        x, target = _case(rng, shape, kind, ignore_index)
        w = _weights(rng, shape, weighted)
        what = f"{shape} {kind} weight={weighted} {reduction} ε={smoothing} ignore={ignore_index}"
        soft = kind == "probabilities"
        tx = torch.tensor(x, requires_grad=True)
        tt = torch.tensor(target, requires_grad=soft)
        tw = None if w is None else torch.tensor(w)
        expected = torch.nn.functional.cross_entropy(tx, tt, tw, ignore_index=ignore_index, reduction=reduction,
                                                     label_smoothing=smoothing)
        cotangent = rng.normal(size=tuple(expected.shape))
        expected.backward(torch.tensor(cotangent))
        arguments = {"weight": w, "ignore_index": ignore_index, "reduction": reduction, "label_smoothing": smoothing}
        calls = [lambda a, t: tg.cross_entropy(a, t, **arguments), lambda a, t: F.cross_entropy(a, t, **arguments),
                 lambda a, t: CrossEntropyLoss(**arguments)(a, t)]
        for call in calls:
            xt = Tensor(x, requires_grad=True)
            pt = Tensor(target, requires_grad=True) if soft else target
            out = call(xt, pt)
            assert out.shape == tuple(expected.shape), what
            assert_close(out.data, expected.detach().numpy(), what, atol=1e-8, rtol=1e-8)
            out.backward(cotangent)
            assert_close(xt.grad, tx.grad.numpy(), "d logits " + what, atol=1e-8, rtol=1e-8)
            if soft:
                assert_close(pt.grad, tt.grad.numpy(), "d probabilities " + what, atol=1e-8, rtol=1e-8)
        if not soft:
            logp = torch.log_softmax(torch.tensor(x), dim=1 if x.ndim > 1 else 0).numpy()
            expected_nll = torch.nn.functional.nll_loss(torch.tensor(logp), tt, tw, ignore_index=ignore_index,
                                                        reduction=reduction).numpy()
            nll_arguments = {"weight": w, "ignore_index": ignore_index, "reduction": reduction}
            for nll in (F.nll_loss(Tensor(logp), target, **nll_arguments), NLLLoss(**nll_arguments)(Tensor(logp), target)):
                assert_close(nll.data, expected_nll, "nll_loss " + what, atol=1e-8, rtol=1e-8)


def test_edge_cases_match_torch() -> None:
    torch = pytest.importorskip("torch")
    x = np.array([[0.0, -np.inf, 1.0], [2.0, 0.0, 1.0]])
    for labels, smoothing in (([0, 2], 0.0), ([-100, -100], 0.0), ([-100, -100], 0.2), ([1, -100], 0.0)):
        xt, tx = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out = tg.cross_entropy(xt, labels, label_smoothing=smoothing)
        expected = torch.nn.functional.cross_entropy(tx, torch.tensor(labels), label_smoothing=smoothing)
        np.testing.assert_array_equal(out.data, expected.detach().numpy())
        out.backward()
        expected.backward()
        assert_close(xt.grad, tx.grad.numpy(), f"{labels} ε={smoothing}", atol=1e-12)
    empty = torch.nn.functional.cross_entropy(torch.zeros((0, 3), dtype=torch.float64), torch.zeros((0, 3), dtype=torch.float64))
    assert math.isnan(tg.cross_entropy(Tensor(np.zeros((0, 3))), np.zeros((0, 3))).item()) and math.isnan(empty.item())
