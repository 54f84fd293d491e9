"""A small CNN reads the 8x8 digits better than the MLP: 98.61% of the test digits right against 96.94%.

1. Data: the same split as examples/digits.py (`tg.data.digits`, seed 0: 1,438 images to train on,
   359 to test on), kept as images (N, 1, 8, 8). The training images are used five times: as they
   are and moved by one pixel up, down, left and right (a digit moved by a pixel is the same digit;
   the pixels that come in are blank), 7,190 in all. Test images are used as they are.
2. Model: Conv2d(1, 16, 3, padding=1) -> ReLU -> Conv2d(16, 32, 3, padding=1) -> ReLU -> MaxPool2d(2)
   -> Flatten -> Linear(512, 64) -> ReLU -> Linear(64, 10): 38,282 parameters. Each 3x3 kernel is
   slid over the whole image, so the same few weights look for a stroke everywhere.
3. Training: `tg.fit`, minibatches of 32, SGD with momentum 0.9 and weight decay 1e-4, a step size
   that follows a cosine from 0.05 down to 0 over 10 epochs; the test accuracy after every epoch.
4. Checks: `tg.graph_stats` of one training step (the convolutions' multiply-adds, equal to their
   closed form), and `tg.check_module_grads` in float64 on a batch of two: every parameter of a
   narrow twin of the model entry by entry, and the trained model itself by random projections.
5. One convolution's backward, drawn by `tg.draw_graph`: a 4x4 image, two 3x3 kernels and
   L = Σ t·z, where t picks one output pixel per kernel, so dL/dz = t. The conv is one box and each
   of its edges shows what it carries: the image gets each picked kernel laid back on its window
   (convᵀ(g, w), the two overlapping in the middle) and each kernel gets its window of the image
   (Σ windows(x)·g).
6. Pictures in `out`: the learned first-layer kernels, the feature maps of one test digit after
   each convolution, the training curves against the MLP's accuracy, the test digits it gets wrong,
   and the convolution's backward.

Measured with the default seed 0 (`python examples/cnn_digits.py`): 98.61% test accuracy (354 of
359; the MLP of examples/digits.py: 96.94%, 348 of 359). The one-pixel shifts matter too: the same
CNN trained 15 epochs without them reaches 97.21%, the MLP trained 30 epochs on the shifted images 97.49%.

Run: python examples/cnn_digits.py  (about 15 s of training on one core; --quick: 2 epochs; --device cuda on a GPU)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # pictures go to files; no window opens
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)
from matplotlib.colors import PowerNorm  # noqa: E402
import numpy as np  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Tensor, nn  # noqa: E402
from tinygrad_edu.nn import functional as F  # noqa: E402
from tinygrad_edu.viz.dot import FONT  # noqa: E402

CHANNELS, HIDDEN = (16, 32), 64
EPOCHS, QUICK_EPOCHS = 10, 2
BATCH_SIZE = 32
LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 1e-4
MLP_TEST_ACCURACY = 348 / 359  # examples/digits.py with seed 0: 96.94%
STATS_BATCH = 32  # the training step graph_stats counts


# --------------------------------------------------------------------------- 1. data and 2. model


def shifted_copies(X: np.ndarray) -> np.ndarray:
    """Images (N, 1, 8, 8) followed by copies moved one pixel down, up, right and left (blank pixels come in)."""
    copies = [X]
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        moved = np.zeros_like(X)
        h, w = X.shape[-2:]
        moved[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            X[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
        copies.append(moved)
    return np.concatenate(copies)


def build_model(channels: tuple[int, int] = CHANNELS, hidden: int = HIDDEN, seed: int = 0) -> nn.Sequential:
    """Two 3x3 convolutions (padding 1 keeps 8x8), a 2x2 max-pool to 4x4, then an MLP on the flattened maps."""
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1, rng=seed), nn.ReLU(),
        nn.Conv2d(c1, c2, 3, padding=1, rng=seed + 1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(c2 * 4 * 4, hidden, rng=seed + 2), nn.ReLU(),
        nn.Linear(hidden, 10, rng=seed + 3),
    )  # fmt: skip


def model_device(model: nn.Module) -> tg.device.Device:
    """Where the model's parameters are: its inputs go there."""
    return model.parameters()[0].device


def predict(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """The digit with the largest logit, for each image of X (no graph is recorded)."""
    with tg.no_grad():
        return np.asarray(model(Tensor(X, device=model_device(model))).numpy().argmax(axis=1))


# --------------------------------------------------------------------------- 4. checks


def conv_macs(channels: tuple[int, int], batch: int) -> tuple[int, int]:
    """The closed form of the convolutions' multiply-adds in a training step on `batch` 8x8 images:
    output elements x C_in x 3 x 3 per conv forward; backward the same again per input needing a
    gradient (the first conv's input is the data, so only its kernels)."""
    c1, c2 = channels
    first, second = batch * c1 * 64 * (1 * 9), batch * c2 * 64 * (c1 * 9)
    return first + second, first + 2 * second


def step_stats(model: nn.Module, X: np.ndarray, y: np.ndarray) -> tg.GraphStats:
    """graph_stats of the loss of one training step on the first STATS_BATCH images."""
    loss = tg.cross_entropy(model(Tensor(X[:STATS_BATCH], device=model_device(model))), y[:STATS_BATCH])
    return tg.graph_stats(loss, model, batch=STATS_BATCH)


def check_gradients(model: nn.Module, X: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    """check_module_grads in float64 on two images: a narrow twin entry by entry, the model by projections."""
    batch = (Tensor(X[:2], device=model_device(model)), y[:2])
    twin = build_model(channels=(2, 4), hidden=8, seed=seed).to(model_device(model))
    every_entry = tg.check_module_grads(twin, tg.cross_entropy, *batch, report=True)
    projections = tg.check_module_grads(model, tg.cross_entropy, *batch, fast_mode=True, report=True)
    return {"twin": every_entry, "twin_parameters": twin.num_parameters(), "model": projections}


# --------------------------------------------------------------------------- 5. one convolution's backward


def tiny_convolution() -> dict[str, Tensor]:
    """A 4x4 image, two 3x3 kernels (an edge detector, a Laplacian) and L = Σ t·z for z = conv2d(x, w),
    where t picks z's top-left pixel in channel 0 and its bottom-right one in channel 1."""
    x = Tensor(np.array([[0, 1, 2, 0], [1, 3, 1, 0], [0, 2, 4, 1], [1, 0, 1, 2]], dtype=float).reshape(1, 1, 4, 4),
               requires_grad=True, label="image x")
    w = Tensor(np.array([[[1, 0, -1], [2, 0, -2], [1, 0, -1]], [[0, 1, 0], [1, -4, 1], [0, 1, 0]]],
                        dtype=float).reshape(2, 1, 3, 3), requires_grad=True, label="kernels w")
    t = Tensor(np.array([[[1, 0], [0, 0]], [[0, 0], [0, 1]]], dtype=float).reshape(1, 2, 2, 2), label="picks t")
    z = F.conv2d(x, w)
    z.label = "z"
    loss = (z * t).sum()
    loss.label = "L"
    return {"x": x, "w": w, "t": t, "z": z, "loss": loss}


CAPTION = [  # lines under the drawing (g, as in the op's derivative texts, is what reaches its output)
    "g = dL/dz, the gradient reaching the conv (here t)",
    "image edge, convᵀ(g, w): each kernel times its g, laid back on the window it read (overlaps add)",
    "kernel edge, Σ windows(x)·g: each kernel gets the windows of x it read, times their g",
]


# --------------------------------------------------------------------------- 6. pictures


def plot_filters(model: nn.Sequential, path: Path) -> Path:
    """The first layer's 3x3 kernels, each with its weights written in (red positive, blue negative)."""
    first: Any = model[0]
    kernels = first.weight.numpy()[:, 0]
    columns = 8
    rows = -(-len(kernels) // columns)
    limit = float(np.abs(kernels).max())
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.3, rows * 1.5), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for k, (ax, kernel) in enumerate(zip(axes.ravel(), kernels)):
        ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (i, j), v in np.ndenumerate(kernel):
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7,
                    color="white" if abs(v) > 0.6 * limit else "black")
        ax.set_title(f"kernel {k}", fontsize=9)
    fig.suptitle("First-layer kernels after training (red: positive weight, blue: negative)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def feature_maps(model: nn.Sequential, image: np.ndarray) -> list[np.ndarray]:
    """The maps after each conv + ReLU for one image (1, 8, 8): [(C1, 8, 8), (C2, 8, 8)]."""
    maps = []
    h = Tensor(image[np.newaxis], device=model_device(model))
    with tg.no_grad():
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.ReLU) and h.ndim == 4:
                maps.append(h.numpy()[0])
    return maps


def plot_feature_maps(model: nn.Sequential, image: np.ndarray, label: int, path: Path) -> Path:
    """One test digit, then its maps after the first and the second conv + ReLU, 8 to a row."""
    maps = feature_maps(model, image)
    columns = 8
    rows = [("input", [image[0]])] + [(f"conv{k + 1} + relu", list(m)) for k, m in enumerate(maps)]
    n_rows = sum(-(-len(ms) // columns) for _, ms in rows)
    fig, axes = plt.subplots(n_rows, columns, figsize=(columns * 1.1, n_rows * 1.25), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    r = 0
    for name, ms in rows:
        # one scale per layer, so a dark map found little; square-root colours, so weak responses still show
        scale = PowerNorm(0.5, vmin=0.0, vmax=max(float(np.max(ms)), 1e-12))
        for k, m in enumerate(ms):
            ax = axes[r + k // columns, k % columns]
            if name == "input":
                ax.imshow(m, cmap="gray_r", vmin=0.0, vmax=1.0)
            else:
                ax.imshow(m, cmap="magma", norm=scale)
            ax.set_title(f"{name}" if name == "input" else f"{name[:5]} map {k}", fontsize=8)
        r += -(-len(ms) // columns)
    fig.suptitle(f"A test digit ({label}) and what each convolution finds in it\n"
                 "(after relu; one colour scale per layer, by square root: bright is strong, black is nothing found)")
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.01, top=1 - 0.95 / fig.get_figheight(), hspace=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_training(losses: list[float], accuracies: list[float], path: Path) -> Path:
    """Train loss per epoch (log scale) beside the test accuracy per epoch, with the MLP's as a line."""
    epochs = np.arange(1, len(losses) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.semilogy(epochs, losses, marker="o", markersize=3)
    left.set(title="Training loss (cross-entropy)", xlabel="epoch", ylabel="mean loss over the epoch")
    right.plot(epochs, [100 * a for a in accuracies], marker="o", markersize=3, color="tab:green", label="CNN")
    right.axhline(100 * MLP_TEST_ACCURACY, color="tab:gray", linestyle="--",
                  label=f"MLP of examples/digits.py ({100 * MLP_TEST_ACCURACY:.1f}%)")
    right.set(title="Test accuracy", xlabel="epoch", ylabel="% of test digits right",
              ylim=(max(80.0, 100 * min(accuracies) - 1), 100.0))
    right.legend(loc="lower right")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
        ax.set_xticks(epochs)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_mistakes(X: np.ndarray, labels: np.ndarray, predictions: np.ndarray, path: Path, most: int = 24) -> Path:
    """The first `most` test digits the model gets wrong, each titled 'true -> predicted'."""
    wrong = np.flatnonzero(labels != predictions)[:most]
    columns = 8
    rows = max(1, -(-len(wrong) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.2, rows * 1.4 + 0.5), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, k in zip(axes.ravel(), wrong):
        ax.imshow(X[k, 0], cmap="gray_r", vmin=0.0, vmax=1.0)
        ax.set_title(f"{labels[k]} -> {predictions[k]}", fontsize=9, color="tab:red")
    fig.suptitle(f"Test digits the CNN reads wrongly (true -> predicted): {len(wrong)} of "
                 f"{int(np.sum(labels != predictions))} shown")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- the run


def run(quick: bool = False, out: Path = Path("out/cnn_digits"), seed: int = 0, device: str = "cpu") -> dict[str, Any]:
    """Train the CNN on the digits, check it, and write the pictures; returns the results (for `seed`).
    device="cuda" runs the same code on a GPU (fit takes the data where the model is)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    X_train, y_train = tg.data.digits("train", seed=seed, flatten=False)
    X_test, y_test = tg.data.digits("test", seed=seed, flatten=False)
    X_train, X_test = X_train[:, np.newaxis], X_test[:, np.newaxis]  # one channel: (N, 1, 8, 8)
    X_shifted = shifted_copies(X_train)
    y_shifted = np.tile(y_train, len(X_shifted) // len(X_train))
    print(f"1. Digits: {len(X_train)} training images, {len(X_shifted)} with the one-pixel shifts; "
          f"{len(X_test)} test images")

    model = build_model(seed=seed).to(device)
    epochs = QUICK_EPOCHS if quick else EPOCHS
    print(f"2. {model.num_parameters()} parameters:\n   " + repr(model).replace("\n", "\n   "))

    optimizer = tg.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    scheduler = tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    print(f"3. Training: {epochs} epochs, minibatches of {BATCH_SIZE}, SGD (lr {LR} on a cosine, momentum {MOMENTUM})")
    test_accuracies: list[float] = []
    start = time.perf_counter()

    def after_epoch(epoch: int, loss: float) -> None:
        test_accuracies.append(float(np.mean(predict(model, X_test) == y_test)))
        print(f"   epoch {epoch + 1:2d}/{epochs}: train loss {loss:.4f}, test accuracy {100 * test_accuracies[-1]:.2f}%"
              f" ({time.perf_counter() - start:.1f} s)", flush=True)

    losses = tg.fit(
        model, tg.cross_entropy, optimizer, X_shifted, y_shifted,
        epochs=epochs, batch_size=BATCH_SIZE, seed=seed, scheduler=scheduler,
        progress=sys.stderr.isatty(),  # a progress line on a terminal, none in a log or a test
        callback=after_epoch,
    )  # fmt: skip
    predictions = predict(model, X_test)
    accuracy = float(np.mean(predictions == y_test))
    print(f"   test accuracy {100 * accuracy:.2f}% ({int(np.sum(predictions == y_test))} of {len(y_test)} test digits "
          f"right); the MLP of examples/digits.py: {100 * MLP_TEST_ACCURACY:.2f}%")

    stats = step_stats(model, X_train, y_train)
    closed_form = conv_macs(CHANNELS, STATS_BATCH)
    print(f"4. One training step on {STATS_BATCH} images, counted by tg.graph_stats:")
    print("   " + str(stats).replace("\n", "\n   "))
    print(f"   conv MACs forward {stats.forward_macs_by_op['conv2d']:,} (closed form {closed_form[0]:,}), "
          f"backward {stats.backward_macs_by_op['conv2d']:,} (closed form {closed_form[1]:,}); "
          f"{stats.forward_macs_by_op['conv2d'] / stats.forward_macs:.0%} of the forward's MACs")
    print(f"   a kernel weight is used at all 64 positions of every image, so the forward costs "
          f"{stats.macs_per_parameter_per_example():.1f} MACs per parameter per example (an MLP's: just under 1)")
    checks = check_gradients(model, X_train, y_train, seed)
    print(f"   check_module_grads, float64, 2 images: the narrow twin ({checks['twin_parameters']} parameters) "
          f"{'passes' if checks['twin'].passed else 'FAILS'} entry by entry; the trained model "
          f"{'passes' if checks['model'].passed else 'FAILS'} by random projections")

    tiny = tiny_convolution()
    drawing = tg.draw_graph(tiny["loss"])
    drawing.attr(label="\\n".join(CAPTION), labelloc="b", fontsize="12", fontname=FONT)
    tiny["loss"].backward()
    print("5. One convolution's backward (conv_backward.png): dL/dz = t picks one output pixel per kernel, so")
    print("   dL/dx, kernel 0 laid on the top-left window plus kernel 1 on the bottom-right one:")
    print("   " + str(tiny["x"].grad[0, 0]).replace("\n", "\n   "))
    print("   dL/dw, each kernel's window of the image:")
    print("   " + str(tiny["w"].grad[:, 0]).replace("\n", "\n   "))

    example = int(np.flatnonzero(y_test == 8)[0])
    pictures = [
        plot_filters(model, out / "filters.png"),
        plot_feature_maps(model, X_test[example], int(y_test[example]), out / "feature_maps.png"),
        plot_training(losses, test_accuracies, out / "training.png"),
        plot_mistakes(X_test, y_test, predictions, out / "mistakes.png"),
        tg.render(drawing, out / "conv_backward.png"),
    ]
    print("6. Pictures:")
    for path in pictures:
        print(f"   {path.resolve()}")
    return {
        "test_accuracy": accuracy,
        "losses": losses,
        "test_accuracies": test_accuracies,
        "predictions": predictions,
        "labels": y_test,
        "model": model,
        "stats": stats,
        "conv_macs_closed_form": closed_form,
        "gradcheck": checks,
        "tiny_convolution": tiny,
        "pictures": pictures,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"train {QUICK_EPOCHS} epochs instead of {EPOCHS}")
    parser.add_argument("--out", type=Path, default=Path("out/cnn_digits"), help="folder for the pictures")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the weights and the batch order")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda (needs CuPy: pip install 'tinygrad_edu[gpu]')")
    args = parser.parse_args()
    run(quick=args.quick, out=args.out, seed=args.seed, device=args.device)
