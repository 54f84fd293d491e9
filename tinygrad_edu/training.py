"""Training helpers: the usual loop (`fit`) and the best of several random restarts (`best_of_restarts`).

Both show a progress bar (tqdm's: a widget in Jupyter, a text bar on a terminal's stderr):
`progress=None`, the default, shows it for a run that is still going after a second, in a notebook or
on a terminal (not in a log file); `True` always, `False` never.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TextIO, TypeVar

import numpy as np

from .data import _generator, _rows, batches
from .device import copy_to
from .engine import Node
from .optim import Optimizer
from .optim.lr_scheduler import ReduceLROnPlateau
from .tensor import Tensor

__all__ = ["Restarts", "best_of_restarts", "fit"]

M = TypeVar("M")
PROGRESS_DELAY = 1.0  # seconds before an automatic progress bar appears: short runs show none
PROGRESS_INTERVAL = 0.1  # seconds between redraws (the last one is always drawn)


class SupportsStep(Protocol):
    """Anything with a step() method, such as a learning-rate schedule."""

    def step(self) -> None: ...


# --------------------------------------------------------------------------- fit


def fit(
    model: Callable[[Tensor], Any],
    loss_fn: Callable[[Any, Tensor], Node],
    optimizer: Optimizer,
    X: Any,
    Y: Any,
    epochs: int = 1,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = 0,
    scheduler: SupportsStep | None = None,
    scheduler_step: str = "epoch",
    progress: bool | None = None,
    callback: Callable[[int, float], Any] | None = None,
) -> list[float]:
    """Train `model` on (X, Y) for `epochs` passes; returns each epoch's mean loss (before its updates).

    Each minibatch (all rows at once when `batch_size` is None) does: optimizer.zero_grad(),
    loss = loss_fn(model(xb), yb), loss.backward(), optimizer.step(). The epoch's loss is the mean of its
    batches' losses weighted by their sizes. With `shuffle`, minibatches are drawn in an order that
    `seed` makes reproducible (a new order each epoch; a full batch is used as it is).
    When the optimizer's parameters are all on one device other than the CPU (a model moved with
    `.to("cuda")`), X and Y are copied there once, at the start, and the batches are cut there.
    `scheduler.step()` is called after every epoch (`scheduler_step="epoch"`) or every optimizer step
    ("batch"); a `ReduceLROnPlateau` is given each epoch's mean loss (`scheduler.step(loss)`). Float data
    is taken in the parameters' dtype, as a layer takes NumPy arrays. `callback(epoch, loss)` is called
    after each epoch (epoch counts from 0); if it returns True, training stops there. A loss that is NaN or infinite raises FloatingPointError before it
    reaches the parameters.

    >>> from tinygrad_edu.training import fit
    >>> from tinygrad_edu.nn import Linear, mse_loss
    >>> from tinygrad_edu.optim import SGD
    >>> X = np.linspace(-1, 1, 20)[:, None]; Y = 3 * X + 1
    >>> model = Linear(1, 1, rng=0)
    >>> history = fit(model, mse_loss, SGD(model.parameters(), lr=0.5), X, Y, epochs=100)
    >>> len(history), history[-1] < 1e-6 < history[0], model.weight.data.round(4).tolist()
    (100, True, [[3.0]])
    """
    n_epochs = _count(epochs, "fit", "epochs")
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"fit: scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
    if Y is None:
        raise TypeError("fit: Y (the targets) is required; loss_fn is called as loss_fn(model(xb), yb)")
    X, Y = _as_the_parameters_are(X, Y, optimizer)
    if batch_size is None:  # full batch: the same two tensors every epoch, so they are built once
        full = list(batches(X, Y, batch_size=max(_num_rows(X), 1)))
        epoch_batches: Callable[[], Any] = lambda: full  # noqa: E731
    else:
        batches(X, Y, batch_size)  # check the data and batch_size now, not at the first epoch
        generator = _generator(seed, "fit") if shuffle else None  # one generator: a new order each epoch
        epoch_batches = lambda: batches(X, Y, batch_size, shuffle=shuffle, seed=generator)  # noqa: E731
    history: list[float] = []
    bar = _Progress("epoch", n_epochs, progress)
    try:
        for epoch in range(n_epochs):
            total, seen = 0.0, 0
            for b, (xb, yb) in enumerate(epoch_batches()):
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                value = _loss_value(loss, "fit", "loss_fn")
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"fit: the loss is {value} at epoch {epoch + 1}/{n_epochs} (batch {b + 1}); stopped before "
                        "updating the parameters with it (a smaller learning rate often helps)"
                    )
                loss.backward()
                optimizer.step()
                if scheduler is not None and scheduler_step == "batch" and not isinstance(scheduler, ReduceLROnPlateau):
                    scheduler.step()
                total, seen = total + value * len(xb), seen + len(xb)
            if seen == 0:
                raise ValueError("fit: X has no rows: there is no minibatch to train on")
            history.append(total / seen)
            if isinstance(scheduler, ReduceLROnPlateau):  # it watches a metric: the epoch's loss
                scheduler.step(history[-1])
            elif scheduler is not None and scheduler_step == "epoch":
                scheduler.step()
            bar.update(epoch + 1, f"loss {history[-1]:.4g}")
            if callback is not None and callback(epoch, history[-1]) is True:
                break
    finally:
        bar.close()
    return history


def _as_the_parameters_are(X: Any, Y: Any, optimizer: Optimizer) -> tuple[Any, Any]:
    """X and Y as the optimizer's parameters are: float data in their float dtype, when they share one (as
    a layer takes NumPy arrays in its own: a float32 model gets float32 batches, not float64 ones it
    would refuse), and copied to their device when that is one device other than the CPU (a model split
    across devices moves data in its forward)."""
    params = [p for group in optimizer.param_groups for p in group["params"] if isinstance(p, Tensor)]
    dtypes = {p.dtype for p in params if p.dtype.kind == "f"}
    if len(dtypes) == 1:
        dtype = dtypes.pop()
        X, Y = _in_dtype(X, dtype, "X"), _in_dtype(Y, dtype, "Y")
    devices = {p.device for p in params}
    if len(devices) != 1 or (device := devices.pop()) == "cpu":
        return X, Y
    return (Tensor.constant(copy_to(_rows(X, "X", features=True), device)),
            Tensor.constant(copy_to(_rows(Y, "Y", features=False), device)))


def _in_dtype(data: Any, dtype: np.dtype, name: str) -> Any:
    """Float data (an array, a Tensor, a list of numbers) in `dtype`; other data (labels) as it is."""
    array = _rows(data, name, features=name == "X")
    if array.dtype.kind != "f" or array.dtype == dtype:
        return data
    return Tensor.constant(array.astype(dtype)) if isinstance(data, Tensor) else array.astype(dtype)


def _num_rows(X: Any) -> int:
    """len(X), or 1 for something without a length (batches() then says what is wrong with it)."""
    try:
        return len(X)
    except TypeError:
        return 1


# --------------------------------------------------------------------------- restarts


@dataclass
class Restarts(Generic[M]):
    """The outcome of `best_of_restarts`: the best model, its final loss, its restart index, and every
    restart's final loss (NaN for one that diverged)."""

    model: M
    loss: float
    index: int
    losses: list[float] = field(default_factory=list)


def best_of_restarts(
    n: int,
    make_model: Callable[[int], M],
    train: Callable[[M], Any],
    progress: bool | None = None,
) -> Restarts[M]:
    """Train n models from different starts and keep the one with the lowest final loss.

    Restart i builds `model = make_model(i)` (use i as the seed) and calls `train(model)`, which returns
    the final loss (a number) or the loss history (a list: its last value counts). A run that ends in
    NaN or infinity, or raises FloatingPointError (as `fit` does when the loss blows up), records NaN
    and never wins; ties go to the earlier restart. Only the best model is kept. This is the simplest
    defence against the local minima a small network can get stuck in.

    >>> from tinygrad_edu.training import best_of_restarts
    >>> result = best_of_restarts(3, make_model=lambda i: i, train=lambda m: [9.0, (m - 1.0) ** 2])
    >>> result.index, result.loss, result.losses
    (1, 0.0, [1.0, 0.0, 1.0])
    """
    count = _count(n, "best_of_restarts", "n")
    if count < 1:
        raise ValueError(f"best_of_restarts: n must be at least 1, got {n!r}")
    best: Restarts[M] | None = None
    losses: list[float] = []
    bar = _Progress("restart", count, progress)
    try:
        for i in range(count):
            model = make_model(i)
            try:
                final = _final_loss(train(model))
            except FloatingPointError:
                final = math.nan
            losses.append(final)
            if math.isfinite(final) and (best is None or final < best.loss):
                best = Restarts(model, final, i)
            del model  # only the best model stays alive
            shown = f"best loss {best.loss:.4g} (restart {best.index})" if best else "no finite loss yet"
            bar.update(i + 1, shown)
    finally:
        bar.close()
    if best is None:
        raise FloatingPointError(f"best_of_restarts: none of the {count} restarts ended with a finite loss: {losses}")
    best.losses = losses
    return best


def _final_loss(result: Any) -> float:
    """The final loss from what `train` returned: a number, a one-element Tensor or Value, or a history."""
    is_history = isinstance(result, Sequence) and not isinstance(result, (str, bytes))
    if is_history or (isinstance(result, np.ndarray) and result.ndim > 0):
        if len(result) == 0:
            raise ValueError("best_of_restarts: train returned an empty loss history")
        result = result[-1]
    if isinstance(result, Node):
        return _loss_value(result, "best_of_restarts", "train")
    try:
        return float(result)
    except (TypeError, ValueError):
        raise TypeError(
            f"best_of_restarts: train must return the final loss (a number) or a list of losses, got {result!r}"
        ) from None


def _loss_value(loss: Any, where: str, who: str) -> float:
    """The loss as a float: it must be a Tensor with one element or a Value."""
    if not isinstance(loss, Node):
        raise TypeError(f"{where}: {who} must return a Tensor or Value (the loss), got a {type(loss).__name__}")
    if isinstance(loss, Tensor) and loss.size != 1:
        raise ValueError(f"{where}: {who} must return a single number, got a Tensor of shape {loss.shape}")
    return float(loss.data.item() if isinstance(loss, Tensor) else loss.data)


def _count(value: Any, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: {name} must be an int, got {value!r}")
    if value < 0:
        raise ValueError(f"{where}: {name} must be >= 0, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------- progress bar


class _Progress:
    """A tqdm progress bar: 'epoch 3/10 |█████     | elapsed 00:01, ETA 00:02, loss 0.25'.

    tqdm.auto draws a widget in Jupyter and a text bar on a terminal. `show=None` draws it only there (a
    log file or a captured stream gets nothing) and only once the run has lasted PROGRESS_DELAY seconds.
    """

    def __init__(self, what: str, total: int, show: bool | None) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # (a machine without tqdm, e.g. a GPU box: training runs, with no bar)
            if show:
                raise
            self.bar = None
            return

        stream: TextIO = sys.stderr  # looked up now, so a redirected stderr is honoured
        automatic = show is None
        visible = show is True or (automatic and (_is_terminal(stream) or _in_notebook(tqdm)))
        self.bar = tqdm(
            total=total,
            desc=what,
            file=stream,
            disable=not visible,
            delay=PROGRESS_DELAY if automatic else 0.0,
            mininterval=PROGRESS_INTERVAL,
            bar_format="{desc} {n_fmt}/{total_fmt} |{bar:20}| elapsed {elapsed}, ETA {remaining}{postfix}",
        )

    def update(self, done: int, text: str) -> None:
        """Report `done` of `total` steps, with `text` (e.g. the loss) after the times."""
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        """Draw the last state and end the line (if the bar was shown), so what is printed next starts afresh."""
        if self.bar is not None:
            self.bar.close()


def _in_notebook(tqdm: type) -> bool:
    """Whether tqdm.auto chose its Jupyter widget (a notebook kernel with ipywidgets installed)."""
    return any(cls.__module__ == "tqdm.notebook" for cls in tqdm.__mro__)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False
