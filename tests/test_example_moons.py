"""What examples/moons.py shows: an MLP of Values and the same MLP on Tensors learn the two moons.

Quick mode (60 points, 20 epochs, seed 0) reaches 98% training accuracy with both models on this
machine; the test asks for 90%, a margin that other seeds of the same settings also clear (the lowest
seen over seeds 0..7 was 93%). No timings are asserted: they are only printed.
"""

from __future__ import annotations

import pathlib
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value
from tinygrad_edu.nn import MLP, ScalarMLP

from .test_examples import load_example

MIN_ACCURACY = 0.9


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example("moons")


@pytest.fixture(scope="module")
def quick(example: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    results: dict[str, Any] = example.run(quick=True, out=tmp_path_factory.mktemp("moons"))
    return results


def training_set(results: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The quick run's points and 0/1 labels, made here from tg.data with the run's settings."""
    s = results["settings"]
    return tg.data.two_moons(n=s.points, noise=s.noise, seed=s.seed)


def test_the_run_trains_on_the_moons_of_tg_data(quick: dict[str, Any]) -> None:
    X, labels = training_set(quick)
    assert np.array_equal(quick["X"], X)
    assert np.array_equal(quick["y"], np.where(labels == 1, 1.0, -1.0))


@pytest.mark.parametrize("level", ["scalar", "tensor"])
def test_both_models_reach_a_decent_accuracy_in_quick_mode(quick: dict[str, Any], level: str) -> None:
    X, labels = training_set(quick)
    model = quick[f"{level}_model"]
    if level == "scalar":
        scores = np.array([model([float(a), float(b)]).data for a, b in X])
    else:
        with tg.no_grad():
            scores = model(Tensor(X)).data.ravel()
    accuracy = float(np.mean((scores > 0) == (labels == 1)))  # computed here, from the models themselves
    assert accuracy >= MIN_ACCURACY
    assert quick[f"{level}_accuracy"] == pytest.approx(accuracy)
    history = quick[f"{level}_history"]
    assert len(history) == quick["settings"].epochs and history[-1] < history[0]


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_scalar_and_tensor_mlps_with_the_same_seed_have_the_same_weights(seed: int) -> None:
    sizes = [2, 16, 16, 1]
    scalar, tensor = ScalarMLP(sizes, rng=seed), MLP(sizes, rng=seed)
    for layer, linear in zip(scalar.layers, tensor.layers):
        weights = np.array([[w.data for w in neuron.w] for neuron in layer.neurons])
        biases = np.array([neuron.b.data for neuron in layer.neurons])
        assert np.array_equal(weights, linear.weight.data)  # exactly: the same draws in the same order
        assert linear.bias is not None and np.array_equal(biases, linear.bias.data)


def test_the_examples_models_give_the_same_outputs_at_initialisation(example: ModuleType) -> None:
    settings = example.QUICK
    scalar, tensor = example.make_models(settings)
    points = np.random.default_rng(3).normal(size=(25, 2))
    with tg.no_grad():
        from_tensor = tensor(Tensor(points)).data.ravel()
        from_scalar = np.array([scalar([float(a), float(b)]).data for a, b in points])
    assert np.abs(from_scalar - from_tensor).max() < 1e-12


def test_the_run_reports_the_models_agree_before_and_after_training(quick: dict[str, Any]) -> None:
    # same weights, batches and steps: the two runs differ only by rounding
    assert quick["init_max_diff"] < 1e-12
    assert quick["final_max_diff"] < 1e-6
    assert np.allclose(quick["scalar_history"], quick["tensor_history"], rtol=1e-9, atol=1e-12)


def test_the_scalar_and_tensor_hinge_losses_agree_with_the_formula(example: ModuleType) -> None:
    scalar, tensor = example.make_models(example.QUICK)
    xb = np.random.default_rng(5).normal(size=(7, 2))
    yb = np.array([1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0])
    loss_scalar = example.scalar_hinge(scalar, xb, yb)
    loss_tensor = example.tensor_hinge(tensor, Tensor(xb), Tensor(yb))
    assert isinstance(loss_scalar, Value)
    with tg.no_grad():
        scores = tensor(Tensor(xb)).data.ravel()
    expected = np.mean(np.maximum(0.0, 1.0 - yb * scores))  # mean(relu(1 - y * score)), in NumPy
    assert loss_scalar.data == pytest.approx(expected, rel=1e-12)
    assert loss_tensor.item() == pytest.approx(expected, rel=1e-12)


def test_timings_are_reported(quick: dict[str, Any]) -> None:
    assert quick["scalar_seconds"] > 0 and quick["tensor_seconds"] > 0  # printed, never compared


def test_the_decision_boundary_plot_is_written(quick: dict[str, Any]) -> None:
    (picture,) = quick["pictures"]
    path = pathlib.Path(picture)
    assert path.suffix == ".png" and path.stat().st_size > 10_000
