"""Vanishing and exploding gradients in a recurrent network: the Q&A's back-of-the-envelope, checked.

A one-layer linear RNN h_t = W h_{t-1} + U x_t with W = P D P^T (P orthogonal, D diagonal) has

    dh_t/dh_k = W · W · ... · W  (t - k times)  = P D^(t-k) P^T,

so the gradient through t - k steps scales like |λ|^(t-k), λ the eigenvalue of largest modulus: it
vanishes for |λ| < 1, stays put for |λ| = 1 and explodes for |λ| > 1 (Pascanu et al., "On the
difficulty of training recurrent neural networks").

This script lets the engine find the Jacobians (tg.grad, one backward pass per row; no derivative is
written by hand), compares them with P D^(t-k) P^T, and plots their spectral norms (largest singular
value) against t - k for λ = 0.9, 1.0, 1.1. Then the same with h_t = tanh(W h_{t-1} + U x_t): each
step multiplies by diag(1 - h_t²) W, and since 1 - h² < 1 the gradients vanish even at λ = 1. Above 1
it depends on how saturated the units are along the way (saturated units pass back little).

Run: python examples/rnn_gradients.py [--quick] [--out out/rnn_gradients]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # the pictures go to files; no window opens
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Tensor  # noqa: E402

LAMBDAS = (0.9, 1.0, 1.1)  # the largest eigenvalue modulus: below, at and above 1
SHAPE = (1.0, -0.8, 0.5, 0.25)  # D = λ · SHAPE: the other eigenvalues are smaller (one negative)
HIDDEN, INPUTS = len(SHAPE), 2


def orthogonal(n: int, seed: int) -> np.ndarray:
    """A random n×n orthogonal matrix: Q of the QR decomposition of a seeded Gaussian matrix."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    return q * np.sign(np.diag(r))  # fix the signs so that Q is uniformly distributed


def recurrent_matrix(eigenvalues: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(W, P) with W = P D P^T, D = diag(eigenvalues): symmetric, so its spectral norm is max |eigenvalue|."""
    P = orthogonal(len(eigenvalues), seed)
    return P @ np.diag(eigenvalues) @ P.T, P


def inputs(steps: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(U, xs): the input matrix and a sequence of `steps` random inputs x_1..x_steps."""
    rng = np.random.default_rng(seed)
    return 0.3 * rng.normal(size=(HIDDEN, INPUTS)), rng.normal(size=(steps, INPUTS))


def unroll(W: np.ndarray, U: np.ndarray, xs: np.ndarray, nonlinearity: str | None = None) -> list[Tensor]:
    """The hidden states h_0 (zeros), h_1, ..., h_T as graph nodes, all connected through W."""
    h = Tensor(np.zeros(W.shape[0]), requires_grad=True, label="h0")  # the graph starts here
    W_ = Tensor(W, label="W")
    states = [h]
    for t, x in enumerate(xs, start=1):
        z = W_ @ h + U @ x  # U x_t does not depend on h: a constant
        h = z.tanh() if nonlinearity == "tanh" else z
        h.label = f"h{t}"
        states.append(h)
    return states


def jacobians(states: list[Tensor], t: int) -> list[np.ndarray]:
    """[dh_t/dh_k for k = 0..t], by the engine: row i of every one of them comes from one backward pass
    seeded with the unit vector e_i (the gradient of h_t[i] with respect to every h_k at once)."""
    n = states[t].shape[0]
    rows = [tg.grad(states[t], states[: t + 1], grad_outputs=np.eye(n)[i], retain_graph=True) for i in range(n)]
    return [np.stack([rows[i][k] for i in range(n)]) for k in range(t + 1)]


def spectral_norm(J: np.ndarray) -> float:
    """The largest singular value: how much dh_t/dh_k can stretch a gradient."""
    return float(np.linalg.norm(J, 2))


def tanh_product(W: np.ndarray, states: list[Tensor], t: int, k: int) -> np.ndarray:
    """diag(1 - h_t²) W · diag(1 - h_{t-1}²) W · ... · diag(1 - h_{k+1}²) W, from the states' values."""
    J = np.eye(W.shape[0])
    for i in range(t, k, -1):  # the latest step is the leftmost factor
        J = J @ (np.diag(1 - states[i].data ** 2) @ W)
    return J


def run(quick: bool = False, out: Path = Path("out/rnn_gradients")) -> dict[str, Any]:
    """Check dh_t/dh_k = P D^(t-k) P^T and plot ||dh_t/dh_k|| against t - k; returns the errors, the norms
    (linear and tanh, per λ, for t - k = 0..T) and "pictures": a list of the files written."""
    out.mkdir(parents=True, exist_ok=True)
    steps = 25 if quick else 60
    U, xs = inputs(steps)

    # 1. the engine's Jacobians against P D^(t-k) P^T (the largest λ: the hardest for rounding)
    D = LAMBDAS[-1] * np.array(SHAPE)
    W, P = recurrent_matrix(D)
    J = jacobians(unroll(W, U, xs), steps)
    errors = [np.abs(J[k] - P @ np.diag(D ** (steps - k)) @ P.T).max() for k in range(steps + 1)]
    max_error = float(max(errors))
    print(f"Linear RNN, hidden size {HIDDEN}, eigenvalues of W: {np.round(D, 3).tolist()}, T = {steps}")
    print(f"  max |dh_T/dh_k (engine) - P D^(T-k) P^T| over k = 0..{steps}: {max_error:.2e}")
    for k in (steps - 1, steps - 5, 0):
        print(f"  k = {k:2d}: largest entry {np.abs(J[k]).max():10.4f}, error {errors[k]:.1e}")

    # 2. the norms against t - k, linear and tanh; for symmetric W the linear ones are exactly |λ|^(t-k)
    norms: dict[str, dict[float, list[float]]] = {"linear": {}, "tanh": {}}
    tanh_errors = []
    for lam in LAMBDAS:
        W, _ = recurrent_matrix(lam * np.array(SHAPE))
        for kind in norms:
            states = unroll(W, U, xs, "tanh" if kind == "tanh" else None)
            J = jacobians(states, steps)
            norms[kind][lam] = [spectral_norm(J[steps - gap]) for gap in range(steps + 1)]  # index: t - k
            if kind == "tanh":
                tanh_errors += [np.abs(J[k] - tanh_product(W, states, steps, k)).max() for k in range(steps + 1)]
    tanh_error = float(max(tanh_errors))
    print(f"  tanh RNN: max |dh_T/dh_k (engine) - prod diag(1 - h_i²) W| = {tanh_error:.2e}")

    gaps = list(range(0, steps + 1, 5))
    print(f"\nSpectral norm of dh_T/dh_k against t - k = T - k (T = {steps})")
    print("t - k " + "".join(f"{f'linear λ={lam}':>14}" for lam in LAMBDAS) + "".join(f"{f'tanh λ={lam}':>14}" for lam in LAMBDAS))
    for gap in gaps:
        cells = [norms["linear"][lam][gap] for lam in LAMBDAS] + [norms["tanh"][lam][gap] for lam in LAMBDAS]
        print(f"{gap:5d} " + "".join(f"{c:14.4g}" for c in cells))
    print("Linear: the norms are exactly |λ|^(t-k) (W is symmetric). tanh: every step also multiplies by\n"
          "diag(1 - h²), whose entries are below 1, so even λ = 1 vanishes.")

    pictures = [plot(norms, steps, out / "rnn_gradient_norms.png")]
    return {"max_jacobian_error": max_error, "max_tanh_jacobian_error": tanh_error, "steps": steps,
            "norms": norms, "pictures": pictures}


def plot(norms: dict[str, dict[float, list[float]]], steps: int, path: Path) -> str:
    """Two log-scale panels, linear and tanh: ||dh_t/dh_k|| against t - k, one curve per λ."""
    gap = np.arange(steps + 1)
    colours = dict(zip(LAMBDAS, ("tab:blue", "tab:green", "tab:red")))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, kind in zip(axes, ("linear", "tanh")):
        for lam in LAMBDAS:
            ax.semilogy(gap, norms[kind][lam], "o-", ms=3, color=colours[lam], label=f"largest |eigenvalue| = {lam}")
            if kind == "linear":
                ax.semilogy(gap, lam ** gap.astype(float), "--", color="black", lw=0.8, zorder=3)  # |λ|^(t-k)
        title = "h_t = W h_{t-1} + U x_t" if kind == "linear" else "h_t = tanh(W h_{t-1} + U x_t)"
        ax.set(title=title, xlabel="t - k (steps back in time)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("spectral norm of dh_t/dh_k")
    axes[0].legend(title="dashed: |λ|^(t-k)")
    fig.suptitle("Linear: gradients through time explode above 1, vanish below. tanh: they vanish at 1 too")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter sequence")
    parser.add_argument("--out", type=Path, default=Path("out/rnn_gradients"), help="folder for the pictures")
    args = parser.parse_args()
    results = run(quick=args.quick, out=args.out)
    print("\nPictures:", *results["pictures"], sep="\n  ")
