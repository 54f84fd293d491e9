"""Recurrent layers: RNN, LSTM and GRU, and their one-step cells, with PyTorch's names and equations.

RNN and GRU are composites of matmul, sigmoid, tanh, slices and stack, unrolled over time:
backpropagation through time is just backward() on the unrolled graph. Each step adds the input's
projection x_t @ W_ih.T to the state's h @ W_hh.T (b_ih + b_hh made once, where the equations allow).
The LSTM layer runs each layer and direction as one op, ops.LSTM, as torch's fused nn.LSTM does (one
node per layer in a drawing; its rule is the BPTT written out, see ops.py); LSTMCell is the equations
as written. Gate order and parameter shapes are PyTorch's, so weights move between the two with
`load_state_dict`:

  RNN   h' = tanh(W_ih x + b_ih + W_hh h + b_hh)                      (or relu)
  LSTM  i, f, g, o = σ, σ, tanh, σ of (W_ih x + b_ih + W_hh h + b_hh)  (four blocks of hidden_size rows)
        c' = f * c + i * g;  h' = o * tanh(c')
  GRU   r, z = σ of (W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z})
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h' = (1 - z) * n + z * h
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ops import LSTM as LSTM_LAYER
from ..ops import call
from ..random import generator as random_generator
from ..tensor import Tensor, concatenate, stack
from .dropout import dropout
from .module import Module

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]

Rng = np.random.Generator | int | None
State = Any  # a Tensor h, or a pair (h, c) for the LSTM


# --------------------------------------------------------------------------- one step of each kind
# x_part is the input's projection W_ih x + b_ih (with b_hh folded in where the equations allow);
# w_hh_t is W_hh already transposed, made once per forward rather than once per step.


def _rnn_step(x_part: Tensor, h: Tensor, w_hh_t: Tensor, b_hh: Tensor | None, relu: bool) -> Tensor:
    pre = x_part + h @ w_hh_t
    if b_hh is not None:
        pre = pre + b_hh
    return pre.relu() if relu else pre.tanh()


def _lstm_step(x_part: Tensor, state: tuple[Tensor, Tensor], w_hh_t: Tensor,
               b_hh: Tensor | None) -> tuple[Tensor, Tensor]:
    h, c = state
    gates = x_part + h @ w_hh_t
    if b_hh is not None:
        gates = gates + b_hh
    # i, f, g, o = σ, σ, tanh, σ of the gates' four blocks; c' = f * c + i * g; h' = o * tanh(c'). As
    # written, for a cell driven step by step: h' is computed from the node c', so dL/dc' holds every
    # path, also the one through h' (a fused node's c' would be a slice beside h')
    n = c.shape[-1]
    i, f, o = (gates[..., k * n:(k + 1) * n].sigmoid() for k in (0, 1, 3))
    c_next = f * c + i * gates[..., 2 * n:3 * n].tanh()
    return o * c_next.tanh(), c_next


def _gru_step(x_part: Tensor, h: Tensor, w_hh_t: Tensor, b_hh: Tensor | None, hidden: int) -> Tensor:
    h_part = h @ w_hh_t
    if b_hh is not None:  # not foldable into x_part: b_hn sits inside r * (...)
        h_part = h_part + b_hh
    r = (x_part[..., :hidden] + h_part[..., :hidden]).sigmoid()
    z = (x_part[..., hidden:2 * hidden] + h_part[..., hidden:2 * hidden]).sigmoid()
    n = (x_part[..., 2 * hidden:] + r * h_part[..., 2 * hidden:]).tanh()
    return (1 - z) * n + z * h


GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}  # blocks of hidden_size rows in W_ih and W_hh


class _Recurrence:
    """One kind of cell, as the sequence loop needs it: its step, and whether b_hh folds into x_part."""

    def __init__(self, mode: str, hidden: int) -> None:
        self.mode, self.hidden = mode, hidden
        self.folds_b_hh = mode != "GRU"

    def step(self, x_part: Tensor, state: State, w_hh_t: Tensor, b_hh: Tensor | None) -> State:
        if self.mode == "LSTM":
            return _lstm_step(x_part, state, w_hh_t, b_hh)
        if self.mode == "GRU":
            return _gru_step(x_part, state, w_hh_t, b_hh, self.hidden)
        return _rnn_step(x_part, state, w_hh_t, b_hh, relu=self.mode == "RNN_RELU")


def _init_weights(shapes: Sequence[tuple[int, ...]], hidden: int, rng: Rng, dtype: Any) -> list[Tensor]:
    """PyTorch's initialisation of every recurrent weight and bias: U(-1/√hidden, 1/√hidden), in order."""
    generator = random_generator(rng, "recurrent layer")
    bound = 1.0 / math.sqrt(hidden)
    return [Tensor(generator.uniform(-bound, bound, size=shape), requires_grad=True, dtype=dtype) for shape in shapes]


def _check_size(name: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: {key} must be a positive integer, got {value!r}")
    return int(value)


def _as_input(x: Any, dtype: Any, name: str, what: str = "input", error: type[Exception] = RuntimeError) -> Tensor:
    """x as a Tensor of the weights' dtype: numbers and arrays are taken in it; a Tensor of another dtype is
    refused, as in PyTorch (a float32 layer would otherwise compute a float64 input in float64, silently),
    with its error type: RuntimeError from a cell, ValueError from RNN, LSTM and GRU."""
    if not isinstance(x, Tensor):
        return Tensor(np.asarray(x), dtype=dtype)
    if x.dtype != dtype:
        raise error(f"{name}: the {what} ({x.dtype}) and the weights ({np.dtype(dtype)}) must have the same "
                    f"dtype (cast the {what}: .to({np.dtype(dtype).name!r}))")
    return x


# --------------------------------------------------------------------------- cells


class _CellBase(Module):
    """What the cells share: weight_ih (G*hidden, input), weight_hh (G*hidden, hidden), bias_ih, bias_hh."""

    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, rng: Rng, dtype: Any) -> None:
        name = type(self).__name__
        self.input_size = _check_size(name, "input_size", input_size)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        rows = GATES[self.mode] * self.hidden_size
        shapes = [(rows, self.input_size), (rows, self.hidden_size)] + [(rows,), (rows,)] * self.bias
        weights = _init_weights(shapes, self.hidden_size, rng, dtype)
        self.weight_ih, self.weight_hh = weights[0], weights[1]
        self.bias_ih: Tensor | None = weights[2] if bias else None
        self.bias_hh: Tensor | None = weights[3] if bias else None
        for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            if getattr(self, key) is not None:
                getattr(self, key).label = key

    def _step(self, input: Any, hx: Any, lstm: bool) -> State:
        name = f"{type(self).__name__}({self.extra_repr()})"
        x = _as_input(input, self.weight_ih.dtype, name)
        if x.ndim not in (1, 2):
            raise ValueError(f"{name}: expected input to be 1D or 2D, got {x.ndim}D input of shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: expected input of shape (N, {self.input_size}) or ({self.input_size},), got {x.shape}"
            )
        want = x.shape[:-1] + (self.hidden_size,)
        if hx is None:
            zeros = Tensor(np.zeros(want, dtype=x.dtype), device=x.device)
            states = [zeros, zeros] if lstm else [zeros]
        else:
            if lstm and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise TypeError(f"{name}: hx must be a pair (h, c), got a {type(hx).__name__}")
            states = [_as_input(s, x.dtype, name, what) for s, what in zip(hx if lstm else [hx], ("h", "c"))]
            for s, what in zip(states, ("h", "c")):
                if s.shape != want:
                    raise RuntimeError(
                        f"{name}: expected {what} of shape {want} for input of shape {x.shape}, got {s.shape}"
                    )
        x_part = x @ self.weight_ih.T
        if self.bias_ih is not None:
            x_part = x_part + self.bias_ih
        recurrence = _Recurrence(self.mode, self.hidden_size)
        state = tuple(states) if lstm else states[0]
        return recurrence.step(x_part, state, self.weight_hh.T, self.bias_hh)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """One step of an Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu).

    >>> cell = RNNCell(3, 5, rng=0)
    >>> cell(Tensor(np.ones((2, 3)))).shape
    (2, 5)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 rng: Rng = None, dtype: Any = np.float64) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, bias, rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        """The next hidden state, (N, hidden) for input (N, input) or (hidden,) for (input,); hx defaults to 0."""
        return self._step(input, hx, lstm=False)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}")


class LSTMCell(_CellBase):
    """One step of an LSTM: gates i, f, g, o; c' = f * c + i * g; h' = o * tanh(c'). Returns (h', c').

    Computed as these equations (h' from the node c'), so that a gradient taken at c' counts every
    path; the LSTM layer runs a whole sequence as one op instead (ops.LSTM: faster, the same results).

    >>> cell = LSTMCell(3, 5, rng=0)
    >>> h, c = cell(Tensor(np.ones(3))); h.shape, c.shape
    ((5,), (5,))
    """

    mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, rng: Rng = None,
                 dtype: Any = np.float64) -> None:
        super().__init__(input_size, hidden_size, bias, rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:
        """(h', c') from input (N, input) and hx = (h, c), each (N, hidden) (zeros when hx is None)."""
        return self._step(input, hx, lstm=True)  # type: ignore[no-any-return]


class GRUCell(_CellBase):
    """One step of a GRU: gates r, z; n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1 - z) n + z h.

    >>> GRUCell(3, 5, rng=0)(Tensor(np.ones((4, 3)))).shape
    (4, 5)
    """

    mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, rng: Rng = None,
                 dtype: Any = np.float64) -> None:
        super().__init__(input_size, hidden_size, bias, rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        """The next hidden state, (N, hidden) for input (N, input) or (hidden,) for (input,); hx defaults to 0."""
        return self._step(input, hx, lstm=False)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- layers over sequences


class _RNNBase(Module):
    """What RNN, LSTM and GRU share: the stacked (and optionally bidirectional) loop over time.

    Parameters per layer k and direction: weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k},
    with the suffix "_reverse" for the backward direction (PyTorch's names, in PyTorch's order).
    """

    mode = "RNN_TANH"
    input_size: int
    hidden_size: int
    num_layers: int
    bias: bool
    batch_first: bool
    bidirectional: bool
    dropout: float
    rng: np.random.Generator

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        rng: Rng = None,
        dtype: Any = np.float64,
    ) -> None:
        name = type(self).__name__
        self.input_size = _check_size(name, "input_size", input_size)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        self.num_layers = _check_size(name, "num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the probability "
                             f"of an element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout is applied after every recurrent layer but the last, so a non-zero "
                          f"dropout expects num_layers greater than 1, but got dropout={dropout} and num_layers=1",
                          UserWarning, stacklevel=3)
        self.bias, self.batch_first, self.bidirectional = bool(bias), bool(batch_first), bool(bidirectional)
        self.dropout = float(dropout)
        self.rng = None if rng is None else random_generator(rng, type(self).__name__)  # None: the default, when drawn
        rows = GATES[self.mode] * self.hidden_size
        directions = 2 if bidirectional else 1
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(rows, layer_input), (rows, self.hidden_size)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(rows,), (rows,)]
                for key, weight in zip(names, _init_weights(shapes, self.hidden_size, self.rng, dtype)):
                    weight.label = key
                    setattr(self, key, weight)

    def _weights(self, layer: int, suffix: str) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """weight_ih, weight_hh, bias_ih, bias_hh of one layer and direction (biases None without bias)."""
        w_ih, w_hh, b_ih, b_hh = (getattr(self, f"{key}_l{layer}{suffix}", None)
                                  for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        return w_ih, w_hh, b_ih, b_hh  # type: ignore[return-value]

    def _run(self, input: Any, hx: Any, lstm: bool) -> tuple[Tensor, Any]:
        """The output (L, N, D*hidden) or batch_first/unbatched variants, and the final state(s)."""
        name = f"{type(self).__name__}({self.extra_repr()})"
        x = _as_input(input, self._weights(0, "")[0].dtype, name, error=ValueError)
        if x.ndim not in (2, 3):
            raise ValueError(f"{name}: expected input to be 2D or 3D, got {x.ndim}D input of shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size: expected {self.input_size}, "
                               f"got input of shape {x.shape}")
        batched, input_shape = x.ndim == 3, x.shape
        if not batched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.transpose(1, 0, 2)  # (N, L, input) -> (L, N, input)
        steps, batch = x.shape[0], x.shape[1]
        if steps == 0:
            raise RuntimeError(f"{name}: expected sequence length to be larger than 0, got input of shape {input_shape}")
        directions = 2 if self.bidirectional else 1
        want = (self.num_layers * directions, batch, self.hidden_size)
        states = self._initial_states(hx, lstm, batched, want, x, name)
        recurrence = _Recurrence(self.mode, self.hidden_size)
        finals: list[Any] = []
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(("", "_reverse")[:directions]):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, suffix)
                k = layer * directions + direction
                if lstm:  # the whole sequence as one node, ops.LSTM, as torch's fused LSTM: h_1..h_T, then c_T
                    biases = () if b_ih is None else (b_ih, b_hh)
                    seq = call(LSTM_LAYER, x, states[0][k], states[1][k], w_ih, w_hh, *biases, reverse=direction == 1)
                    finals.append((seq[0 if direction else steps - 1], seq[steps]))  # (h_n, c_n)
                    outputs.append(seq[:steps])
                    continue
                w_ih_t, w_hh_t = w_ih.T, w_hh.T  # transposed once, not once per step
                x_bias = None if b_ih is None else (b_ih + b_hh if recurrence.folds_b_hh else b_ih)
                b_step = None if recurrence.folds_b_hh else b_hh
                state = states[0][k]
                hs = []
                order = range(steps) if direction == 0 else range(steps - 1, -1, -1)  # the reverse direction
                for t in order:
                    # the input's projection step by step: a slice of one (L, N, G*hidden) projection would
                    # send back a gradient of that whole size from every step (L times the work)
                    x_part = x[t] @ w_ih_t
                    if x_bias is not None:
                        x_part = x_part + x_bias
                    state = recurrence.step(x_part, state, w_hh_t, b_step)
                    hs.append(state)
                finals.append(state)
                outputs.append(stack(hs if direction == 0 else hs[::-1], axis=0))
            x = outputs[0] if directions == 1 else concatenate(outputs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = dropout(x, self.dropout, True, self.rng)
        if lstm:
            final: Any = (stack([s[0] for s in finals]), stack([s[1] for s in finals]))
        else:
            final = stack(finals)
        if not batched:
            x = x.reshape(steps, x.shape[2])
            final = tuple(s.reshape(s.shape[0], s.shape[2]) for s in final) if lstm else final.reshape(want[0], want[2])
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        return x, final

    def _initial_states(self, hx: Any, lstm: bool, batched: bool, want: tuple[int, int, int], x: Tensor,
                        name: str) -> list[Tensor]:
        """h0 (and c0) as (layers * directions, N, hidden) tensors: zeros (of x's dtype, on its device) when
        hx is None."""
        if hx is None:
            zeros = Tensor(np.zeros(want, dtype=x.dtype), device=x.device)
            return [zeros, zeros] if lstm else [zeros]
        if lstm and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"{name}: hx must be a pair (h_0, c_0), got a {type(hx).__name__}")
        states = [_as_input(s, x.dtype, name, what, ValueError) for s, what in zip(hx if lstm else [hx], ("h_0", "c_0"))]
        out = []
        for s, what in zip(states, ("h_0", "c_0")):
            if s.ndim != (3 if batched else 2):
                kind = "batched 3-D" if batched else "unbatched 2-D"
                raise RuntimeError(f"{name}: for {kind} input, {what} should be {3 if batched else 2}-D, "
                                   f"got shape {s.shape}")
            if not batched:
                s = s.reshape(s.shape[0], 1, s.shape[1])
            if s.shape != want:
                expected = want if batched else (want[0], want[2])
                got = s.shape if batched else (s.shape[0], s.shape[2])
                raise RuntimeError(f"{name}: expected {what} of shape {expected}, got {got}")
            out.append(s)
        return out

    def extra_repr(self) -> str:
        extra = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            extra.append(f"num_layers={self.num_layers}")
        if self.mode == "RNN_RELU":
            extra.append("nonlinearity='relu'")
        for key, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, key) != default:
                extra.append(f"{key}={getattr(self, key)}")
        return ", ".join(extra)


class RNN(_RNNBase):
    """An Elman RNN over a sequence, h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) (or relu), stacked
    `num_layers` deep. Input (L, N, input_size), or (N, L, input_size) with batch_first, or (L,
    input_size) unbatched; returns (output, h_n): the last layer's h_t for every t, and every layer's last h.

    >>> rnn = RNN(3, 5, num_layers=2, rng=0)
    >>> output, h_n = rnn(Tensor(np.ones((7, 2, 3)))); output.shape, h_n.shape
    ((7, 2, 5), (2, 2, 5))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        rng: Rng = None,
        dtype: Any = np.float64,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:
        """(output, h_n); hx is h_0, (num_layers * directions, N, hidden_size), zeros when None."""
        return self._run(input, hx, lstm=False)


class LSTM(_RNNBase):
    """A long short-term memory over a sequence (PyTorch's gate order i, f, g, o), stacked `num_layers`
    deep. Returns (output, (h_n, c_n)); hx is (h_0, c_0) or None for zeros.

    >>> lstm = LSTM(3, 5, batch_first=True, rng=0)
    >>> output, (h_n, c_n) = lstm(Tensor(np.ones((2, 7, 3)))); output.shape, h_n.shape, c_n.shape
    ((2, 7, 5), (1, 2, 5), (1, 2, 5))
    """

    mode = "LSTM"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        rng: Rng = None,
        dtype: Any = np.float64,
    ) -> None:
        if proj_size != 0:
            raise NotImplementedError("LSTM: proj_size (projected hidden states) is not supported; use proj_size=0 "
                                      "and a Linear layer on the output")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """(output, (h_n, c_n)); hx is (h_0, c_0), each (num_layers * directions, N, hidden_size)."""
        return self._run(input, hx, lstm=True)


class GRU(_RNNBase):
    """A gated recurrent unit over a sequence (PyTorch's gate order r, z, n), stacked `num_layers` deep.
    Returns (output, h_n).

    >>> gru = GRU(3, 5, bidirectional=True, rng=0)
    >>> output, h_n = gru(Tensor(np.ones((7, 3)))); output.shape, h_n.shape
    ((7, 10), (2, 5))
    """

    mode = "GRU"

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:
        """(output, h_n); hx is h_0, (num_layers * directions, N, hidden_size), zeros when None."""
        return self._run(input, hx, lstm=False)

