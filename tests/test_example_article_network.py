"""The article example prints the post's numbers: its deltas and weight derivatives are the engine's,
and both agree with finite differences of the loss."""

from __future__ import annotations

import contextlib
import io
import math
import pathlib
import re

import numpy as np
import pytest

from .numeric import central_differences
from .test_examples import load_example

NUMBER = r"(-?\d+\.\d+)"


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        results = load_example("article_network").run(quick=True, out=tmp_path_factory.mktemp("article"))
    return buffer.getvalue(), results


def test_printed_deltas_equal_the_engines_gradients(printed: tuple[str, dict]) -> None:
    text, results = printed
    table = re.findall(rf"^\s+(\d)\s+{NUMBER}\s+{NUMBER}$", text, re.M)  # neuron, by hand, engine
    rows = {int(n): (float(by_hand), float(engine)) for n, by_hand, engine in table}
    assert sorted(rows) == [3, 4, 6, 7, 9]
    for j, (by_hand, engine) in rows.items():
        assert by_hand == pytest.approx(results["deltas_engine"][j], abs=1e-9)
        assert engine == pytest.approx(results["deltas_engine"][j], abs=1e-9)


def test_printed_weight_derivatives_match_engine_and_finite_differences(printed: tuple[str, dict]) -> None:
    text, results = printed
    rows = re.findall(rf"^\s+w_(\d)(\d)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}$", text, re.M)
    assert len(rows) == 12
    for i, j, by_hand, engine, numeric in rows:
        edge = (int(i), int(j))
        assert float(engine) == pytest.approx(results["weight_grads_engine"][edge], abs=1e-9)
        assert float(by_hand) == pytest.approx(float(engine), abs=1e-9)
        assert float(numeric) == pytest.approx(float(engine), abs=1e-8)
    assert results["max_disagreement"] < 1e-8


def test_delta_4_is_the_two_path_sum_and_matches_finite_differences(printed: tuple[str, dict]) -> None:
    text, results = printed
    assert re.search(r"delta_4 = \(delta_6·w_46 \+ delta_7·w_47\)", text)
    assert re.search(r"delta_3 = \(delta_6·w_36\) ", text)  # 3 feeds only 6
    # delta_4 = dL/dz_4, independently: the network written out by hand, z_4 nudged
    example = load_example("article_network")
    net = example.build_network(0)
    w = {e: net.w[e].data for e in example.EDGES}
    s = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    x, y = example.X, example.Y
    a3 = s(w[1, 3] * x + w[2, 3])

    def loss_of_z4(z4: float) -> float:
        a4 = s(z4)
        a6 = s(w[3, 6] * a3 + w[4, 6] * a4 + w[5, 6])
        a7 = s(w[4, 7] * a4 + w[5, 7])
        return (y - (w[6, 9] * a6 + w[7, 9] * a7 + w[8, 9])) ** 2

    z4 = w[1, 4] * x + w[2, 4]
    (truth,) = central_differences(lambda v: loss_of_z4(float(v[0])), [np.array(z4)])
    assert results["deltas_engine"][4] == pytest.approx(float(truth), rel=1e-6)


def test_pictures_and_restarts(printed: tuple[str, dict]) -> None:
    text, results = printed
    names = sorted(pathlib.Path(p).name for p in results["pictures"])
    assert names == ["computation_graph.png", "computation_graph.svg", "neuron_view.png", "neuron_view.svg",
                     "training_restarts.png"]
    training = results["training"]
    assert len(training["final_losses"]) == 3 and training["best_loss"] == min(training["final_losses"])
