"""The neuron view, drawn as the post draws its networks: numbered circles, weighted edges, layers.

Input neurons are green, output neurons red, bias neurons blue (they show their constant 1), and every
other neuron shows the function it applies. Every edge shows its weight and, when known, dL/dw. Given
one example (x, and a target) the circles show what the forward pass computed (z, a) and what the
backward pass computed (the delta dL/dz), all taken from the engine, never recomputed by formula here.

A `NeuronNetwork` is drawn as it is. Models made of `Linear` layers (`MLP`, `Sequential`) and the
`ScalarMLP` are drawn as the dense network they are, numbered like `NeuronNetwork.from_matrices`:
each layer's neurons, then its bias neuron.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..device import to_host
from ..engine import Node, enable_grad, grad
from ..nn import functional as F
from ..nn.layers import ACTIVATION_MODULES, MLP, Linear, Sequential
from ..nn.module import Module
from ..nn.network import NeuronNetwork
from ..nn.scalar import ScalarMLP
from ..ops import REGISTRY
from ..tensor import Tensor
from ..value import Value
from .dot import FONT, Drawing, attributes, edge_label, label, number

Edge = tuple[int, int]
LossFunction = Callable[[Any, Any], Node]

SYMBOLS = {"identity": "id"}  # the others: the symbol of the activation's op, or its name (see _symbol)
COLORS = {"input": "#b7e1b0", "output": "#f4b6b0", "bias": "#b0c8f4", "hidden": "white"}
SHOW = ("weights", "gradients")  # what the edge labels may show
LABELLED_EDGES = 40  # show=None labels the edges of a drawing with at most this many, else colours them
POSITIVE, NEGATIVE = "#2b6cb0", "#c53030"  # unlabelled edges: blue for w > 0, red for w < 0
SUPPORTED = ("a NeuronNetwork, an MLP, a ScalarMLP, a Linear, or a Sequential of Linear layers each "
             "followed by at most one ReLU, Sigmoid, Tanh, Identity or other activation module of "
             "nn.layers.ACTIVATION_MODULES with its default arguments")


def _symbol(activation: str) -> str:
    """What a neuron shows for its function: the symbol of the op of that name (σ), else the name."""
    op = REGISTRY.get(activation)
    return SYMBOLS.get(activation) or (op.symbol if op is not None else activation)


def _activation_name(m: Module) -> str | None:
    """The name of an activation module that computes what its name's function does by default."""
    return next((name for name, kind in ACTIVATION_MODULES.items()
                 if isinstance(m, kind) and m.extra_repr() == kind().extra_repr()), None)


def draw_network(
    model: Module,
    x: Any = None,
    target: Any = None,
    *,
    loss: LossFunction | None = None,
    show: Iterable[str] | str | None = None,
    precision: int = 4,
    max_per_layer: int | None = 12,
    rankdir: str = "LR",
) -> Drawing:
    r"""Draw a network neuron by neuron, as the post's figures do, as a `graphviz.Digraph`.

    `model` is a NeuronNetwork, an MLP, a ScalarMLP, or a Sequential of Linear layers and activation
    modules. Edges show their weight w and, once a backward pass has filled the weights' `.grad`,
    dL/dw. Given one example `x` (a number or one value per input neuron) the neurons show z and
    a = f(z); given a `target` too, the loss — the post's squared error Σ (y - a_out)², or
    `loss(outputs, target)`, named in the caption — and every neuron's delta dL/dz and every
    weight's dL/dw for that example, computed by the engine without changing any `.grad`. Pass the
    loss the model is trained with (say `tg.nn.functional.binary_cross_entropy`): the deltas are
    those of that loss. `show` picks what the edge labels hold: "weights", "gradients", both, or
    none (`()` or "none"); unlabelled edges are drawn blue for w > 0, red for w < 0, as wide as |w|.
    The default labels both on drawings of at most 40 edges, and none on larger ones. A layer of more than
    `max_per_layer` neurons (None: no limit) is drawn as its first ones, a "⋮ k more" box and its
    last one; `notes` (and the caption) say what was left out.

    >>> net = tg.nn.NeuronNetwork(edges=[(1, 3), (2, 3)], inputs=[1], biases=[2], outputs=[3],
    ...                           activation="identity", weights={(1, 3): 2.0, (2, 3): 0.5})
    >>> drawing = draw_network(net, x=1.0, target=2.0)
    >>> print(drawing.source.split("n1 -> n3 ")[1].splitlines()[0])  # z3 = 2.5, L = 0.25, dL/dw = δ3·a1
    [label="w = 2\ndL/dw = 1"]
    >>> "L = 0.25" in drawing.source, drawing.notes
    (True, [])
    """
    if max_per_layer is not None and max_per_layer < 3:
        raise ValueError(f"draw_network: max_per_layer must be at least 3 (or None), got {max_per_layer}")
    if target is not None and x is None:
        raise ValueError("draw_network: a target needs an example x to compare with")
    if loss is not None and target is None:
        raise ValueError("draw_network: loss= needs a target (and x)")
    shown = _show(show)
    neurons = _neurons(model)
    evaluation = neurons.evaluate(x, target, loss) if x is not None else None
    drawing = Drawing(graph_attr={"rankdir": rankdir, "nodesep": "0.3", "ranksep": "1.1", "fontname": FONT},
                      node_attr={"shape": "circle", "style": "filled", "fontname": FONT, "fontsize": "10",
                                 "margin": "0.03"},
                      edge_attr={"fontname": FONT, "fontsize": "8", "color": "#555555", "arrowsize": "0.6"})
    drawing.notes = []
    drawn = _draw_neurons(drawing, neurons, evaluation, max_per_layer, precision)
    legend = _draw_edges(drawing, neurons, drawn, evaluation, shown, precision)
    if drawing.notes:
        drawing.notes.append(f"pass max_per_layer=None to draw every neuron (the limit is {max_per_layer})")
    caption = [evaluation.caption(precision)] if evaluation is not None else []
    if evaluation is not None and evaluation.loss is not None:
        caption.append(f"L = {_loss_name(loss)}; δ = dL/dz for this example" + ("" if loss is not None else " (pass loss= for another loss)"))
    caption += legend
    if caption or drawing.notes:
        drawing.body.append(f"\tlabel={label(caption + drawing.notes)} labelloc=b fontsize=10\n")
    return drawing


def _show(show: Iterable[str] | str | None) -> set[str] | None:
    """The edge labels asked for (None: decided by the drawing's size), or ValueError."""
    if show is None:
        return None
    items = ({show} if show != "none" else set()) if isinstance(show, str) else set(show)
    unknown = items - set(SHOW)
    if unknown:
        raise ValueError(f"draw_network: unknown show= item(s) {sorted(unknown)}; choose from {SHOW}, "
                         "or () or 'none' for unlabelled edges")
    return items


def _loss_name(loss: LossFunction | None) -> str:
    """What the caption calls the loss: the post's squared error, or the function's (module's) name."""
    if loss is None:
        return "squared error Σ (y - a)²"
    name = getattr(loss, "__name__", None)
    if name is None:
        name = type(loss).__name__
    return "loss(outputs, target)" if name == "<lambda>" else f"{name}(outputs, target)"


# --------------------------------------------------------------------------- what one example gives


@dataclass
class _Evaluation:
    """One example's forward (and backward) pass, by neuron number and edge."""

    x: list[float]
    a: dict[int, float]
    z: dict[int, float]
    target: Any = None
    loss: float | None = None
    delta: dict[int, float] = field(default_factory=dict)
    weight_grad: Callable[[Edge], float | None] | None = None  # dL/dw for this example

    def caption(self, precision: int) -> str:
        parts = ["x = " + _numbers_text(self.x, precision)]
        if self.target is not None:
            try:
                parts.append("y = " + _numbers_text(_as_list(self.target), precision))
            except (TypeError, ValueError):  # a custom loss's target need not be numbers
                parts.append(f"y: {type(self.target).__name__}")
        if self.loss is not None:
            parts.append("L = " + number(self.loss, precision))
        return ", ".join(parts)


def _as_list(values: Any) -> list[Any]:
    if isinstance(values, (Node, np.ndarray)) or not isinstance(values, Iterable):
        return [_float(v) for v in np.ravel(to_host(_data(values)))]
    return [_float(v) for v in values]


def _data(v: Any) -> Any:
    return v.data if isinstance(v, Node) else v


def _float(v: Any) -> float:
    return float(to_host(_data(v)).reshape(()))


def _numbers_text(values: list[float], precision: int) -> str:
    if len(values) == 1:
        return number(values[0], precision)
    return "[" + ", ".join(number(v, precision) for v in values) + "]"


def _example(values: Any, count: int, what: str) -> list[float]:
    """`values` as `count` floats: one number for one neuron, else a sequence."""
    try:
        result = _as_list(values)
    except (TypeError, ValueError):
        raise TypeError(f"draw_network: {what} must be a number or a sequence of numbers, got "
                        f"{type(values).__name__}") from None
    if len(result) != count:
        raise ValueError(f"draw_network: the network has {count} {'input' if what == 'x' else 'output'} "
                         f"neuron(s) but {what} has {len(result)} value(s)")
    return result


def _scalar_loss(value: Any) -> Node:
    if not isinstance(value, Node) or np.size(value.data) != 1:
        raise TypeError(f"draw_network: loss(outputs, target) must return a scalar Value or Tensor, "
                        f"got {type(value).__name__}")
    return value


# --------------------------------------------------------------------------- networks as numbered neurons


class _EdgeList:
    """A NeuronNetwork, drawn as it is; `params` are where gradients are read (the model's own Values
    when the network is a copy of another model)."""

    def __init__(self, net: NeuronNetwork, params: Mapping[Edge, Value] | None = None) -> None:
        self.net = net
        self.params = dict(net.w.items()) if params is None else dict(params)
        try:
            self.layers: list[list[int]] | None = net.layers()
        except ValueError:
            self.layers = None  # not layered: graphviz's own ranking, and no truncation
        self.neurons = net.neurons
        self.inputs, self.biases, self.outputs = net.inputs, set(net.biases), net.outputs
        self.activation = net.activation
        self.edge_count = len(net.edges)

    def edges(self, drawn: set[int]) -> list[Edge]:
        return [(i, j) for i, j in self.net.edges if i in drawn and j in drawn]

    def weight(self, edge: Edge) -> float:
        return float(self.net.w[edge].data)

    def stored_grad(self) -> Callable[[Edge], float | None] | None:
        """dL/dw from the last backward (.grad), or None when no backward has filled any."""
        if not any(p.grad is not None and _float(p.grad) != 0 for p in self.params.values()):
            return None
        return lambda edge: None if self.params[edge].grad is None else _float(self.params[edge].grad)

    def evaluate(self, x: Any, target: Any, loss: LossFunction | None) -> _Evaluation:
        net = self.net
        with enable_grad():
            z, a = net.evaluate(_example(x, len(net.inputs), "x"))
            result = _Evaluation(_as_list(x), {n: v.data for n, v in a.items()}, {n: v.data for n, v in z.items()})
            if target is None:
                return result
            outs = [a[n] for n in net.outputs]
            if loss is None:
                ys = _example(target, len(outs), "target")
                total: Any = 0.0
                for y, out in zip(ys, outs):
                    total = (y - out) ** 2 + total
                value = _scalar_loss(total)
            else:
                value = _scalar_loss(loss(outs[0] if len(outs) == 1 else outs, target))
            edges = list(net.w)
            nodes: list[Node] = [*(z[j] for j in net.order), *(net.w[e] for e in edges)]
            grads = grad(value, nodes, allow_unused=True)
        result.target, result.loss = target, _float(value)
        result.delta = {j: 0.0 if g is None else float(g) for j, g in zip(net.order, grads)}
        by_edge = {e: 0.0 if g is None else float(g) for e, g in zip(edges, grads[len(net.order):])}
        result.weight_grad = by_edge.get
        return result


@dataclass
class _Dense:
    """One Linear layer (weight (out, in), bias or None) and the function its neurons apply."""

    weight: Tensor
    bias: Tensor | None
    activation: str


class _Layers:
    """Linear layers as numbered neurons: layer k holds its neurons, then the bias neuron of the Linear
    that reads it. Edges are never listed: a weight is looked up by the numbers of its two neurons."""

    def __init__(self, dense: list[_Dense]) -> None:
        self.dense = dense
        sizes = [dense[0].weight.data.shape[1]] + [d.weight.data.shape[0] for d in dense]
        self.layers: list[list[int]] | None = []
        self.position: dict[int, tuple[int, int]] = {}  # neuron -> (layer, index); index -1 is the bias
        self.biases: set[int] = set()
        self.activation: dict[int, str] = {}
        next_id = 1
        for k, size in enumerate(sizes):
            layer = list(range(next_id, next_id + size))
            for index, n in enumerate(layer):
                self.position[n] = (k, index)
                if k > 0:
                    self.activation[n] = dense[k - 1].activation
            next_id += size
            if k < len(dense) and dense[k].bias is not None:
                self.position[next_id] = (k, -1)
                self.biases.add(next_id)
                layer.append(next_id)
                next_id += 1
            self.layers.append(layer)
        self.neurons = list(self.position)
        self.inputs = self.layers[0][:sizes[0]]
        self.outputs = self.layers[-1]
        self.edge_count = sum(d.weight.data.size + (0 if d.bias is None else d.bias.data.size) for d in dense)

    def edges(self, drawn: set[int]) -> list[Edge]:
        assert self.layers is not None
        result = []
        for here, there in zip(self.layers, self.layers[1:]):
            sources = [i for i in here if i in drawn]
            result += [(i, j) for j in there if j in drawn and j not in self.biases for i in sources]
        return result

    def _entry(self, arrays: tuple[Any, Any], edge: Edge) -> Any:
        """The entry of (weight array, bias array) that belongs to edge i -> j."""
        k, i = self.position[edge[0]]
        _, j = self.position[edge[1]]
        weight, bias = arrays
        array, index = (bias, (j,)) if i == -1 else (weight, (j, i))  # Linear stores (out, in)
        return None if array is None else array[index]

    def weight(self, edge: Edge) -> float:
        d = self.dense[self.position[edge[0]][0]]
        return float(self._entry((d.weight.data, None if d.bias is None else d.bias.data), edge))

    def stored_grad(self) -> Callable[[Edge], float | None] | None:
        grads = [(d.weight.grad, None if d.bias is None else d.bias.grad) for d in self.dense]
        if not any(g is not None and np.any(_data(g)) for pair in grads for g in pair):
            return None

        def lookup(edge: Edge) -> float | None:
            weight, bias = grads[self.position[edge[0]][0]]
            entry = self._entry((None if weight is None else _data(weight), None if bias is None else _data(bias)), edge)
            return None if entry is None else float(entry)
        return lookup

    def evaluate(self, x: Any, target: Any, loss: LossFunction | None) -> _Evaluation:
        assert self.layers is not None
        xs = _example(x, len(self.inputs), "x")
        # copies of the parameters: the engine differentiates with respect to these, so no .grad changes
        params = [(_leaf(d.weight), None if d.bias is None else _leaf(d.bias)) for d in self.dense]
        with enable_grad():
            a = Tensor(np.asarray(xs, dtype=params[0][0].data.dtype))
            values = {n: float(v) for n, v in zip(self.inputs, xs)}
            zs: dict[int, float] = {}
            z_nodes = []
            for k, (d, (w, b)) in enumerate(zip(self.dense, params)):
                z = a @ w.T if b is None else a @ w.T + b
                a = F.activation(d.activation)(z)
                z_nodes.append(z)
                regular = [n for n in self.layers[k + 1] if n not in self.biases]
                zs.update(zip(regular, np.asarray(z.data, dtype=float).tolist()))
                values.update(zip(regular, np.asarray(a.data, dtype=float).tolist()))
            values.update(dict.fromkeys(self.biases, 1.0))
            result = _Evaluation(xs, values, zs)
            if target is None:
                return result
            if loss is None:
                ys = _example(target, len(self.outputs), "target")
                value = _scalar_loss(((Tensor(np.asarray(ys, dtype=a.data.dtype)) - a) ** 2).sum())
            else:
                value = _scalar_loss(loss(a, target))
            leaves = [p for pair in params for p in pair if p is not None]
            grads = grad(value, z_nodes + leaves, allow_unused=True)
        result.target, result.loss = target, _float(value)
        for k, g in enumerate(grads[:len(z_nodes)]):
            regular = [n for n in self.layers[k + 1] if n not in self.biases]
            deltas = np.zeros(len(regular)) if g is None else np.asarray(g, dtype=float)
            result.delta.update(zip(regular, deltas.tolist()))
        found = dict(zip(map(id, leaves), grads[len(z_nodes):]))
        arrays = [(found[id(w)], None if b is None else found[id(b)]) for w, b in params]

        def lookup(edge: Edge) -> float | None:
            entry = self._entry(arrays[self.position[edge[0]][0]], edge)
            return 0.0 if entry is None else float(entry)  # None: the loss does not depend on it
        result.weight_grad = lookup
        return result


def _leaf(parameter: Tensor) -> Tensor:
    data = to_host(parameter.data)
    return Tensor(data, requires_grad=True, dtype=data.dtype if data.dtype.kind == "f" else np.float64)


def _neurons(model: Module) -> _EdgeList | _Layers:
    """The neuron picture of a model, or TypeError."""
    if isinstance(model, NeuronNetwork):
        return _EdgeList(model)
    if isinstance(model, ScalarMLP):
        return _EdgeList(*_scalar_network(model))
    if isinstance(model, (MLP, Sequential, Linear)):
        return _Layers(_dense_layers(model))
    raise TypeError(f"draw_network: cannot draw a {type(model).__name__}; it draws {SUPPORTED}")


def _flatten(model: Module) -> list[Module]:
    if isinstance(model, MLP):
        modules: list[Module] = []
        for layer in model.layers[:-1]:
            modules += [layer, model.activation]
        return modules + [model.layers[-1], model.output_activation]
    if isinstance(model, Sequential):
        return [m for child in model for m in _flatten(child)]
    return [model]


def _dense_layers(model: Module) -> list[_Dense]:
    """Linear layers with the function applied after each (identity when none follows)."""
    dense: list[_Dense] = []
    after_activation = True  # an activation here would be applied to the inputs: no neuron does that
    for m in _flatten(model):
        if isinstance(m, Linear):
            if dense and dense[-1].weight.data.shape[0] != m.in_features:
                raise ValueError(f"draw_network: a Linear with {dense[-1].weight.data.shape[0]} outputs is followed "
                                 f"by one with {m.in_features} inputs")
            dense.append(_Dense(m.weight, m.bias, "identity"))
            after_activation = False
            continue
        name = _activation_name(m)
        if name is None:
            raise TypeError(f"draw_network: cannot draw a {type(m).__name__} inside a {type(model).__name__}; "
                            f"it draws {SUPPORTED}")
        if name == "identity":
            continue  # changes nothing, wherever it is
        if after_activation:
            where = "first" if not dense else f"right after {dense[-1].activation}"
            raise TypeError(f"draw_network: a {type(m).__name__} comes {where} in the {type(model).__name__}; "
                            f"a neuron applies one function after one Linear: it draws {SUPPORTED}")
        dense[-1].activation = name
        after_activation = True
    if not dense:
        raise TypeError(f"draw_network: this {type(model).__name__} holds no Linear layer; it draws {SUPPORTED}")
    return dense


def _scalar_network(model: ScalarMLP) -> tuple[NeuronNetwork, dict[Edge, Value]]:
    """A ScalarMLP as a NeuronNetwork (weights copied, numbered like from_matrices), and, per edge,
    the ScalarMLP's own Value, whose .grad the drawing reads."""
    edges: list[Edge] = []
    weights: dict[Edge, float] = {}
    params: dict[Edge, Value] = {}
    activation: dict[int, str] = {}
    current = list(range(1, model.sizes[0] + 1))
    biases = []
    next_id = current[-1] + 1
    for layer in model.layers:
        bias = next_id
        biases.append(bias)
        outs = list(range(bias + 1, bias + 1 + len(layer.neurons)))
        next_id = outs[-1] + 1
        for j, neuron in zip(outs, layer.neurons):
            for i, w in zip([*current, bias], [*neuron.w, neuron.b]):
                edges.append((i, j))
                weights[i, j] = float(w.data)
                params[i, j] = w
            activation[j] = neuron.activation
        current = outs
    net = NeuronNetwork(edges, inputs=list(range(1, model.sizes[0] + 1)), outputs=current, biases=biases,
                        activation=activation, weights=weights)
    return net, params


# --------------------------------------------------------------------------- drawing


def _kind(n: int, neurons: _EdgeList | _Layers) -> str:
    if n in neurons.biases:
        return "bias"
    if n in neurons.inputs:
        return "input"
    return "output" if n in neurons.outputs else "hidden"


def _neuron_rows(n: int, kind: str, neurons: _EdgeList | _Layers, evaluation: _Evaluation | None,
                 precision: int) -> list[str]:
    """A circle: the neuron's number, its function (x for an input, 1 for a bias), then its values."""
    if kind == "bias":
        return [str(n), "1"]
    if kind == "input":
        inputs = list(neurons.inputs)
        rows = [str(n), "x" if len(inputs) == 1 else f"x{inputs.index(n) + 1}"]
    else:
        rows = [str(n), _symbol(neurons.activation[n])]
    if evaluation is not None:
        if n in evaluation.z:
            rows.append("z = " + number(evaluation.z[n], precision))
        rows.append("a = " + number(evaluation.a[n], precision))
        if n in evaluation.delta:
            rows.append("δ = " + number(evaluation.delta[n], precision))
    return rows


def _kept(layer: list[int], biases: set[int], limit: int | None) -> tuple[list[int], list[int]]:
    """The neurons of a layer to draw and those left out: the first ones, the last one and the bias
    neurons, at most `limit` in all (more only where a layer has several bias neurons)."""
    if limit is None or len(layer) <= limit:
        return layer, []
    regular = [n for n in layer if n not in biases]
    bias = [n for n in layer if n in biases]
    room = max(limit - len(bias), 2)
    return regular[:room - 1] + [regular[-1]] + bias, regular[room - 1:-1]


def _draw_neurons(drawing: Drawing, neurons: _EdgeList | _Layers, evaluation: _Evaluation | None,
                  max_per_layer: int | None, precision: int) -> set[int]:
    """Draw the neurons (a rank per layer when the network is layered); return those drawn."""
    body = drawing.body

    def circle(n: int) -> None:
        kind = _kind(n, neurons)
        rows = _neuron_rows(n, kind, neurons, evaluation, precision)
        body.append(f"\tn{n} {attributes(label=label(rows), fillcolor=COLORS[kind])}\n")

    if neurons.layers is None:
        for n in neurons.neurons:
            circle(n)
        return set(neurons.neurons)
    drawn: set[int] = set()
    for k, layer in enumerate(neurons.layers):
        kept, left_out = _kept(layer, neurons.biases, max_per_layer)
        drawn.update(kept)
        ids = [f"n{n}" for n in kept]
        if left_out:
            last = kept.index(max(n for n in kept if n not in neurons.biases))
            for n in kept[:last]:
                circle(n)
            more = f"more{k}"
            body.append(f"\t{more} {attributes(label=label(['⋮', f'{len(left_out)} more']), shape='plaintext', style='')}\n")
            for n in kept[last:]:
                circle(n)
            ids.insert(last, more)
            drawing.notes.append(f"layer {k + 1}: {len(left_out)} of {len(layer)} neurons not drawn "
                                 f"(neurons {left_out[0]} to {left_out[-1]})")
        else:
            for n in kept:
                circle(n)
        body.append("\t{rank=same; " + "; ".join(ids) + "}\n")
        if len(ids) > 1:  # invisible edges inside the rank keep its neurons in order, as the post draws them
            body.append("\t" + " -> ".join(ids) + " [style=invis]\n")
    return drawn


def _draw_edges(drawing: Drawing, neurons: _EdgeList | _Layers, drawn: set[int], evaluation: _Evaluation | None,
                show: set[str] | None, precision: int) -> list[str]:
    """Every edge among the drawn neurons, labelled with what `show` asks for: its weight, and dL/dw
    (this example's when there is a target, else the last backward's .grad). Edges without their
    weight written are coloured by its sign and as wide as its size. Returns the caption's legend."""
    gradient = evaluation.weight_grad if evaluation is not None and evaluation.weight_grad is not None \
        else neurons.stored_grad()
    edges = neurons.edges(drawn)
    shown = (set(SHOW) if len(edges) <= LABELLED_EDGES else set()) if show is None else show
    weights = {edge: neurons.weight(edge) for edge in edges}
    biggest = max((abs(w) for w in weights.values()), default=0.0) or 1.0
    for edge in edges:
        rows = ["w = " + number(weights[edge], precision)] if "weights" in shown else []
        g = gradient(edge) if gradient is not None and "gradients" in shown else None
        if g is not None:
            rows.append("dL/dw = " + number(g, precision))
        attrs = {"label": edge_label(drawing, rows)} if rows else {}
        if "weights" not in shown:
            w = weights[edge]
            attrs.update(color=POSITIVE if w >= 0 else NEGATIVE, penwidth=f"{0.3 + 2.7 * abs(w) / biggest:.2f}")
        drawing.body.append(f"\tn{edge[0]} -> n{edge[1]} {attributes(**attrs)}\n")
    if len(edges) < neurons.edge_count:
        drawing.notes.append(f"{neurons.edge_count - len(edges)} of {neurons.edge_count} edges not drawn "
                             "(those of neurons not drawn)")
    if "weights" in shown or not edges:
        return []
    legend = [f"edges: blue w > 0, red w < 0, wider for larger |w| (largest |w| = {number(biggest, precision)})"]
    if show is None:
        legend.append(f"show=('weights', 'gradients') writes them on all {len(edges)} edges")
    return legend
