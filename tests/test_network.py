"""NeuronNetwork: the post's network from its edge list, against the same network written by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value
from tinygrad_edu.nn import NeuronNetwork

from .numeric import assert_close

EDGES = [(1, 3), (1, 4), (2, 3), (2, 4), (3, 6), (4, 6), (4, 7), (5, 6), (5, 7), (6, 9), (7, 9), (8, 9)]
ACTIVATION = {3: "sigmoid", 4: "sigmoid", 6: "sigmoid", 7: "sigmoid", 9: "identity"}


def post_network(rng: int = 0) -> NeuronNetwork:
    return NeuronNetwork(EDGES, inputs=[1], biases=[2, 5, 8], outputs=[9], activation=ACTIVATION, rng=rng)


def by_hand(w: dict[tuple[int, int], Value], x: float) -> dict[str, Value]:
    """The post's formulas, written out neuron by neuron (bias neurons output 1)."""
    a3 = (w[1, 3] * x + w[2, 3]).sigmoid()
    a4 = (w[1, 4] * x + w[2, 4]).sigmoid()
    a6 = (w[3, 6] * a3 + w[4, 6] * a4 + w[5, 6]).sigmoid()
    a7 = (w[4, 7] * a4 + w[5, 7]).sigmoid()  # 3 does not feed 7
    a9 = w[6, 9] * a6 + w[7, 9] * a7 + w[8, 9]  # identity output
    return {"a3": a3, "a4": a4, "a6": a6, "a7": a7, "a9": a9}


def test_the_posts_layers() -> None:
    assert post_network().layers() == [[1, 2], [3, 4, 5], [6, 7, 8], [9]]


@pytest.mark.parametrize("x, y", [(0.5, 0.8), (-1.3, 0.1), (2.0, -0.4)])
def test_same_outputs_and_gradients_as_the_network_written_by_hand(x: float, y: float) -> None:
    net = post_network(rng=3)
    hand_weights = {e: Value(v.data) for e, v in net.w.items()}
    loss = (y - net(x)) ** 2
    hand = by_hand(hand_weights, x)
    hand_loss = (y - hand["a9"]) ** 2
    assert loss.data == pytest.approx(hand_loss.data, abs=1e-15)
    loss.backward()
    hand_loss.backward()
    for e in EDGES:
        assert net.w[e].grad == pytest.approx(hand_weights[e].grad, abs=1e-15), f"w{e}"


def test_deltas_follow_the_posts_three_steps() -> None:
    net = post_network(rng=4)
    x, y = 0.7, 0.2
    z, a = net.evaluate(x)
    loss = (y - a[9]) ** 2
    loss.backward()
    w = {e: v.data for e, v in net.w.items()}
    act = {n: v.data for n, v in a.items()}
    s = {j: act[j] * (1 - act[j]) for j in (3, 4, 6, 7)}
    delta = {9: -2 * (y - act[9])}  # step 1 (identity output)
    delta[6] = delta[9] * w[6, 9] * s[6]
    delta[7] = delta[9] * w[7, 9] * s[7]
    delta[3] = delta[6] * w[3, 6] * s[3]  # 3 feeds only 6
    delta[4] = (delta[6] * w[4, 6] + delta[7] * w[4, 7]) * s[4]  # 4 feeds 6 and 7: a sum
    for j, d in delta.items():
        assert z[j].grad == pytest.approx(d, rel=1e-12), f"delta_{j}"
    for i, j in EDGES:  # step 3
        assert net.w[i, j].grad == pytest.approx(delta[j] * act[i], rel=1e-12), f"w{i},{j}"


def test_weights_are_addressable_and_are_the_parameters() -> None:
    net = post_network()
    net.w[4, 7] = 0.25
    assert net.w[4, 7].data == 0.25 and (4, 7) in net.w and len(net.w) == 12
    with pytest.raises(KeyError, match="no edge 3 -> 7"):
        net.w[3, 7]
    assert [name for name, _ in net.named_parameters()] == [f"w[{i},{j}]" for i, j in EDGES]
    assert net.parameters()[6] is net.w[4, 7]
    state = net.state_dict()
    other = post_network(rng=9)
    other.load_state_dict(state)
    assert other(0.3).data == net(0.3).data


def test_a_network_that_is_not_layered_is_evaluated_in_topological_order() -> None:
    edges = EDGES + [(1, 6)]  # skips layer 2
    net = NeuronNetwork(edges, inputs=[1], biases=[2, 5, 8], outputs=[9], activation=ACTIVATION, rng=1)
    with pytest.raises(ValueError, match=r"not layered: edge 1 -> 6 skips"):
        net.layers()
    assert not net.is_layered()
    w = {e: v.data for e, v in net.w.items()}
    x = 0.9
    s = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
    a3, a4 = s(w[1, 3] * x + w[2, 3]), s(w[1, 4] * x + w[2, 4])
    a6 = s(w[3, 6] * a3 + w[4, 6] * a4 + w[5, 6] + w[1, 6] * x)
    a7 = s(w[4, 7] * a4 + w[5, 7])
    assert net(x).data == pytest.approx(w[6, 9] * a6 + w[7, 9] * a7 + w[8, 9], rel=1e-14)
    assert tg.gradcheck(lambda *_: (0.3 - net(x)) ** 2, net.parameters())


def test_a_bias_neuron_feeding_two_layers_breaks_layering() -> None:
    edges = [(1, 3), (2, 3), (3, 4), (2, 4)]
    net = NeuronNetwork(edges, inputs=[1], biases=[2], outputs=[4], activation="tanh", rng=0)
    with pytest.raises(ValueError, match=r"bias neuron 2 feeds layers 2 and 3 \(edge 2 -> 4\)"):
        net.layers()


def test_several_inputs_and_outputs() -> None:
    edges = [(1, 4), (2, 4), (3, 4), (1, 5), (2, 5), (3, 5)]
    net = NeuronNetwork(edges, inputs=[1, 2], biases=[3], outputs=[4, 5], activation="relu", rng=0)
    out = net([0.5, -1.0])
    assert isinstance(out, list) and len(out) == 2
    w = {e: v.data for e, v in net.w.items()}
    assert out[1].data == pytest.approx(max(0.0, w[1, 5] * 0.5 - w[2, 5] + w[3, 5]))
    with pytest.raises(ValueError, match=r"2 input neuron\(s\) \[1, 2\] but 1 value\(s\) given"):
        net(0.5)


def test_matrix_form_round_trip_and_same_function() -> None:
    rng = np.random.default_rng(0)
    layers = [(rng.normal(size=(2, 3)), rng.normal(size=3), "tanh"), (rng.normal(size=(3, 1)), rng.normal(size=1), "identity")]
    net = NeuronNetwork.from_matrices(layers)
    assert net.layers() == [[1, 2, 3], [4, 5, 6, 7], [8]]  # inputs 1, 2 and bias 3; hidden 4..6 and bias 7
    for (W, b, name), (W2, b2, name2) in zip(layers, net.to_matrices()):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)
        assert name == name2
    model = net.to_sequential()
    x = rng.normal(size=(5, 2))
    expected = np.tanh(x @ layers[0][0] + layers[0][1]) @ layers[1][0] + layers[1][1]
    assert_close(model(Tensor(x)).data, expected, "sequential")
    for row, e in zip(x, expected):
        assert net(list(row)).data == pytest.approx(e[0], rel=1e-12)


def test_the_posts_network_is_not_dense() -> None:
    with pytest.raises(ValueError, match=r"not dense: there is no edge 3 -> 7"):
        post_network().to_matrices()


@pytest.mark.parametrize("kwargs, message", [
    (dict(edges=[(1, 2), (2, 3), (3, 2)], inputs=[1], outputs=[3]), r"cycle"),
    (dict(edges=[(1, 2), (3, 2), (1, 3)], inputs=[1], biases=[3], outputs=[2]), r"edge 1 -> 3 goes into bias neuron 3"),
    (dict(edges=[(1, 3), (2, 3)], inputs=[1], outputs=[3]), r"neuron 2 has no incoming edge; declare it"),
    (dict(edges=[(1, 2), (1, 2)], inputs=[1], outputs=[2]), r"edge 1 -> 2 is listed twice"),
    (dict(edges=[(1, 2), (2, 3)], inputs=[1], outputs=[3], activation={2: "relu"}), r"no activation for neuron\(s\) \[3\]"),
    (dict(edges=[(1, 2)], inputs=[1], outputs=[2], activation="swish"), r"unknown activation 'swish' for neuron 2"),
    (dict(edges=[(1, 2)], inputs=[1], outputs=[2], weights={(1, 3): 1.0}), r"edge\(s\) \[\(1, 3\)\] that are not in the edge list"),
])
def test_clear_errors_for_malformed_networks(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NeuronNetwork(**kwargs)
