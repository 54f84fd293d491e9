"""The chain rule in words and numbers: where each gradient comes from.

`explain(a4)` writes the sum that gave one node its gradient, one term per edge leaving it:
dL/da4 = dL/dz6 × w4,6 + dL/dz7 × w4,7 = ..., the post's "advanced chain rule" with the numbers.
`trace_backward(loss)` writes every such step in the order backward takes them, grouped by layer
when the graph is a NeuronNetwork's, in the post's three steps.
"""

from __future__ import annotations

import inspect
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import GradientFlow, Node, gradient_flow, last_backward_output
from ..nn.module import Module
from ..nn.network import NeuronNetwork
from ..ops import ADD, ForEachInput
from .dot import number, summary
from .graph import _leaf_names, _slots, every_node, formula, local_derivative


@dataclass
class Term:
    """One edge leaving a node: what the node it feeds passes back through it."""

    consumer: str  # the node the edge feeds, e.g. "w4,6*a4"
    upstream_name: str  # the gradient it passes back, by its best name, e.g. "dL/dz6"
    local_text: str  # the local derivative: an input's name ("w4,6") or the op's formula ("s(1 - s)")
    upstream: Any  # dL/d(consumer)
    local: Any  # the local derivative's value (None where it is a Jacobian: matmul, sums)
    contribution: Any  # what the edge carries back
    product: str | None = None  # the op's rule where it names the gradient itself: "dL/dy @ Wᵀ", "convᵀ(dL/dy, w)"

    @property
    def symbolic(self) -> str:
        """What the edge carries back, in symbols: upstream gradient × local derivative, or the rule."""
        return self.product or f"{self.upstream_name} × {self.local_text}"

    @property
    def scalar(self) -> bool:
        """Whether the term is a product of numbers (else of arrays, or with a Jacobian)."""
        return self.local is not None and all(np.size(v) == 1 for v in (self.upstream, self.local, self.contribution))


@dataclass
class ChainRule:
    """How one node's gradient is the sum over the edges leaving it."""

    name: str
    grad: Any
    terms: list[Term]

    def text(self, precision: int = 4) -> str:
        head = f"dL/d{self.name}"
        if not self.terms:
            return f"{head} = {summary(self.grad, precision)}"
        symbolic = " + ".join(t.symbolic for t in self.terms)
        if all(t.scalar for t in self.terms):
            numeric = " + ".join(f"{number(t.upstream, precision)} × {number(t.local, precision)}" for t in self.terms)
            return f"{head} = {symbolic} = {numeric} = {summary(self.grad, precision)}"
        total = _bracketed(summary(self.grad, precision))
        if len(self.terms) == 1:
            return f"{head} = {symbolic} = {total}"
        parts = " + ".join(_bracketed(summary(t.contribution, precision)) for t in self.terms)
        return f"{head} = {symbolic} = {parts} = {total}"


def _bracketed(text: str) -> str:
    return text if text.startswith("[") else f"[{text}]"


def explain(node: Node, output: Node | None = None, *, names: Module | Mapping[str, Node] | None = None,
            markdown: bool = False, precision: int = 4) -> str:
    """The chain-rule sum that gives `node` its gradient dL/d(node), term by term, with numbers.

    L is `output`, or by default the output of the latest backward() in this thread. Gradients are
    the engine's own (see tg.gradient_flow); no .grad changes.

    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> c = a * b; c.label = "c"; L = c + a; L.label = "L"; L.backward()
    >>> print(explain(a))
    dL/da = dL/dc × b + dL/dL × 1 = 1 × -3 + 1 × 1 = -2
      edge a -> c: dL/dc × b = 1 × -3 = -3
      edge a -> L: dL/dL × 1 = 1 × 1 = 1
    """
    if output is None:
        output = last_backward_output()
        if output is None:
            raise ValueError("explain: no backward() has run in this thread, so which gradient? Pass the output: "
                             "explain(node, loss)")
    graph = _Graph(output, names)
    if node not in graph.names:
        raise ValueError(f"explain: {graph.describe(node)} is not part of the graph that computed "
                         f"{graph.describe(output)}; pass the output it feeds: explain(node, output)")
    rule = graph.chain_rule(node)
    if rule is None:
        raise ValueError(f"explain: {graph.describe(node)} does not require grad, so no gradient flows to it")
    if markdown:
        return _markdown([rule], precision)
    lines = [rule.text(precision)]
    for t in rule.terms:
        if t.scalar:
            value = f"{number(t.upstream, precision)} × {number(t.local, precision)} = {number(t.contribution, precision)}"
        else:
            value = summary(t.contribution, precision)
        lines.append(f"  edge {rule.name} -> {t.consumer}: {t.symbolic} = {value}")
    return "\n".join(lines)


def trace_backward(output: Node, *, network: NeuronNetwork | None = None,
                   names: Module | Mapping[str, Node] | None = None, markdown: bool = False,
                   precision: int = 4) -> str:
    """Every step of the backward pass from `output`, in the order the engine takes them.

    Each step is one node's chain-rule sum. With the `network` whose evaluation built the graph, the
    steps are grouped as the post does them: the output neurons' deltas, then each layer's in
    reverse, then every weight's derivative; otherwise in reverse topological order, parameters last.
    """
    graph = _Graph(output, names)
    order = [n for n in reversed(graph.nodes) if n in graph.flow.grads]
    leaves = [n for n in order if n.op is None]
    made = [n for n in order if n.op is not None]
    inner = [n for n in made if not graph.passes_through(n)]
    hidden = len(made) - len(inner)
    if network is not None:  # the weights in edge-list order, as the post lists them
        position = {id(w): k for k, (_, w) in enumerate(network.w.items())}
        leaves.sort(key=lambda n: position.get(id(n), len(position)))
    sections: list[tuple[str, list[Node]]]
    if network is not None:
        sections = _by_layer(network, inner, graph) + [("Step 3: each weight's derivative, dL/dw_ij = δ_j · a_i", leaves)]
    else:
        sections = [("Backward, in reverse topological order", inner), ("Parameters (leaves)", leaves)]
    sections = [(title, nodes) for title, nodes in sections if nodes]
    if markdown:
        return "\n\n".join(f"### {title}\n\n" + _markdown([r for n in nodes if (r := graph.chain_rule(n))], precision)
                           for title, nodes in sections)
    blocks = []
    for title, nodes in sections:
        rules = [r.text(precision) for n in nodes if (r := graph.chain_rule(n))]
        blocks.append(title + "\n" + "\n".join("  " + r for r in rules))
    if hidden:
        blocks.append(f"({hidden} partial sums not shown: an add passes its gradient on unchanged, "
                      "so each equals the gradient of the sum it feeds)")
    return "\n\n".join(blocks)


# --------------------------------------------------------------------------- the graph, read backwards


class _Graph:
    """A recorded graph with what backward needs to be told: who uses each node, names, the flow."""

    def __init__(self, output: Node, names: Module | Mapping[str, Node] | None) -> None:
        if not isinstance(output, Node):
            raise TypeError(f"expected a Value or Tensor as the output, got {type(output).__name__}")
        self.output = output
        self.nodes = every_node(output)
        self.flow: GradientFlow = gradient_flow(output) if output.requires_grad else GradientFlow({}, {})
        self.consumers: dict[Node, list[Node]] = defaultdict(list)
        for n in self.nodes:
            for inp in dict.fromkeys(n.inputs):  # an input used twice is one edge
                self.consumers[inp].append(n)
        leaf_names = _leaf_names(names)
        self.names: dict[Node, str] = {}
        for k, n in enumerate(self.nodes):
            self.names[n] = leaf_names.get(id(n)) or n.label or self._expression(n) or f"{n.op.name if n.op else 'leaf'}#{k}"

    def _expression(self, n: Node) -> str | None:
        """An unlabelled node by what it computes from named inputs, e.g. "w4,6*a4"."""
        if n.op is None:
            return None if n.requires_grad else (number(n.data) if np.size(n.data) == 1 else "const")
        inputs = [self.names.get(i) for i in n.inputs]
        if any(name is None or "#" in name for name in inputs) or sum(len(s or "") for s in inputs) > 24:
            return None
        if len(inputs) == 2 and len(n.op.symbol) <= 2:
            return f"({inputs[0]}{n.op.symbol}{inputs[1]})"
        if n.op.name == "transpose" and _swaps_last_two((n.params or {})["axes"]):  # a matrix transpose: kᵀ
            return f"{inputs[0]}ᵀ"
        return f"{n.op.name}({', '.join(s or '' for s in inputs)})"

    def describe(self, node: Node) -> str:
        name = node.label or self.names.get(node)
        return f"{type(node).__name__} {name!r}" if name else type(node).__name__

    def passes_through(self, node: Node) -> bool:
        """Whether node's gradient is just that of a labelled sum it feeds (a term of z_j)."""
        return self.gradient_name(node) != f"dL/d{self.names[node]}"

    def gradient_name(self, node: Node) -> str:
        """dL/d(node), by the name of the labelled node whose gradient it equals when it only
        passes through adds: dL/d(w4,6*a4) is dL/dz6 when z6 adds it to other terms."""
        start = node
        while not node.label and len(self.consumers[node]) == 1:
            nxt = self.consumers[node][0]
            if nxt.op is not ADD or np.shape(nxt.data) != np.shape(node.data):
                break
            node = nxt
        return f"dL/d{self.names[node if node.label else start]}"

    def _local_text(self, node: Node, slot: int) -> str:
        """d(node)/d(input at slot) as the op writes it, or the input's name where the derivative is
        an input itself: d(x*y)/dy = x, so for w4,6*a4 the local derivative reads "w4,6"."""
        text = formula(node, [slot])
        placeholder = {"x": 0, "y": 1}.get(text)
        if placeholder is not None:
            return self.names[node.inputs[placeholder]]
        return f"({text})" if _has_top_level_operator(text) else text  # a product binds: dL/dt × (1 - t²)

    def _product_text(self, node: Node, slot: int) -> str | None:
        """The edge's rule, where the op's text for it names the gradient arriving (as its rule's first
        argument, g): a vector-Jacobian product, "g @ yᵀ", with the names of the gradient and the
        inputs put in for the rule's letters: "dL/d(x@W) @ Wᵀ". None where the text is a local derivative."""
        letters = rule_letters(node, slot)
        text = formula(node, [slot])
        if not letters or not re.search(rf"(?<![A-Za-z_]){letters[0]}(?![A-Za-z_])", text):
            return None
        names = {letters[0]: self.gradient_name(node)}
        names.update((letter, self.names[inp]) for letter, inp in zip(letters[1:], node.inputs))
        text = re.sub(r"(?<![A-Za-z_])([A-Za-z])(?![A-Za-z_])", lambda m: names.get(m[1], m[1]), text)
        return text.replace("ᵀᵀ", "")  # the transpose of kᵀ is k

    def chain_rule(self, node: Node) -> ChainRule | None:
        if node not in self.flow.grads:
            return None
        terms = []
        for c in self.consumers[node]:
            if (node, c) not in self.flow.edges:
                continue
            slots = _slots(c, node)
            local = local_derivative(c, slots)
            text = " + ".join(self._local_text(c, k) for k in slots)  # x*x: both slots, one edge
            if len(slots) > 1:
                text = f"({text})"
            products = [self._product_text(c, k) for k in slots]
            product = " + ".join(p for p in products if p) if all(products) else None
            terms.append(Term(self.names[c], self.gradient_name(c), text, self.flow.grads[c], local,
                              self.flow.edges[node, c], product))
        return ChainRule(self.names[node], self.flow.grads[node], terms)


def _swaps_last_two(axes: tuple[int, ...]) -> bool:
    n = len(axes)
    return n >= 2 and tuple(axes) == (*range(n - 2), n - 1, n - 2)


def rule_letters(node: Node, slot: int) -> list[str]:
    """The names the op's rule for this input gives the gradient arriving and the inputs, as its
    derivative texts use them: ["g", "x", "y"] for matmul, ["h", "g", "w"] for conv2d_input_grad."""
    assert node.op is not None
    vjps = node.op.vjps
    rule = vjps.rule if isinstance(vjps, ForEachInput) else vjps[min(slot, len(vjps) - 1)]
    try:
        parameters = list(inspect.signature(rule).parameters.values())
    except (TypeError, ValueError):  # a rule without a signature Python can read
        return []
    if isinstance(vjps, ForEachInput):
        parameters = parameters[1:]  # rule(k, g, out, *inputs)
    named = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(named) < 2:
        return []
    return [named[0], *named[2:2 + len(node.inputs)]]  # the gradient, then the inputs (not `out`)


def _has_top_level_operator(text: str) -> bool:
    """Whether `text` needs parentheses as a factor: "1 - t²" does, "s(1 - s)" and "-1" do not."""
    depth = 0
    for k, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if depth == 0 and k > 0 and c in " +-/":
            return True
    return False


def _by_layer(network: NeuronNetwork, nodes: list[Node], graph: _Graph) -> list[tuple[str, list[Node]]]:
    """The post's steps 1 and 2: group nodes by the neuron they compute for (z_j, a_j and the terms
    of z_j's sum), and neurons by layer, output layer first."""
    try:
        layer_of = {n: k for k, layer in enumerate(network.layers()) for n in layer}
    except ValueError:
        return [("Backward, in reverse topological order (the network is not layered)", nodes)]
    neuron_of: dict[Node, int] = {}
    for n in reversed(graph.nodes):  # outputs first: a term inherits the neuron of the sum it feeds
        label = n.label or ""
        if label[:1] in ("z", "a") and label[1:].isdigit() and int(label[1:]) in layer_of:
            neuron_of[n] = int(label[1:])
        elif len(graph.consumers[n]) == 1 and graph.consumers[n][0] in neuron_of and not n.label:
            neuron_of[n] = neuron_of[graph.consumers[n][0]]
    last = max(layer_of.values())
    groups: dict[int, list[Node]] = defaultdict(list)
    loss_nodes = []
    for n in nodes:
        if n in neuron_of:
            groups[layer_of[neuron_of[n]]].append(n)
        else:
            loss_nodes.append(n)
    sections = []
    for k in sorted(groups, reverse=True):
        if k == last:
            title = f"Step 1: the output layer (layer {k + 1}): delta_j = dL/da_j · f_j'(z_j)"
        else:
            title = f"Step 2: layer {k + 1}: each delta is a sum over the edges leaving the neuron"
        sections.append((title, groups[k]))
    if loss_nodes:
        sections.insert(0, ("The loss", loss_nodes))
    return sections


def _markdown(rules: list[ChainRule], precision: int) -> str:
    rows = ["| gradient | chain rule | value |", "|---|---|---|"]
    for r in rules:
        text = r.text(precision)
        _, _, rest = text.partition(" = ")
        symbolic, _, numeric = rest.partition(" = ")
        rows.append(f"| dL/d{_md(r.name)} | {_md(symbolic)} | {_md(numeric or symbolic)} |")
    return "\n".join(rows)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")
