"""nn.init: closed forms and exact bounds, statistics of large draws against their formulas, torch's gains,
fans, eye_ and dirac_, reproducible seeds, in-place bookkeeping, dtype and device kept."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tinygrad_edu import Tensor, Value
from tinygrad_edu.device import to_host
from tinygrad_edu.nn import init
from tinygrad_edu.nn.functional import conv2d

from .foreign_array import register

register()

SQRT3 = math.sqrt(3.0)


def empty(*shape: int, dtype: Any = np.float64) -> Tensor:
    return Tensor(np.full(shape, np.nan, dtype=dtype), requires_grad=True)


# every function with arguments that suit a (8, 6, 3) tensor, a fixed seed where it draws
FILLS: dict[str, Callable[[Tensor], Tensor]] = {
    "constant_": lambda t: init.constant_(t, 0.5),
    "ones_": init.ones_,
    "zeros_": init.zeros_,
    "dirac_": init.dirac_,
    "uniform_": lambda t: init.uniform_(t, -1, 2, generator=0),
    "normal_": lambda t: init.normal_(t, 1, 2, generator=0),
    "trunc_normal_": lambda t: init.trunc_normal_(t, generator=0),
    "xavier_uniform_": lambda t: init.xavier_uniform_(t, generator=0),
    "xavier_normal_": lambda t: init.xavier_normal_(t, generator=0),
    "kaiming_uniform_": lambda t: init.kaiming_uniform_(t, generator=0),
    "kaiming_normal_": lambda t: init.kaiming_normal_(t, generator=0),
    "orthogonal_": lambda t: init.orthogonal_(t, generator=0),
}


# --------------------------------------------------------------------------- gains and fans, against torch

GAINS = [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None), ("conv_transpose1d", None),
         ("conv_transpose2d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 3), ("leaky_relu", 0), ("selu", None)]


@pytest.mark.parametrize(("nonlinearity", "param"), GAINS)
def test_calculate_gain_is_torchs(nonlinearity: str, param: float | None) -> None:
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity, param)


def test_calculate_gain_closed_forms() -> None:
    assert init.calculate_gain("tanh") == 5 / 3 and init.calculate_gain("selu") == 0.75
    assert init.calculate_gain("leaky_relu", 1) == 1.0  # slope 1 is linear
    assert math.isclose(init.calculate_gain("leaky_relu"), math.sqrt(2 / 1.0001))


@pytest.mark.parametrize("bad", [("leaky_relu", True), ("leaky_relu", "0.1"), ("softmax", None)])
def test_calculate_gain_refuses_as_torch(bad: tuple[str, Any]) -> None:
    with pytest.raises(ValueError, match="calculate_gain"):
        init.calculate_gain(*bad)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 3, 7), (8, 2, 3, 3), (2, 3, 4, 5, 6), (1, 1), (0, 4)])
def test_fans_are_torchs(shape: tuple[int, ...]) -> None:
    torch = pytest.importorskip("torch")
    ours = init._calculate_fan_in_and_fan_out(Tensor(np.zeros(shape)))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


def test_fans_are_refused_below_two_dims_naming_the_function_and_shape() -> None:
    with pytest.raises(ValueError, match=r"kaiming_uniform_: fan in and fan out .* shape \(3,\)"):
        init.kaiming_uniform_(empty(3))
    with pytest.raises(ValueError, match=r"xavier_normal_: .* shape \(\)"):
        init.xavier_normal_(Tensor(np.float64(1.0)))


# --------------------------------------------------------------------------- constants, eye_, dirac_


def test_constants_fill_and_return_the_tensor() -> None:
    t = empty(2, 3)
    assert init.constant_(t, -1.5) is t and (t.data == -1.5).all()
    assert (init.ones_(t).data == 1).all() and (init.zeros_(t).data == 0).all()


@pytest.mark.parametrize("shape", [(3, 5), (4, 2), (3, 3)])
def test_eye_is_torchs(shape: tuple[int, int]) -> None:
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(init.eye_(empty(*shape)).data, torch.nn.init.eye_(torch.empty(shape)).numpy())


@pytest.mark.parametrize(("shape", "groups"), [((4, 2, 3), 1), ((2, 4, 5), 1), ((6, 3, 3, 3), 2), ((4, 2, 3, 4, 5), 1),
                                               ((6, 2, 2, 2), 3)])
def test_dirac_is_torchs(shape: tuple[int, ...], groups: int) -> None:
    torch = pytest.importorskip("torch")
    expected = torch.nn.init.dirac_(torch.empty(shape), groups).numpy()
    np.testing.assert_array_equal(init.dirac_(empty(*shape), groups).data, expected)


def test_dirac_passes_a_convolutions_input_through() -> None:
    x = Tensor(np.random.default_rng(0).normal(size=(1, 3, 5, 5)))
    w = init.dirac_(empty(3, 3, 3, 3))
    np.testing.assert_array_equal(conv2d(x, w, padding=1).data, x.data)


# --------------------------------------------------------------------------- bounds and statistics


@pytest.mark.parametrize(("fill", "bound"), [
    (lambda t: init.uniform_(t, -0.3, 0.7, generator=1), (-0.3, 0.7)),
    (lambda t: init.xavier_uniform_(t, gain=2.0, generator=1), 2.0 * math.sqrt(6 / (40 * 9 + 50 * 9))),
    (lambda t: init.kaiming_uniform_(t, generator=1), math.sqrt(2) * math.sqrt(3 / (40 * 9))),  # a=0: slope 0
    (lambda t: init.kaiming_uniform_(t, a=0.2, mode="fan_out", nonlinearity="leaky_relu", generator=1),
     math.sqrt(2 / 1.04) * math.sqrt(3 / (50 * 9))),
    (lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="tanh", generator=1), 5 / 3 * math.sqrt(3 / (50 * 9))),
])
def test_uniform_draws_fill_exactly_their_bounds(fill: Callable[[Tensor], Tensor], bound: Any) -> None:
    low, high = bound if isinstance(bound, tuple) else (-bound, bound)
    w = fill(empty(50, 40, 3, 3)).data  # 18,000 draws: the extremes come within 0.1% of the bounds
    assert low <= w.min() < low + 1e-3 * (high - low) and high - 1e-3 * (high - low) < w.max() <= high


def test_torchs_uniform_draws_fill_the_same_bounds() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    for name, kwargs in [("xavier_uniform_", {"gain": 1.5}), ("kaiming_uniform_", {"a": 0.3, "mode": "fan_out"})]:
        theirs = getattr(torch.nn.init, name)(torch.empty(50, 40, 3, 3), **kwargs).abs().max().item()
        ours = np.abs(getattr(init, name)(empty(50, 40, 3, 3), generator=0, **kwargs).data).max()
        assert math.isclose(ours, theirs, rel_tol=2e-3)


@pytest.mark.parametrize(("fill", "mean", "std"), [
    (lambda t: init.normal_(t, 1.0, 3.0, generator=2), 1.0, 3.0),
    (lambda t: init.uniform_(t, -1.0, 3.0, generator=2), 1.0, 4 / math.sqrt(12)),
    (lambda t: init.xavier_normal_(t, gain=0.5, generator=2), 0.0, 0.5 * math.sqrt(2 / (100 * 9 + 200 * 9))),
    (lambda t: init.kaiming_normal_(t, a=0.1, mode="fan_out", generator=2), 0.0,
     math.sqrt(2 / 1.01) / math.sqrt(200 * 9)),
    (lambda t: init.xavier_uniform_(t, generator=2), 0.0, math.sqrt(2 / (100 * 9 + 200 * 9))),  # std = bound / √3
])
def test_draws_have_the_formulas_mean_and_std(fill: Callable[[Tensor], Tensor], mean: float, std: float) -> None:
    w = fill(empty(200, 100, 3, 3)).data  # 180,000 draws: the sample mean is within 0.003 std (1.2 sigma) here
    assert abs(w.mean() - mean) < 0.02 * std and abs(w.std() / std - 1) < 0.01


def _truncated_normal_moments(mean: float, std: float, a: float, b: float) -> tuple[float, float]:
    """Mean and std of N(mean, std²) kept to [a, b], from the textbook closed form."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    def pdf(z: float) -> float:
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    mass = (math.erf(beta / math.sqrt(2)) - math.erf(alpha / math.sqrt(2))) / 2
    shift = (pdf(alpha) - pdf(beta)) / mass
    variance = 1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - shift**2
    return mean + std * shift, std * math.sqrt(variance)


@pytest.mark.parametrize(("mean", "std", "a", "b"), [
    (0.0, 1.0, -2.0, 2.0),  # most of the mass: normal draws, redrawn outside
    (0.5, 1.0, -1.0, 3.0),
    (0.0, 2.0, 0.5, 1.0),  # 9% of the mass: uniform draws kept by density
    (0.0, 0.02, -2.0, 2.0),  # the transformer habit: bounds far out in std units
])
def test_trunc_normal_has_the_truncated_normals_moments(mean: float, std: float, a: float, b: float) -> None:
    w = init.trunc_normal_(empty(400, 500), mean, std, a, b, generator=3).data
    expected_mean, expected_std = _truncated_normal_moments(mean, std, a, b)
    assert a <= w.min() and w.max() <= b
    assert abs(w.mean() - expected_mean) < 0.01 * expected_std and abs(w.std() / expected_std - 1) < 0.01


def test_trunc_normal_refuses_an_empty_interval() -> None:
    with pytest.raises(ValueError, match=r"trunc_normal_: expected std > 0 and a <= b, got std=1.0, a=1.0, b=0.0"):
        init.trunc_normal_(empty(3), a=1.0, b=0.0)


@pytest.mark.parametrize(("shape", "gain"), [((5, 5), 1.0), ((7, 3), 2.0), ((3, 2, 2, 2), 0.5), ((6, 4, 2), 1.0)])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_gain(shape: tuple[int, ...], gain: float) -> None:
    w = init.orthogonal_(empty(*shape), gain=gain, generator=4).data.reshape(shape[0], -1)
    gram = w @ w.T if w.shape[0] < w.shape[1] else w.T @ w
    np.testing.assert_allclose(gram, gain**2 * np.eye(len(gram)), atol=1e-12)


def test_orthogonal_is_uniform_over_orthogonal_matrices() -> None:
    """Haar-uniform Q averages to 0 entrywise; a QR without the sign fix averages to about ±0.5 on the
    diagonal (Householder's R has a negative diagonal more often than not)."""
    rng = np.random.default_rng(5)
    mean = np.mean([init.orthogonal_(empty(3, 3), generator=rng).data for _ in range(2000)], axis=0)
    assert np.abs(mean).max() < 0.06  # each entry's standard error is 1/√(3·2000) ≈ 0.013


# --------------------------------------------------------------------------- randomness


@pytest.mark.parametrize("name", [n for n in FILLS if n not in ("constant_", "ones_", "zeros_", "dirac_")])
def test_the_same_seed_draws_the_same_numbers(name: str) -> None:
    fn = getattr(init, name)
    first = fn(empty(8, 6, 3), generator=7).data.copy()
    np.testing.assert_array_equal(fn(empty(8, 6, 3), generator=np.random.default_rng(7)).data, first)
    rng = np.random.default_rng(7)
    fn(empty(8, 6, 3), generator=rng)
    assert not np.array_equal(fn(empty(8, 6, 3), generator=rng).data, first)  # a Generator moves on
    assert not np.array_equal(fn(empty(8, 6, 3)).data, fn(empty(8, 6, 3)).data)  # None: fresh entropy


def test_a_generator_that_is_not_numpys_is_refused() -> None:
    with pytest.raises(TypeError, match=r"normal_: generator must be a non-negative int, a numpy.random.Generator or None, got .0."):
        init.normal_(empty(3), generator="0")


# --------------------------------------------------------------------------- in place, dtype, device


def test_reinitialising_a_saved_parameter_is_refused_by_backward() -> None:
    w = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, label="w")
    loss = (Tensor([[1.0, -1.0]]) @ w).sum()  # matmul saves w for x's gradient
    loss.backward(retain_graph=True)
    init.normal_(w, generator=0)  # while recording, on a leaf that requires grad: no no_grad() needed
    with pytest.raises(RuntimeError, match=r"input 1 of a 'matmul' node \(Tensor 'w' of shape \(2, 2\)\) was changed in place"):
        loss.backward()


def test_a_tensor_made_by_an_op_is_refused() -> None:
    w = empty(2, 3)
    with pytest.raises(RuntimeError, match=r"nn.init.zeros_: cannot change a Tensor made by 'mul' in place"):
        init.zeros_(w * 2)


@pytest.mark.parametrize("name", FILLS)
def test_float32_stays_float32(name: str) -> None:
    t = empty(8, 6, 3, dtype=np.float32)
    assert FILLS[name](t).dtype == np.float32 and not np.isnan(t.data).any()


@pytest.mark.parametrize("name", FILLS)
def test_a_device_tensor_is_filled_on_its_device_as_on_the_cpu(name: str) -> None:
    t = Tensor(np.full((8, 6, 3), np.nan, dtype=np.float32), requires_grad=True, device="foreign")
    out = FILLS[name](t)
    assert out is t and t.device == "foreign" and t.dtype == np.float32
    np.testing.assert_array_equal(to_host(t.data), FILLS[name](empty(8, 6, 3, dtype=np.float32)).data)


def test_what_cannot_be_filled_is_refused_with_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"nn.init.xavier_uniform_: expected a Tensor, got Value \(a scalar Value"):
        init.xavier_uniform_(Value(1.0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="nn.init.ones_: expected a Tensor, got ndarray"):
        init.ones_(np.zeros(3))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="uniform_: random values need a floating-point tensor, this one is int64"):
        init.uniform_(Tensor(np.zeros(3, dtype=np.int64)))
    np.testing.assert_array_equal(init.eye_(Tensor(np.zeros((2, 3), dtype=np.int64))).data, np.eye(2, 3))


@pytest.mark.parametrize(("call", "torch_call"), [
    (lambda: init.uniform_(empty(3), 1, 0), lambda nn, t: nn.init.uniform_(t(3), 1, 0)),
    (lambda: init.normal_(empty(3), 0, -1), lambda nn, t: nn.init.normal_(t(3), 0, -1)),
    (lambda: init.eye_(empty(3)), lambda nn, t: nn.init.eye_(t(3))),
    (lambda: init.orthogonal_(empty(3)), lambda nn, t: nn.init.orthogonal_(t(3))),
    (lambda: init.kaiming_normal_(empty(3, 2), mode="fan_avg"), lambda nn, t: nn.init.kaiming_normal_(t(3, 2), mode="fan_avg")),
    (lambda: init.dirac_(empty(3, 2)), lambda nn, t: nn.init.dirac_(t(3, 2))),
    (lambda: init.dirac_(empty(3, 2, 2), groups=2), lambda nn, t: nn.init.dirac_(t(3, 2, 2), groups=2)),
])
def test_errors_have_torchs_types(call: Callable[[], Any], torch_call: Callable[[Any, Any], Any]) -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        torch_call(torch.nn, torch.empty)
    with pytest.raises(type(theirs.value)):
        call()


def test_kaiming_on_a_zero_element_tensor_warns_and_does_nothing_as_torchs() -> None:
    with pytest.warns(UserWarning, match="zero-element"):
        assert init.kaiming_uniform_(empty(0, 3)).shape == (0, 3)
