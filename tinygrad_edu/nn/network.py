"""A feed-forward network given as the post defines it: numbered neurons and an edge list.

Neurons are input neurons (they output the data, no function), bias neurons (no incoming edge, they
output 1) and computing neurons, which apply their function f_j to the weighted sum of their inputs:

    z_j = Σ_{i ∈ In(j)} w[i, j] · a_i,      a_j = f_j(z_j).

Any feed-forward graph works: not fully connected (the post's 3 feeds only 6), not layered (an edge
that skips a layer). Weights are Values, addressable as `net.w[i, j]`; after `loss.backward()`,
`net.w[i, j].grad` is dL/dw_ij and the z-node of a neuron holds its delta dL/dz_j.
When the network is layered and dense it converts to and from the matrix form (weights and bias per
layer, an `MLP`-like `Sequential` of `Linear` layers).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..random import generator as random_generator
from ..value import Value
from . import functional as F
from .layers import ACTIVATION_MODULES, Linear, Rng, Sequential, activation_module
from .module import Module

Edge = tuple[int, int]


class Weights:
    """The weights of a NeuronNetwork by edge: `w[i, j]` is the Value on edge i -> j.

    Assigning a number sets that Value's data: `w[1, 3] = 0.5`.
    """

    def __init__(self, values: dict[Edge, Value]) -> None:
        self._values = values

    def __getitem__(self, edge: Edge) -> Value:
        try:
            return self._values[_edge(edge)]
        except KeyError:
            raise KeyError(f"no edge {edge[0]} -> {edge[1]} in this network") from None

    def __setitem__(self, edge: Edge, value: float) -> None:
        self[edge].data = float(value)

    def __iter__(self) -> Iterator[Edge]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, edge: object) -> bool:
        return edge in self._values

    def items(self) -> Iterator[tuple[Edge, Value]]:
        return iter(self._values.items())

    def __repr__(self) -> str:
        return "Weights({" + ", ".join(f"({i}, {j}): {v.data:.4g}" for (i, j), v in self._values.items()) + "})"


def _edge(edge: Any) -> Edge:
    if not (isinstance(edge, tuple) and len(edge) == 2):
        raise TypeError(f"an edge is a pair (i, j) of neuron numbers, got {edge!r}")
    return int(edge[0]), int(edge[1])


class NeuronNetwork(Module):
    """A feed-forward network of numbered neurons joined by weighted edges (the post's definition).

    `edges` lists (i, j) pairs; `inputs`, `biases` and `outputs` name neurons; `activation` is one
    function name for every computing neuron ("sigmoid", "relu", "tanh", "identity", or another key of
    nn.functional.ACTIVATIONS), or a mapping that names one for each computing neuron. `weights` maps
    edges to starting values; without it they are drawn like PyTorch's Linear (U(-k, k), k = 1/√fan-in,
    fan-in counting bias edges).

    >>> net = NeuronNetwork(edges=[(1, 3), (2, 3)], inputs=[1], biases=[2], outputs=[3],
    ...                     activation="identity", weights={(1, 3): 2.0, (2, 3): 0.5})
    >>> net(4.0).data, net.layers()
    (8.5, [[1, 2], [3]])
    """

    def __init__(
        self,
        edges: Sequence[Edge],
        inputs: Sequence[int],
        outputs: Sequence[int],
        biases: Sequence[int] = (),
        activation: str | Mapping[int, str] = "sigmoid",
        weights: Mapping[Edge, float] | None = None,
        rng: Rng = None,
    ) -> None:
        self.edges = [_edge(e) for e in edges]
        self.inputs, self.biases, self.outputs = [int(n) for n in inputs], [int(n) for n in biases], [int(n) for n in outputs]
        self.neurons = sorted({n for e in self.edges for n in e} | set(self.inputs) | set(self.biases) | set(self.outputs))
        self.incoming: dict[int, list[int]] = {n: [] for n in self.neurons}
        self.outgoing: dict[int, list[int]] = {n: [] for n in self.neurons}
        for i, j in self.edges:
            self.incoming[j].append(i)
            self.outgoing[i].append(j)
        self._validate()
        self.order = self._evaluation_order()  # computing neurons, each after all its inputs
        try:  # when layered, evaluate layer by layer, as the post does
            self.order = [n for layer in self.layers() for n in layer if n in self.order]
        except ValueError:
            pass  # not layered: topological order
        self.activation = self._activations(activation)
        self.w = Weights(self._initial_weights(weights, rng))

    # ---- construction
    def _validate(self) -> None:
        seen: set[Edge] = set()
        for i, j in self.edges:
            if i == j:
                raise ValueError(f"NeuronNetwork: edge {i} -> {j} is a self-loop; a feed-forward network has none")
            if (i, j) in seen:
                raise ValueError(f"NeuronNetwork: edge {i} -> {j} is listed twice")
            seen.add((i, j))
        sources = set(self.inputs) | set(self.biases)
        if set(self.inputs) & set(self.biases):
            raise ValueError(f"NeuronNetwork: neuron(s) {sorted(set(self.inputs) & set(self.biases))} are both input and bias")
        for n in self.neurons:
            if n in sources and self.incoming[n]:
                kind = "input" if n in self.inputs else "bias"
                raise ValueError(f"NeuronNetwork: edge {self.incoming[n][0]} -> {n} goes into {kind} neuron {n}, "
                                 f"which takes no inputs")
            if n not in sources and not self.incoming[n]:
                raise ValueError(f"NeuronNetwork: neuron {n} has no incoming edge; declare it in inputs or biases")
        for n in self.outputs:
            if n in sources:
                raise ValueError(f"NeuronNetwork: output neuron {n} is an input or bias neuron")
        if not self.inputs or not self.outputs:
            raise ValueError("NeuronNetwork: needs at least one input neuron and one output neuron")

    def _evaluation_order(self) -> list[int]:
        """The computing neurons in topological order (Kahn's algorithm, smallest number first)."""
        waiting = {n: len(self.incoming[n]) for n in self.neurons}
        ready = sorted(n for n, k in waiting.items() if k == 0)
        order = []
        while ready:
            n = ready.pop(0)
            order.append(n)
            for j in self.outgoing[n]:
                waiting[j] -= 1
                if waiting[j] == 0:
                    ready.append(j)
                    ready.sort()
        if len(order) < len(self.neurons):
            stuck = sorted(n for n in self.neurons if n not in order)
            i = next(i for i in self.incoming[stuck[0]] if i in stuck)
            raise ValueError(f"NeuronNetwork: the edges form a cycle (through edge {i} -> {stuck[0]}); "
                             "a feed-forward network has none")
        sources = set(self.inputs) | set(self.biases)
        return [n for n in order if n not in sources]

    def _activations(self, activation: str | Mapping[int, str]) -> dict[int, str]:
        if isinstance(activation, str):
            chosen = {n: activation for n in self.order}
        else:
            chosen = {int(n): name for n, name in activation.items()}
            extra = sorted(set(chosen) - set(self.order))
            if extra:
                raise ValueError(f"NeuronNetwork: activation given for neuron(s) {extra}, which are input or bias "
                                 "neurons (they apply no function) or not in the network")
            missing = [n for n in self.order if n not in chosen]
            if missing:
                raise ValueError(f"NeuronNetwork: no activation for neuron(s) {missing}; name one for every "
                                 "computing neuron, or pass one name for all")
        for n, name in chosen.items():
            if name not in ACTIVATION_MODULES:
                raise ValueError(f"NeuronNetwork: unknown activation {name!r} for neuron {n}; "
                                 f"choose one of {sorted(ACTIVATION_MODULES)}")
        return {n: chosen[n] for n in self.order}

    def _initial_weights(self, weights: Mapping[Edge, float] | None, rng: Rng) -> dict[Edge, Value]:
        if weights is not None:
            given = {_edge(e): float(v) for e, v in weights.items()}
            unknown = sorted(set(given) - set(self.edges))
            if unknown:
                raise ValueError(f"NeuronNetwork: weights given for edge(s) {unknown} that are not in the edge list")
            missing = [e for e in self.edges if e not in given]
            if missing:
                raise ValueError(f"NeuronNetwork: no weight given for edge(s) {missing}")
        else:
            generator = random_generator(rng, type(self).__name__)
            given = {}
            for i, j in self.edges:  # in edge-list order: the same seed gives the same weights
                bound = 1.0 / np.sqrt(len(self.incoming[j]))
                given[i, j] = float(generator.uniform(-bound, bound))
        return {(i, j): Value(given[i, j], label=f"w{i},{j}") for i, j in self.edges}

    def _fields(self) -> Iterator[tuple[str, Any]]:
        return ((f"w[{i},{j}]", v) for (i, j), v in self.w.items())

    # ---- structure
    def layers(self) -> list[list[int]]:
        """The post's layer partition, e.g. [[1, 2], [3, 4, 5], [6, 7, 8], [9]] for its network.

        A neuron's layer is one more than its inputs' (bias neurons sit one layer before the neurons
        they feed). Raises ValueError naming an edge that breaks layering (one that skips a layer, or a
        bias neuron feeding two layers).
        """
        depth = {n: 0 for n in self.inputs}
        for j in self.order:
            depths = {depth[i] for i in self.incoming[j] if i not in self.biases}
            if not depths:
                raise ValueError(f"NeuronNetwork is not layered: neuron {j} is fed by bias neurons only")
            if len(depths) > 1:
                i = min((i for i in self.incoming[j] if i not in self.biases), key=lambda i: depth[i])
                raise ValueError(f"NeuronNetwork is not layered: edge {i} -> {j} skips from layer {depth[i] + 1} "
                                 f"to layer {max(depths) + 2}")
            depth[j] = depths.pop() + 1
        for b in self.biases:
            targets = sorted({depth[j] for j in self.outgoing[b]})
            if not targets:
                raise ValueError(f"NeuronNetwork is not layered: bias neuron {b} feeds no neuron")
            if len(targets) > 1:
                j = next(j for j in self.outgoing[b] if depth[j] == targets[-1])
                raise ValueError(f"NeuronNetwork is not layered: bias neuron {b} feeds layers {targets[0] + 1} and "
                                 f"{targets[-1] + 1} (edge {b} -> {j})")
            depth[b] = targets[0] - 1
        partition: list[list[int]] = [[] for _ in range(max(depth.values()) + 1)]
        for n in self.neurons:
            partition[depth[n]].append(n)
        return partition

    def is_layered(self) -> bool:
        try:
            self.layers()
        except ValueError:
            return False
        return True

    # ---- evaluation
    def evaluate(self, x: float | Value | Sequence[float | Value]) -> tuple[dict[int, Value], dict[int, Value]]:
        """(z, a): every computing neuron's input z_j and every neuron's output a_j, as graph nodes.

        Neurons are evaluated layer by layer when the network is layered, in topological order
        otherwise. After backward(), z[j].grad is the neuron's delta, dL/dz_j.
        """
        if isinstance(x, np.ndarray):
            x = x.ravel().tolist()  # also a 0-d or one-element array: one value per input neuron
        xs: list[Any] = list(x) if isinstance(x, (list, tuple)) else [x]
        if len(xs) != len(self.inputs):
            raise ValueError(f"NeuronNetwork: {len(self.inputs)} input neuron(s) {self.inputs} but {len(xs)} value(s) given")
        a: dict[int, Value] = {}
        for n, v in zip(self.inputs, xs):
            a[n] = v if isinstance(v, Value) else Value(float(v), label=f"a{n}", requires_grad=False)
        for b in self.biases:
            a[b] = Value(1.0, label=f"a{b}", requires_grad=False)
        z: dict[int, Value] = {}
        for j in self.order:
            total = None
            for i in self.incoming[j]:
                term = self.w[i, j] * a[i]
                total = term if total is None else total + term
            assert total is not None  # every computing neuron has an incoming edge (checked at construction)
            total.label = f"z{j}"
            z[j] = total
            a[j] = F.activation(self.activation[j])(total)
            if a[j] is not total:
                a[j].label = f"a{j}"
        return z, a

    def forward(self, x: float | Value | Sequence[float | Value]) -> Value | list[Value]:
        """The output neurons' values: one Value for one output neuron, else a list in `outputs` order."""
        _, a = self.evaluate(x)
        outs = [a[n] for n in self.outputs]
        return outs[0] if len(outs) == 1 else outs

    def extra_repr(self) -> str:
        return (f"neurons={len(self.neurons)}, edges={len(self.edges)}, inputs={self.inputs}, "
                f"biases={self.biases}, outputs={self.outputs}")

    # ---- matrix form
    def to_matrices(self) -> list[tuple[np.ndarray, np.ndarray, str]]:
        """(W, b, activation) per layer, W of shape (neurons in, neurons out): z = a_prev @ W + b.

        Needs a layered, dense network (every non-bias neuron of a layer feeds every computing neuron of
        the next, at most one bias neuron per layer, feeding all of them or none) with one function per
        layer. Neurons keep their numerical order along each axis.
        """
        layers = self.layers()
        result = []
        for k in range(len(layers) - 1):
            here = [n for n in layers[k] if n not in self.biases]
            bias = [n for n in layers[k] if n in self.biases]
            there = [n for n in layers[k + 1] if n not in self.biases]
            if len(bias) > 1:
                raise ValueError(f"NeuronNetwork: layer {k + 1} has {len(bias)} bias neurons {bias}; the matrix form has one bias per layer")
            W = np.zeros((len(here), len(there)))
            b = np.zeros(len(there))
            for c, j in enumerate(there):
                for r, i in enumerate(here):
                    if (i, j) not in self.w:
                        raise ValueError(f"NeuronNetwork is not dense: there is no edge {i} -> {j}, so layer {k + 1} "
                                         f"to layer {k + 2} is not a full matrix")
                    W[r, c] = self.w[i, j].data
                if bias:
                    if (bias[0], j) not in self.w:
                        raise ValueError(f"NeuronNetwork is not dense: bias neuron {bias[0]} does not feed neuron {j}")
                    b[c] = self.w[bias[0], j].data
            names = {self.activation[j] for j in there}
            if len(names) > 1:
                raise ValueError(f"NeuronNetwork: layer {k + 2} mixes activations {sorted(names)}; the matrix form "
                                 "needs one per layer")
            result.append((W, b, names.pop()))
        return result

    def to_sequential(self) -> Sequential:
        """The same function in matrix form: Linear layers (weights copied) and activation modules."""
        modules: list[Module] = []
        for W, b, name in self.to_matrices():
            linear = Linear(W.shape[0], W.shape[1], rng=0)
            linear.weight.data[...] = W.T  # Linear stores (out, in)
            assert linear.bias is not None
            linear.bias.data[...] = b
            modules += [linear, activation_module(name)]
        return Sequential(*modules)

    @classmethod
    def from_matrices(cls, layers: Sequence[tuple[Any, Any, str]]) -> NeuronNetwork:
        """A dense layered network from (W, b, activation) per layer, W of shape (in, out).

        Neurons are numbered layer by layer as in the post: each layer's neurons, then its bias neuron.
        """
        edges: list[Edge] = []
        weights: dict[Edge, float] = {}
        activation: dict[int, str] = {}
        shapes = [np.shape(W) for W, _, _ in layers]
        for k in range(1, len(shapes)):
            if shapes[k][0] != shapes[k - 1][1]:
                raise ValueError(f"from_matrices: layer {k} has {shapes[k - 1][1]} outputs but layer {k + 1} takes {shapes[k][0]} inputs")
        current = list(range(1, shapes[0][0] + 1))
        inputs, biases, next_id = current, [], shapes[0][0] + 1
        for W, b, name in layers:
            W, b = np.asarray(W, dtype=float), np.asarray(b, dtype=float)
            bias = next_id
            biases.append(bias)
            outs = list(range(bias + 1, bias + 1 + W.shape[1]))
            next_id = outs[-1] + 1
            for c, j in enumerate(outs):
                for r, i in enumerate(current):
                    edges.append((i, j))
                    weights[i, j] = float(W[r, c])
                edges.append((bias, j))
                weights[bias, j] = float(b[c])
                activation[j] = name
            current = outs
        return cls(edges, inputs=inputs, outputs=current, biases=biases, activation=activation, weights=weights)
