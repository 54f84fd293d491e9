"""What examples/identity_collapse.py shows: with identity neurons a layered network is one matrix, the
product of its layers' matrices; with sigmoid it is not."""

from __future__ import annotations

import pathlib
from types import ModuleType

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.nn import MLP, NeuronNetwork

from .test_examples import load_example


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example("identity_collapse")


def test_the_post_network_collapses_to_a_line(example: ModuleType) -> None:
    for seed in (0, 3, 7):
        net = example.post_network("identity", seed=seed)
        matrices = example.layer_matrices(net)
        assert [M.shape for M in matrices] == [(3, 2), (3, 3), (2, 3)]
        assert matrices[1][1, 0] == 0.0  # no edge 3 -> 7: a zero in the matrix
        M = example.collapse(matrices)
        assert M.shape == (2, 2) and np.array_equal(M[1], [0.0, 1.0])
        xs = np.random.default_rng(seed).normal(scale=5.0, size=20)
        for x in xs:
            assert abs(net(float(x)).data - (M[0, 0] * x + M[0, 1])) < 1e-12


def test_the_line_is_the_post_formula(example: ModuleType) -> None:
    # by hand, from the weights: a9 = w69 a6 + w79 a7 + w89, a6 = w36 a3 + w46 a4 + w56, ...
    net = example.post_network("identity", seed=1)
    w = {e: v.data for e, v in net.w.items()}
    x = 0.7
    a3, a4 = w[1, 3] * x + w[2, 3], w[1, 4] * x + w[2, 4]
    a6, a7 = w[3, 6] * a3 + w[4, 6] * a4 + w[5, 6], w[4, 7] * a4 + w[5, 7]
    a9 = w[6, 9] * a6 + w[7, 9] * a7 + w[8, 9]
    M = example.collapse(example.layer_matrices(net))
    assert abs(M[0, 0] * x + M[0, 1] - a9) < 1e-12


def test_a_dense_mlp_collapses_and_agrees_with_to_matrices(example: ModuleType) -> None:
    mlp = MLP([4, 6, 5, 3], activation="identity", rng=2)
    M = example.collapse(example.linear_matrices(mlp.layers))
    assert M.shape == (4, 5)
    X = np.random.default_rng(0).normal(size=(30, 4))
    with tg.no_grad():
        Y = mlp(Tensor(X)).data
    assert np.abs(Y - example.apply(M, X)).max() < 1e-12
    assert np.abs(Y - (X @ M[:3, :4].T + M[:3, 4])).max() < 1e-12
    # the same network neuron by neuron: its per-layer matrices are the Linear layers'
    net = NeuronNetwork.from_matrices([(lin.weight.data.T, np.asarray(lin.bias), "identity") for lin in mlp.layers])
    for mine, (W, b, _) in zip(example.layer_matrices(net), net.to_matrices()):
        assert np.array_equal(mine[:-1, :-1], W.T) and np.array_equal(mine[:-1, -1], b)
    assert np.abs(example.collapse(example.layer_matrices(net)) - M).max() < 1e-12


def test_with_sigmoid_the_product_is_wrong(example: ModuleType) -> None:
    sig = example.post_network(example.SIGMOID_HIDDEN)
    ident = example.post_network("identity")
    assert all(sig.w[e].data == ident.w[e].data for e in sig.w)  # the same weights
    M = example.collapse(example.layer_matrices(sig))
    xs = np.linspace(-6, 6, 25)[:, None]
    assert np.abs(example.network_outputs(sig, xs) - example.apply(M, xs)).max() > 0.1


def test_run_reports_tiny_errors_for_identity_and_large_ones_for_sigmoid(
    example: ModuleType, tmp_path: pathlib.Path
) -> None:
    results = example.run(quick=True, out=tmp_path)
    assert results["post_max_error"] < 1e-12
    assert results["mlp_max_error"] < 1e-12
    assert results["single_layer_max_error"] < 1e-12
    assert results["post_matrix"].shape == (2, 2) and results["mlp_matrix"].shape == (3, 4)
    sigmoid = results["sigmoid"]
    assert sigmoid["post_vs_product"] > 0.1 and sigmoid["mlp_vs_product"] > 0.1
    assert sigmoid["post_best_affine"] > 0.05 and sigmoid["mlp_best_affine"] > 0.05  # no matrix fits
    for picture in results["pictures"]:
        assert pathlib.Path(picture).stat().st_size > 0
