"""The same layers made of Values: the post's neuron-by-neuron picture (and micrograd's nn).

A Neuron computes f(w₀x₀ + w₁x₁ + ... + b); a Layer is a list of Neurons; a ScalarMLP is a list of
Layers. They are Modules, so parameters(), state_dict() and zero_grad() work as for the Tensor layers,
and they draw their initial weights exactly like `Linear` (the whole (out, in) matrix, then the bias):
with the same seed a ScalarMLP and an MLP hold the same numbers and compute the same function.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..random import generator as random_generator
from ..value import Value
from . import functional as F
from .layers import Rng, init_uniform
from .module import Module

Scalar = float | Value


class Neuron(Module):
    """One neuron: activation(Σᵢ wᵢ·xᵢ + b), with weights Values labelled "w0", "w1", ... and bias "b".

    Weights are drawn like one row of a Linear layer (U(-k, k), k = 1/√n_in), unless `weights` and
    `bias` are given.

    >>> n = Neuron(2, activation="identity", weights=[1.0, -2.0], bias=0.5)
    >>> n([3.0, 1.0]).data, [p.label for p in n.parameters()]
    (1.5, ['w0', 'w1', 'b'])
    """

    def __init__(
        self,
        n_in: int,
        activation: str | None = "relu",
        rng: Rng = None,
        *,
        weights: Sequence[float] | None = None,
        bias: float | None = None,
    ) -> None:
        if int(n_in) < 1:
            raise ValueError(f"Neuron: needs at least 1 input, got n_in={n_in}")
        self.activation = "identity" if activation is None else activation
        self._act = F.activation(self.activation)
        if (weights is None) != (bias is None):
            raise ValueError("Neuron: give both weights and bias, or neither (to draw them at random)")
        if weights is None or bias is None:
            w, b = init_uniform(int(n_in), 1, random_generator(rng, type(self).__name__))
            weights, bias = w[0].tolist(), float(b[0])
        if len(weights) != n_in:
            raise ValueError(f"Neuron: n_in is {n_in} but {len(weights)} weights were given")
        self.w = [Value(float(wi), label=f"w{i}") for i, wi in enumerate(weights)]
        self.b = Value(float(bias), label="b")

    def forward(self, x: Sequence[Scalar]) -> Value:
        """activation(Σᵢ wᵢ·xᵢ + b) for a list of n_in numbers or Values."""
        if len(x) != len(self.w):
            raise ValueError(f"Neuron({self.extra_repr()}): expected {len(self.w)} inputs, got {len(x)}")
        z = self.w[0] * x[0]
        for wi, xi in zip(self.w[1:], x[1:]):
            z = z + wi * xi
        return self._act(z + self.b)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"n_in={len(self.w)}, activation={self.activation!r}"


class Layer(Module):
    """n_out Neurons that read the same n_in inputs; drawn like Linear(n_in, n_out) with the same generator.

    Calling it returns a list of Values (a single Value when n_out is 1, as in micrograd).

    >>> layer = Layer(3, 2, rng=0)
    >>> len(layer([1.0, 2.0, 3.0])), layer.num_parameters()
    (2, 8)
    """

    def __init__(self, n_in: int, n_out: int, activation: str | None = "relu", rng: Rng = None) -> None:
        weights, bias = init_uniform(int(n_in), int(n_out), random_generator(rng, type(self).__name__))
        self.neurons = [Neuron(n_in, activation, weights=row.tolist(), bias=float(b)) for row, b in zip(weights, bias)]

    def outputs(self, x: Sequence[Scalar]) -> list[Value]:
        """Every neuron's output, always as a list."""
        return [n(x) for n in self.neurons]

    def forward(self, x: Sequence[Scalar]) -> Value | list[Value]:
        out = self.outputs(x)
        return out[0] if len(out) == 1 else out

    def extra_repr(self) -> str:
        n = self.neurons[0]
        return f"n_in={len(n.w)}, n_out={len(self.neurons)}, activation={n.activation!r}"


class ScalarMLP(Module):
    """An MLP of Values: Layers of the given sizes, `activation` in hidden neurons, `output_activation`
    (None: identity) in the last layer. Same seed, same weights and outputs as `MLP`.

    >>> net = ScalarMLP([3, 4, 4, 1], rng=0)
    >>> type(net([2.0, 3.0, -1.0])).__name__, net.num_parameters()
    ('Value', 41)
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | None = "relu",
        output_activation: str | None = None,
        rng: Rng = None,
    ) -> None:
        if len(sizes) < 2:
            raise ValueError(f"ScalarMLP: sizes needs an input and an output size at least, got {list(sizes)}")
        self.sizes = [int(n) for n in sizes]
        generator = random_generator(rng, type(self).__name__)  # one generator for all layers, drawn layer by layer, as MLP does
        last = len(self.sizes) - 2
        self.layers = [
            Layer(n_in, n_out, activation if k < last else output_activation, rng=generator)
            for k, (n_in, n_out) in enumerate(zip(self.sizes, self.sizes[1:]))
        ]

    def forward(self, x: Sequence[Scalar]) -> Value | list[Value]:
        """The network's output for one input: a Value, or a list of Values when there are several."""
        out = self.layers[0].outputs(x)
        for layer in self.layers[1:]:
            out = layer.outputs(out)
        return out[0] if len(out) == 1 else out

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}"
