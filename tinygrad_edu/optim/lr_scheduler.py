"""Learning-rate schedules: lower each parameter group's step size as training goes on.

Each schedule is a closed form lr_t = f(lr_0, t) of the group's initial lr (lr_0) and the number t
of `step()` calls so far; call `scheduler.step()` once per epoch, after `optimizer.step()`. Being
closed forms, they set the lr outright: a change made by hand to a group's lr is overwritten at the
next step, and two schedulers on one optimizer do not compose (the last to step wins).

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

import math
import numbers
from typing import Any

from . import Optimizer

__all__ = ["CosineAnnealingLR", "ExponentialLR", "InverseTimeLR", "LRScheduler", "StepLR"]


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

    def step(self) -> None:
        """Advance one epoch and set every group's lr from the schedule."""
        self.last_epoch += 1
        self._set_lrs()

    def get_last_lr(self) -> list[float]:
        """The lr this scheduler last set, one per parameter group."""
        return list(self._last_lr)

    def _set_lrs(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.base_lrs):
            raise RuntimeError(
                f"{type(self).__name__}: the optimizer has {len(groups)} parameter groups but the scheduler was "
                f"made for {len(self.base_lrs)}; create the scheduler after adding every group"
            )
        self._last_lr = [self.lr_at(base_lr, self.last_epoch) for base_lr in self.base_lrs]
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


# --------------------------------------------------------------------------- argument checks


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


def _positive_int(name: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: {key} must be an integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name}: invalid {key} {value!r} (must be > 0)")
    return int(value)
