"""Two moons, learned twice: by an MLP of scalar Values and by the same MLP on Tensors.

micrograd's classic demo, written for this library. One network, [2, 16, 16, 1] with ReLU hidden
units and a linear score out, separates two interleaving half circles (`tg.data.two_moons`):

- at the scalar level, `tg.nn.ScalarMLP`: every multiply and add is one Value in the graph, one graph
  per minibatch (each point's score, its hinge loss, their mean);
- at the tensor level, `tg.nn.MLP`: the same layers as three matrix products per minibatch.

Both start from the same weights (same seed: `ScalarMLP` and `MLP` draw their weights in the same
order, checked below), see the same minibatches in the same order, and take the same steps (SGD with
momentum and a small weight decay, the step size decreasing by `InverseTimeLR`), on the max-margin
(hinge) loss of micrograd's demo. So they follow the same path, up to rounding: what differs is the
time each takes, printed at the end. The decision boundary of each is plotted over a grid.

Run:  .venv/bin/python examples/moons.py [--quick] [--out out/moons]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib

matplotlib.use("Agg")  # pictures go to files; no window opens
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Tensor, Value  # noqa: E402
from tinygrad_edu.nn import MLP, ScalarMLP  # noqa: E402
from tinygrad_edu.nn.functional import hinge_loss  # noqa: E402
from tinygrad_edu.optim import SGD  # noqa: E402
from tinygrad_edu.optim.lr_scheduler import InverseTimeLR  # noqa: E402


class Settings(NamedTuple):  # a NamedTuple, not a dataclass: the test harness loads examples outside sys.modules
    """Everything that decides a run; both models use the same."""

    points: int = 200
    noise: float = 0.1
    sizes: tuple[int, ...] = (2, 16, 16, 1)
    epochs: int = 40
    batch_size: int = 25
    lr: float = 0.2
    momentum: float = 0.9
    weight_decay: float = 1e-4
    decay_rate: float = 0.01  # lr / (1 + decay_rate * step): a decreasing step size
    grid: int = 100  # grid points per axis for the decision boundary
    seed: int = 0


FULL = Settings()
QUICK = Settings(points=60, epochs=20, batch_size=20, grid=40)


def make_data(s: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The moons, with labels -1 (upper moon) and +1 (lower moon), as the hinge loss wants."""
    X, y = tg.data.two_moons(n=s.points, noise=s.noise, seed=s.seed)
    return X, 2.0 * y - 1.0


def make_models(s: Settings) -> tuple[ScalarMLP, MLP]:
    """The scalar and the tensor network, from the same seed: the same initial weights."""
    scalar = ScalarMLP(s.sizes, activation="relu", output_activation=None, rng=s.seed)
    tensor = MLP(s.sizes, activation="relu", output_activation=None, rng=s.seed)
    return scalar, tensor


# --------------------------------------------------------------------------- the two models' scores


def scalar_score(model: ScalarMLP, x: np.ndarray) -> Value:
    """One point's score: a graph of Values built neuron by neuron."""
    out = model(x.tolist())  # plain floats in, so every node is the model's own work
    assert isinstance(out, Value)
    return out


def scalar_scores(model: ScalarMLP, X: np.ndarray) -> np.ndarray:
    """Scores of many points as an array (nothing recorded: this is only evaluation)."""
    with tg.no_grad():
        return np.array([scalar_score(model, x).data for x in X])


def tensor_scores(model: MLP, X: np.ndarray) -> np.ndarray:
    """Scores of many points at once: three matrix products."""
    with tg.no_grad():
        return model(Tensor(X)).data.ravel()


def scalar_hinge(model: ScalarMLP, xb: np.ndarray, yb: np.ndarray) -> Value:
    """mean(relu(1 - y * score)) over a minibatch, written with Value arithmetic: one graph per batch."""
    losses = [(1.0 - float(yi) * scalar_score(model, x)).relu() for x, yi in zip(xb, yb)]
    return sum(losses, Value(0.0, requires_grad=False)) * (1.0 / len(losses))


def tensor_hinge(model: MLP, xb: Tensor, yb: Tensor) -> Tensor:
    """The same loss on Tensors: the library's hinge_loss on the (N,) scores."""
    return hinge_loss(model(xb).reshape(-1), yb)


# --------------------------------------------------------------------------- training


def train(
    model: ScalarMLP | MLP,
    loss_of_batch: Callable[[np.ndarray, np.ndarray], Any],
    X: np.ndarray,
    y: np.ndarray,
    s: Settings,
    name: str,
    report: bool,
) -> tuple[list[float], float]:
    """Minibatch SGD; returns each epoch's mean loss and the seconds it took.

    The batches come from tg.data.batches with one seeded generator, so the scalar and the tensor run
    see the same points in the same order.
    """
    opt = SGD(model.parameters(), lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
    schedule = InverseTimeLR(opt, decay_rate=s.decay_rate)
    order = np.random.default_rng(s.seed)  # the same shuffles for both models
    history: list[float] = []
    start = time.perf_counter()
    for epoch in range(s.epochs):
        total = 0.0
        for xb, yb in tg.data.batches(X, y, batch_size=s.batch_size, shuffle=True, seed=order):
            loss = loss_of_batch(xb.data, yb.data)
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()  # once per step: the step size keeps shrinking within an epoch too
            total += loss.item() * len(xb)
        history.append(total / len(X))
        if report and (epoch + 1) % 10 == 0:
            print(f"  {name:<6} epoch {epoch + 1:>3}/{s.epochs}  loss {history[-1]:.4f}  "
                  f"{time.perf_counter() - start:6.2f} s", flush=True)
    return history, time.perf_counter() - start


def accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    """The fraction of points on the right side of the boundary (score > 0 for label +1)."""
    return float(np.mean((scores > 0) == (y > 0)))


# --------------------------------------------------------------------------- picture


def plot_boundaries(
    X: np.ndarray,
    y: np.ndarray,
    panels: list[tuple[str, Callable[[np.ndarray], np.ndarray], float, float]],
    grid: int,
    path: Path,
) -> None:
    """For each (title, score function, accuracy, seconds): the score's sign over a grid, and the points."""
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5))
    for ax, (title, score, acc, seconds) in zip(np.atleast_1d(axes), panels):
        z = score(points).reshape(gx.shape)
        ax.contourf(gx, gy, z, levels=[min(z.min(), -1.0), 0.0, max(z.max(), 1.0)], colors=["#f4b6b6", "#b6cdf4"])
        ax.contour(gx, gy, z, levels=[0.0], colors="k", linewidths=1)
        ax.scatter(X[y < 0, 0], X[y < 0, 1], c="tab:red", edgecolors="k", s=22, label="upper moon (-1)")
        ax.scatter(X[y > 0, 0], X[y > 0, 1], c="tab:blue", edgecolors="k", s=22, label="lower moon (+1)")
        ax.set(title=f"{title}: accuracy {acc:.0%}, {seconds:.2f} s", xlabel="x0", ylabel="x1")
        ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- run


def run(quick: bool = False, out: Path = Path("out/moons")) -> dict[str, Any]:
    """Train the scalar and the tensor MLP on the moons, print accuracies and timings, plot both
    decision boundaries. Returns the key results, and "pictures": a list of the files written.

    Keys: "settings", "X" and "y" (the training points, labels -1/+1), "scalar_model", "tensor_model",
    "init_max_diff" (largest |scalar - tensor| score at initialisation, on the training points),
    "final_max_diff" (the same after training), "scalar_accuracy", "tensor_accuracy" (on the training
    points), "scalar_seconds", "tensor_seconds" (training only), "scalar_history", "tensor_history"
    (mean loss per epoch), "pictures".
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = QUICK if quick else FULL
    X, y = make_data(s)
    scalar, tensor = make_models(s)
    print(f"Two moons: {s.points} points, noise {s.noise}; MLP {list(s.sizes)} (ReLU), hinge loss, "
          f"SGD lr {s.lr} / (1 + {s.decay_rate} t), momentum {s.momentum}, batches of {s.batch_size}, "
          f"{s.epochs} epochs")

    init_diff = float(np.max(np.abs(scalar_scores(scalar, X) - tensor_scores(tensor, X))))
    print(f"Same seed, same weights: largest |scalar - tensor| score at initialisation = {init_diff:.1e}\n")

    print("Training the scalar MLP (one graph of Values per minibatch)...", flush=True)
    scalar_history, scalar_seconds = train(
        scalar, lambda xb, yb: scalar_hinge(scalar, xb, yb), X, y, s, "scalar", report=not quick
    )
    print("Training the tensor MLP (the same steps on Tensors)...", flush=True)
    tensor_history, tensor_seconds = train(
        tensor, lambda xb, yb: tensor_hinge(tensor, Tensor(xb), Tensor(yb)), X, y, s, "tensor", report=not quick
    )

    scalar_final, tensor_final = scalar_scores(scalar, X), tensor_scores(tensor, X)
    final_diff = float(np.max(np.abs(scalar_final - tensor_final)))
    scalar_acc, tensor_acc = accuracy(scalar_final, y), accuracy(tensor_final, y)
    print()
    print(f"{'model':<8} {'final loss':>10} {'accuracy':>9} {'time':>9}")
    print(f"{'scalar':<8} {scalar_history[-1]:>10.4f} {scalar_acc:>9.1%} {scalar_seconds:>8.2f}s")
    print(f"{'tensor':<8} {tensor_history[-1]:>10.4f} {tensor_acc:>9.1%} {tensor_seconds:>8.2f}s")
    print(f"After training the two still agree: largest |scalar - tensor| score = {final_diff:.1e}")
    print(f"scalar: {scalar_seconds:.1f} s, tensor: {tensor_seconds:.2f} s — "
          f"{scalar_seconds / tensor_seconds:.0f}x")

    picture = out / "moons.png"
    plot_boundaries(
        X,
        y,
        [
            ("ScalarMLP (Values)", lambda P: scalar_scores(scalar, P), scalar_acc, scalar_seconds),
            ("MLP (Tensors)", lambda P: tensor_scores(tensor, P), tensor_acc, tensor_seconds),
        ],
        s.grid,
        picture,
    )
    return {
        "settings": s,
        "X": X,
        "y": y,
        "scalar_model": scalar,
        "tensor_model": tensor,
        "init_max_diff": init_diff,
        "final_max_diff": final_diff,
        "scalar_accuracy": scalar_acc,
        "tensor_accuracy": tensor_acc,
        "scalar_seconds": scalar_seconds,
        "tensor_seconds": tensor_seconds,
        "scalar_history": scalar_history,
        "tensor_history": tensor_history,
        "pictures": [str(picture)],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points and epochs: a few seconds")
    parser.add_argument("--out", type=Path, default=Path("out/moons"), help="folder for the pictures")
    args = parser.parse_args()
    results = run(quick=args.quick, out=args.out)
    print("\nPictures:", *results["pictures"], sep="\n  ")
