"""What examples/universal_approximation.py shows: a wider hidden layer approximates the curve better."""

from __future__ import annotations

import pathlib
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from .test_examples import load_example


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example("universal_approximation")


@pytest.fixture(scope="module")
def results(example: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    results: dict[str, Any] = example.run(quick=True, out=tmp_path_factory.mktemp("universal_approximation"))
    return results


def test_the_widest_network_is_much_better_than_width_one(results: dict[str, Any]) -> None:
    widths, max_error, test_mse = results["widths"], results["max_error"], results["test_mse"]
    assert widths[0] == 1 and widths[-1] > widths[0]
    assert max_error[-1] < 0.2 * max_error[0]
    assert test_mse[-1] < 0.01 * test_mse[0]
    assert max_error[0] > 0.5  # one tanh step cannot follow two oscillations


def test_the_fits_are_finite_and_match_the_reported_errors(example: ModuleType, results: dict[str, Any]) -> None:
    x = results["x"]
    for n, error in zip(results["widths"], results["max_error"]):
        fit = results["fits"][n]
        assert fit.shape == x.shape and np.isfinite(fit).all()
        assert np.isclose(np.abs(fit - example.target(x)).max(), error)


def test_the_pictures_exist(results: dict[str, Any]) -> None:
    assert len(results["pictures"]) == 2
    for picture in results["pictures"]:
        path = pathlib.Path(picture)
        assert path.suffix == ".png" and path.stat().st_size > 0


def test_training_is_deterministic_and_the_units_sum_to_the_fit(example: ModuleType) -> None:
    x = np.linspace(-2, 2, 21)[:, None]
    y = example.target(x)
    a = example.train(3, x, y, steps=50, seed=4)
    b = example.train(3, x, y, steps=50, seed=4)
    assert np.array_equal(example.predict(a, x), example.predict(b, x))
    units = example.hidden_units(a, x)
    assert units.shape == (21, 3)
    assert np.allclose(units.sum(axis=1, keepdims=True) + a.layers[1].bias.data, example.predict(a, x), atol=1e-12)
