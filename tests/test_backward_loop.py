"""The engine computes what the short loop of docs/build-it-yourself.md computes.

The docs derive backward as a dozen lines: reverse topological order, and for each edge the
upstream gradient times the local derivative, summed per input. `_run_backward` is that loop with
bookkeeping and speed paths around it. This test takes the docs' function from the page itself (so
the two cannot drift apart unseen), runs it and the engine on random graphs of Values and of
Tensors, and requires the same gradients, bit for bit: the same rules applied in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value

PAGE = Path(__file__).resolve().parent.parent / "docs" / "build-it-yourself.md"


def _docs_loop() -> Callable[..., dict[Any, Any]]:
    """The `gradients` function as the page shows it, executed from its doctest lines."""
    text = PAGE.read_text()
    start = text.index(">>> def gradients(")
    lines = []
    for line in text[start:].splitlines():
        if not re.match(r"(>>>|\.\.\.) ", line):
            break
        lines.append(line[4:])
        if line.strip() == "...     return grads":
            break
    namespace: dict[str, Any] = {"tg": tg}
    exec("\n".join(lines), namespace)
    return namespace["gradients"]


gradients = _docs_loop()

# (name, arity, function): ops that keep a Value a Value and a (3, 3) Tensor a (3, 3) Tensor, so the
# graphs need no broadcasting (the docs' loop leaves that bookkeeping out)
COMMON = [
    ("add", 2, lambda x, y: x + y),
    ("sub", 2, lambda x, y: x - y),
    ("mul", 2, lambda x, y: x * y),
    ("div", 2, lambda x, y: x / (y * y + 1.0)),
    ("tanh", 1, lambda x: x.tanh()),
    ("exp", 1, lambda x: x.tanh().exp()),
    ("relu", 1, lambda x: x.relu()),
    ("square", 1, lambda x: x**2),
    ("scale", 1, lambda x: 0.5 * x),
]
TENSOR_ONLY = [
    ("matmul", 2, lambda x, y: x @ y),
    ("transpose", 1, lambda x: x.T),
    ("softmax", 1, lambda x: x.softmax(axis=1)),
    ("reverse rows", 1, lambda x: x[::-1]),
    ("reshape", 1, lambda x: x.reshape(9).reshape(3, 3)),
    ("sigmoid", 1, lambda x: x.sigmoid()),
]


@st.composite
def programs(draw: st.DrawFn, ops: list[tuple[str, int, Callable[..., Any]]]) -> list[tuple[int, list[int]]]:
    """A random DAG as a list of (op index, argument indices): argument i < the node's own index, so
    earlier nodes (leaves among them) can feed several later ones."""
    n_leaves, n_ops = 3, draw(st.integers(1, 12))
    steps = []
    for k in range(n_ops):
        op = draw(st.integers(0, len(ops) - 1))
        args = [draw(st.integers(0, n_leaves + k - 1)) for _ in range(ops[op][1])]
        steps.append((op, args))
    return steps


def _build(leaves: list[Any], ops: list[tuple[str, int, Callable[..., Any]]],
           program: list[tuple[int, list[int]]]) -> Any:
    nodes = list(leaves)
    for op, args in program:
        nodes.append(ops[op][2](*(nodes[i] for i in args)))
    total = nodes[-1]  # the output: the last node plus every leaf, so each leaf has a gradient
    for leaf in leaves:
        total = total + leaf
    return total


@settings(max_examples=60, deadline=None)
@given(programs(COMMON), st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_engine_equals_the_docs_loop_on_values(program: list[tuple[int, list[int]]], xs: list[float]) -> None:
    leaves = [Value(x) for x in xs]
    out = _build(leaves, COMMON, program)
    mine = gradients(out)
    out.backward(retain_graph=True)  # the plain backward of Values: the engine's fast path
    assert [leaf.grad for leaf in leaves] == [mine[leaf] for leaf in leaves]
    engine = tg.grad(out, leaves)  # the general loop, through a dictionary
    assert list(engine) == [mine[leaf] for leaf in leaves]


@settings(max_examples=40, deadline=None)
@given(programs(COMMON + TENSOR_ONLY), st.integers(0, 2**32 - 1))
def test_engine_equals_the_docs_loop_on_tensors(program: list[tuple[int, list[int]]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    leaves = [Tensor(rng.uniform(-2, 2, (3, 3)), requires_grad=True) for _ in range(3)]
    weights = Tensor(rng.uniform(-1, 1, (3, 3)))
    out = (_build(leaves, COMMON + TENSOR_ONLY, program) * weights).sum()
    mine = gradients(out, np.ones(()))
    out.backward()
    for leaf in leaves:
        assert np.array_equal(leaf.grad, mine[leaf]), program
