"""Learning-rate schedules: lower each parameter group's step size as training goes on.

Each schedule is a closed form lr_t = f(lr_0, t) of the group's initial lr (lr_0) and the number t
of `step()` calls so far; call `scheduler.step()` once per epoch, after `optimizer.step()`. Being
closed forms, they set the lr outright: a change made by hand to a group's lr is overwritten at the
next step, and two schedulers on one optimizer do not compose (the last to step wins). To run one
schedule after another (a warmup, then a decay), give them to `SequentialLR`. One is not a closed form:
`ReduceLROnPlateau` lowers the lr when a metric it is given stops improving.

>>> w = Value(1.0)
>>> opt = tg.optim.SGD([w], lr=1.0)
>>> scheduler = tg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for epoch in range(5):
...     lrs.append(scheduler.get_last_lr()[0]); opt.step(); scheduler.step()
>>> lrs
[1.0, 1.0, 0.5, 0.5, 0.25]
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from . import Optimizer, _as_list

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "InverseTimeLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


class LRScheduler:
    """The base of every schedule: lr_t = lr_at(lr_0, t) for each group (constant here: lr_t = lr_0).

    It records each group's initial lr in the group as "initial_lr" (as PyTorch does; an existing
    one is kept) and sets the groups' lr to lr_at(lr_0, 0). Subclasses override `lr_at`, and set
    their own attributes before calling this constructor (it already evaluates lr_at).
    """

    optimizer: Optimizer
    base_lrs: list[float]
    last_epoch: int

    def __init__(self, optimizer: Optimizer) -> None:
        """Remember each group's initial lr and set the lrs for epoch 0."""
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: optimizer must be an Optimizer, got a {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr: list[float] = []
        self._set_lrs()

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The step size after `epoch` scheduler steps for a group whose initial lr is `base_lr`."""
        return base_lr

    def lrs_at(self, epoch: int) -> list[float]:
        """Every group's step size after `epoch` scheduler steps (lr_at of each group's initial lr)."""
        return [self.lr_at(base_lr, epoch) for base_lr in self.base_lrs]

    def step(self) -> None:
        """Advance one epoch and set every group's lr from the schedule."""
        self.last_epoch += 1
        self._set_lrs()

    def get_last_lr(self) -> list[float]:
        """The lr this scheduler last set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Its attributes but the optimizer, as PyTorch saves a scheduler: `last_epoch`, `base_lrs`, `_last_lr`
        and the schedule's settings (SequentialLR's schedulers as their state dicts; LambdaLR's functions left
        out).

        >>> opt = tg.optim.SGD([Value(0.0)], lr=1.0)
        >>> s = tg.optim.lr_scheduler.StepLR(opt, step_size=2); s.step(); s.step()
        >>> s.state_dict()
        {'step_size': 2, 'gamma': 0.1, 'base_lrs': [1.0], 'last_epoch': 2, '_last_lr': [0.1]}
        """
        state: dict[str, Any] = {}
        for key, value in vars(self).items():
            if key == "schedulers":
                state[key] = [scheduler.state_dict() for scheduler in value]
            elif key not in ("optimizer", "lr_lambdas"):  # functions cannot be saved (PyTorch skips them too)
                state[key] = list(value) if isinstance(value, list) else value
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what `state_dict` gave, then set the optimizer's lrs for the restored epoch.

        Numbers may come as arrays and lists as dicts by index (as `tg.load(path, into=scheduler)` reads them).
        """
        name = type(self).__name__
        own = vars(self)
        unknown = [k for k in state_dict if k not in own or k in ("optimizer", "lr_lambdas")]
        if unknown:
            raise ValueError(f"{name}.load_state_dict: the state has keys this scheduler does not: {unknown}")
        for key, value in state_dict.items():
            if key == "schedulers":
                saved, schedulers = _as_list(value), own["schedulers"]
                if len(saved) != len(schedulers):
                    raise ValueError(f"{name}.load_state_dict: the state has {len(saved)} schedulers, "
                                     f"this one {len(schedulers)}")
                for scheduler, sub in zip(schedulers, saved):
                    scheduler.load_state_dict(sub)
            else:
                setattr(self, key, _like(value, own[key]))
        self._set_lrs()

    def _set_lrs(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.base_lrs):
            raise RuntimeError(
                f"{type(self).__name__}: the optimizer has {len(groups)} parameter groups but the scheduler was "
                f"made for {len(self.base_lrs)}; create the scheduler after adding every group"
            )
        self._last_lr = self.lrs_at(self.last_epoch)
        for group, lr in zip(groups, self._last_lr):
            group["lr"] = lr

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"


class StepLR(LRScheduler):
    """lr_t = lr_0 * gamma ** (t // step_size): multiply the lr by gamma every step_size epochs.

    >>> opt = tg.optim.SGD([Value(0.0)], lr=0.1)
    >>> s = tg.optim.lr_scheduler.StepLR(opt, step_size=10)
    >>> [s.lr_at(1.0, t) for t in (0, 9, 10, 25)]
    [1.0, 1.0, 0.1, 0.010000000000000002]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        """Decay by `gamma` every `step_size` epochs."""
        self.step_size = _positive_int(type(self).__name__, "step_size", step_size)
        self.gamma = _positive(type(self).__name__, "gamma", gamma)
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """lr_0 * gamma ** (t // step_size)."""
        return base_lr * self.gamma ** (epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """lr_t = lr_0 * gamma ** (the number of milestones <= t): multiply the lr by gamma at each milestone.

    >>> opt = tg.optim.SGD([Value(0.0)], lr=0.1)
    >>> s = tg.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 5], gamma=0.5)
    >>> [s.lr_at(1.0, t) for t in range(7)]
    [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1) -> None:
        """Decay by `gamma` at each epoch in `milestones` (a milestone given twice decays twice, as in PyTorch)."""
        name = type(self).__name__
        self.milestones = sorted(_positive_int(name, "milestone", m) for m in milestones)
        self.gamma = _positive(name, "gamma", gamma)
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """lr_0 * gamma ** (milestones passed)."""
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class ExponentialLR(LRScheduler):
    """lr_t = lr_0 * gamma ** t: multiply the lr by gamma every epoch.

    >>> opt = tg.optim.SGD([Value(0.0)], lr=0.1)
    >>> [tg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5).lr_at(1.0, t) for t in range(4)]
    [1.0, 0.5, 0.25, 0.125]
    """

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        """Decay by `gamma` every epoch."""
        self.gamma = _positive(type(self).__name__, "gamma", gamma)
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """lr_0 * gamma ** t."""
        return base_lr * self.gamma**epoch


class InverseTimeLR(LRScheduler):
    """lr_t = lr_0 / (1 + decay_rate * t / decay_steps): the 1/t decay of stochastic approximation.

    >>> opt = tg.optim.SGD([Value(0.0)], lr=0.1)
    >>> s = tg.optim.lr_scheduler.InverseTimeLR(opt, decay_rate=1.0)
    >>> [s.lr_at(1.0, t) for t in range(4)]
    [1.0, 0.5, 0.3333333333333333, 0.25]
    """

    def __init__(self, optimizer: Optimizer, decay_rate: float, decay_steps: float = 1) -> None:
        """Divide the initial lr by 1 + decay_rate * t / decay_steps."""
        name = type(self).__name__
        self.decay_rate = _nonnegative(name, "decay_rate", decay_rate)
        self.decay_steps = _positive(name, "decay_steps", decay_steps)
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """lr_0 / (1 + decay_rate * t / decay_steps)."""
        return base_lr / (1 + self.decay_rate * epoch / self.decay_steps)


class CosineAnnealingLR(LRScheduler):
    """lr_t = eta_min + (lr_0 - eta_min) * (1 + cos(pi * t / T_max)) / 2 for t <= T_max, then eta_min.

    Up to T_max this is PyTorch's closed form. Past T_max it stays at eta_min (as optax's and Keras's
    cosine decay do), where PyTorch's keeps following the cosine back up towards lr_0.

    >>> opt = tg.optim.SGD([Value(0.0)], lr=0.1)
    >>> s = tg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
    >>> [round(s.lr_at(1.0, t), 6) for t in (0, 2, 4, 5, 100)]
    [1.0, 0.55, 0.1, 0.1, 0.1]
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803 (PyTorch's name)
        """Anneal from the initial lr to `eta_min` over `T_max` epochs along half a cosine."""
        self.T_max = _positive_int(type(self).__name__, "T_max", T_max)
        self.eta_min = _nonnegative(type(self).__name__, "eta_min", eta_min)
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """eta_min + (lr_0 - eta_min) * (1 + cos(pi * min(t, T_max) / T_max)) / 2."""
        t = min(epoch, self.T_max)
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class LinearLR(LRScheduler):
    """lr_t = lr_0 * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters).

    The factor moves in a straight line from start_factor to end_factor over total_iters epochs, then
    stays: with a small start_factor, a linear warmup (PyTorch's closed form and defaults).

    >>> opt = tg.optim.SGD([Value(0.0)], lr=0.1)
    >>> s = tg.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> [s.lr_at(1.0, t) for t in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        """Scale the initial lr by a factor going linearly from start_factor to end_factor."""
        name = type(self).__name__
        self.start_factor = _real(name, "start_factor", start_factor)
        self.end_factor = _real(name, "end_factor", end_factor)
        if not 0 < self.start_factor <= 1:
            raise ValueError(f"{name}: start_factor must be in (0, 1], got {start_factor!r}")
        if not 0 <= self.end_factor <= 1:
            raise ValueError(f"{name}: end_factor must be in [0, 1], got {end_factor!r}")
        self.total_iters = _positive_int(name, "total_iters", total_iters)
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """lr_0 * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)."""
        fraction = min(self.total_iters, epoch) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * fraction)


class LambdaLR(LRScheduler):
    """lr_t = lr_0 * lr_lambda(t): any schedule, as a function of the epoch (one per group, or one for all).

    >>> opt = tg.optim.SGD([Value(0.0)], lr=0.1)
    >>> s = tg.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 ** t)
    >>> [s.lr_at(1.0, t) for t in range(3)]
    [1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]]) -> None:
        """Multiply each group's initial lr by lr_lambda(t) (a list: one function per group)."""
        name = type(self).__name__
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(
                    f"{name}: expected {groups} lr_lambdas (one per parameter group), got {len(lr_lambda)}"
                )
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups  # type: ignore[list-item]
        for f in self.lr_lambdas:
            if not callable(f):
                raise TypeError(f"{name}: lr_lambda must be a function of the epoch, got {f!r}")
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """lr_0 * lr_lambda(t), with the first group's lr_lambda."""
        return base_lr * self.lr_lambdas[0](epoch)

    def lrs_at(self, epoch: int) -> list[float]:
        """Every group's lr_0 * lr_lambda(t), each with its own lr_lambda."""
        return [base_lr * f(epoch) for base_lr, f in zip(self.base_lrs, self.lr_lambdas)]


class SequentialLR(LRScheduler):
    """The schedulers one after another: schedulers[i] from epoch milestones[i - 1], counting its epochs
    from 0 there. The warmup recipe: SequentialLR(opt, [LinearLR(opt, 0.01, total_iters=w),
    CosineAnnealingLR(opt, T_max=n - w)], milestones=[w]).

    >>> opt = tg.optim.SGD([Value(0.0)], lr=1.0)
    >>> warmup = tg.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = tg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> s = tg.optim.lr_scheduler.SequentialLR(opt, [warmup, decay], milestones=[2])
    >>> [s.lrs_at(t)[0] for t in range(5)]
    [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int]) -> None:
        """Follow schedulers[0] until epoch milestones[0], then schedulers[1], and so on."""
        name = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(f"{name} expects at least one scheduler, got none")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"{name}: scheduler {i} is a {type(scheduler).__name__}, not an LRScheduler")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{name} expects all schedulers to belong to the same optimizer, but scheduler {i} "
                                 f"({type(scheduler).__name__}) has another one")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{name} expects one milestone fewer than schedulers, got {len(schedulers)} schedulers "
                             f"and {len(milestones)} milestones")
        self.milestones = [_positive_int(name, "milestone", m) for m in milestones]
        if self.milestones != sorted(self.milestones):
            raise ValueError(f"{name}: milestones must be increasing, got {list(milestones)}")
        self.schedulers = list(schedulers)
        super().__init__(optimizer)

    def lrs_at(self, epoch: int) -> list[float]:
        """The lrs of the scheduler in charge at `epoch`, at its own count of epochs since it took over."""
        i = bisect.bisect_right(self.milestones, epoch)
        start = self.milestones[i - 1] if i else 0
        return self.schedulers[i].lrs_at(epoch - start)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """lr_at of the scheduler in charge at `epoch`."""
        i = bisect.bisect_right(self.milestones, epoch)
        return self.schedulers[i].lr_at(base_lr, epoch - (self.milestones[i - 1] if i else 0))


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by `factor` when a metric has not improved for more than `patience` epochs: call
    `scheduler.step(val_loss)` once per epoch (mode "min"; "max" for an accuracy). PyTorch's rule: an
    epoch improves when the metric beats the best so far by `threshold` (relative, or absolute with
    threshold_mode "abs"); after a reduction, `cooldown` epochs pass before bad epochs count again; the
    lr never goes below `min_lr` (one per group, or one for all), and a change under `eps` is skipped.
    Not a closed form of the epoch: it keeps the best metric and the count of bad epochs (saved by
    `state_dict`).

    >>> opt = tg.optim.SGD([Value(0.0)], lr=1.0)
    >>> s = tg.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0]:
    ...     s.step(loss)
    >>> s.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | Sequence[float] = 0.0, eps: float = 1e-8) -> None:
        """Watch a metric to minimise (mode "min") or maximise ("max"); reduce the lr by factor on a plateau."""
        name = type(self).__name__
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.factor = _positive(name, "factor", factor)
        if self.factor >= 1.0:
            raise ValueError(f"{name}: factor must be below 1.0 (it lowers the lr), got {factor!r}")
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        lows = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * groups
        if len(lows) != groups:
            raise ValueError(f"{name}: expected {groups} min_lrs (one per parameter group), got {len(lows)}")
        self.min_lrs = [_nonnegative(name, "min_lr", m) for m in lows]
        self.mode, self.threshold_mode = mode, threshold_mode
        self.threshold = _nonnegative(name, "threshold", threshold)
        self.patience = _count(name, "patience", patience)
        self.cooldown = _count(name, "cooldown", cooldown)
        self.eps = _nonnegative(name, "eps", eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        super().__init__(optimizer)

    def lrs_at(self, epoch: int) -> list[float]:
        """The lrs the reductions so far have set (at the start, the groups' own), whatever the epoch:
        what `load_state_dict` gives back to the groups."""
        return list(self._last_lr) or [group["lr"] for group in self.optimizer.param_groups]

    def step(self, metrics: Any = None) -> None:  # type: ignore[override]
        """One epoch's metric (a number or a one-element tensor): reduce the lr if it has plateaued."""
        if metrics is None:
            raise TypeError(f"{type(self).__name__}.step needs the metric it watches: scheduler.step(val_loss)")
        current = float(metrics)
        self.last_epoch += 1
        if self._improves(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in a cooldown are not counted
        if self.num_bad_epochs > self.patience:
            for group, low in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(group["lr"] * self.factor, low)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _improves(self, current: float) -> bool:
        """PyTorch's test, word for word (so a relative threshold scales the best value, sign and all)."""
        if self.threshold_mode == "rel":
            if self.mode == "min":
                return current < self.best * (1 - self.threshold)
            return current > self.best * (1 + self.threshold)
        return current < self.best - self.threshold if self.mode == "min" else current > self.best + self.threshold


# --------------------------------------------------------------------------- argument checks


def _like(value: Any, template: Any) -> Any:
    """A saved attribute as the type this scheduler holds (a file gives numbers back as arrays)."""
    if isinstance(value, Mapping):
        value = _as_list(value)
    if isinstance(value, np.ndarray | np.generic):
        value = value.item() if np.ndim(value) == 0 else value.tolist()
    if isinstance(template, list):
        kind = type(template[0]) if template else float
        return [kind(v) for v in value]
    if isinstance(template, bool | int | float):
        return type(template)(value)
    return value



def _real(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: {key} must be a real number, got {value!r}")
    return float(value)


def _positive(name: str, key: str, value: Any) -> float:
    x = _real(name, key, value)
    if not (x > 0 and math.isfinite(x)):
        raise ValueError(f"{name}: invalid {key} {value!r} (must be > 0)")
    return x


def _nonnegative(name: str, key: str, value: Any) -> float:
    x = _real(name, key, value)
    if not (x >= 0 and math.isfinite(x)):
        raise ValueError(f"{name}: invalid {key} {value!r} (must be >= 0)")
    return x


def _count(name: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: {key} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name}: invalid {key} {value!r} (must be >= 0)")
    return int(value)


def _positive_int(name: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: {key} must be an integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name}: invalid {key} {value!r} (must be > 0)")
    return int(value)
