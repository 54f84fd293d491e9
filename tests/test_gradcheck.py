"""The gradient checker: passes where the engine is right, fails (and says where) where it is not.

The checker's own truth is tested against closed forms; its ability to fail is proven with test-only
ops whose backward rules are deliberately wrong.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import GradcheckError, GradcheckWarning, Tensor, Value, ops

from .test_ops_registry import ALL_OPS, ELEMENTWISE, SCALAR_OPS, SETTINGS, _draw_case
from .numeric import sample


def _bad_op(name: str, rule: Any) -> ops.Op:
    """A test-only op x -> x² with the given backward rule (not registered: only these tests see it)."""
    return ops.Op(name, "²", lambda x: x * x, vjps=(rule,), derivatives=("2x",), domain=("real",),
                  scalar_forward=lambda x: x * x)


BAD_SQUARE = _bad_op("bad_square", lambda g, out, x: g * x)  # forgets the factor 2
WRONG_FOR_NEGATIVES = _bad_op("wrong_for_negatives", lambda g, out, x: g * 2 * x * ((x > 0) + 0.5 * (x <= 0)))


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, tg.engine.Node) else x


# right at first order, but the raw data hides x from a second differentiation
FIRST_ORDER_ONLY = _bad_op("first_order_only", lambda g, out, x: g * 2 * _raw(x))


def _quiet() -> Any:
    """Kinks and float64 copies warn; most tests here are not about that."""
    return warnings.catch_warnings(action="ignore", category=GradcheckWarning)


# --------------------------------------------------------------------------- it passes where it should


@pytest.mark.parametrize("name", ALL_OPS)
@settings(SETTINGS, max_examples=15)
@given(data=st.data())
def test_passes_on_every_registered_op(name: str, data: st.DataObject) -> None:
    case, _ = _draw_case(name, data)
    tensors = [Tensor(a, requires_grad=True) for a in case.inputs]
    assert tg.gradcheck(case.call, tensors) is True  # the full Jacobian, whatever the output shape


@pytest.mark.parametrize("name", SCALAR_OPS)
@settings(SETTINGS, max_examples=15)
@given(seed=st.integers(0, 2**32 - 1))
def test_passes_on_every_scalar_op_and_its_second_derivative(name: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = [Value(float(sample(rng, d, ()))) for d in tg.REGISTRY[name].domain]
    call, _ = ELEMENTWISE[name]
    assert tg.gradcheck(call, values) is True
    assert tg.gradgradcheck(call, values) is True


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), hidden=st.integers(1, 6), classes=st.integers(2, 4))
def test_passes_on_composite_tensor_functions(seed: int, n: int, hidden: int, classes: int) -> None:
    rng = np.random.default_rng(seed)
    x = Tensor(rng.normal(size=(n, 3)), requires_grad=True)
    w1 = Tensor(rng.normal(size=(3, hidden)), requires_grad=True)
    b1 = Tensor(rng.normal(size=hidden), requires_grad=True)
    w2 = Tensor(rng.normal(size=(hidden, classes)), requires_grad=True)
    labels = rng.integers(0, classes, n)

    def classifier(x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor) -> Tensor:
        return tg.cross_entropy((x @ w1 + b1).tanh() @ w2, labels)

    def regression(x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor) -> Tensor:
        h = (x @ w1 - b1).sigmoid()
        return ((h @ w2).softmax(axis=-1) * (h.exp() / (1 + h * h)).sum(axis=1, keepdims=True)).mean(axis=0)

    assert tg.gradcheck(classifier, [x, w1, b1, w2])
    assert tg.gradcheck(regression, [x, w1, b1, w2])  # a vector output: every row of the Jacobian
    assert tg.gradgradcheck(classifier, [x, w1, b1, w2])


@settings(max_examples=25, deadline=None)
@given(a=st.floats(-2, 2), b=st.floats(-2, 2), c=st.floats(0.5, 2))
def test_passes_on_composite_value_functions(a: float, b: float, c: float) -> None:
    def f(a: Value, b: Value, c: Value) -> Value:
        return ((a * b + b**2).tanh() + c.log() * a.exp() / c - (a - c).sigmoid() ** c) * 2

    values = [Value(a), Value(b), Value(c)]
    assert tg.gradcheck(f, values)
    assert tg.gradgradcheck(f, values)


def test_mixed_nested_inputs_and_several_outputs() -> None:
    """A list of Values and a Tensor, two outputs (a Value and a Tensor), non-differentiable extras."""
    weights = [Value(0.5, label="w0"), Value(-1.5, label="w1")]
    t = Tensor([[1.0, 2.0], [-0.5, 0.25]], requires_grad=True)

    def f(ws: list[Value], t: Tensor, scale: float, frozen: Tensor) -> tuple[Value, Tensor]:
        neuron = (ws[0] * 2.0 + ws[1] * ws[0]).tanh()
        return neuron, (t * frozen).sigmoid() * scale

    frozen = Tensor([3.0, -1.0])
    report = tg.gradcheck(f, [weights, t, 2.0, frozen], report=True)
    assert report.passed and [s.name for s in report.inputs] == ["input 0[0] ('w0')", "input 0[1] ('w1')", "input 1"]
    assert report.evaluations == 1 + 2 * (2 + 4)  # 2P + 1: the frozen tensor is not nudged


# --------------------------------------------------------------------------- the numerical truth itself


def test_numerical_grad_matches_closed_forms() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    x = Tensor(rng.normal(size=3), requires_grad=True)
    v = Value(0.7)
    gx, gv, nothing = tg.numerical_grad(lambda x, v, k: (x @ (a @ x)) + 0 * x.sum(), [x, v, 3])
    np.testing.assert_allclose(gx, (a + a.T) @ x.data, rtol=1e-8)  # d(xᵀAx)/dx = (A + Aᵀ)x
    assert gv is None or gv == 0.0
    assert nothing is None
    (gv,) = tg.numerical_grad(lambda v: v**3 + v.exp(), [v])
    assert gv == pytest.approx(3 * 0.7**2 + np.exp(0.7), rel=1e-8)
    # a vector output needs a gradient to weigh it, as backward() does
    (gx,) = tg.numerical_grad(lambda x: x * x, [x], grad_output=np.array([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(gx, 2 * x.data * [1.0, 0.0, 2.0], rtol=1e-8)
    with pytest.raises(ValueError, match="the output has 3 elements.*grad_output"):
        tg.numerical_grad(lambda x: x * x, [x])


def test_numerical_grad_never_reads_a_backward_rule() -> None:
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (g,) = tg.numerical_grad(lambda x: x.apply_op(BAD_SQUARE, x).sum(), [x])
    np.testing.assert_allclose(g, 2 * x.data, rtol=1e-8)  # the truth, not the broken rule's x


# --------------------------------------------------------------------------- it fails, and says where


def test_a_wrong_rule_fails_and_the_message_names_the_op_input_and_elements() -> None:
    x = Tensor([0.5, -0.3, 0.2], requires_grad=True, label="x")
    with pytest.raises(GradcheckError) as info:
        tg.gradcheck(lambda x: (x.apply_op(BAD_SQUARE, x) * 3).tanh().sum(), [x])
    message = str(info.value)
    assert "3 of 3 elements of input 0 ('x'), shape (3,) disagree" in message
    assert "the backward rule of op 'bad_square' is wrong" in message
    assert "analytical" in message and "numerical" in message and "abs error" in message and "rel error" in message
    report = info.value.report
    assert [r.op for r in report.rules] == ["bad_square"]  # tanh, mul and sum are cleared
    worst = report.mismatches[0]
    assert worst.input == "input 0 ('x')" and worst.element in [(0,), (1,), (2,)]
    assert worst.numerical == pytest.approx(2 * worst.analytical, rel=1e-5)  # the missing factor 2


def test_only_the_wrong_elements_are_reported() -> None:
    x = Tensor([1.0, -2.0, 3.0, -0.5], requires_grad=True)
    w = Tensor([0.3, 0.2, 0.1, 0.4], requires_grad=True)
    report = tg.gradcheck(lambda x, w: (x.apply_op(WRONG_FOR_NEGATIVES, x) * w).sum(), [x, w],
                          raise_exception=False, report=True)
    assert not report
    assert sorted(m.element for m in report.mismatches) == [(1,), (3,)]
    assert [(s.name, s.failed, s.elements) for s in report.inputs] == [("input 0", 2, 4), ("input 1", 0, 4)]
    assert "2 of 4 elements of input 0, shape (4,) disagree" in str(report)
    assert "wrong_for_negatives" in str(report)


def test_a_detached_factor_fails_and_names_input_0() -> None:
    x = Tensor([0.5, -1.5, 2.0], requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        tg.gradcheck(lambda x: x * Tensor(x.data), [x])  # d/dx x² is 2x; the detached factor gives x
    message = str(info.value)
    assert "elements of input 0, shape (3,) disagree" in message
    assert info.value.report.rules == []  # every rule is right: the function hides a dependence
    assert "lost in how the function is built" in message


def test_a_wrong_scalar_rule_fails_on_values_too() -> None:
    a, b = Value(0.7, label="a"), Value(-0.2, label="b")
    with pytest.raises(GradcheckError, match=r"input 0 \('a'\).*\n(.|\n)*op 'bad_square'"):
        tg.gradcheck(lambda a, b: a.apply_op(BAD_SQUARE, a) * b + b, [a, b])


def test_return_values_and_report() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert tg.gradcheck(lambda x: x.apply_op(BAD_SQUARE, x), [x], raise_exception=False) is False
    report = tg.gradcheck(lambda x: (x * x).sum(), x, report=True)  # a single input needs no list
    assert isinstance(report, tg.GradcheckReport) and report and report.passed
    assert str(report).startswith("gradcheck passed: 1 input(s), 2 element(s)")


# --------------------------------------------------------------------------- kinks


def test_relu_at_zero_is_a_kink_not_a_failure() -> None:
    x = Tensor([0.0, 1.0, -1.0], requires_grad=True)
    with pytest.warns(GradcheckWarning, match=r"non-differentiable point at input 0, element \(0,\)"):
        report = tg.gradcheck(lambda x: x.relu().sum(), [x], report=True)
    assert report.passed
    (kink,) = report.kinks
    assert (kink.element, kink.left, kink.right, kink.analytical) == ((0,), pytest.approx(0.0), pytest.approx(1.0), 0.0)
    assert kink.chose == "the left derivative"
    assert "the analytical gradient chose 0 (the left derivative)" in str(report)


def test_max_with_ties_and_abs_at_zero_are_kinks() -> None:
    x = Tensor([2.0, 2.0, 0.5], requires_grad=True)
    with pytest.warns(GradcheckWarning):
        report = tg.gradcheck(lambda x: x.max(), [x], report=True)
    assert report.passed and [k.element for k in report.kinks] == [(0,), (1,)]
    assert all(k.chose == "a value between the two" and k.analytical == 0.5 for k in report.kinks)

    v = Value(0.0)
    with pytest.warns(GradcheckWarning, match=r"left derivative -1, right derivative 1"):
        assert tg.gradcheck(lambda v: v.relu() + (-v).relu(), [v])  # |v| at 0


def test_a_rule_outside_the_one_sided_derivatives_is_still_a_failure() -> None:
    bad_relu = ops.Op("bad_relu", "relu", lambda x: np.maximum(x, 0),
                      vjps=(lambda g, out, x: g * ((x > 0) + 5.0 * (x == 0)),), derivatives=("",), domain=("real",))
    x = Tensor([0.0, 1.0], requires_grad=True)
    report = tg.gradcheck(lambda x: x.apply_op(bad_relu, x).sum(), [x], raise_exception=False, report=True)
    assert not report.passed and [m.element for m in report.mismatches] == [(0,)]


# --------------------------------------------------------------------------- precision and side effects


def test_float32_is_checked_in_a_float64_copy_and_says_so() -> None:
    data = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    x = Tensor(data, requires_grad=True)
    original = x.data
    with pytest.warns(GradcheckWarning, match="float32; it was checked in a float64 copy"):
        report = tg.gradcheck(lambda x: (x * x).tanh().sum(), [x], report=True)
    assert report.passed and any("float64 copy" in note for note in report.notes)
    assert x.data is original and x.dtype == np.float32
    with _quiet(), pytest.raises(GradcheckError):  # never a silent pass: a wrong rule still fails
        tg.gradcheck(lambda x: x.apply_op(BAD_SQUARE, x).sum(), [x])


def test_inputs_are_left_exactly_as_they_were() -> None:
    x = Tensor([0.25, -1.0, 3.0], requires_grad=True)
    v = Value(1.5)
    x.grad = np.array([7.0, 8.0, 9.0])
    v.grad = 4.0
    data, bits, grad_array = x.data, x.data.copy(), x.grad
    with pytest.raises(GradcheckError):  # a failing check
        tg.gradcheck(lambda x, v: x.apply_op(BAD_SQUARE, x).sum() * v.data + 0 * x.sum(), [x, v])
    assert x.data is data and np.array_equal(x.data, bits) and x.grad is grad_array
    assert np.array_equal(x.grad, [7.0, 8.0, 9.0]) and v.data == 1.5 and v.grad == 4.0
    assert x.requires_grad and v.requires_grad

    calls = 0

    def breaks_halfway(x: Tensor) -> Tensor:
        nonlocal calls
        calls += 1
        if calls == 4:  # while element 0 or 1 is nudged
            raise FloatingPointError("the function gave up")
        return (x * x).sum()

    with pytest.raises(FloatingPointError):
        tg.gradcheck(breaks_halfway, [x])
    assert x.data is data and np.array_equal(x.data, bits)


# --------------------------------------------------------------------------- fast mode


@pytest.mark.parametrize("width", [4, 64])
def test_fast_mode_costs_three_evaluations_whatever_the_size(width: int) -> None:
    rng = np.random.default_rng(1)
    x = Tensor(rng.normal(size=(8, width)), requires_grad=True)
    w = Tensor(rng.normal(size=(width, width)), requires_grad=True)
    report = tg.gradcheck(lambda x, w: ((x @ w).tanh() @ w).sigmoid().mean(), [x, w], fast_mode=True, report=True)
    assert report.passed and report.evaluations == 3


def test_fast_mode_fails_on_a_wrong_rule_and_names_the_input() -> None:
    rng = np.random.default_rng(2)
    x = Tensor(rng.normal(size=(5, 4)), requires_grad=True, label="x")
    w = Tensor(rng.normal(size=(4, 3)), requires_grad=True, label="w")
    with pytest.raises(GradcheckError) as info:
        tg.gradcheck(lambda x, w: (x @ w.apply_op(BAD_SQUARE, w)).tanh().sum(), [x, w], fast_mode=True)
    report = info.value.report
    assert [m.input for m in report.mismatches] == ["input 1 ('w')"]
    assert [r.op for r in report.rules] == ["bad_square"]
    assert "the projection onto input 1 ('w'), shape (4, 3) disagrees" in str(info.value)


# --------------------------------------------------------------------------- second order


def test_gradgradcheck_catches_a_rule_that_is_right_only_at_first_order() -> None:
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True)

    def f(x: Tensor) -> Tensor:
        return (x.apply_op(FIRST_ORDER_ONLY, x) * x).sum()

    assert tg.gradcheck(f, [x])
    with pytest.raises(GradcheckError, match="gradgradcheck failed") as info:
        tg.gradgradcheck(f, [x])
    assert info.value.report.mismatches[0].input == "input 0"


def test_gradgradcheck_of_linear_and_vector_functions() -> None:
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    w = Tensor([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]], requires_grad=True)
    assert tg.gradgradcheck(lambda x: (x * 3.0).sum(), [x])  # the gradient is constant: second derivative 0
    assert tg.gradgradcheck(lambda x, w: (x @ w).tanh(), [x, w])  # a vector output, random grad_outputs
    assert tg.gradgradcheck(lambda x, w: (x @ w).tanh(), [x, w], grad_outputs=[np.array([1.0, -2.0])])
    assert tg.gradgradcheck(lambda x, w: (x @ w).sigmoid().sum(), [x, w], fast_mode=True)


# --------------------------------------------------------------------------- modules


class _TinyModel:
    """Duck-typed like nn.Module: named parameters and a call."""

    def __init__(self, rule_op: ops.Op | None = None) -> None:
        rng = np.random.default_rng(3)
        self.w1 = Tensor(rng.normal(size=(3, 4)), requires_grad=True)
        self.w2 = Tensor(rng.normal(size=(4, 1)), requires_grad=True)
        self.rule_op = rule_op

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        return [("layer1.weight", self.w1), ("layer2.weight", self.w2)]

    def __call__(self, x: Tensor) -> Tensor:
        w2 = self.w2 if self.rule_op is None else self.w2.apply_op(self.rule_op, self.w2)
        return (x @ self.w1).tanh() @ w2


def _mse(pred: Tensor, target: np.ndarray) -> Tensor:
    return ((pred - target) ** 2).mean()


def test_check_module_grads_reports_per_parameter() -> None:
    x, y = np.random.default_rng(4).normal(size=(6, 3)), np.ones((6, 1))
    report = tg.check_module_grads(_TinyModel(), _mse, x, y, report=True)
    assert report.passed and [(s.name, s.elements) for s in report.inputs] == [("layer1.weight", 12), ("layer2.weight", 4)]
    assert tg.check_module_grads(_TinyModel(), _mse, (x, y))  # the batch as one tuple
    assert tg.check_module_grads(_TinyModel(), _mse, x, y, fast_mode=True)

    with pytest.raises(GradcheckError) as info:
        tg.check_module_grads(_TinyModel(BAD_SQUARE), _mse, x, y)
    assert [s.name for s in info.value.report.inputs if s.failed] == ["layer2.weight"]
    assert "4 of 4 elements of layer2.weight, shape (4, 1) disagree" in str(info.value)


# --------------------------------------------------------------------------- bad input


def test_clear_errors_for_bad_input() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="gradcheck: the function must return a Value or a Tensor.*output 0 is a float"):
        tg.gradcheck(lambda x: float(x.sum()), [x])
    with pytest.raises(ValueError, match="gradcheck: no input requires grad"):
        tg.gradcheck(lambda x: x.sum(), [Tensor([1.0])])
    with pytest.raises(ValueError, match="gradcheck: eps must be a positive finite number, got 0"):
        tg.gradcheck(lambda x: x.sum(), [x], eps=0)
    with pytest.raises(ValueError, match="gradcheck: rtol must be a non-negative number"):
        tg.gradcheck(lambda x: x.sum(), [x], rtol=-1)
    with pytest.raises(ValueError, match="check_module_grads: no batch given"):
        tg.check_module_grads(_TinyModel(), _mse)
    with pytest.raises(ValueError, match="gradgradcheck: 1 outputs but 2 grad_outputs"):
        tg.gradgradcheck(lambda x: x * x, [x], grad_outputs=[np.ones(2), np.ones(2)])


def test_check_module_grads_on_nn_models_at_both_levels() -> None:
    rng = np.random.default_rng(5)
    model = tg.nn.MLP([3, 5, 2], activation="tanh", rng=0)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    report = tg.check_module_grads(model, tg.nn.functional.mse_loss, x, y, report=True)
    assert report.passed and [s.name for s in report.inputs] == [n for n, _ in model.named_parameters()]

    neurons = tg.nn.ScalarMLP([2, 3, 1], activation="tanh", rng=0)  # the same network made of Values
    assert tg.check_module_grads(neurons, lambda out, target: (out - target) ** 2, [0.5, -1.0], 0.3)


def test_outputs_that_are_views_of_the_inputs() -> None:
    """The check copies each output: a view of an input would otherwise change under the nudges."""
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert tg.gradcheck(lambda x: x, [x])
    assert tg.gradcheck(lambda x: x[1:], [x])
    assert tg.gradcheck(lambda x: x.T.reshape(4), [x])
