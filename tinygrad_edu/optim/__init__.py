"""Optimizers: update parameters (graph leaves) from the gradients that backward() left in `.grad`.

A parameter is a `Tensor` with requires_grad=True or a `Value` (or one frozen by requires_grad_(False),
which step() leaves alone). Updates work on the raw `.data` and `.grad` (floats or ndarrays), so they
record nothing in the graph: a Tensor's array is updated in place (its dtype kept), a Value's float is
rebound. The update rules are PyTorch's, step for step.
A Tensor's update makes no new array: its intermediate values go into one scratch array, shared by
all parameters and steps, and the optimizer's state arrays change in place (as PyTorch's do).

>>> w = Value(3.0)
>>> opt = tg.optim.SGD([w], lr=0.25)
>>> for _ in range(3):
...     opt.zero_grad(); (w * w).backward(); opt.step()   # w <- w - lr * 2w = w / 2
>>> w.data
0.375
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..checks import mark_modified
from ..device import array_module, device_of, is_array, to_host
from ..engine import Node, is_frozen, zero_grads
from . import foreach

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]

ParamGroup = dict[str, Any]


class Optimizer:
    """The base of every optimizer: parameter groups, per-parameter state, zero_grad and step.

    `params` is an iterable of parameters, or of dicts (parameter groups), each with "params" and
    any hyperparameters that differ from `defaults` for that group (as in PyTorch):
    `SGD([{"params": body}, {"params": head, "lr": 0.01}], lr=0.1)`.

    step() skips a parameter whose grad is None (as PyTorch does), and one frozen by requires_grad_(False).
    A Value always has a gradient (0.0 after zero_grad), so it is always stepped unless frozen: weight
    decay and momentum still move it.

    Every optimizer here takes PyTorch's keyword `foreach`: True runs its rule once on a group's
    parameters laid end to end (the same numbers, bit for bit, in a few array operations instead of a
    few per parameter: on a GPU, kernel launches); None, the default, does so on a GPU for many small
    parameters; False never (optim/foreach.py).

    >>> a, b = Value(1.0), Value(2.0)
    >>> opt = tg.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    >>> [group["lr"] for group in opt.param_groups]
    [0.1, 0.5]
    """

    param_groups: list[ParamGroup]
    state: dict[Node, dict[str, Any]]
    defaults: dict[str, Any]

    def __init__(self, params: Iterable[Node | ParamGroup], defaults: dict[str, Any]) -> None:
        """Check the parameters and hyperparameters, and build the groups (empty state)."""
        name = type(self).__name__
        if isinstance(params, (Node, dict)):
            raise TypeError(
                f"{name}: params must be an iterable of parameters or of dicts (parameter groups), "
                f"got a single {type(params).__name__}; wrap it in a list"
            )
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}
        self._scratch: dict[tuple[type, np.dtype], Any] = {}  # (array type, dtype) -> flat scratch array
        self._scratch_views: dict[tuple[type, np.dtype, tuple[int, ...]], Any] = {}  # ... and a shape -> view
        self._flat_groups: dict[int, foreach.FlatGroup] = {}  # the foreach step's state, by group index
        groups = list(params)
        if not groups:
            raise ValueError(f"{name} got an empty parameter list")
        if all(isinstance(g, dict) for g in groups):
            for group in groups:
                self.add_param_group(group)  # type: ignore[arg-type]
        elif any(isinstance(g, dict) for g in groups):
            raise TypeError(f"{name}: params mixes parameters and dicts (parameter groups); use one or the other")
        else:
            self.add_param_group({"params": groups})

    def add_param_group(self, param_group: ParamGroup) -> None:
        """Add a group of parameters; hyperparameters it does not give are taken from the defaults."""
        name = type(self).__name__
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{name}: a parameter group must be a dict with a 'params' entry, got {param_group!r}")
        params = param_group["params"]
        params = [params] if isinstance(params, Node) else list(params)
        index = len(self.param_groups)
        if not params:
            raise ValueError(f"{name} got an empty parameter list (in parameter group {index})")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        for i, p in enumerate(params):
            where = f"parameter {i}" + (f" of group {index}" if index else "")
            if not isinstance(p, Node):
                raise TypeError(f"{name}: {where} is a {type(p).__name__}, not a Tensor or Value")
            if not p.requires_grad and not is_frozen(p):
                raise ValueError(
                    f"{name}: {where} ({_describe(p)}) does not require grad; create it with requires_grad=True"
                )
            if p.op is not None:
                raise ValueError(
                    f"{name}: {where} ({_describe(p)}) is not a leaf (it was computed by '{p.op.name}'); "
                    "optimize the leaves it was computed from"
                )
            if id(p) in seen:
                raise ValueError(f"{name}: {where} ({_describe(p)}) appears more than once; pass each parameter once")
            seen.add(id(p))
        group = {**self.defaults, **param_group, "params": params}
        self._check_hyperparameters(group)
        self.param_groups.append(group)

    def _check_hyperparameters(self, group: ParamGroup) -> None:
        """Raise ValueError naming the optimizer and the value when a group's hyperparameter is bad."""
        for key in ("lr", "momentum", "dampening", "weight_decay", "eps", "alpha", "lr_decay",
                    "initial_accumulator_value"):
            if key in group:
                _check_nonnegative(type(self).__name__, key, group[key])
        if group.get("foreach") not in (None, True, False):
            raise TypeError(f"{type(self).__name__}: foreach must be None, True or False, got {group['foreach']!r}")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: None for a Tensor, 0.0 for a Value (their 'no gradient').

        With set_to_none=False a Tensor's gradient array is filled with zeros instead (PyTorch's option).
        """
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self) -> None:
        """Update every parameter that has a gradient from it (one optimization step)."""
        for index, group in enumerate(self.param_groups):
            if foreach.uses_foreach(group) and foreach.step_group(self, index, self._flat_groups):
                continue  # speed: the whole group at once (optim/foreach.py), on a GPU by default
            for p in group["params"]:
                g = self._grad(p) if p.requires_grad else None  # (a frozen one: requires_grad_(False))
                if g is not None:  # as in PyTorch: a parameter without a gradient is left alone
                    state = self.state.get(p)
                    if state is None:
                        state = self.state[p] = {}
                    self._update(p, g, group, state)

    def _update(self, p: Node, g: Any, group: ParamGroup, state: dict[str, Any]) -> None:
        """Apply this optimizer's rule to parameter p, with gradient g (a float or an ndarray)."""
        raise NotImplementedError

    def _scratch_like(self, x: Any) -> Any:
        """An array of x's shape and dtype (uninitialised) for an update's intermediate values: a view of
        one scratch array per array type and dtype, as large as the largest parameter, reused by every
        parameter and step. (A new temporary array per step would cost more than the arithmetic: the C
        library may give large freed blocks back to the system and page them in again the next step.)"""
        view = self._scratch_views.get((type(x), x.dtype, x.shape))
        if view is not None:
            return view
        key = (type(x), x.dtype)
        flat = self._scratch.get(key)
        if flat is None or flat.size < x.size:
            flat = self._scratch[key] = array_module(x).empty(x.size, dtype=x.dtype)
            self._scratch_views.clear()  # views of the smaller array it replaces
        view = self._scratch_views[key + (x.shape,)] = flat[:x.size].reshape(x.shape)
        return view

    # ---- saving and resuming
    def state_dict(self) -> dict[str, Any]:
        """A copy of what training needs to resume exactly, in PyTorch's layout.

        That is `{"state": {index: {name: value}}, "param_groups": [{hyperparameter: value, "params":
        [index, ...]}]}`, with the parameters numbered 0, 1, ... across the groups in order (the numbers
        stand for the parameters, which are not saved here).

        >>> w = Tensor([1.0, 2.0], requires_grad=True)
        >>> opt = tg.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> w.grad = np.array([1.0, 1.0]); opt.step()
        >>> opt.state_dict()
        {'state': {0: {'momentum_buffer': array([1., 1.])}},
         'param_groups': [{'lr': 0.1, 'momentum': 0.9, 'dampening': 0.0, 'nesterov': False, 'weight_decay': 0.0,
                           'params': [0]}]}
        """
        index = {id(p): i for i, p in enumerate(p for group in self.param_groups for p in group["params"])}
        groups = [  # (a hyperparameter left to its default None, foreach, is left out: a file holds numbers only)
            {**{k: _copy(v) for k, v in group.items() if k != "params" and v is not None},
             "params": [index[id(p)] for p in group["params"]]}
            for group in self.param_groups
        ]
        state = {index[id(p)]: {k: _copy(v) for k, v in s.items()} for p, s in self.state.items() if id(p) in index}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what `state_dict` gave (from this optimizer or one built the same way on other parameters).

        The groups must match in number and size; each saved hyperparameter replaces the group's, and each
        parameter's state is copied in its dtype (a Value's as floats). Everything is checked before anything
        changes. The state may also come as `tg.load` reads a file back (numbers as arrays, lists as dicts
        by index): `tg.load(path, into=optimizer)` calls this.
        """
        name = type(self).__name__
        if not isinstance(state_dict, Mapping) or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' "
                             f"(what state_dict() returns), got {_keys(state_dict)}")
        saved_groups = _as_list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(saved_groups)} parameter groups, "
                             f"the optimizer {len(self.param_groups)}")
        params: dict[int, Node] = {}
        groups = []
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            indices = [int(k) for k in np.atleast_1d(np.asarray(saved.get("params", []), dtype=np.int64))]
            if len(indices) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} of the state has {len(indices)} "
                                 f"parameters, the optimizer's has {len(group['params'])}")
            params.update(zip(indices, group["params"]))
            new = {k: _like(v, group.get(k)) for k, v in saved.items() if k != "params"}
            new = {**group, **new, "params": group["params"]}
            self._check_hyperparameters(new)
            groups.append(new)
        state: dict[Node, dict[str, Any]] = {}
        for key, entries in dict(state_dict.get("state", {})).items():
            p = params.get(int(key))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: the state has an entry for parameter {key}, "
                                 f"but the groups number {len(params)} parameters")
            state[p] = {k: _state_like(v, p, k, name) for k, v in entries.items()}
        self.param_groups, self.state = groups, state

    def _grad(self, p: Node) -> Any:
        """p's gradient as raw data in p's dtype (a float for a Value), or None when it has none."""
        g = p.grad
        if type(g) is np.ndarray and g.dtype is p.data.dtype and g.shape == p.data.shape:  # what backward leaves
            return g
        if g is None:
            return None
        if isinstance(g, Node):  # backward(create_graph=True) leaves graph nodes in .grad
            g = g.data
        if not p.shaped:
            return float(g)
        g = g.astype(p.data.dtype, copy=False) if is_array(g) else np.asarray(g, dtype=p.data.dtype)
        if g.shape != p.data.shape:
            raise ValueError(
                f"{type(self).__name__}: {_describe(p)} has shape {p.data.shape} but its grad has shape {g.shape}"
            )
        return g

    def __repr__(self) -> str:
        groups = ", ".join(
            "{" + ", ".join(f"{k}={v!r}" for k, v in g.items() if k != "params") + f", params={len(g['params'])}" + "}"
            for g in self.param_groups
        )
        return f"{type(self).__name__}([{groups}])"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 weight decay.

    PyTorch's rule (torch.optim.SGD): d = g + weight_decay * p; with momentum, b = d on the first
    step and b = momentum * b + (1 - dampening) * d after, then d = d + momentum * b (nesterov) or
    d = b; finally p = p - lr * d.

    >>> w = Tensor([1.0, -2.0], requires_grad=True)
    >>> opt = tg.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> w.grad = np.array([1.0, 1.0]); opt.step(); w.data      # b = g
    array([ 0.9, -2.1])
    >>> w.grad = np.array([1.0, 1.0]); opt.step(); w.data      # b = 0.9 b + g = 1.9
    array([ 0.71, -2.29])
    """

    def __init__(
        self,
        params: Iterable[Node | ParamGroup],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
    ) -> None:
        """SGD over `params` with step size `lr` (see the class docstring for the rule)."""
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay,
                        foreach=foreach)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: ParamGroup) -> None:
        super()._check_hyperparameters(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov momentum requires a momentum > 0 and zero dampening, "
                f"got momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _update(self, p: Node, g: Any, group: ParamGroup, state: dict[str, Any]) -> None:
        momentum, weight_decay, dampening = group["momentum"], group["weight_decay"], group["dampening"]
        if not p.shaped:  # a Value: the rule on floats
            d = g + weight_decay * p.data if weight_decay != 0 else g
            if momentum != 0:
                b = state.get("momentum_buffer")
                b = d if b is None else momentum * b + (1 - dampening) * d
                state["momentum_buffer"] = b
                d = d + momentum * b if group["nesterov"] else b
            _subtract(p, group["lr"] * d)
            return
        # the same rule on arrays, in place: d is g, or the scratch array s once it holds d
        s = self._scratch_like(p.data)
        d = g
        if weight_decay != 0:  # d = g + weight_decay * p
            np.multiply(p.data, weight_decay, out=s)
            d = np.add(s, g, out=s)
        if momentum != 0:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = d.copy()
            else:  # b = momentum * b + (1 - dampening) * d
                b *= momentum
                b += d if dampening == 0 else np.multiply(d, 1 - dampening, out=s)
            if group["nesterov"]:  # d = d + momentum * b (nesterov has no dampening: d is still whole)
                d = np.add(d, momentum * b, out=s) if d is s else np.add(np.multiply(b, momentum, out=s), d, out=s)
            else:
                d = b
        _subtract(p, np.multiply(d, group["lr"], out=s))


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with L2 weight decay added to the gradient, as torch.optim.Adam.

    At step t (from 1): `g = g + weight_decay * p`; `m = beta1 * m + (1 - beta1) * g`;
    `v = beta2 * v + (1 - beta2) * g**2`; `m_hat = m / (1 - beta1**t)`; `v_hat = v / (1 - beta2**t)`;
    `p = p - lr * m_hat / (sqrt(v_hat) + eps)`. (m and v start at zero.) With `amsgrad`, v_hat is
    made from the largest v so far instead of the current one (Reddi et al., 2018).

    >>> w = Value(1.0)
    >>> opt = tg.optim.Adam([w], lr=0.1)
    >>> w.grad = 5.0; opt.step(); round(w.data, 6)     # the first step moves by about lr, whatever |g|
    0.9
    """

    decoupled_weight_decay = False  # AdamW: weight decay shrinks p itself instead of entering g

    def __init__(
        self,
        params: Iterable[Node | ParamGroup],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
    ) -> None:
        """Adam over `params` (see the class docstring for the rule)."""
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, foreach=foreach)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: ParamGroup) -> None:
        super()._check_hyperparameters(group)
        name = type(self).__name__
        betas = group["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            _check_real(name, f"beta{i + 1}", beta)
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name}: invalid beta{i + 1} {beta!r} (must be in [0, 1))")

    def _update(self, p: Node, g: Any, group: ParamGroup, state: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        weight_decay = group["weight_decay"]
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                _scale(p, 1 - group["lr"] * weight_decay)
            else:
                g = g + weight_decay * p.data
        if not state:
            state["step"], state["exp_avg"], state["exp_avg_sq"] = 0, _zeros_like(p.data), _zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _zeros_like(p.data)
        state["step"] = t = state["step"] + 1
        # PyTorch's arrangement of m_hat / (sqrt(v_hat) + eps): the bias corrections are scalars
        step_size = group["lr"] / (1 - beta1**t)
        root = math.sqrt(1 - beta2**t)
        if not p.shaped:  # a Value: the rule on floats
            m = state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
            v = state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * (g * g)
            if group["amsgrad"]:
                v = state["max_exp_avg_sq"] = max(state["max_exp_avg_sq"], v)  # the largest v so far
            _subtract(p, m / (math.sqrt(v) / root + group["eps"]) * step_size)
            return
        # the same on arrays, in place: m, v and the scratch array s
        m, v, s = state["exp_avg"], state["exp_avg_sq"], self._scratch_like(p.data)
        m *= beta1  # m = beta1 * m + (1 - beta1) * g
        m += np.multiply(g, 1 - beta1, out=s)
        v *= beta2  # v = beta2 * v + (1 - beta2) * g²
        s = np.multiply(g, g, out=s)
        s *= 1 - beta2
        v += s
        if group["amsgrad"]:  # the largest v so far
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        s = np.sqrt(v, out=s)  # the step: m / (sqrt(v) / root + eps) * step_size
        s /= root
        s += group["eps"]
        s = np.divide(m, s, out=s)
        s *= step_size
        _subtract(p, s)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019), as torch.optim.AdamW.

    Each step first shrinks the parameter, `p = p - lr * weight_decay * p`, then takes Adam's step on
    the gradient alone (weight decay never enters m and v). Weight decay defaults to 0.01.

    >>> w = Value(1.0)
    >>> opt = tg.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = 5.0; opt.step(); round(w.data, 6)     # 1 * (1 - 0.1 * 0.5), then Adam's first step: - 0.1
    0.85
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Node | ParamGroup],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
    ) -> None:
        """AdamW over `params` (see the class docstring for the rule)."""
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         foreach=foreach)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), as torch.optim.RMSprop: each coordinate's step is divided by a
    running root mean square of its gradients.

    `g = g + weight_decay * p`; `v = alpha * v + (1 - alpha) * g**2`; with `centered`, also
    `a = alpha * a + (1 - alpha) * g` and `v_hat = v - a**2` (the running variance: Graves, 2013),
    else `v_hat = v`; `d = g / (sqrt(v_hat) + eps)`; with momentum, `b = momentum * b + d` and `d = b`;
    finally `p = p - lr * d`. (v, a and b start at zero; eps is added after the square root, as torch.)

    >>> w = Value(1.0)
    >>> opt = tg.optim.RMSprop([w], lr=0.01)
    >>> w.grad = 5.0; opt.step(); round(w.data, 6)     # v = 0.01 * 25: the first step is lr / sqrt(1 - alpha)
    0.9
    """

    def __init__(
        self,
        params: Iterable[Node | ParamGroup],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        foreach: bool | None = None,
    ) -> None:
        """RMSprop over `params` (see the class docstring for the rule)."""
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered,
                        foreach=foreach)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: ParamGroup) -> None:
        super()._check_hyperparameters(group)
        if group["alpha"] > 1:  # 1 - alpha < 0 would subtract g² from v, which could turn negative
            raise ValueError(f"RMSprop: invalid alpha {group['alpha']!r} (must be in [0, 1])")

    def _update(self, p: Node, g: Any, group: ParamGroup, state: dict[str, Any]) -> None:
        alpha, momentum, centered = group["alpha"], group["momentum"], group["centered"]
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p.data
        if not state:
            state["step"], state["square_avg"] = 0, _zeros_like(p.data)
            if momentum > 0:
                state["momentum_buffer"] = _zeros_like(p.data)
            if centered:
                state["grad_avg"] = _zeros_like(p.data)
        state["step"] += 1  # kept for torch's state layout: the rule does not use it
        if not p.shaped:  # a Value: the rule on floats
            v = state["square_avg"] = alpha * state["square_avg"] + (1 - alpha) * (g * g)
            if centered:
                a = state["grad_avg"] = alpha * state["grad_avg"] + (1 - alpha) * g
                v = v - a * a
            d = g / (math.sqrt(v) + group["eps"])
            if momentum > 0:
                d = state["momentum_buffer"] = momentum * state["momentum_buffer"] + d
            _subtract(p, group["lr"] * d)
            return
        # the same on arrays, in place: v (and a, b) and the scratch array s
        v, s = state["square_avg"], self._scratch_like(p.data)
        v *= alpha  # v = alpha * v + (1 - alpha) * g²
        s = np.multiply(g, g, out=s)
        s *= 1 - alpha
        v += s
        if centered:  # a = alpha * a + (1 - alpha) * g, then sqrt(v - a²)
            a = state["grad_avg"]
            a *= alpha
            a += np.multiply(g, 1 - alpha, out=s)
            s = np.multiply(a, a, out=s)
            s = np.subtract(v, s, out=s)
            s = np.sqrt(s, out=s)
        else:
            s = np.sqrt(v, out=s)
        s += group["eps"]
        s = np.divide(g, s, out=s)  # d = g / (sqrt(v_hat) + eps)
        if momentum > 0:  # b = momentum * b + d
            b = state["momentum_buffer"]
            b *= momentum
            b += s
            s = np.multiply(b, group["lr"], out=s)
        else:
            s *= group["lr"]
        _subtract(p, s)


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan and Singer, 2011), as torch.optim.Adagrad: each coordinate's step is divided
    by the root of the sum of all its squared gradients so far, so it shrinks as they pile up.

    At step t (from 1): `g = g + weight_decay * p`; `sum = sum + g**2`;
    `p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)`. The sum starts at
    `initial_accumulator_value`, and (as in torch) every parameter's state exists from the start.

    >>> w = Value(1.0)
    >>> opt = tg.optim.Adagrad([w], lr=0.1)
    >>> w.grad = 5.0; opt.step(); round(w.data, 6)     # sum = 25: the first step is lr, whatever |g|
    0.9
    """

    def __init__(
        self,
        params: Iterable[Node | ParamGroup],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        foreach: bool | None = None,
    ) -> None:
        """Adagrad over `params` (see the class docstring for the rule)."""
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, foreach=foreach)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: ParamGroup) -> None:
        """Add a group as the base does, and start its parameters' sums (torch's state exists from the start)."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p] = self._initial_state(p, group)

    @staticmethod
    def _initial_state(p: Node, group: ParamGroup) -> dict[str, Any]:
        return {"step": 0, "sum": _full_like(p.data, group["initial_accumulator_value"])}

    def _update(self, p: Node, g: Any, group: ParamGroup, state: dict[str, Any]) -> None:
        if not state:  # a parameter the loaded state had no entry for
            state.update(self._initial_state(p, group))
        state["step"] = t = state["step"] + 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p.data
        step_size = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        if not p.shaped:  # a Value: the rule on floats
            total = state["sum"] = state["sum"] + g * g
            _subtract(p, step_size * g / (math.sqrt(total) + group["eps"]))
            return
        # the same on arrays, in place: the sum and the scratch array s
        total, s = state["sum"], self._scratch_like(p.data)
        total += np.multiply(g, g, out=s)
        s = np.sqrt(total, out=s)  # the step: g / (sqrt(sum) + eps) * step_size
        s += group["eps"]
        s = np.divide(g, s, out=s)
        s *= step_size
        _subtract(p, s)


# --------------------------------------------------------------------------- helpers


def _subtract(p: Node, delta: Any) -> None:
    """p.data -= delta: in place for a Tensor (its dtype kept), a new float for a Value; recorded as an
    in-place change, so a retained graph that saved p refuses a later backward."""
    mark_modified(p, "optimizer step")
    if p.shaped:
        np.subtract(p.data, delta, out=p.data, casting="same_kind")
    else:
        p.data = float(p.data - delta)


def _scale(p: Node, factor: float) -> None:
    """p.data *= factor, in place as _subtract (AdamW's decoupled weight decay)."""
    mark_modified(p, "optimizer step")
    if p.shaped:
        np.multiply(p.data, factor, out=p.data, casting="same_kind")
    else:
        p.data = float(p.data * factor)


def _copy(x: Any) -> Any:
    return x.copy() if is_array(x) else x


def _as_list(groups: Any) -> list[Any]:
    """A list as state_dict() gives it, or as tg.load reads it back (a dict keyed by index)."""
    if isinstance(groups, Mapping):
        return [groups[k] for k in sorted(groups, key=int)]
    return list(groups)


def _like(value: Any, template: Any) -> Any:
    """A saved hyperparameter as the Python type the group holds (a file gives numbers back as arrays)."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.item() if np.ndim(value) == 0 else tuple(value.tolist())
    if isinstance(template, bool):
        return bool(value)
    if isinstance(template, int):
        return int(value)
    if isinstance(template, float):
        return float(value)
    if isinstance(template, tuple | list):
        return type(template)(value)
    return value


def _state_like(value: Any, p: Node, key: str, name: str) -> Any:
    """A saved per-parameter state entry as the optimizer keeps it: an int step count, a float for a
    Value, an array of the parameter's shape and dtype for a Tensor."""
    if key == "step":
        return int(np.asarray(value).item())
    if not p.shaped:
        return float(np.asarray(value).item())
    # asarray then a copy: np.array(x, dtype) would ask a torch tensor's __array__ for a `copy` it lacks
    array = np.asarray(to_host(value) if is_array(value) else value).astype(p.data.dtype)
    if array.shape != p.data.shape:
        raise ValueError(f"{name}.load_state_dict: the state's {key!r} has shape {array.shape}, "
                         f"but its parameter ({_describe(p)}) has shape {p.data.shape}")
    return array if type(p.data) is np.ndarray else device_of(p.data).to_device(array)  # where its parameter is


def _keys(x: Any) -> str:
    return f"keys {list(x)}" if isinstance(x, Mapping) else f"a {type(x).__name__}"


def _zeros_like(x: Any) -> Any:
    return np.zeros_like(x) if is_array(x) else 0.0


def _full_like(x: Any, value: float) -> Any:
    return np.full_like(x, value) if is_array(x) else float(value)


def _check_real(name: str, key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: {key} must be a real number, got {value!r}")


def _check_nonnegative(name: str, key: str, value: Any) -> None:
    _check_real(name, key, value)
    if not value >= 0:  # also refuses NaN
        raise ValueError(f"{name}: invalid {key} {value!r} (must be >= 0)")


def _describe(p: Any) -> str:
    label = getattr(p, "label", None)
    return f"{type(p).__name__} {label!r}" if label else type(p).__name__


# last: lr_scheduler imports Optimizer from here; importing it makes `optim.lr_scheduler` an attribute
from . import lr_scheduler as lr_scheduler  # noqa: E402
