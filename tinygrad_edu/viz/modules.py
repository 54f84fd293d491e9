"""Which module made each node of a graph: what a drawing collapsed by module puts in each box.

A module call is noted on the Tensors it returns (see nn/module.py). The nodes a call made are those
its outputs depend on, found by walking back from them and stopping at its arguments: every op it
ran, and the parameters and constants it used. Calls nest (a block calls its attention, which calls
its output projection), so a node belongs to several; the innermost one made it.

Drawn at a depth d (the model is depth 0, its children depth 1, ...), a node goes in the box of the
innermost call at depth d or above, and a call at depth d holds everything made below it. A module
above depth d with submodules is opened: its own ops (a residual add, a block's reshapes) are drawn
one by one, between the boxes of its children. So are nodes made outside every call (the model's
input, a loss computed outside it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from ..engine import Node
from ..nn.module import Module, module_calls


class Box(NamedTuple):
    """A box of a drawing collapsed by module: one call of the module at `path`, or all of them."""

    path: str  # the module's name in the model ("blocks.0.attn"), or its class for a module outside it
    call: int | None  # which call (a ModuleCall.key), or None: every call made below a module never called


@dataclass
class Call:
    """One module call in a graph, and the nodes it made."""

    module: Module
    path: str
    depth: int
    key: int
    outputs: list[Node]
    made: set[Node] = field(default_factory=set)  # every node the call made, the nested calls' included


class ModuleGroups:
    """The module calls of a graph drawn from `nodes`, named after `model.named_modules()`."""

    def __init__(self, nodes: list[Node], model: Module) -> None:
        self.modules = dict(model.named_modules())
        paths = {id(m): p for p, m in self.modules.items()}
        self.depths = {p: self._depth(p) for p in self.modules}
        calls: dict[int, Call] = {}
        inputs: dict[int, frozenset[int]] = {}
        for node in nodes:
            for c in module_calls(node):
                if c.key not in calls:
                    path = paths.get(id(c.module), type(c.module).__name__)  # a module outside the model: its class
                    calls[c.key] = Call(c.module, path, self.depths.get(path, 1), c.key, [])
                    inputs[c.key] = c.inputs
                calls[c.key].outputs.append(node)
        for call in calls.values():
            call.made = _made_by(call.outputs, inputs[call.key])
        # nested calls made fewer nodes than those around them (ties: the module nearer the model first)
        self.calls = sorted(calls.values(), key=lambda c: (-len(c.made), c.depth))
        self.by_key = {c.key: c for c in self.calls}
        self.within: dict[Node, list[Call]] = {}  # node -> the calls that made it, outermost first
        for call in self.calls:
            for node in call.made:
                self.within.setdefault(node, []).append(call)
        self.max_depth = max((c.depth for c in self.calls), default=0)

    def _depth(self, path: str) -> int:
        """How many modules contain this one (the model itself is at depth 0)."""
        if not path:
            return 0
        parts = path.split(".")
        return 1 + sum(".".join(parts[:k]) in self.modules for k in range(1, len(parts)))

    def _ancestor(self, path: str, depth: int) -> str:
        """The module at `depth` that contains the module at `path` (or is it)."""
        if depth == 0 and path in self.modules:
            return ""
        parts = path.split(".")
        for k in range(1, len(parts) + 1):
            prefix = ".".join(parts[:k])
            if prefix in self.modules and self.depths[prefix] == depth:
                return prefix
        return path

    def _opened(self, path: str) -> bool:
        """Whether the module has submodules (whose boxes its own ops are drawn between)."""
        module = self.modules.get(path)
        return module is not None and bool(module.children())

    def box(self, node: Node, depth: int) -> Box | None:
        """The box `node` is drawn in at `depth`, or None where it is drawn on its own."""
        calls = self.within.get(node)
        if not calls:
            return None
        inner = calls[-1]
        if inner.depth <= depth:
            if inner.depth < depth and self._opened(inner.path):
                return None  # an op of an opened module: between its children's boxes
            return Box(inner.path, inner.key)
        path = self._ancestor(inner.path, depth)
        call = next((c for c in reversed(calls) if c.path == path), None)
        return Box(path, call.key if call is not None else None)

    def boxes(self, nodes: Iterable[Node], depth: int) -> dict[Node, Box | None]:
        return {n: self.box(n, depth) for n in nodes}

    def count(self, nodes: list[Node], depth: int) -> int:
        """How many boxes and single nodes a drawing at `depth` has."""
        groups = self.boxes(nodes, depth)
        return len({b for b in groups.values() if b is not None}) + sum(b is None for b in groups.values())

    def choose_depth(self, nodes: list[Node], budget: int) -> int:
        """The deepest depth whose drawing has at most `budget` boxes (at least depth 1)."""
        best = 1
        for depth in range(2, self.max_depth + 1):
            if self.count(nodes, depth) <= budget:
                best = depth
        return best


def _made_by(outputs: list[Node], inputs: frozenset[int]) -> set[Node]:
    """The nodes the outputs depend on, walking back no further than the call's arguments."""
    made: set[Node] = set()
    stack = [n for n in outputs if id(n) not in inputs]
    while stack:
        node = stack.pop()
        if node in made:
            continue
        made.add(node)
        stack.extend(i for i in node.inputs if id(i) not in inputs and i not in made)
    return made
