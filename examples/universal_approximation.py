"""One hidden layer is enough, if it is wide enough: fitting a curve with MLPs [1, n, 1] of growing width n.

The universal approximation theorem says that a network with a single hidden layer of sigmoid-like
units can approximate any continuous function on a closed interval as closely as we like, given
enough units. Here the target is f(x) = sin(3x) + 0.3x² on [-2, 2]. Each width n = 1, 2, 4, ... is
trained from a seeded start with Adam and a cosine-annealed step size on a fixed grid of points, and
measured on a finer grid (points it never saw). The output is a sum of n scaled and shifted tanh
steps, v_i tanh(w_i x + b_i), plus a constant: the second picture shows those steps for one width.
The error falls fast with n at first; once it is small, what limits it is the training budget (the
theorem says good weights exist, not that gradient descent finds them).

Run: python examples/universal_approximation.py [--quick] [--out out/universal_approximation]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # the pictures go to files; no window opens
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Tensor, nn, optim  # noqa: E402

INTERVAL = (-2.0, 2.0)


def target(x: np.ndarray) -> np.ndarray:
    """The continuous function to approximate."""
    return np.sin(3 * x) + 0.3 * x**2


def train(width: int, x: np.ndarray, y: np.ndarray, steps: int, lr: float = 0.03, seed: int = 0) -> nn.MLP:
    """An MLP [1, width, 1] with tanh hidden units, fitted to (x, y) by full-batch Adam."""
    model = nn.MLP([1, width, 1], activation="tanh", rng=seed)
    opt = optim.Adam(model.parameters(), lr=lr)
    # a large step to find the shape, a small one at the end to settle into it
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr / 100)
    tg.fit(model, nn.functional.mse_loss, opt, x, y, epochs=steps, scheduler=schedule, progress=False)
    return model


def predict(model: nn.MLP, x: np.ndarray) -> np.ndarray:
    with tg.no_grad():
        return model(Tensor(x)).data


def hidden_units(model: nn.MLP, x: np.ndarray) -> np.ndarray:
    """Each hidden unit's contribution to the output, v_i tanh(w_i x + b_i): shape (len(x), width)."""
    first, second = model.layers
    assert first.bias is not None
    h = np.tanh(x @ first.weight.data.T + first.bias.data)
    return h * second.weight.data[0]  # the output is their sum plus the output bias


def run(quick: bool = False, out: Path = Path("out/universal_approximation")) -> dict[str, Any]:
    """Fit every width, print and plot the errors; returns the widths, the errors per width (MSE on the
    training grid, max and mean squared error on a finer grid), the fits and "pictures"."""
    out.mkdir(parents=True, exist_ok=True)
    widths = [1, 4, 16] if quick else [1, 2, 4, 8, 16, 32, 64]
    steps = 1500 if quick else 6000
    x = np.linspace(*INTERVAL, 41 if quick else 81)[:, None]  # the training grid
    fine = np.linspace(*INTERVAL, 401)[:, None]  # mostly points the networks never saw
    y, y_fine = target(x), target(fine)

    print(f"Fitting f(x) = sin(3x) + 0.3x² on {list(INTERVAL)} with MLP [1, n, 1], tanh hidden units,")
    print(f"{steps} full-batch Adam steps on {len(x)} points; errors measured on {len(fine)} points\n")
    print(f"{'width n':>8}{'parameters':>12}{'train MSE':>12}{'test MSE':>12}{'max error':>12}{'time':>8}")
    models: dict[int, nn.MLP] = {}
    fits: dict[int, np.ndarray] = {}
    train_mse, test_mse, max_error = [], [], []
    for n in widths:
        start = time.perf_counter()
        models[n] = train(n, x, y, steps, seed=n)
        fits[n] = predict(models[n], fine)
        train_mse.append(float(np.mean((predict(models[n], x) - y) ** 2)))
        test_mse.append(float(np.mean((fits[n] - y_fine) ** 2)))
        max_error.append(float(np.abs(fits[n] - y_fine).max()))
        print(f"{n:8d}{models[n].num_parameters():12d}{train_mse[-1]:12.2e}{test_mse[-1]:12.2e}"
              f"{max_error[-1]:12.4f}{time.perf_counter() - start:7.1f}s", flush=True)
    print(f"\nThe widest network's max error is {max_error[-1] / max_error[0]:.1%} of the narrowest's.")
    worse = [n for n, before, after in zip(widths[1:], max_error, max_error[1:]) if after > before]
    if worse:  # the theorem promises that good weights exist, not that training finds them
        print(f"Width(s) {worse} did worse than the width before: with this many steps and this step size the limit\n"
              "is now the training, not the network's capacity (the theorem says nothing about training).")

    shown = widths[len(widths) // 2]  # a middle width: few enough units to see one by one
    pictures = [
        plot_fits(fine, y_fine, x, y, fits, widths, test_mse, max_error, out / "universal_approximation.png"),
        plot_units(fine, y_fine, models[shown], out / "hidden_units.png"),
    ]
    return {"widths": widths, "train_mse": train_mse, "test_mse": test_mse, "max_error": max_error,
            "fits": fits, "x": fine, "pictures": pictures}


def plot_fits(fine: np.ndarray, y_fine: np.ndarray, x: np.ndarray, y: np.ndarray, fits: dict[int, np.ndarray],
              widths: list[int], test_mse: list[float], max_error: list[float], path: Path) -> str:
    """Left: every width's fit over the target. Right: max error and MSE against width (log-log)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    left.plot(x, y, "o", ms=3, color="black", label="training points")
    left.plot(fine, y_fine, "-", lw=3, color="lightgrey", label="target", zorder=0)
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(widths)))
    for n, colour in zip(widths, colours):
        left.plot(fine, fits[n], "-", color=colour, lw=1.3, label=f"n = {n}")
    left.set(title="f(x) = sin(3x) + 0.3x² and the fits of MLP [1, n, 1]", xlabel="x")
    left.legend(fontsize=8, ncol=2)
    right.loglog(widths, max_error, "o-", label="max error")
    right.loglog(widths, test_mse, "s-", label="mean squared error")
    right.set(title="error on 401 points against hidden width", xlabel="hidden units n")
    right.set_xticks(widths, [str(n) for n in widths])
    right.legend()
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


def plot_units(fine: np.ndarray, y_fine: np.ndarray, model: nn.MLP, path: Path) -> str:
    """One network's hidden units, each a scaled tanh step; their sum plus a constant is the fit."""
    units = hidden_units(model, fine)
    assert model.layers[1].bias is not None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(fine, y_fine, "-", lw=3, color="lightgrey", label="target")
    for i in range(units.shape[1]):
        ax.plot(fine, units[:, i], "--", lw=1, label="v_i tanh(w_i x + b_i)" if i == 0 else None)
    ax.plot(fine, units.sum(axis=1) + model.layers[1].bias.data[0], "-", color="black", lw=1.5,
            label="their sum + output bias")
    ax.set(title=f"The {units.shape[1]} hidden units of MLP [1, {units.shape[1]}, 1]", xlabel="x")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer widths and steps")
    parser.add_argument("--out", type=Path, default=Path("out/universal_approximation"), help="folder for the pictures")
    args = parser.parse_args()
    results = run(quick=args.quick, out=args.out)
    print("\nPictures:", *results["pictures"], sep="\n  ")
