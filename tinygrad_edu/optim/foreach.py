"""The foreach step (PyTorch's `foreach=True`): an optimizer's rule run once on all of a group's parameters.

On a GPU every array operation is a kernel launch, 15-30 µs of the CPU's time whatever the size, and an
optimizer's rule is about ten of them per parameter: AdamW on the char GPT's 54 parameters launches over
700 kernels a step, more than its forward and backward together. PyTorch's foreach kernels apply one
operation to every tensor of a group at once. CuPy has no such kernels, so here a group's parameters,
gradients and state are each laid end to end in one flat array, the optimizer's own rule (its `_update`)
runs once on those, and each parameter copies its new values back: about fifteen launches for the group
and one per parameter. Element by element it is the same arithmetic, so the numbers are the same as
the per-parameter step's, bit for bit.

The state keeps PyTorch's layout: each parameter's entries are views into the group's flat state
arrays, so state_dict, load_state_dict and a per-parameter step read and change the same numbers. When
they no longer are (a loaded state, a per-parameter step in between), the flat arrays are made again from
the entries. The parameters stepped together are those with a gradient (as PyTorch's foreach); a group
that does not fit (parameters of different dtypes or devices, or with states of different step counts,
a Value) is stepped per parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..checks import mark_modified
from ..device import array_module, is_array, launch_bound
from ..engine import Node
from ..tensor import Tensor

if TYPE_CHECKING:
    from . import Optimizer, ParamGroup


@dataclass
class FlatGroup:
    """A group's state laid end to end: `state` is what the rule sees (flat arrays, and the counts all the
    parameters share); `views[name][i]` is parameter i's part of the flat array `state[name]`."""

    params: tuple[Node, ...]
    state: dict[str, Any] = field(default_factory=dict)
    views: dict[str, list[Any]] = field(default_factory=dict)
    bases: dict[str, Any] = field(default_factory=dict)  # name -> the flat array its views are of


def uses_foreach(group: ParamGroup) -> bool:
    """Whether the group asks for the foreach step: `foreach` True, or None (the default) for parameters
    on a device other than the CPU (PyTorch's default is CUDA) that are small on average: the grouped step
    copies every parameter and gradient (into the flat arrays, and back), passes that cost GPU time, to
    save launches that cost CPU time (see device.launch_bound).

    Only an optimizer with `foreach` among its hyperparameters takes part: its rule must treat every
    element on its own, as these optimizers' do. (A rule that looks at a parameter's shape or norm, as
    LARS does, would see the whole group's instead; a subclass without `foreach` is never grouped.)"""
    if "foreach" not in group:
        return False
    foreach = group["foreach"]
    if foreach is None:
        params = group["params"]
        return type(params[0].data) is not np.ndarray and launch_bound([p.data for p in params])  # (speed: the CPU's first)
    return bool(foreach)


def step_group(optimizer: Optimizer, index: int, flats: dict[int, FlatGroup]) -> bool:
    """One foreach step of the parameters of group `index` that have a gradient (a frozen one, or one
    without a gradient, is left alone, as the per-parameter step leaves it); False (nothing changed) when
    they do not fit it. `flats` keeps each group's flat state, one per group."""
    group = optimizer.param_groups[index]
    first = group["params"][0].data
    kind = type(first)
    params, grads = [], []
    for p in group["params"]:
        if not (p.shaped and type(p.data) is kind and p.data.dtype == first.dtype):
            return False
        g = optimizer._grad(p) if p.requires_grad else None
        if g is None:
            continue
        if type(g) is not kind:
            return False
        params.append(p)
        grads.append(g)
    if not params:
        return True  # (nothing to step)
    flat = flats.get(index)
    if flat is None or list(map(id, flat.params)) != list(map(id, params)) or not _current(flat, optimizer.state):
        flat = _gathered(params, optimizer.state)
        if flat is None:
            return False
        flats[index] = flat
    xp = array_module(first)
    stand_in = Tensor.constant(xp.concatenate([p.data.ravel() for p in params]))
    optimizer._update(stand_in, xp.concatenate([g.ravel() for g in grads]), group, flat.state)
    start = 0
    for p in params:  # the new values back into each parameter's own array
        end = start + p.data.size
        mark_modified(p, "optimizer step")
        p.data[...] = stand_in.data[start:end].reshape(p.data.shape)
        start = end
    _share(flat, optimizer.state)
    return True


def _current(flat: FlatGroup, state: dict[Node, dict[str, Any]]) -> bool:
    """Whether every parameter's state entries are still the flat state's views and counts."""
    for i, p in enumerate(flat.params):
        entries = state.get(p)
        if entries is None or entries.keys() != flat.state.keys():
            return False
        for name, value in flat.state.items():
            views = flat.views.get(name)
            if not (entries[name] is views[i] if views is not None else entries[name] == value):
                return False
    return True


def _gathered(params: list[Node], state: dict[Node, dict[str, Any]]) -> FlatGroup | None:
    """The group's flat state made from its parameters' entries (none yet: an empty one, which the rule
    fills on its first step); None when the entries differ in their names or counts."""
    entries = [state.get(p) or {} for p in params]
    flat = FlatGroup(tuple(params))
    if not any(entries):
        return flat
    names = entries[0].keys()
    if any(e.keys() != names for e in entries):
        return None
    xp = array_module(params[0].data)
    for name in names:
        values = [e[name] for e in entries]
        if is_array(values[0]):
            if any(not is_array(v) or v.shape != p.data.shape for v, p in zip(values, params)):
                return None
            flat.state[name] = xp.concatenate([v.ravel() for v in values])
        elif any(v != values[0] for v in values):  # (step counts: the parameters have not stepped together)
            return None
        else:
            flat.state[name] = values[0]
    _share(flat, state)
    return flat


def _share(flat: FlatGroup, state: dict[Node, dict[str, Any]]) -> None:
    """Each parameter's state entries: views of the flat arrays (made again where the rule made a new
    one, as SGD's first momentum step does), and the counts."""
    for name, value in flat.state.items():
        if is_array(value) and flat.bases.get(name) is not value:
            views, start = [], 0
            for p in flat.params:
                views.append(value[start:start + p.data.size].reshape(p.data.shape))
                start += p.data.size
            flat.views[name], flat.bases[name] = views, value
    for i, p in enumerate(flat.params):
        entries = state.setdefault(p, {})
        for name, value in flat.state.items():
            entries[name] = flat.views[name][i] if name in flat.views else value
