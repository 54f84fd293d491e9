"""One hidden layer can compute any boolean function of n bits: by construction, then by training.

The post claims that a network with a single hidden layer implements any boolean function of n bits,
with XOR and parity as the classic small cases. This example checks the claim twice:

1. By hand (a constructive proof). For every input row where the function is true, one hidden ReLU
   neuron fires exactly on that row and nowhere else (an AND of n literals); the output neuron adds
   them up (an OR: at most one detector fires, so the sum is 0 or 1). The weights are set explicitly
   in a `tg.nn.MLP([n, k, 1])` and the network is checked on all 2^n inputs, for parity and for
   random truth tables. When more than half the rows are true, the network detects the false rows
   instead and outputs 1 minus their sum, so k <= 2^(n-1).
2. By training. XOR and parity of 2..6 bits with `tg.nn.MLP([n, h, 1])` (tanh hidden units, a logit
   out, Adam on the binary cross-entropy), searching for the smallest hidden width h that classifies
   every row correctly. Training can get stuck in a local minimum, so each width gets several restarts
   from different initial weights (`tg.best_of_restarts`), and we count how many were needed.
   (Theory: n hidden units suffice for n-bit parity; the search shows what gradient descent finds.)

Run:  .venv/bin/python examples/boolean_functions.py [--quick] [--out out/boolean_functions]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib

matplotlib.use("Agg")  # pictures go to files; no window opens
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Tensor  # noqa: E402
from tinygrad_edu.nn import MLP  # noqa: E402
from tinygrad_edu.nn.functional import binary_cross_entropy_with_logits  # noqa: E402

# --------------------------------------------------------------------------- 1. by hand


def all_inputs(n: int) -> np.ndarray:
    """Every n-bit input, shape (2^n, n): row i is i in binary, most significant bit first (as tg.data.parity)."""
    return tg.data.parity(n)[0]


def build_network(truth: Any) -> MLP:
    """A [n, k, 1] ReLU network whose output is exactly truth[i] (0 or 1) on the input that is i in binary.

    `truth` has 2^n entries in the order of `all_inputs(n)`. Hidden neuron t detects one input row t:
    its weight on bit i is +1 where t_i = 1 and -1 where t_i = 0, its bias is 1 - (number of ones in t).
    On x = t the sum is 1; on any other x it is at most 0, so relu leaves exactly 1 or 0.
    """
    table = np.asarray(truth, dtype=np.float64).ravel()
    n = int(round(math.log2(len(table)))) if len(table) > 0 else -1
    if n < 1 or len(table) != 2**n or not np.isin(table, (0.0, 1.0)).all():
        raise ValueError(f"build_network: truth must hold 2^n zeros and ones (n >= 1), got {len(table)} entries")
    X = all_inputs(n)
    true_rows = table == 1.0
    complement = true_rows.sum() > len(table) / 2  # fewer detectors: detect the false rows, output 1 - their sum
    rows = X[~true_rows] if complement else X[true_rows]
    if len(rows) == 0:  # a constant function: one detector that never fires (an MLP needs a hidden unit)
        W1, b1 = np.zeros((1, n)), np.array([-1.0])
    else:
        W1 = 2.0 * rows - 1.0  # +1 for a bit that must be 1, -1 for a bit that must be 0
        b1 = 1.0 - rows.sum(axis=1)
    sign, offset = (-1.0, 1.0) if complement else (1.0, 0.0)
    model = MLP([n, len(W1), 1], activation="relu", output_activation=None)
    model.load_state_dict(
        {
            "layers.0.weight": W1,
            "layers.0.bias": b1,
            "layers.1.weight": np.full((1, len(W1)), sign),
            "layers.1.bias": np.array([offset]),
        }
    )
    return model


def evaluate(model: MLP, X: np.ndarray) -> np.ndarray:
    """The model's outputs on the rows of X, as a flat array (no graph is recorded)."""
    with tg.no_grad():
        return model(Tensor(X)).data.ravel()


def hand_built_table(seed: int = 0) -> list[dict[str, Any]]:
    """Build networks for parity, AND, OR and random truth tables; check each on all 2^n inputs."""
    rng = np.random.default_rng(seed)
    cases: list[tuple[str, np.ndarray]] = []
    for n in range(1, 7):
        X = all_inputs(n)
        cases.append((f"parity-{n}", X.sum(axis=1) % 2))
        cases.append((f"random-{n}", rng.integers(0, 2, size=2**n).astype(np.float64)))
    X4 = all_inputs(4)
    cases += [("AND-4", X4.min(axis=1)), ("OR-4", X4.max(axis=1)), ("false-3", np.zeros(8))]
    rows = []
    for name, truth in cases:
        table = np.asarray(truth, dtype=np.float64)
        n = int(math.log2(len(table)))
        model = build_network(table)
        out = evaluate(model, all_inputs(n))
        rows.append(
            {
                "name": name,
                "n": n,
                "true_rows": int(table.sum()),
                "hidden": model.sizes[1],
                "exact": bool(np.array_equal(out, table)),  # exact equality: the arithmetic is on small integers
            }
        )
    return rows


def print_xor_weights() -> None:
    """The XOR network built by hand, weight by weight: two detectors, then their sum."""
    model = build_network([0, 1, 1, 0])
    state = model.state_dict()
    W1, b1 = state["layers.0.weight"], state["layers.0.bias"]
    print("The hand-built XOR network: h_k = relu(w_k . x + b_k), y = sum of h_k")
    for k, (w, b) in enumerate(zip(W1, b1)):
        print(f"  h{k} = relu({w[0]:+.0f} x0 {w[1]:+.0f} x1 {b:+.0f})   fires only on x = {((w + 1) / 2).astype(int)}")
    for x, y in zip(all_inputs(2), evaluate(model, all_inputs(2))):
        print(f"  x = {x.astype(int)} -> y = {y:.0f}")


# --------------------------------------------------------------------------- 2. by training


class Search(NamedTuple):  # not a dataclass: the test harness loads examples outside sys.modules
    """The smallest hidden width that learned n-bit parity, and what it took to find it."""

    n: int
    width: int | None  # None: no width up to the cap reached 100% accuracy
    model: MLP | None  # the best restart at that width (lowest final loss, 100% accurate)
    restarts: int  # restarts per width
    successes: dict[int, int]  # width -> how many restarts reached 100% accuracy
    restarts_needed: int | None  # at the width found: index of the first successful restart, plus 1
    histories: list[list[float]]  # every restart's loss curve at the last width tried
    accuracies: list[float]  # and its final accuracy
    restarts_run: int  # over every width tried
    seconds: float


def accuracy(model: MLP, X: np.ndarray, y: np.ndarray) -> float:
    """The fraction of rows where the logit has the right sign (> 0 for 1)."""
    return float(np.mean((evaluate(model, X) > 0) == (y.ravel() > 0.5)))


def search_width(n: int, restarts: int, epochs: int, max_width: int, lr: float = 0.1) -> Search:
    """Try widths 1, 2, ... up to max_width; at each, `restarts` runs from seeds 0, 1, ...; stop at the
    first width where a run classifies all 2^n rows correctly (kept: the best run, if it is one of them)."""
    X, y = tg.data.parity(n)
    # A mean BCE below log(2) / 2^n means every row's loss is below log 2, so every row is on the right
    # side of 0.5: training stops there (half of it, for a margin), sure that it has 100% accuracy.
    target_loss = math.log(2) / 2**n / 2
    found: int | None = None
    winner: MLP | None = None
    needed: int | None = None
    successes: dict[int, int] = {}
    histories: list[list[float]] = []
    accuracies: list[float] = []
    models: list[MLP] = []
    start = time.perf_counter()
    for width in range(1, max_width + 1):
        histories, accuracies, models = [], [], []  # this width's restarts: filled by train()

        def make_model(i: int) -> MLP:
            return MLP([n, width, 1], activation="tanh", output_activation=None, rng=i)  # restart i: seed i

        def train(model: MLP) -> list[float]:
            opt = tg.optim.Adam(model.parameters(), lr=lr)
            history = tg.fit(
                model, binary_cross_entropy_with_logits, opt, X, y, epochs=epochs, progress=False,
                callback=lambda epoch, loss: loss < target_loss,
            )
            histories.append(history)
            accuracies.append(accuracy(model, X, y))
            models.append(model)
            return history

        best = tg.best_of_restarts(restarts, make_model, train)
        successes[width] = sum(a == 1.0 for a in accuracies)
        marks = " ".join("*" if a == 1.0 else "." for a in accuracies)
        print(f"  parity-{n}  width {width}: {successes[width]}/{restarts} restarts reach 100%  [{marks}]", flush=True)
        if successes[width] > 0:
            needed = accuracies.index(1.0) + 1
            # the lowest loss is nearly always a 100% run; if not, keep the first run that is
            winner = best.model if accuracy(best.model, X, y) == 1.0 else models[needed - 1]
            found = width
            break
    return Search(n, found, winner, restarts, successes, needed, histories, accuracies,
                  restarts_run=restarts * len(successes), seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------- pictures and tables


def plot(searches: list[Search], path: Path) -> None:
    """Width needed against n (with the theory and the hand-built widths), and the loss curves."""
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4.6))
    ns = [s.n for s in searches]
    ns_all = np.arange(min(ns), max(ns) + 1)
    left.plot(ns_all, 2.0 ** (ns_all - 1), "s--", color="tab:gray", label="hand-built: 2^(n-1) detectors")
    # wide and pale, so the training markers stay visible on top of it
    left.plot(ns_all, ns_all, "-", color="tab:green", lw=7, alpha=0.3, label="theory: n units suffice")
    found = [(s.n, s.width) for s in searches if s.width is not None]
    left.plot([n for n, _ in found], [w for _, w in found], "o-", color="tab:blue", ms=8, label="found by training")
    left.set(xlabel="n (bits)", ylabel="hidden units", title="Hidden width needed for n-bit parity")
    left.set_yscale("log", base=2)
    ticks = 2 ** np.arange(0, int(ns_all.max()))
    left.set_yticks(ticks, [str(t) for t in ticks])
    left.set_xticks(ns_all)
    left.legend()

    for s in searches:  # the curve of the best restart at the width found, one per n
        if s.model is not None:
            best = min(range(len(s.histories)), key=lambda i: s.histories[i][-1])
            middle.plot(s.histories[best], label=f"parity-{s.n}, width {s.width}")
    middle.set(xlabel="epoch", ylabel="BCE loss", yscale="log", title="Best run at the width found")
    middle.legend()

    last = next((s for s in reversed(searches) if s.model is not None), None)
    if last is not None:  # every restart at that width: the stuck ones plateau (local minima)
        for i, (history, acc) in enumerate(zip(last.histories, last.accuracies)):
            ok = acc == 1.0
            right.plot(history, color="tab:blue" if ok else "tab:red", alpha=0.9 if ok else 0.5,
                       label=f"restart {i}: {acc:.0%}")
        right.set(xlabel="epoch", ylabel="BCE loss", yscale="log",
                  title=f"All restarts, parity-{last.n}, width {last.width}")
        right.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_hand_built(rows: list[dict[str, Any]]) -> None:
    print(f"{'function':<10} {'n':>2} {'true rows':>9} {'hidden':>6}  exact on all 2^n inputs")
    for r in rows:
        print(f"{r['name']:<10} {r['n']:>2} {r['true_rows']:>9} {r['hidden']:>6}  {'yes' if r['exact'] else 'NO'}")


def print_searches(searches: list[Search]) -> None:
    print(f"{'function':<16} {'width found':>11} {'theory (n)':>10} {'hand-built':>10} "
          f"{'restarts needed':>15} {'restarts run':>12} {'time':>6}")
    for s in searches:
        name = "XOR (parity-2)" if s.n == 2 else f"parity-{s.n}"
        width = "none" if s.width is None else str(s.width)
        needed = "-" if s.restarts_needed is None else f"{s.restarts_needed} of {s.restarts}"
        print(f"{name:<16} {width:>11} {s.n:>10} {2 ** (s.n - 1):>10} {needed:>15} {s.restarts_run:>12} "
              f"{s.seconds:>5.1f}s")


# --------------------------------------------------------------------------- run


def run(quick: bool = False, out: Path = Path("out/boolean_functions")) -> dict[str, Any]:
    """Check the hand-built networks, search the smallest trainable width for parity of 2..6 bits
    (2..3 when quick), print tables and plot. Returns the key results, and "pictures": the files written.

    Keys: "hand_built" (one dict per truth table: name, n, true_rows, hidden, exact), "searches" (a
    Search per n), "widths" (n -> width found), "restarts_needed" (n -> count), "pictures".
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    print("1. One hidden layer, weights set by hand: one detector per true row, then their sum\n")
    print_xor_weights()
    print()
    hand_built = hand_built_table()
    print_hand_built(hand_built)

    max_bits, restarts, epochs = (3, 3, 1000) if quick else (6, 10, 2000)
    print(f"\n2. Training [n, h, 1] tanh MLPs on n-bit parity: the smallest width h that reaches 100% accuracy "
          f"({restarts} restarts per width, up to {epochs} epochs each; * = 100%, . = stuck)\n")
    searches = [search_width(n, restarts, epochs, max_width=n + 2) for n in range(2, max_bits + 1)]
    print()
    print_searches(searches)
    print("\nn units suffice for n-bit parity (n threshold units, one per count of ones); tanh units are not\n"
          "threshold units, so training may find a smaller width. Below the width found, every restart got\n"
          "stuck; at the width found, the stuck ones sit on plateaus or in local minima (within the epoch\n"
          "budget), and a restart from other initial weights gets out: the post's advice.")

    picture = out / "boolean_functions.png"
    plot(searches, picture)
    return {
        "hand_built": hand_built,
        "searches": searches,
        "widths": {s.n: s.width for s in searches},
        "restarts_needed": {s.n: s.restarts_needed for s in searches},
        "pictures": [str(picture)],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: parity up to 3 bits, 3 restarts")
    parser.add_argument("--out", type=Path, default=Path("out/boolean_functions"), help="folder for the pictures")
    args = parser.parse_args()
    results = run(quick=args.quick, out=args.out)
    print("\nPictures:", *results["pictures"], sep="\n  ")
