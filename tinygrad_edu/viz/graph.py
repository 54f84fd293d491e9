"""The computation graph, drawn: one box per value, one edge per link, and on each edge what flows there.

Every edge input -> node is labelled with the local derivative d(node)/d(input) (its formula from the
op's single definition, and its value) and, when gradients are known, what the edge carries back:
upstream gradient x local derivative. The engine gives a node the sum of what the edges leaving it
carry back, so the drawing shows the post's "advanced chain rule" at every node.

A model's graph is drawn with one box per module (see modules.py), its edges carrying the gradient
that flows between modules; a big graph without a model, with one box per op and depth.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..device import to_host
from ..engine import GradientFlow, Node, gradient_flow
from ..nn.module import Module
from .dot import FONT, Drawing, attributes, edge_label, label, number, shape_text, summary
from .modules import Box, ModuleGroups

SHOW = ("data", "grad", "formula", "local", "contribution")
COLORS = {"output": "#fde2e1", "leaf": "#e1effd", "constant": "#f0f0f0", "op": "white", "module": "#fff4d6"}
COLLAPSE = ("auto", "module", "op", None)
BY_MODULE_ABOVE = 20  # nodes: a model's graph bigger than this is drawn by module unless told otherwise
MODULE_BOXES = 16  # at most this many boxes (where one depth allows it) when collapse="module" picks the depth


def draw_graph(
    output: Node,
    *,
    show: Iterable[str] = SHOW,
    gradient: Any = None,
    names: Module | Mapping[str, Node] | None = None,
    collapse: str | int | None = "auto",
    max_nodes: int | None = 300,
    precision: int = 4,
    rankdir: str | None = None,
) -> Drawing:
    """Draw the graph that computed `output` as a `graphviz.Digraph`.

    `show` picks what appears: "data" and "grad" in the boxes, the local derivative's "formula" and
    "local" value and the gradient "contribution" on the edges. Gradients are dL/d(node) for
    L = output (seeded with `gradient` when the output is not a scalar), computed by the engine's
    rules without changing any .grad. A tensor's values are summarised (min, mean, max), or shown in
    full, row by row, when it has 2 or more axes and at most SMALL_ARRAY values (a tiny image, a few
    kernels). `names` names leaves, e.g. a model's parameters ("0.weight").

    `collapse` says what becomes one box: "module", each call of a module of `names` (a model) at
    the depth that keeps the drawing to about 16 boxes, or at the depth given as an int (1: the
    model's children); "op", the nodes of one op at one depth, merging depths until at most
    `max_nodes` boxes remain; None, nothing: every node is drawn. "auto" (the default) draws by module
    a graph of more than 20 nodes when `names` is a model, by op one of more than `max_nodes` (None:
    no limit) otherwise. The drawing's `notes` (and caption) say what was collapsed. `rankdir` is
    "LR" (left to right: the default, but for drawings by module) or "TB" (top to bottom).

    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b"); e = a * b
    >>> g = draw_graph(e); g.source.count("->")
    2
    """
    show = set(show)
    unknown = show - set(SHOW)
    if unknown:
        raise ValueError(f"draw_graph: unknown show= item(s) {sorted(unknown)}; choose from {SHOW}")
    if not isinstance(output, Node):
        raise TypeError(f"draw_graph: expected a Value or Tensor, got {type(output).__name__}")
    if collapse not in COLLAPSE and (type(collapse) is not int or collapse < 0):
        raise ValueError(f"draw_graph: collapse must be one of {COLLAPSE} or a depth (an int >= 0), got {collapse!r}")
    if collapse == "module" or type(collapse) is int:
        if not isinstance(names, Module):
            raise ValueError(f"draw_graph: collapse={collapse!r} draws a box per module of a model: pass names=model")
    nodes = every_node(output)
    flow = None
    if show & {"grad", "contribution"} and output.requires_grad and (gradient is not None or np.size(output.data) == 1):
        flow = gradient_flow(output, gradient)
    depth = _ranks(nodes)
    groups, module_depth = _module_depth(nodes, names, collapse)
    if rankdir is None:
        rankdir = "TB" if groups is not None else "LR"
    # (top to bottom, the edges' labels stand side by side between the nodes: more room keeps them apart)
    drawing = Drawing(graph_attr={"rankdir": rankdir, "nodesep": "0.25" if rankdir in ("LR", "RL") else "0.4",
                                  "ranksep": "0.6", "fontname": FONT},  # (the caption's font)
                      node_attr={"shape": "box", "style": "rounded,filled", "fontname": FONT, "fontsize": "11"},
                      edge_attr={"fontname": FONT, "fontsize": "9", "color": "#555555"})
    drawing.notes = []
    if flow is None and show & {"grad", "contribution"}:
        why = "it does not require grad" if not output.requires_grad else "it is not a scalar (pass gradient=)"
        drawing.notes.append(f"no gradients shown: {why}")
    leaf_names = _leaf_names(names)
    if groups is None and (collapse == "module" or type(collapse) is int):
        drawing.notes.append("no module calls in this graph (a module notes the Tensors it returns): not by module")
    if groups is not None:
        _draw_by_module(drawing, nodes, output, groups, module_depth, flow, leaf_names, show, precision)
    elif collapse == "op" or (collapse is not None and max_nodes is not None and len(nodes) > max_nodes):
        _draw_collapsed(drawing, nodes, output, depth, flow, leaf_names, show, max_nodes or 300, precision)
    else:
        _draw_every_node(drawing, nodes, output, depth, flow, leaf_names, show, precision)
    if drawing.notes:
        drawing.body.append(f"\tlabel={label(drawing.notes)} labelloc=b fontsize=10\n")
    return drawing


# --------------------------------------------------------------------------- structure


def every_node(outputs: Node | Iterable[Node]) -> list[Node]:
    """Every node the outputs depend on, constants included, inputs before the nodes made from them.

    Unlike engine.topological_order, which keeps only what needs a gradient, this keeps everything
    a drawing or a count shows. Iterative: graphs of any depth work.
    """
    order: list[Node] = []
    visited: set[Node] = set()
    for output in [outputs] if isinstance(outputs, Node) else outputs:
        if output in visited:
            continue
        visited.add(output)
        stack = [(output, iter(output.inputs))]
        while stack:
            node, pending = stack[-1]
            for inp in pending:
                if inp not in visited:
                    visited.add(inp)
                    stack.append((inp, iter(inp.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _ranks(nodes: list[Node]) -> dict[Node, int]:
    """Each node's column: one more than its deepest input; a leaf sits just before its first use,
    so parameters appear next to the layer that reads them (as the post draws bias neurons)."""
    depth: dict[Node, int] = {}
    for n in nodes:
        depth[n] = 1 + max((depth[i] for i in n.inputs), default=-1)
    first_use: dict[Node, int] = {}
    for n in nodes:
        for i in n.inputs:
            if not i.inputs:
                first_use[i] = min(first_use.get(i, depth[n]), depth[n])
    for leaf, d in first_use.items():
        depth[leaf] = d - 1
    return depth


def _module_depth(nodes: list[Node], names: Module | Mapping[str, Node] | None,
                  collapse: str | int | None) -> tuple[ModuleGroups | None, int]:
    """The module calls to draw as boxes, and the depth to draw them at; (None, 0) to draw otherwise."""
    if not isinstance(names, Module) or collapse in ("op", None):
        return None, 0
    if collapse == "auto" and len(nodes) <= BY_MODULE_ABOVE:
        return None, 0
    groups = ModuleGroups(nodes, names)
    if not groups.calls:
        return None, 0
    if type(collapse) is int:
        return groups, collapse
    return groups, groups.choose_depth(nodes, MODULE_BOXES)


def _leaf_names(names: Module | Mapping[str, Node] | None) -> dict[int, str]:
    if names is None:
        return {}
    items = names.named_parameters() if isinstance(names, Module) else names.items()
    return {id(node): name for name, node in items}


def _name(node: Node, leaf_names: dict[int, str]) -> str:
    return leaf_names.get(id(node)) or node.label or ""


def _kind(node: Node, output: Node) -> str:
    if node is output:
        return "output"
    if node.op is None:
        return "leaf" if node.requires_grad else "constant"
    return "op"


# --------------------------------------------------------------------------- local derivatives


def _slots(node: Node, inp: Node) -> list[int]:
    return [k for k, x in enumerate(node.inputs) if x is inp]


def formula(node: Node, slots: list[int]) -> str:
    """The local derivative d(node)/d(input) as the op's definition writes it; slots add up."""
    assert node.op is not None
    texts = node.op.derivatives
    return " + ".join(texts[min(k, len(texts) - 1)] for k in slots)


def local_derivative(node: Node, slots: list[int]) -> Any:
    """d(node)/d(input) for a scalar node, or its elementwise value for an elementwise tensor op
    (in the output's shape); None where the op mixes elements (matmul, sums): a Jacobian."""
    op = node.op
    assert op is not None
    elementwise = op.scalar_forward is not None
    if node.shaped and not elementwise:
        return None
    ones = np.ones_like(node.data, dtype=np.float64) if node.shaped else np.float64(1.0)
    args = [ones, node.data, *(i.data for i in node.inputs)]
    if not node.shaped:
        args = [np.float64(a) for a in args]  # NumPy's IEEE results (inf, nan) where floats would raise
    total: Any = 0.0
    with np.errstate(all="ignore"):
        for k in slots:
            total = total + op.vjps[k](*args, **(node.params or {}))
    return float(total) if not node.shaped else to_host(total)


# --------------------------------------------------------------------------- drawing every node


def _node_rows(node: Node, name: str, flow: GradientFlow | None, show: set[str], precision: int) -> list[str]:
    """A value's box: its name, the op that made it, its shape, data and gradient."""
    rows = [name] if name else []
    if node.op is None and not node.requires_grad:
        rows.append("constant")
    if node.op is not None:
        op = node.op
        rows.append(op.name if op.symbol == op.name else f"{op.symbol}  {op.name}")
    if node.shaped:
        rows.append(shape_text(node.data))
    if "data" in show:
        rows += _values("data", node.data, precision)
    if "grad" in show and flow is not None and node in flow.grads:
        rows += _values("grad", flow.grads[node], precision)
    return rows


SMALL_ARRAY = 32  # a tensor of 2 or more axes and at most this many elements is drawn in full


def _values(head: str, array: Any, precision: int) -> list[str]:
    """`head` and a summary on one line; for a small tensor of 2 or more axes (a tiny image, a kernel),
    `head` alone and then every value: one line per row, the planes (the leading axes) side by side."""
    if type(array) is float or np.ndim(array) < 2 or not 4 < np.size(array) <= SMALL_ARRAY:  # (a float: kept fast)
        return [f"{head} {summary(array, precision)}"]
    a = to_host(array)
    planes = a.reshape(-1, *a.shape[-2:])
    return [head] + ["   ".join("[" + ", ".join(number(v, precision) for v in plane[r]) + "]" for plane in planes)
                     for r in range(a.shape[-2])]


def _edge_rows(node: Node, inp: Node, flow: GradientFlow | None, show: set[str], precision: int) -> list[str]:
    """The edge inp -> node: its local derivative, and what it carries back to inp."""
    slots = _slots(node, inp)
    text = formula(node, slots)
    if not inp.requires_grad:  # nothing flows back to a constant, and its derivative may not exist
        return [f"local {text}"] if "formula" in show else []
    local = local_derivative(node, slots) if show & {"local", "contribution"} else None
    rows = []
    head = "local " + text if "formula" in show else "local"
    if "local" in show and local is not None:
        rows += _values(head + (" =" if "formula" in show else ""), local, precision)
    elif "formula" in show:
        rows.append(head)
    if "contribution" in show and flow is not None and (inp, node) in flow.edges:
        carried = flow.edges[inp, node]
        if local is not None and not node.shaped:  # a scalar edge: upstream gradient × local derivative
            rows.append(f"carries {number(flow.grads[node], precision)} × {number(local, precision)} = "
                        f"{summary(carried, precision)}")
        else:
            rows += _values("carries", carried, precision)
    return rows


def _draw_every_node(drawing: Drawing, nodes: list[Node], output: Node, depth: dict[Node, int],
                     flow: GradientFlow | None, leaf_names: dict[int, str], show: set[str], precision: int) -> None:
    ids = {n: f"n{k}" for k, n in enumerate(nodes)}
    body = drawing.body
    for n in nodes:
        rows = _node_rows(n, _name(n, leaf_names), flow, show, precision)
        body.append(f"\t{ids[n]} {attributes(label=label(rows), fillcolor=COLORS[_kind(n, output)])}\n")
    for n in nodes:
        seen = set()
        for inp in n.inputs:
            if inp in seen:
                continue  # an input used twice is one edge
            seen.add(inp)
            rows = _edge_rows(n, inp, flow, show, precision)
            attrs = {"label": edge_label(drawing, rows)} if rows else {}
            if not inp.requires_grad:
                attrs["style"] = "dashed"  # no gradient flows to a constant
            body.append(f"\t{ids[inp]} -> {ids[n]} {attributes(**attrs)}\n")
    _same_rank(drawing, ids, depth)


def _same_rank(drawing: Drawing, ids: Mapping[Any, str], depth: Mapping[Any, int]) -> None:
    columns: dict[int, list[str]] = defaultdict(list)
    for n, d in depth.items():
        if n in ids:
            columns[d].append(ids[n])
    for d in sorted(columns):
        if len(columns[d]) > 1:
            drawing.body.append("\t{rank=same; " + "; ".join(columns[d]) + "}\n")


# --------------------------------------------------------------------------- drawing by module


def _draw_by_module(drawing: Drawing, nodes: list[Node], output: Node, groups: ModuleGroups, depth: int,
                    flow: GradientFlow | None, leaf_names: dict[int, str], show: set[str], precision: int) -> None:
    """One box per module call at `depth` (see modules.py), the other nodes one by one; an edge per
    value that enters a box or a node, labelled with the gradient it carries back (and, into a node,
    with the local derivative)."""
    box_of = groups.boxes(nodes, depth)
    members: dict[Box, list[Node]] = defaultdict(list)
    node_ids: dict[Node, str] = {}  # the DOT names of the nodes drawn on their own ...
    for k, n in enumerate(nodes):
        b = box_of[n]
        if b is None:
            node_ids[n] = f"n{k}"
        else:
            members[b].append(n)
    box_ids = {b: f"b{k}" for k, b in enumerate(members)}  # ... and of the boxes

    def group(n: Node) -> str:
        b = box_of[n]
        return box_ids[b] if b is not None else node_ids[n]

    entering: dict[tuple[Node, str], list[Node]] = defaultdict(list)  # (value, where it goes) -> its consumers there
    for n in nodes:
        for inp in dict.fromkeys(n.inputs):  # an input used twice is one edge
            if group(inp) != group(n):
                entering[inp, group(n)].append(n)
    body = drawing.body
    for (inp, target), consumers in entering.items():
        rows = []
        if len(consumers) == 1 and box_of[consumers[0]] is None and "formula" in show:  # an op drawn on its own
            rows.append("local " + formula(consumers[0], _slots(consumers[0], inp)))
        if "contribution" in show and flow is not None and inp.requires_grad:
            carried = [flow.edges[inp, c] for c in consumers if (inp, c) in flow.edges]
            if carried:  # the sum of what the edges into the box carry back: the gradient it passes on
                rows.append("carries " + _norm(sum(carried), precision))
        attrs = {"label": edge_label(drawing, rows)} if rows else {}
        if not inp.requires_grad:
            attrs["style"] = "dashed"
        body.append(f"\t{group(inp)} -> {target} {attributes(**attrs)}\n")

    leaving = {inp for inp, _ in entering} | {inp for n in nodes if box_of[n] is None for inp in n.inputs}
    for b, ms in members.items():
        outs = [m for m in ms if m is output or m in leaving]
        rows = _box_rows(b, ms, outs, groups)
        color = COLORS["output"] if any(m is output for m in ms) else COLORS["module"]
        body.append(f"\t{box_ids[b]} {attributes(label=label(rows), fillcolor=color)}\n")
    for n in nodes:
        if box_of[n] is None:  # as in a drawing of every node, but values in few words: a gradient's norm
            shown = show if np.size(n.data) <= 4 else show - {"data"}  # (a constant's value, a loss)
            rows = _node_rows(n, _name(n, leaf_names), None, shown, precision)
            if "grad" in show and flow is not None and n in flow.grads:
                rows.append("grad " + _norm(flow.grads[n], precision))
            body.append(f"\t{node_ids[n]} {attributes(label=label(rows), fillcolor=COLORS[_kind(n, output)])}\n")
    count = len(members) + sum(b is None for b in box_of.values())
    note = f"{len(nodes)} nodes drawn as {count} boxes, by module at depth {depth}"
    if depth < groups.max_depth:
        note += f"; collapse={depth + 1} opens the modules one level deeper"
    drawing.notes.append(note + ", collapse=None draws every node")


def _norm(g: Any, precision: int) -> str:
    """||g||, the size of a gradient in one number (its value, for a scalar). (ASCII bars: a font that
    lacks ‖ would draw the whole line in another.)"""
    return "||g|| " + number(np.sqrt(np.sum(np.square(g))), precision) if np.size(g) > 1 else number(g, precision)


def _box_rows(b: Box, members: list[Node], outputs: list[Node], groups: ModuleGroups) -> list[str]:
    """A module's box: its name and class, parameters and ops, and the shape of what it returns."""
    call = groups.by_key.get(b.call) if b.call is not None else None
    module: Module | None
    if b.path in groups.modules:
        module = groups.modules[b.path]
        rows = [f"{b.path}: {type(module).__name__}" if b.path else type(module).__name__]
    else:  # a module outside the model (a loss module), named by its class
        module, rows = (call.module if call is not None else None), [b.path]
    ops = sum(m.op is not None for m in members)
    counts = [f"{module.num_parameters():,} parameters"] if module is not None and module.num_parameters() else []
    counts.append(f"{ops} op{'s' if ops != 1 else ''}")
    if call is None:
        calls = len({c.key for m in members for c in groups.within.get(m, []) if c.depth > groups.depths.get(b.path, 0)})
        counts.append(f"{calls} calls inside")
    rows.append(" · ".join(counts))
    for o in outputs[:2]:
        rows.append("→ " + (shape_text(o.data) if o.shaped else "scalar"))
    if len(outputs) > 2:
        rows.append(f"(and {len(outputs) - 2} more)")
    return rows


# --------------------------------------------------------------------------- big graphs


def _draw_collapsed(drawing: Drawing, nodes: list[Node], output: Node, depth: dict[Node, int],
                    flow: GradientFlow | None, leaf_names: dict[int, str], show: set[str], max_nodes: int,
                    precision: int) -> None:
    """Nodes of one kind (op, or leaf/constant) in one column become one box; columns are merged
    in runs when that is not enough, so at most about max_nodes boxes are drawn."""
    def kind(n: Node) -> str:
        return n.op.name if n.op is not None else ("leaf" if n.requires_grad else "constant")

    kinds = len({kind(n) for n in nodes})
    columns = max(depth.values()) - min(depth.values()) + 1
    per_group = 1
    while columns / per_group * kinds > max_nodes and per_group < columns:
        per_group *= 2
    low = min(depth.values())

    def key(n: Node) -> tuple[int, str]:
        return ((depth[n] - low) // per_group, "output" if n is output else kind(n))

    groups: dict[tuple[int, str], list[Node]] = defaultdict(list)
    for n in nodes:
        groups[key(n)].append(n)
    ids = {k: f"g{i}" for i, k in enumerate(groups)}
    for k, members in groups.items():
        first = members[0]
        name = _name(first, leaf_names) if len(members) == 1 else ""
        symbol = first.op.symbol if first.op is not None else k[1]
        rows = [name] if name else []
        rows.append(f"{symbol} × {len(members)}" if len(members) > 1 else symbol)
        if "data" in show:
            rows.append("data " + _pooled_summary((m.data for m in members), precision))
        if "grad" in show and flow is not None:
            grads = [flow.grads[m] for m in members if m in flow.grads]
            if grads:
                rows.append("grad " + _pooled_summary(grads, precision))
        color = COLORS[_kind(first, output)] if len(members) == 1 else COLORS["op"]
        drawing.body.append(f"\t{ids[k]} {attributes(label=label(rows), fillcolor=color)}\n")
    links: Counter[tuple[tuple[int, str], tuple[int, str]]] = Counter()
    for n in nodes:
        for inp in set(n.inputs):
            links[key(inp), key(n)] += 1
    internal = 0
    for (a, b), count in links.items():
        if a == b:
            internal += count
            continue
        attrs = {"label": edge_label(drawing, [f"{count} edges"])} if count > 1 else {}
        drawing.body.append(f"\t{ids[a]} -> {ids[b]} {attributes(**attrs)}\n")
    what = "nodes of one op in one column" if per_group == 1 else f"nodes of one op in {per_group} neighbouring columns"
    note = f"{len(nodes)} nodes (more than max_nodes={max_nodes}) drawn as {len(groups)} boxes: {what} are one box"
    if internal:
        note += f"; {internal} edges inside boxes not drawn"
    drawing.notes.append(note + "; pass max_nodes=None to draw every node")
    _same_rank(drawing, ids, {k: k[0] for k in groups})


def _pooled_summary(values: Iterable[Any], precision: int) -> str:
    """A summary of many nodes' values or gradients (floats or arrays) taken together."""
    arrays = [np.ravel(np.asarray(to_host(v), dtype=np.float64)) for v in values]
    return summary(np.concatenate(arrays) if arrays else np.zeros(0), precision)
