"""What examples/boolean_functions.py shows: one hidden layer computes any boolean function of n bits.

The hand-built networks are checked against truth tables computed here, independently of the example
(inputs enumerated with itertools, parity by counting ones, random functions from our own generator);
the training search is checked in quick mode: XOR and parity-3 are learned exactly, restarts counted.
"""

from __future__ import annotations

import itertools
import pathlib
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor

from .test_examples import load_example


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example("boolean_functions")


@pytest.fixture(scope="module")
def quick(example: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    results: dict[str, Any] = example.run(quick=True, out=tmp_path_factory.mktemp("boolean_functions"))
    return results


def inputs(n: int) -> np.ndarray:
    """All n-bit inputs, most significant bit first: (0,..,0), (0,..,1), ..., (1,..,1)."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def outputs(model: Any, X: np.ndarray) -> np.ndarray:
    with tg.no_grad():
        return np.asarray(model(Tensor(X)).data).ravel()


def check_exact(example: ModuleType, truth: list[int]) -> None:
    n = len(truth).bit_length() - 1
    model = example.build_network(truth)
    assert model.sizes[0] == n and model.sizes[-1] == 1 and len(model.sizes) == 3  # one hidden layer
    true_rows = sum(truth)
    assert model.sizes[1] <= max(1, min(true_rows, 2**n - true_rows))  # at most 2^(n-1) hidden units
    assert np.array_equal(outputs(model, inputs(n)), np.array(truth, dtype=float)), f"wrong for {truth}"


@pytest.mark.parametrize("n", range(1, 7))
def test_the_hand_built_network_computes_parity_exactly(example: ModuleType, n: int) -> None:
    truth = [sum(bits) % 2 for bits in itertools.product([0, 1], repeat=n)]
    check_exact(example, truth)
    assert example.build_network(truth).sizes[1] == 2 ** (n - 1)  # parity: half the rows are true


@pytest.mark.parametrize("n", range(1, 7))
def test_the_hand_built_network_computes_random_truth_tables_exactly(example: ModuleType, n: int) -> None:
    rng = np.random.default_rng(1000 + n)
    for _ in range(8):
        check_exact(example, rng.integers(0, 2, size=2**n).tolist())


def test_the_hand_built_network_computes_constants_and_single_rows(example: ModuleType) -> None:
    for n in (1, 3, 5):
        check_exact(example, [0] * 2**n)
        check_exact(example, [1] * 2**n)
        for row in (0, 2**n - 1, 2 ** (n - 1)):
            check_exact(example, [int(i == row) for i in range(2**n)])  # an AND of literals
            check_exact(example, [int(i != row) for i in range(2**n)])  # an OR of literals


def test_the_hand_built_xor_uses_two_detectors(example: ModuleType) -> None:
    model = example.build_network([0, 1, 1, 0])
    assert model.sizes == [2, 2, 1]
    # off the corners it is a ReLU network, not a lookup: the middle point fires neither detector
    assert outputs(model, np.array([[0.5, 0.5]])).tolist() == [0.0]


def test_build_network_refuses_a_table_that_is_not_a_truth_table(example: ModuleType) -> None:
    with pytest.raises(ValueError):
        example.build_network([0, 1, 1])  # not 2^n rows
    with pytest.raises(ValueError):
        example.build_network([0, 2, 1, 0])  # not boolean


def test_the_hand_built_table_of_the_run_is_all_exact(quick: dict[str, Any]) -> None:
    rows = quick["hand_built"]
    assert {r["name"] for r in rows} >= {f"parity-{n}" for n in range(1, 7)}
    assert all(r["exact"] for r in rows)


@pytest.mark.parametrize("n", [2, 3])
def test_quick_training_learns_xor_and_parity_3_with_the_reported_width(quick: dict[str, Any], n: int) -> None:
    search = next(s for s in quick["searches"] if s.n == n)
    width = quick["widths"][n]
    assert width is not None and search.width == width
    assert search.model.sizes == [n, width, 1]
    X = inputs(n)
    parity = X.sum(axis=1) % 2
    assert np.array_equal(outputs(search.model, X) > 0, parity == 1)  # 100% accuracy, checked here


@pytest.mark.parametrize("n", [2, 3])
def test_restarts_are_counted(quick: dict[str, Any], n: int) -> None:
    search = next(s for s in quick["searches"] if s.n == n)
    width, restarts = search.width, search.restarts
    assert restarts >= 2
    assert sorted(search.successes) == list(range(1, width + 1))  # every width up to the one found was tried
    assert all(search.successes[w] == 0 for w in range(1, width))  # smaller widths never reached 100%
    assert 1 <= search.successes[width] <= restarts
    assert search.restarts_run == restarts * width
    assert quick["restarts_needed"][n] == search.restarts_needed
    assert 1 <= search.restarts_needed <= restarts
    # the count agrees with the per-restart accuracies: the first 100% run is restart restarts_needed - 1
    assert len(search.accuracies) == restarts
    assert search.accuracies[search.restarts_needed - 1] == 1.0
    assert all(a < 1.0 for a in search.accuracies[: search.restarts_needed - 1])
    assert sum(a == 1.0 for a in search.accuracies) == search.successes[width]


def test_xor_needs_more_than_one_hidden_unit(quick: dict[str, Any]) -> None:
    # XOR is not linearly separable, and a single tanh unit is monotone along every line: width >= 2
    assert quick["widths"][2] >= 2


def test_the_plot_is_written(quick: dict[str, Any]) -> None:
    (picture,) = quick["pictures"]
    path = pathlib.Path(picture)
    assert path.suffix == ".png" and path.stat().st_size > 10_000
