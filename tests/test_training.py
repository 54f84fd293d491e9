"""fit and best_of_restarts: the loop's results against closed forms computed here in NumPy (least
squares, the mean loss over all rows), its bookkeeping by counting calls, and the XOR network of the
post, which a 2-2-1 MLP learns only from some starting points: restarts find one.
"""

from __future__ import annotations

import io
import math
import sys
from typing import Any

import numpy as np
import pytest

from tinygrad_edu import Tensor, Value
from tinygrad_edu import training as training_module
from tinygrad_edu.data import xor
from tinygrad_edu.nn import MLP, Linear, mse_loss
from tinygrad_edu.optim import SGD
from tinygrad_edu.optim.lr_scheduler import ReduceLROnPlateau, StepLR
from tinygrad_edu.training import Restarts, best_of_restarts, fit


def regression(n: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    return X, X @ np.array([[1.5], [-2.0], [0.5]]) + 0.3 + 0.01 * rng.standard_normal((n, 1))


def least_squares(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """[w; b] of the best affine fit, by NumPy's solver."""
    return np.linalg.lstsq(np.hstack([X, np.ones((len(X), 1))]), Y, rcond=None)[0]


class CountingScheduler:
    def __init__(self) -> None:
        self.steps = 0

    def step(self) -> None:
        self.steps += 1


# ----------------------------------------------------------------------------- fit


def test_full_batch_gradient_descent_decreases_the_loss_to_least_squares() -> None:
    X, Y = regression()
    model = Linear(3, 1, rng=0)
    history = fit(model, mse_loss, SGD(model.parameters(), lr=0.1), X, Y, epochs=300)
    assert len(history) == 300 and all(isinstance(h, float) for h in history)
    floor = history[-1] * (1 + 1e-9)  # the minimum, reached up to rounding
    steps = list(zip(history, history[1:]))
    assert all(b < a for a, b in steps if b > floor)  # a convex quadratic and a small step: always down
    assert all(b <= floor for a, b in steps if a <= floor)  # and then stays at the minimum
    assert history[-1] < 1e-3 * history[0]
    solution = least_squares(X, Y)
    assert np.allclose(model.weight.data.ravel(), solution[:3, 0], atol=1e-6)
    assert np.allclose(model.bias.data, solution[3], atol=1e-6)  # type: ignore[union-attr]


def test_epoch_loss_is_the_mean_over_all_rows() -> None:
    X, Y = regression(n=10)
    model = Linear(3, 1, rng=1)
    expected = float(np.mean((X @ model.weight.data.T + model.bias.data - Y) ** 2))  # type: ignore[union-attr]
    opt = SGD(model.parameters(), lr=0.0)  # nothing moves, so every batch sees the same model
    scheduler = CountingScheduler()
    history = fit(model, mse_loss, opt, X, Y, epochs=2, batch_size=3, scheduler=scheduler, scheduler_step="batch")
    assert history == pytest.approx([expected, expected], rel=1e-12)  # batches of 3, 3, 3, 1 weighted by size
    assert scheduler.steps == 2 * 4


def test_a_float32_model_gets_its_float_data_in_float32() -> None:
    """A float32 layer refuses float64 tensors (as PyTorch's), so fit takes float data in the parameters'
    dtype, as a layer takes NumPy arrays: the same run as with data cast by hand; labels stay integers."""
    X, Y = regression()

    def run(X: Any, Y: Any) -> tuple[list[float], np.ndarray]:
        model = Linear(3, 1, rng=0, dtype=np.float32)
        seen = []
        h = fit(lambda xb: seen.append(xb.dtype) or model(xb), mse_loss, SGD(model.parameters(), lr=0.05), X, Y,
                epochs=3, batch_size=8)
        assert set(seen) == {np.dtype(np.float32)} and model.weight.dtype == np.float32
        return h, model.weight.data.copy()

    by_hand = run(X.astype(np.float32), Y.astype(np.float32))
    for data in ((X, Y), (Tensor(X), Y.tolist())):
        h, w = run(*data)
        assert h == by_hand[0] and np.array_equal(w, by_hand[1])
    model = Linear(3, 4, rng=0, dtype=np.float32)
    labels = np.arange(len(X)) % 4
    fit(model, lambda out, yb: (out.log_softmax(-1)[np.arange(len(yb)), yb.data]).mean() * -1,
        SGD(model.parameters(), lr=0.1), X, labels, epochs=1)


def test_fit_gives_a_plateau_scheduler_the_epoch_loss() -> None:
    """With a tiny lr the loss does not improve by the threshold, so ReduceLROnPlateau (patience 1) halves
    the lr after the third epoch; it is stepped once per epoch with that epoch's loss."""
    X, Y = regression(n=8)
    model = Linear(3, 1, rng=0)
    opt = SGD(model.parameters(), lr=1e-6)
    seen: list[float] = []
    plateau = ReduceLROnPlateau(opt, factor=0.5, patience=1)
    plateau.step = lambda metric, step=plateau.step: seen.append(metric) or step(metric)  # type: ignore[method-assign]
    history = fit(model, mse_loss, opt, X, Y, epochs=4, batch_size=4, scheduler=plateau, scheduler_step="batch")
    assert seen == history and len(seen) == 4  # per epoch, with its loss, whatever scheduler_step says
    assert opt.param_groups[0]["lr"] == 5e-7


def test_minibatch_training_is_reproducible_from_the_seed() -> None:
    X, Y = regression()

    def run(seed: int, shuffle: bool = True) -> tuple[list[float], np.ndarray]:
        model = Linear(3, 1, rng=0)
        h = fit(model, mse_loss, SGD(model.parameters(), lr=0.05), X, Y, epochs=5, batch_size=4, shuffle=shuffle,
                seed=seed)
        return h, model.weight.data.copy()

    h1, w1 = run(0)
    h2, w2 = run(0)
    h3, w3 = run(1)
    assert h1 == h2 and np.array_equal(w1, w2)
    assert not np.array_equal(w1, w3)
    assert h1[-1] < h1[0]
    assert run(0, shuffle=False)[0] == run(1, shuffle=False)[0]  # without shuffling the seed is not used


def test_epoch_scheduler_and_callback() -> None:
    X, Y = regression()
    model = Linear(3, 1, rng=0)
    opt = SGD(model.parameters(), lr=0.1)
    seen: list[tuple[int, float]] = []
    fit(model, mse_loss, opt, X, Y, epochs=4, scheduler=StepLR(opt, step_size=2, gamma=0.5),
        callback=lambda epoch, loss: seen.append((epoch, loss)))
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)  # stepped once per epoch: 0.1 * 0.5**2
    history = fit(model, mse_loss, opt, X, Y, epochs=10, callback=lambda epoch, loss: epoch == 2)
    assert len(history) == 3  # True from the callback stops training


def test_progress_forced_and_silenced(capsys: pytest.CaptureFixture[str]) -> None:
    X, Y = regression()
    model = Linear(3, 1, rng=0)
    fit(model, mse_loss, SGD(model.parameters(), lr=0.1), X, Y, epochs=3, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("\r") and err.endswith("\n")
    assert "epoch 3/3" in err and "loss " in err and "elapsed" in err and "ETA" in err
    fit(model, mse_loss, SGD(model.parameters(), lr=0.1), X, Y, epochs=3, progress=False)
    fit(model, mse_loss, SGD(model.parameters(), lr=0.1), X, Y, epochs=3)  # automatic: short, and not a terminal
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_automatic_progress_appears_on_a_terminal_for_a_long_run(monkeypatch: pytest.MonkeyPatch) -> None:
    X, Y = regression()
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(training_module, "PROGRESS_DELAY", 0.0)  # every run counts as long
    model = Linear(3, 1, rng=0)
    fit(model, mse_loss, SGD(model.parameters(), lr=0.1), X, Y, epochs=2)
    assert "epoch 2/2" in terminal.getvalue()
    plain = io.StringIO()  # not a terminal: nothing, however long the run
    monkeypatch.setattr(sys, "stderr", plain)
    fit(model, mse_loss, SGD(model.parameters(), lr=0.1), X, Y, epochs=2)
    assert plain.getvalue() == ""


def test_automatic_progress_appears_in_a_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    """In Jupyter, tqdm.auto draws a widget (stderr is no terminal there): the automatic bar is shown."""
    X, Y = regression()
    plain = io.StringIO()
    monkeypatch.setattr(sys, "stderr", plain)
    monkeypatch.setattr(training_module, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(training_module, "_in_notebook", lambda tqdm: True)  # as tqdm.auto decides in a kernel
    model = Linear(3, 1, rng=0)
    fit(model, mse_loss, SGD(model.parameters(), lr=0.1), X, Y, epochs=2)
    assert "epoch 2/2" in plain.getvalue()


def test_automatic_progress_waits_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    X, Y = regression()
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    model = Linear(3, 1, rng=0)
    fit(model, mse_loss, SGD(model.parameters(), lr=0.1), X, Y, epochs=2)  # well under a second
    assert terminal.getvalue() == ""


def test_a_non_finite_loss_stops_training_before_the_update() -> None:
    X, Y = regression()
    model = Linear(3, 1, rng=0)
    calls = []

    def poisoned(pred: Tensor, target: Any) -> Tensor:
        calls.append(1)
        loss = mse_loss(pred, target)
        return loss * math.nan if len(calls) == 3 else loss

    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(FloatingPointError, match=r"nan at epoch 3/5 \(batch 1\)"):
        fit(model, poisoned, opt, X, Y, epochs=5)
    assert len(calls) == 3
    assert np.isfinite(model.weight.data).all()  # the NaN never reached the parameters


def test_diverging_training_raises() -> None:
    X, Y = regression()
    model = Linear(3, 1, rng=0)
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(FloatingPointError, match="epoch"):
        fit(model, mse_loss, SGD(model.parameters(), lr=1e3), X, Y, epochs=200)


def test_fit_errors() -> None:
    X, Y = regression()
    model = Linear(3, 1, rng=0)
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="scheduler_step"):
        fit(model, mse_loss, opt, X, Y, scheduler_step="step")
    with pytest.raises(ValueError, match="X with 30 and Y with 29"):
        fit(model, mse_loss, opt, X, Y[:-1], batch_size=4)
    with pytest.raises(ValueError, match="X with 30 and Y with 29"):
        fit(model, mse_loss, opt, X, Y[:-1])
    with pytest.raises(TypeError, match="Y"):
        fit(model, mse_loss, opt, X, None)
    with pytest.raises(TypeError, match="Tensor or Value"):
        fit(model, lambda p, t: 1.0, opt, X, Y)  # type: ignore[arg-type, return-value]
    with pytest.raises(ValueError, match="single number"):
        fit(model, lambda p, t: p - t, opt, X, Y)
    with pytest.raises(ValueError, match="no rows"):
        fit(model, mse_loss, opt, X[:0], Y[:0])
    with pytest.raises(TypeError, match="epochs"):
        fit(model, mse_loss, opt, X, Y, epochs=1.5)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- restarts


def test_mlp_learns_xor_for_the_best_of_ten_restarts() -> None:
    X, Y = xor()

    def make_model(i: int) -> MLP:
        return MLP([2, 2, 1], activation="tanh", output_activation="sigmoid", rng=i)

    def train(model: MLP) -> list[float]:
        return fit(model, mse_loss, SGD(model.parameters(), lr=2.0, momentum=0.5), X, Y, epochs=1500)

    result = best_of_restarts(10, make_model, train)
    finite = [loss for loss in result.losses if math.isfinite(loss)]
    assert len(result.losses) == 10
    assert result.loss == min(finite) and result.losses[result.index] == result.loss
    assert result.loss < 0.01
    assert result.index == int(np.nanargmin(result.losses))
    prediction = result.model(Tensor(X)).data  # the kept model really is the trained winner
    assert float(np.mean((prediction - Y) ** 2)) < 0.01
    assert ((prediction > 0.5) == (Y > 0.5)).all()


def test_best_of_restarts_picks_the_lowest_and_nan_never_wins() -> None:
    built: list[int] = []
    finals = [0.5, math.nan, 0.2, -math.inf, 0.2, 0.9]

    def make_model(i: int) -> int:
        built.append(i)
        return i

    result = best_of_restarts(6, make_model, lambda i: finals[i])
    assert built == list(range(6))
    assert isinstance(result, Restarts)
    assert (result.model, result.index, result.loss) == (2, 2, 0.2)  # a tie goes to the earlier restart
    assert result.losses[0] == 0.5 and math.isnan(result.losses[1]) and result.losses[3] == -math.inf


def test_best_of_restarts_reads_histories_values_and_diverged_runs() -> None:
    def train(i: int) -> Any:
        if i == 0:
            raise FloatingPointError("diverged")
        if i == 1:
            return [0.0, 3.0]  # the last value counts, not the smallest
        if i == 2:
            return Value(2.0)
        return Tensor([[1.0]])

    result = best_of_restarts(4, lambda i: i, train)
    assert math.isnan(result.losses[0])
    assert result.losses[1:] == [3.0, 2.0, 1.0] and result.index == 3


def test_best_of_restarts_errors_and_progress(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(FloatingPointError, match="none of the 2 restarts"):
        best_of_restarts(2, lambda i: i, lambda m: math.nan)
    with pytest.raises(ValueError, match="n must be at least 1"):
        best_of_restarts(0, lambda i: i, lambda m: 0.0)
    with pytest.raises(ValueError, match="empty loss history"):
        best_of_restarts(1, lambda i: i, lambda m: [])
    with pytest.raises(TypeError, match="final loss"):
        best_of_restarts(1, lambda i: i, lambda m: "low")
    capsys.readouterr()
    best_of_restarts(3, lambda i: i, lambda m: float(m), progress=True)
    err = capsys.readouterr().err
    assert "restart 3/3" in err and "best loss 0 (restart 0)" in err and err.endswith("\n")


def test_progress_line_is_closed_when_training_fails(capsys: pytest.CaptureFixture[str]) -> None:
    X, Y = regression()
    model = Linear(3, 1, rng=0)
    calls = []

    def poisoned(pred: Tensor, target: Any) -> Tensor:
        calls.append(1)
        return mse_loss(pred, target) * (math.inf if len(calls) == 2 else 1.0)

    with pytest.raises(FloatingPointError, match="inf at epoch 2/3"):
        fit(model, poisoned, SGD(model.parameters(), lr=0.1), X, Y, epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/3" in err and err.endswith("\n")


def test_best_of_restarts_reads_numpy_results() -> None:
    results = [np.float64(2.0), np.array(1.0), np.array([5.0, 0.5])]
    result = best_of_restarts(3, lambda i: i, lambda i: results[i])
    assert result.losses == [2.0, 1.0, 0.5] and result.index == 2


def test_the_issue_example_trains_two_moons() -> None:
    """The nn/optim issue's own example, as a user types it: Sequential, SGD, StepLR, tg.data.batches."""
    import tinygrad_edu as tg
    from tinygrad_edu import Tensor, nn, optim

    X, y = tg.data.two_moons(n=200, noise=0.1, seed=0)
    Y = y.reshape(-1, 1).astype(float)
    model = nn.Sequential(nn.Linear(2, 16, rng=0), nn.ReLU(), nn.Linear(16, 1, rng=1), nn.Sigmoid())
    opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-4)
    sched = optim.lr_scheduler.StepLR(opt, step_size=50, gamma=0.5)
    for epoch in range(100):
        for xb, yb in tg.data.batches(X, Y, batch_size=16, shuffle=True, seed=epoch):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
        sched.step()
    assert sched.get_last_lr() == [0.5 * 0.5**2]
    with tg.no_grad():
        accuracy = ((model(Tensor(X)).numpy() > 0.5) == Y).mean()
    assert accuracy > 0.95
