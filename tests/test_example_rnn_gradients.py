"""What examples/rnn_gradients.py shows: the engine's Jacobians through time are P D^(t-k) P^T (linear)
and ∏ diag(1 - h²) W (tanh), so their norms vanish below 1 and explode above 1."""

from __future__ import annotations

import pathlib
from types import ModuleType

import numpy as np
import pytest

from .test_examples import load_example


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example("rnn_gradients")


def test_linear_jacobians_are_P_D_power_P_transpose(example: ModuleType) -> None:
    D = np.array([1.1, -0.7, 0.4])
    P = example.orthogonal(3, seed=5)
    W = P @ np.diag(D) @ P.T  # built here from P and D, not taken from the example
    rng = np.random.default_rng(2)
    U, xs = rng.normal(size=(3, 2)), rng.normal(size=(30, 2))
    t = 30
    J = example.jacobians(example.unroll(W, U, xs), t)
    assert len(J) == t + 1
    for k in (0, 1, 7, 15, 29, 30):
        expected = P @ np.linalg.matrix_power(np.diag(D), t - k) @ P.T
        assert np.abs(J[k] - expected).max() < 1e-10, k
        assert np.abs(J[k] - np.linalg.matrix_power(W, t - k)).max() < 1e-10, k
    assert np.allclose(P @ P.T, np.eye(3), atol=1e-12)


def test_jacobians_of_an_intermediate_step(example: ModuleType) -> None:
    W, _ = example.recurrent_matrix(np.array([0.9, 0.5, -0.2, 0.1]), seed=3)
    U, xs = example.inputs(12)
    J = example.jacobians(example.unroll(W, U, xs), 8)  # h_8, not the last state
    for k in range(9):
        assert np.abs(J[k] - np.linalg.matrix_power(W, 8 - k)).max() < 1e-12


def test_tanh_jacobian_is_the_product_of_diag_one_minus_h_squared_times_W(example: ModuleType) -> None:
    W, _ = example.recurrent_matrix(np.array([1.0, -0.8, 0.5, 0.25]), seed=0)
    U, xs = example.inputs(20)
    states = example.unroll(W, U, xs, "tanh")
    h = [s.data for s in states]
    # recompute the forward pass in NumPy: the engine's states are the textbook ones
    expected_h = np.zeros(4)
    for t, x in enumerate(xs, start=1):
        expected_h = np.tanh(W @ expected_h + U @ x)
        assert np.allclose(h[t], expected_h, atol=1e-14)
    t = 20
    J = example.jacobians(states, t)
    for k in (0, 5, 13, 19, 20):
        expected = np.eye(4)
        for i in range(t, k, -1):  # dh_t/dh_k = diag(1 - h_t²) W ... diag(1 - h_{k+1}²) W
            expected = expected @ np.diag(1 - h[i] ** 2) @ W
        assert np.abs(J[k] - expected).max() < 1e-10, k


def test_norms_vanish_below_one_explode_above_and_equal_lambda_power(
    example: ModuleType, tmp_path: pathlib.Path
) -> None:
    results = example.run(quick=True, out=tmp_path)
    assert results["max_jacobian_error"] < 1e-10
    assert results["max_tanh_jacobian_error"] < 1e-10
    steps = results["steps"]
    linear = results["norms"]["linear"]
    gaps = np.arange(steps + 1)
    for lam, norms in linear.items():
        # W is symmetric: the spectral norm of W^(t-k) is |λ|^(t-k)
        assert np.allclose(norms, abs(lam) ** gaps, rtol=1e-9), lam
    assert np.all(np.diff(linear[0.9]) < 0)
    assert np.all(np.diff(linear[1.1]) > 0)
    assert linear[1.1][-1] > 10 and linear[0.9][-1] < 0.1
    tanh = results["norms"]["tanh"]
    assert tanh[1.0][-1] < 0.5 * linear[1.0][-1]  # tanh makes even λ = 1 vanish
    assert tanh[0.9][-1] < linear[0.9][-1]
    assert all(np.isfinite(v).all() for v in tanh.values())
    for picture in results["pictures"]:
        assert pathlib.Path(picture).stat().st_size > 0
