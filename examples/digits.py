"""Real data: an MLP learns to read 8x8 handwritten digits (1,797 images shipped with the package).

1. Data: `tg.data.digits` splits the images, stratified by digit, into 1,438 to train on and 359 to
   test on (pixels scaled to [0, 1], each image a row of 64).
2. Model: an MLP 64 -> 64 -> 10 with relu; its 10 outputs are logits, one per digit, and the loss is
   the cross-entropy of their softmax against the true digit.
3. Training: `tg.fit` with minibatches of 32, SGD with momentum and a little weight decay, and a step
   size that follows a cosine from 0.1 down to 0 (`CosineAnnealingLR`, one step per epoch). The test
   accuracy is measured after every epoch; a progress line shows on a terminal.
4. Results: the test accuracy and the confusion matrix (row: the true digit, column: the prediction)
   as text, and three pictures in `out`: the training curves, the confusion matrix, and the test
   digits the model gets wrong.

Run: python examples/digits.py  (about a second of training; --quick for a few epochs; --device cuda on a GPU)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # pictures go to files; no window opens
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)
import numpy as np  # noqa: E402

import tinygrad_edu as tg  # noqa: E402

SIZES = [64, 64, 10]  # 64 pixels in, one hidden layer, one logit per digit out
EPOCHS, QUICK_EPOCHS = 30, 5
BATCH_SIZE = 32
LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.9, 1e-4


def predict(model: tg.nn.Module, X: np.ndarray) -> np.ndarray:
    """The digit with the largest logit, for each row of X (no graph is recorded)."""
    with tg.no_grad():
        device = model.parameters()[0].device  # X goes where the model is
        return np.asarray(model(tg.Tensor(X, device=device)).numpy().argmax(axis=1))


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """counts[i, j] = how many images of digit i were predicted as j (the diagonal is what is right)."""
    return np.bincount(classes * labels + predictions, minlength=classes * classes).reshape(classes, classes)


def format_confusion(counts: np.ndarray) -> str:
    """The confusion matrix as a text table, with the true digit down and the prediction across."""
    lines = ["true \\ predicted " + " ".join(f"{j:4d}" for j in range(len(counts)))]
    lines += [f"{i:>16} " + " ".join(f"{n:4d}" for n in row) for i, row in enumerate(counts)]
    return "\n".join(lines)


def plot_training(losses: list[float], accuracies: list[float], path: Path) -> Path:
    """Train loss per epoch (log scale) beside the test accuracy per epoch."""
    epochs = np.arange(1, len(losses) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.semilogy(epochs, losses, marker="o", markersize=3)
    left.set(title="Training loss (cross-entropy)", xlabel="epoch", ylabel="mean loss over the epoch")
    right.plot(epochs, [100 * a for a in accuracies], marker="o", markersize=3, color="tab:green")
    right.set(title="Test accuracy", xlabel="epoch", ylabel="% of test digits right")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_confusion(counts: np.ndarray, path: Path) -> Path:
    """The confusion matrix as a picture, every cell annotated with its count."""
    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.imshow(counts, cmap="Blues")
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            dark = counts[i, j] > counts.max() / 2  # white text on dark cells
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", color="white" if dark else "black")
    ticks = range(counts.shape[0])
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted digit", ylabel="true digit")
    ax.set_title(f"Confusion matrix: {np.trace(counts)} of {counts.sum()} test digits right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_mistakes(X: np.ndarray, labels: np.ndarray, predictions: np.ndarray, path: Path, most: int = 24) -> Path:
    """The first `most` test digits the model gets wrong, each titled 'true -> predicted'."""
    wrong = np.flatnonzero(labels != predictions)[:most]
    columns = 8
    rows = max(1, -(-len(wrong) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.2, rows * 1.4), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, k in zip(axes.ravel(), wrong):
        ax.imshow(X[k].reshape(8, 8), cmap="gray_r", vmin=0.0, vmax=1.0)
        ax.set_title(f"{labels[k]} -> {predictions[k]}", fontsize=9, color="tab:red")
    total = int(np.sum(labels != predictions))
    fig.suptitle(f"Test digits read wrongly (true -> predicted): {len(wrong)} of {total} shown")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run(quick: bool = False, out: Path = Path("out/digits"), seed: int = 0, device: str = "cpu") -> dict[str, Any]:
    """Train on the digits and write the pictures; returns the results (all numbers are for `seed`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    X_train, y_train = tg.data.digits("train", seed=seed)
    X_test, y_test = tg.data.digits("test", seed=seed)
    print(f"Digits: {len(X_train)} images to train on, {len(X_test)} to test on, {X_train.shape[1]} pixels each")

    model = tg.nn.MLP(SIZES, activation="relu", rng=seed).to(device)  # "cuda": on a GPU (CuPy)
    epochs = QUICK_EPOCHS if quick else EPOCHS
    optimizer = tg.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    scheduler = tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    print(f"MLP {SIZES} with relu, {model.num_parameters()} parameters; {epochs} epochs, minibatches of {BATCH_SIZE}")

    test_accuracies: list[float] = []

    def after_epoch(epoch: int, loss: float) -> None:
        test_accuracies.append(float(np.mean(predict(model, X_test) == y_test)))

    losses = tg.fit(
        model, tg.cross_entropy, optimizer, tg.Tensor(X_train, device=device), y_train,
        epochs=epochs, batch_size=BATCH_SIZE, seed=seed, scheduler=scheduler,
        progress=sys.stderr.isatty(),  # a progress line on a terminal, none in a log or a test
        callback=after_epoch,
    )  # fmt: skip

    predictions = predict(model, X_test)
    accuracy = float(np.mean(predictions == y_test))
    train_accuracy = float(np.mean(predict(model, X_train) == y_train))
    counts = confusion_matrix(y_test, predictions)
    print(f"final train loss {losses[-1]:.4f}; train accuracy {100 * train_accuracy:.2f}%")
    print(f"test accuracy {100 * accuracy:.2f}% ({int(np.trace(counts))} of {len(y_test)} test digits right)")
    print("confusion matrix (rows: true digit, columns: predicted digit):")
    print(format_confusion(counts))

    pictures = [
        plot_training(losses, test_accuracies, out / "training.png"),
        plot_confusion(counts, out / "confusion.png"),
        plot_mistakes(X_test, y_test, predictions, out / "mistakes.png"),
    ]
    print("Pictures:")
    for path in pictures:
        print(f"  {path.resolve()}")
    return {
        "test_accuracy": accuracy,
        "train_accuracy": train_accuracy,
        "losses": losses,
        "test_accuracies": test_accuracies,
        "confusion": counts,
        "predictions": predictions,
        "labels": y_test,
        "model": model,
        "pictures": pictures,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"train {QUICK_EPOCHS} epochs instead of {EPOCHS}")
    parser.add_argument("--out", type=Path, default=Path("out/digits"), help="folder for the pictures")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the weights and the batch order")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda (needs CuPy: pip install 'tinygrad_edu[gpu]')")
    args = parser.parse_args()
    run(quick=args.quick, out=args.out, seed=args.seed, device=args.device)
