"""With identity functions in every neuron, a layered network is one matrix: the post's claim, checked.

Each layer computes z = W a + b, and with f = identity that is all it does. An affine map is a matrix
in homogeneous coordinates, [a; 1] -> [[W, b], [0, 1]] [a; 1]: the post's bias neurons, which always
output 1, are exactly that extra coordinate. So the whole network is the product of its layers'
matrices, M = M_L ... M_2 M_1, however many layers it has.

1. The post's network (neurons 1..9, bias neurons 2, 5, 8), every function the identity. It is not
   dense (there is no edge 3 -> 7), so each layer's matrix is built from `net.w`, with a zero where
   there is no edge. The product is a 2×2 matrix: the network is the line x -> m x + c.
2. A dense MLP [3, 5, 4, 2] with no activation: the Linear layers' matrices, multiplied, give one
   Linear layer that computes the same outputs.
3. The same weights with sigmoid hidden neurons: the product of the matrices no longer gives the outputs, and no
   other matrix does either (the best affine least-squares fit still misses).

Run: python examples/identity_collapse.py [--quick] [--out out/identity_collapse]
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
from tinygrad_edu.nn import MLP, Linear, NeuronNetwork  # noqa: E402

# The post's network: edge i -> j carries w[i, j]; 2, 5, 8 are bias neurons, 1 the input, 9 the output.
EDGES = [(1, 3), (1, 4), (2, 3), (2, 4), (3, 6), (4, 6), (4, 7), (5, 6), (5, 7), (6, 9), (7, 9), (8, 9)]
BIASES = [2, 5, 8]
SIGMOID_HIDDEN = {3: "sigmoid", 4: "sigmoid", 6: "sigmoid", 7: "sigmoid", 9: "identity"}  # as in the post


def post_network(activation: str | dict[int, str], seed: int = 0) -> NeuronNetwork:
    """The post's network with the given function(s) in its computing neurons (3, 4, 6, 7 and 9).

    The weights depend only on the seed, so networks that differ in their functions share them."""
    return NeuronNetwork(EDGES, inputs=[1], biases=BIASES, outputs=[9], activation=activation, rng=seed)


def layer_matrices(net: NeuronNetwork) -> list[np.ndarray]:
    """One homogeneous matrix per pair of layers: [a_next; 1] = M [a; 1], where a lists a layer's
    non-bias neurons in numerical order. Works for any layered network, dense or not: a missing edge
    is a zero; every bias neuron's weight goes in the last column, since it outputs 1."""
    layers = [[n for n in layer if n not in net.biases] for layer in net.layers()]
    matrices = []
    for here, there in zip(layers, layers[1:]):
        M = np.zeros((len(there) + 1, len(here) + 1))
        M[-1, -1] = 1.0  # the constant 1 is carried along
        for r, j in enumerate(there):
            for i in net.incoming[j]:
                column = here.index(i) if i in here else len(here)  # a bias neuron: the 1 column
                M[r, column] += net.w[i, j].data
        matrices.append(M)
    return matrices


def linear_matrices(linears: list[Linear]) -> list[np.ndarray]:
    """[[W, b], [0, 1]] for each Linear layer (W of shape (out, in), as Linear stores it)."""
    matrices = []
    for layer in linears:
        n_out, n_in = layer.weight.shape
        M = np.zeros((n_out + 1, n_in + 1))
        M[:n_out, :n_in] = layer.weight.data
        M[:n_out, n_in] = 0.0 if layer.bias is None else layer.bias.data
        M[-1, -1] = 1.0
        matrices.append(M)
    return matrices


def collapse(matrices: list[np.ndarray]) -> np.ndarray:
    """The product M_L ... M_2 M_1: the first layer's matrix acts first, so it is rightmost."""
    product = np.eye(matrices[0].shape[1])
    for M in matrices:
        product = M @ product
    return product


def apply(M: np.ndarray, X: np.ndarray) -> np.ndarray:
    """M applied to each row of X (shape (N, n_in)) in homogeneous coordinates; returns (N, n_out)."""
    homogeneous = np.hstack([X, np.ones((len(X), 1))])
    return (homogeneous @ M.T)[:, :-1]


def best_affine_error(X: np.ndarray, Y: np.ndarray) -> float:
    """The largest error of the best affine fit Y ≈ [X, 1] A (least squares): zero when some matrix fits."""
    H = np.hstack([X, np.ones((len(X), 1))])
    A, *_ = np.linalg.lstsq(H, Y, rcond=None)
    return float(np.abs(H @ A - Y).max())


def network_outputs(net: NeuronNetwork, xs: np.ndarray) -> np.ndarray:
    """The post's network evaluated neuron by neuron (Values) at each row of xs (N, 1); shape (N, 1)."""
    with tg.no_grad():
        return np.array([[net(x.tolist()).data] for x in xs])  # one row: the input neurons


def run(quick: bool = False, out: Path = Path("out/identity_collapse")) -> dict[str, Any]:
    """Collapse identity networks to one matrix and check it; returns the matrices, the max errors and
    "pictures": a list of the files written."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n_points = 50 if quick else 500

    # 1. the post's network, identity everywhere: three 'layers' of matrices, one 2x2 product
    net = post_network("identity")
    matrices = layer_matrices(net)
    M_post = collapse(matrices)
    xs = rng.uniform(-6, 6, size=(n_points, 1))
    post_error = float(np.abs(network_outputs(net, xs) - apply(M_post, xs)).max())
    print(f"The post's network with identity functions, layers {net.layers()}")
    for k, M in enumerate(matrices, start=1):
        print(f"  layer {k} -> {k + 1}, shape {M.shape} (last column: bias weights; last row: the constant 1):")
        print("   " + np.array2string(M, precision=4, suppress_small=True).replace("\n", "\n   "))
    print("  the product M3 M2 M1:")
    print("   " + np.array2string(M_post, precision=4, suppress_small=True).replace("\n", "\n   "))
    print(f"  so a9 = {M_post[0, 0]:.4f} x {M_post[0, 1]:+.4f}; max |network - matrix| over {n_points} inputs: "
          f"{post_error:.1e}")

    # 2. a dense MLP with no activation; its product as a single Linear layer
    mlp = MLP([3, 5, 4, 2], activation="identity", rng=1)
    M_mlp = collapse(linear_matrices(mlp.layers))
    X = 2.0 * rng.normal(size=(n_points, 3))
    with tg.no_grad():
        mlp_out = mlp(Tensor(X)).data
    single = Linear(3, 2, rng=0)  # one layer, given the product's weights
    assert single.bias is not None
    single.weight.data[...] = M_mlp[:2, :3]
    single.bias.data[...] = M_mlp[:2, 3]
    with tg.no_grad():
        single_out = single(Tensor(X)).data
    mlp_error = float(np.abs(mlp_out - apply(M_mlp, X)).max())
    single_error = float(np.abs(mlp_out - single_out).max())
    print(f"\nMLP {mlp.sizes} without activations: product of 3 layer matrices has shape {M_mlp.shape}")
    print("   " + np.array2string(M_mlp, precision=4, suppress_small=True).replace("\n", "\n   "))
    print(f"  max |MLP - product matrix| over {n_points} inputs: {mlp_error:.1e}; "
          f"max |MLP - one Linear(3, 2) with those weights|: {single_error:.1e}")

    # 3. the same weights with sigmoid hidden neurons: the product is wrong, and so is every other matrix
    sig_net = post_network(SIGMOID_HIDDEN)  # the same seed: the same weights
    sig_post = network_outputs(sig_net, xs)
    sig_mlp = MLP([3, 5, 4, 2], activation="sigmoid", rng=1)  # the same weights as `mlp`
    with tg.no_grad():
        sig_mlp_out = sig_mlp(Tensor(X)).data
    nonlinear = {
        "post_vs_product": float(np.abs(sig_post - apply(collapse(layer_matrices(sig_net)), xs)).max()),
        "post_best_affine": best_affine_error(xs, sig_post) / float(np.ptp(sig_post)),
        "mlp_vs_product": float(np.abs(sig_mlp_out - apply(collapse(linear_matrices(sig_mlp.layers)), X)).max()),
        "mlp_best_affine": best_affine_error(X, sig_mlp_out) / float(np.ptp(sig_mlp_out, axis=0).min()),
    }
    print("\nThe same weights with sigmoid hidden neurons: no longer one matrix. Max errors:")
    print(f"  {'network':<15}{'identity: net - product':>25}{'sigmoid: net - product':>25}"
          f"{'sigmoid: best affine fit':>26}")
    for name, key, error in (("post (1 -> 1)", "post", post_error), ("MLP (3 -> 2)", "mlp", mlp_error)):
        print(f"  {name:<15}{error:>25.1e}{nonlinear[key + '_vs_product']:>25.3g}"
              f"{nonlinear[key + '_best_affine']:>25.0%}")
    print("  (the best affine fit is the least-squares one; its error is given as a fraction of the output's range)")

    pictures = [plot(net, sig_net, M_post, out / "identity_collapse.png")]
    return {
        "post_matrix": M_post, "mlp_matrix": M_mlp,
        "post_max_error": post_error, "mlp_max_error": mlp_error, "single_layer_max_error": single_error,
        "sigmoid": nonlinear, "pictures": pictures,
    }


def plot(net: NeuronNetwork, sig_net: NeuronNetwork, M: np.ndarray, path: Path) -> str:
    """The post's network as a function of x: identity (on the product's line) and sigmoid (a curve)."""
    xs = np.linspace(-6, 6, 121)[:, None]
    sig = network_outputs(sig_net, xs)[:, 0]
    H = np.hstack([xs, np.ones_like(xs)])
    line = H @ np.linalg.lstsq(H, sig, rcond=None)[0]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].plot(xs, network_outputs(net, xs)[:, 0], "o", ms=3, label="network, identity neurons")
    axes[0].plot(xs, apply(M, xs)[:, 0], "-", label=f"M3 M2 M1: {M[0, 0]:.3f} x {M[0, 1]:+.3f}")
    axes[0].set(title="identity everywhere: one matrix", xlabel="x (neuron 1)", ylabel="a9")
    axes[1].plot(xs, sig, "o", ms=3, color="tab:red", label="network, sigmoid neurons")
    axes[1].plot(xs, line, "-", color="grey", label="best affine fit")
    axes[1].set(title="sigmoid: no matrix fits", xlabel="x (neuron 1)")
    for ax in axes:
        ax.legend()
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer random inputs")
    parser.add_argument("--out", type=Path, default=Path("out/identity_collapse"), help="folder for the picture")
    args = parser.parse_args()
    results = run(quick=args.quick, out=args.out)
    print("\nPictures:", *results["pictures"], sep="\n  ")
