"""Back-of-the-envelope counts of a recorded graph: nodes, parameters, multiply-adds, saved memory.

`graph_stats(output)` walks every node the output depends on (constants included, no recursion, so
any depth works) and counts, from the graph alone:

* nodes, in total and by op name (leaves that require grad as "leaf", other leaves as "constant");
* parameters: scalar elements of the leaves that require grad (only those of `params` when given;
  the other leaves that require grad are then reported as `input_elements`);
* forward and backward work, as multiply-accumulates (MACs) plus "elementwise" flops, by the rules
  below; FLOPs = 2 x MACs + elementwise;
* `saved_bytes`: the memory the backward pass reads, each array once: every op node's output and
  inputs (constants included) and the arrays among its params (cross_entropy's labels and saved
  exponentials, an index array); a view counts as the array it views, a Value as 8 bytes.

Counting rules (per op node; "elements" means scalar elements, 1 for a Value):

=================  ==================================  =============================================
op                 forward                             backward (for each input that requires grad)
=================  ==================================  =============================================
matmul             n*k*m MACs for (n,k)@(k,m): output  the same MACs again (g @ yᵀ or xᵀ @ g), so 2x
                   elements x inner dimension k        forward when both inputs require grad
                   (batched: times the batch)
linear (a Linear   as matmul: output elements x        as matmul for x and w (g @ w, gᵀ @ x); the
layer, x @ wᵀ + b) in_features MACs; the bias add: 1   bias add as the add below: 1 flop per output
                   flop per output element             element for the product and 1 for the bias
conv2d, and its     output elements x C_in/groups x kH  the same MACs again for x and w (its rules are
input and weight   x kW (the gradient ops make the     its two gradient ops); a bias as linear's
gradient ops       same products: counted from the
                   conv's output g and kernel shape);
                   a bias (conv2d's third input) as
                   linear's
einsum of n >= 2   (n-1) x product of all its index    the same MACs again per operand requiring
operands           sizes (e.g. b·i·j·k for bij,bjk)    grad (its rule is an einsum of the same
                                                       indices); of one operand: as sum, below
Value mul feeding  1 MAC                               1 MAC (g * the other input, accumulated)
an add or sub
that add or sub    0 (it is the MAC's accumulate)      0 (it passes the gradient through)
reshape, transpose,
broadcast_to,      0 (data movement)                   0
astype, copy,
getitem,
scatter_add,
concatenate, stack,
pad, scatter,
max_pool2d_scatter,
max_pool2d_gather
sum, mean, max,    1 flop per input element            1 flop per input element
min, prod,
logsumexp, softmax,
log_softmax,
cross_entropy,
max_pool2d
mse_loss           3 flops per element (subtract,      2 + 1 per input requiring grad, per
                   square, mean: as its composite)     element
every other op     1 flop per output element           1 flop per element (the larger of output
(add, mul, exp,    (exp, log, tanh, sigmoid and pow    and input: g x local derivative)
log, tanh, relu,   count 1 like the others)
...)
=================  ==================================  =============================================

Only matmul, linear, convolutions and einsums are MACs in a Tensor graph (attention's two products, q @ kᵀ
and weights @ v, are batched matmuls: N·H·L·S·E MACs each for N sequences, H heads, L queries, S keys
and E numbers per head); in a Value graph a multiply followed by an add is one, so a neuron
Σᵢ wᵢ·xᵢ + b costs one MAC per weight, as a Linear layer's linear node does. Like the usual 2·n·k·m for a matmul (which really takes n·m·(2k-1) flops), 2 x MACs
over-counts by one add per sum. Gradient accumulation where a node feeds several others is not counted.

The rules of thumb this is compared with: a forward pass costs about 2 FLOPs per parameter per
example (1 MAC per weight), and a training step about 3x the forward (the backward pass ≈ 2x).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..device import is_array
from ..engine import Node
from ..nn.module import Module
from .graph import every_node

__all__ = ["GraphStats", "graph_stats"]

# ops that only move data: no arithmetic, forward or backward
MOVEMENT_OPS = frozenset({"reshape", "transpose", "broadcast_to", "astype", "copy", "getitem", "scatter_add",
                          "concatenate", "stack", "pad", "scatter"})
# ops whose work is proportional to their input, not their (smaller) output
REDUCING_OPS = frozenset({"sum", "mean", "max", "min", "prod", "logsumexp", "softmax", "log_softmax", "cross_entropy"})
# convolution and pooling: the conv's products and its two gradient ops (see _conv_or_einsum_macs)
CONV_OPS = frozenset({"conv2d", "conv2d_input_grad", "conv2d_weight_grad"})
MOVEMENT_OPS = MOVEMENT_OPS | {"max_pool2d_scatter", "max_pool2d_gather"}
REDUCING_OPS = REDUCING_OPS | {"max_pool2d", "einsum"}  # (an einsum of one operand: a sum or a transpose)
VALUE_BYTES = 8  # a Value's data is a Python float: its float64 payload (object overhead not counted)


@dataclass
class GraphStats:
    """Counts from one recorded graph (see the module docstring for the rules).

    FLOPs are derived: 2 x MACs + elementwise flops. `batch` is the number of examples the graph
    computed (it cannot be read off a graph reliably), used by the per-example ratios.
    """

    nodes: int
    by_op: Counter[str]  # op name -> nodes; "leaf" (requires grad) and "constant" for leaves
    parameters: int  # scalar elements of the parameters (leaves requiring grad, or those of `params`)
    input_elements: int  # elements of leaves requiring grad that are not parameters (only with `params`)
    constant_elements: int  # elements of leaves that do not require grad (data, targets, numbers)
    forward_macs: int
    forward_elementwise: int  # forward flops outside MACs
    backward_macs: int
    backward_elementwise: int
    saved_bytes: int  # bytes of the data the backward pass reads, each array once
    forward_macs_by_op: Counter[str] = field(default_factory=Counter)
    backward_macs_by_op: Counter[str] = field(default_factory=Counter)
    batch: int = 1

    @property
    def forward_flops(self) -> int:
        return 2 * self.forward_macs + self.forward_elementwise

    @property
    def backward_flops(self) -> int:
        return 2 * self.backward_macs + self.backward_elementwise

    @property
    def training_flops(self) -> int:
        """Forward plus backward: one training step's arithmetic (the optimizer's update not included)."""
        return self.forward_flops + self.backward_flops

    @property
    def backward_ratio(self) -> float:
        """backward FLOPs / forward FLOPs; the rule of thumb says about 2."""
        return _ratio(self.backward_flops, self.forward_flops)

    @property
    def training_ratio(self) -> float:
        """(forward + backward) FLOPs / forward FLOPs; the rule of thumb says about 3."""
        return _ratio(self.training_flops, self.forward_flops)

    def flops_per_parameter_per_example(self, batch: int | None = None) -> float:
        """Forward FLOPs / (parameters x examples); the rule of thumb says about 2.

        `batch` defaults to the one given to graph_stats (1 unless told).
        """
        examples = self.batch if batch is None else int(batch)
        return _ratio(self.forward_flops, self.parameters * examples)

    def macs_per_parameter_per_example(self, batch: int | None = None) -> float:
        """Forward MACs / (parameters x examples): just under 1 for an MLP (biases are parameters too)."""
        examples = self.batch if batch is None else int(batch)
        return _ratio(self.forward_macs, self.parameters * examples)

    def __str__(self) -> str:
        ops = ", ".join(f"{name} {n:,}" for name, n in sorted(self.by_op.items(), key=lambda kv: (-kv[1], kv[0])))
        rows = [
            ("MACs", self.forward_macs, self.backward_macs),
            ("elementwise flops", self.forward_elementwise, self.backward_elementwise),
            ("FLOPs (2*MAC + elt)", self.forward_flops, self.backward_flops),
        ]
        width = max(12, *(len(f"{a + b:,}") for _, a, b in rows))
        lines = [
            f"nodes        {self.nodes:,} ({ops})",
            f"parameters   {self.parameters:,} elements"
            f" (other inputs {self.input_elements:,}, constants {self.constant_elements:,})",
            f"saved        {self.saved_bytes:,} bytes read by the backward pass",
            f"{'':20} {'forward':>{width}} {'backward':>{width}} {'training':>{width}}",
        ]
        lines += [f"{name:20} {a:>{width},} {b:>{width},} {a + b:>{width},}" for name, a, b in rows]
        lines.append(
            f"rules of thumb (batch {self.batch}): "
            f"forward {self.flops_per_parameter_per_example():.2f} FLOPs/parameter/example (about 2); "
            f"training {self.training_ratio:.2f}x forward (about 3)"
        )
        return "\n".join(lines)


def graph_stats(
    output: Node | Iterable[Node],
    params: Module | Iterable[Node] | None = None,
    *,
    batch: int = 1,
) -> GraphStats:
    """Count the nodes, parameters, multiply-adds and saved bytes of the graph that computed `output`.

    `params` (a Module or nodes) restricts what counts as parameters; `batch` is how many examples
    the graph computed, for the per-example ratios.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> s = graph_stats((a * b + b**2).tanh())
    >>> s.nodes, sorted(s.by_op.items())
    (7, [('add', 1), ('constant', 1), ('leaf', 2), ('mul', 1), ('pow', 1), ('tanh', 1)])
    >>> s.parameters, s.forward_macs, s.forward_elementwise, s.backward_macs, s.saved_bytes
    (2, 1, 2, 2, 56)
    """
    roots = [output] if isinstance(output, Node) else list(output)
    for r in roots:
        if not isinstance(r, Node):
            raise TypeError(f"graph_stats: expected a Value or Tensor, got {type(r).__name__}")
    wanted = _parameter_ids(params)
    if int(batch) < 1:
        raise ValueError(f"graph_stats: batch must be at least 1, got {batch!r}")
    nodes = every_node(roots)

    # Value graphs: a mul whose result goes into an add or sub is a multiply-accumulate
    fused_muls: set[int] = set()
    accumulates: set[int] = set()
    for node in nodes:
        op = node.op
        if op is not None and not node.shaped and (op.name == "add" or op.name == "sub"):
            for inp in node.inputs:
                if inp.op is not None and inp.op.name == "mul":
                    fused_muls.add(id(inp))
                    accumulates.add(id(node))

    by_op: Counter[str] = Counter()
    fwd_macs: Counter[str] = Counter()
    bwd_macs: Counter[str] = Counter()
    parameters = inputs = constants = 0
    fwd_elt = bwd_elt = 0
    saved: dict[int, int] = {}  # id of an array (or float) -> its bytes

    for node in nodes:
        op = node.op
        shaped = node.shaped
        size = node.data.size if shaped else 1
        if op is None:
            if node.requires_grad:
                by_op["leaf"] += 1
                if wanted is None or id(node) in wanted:
                    parameters += size
                else:
                    inputs += size
            else:
                by_op["constant"] += 1
                constants += size
            continue
        name = op.name
        by_op[name] += 1
        node_inputs = node.inputs
        if shaped:
            _save(saved, node.data)
            for inp in node_inputs:
                _save(saved, inp.data)
            if node.params:  # arrays the rule reads besides the inputs: cross_entropy's labels, fancy indices
                for value in node.params.values():
                    for part in value if isinstance(value, tuple) else (value,):
                        if is_array(part):
                            _save(saved, part)
        else:
            saved[id(node.data)] = VALUE_BYTES
            for inp in node_inputs:
                saved[id(inp.data)] = VALUE_BYTES
        grad_inputs = [inp for inp in node_inputs if inp.requires_grad]

        if name == "matmul":
            x = node_inputs[0].data
            macs = size * (x.shape[-1] if shaped else 1)  # output elements x inner dimension
            fwd_macs[name] += macs
            bwd_macs[name] += macs * len(grad_inputs)
        elif name in ("linear", "conv2d"):  # x @ wᵀ or conv(x, w), (+ b): the products' MACs, the bias an add
            # (linear: output elements x in_features)
            macs = size * node_inputs[0].data.shape[-1] if name == "linear" else _conv_or_einsum_macs(node)
            product_grads = sum(inp.requires_grad for inp in node_inputs[:2])
            fwd_macs[name] += macs
            bwd_macs[name] += macs * product_grads
            if len(node_inputs) == 3:  # (the same count as the product then add: the two graphs compare)
                fwd_elt += size
                bwd_elt += size * ((product_grads > 0) + node_inputs[2].requires_grad)
        elif name in CONV_OPS or (name == "einsum" and len(node_inputs) > 1):
            macs = _conv_or_einsum_macs(node)
            fwd_macs[name] += macs
            bwd_macs[name] += macs * len(grad_inputs)
        elif not shaped and name == "mul" and id(node) in fused_muls:
            fwd_macs[name] += 1
            bwd_macs[name] += len(grad_inputs)
        elif (not shaped and id(node) in accumulates) or name in MOVEMENT_OPS:
            pass
        elif name == "mse_loss":  # as its composite counts (subtract, square and mean): the two graphs compare
            n = _size(node_inputs[0])
            fwd_elt += 3 * n
            bwd_elt += 2 * n + n * len(grad_inputs)
        elif name in REDUCING_OPS:
            fwd_elt += sum(_size(inp) for inp in node_inputs)
            bwd_elt += sum(_size(inp) for inp in grad_inputs)
        else:
            fwd_elt += size
            bwd_elt += sum(max(size, _size(inp)) for inp in grad_inputs)

    return GraphStats(
        nodes=len(nodes),
        by_op=by_op,
        parameters=parameters,
        input_elements=inputs,
        constant_elements=constants,
        forward_macs=sum(fwd_macs.values()),
        forward_elementwise=fwd_elt,
        backward_macs=sum(bwd_macs.values()),
        backward_elementwise=bwd_elt,
        saved_bytes=sum(saved.values()),
        forward_macs_by_op=fwd_macs,
        backward_macs_by_op=bwd_macs,
        batch=int(batch),
    )


# --------------------------------------------------------------------------- helpers


def _conv_or_einsum_macs(node: Node) -> int:
    """Multiply-adds of a convolution, or of an einsum of several operands, done directly.

    A conv2d makes each output element from C_in/groups x kH x kW products; its input gradient (a
    transposed conv) and its weight gradient make the same products, counted from the conv output
    (the gradient g) and the kernel shape. An einsum of n operands makes (n - 1) products for each
    combination of its indices' values."""
    assert node.op is not None
    a, b = (inp.data for inp in node.inputs[:2])
    params = node.params or {}
    if node.op.name == "conv2d":
        return int(node.data.size) * math.prod(b.shape[1:])  # output elements x C_in/groups x kH x kW
    if node.op.name == "conv2d_input_grad":  # (g, w): g is the conv's output
        return int(a.size) * math.prod(b.shape[1:])
    if node.op.name == "conv2d_weight_grad":  # (x, g): the weight is this node's output
        return int(b.size) * math.prod(node.data.shape[1:])
    terms, _ = params["equation"].split("->")
    sizes = {c: n for term, inp in zip(terms.split(","), node.inputs) for c, n in zip(term, inp.data.shape)}
    return math.prod(sizes.values()) * (len(node.inputs) - 1)


def _parameter_ids(params: Module | Iterable[Node] | None) -> set[int] | None:
    if params is None:
        return None
    items = params.parameters() if isinstance(params, Module) else list(params)
    for p in items:
        if not isinstance(p, Node):
            raise TypeError(f"graph_stats: params must be a Module or Values/Tensors, got a {type(p).__name__}")
    return {id(p) for p in items}


def _size(node: Node) -> int:
    return int(node.data.size) if node.shaped else 1


def _save(saved: dict[int, int], data: Any) -> None:
    """Count an array (NumPy's or a device's) once; a view counts as the array whose memory it keeps alive."""
    if not is_array(data):
        saved.setdefault(id(data), VALUE_BYTES)
        return
    while is_array(data.base):
        data = data.base
    saved.setdefault(id(data), int(data.nbytes))


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan
