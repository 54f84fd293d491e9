"""What backward refuses, and what anomaly mode checks: kept apart from the algorithm in engine.py.

In-place changes. Every node is stamped with the time its value was last written (`_written_at`):
when its op made it (and saved its inputs), or when a tracked change in place (an optimizer step,
t[...] = v, t += v) wrote into a leaf, which moves the clock on. Backward refuses a node with an input
written after the node saved it, since its rule would read the new values, and a node whose saved
values an earlier backward used up (`RELEASED`).

Anomaly mode (`detect_anomaly()`). Each recorded op remembers where it was made and a fingerprint of
the inputs its rules read; an op that makes NaN or Inf from finite values raises AnomalyError naming
it, in the forward (`check_forward`) and on every edge of backward (`check_backward`).
"""

from __future__ import annotations

import linecache
import math
import os
import sys
import weakref
import zlib
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from .device import is_array, to_host
from .ops import Recorder

if TYPE_CHECKING:
    from .engine import Node


# --------------------------------------------------------------------------- in-place changes

clock = [0]  # the clock of in-place changes (a list, so that value.py and tensor.py read the one counter)
RELEASED = -1  # the _written_at of a node whose saved values a backward used up


def mark_modified(node: Node, where: str) -> None:
    """Record an in-place change of a leaf; refuse one of a node made by an op (its graph needs it)."""
    if node.op is not None:
        raise RuntimeError(
            f"{where}: cannot change a {type(node).__name__} made by '{node.op.name}' in place: the graph "
            "that made it may need its value; change a copy (x.detach() makes one without the graph)"
        )
    clock[0] += 1
    node._written_at = clock[0]
    if is_array(node.data):  # views of this memory (t[1:], t.T) change with it
        memory = _memory_of(node.data)
        key = id(memory)  # the entry goes when the memory does: nothing accumulates over a long run
        entry = _changed_memory.get(key)
        if entry is not None and entry[0]() is memory:  # speed: an optimizer's every step keeps the reference
            _changed_memory[key] = (entry[0], clock[0])
            return
        try:
            ref = weakref.ref(memory, lambda _: _changed_memory.pop(key, None))
        except TypeError:  # an array library without weak references: only the leaf itself is tracked
            return
        _changed_memory[key] = (ref, clock[0])


# id of an array that owns memory -> (a weak reference to it, the clock's time of its latest change in place)
_changed_memory: dict[int, tuple[weakref.ref[np.ndarray], int]] = {}


def _memory_of(array: Any) -> Any:
    """The array that owns the memory an array views (NumPy's or a device's)."""
    while is_array(array.base):
        array = array.base
    return array


def _changed_since(x: Node, made: int) -> bool:
    """Whether x's value was written after time `made`: x itself, or the memory it views."""
    if x._written_at > made:
        return True
    data = x.data
    if _changed_memory and is_array(data):
        memory = _memory_of(data)
        entry = _changed_memory.get(id(memory))
        if entry is not None and entry[0]() is memory and entry[1] > made:
            return True
    return False


def check_saved_values(order: list[Node], inspecting: bool, where: str) -> None:
    """Refuse a backward whose rules would read values that are gone or changed: a graph used up by
    an earlier backward, or an input changed in place after the node saved it."""
    now = clock[0]
    for node in order:
        made = node._written_at
        if made >= now or node.op is None:  # made after the latest change in place (RELEASED is below 0)
            continue
        op = node.op
        if made == RELEASED:
            if inspecting:  # (inspection only reads: the values are still there)
                continue
            raise RuntimeError(
                f"{where}: cannot go through the graph a second time (at a '{op.name}' node): its saved values "
                "were released by the first backward; pass retain_graph=True to that first call"
            )
        inputs = node.inputs  # something changed in place since this node was made: an input it reads?
        for k in range(len(inputs)) if op.reads is None else op.reads:
            if k < len(inputs) and _changed_since(inputs[k], made):
                x = inputs[k]
                name = f" {x.label!r}" if x.label else ""
                raise RuntimeError(
                    f"{where}: input {k} of a '{op.name}' node ({type(x).__name__}{name} of shape "
                    f"{np.shape(x.data)}) was changed in place after the node saved it (an optimizer step, "
                    "an nn.init function, t[...] = v, t += v, or a method such as t.mul_(v)); its backward rule "
                    "would read the new value. Compute the forward again after changing it, or change it after backward"
                )
    if _fingerprints:  # nodes made in anomaly mode: are the inputs they saved still what they were?
        _check_fingerprints(order, where)


def _check_fingerprints(order: list[Node], where: str) -> None:
    for node in order:
        saved = _fingerprints.get(node)
        if saved is None or node._written_at == RELEASED:
            continue
        for k, fingerprint in saved:
            x = node.inputs[k]
            if _fingerprint(x.data) != fingerprint:
                assert node.op is not None
                name = f" {x.label!r}" if x.label else ""
                raise RuntimeError(
                    f"{where}: input {k} of a '{node.op.name}' node ({type(x).__name__}{name} of shape "
                    f"{np.shape(x.data)}) was changed after the node saved it, by a write the library does "
                    "not see (into .data: t.data[...] = v, NumPy writing into t.data, v.data = x); its backward "
                    "rule would read the new value. Change it after backward, or compute the forward again after "
                    "changing it (t[...] = v, t -= v and optimizer steps are tracked even outside anomaly mode). "
                    f"The node was created at {_created_at.get(node)}"
                )


# --------------------------------------------------------------------------- anomaly mode


class AnomalyError(RuntimeError):
    """In anomaly mode, an op whose forward or backward made NaN or Inf from finite inputs."""


V = TypeVar("V")


class WeakIdKeyDictionary(Generic[V]):
    """node -> value, each entry gone when its node is: a weakref.WeakKeyDictionary keyed by identity,
    since that one compares keys with ==, which a Tensor answers elementwise (PyTorch keeps one too)."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[Any], V]] = {}

    def __setitem__(self, node: Any, value: V) -> None:
        key, entries = id(node), self._entries

        def forget(ref: weakref.ref[Any]) -> None:
            if entries.get(key, (None,))[0] is ref:  # (not a newer entry for an object at the same address)
                del entries[key]

        entries[key] = (weakref.ref(node, forget), value)

    def get(self, node: Any, default: Any = None) -> Any:
        entry = self._entries.get(id(node))
        return entry[1] if entry is not None and entry[0]() is node else default

    def __len__(self) -> int:
        return len(self._entries)


_created_at: WeakIdKeyDictionary[str] = WeakIdKeyDictionary()  # nodes made in anomaly mode
# nodes made in anomaly mode -> (input k, fingerprint of its data) for every input the node's rules read:
# catches writes the library cannot see (t.data[...] = v, v.data = x) before a backward reads them
_fingerprints: WeakIdKeyDictionary[tuple[tuple[int, Any], ...]] = WeakIdKeyDictionary()
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_frame() -> str:
    """The innermost line of the caller's code outside this package: where a node is being made."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR + os.sep):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return "(inside tinygrad_edu)"
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    where = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
    return f"{where}: {line}" if line else where


def _describe_data(data: Any) -> str:
    if is_array(data) and data.size > 1:
        return f"shape {data.shape}"
    return f"shape {np.shape(data)} (value {float(to_host(data).reshape(())):g})"


def _fingerprint(data: Any) -> Any:
    """What a value was when a node saved it: the float itself, or an array's shape, dtype and CRC-32."""
    if type(data) is float:
        return data.hex()  # (nan == nan as text)
    array = np.asarray(to_host(data))  # (a host copy of a device's array: anomaly mode is for debugging)
    return array.shape, array.dtype.str, zlib.crc32(array.tobytes())  # (a copy: anomaly mode is for debugging)


def _not_finite(data: Any) -> bool:
    if type(data) is float:
        return not math.isfinite(data)
    return not bool(np.isfinite(data).all())  # (a host bool: one sync per check on a GPU)


def check_forward(node: Node) -> None:
    """In anomaly mode, after a recorded op: remember where the node was made and a fingerprint of
    each input its rules read; raise if the op made NaN or Inf from finite inputs."""
    site = _user_frame()
    _created_at[node] = site
    assert node.op is not None
    inputs = node.inputs
    reads = range(len(inputs)) if node.op.reads is None else node.op.reads
    _fingerprints[node] = tuple((k, _fingerprint(inputs[k].data)) for k in reads if k < len(inputs))
    if _not_finite(node.data) and not any(_not_finite(i.data) for i in node.inputs):
        what = "nan" if np.isnan(node.data).any() else ("-inf" if np.min(node.data) == -math.inf else "inf")
        shapes = " and ".join(_describe_data(i.data) for i in node.inputs)
        raise AnomalyError(f"forward of '{node.op.name}' made {what} from finite input(s) of {shapes} at {site}")


def check_backward(node: Node, inp: Node, g: Any, gk: Any) -> None:
    """In anomaly mode, after an edge's rule: raise if it made NaN or Inf from a finite gradient."""
    g, gk = (v.data if isinstance(v, Recorder) else v for v in (g, gk))  # type: ignore[attr-defined]  # graph nodes (create_graph)
    if _not_finite(gk) and not _not_finite(g):
        assert node.op is not None
        k = next(i for i, x in enumerate(node.inputs) if x is inp)
        shapes = " and ".join(_describe_data(i.data) for i in node.inputs)
        site = _created_at.get(node, "an unknown place (the node was made outside detect_anomaly())")
        raise AnomalyError(
            f"backward of '{node.op.name}' made a non-finite gradient for its input {k} (inputs of {shapes}; "
            f"upstream gradient finite); the node was created at {site}"
        )
