"""The post's running example, exactly: its network, its forward pass, its three backward steps, its training.

The network has neurons 1..9 in four layers: 1 is the input, 2, 5 and 8 are bias neurons (they output
1), 3, 4, 6 and 7 apply the sigmoid, and 9 is the output (identity here, so the network can fit any
real target). The edges are sparse: 3 feeds only 6, while 4 feeds both 6 and 7.

1. Forward: z_j (what goes into neuron j) and a_j = f_j(z_j) (what comes out), layer by layer.
2. Backward, as the post does it by hand, with plain floats:
   step 1  delta_9 = dL/da_9 · f_9'(z_9), with dL/da_9 = -2 (y - a_9) for L = (y - a_9)²;
   step 2  layer by layer in reverse: delta_j = (Σ over the edges j -> k of delta_k · w_jk) · f_j'(z_j),
           a sum of two terms for neuron 4 and one for neuron 3;
   step 3  every weight: dL/dw_ij = delta_j · a_i.
   Side by side with the engine's gradients (loss.backward()) and central finite differences.
3. Pictures: the computation graph, with what flows on every edge, and the neuron view like the
   post's figures (input green, output red, bias blue), as SVG and PNG.
4. Training by stochastic gradient descent, one point at a time, with a step size that decreases
   over training, restarted from different initial weights; the best run is kept (a loss-curve picture).
   The data come from a network of the same shape, so a perfect fit exists: the runs that stop far
   from zero loss are stuck in local minima, which is why the post restarts.

Run: python examples/article_network.py [--quick] [--out DIR]   (make demo runs it)
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # pictures go to files
import matplotlib.pyplot as plt  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Value  # noqa: E402
from tinygrad_edu.nn import NeuronNetwork  # noqa: E402

EDGES = [(1, 3), (1, 4), (2, 3), (2, 4), (3, 6), (4, 6), (4, 7), (5, 6), (5, 7), (6, 9), (7, 9), (8, 9)]
INPUTS, BIASES, OUTPUTS = [1], [2, 5, 8], [9]
ACTIVATION = {3: "sigmoid", 4: "sigmoid", 6: "sigmoid", 7: "sigmoid", 9: "identity"}
X, Y = 0.5, 0.8  # the training point the backward pass is shown for


def build_network(seed: int) -> NeuronNetwork:
    return NeuronNetwork(EDGES, inputs=INPUTS, biases=BIASES, outputs=OUTPUTS, activation=ACTIVATION, rng=seed)


def point_loss(net: NeuronNetwork, x: float, y: float) -> tuple[dict[int, Value], dict[int, Value], Value]:
    """z, a and the post's loss L = (y - a_9)² at one training point."""
    z, a = net.evaluate(x)
    loss = (y - a[9]) ** 2
    loss.label = "L"
    return z, a, loss


# --------------------------------------------------------------------------- 1. forward


def show_forward(net: NeuronNetwork, z: dict[int, Value], a: dict[int, Value]) -> None:
    print(f"1. Forward pass at x = {X} (layers {net.layers()}):")
    print(f"   {'neuron':>6} {'layer':>5} {'role':>8} {'z_j':>10} {'a_j':>10}")
    layer_of = {n: k + 1 for k, layer in enumerate(net.layers()) for n in layer}
    for n in net.neurons:
        role = "input" if n in INPUTS else "bias" if n in BIASES else ACTIVATION[n]
        zj = f"{z[n].data:10.6f}" if n in z else f"{'':>10}"
        print(f"   {n:>6} {layer_of[n]:>5} {role:>8} {zj} {a[n].data:10.6f}")


# --------------------------------------------------------------------------- 2. backward by hand


def derivative(n: int, a: dict[int, float]) -> float:
    """f_n'(z_n), from the neuron's output: s' = s (1 - s) for the sigmoid, 1 for the identity."""
    return a[n] * (1 - a[n]) if ACTIVATION[n] == "sigmoid" else 1.0


def backward_by_hand(net: NeuronNetwork, a_values: dict[int, float], y: float) -> tuple[dict[int, float], dict[tuple[int, int], float], list[str]]:
    """The post's three steps with plain floats: deltas, weight derivatives, and the lines to print."""
    w = {e: net.w[e].data for e in EDGES}
    lines = []
    delta = {9: -2 * (y - a_values[9]) * derivative(9, a_values)}  # step 1
    lines.append("   step 1: delta_9 = -2 (y - a_9) · f_9'(z_9) "
                 f"= -2 ({y} - {a_values[9]:.6f}) · {derivative(9, a_values):.6f} = {delta[9]:.8f}")
    for layer in reversed(net.layers()[1:-1]):  # step 2: layer by layer, in reverse
        for j in layer:
            if j in BIASES:
                continue
            outgoing = [k for i, k in EDGES if i == j]
            total = sum(delta[k] * w[j, k] for k in outgoing)  # the sum over every edge leaving j
            delta[j] = total * derivative(j, a_values)
            terms = " + ".join(f"delta_{k}·w_{j}{k}" for k in outgoing)
            numbers = " + ".join(f"{delta[k]:.6f}·{w[j, k]:.6f}" for k in outgoing)
            lines.append(f"   step 2: delta_{j} = ({terms}) · f_{j}'(z_{j}) = ({numbers}) · "
                         f"{derivative(j, a_values):.6f} = {delta[j]:.8f}")
    grads = {(i, j): delta[j] * a_values[i] for i, j in EDGES}  # step 3
    return delta, grads, lines


def show_backward(net: NeuronNetwork, z: dict[int, Value], a: dict[int, Value], loss: Value) -> dict[str, Any]:
    a_values = {n: v.data for n, v in a.items()}
    delta, hand, lines = backward_by_hand(net, a_values, Y)
    loss.backward()
    weights = [net.w[e] for e in EDGES]
    numeric = tg.numerical_grad(lambda *_: point_loss(net, X, Y)[2], weights)  # the forward alone, nudged
    print(f"\n2. Backward pass for L = (y - a_9)² at y = {Y} (L = {loss.data:.8f}), in the post's three steps:")
    print("\n".join(lines))
    print(f"\n   {'neuron':>6} {'delta by hand':>15} {'engine dL/dz':>15}")
    for j in sorted(delta):
        print(f"   {j:>6} {delta[j]:15.10f} {z[j].grad:15.10f}")
    print(f"\n   step 3: dL/dw_ij = delta_j · a_i")
    print(f"   {'weight':>7} {'by hand':>15} {'engine':>15} {'finite diff':>15}")
    worst = 0.0
    for (i, j), nd in zip(EDGES, numeric):
        engine = net.w[i, j].grad
        print(f"   w_{i}{j:<4} {hand[i, j]:15.10f} {engine:15.10f} {float(nd):15.10f}")
        worst = max(worst, abs(engine - hand[i, j]), abs(engine - float(nd)))
    print(f"   largest disagreement: {worst:.2e}")
    print("\n   The same sum for neuron 4, as the engine explains it:")
    print("   " + tg.explain(a[4]).replace("\n", "\n   "))
    return {"deltas_by_hand": delta, "deltas_engine": {j: z[j].grad for j in delta}, "weight_grads_by_hand": hand,
            "weight_grads_engine": {e: net.w[e].grad for e in EDGES},
            "weight_grads_numeric": {e: float(nd) for e, nd in zip(EDGES, numeric)}, "max_disagreement": worst}


# --------------------------------------------------------------------------- 3. pictures


def draw(net: NeuronNetwork, loss: Value, out: Path) -> list[Path]:
    pictures = []
    for fmt in ("svg", "png"):
        pictures.append(tg.render(loss, out / f"computation_graph.{fmt}"))
        pictures.append(tg.render(net, out / f"neuron_view.{fmt}", x=X, target=Y))
    print("\n3. Pictures (open them in a browser or an image viewer):")
    for path in pictures:
        print(f"   {path.resolve()}")
    return pictures


# --------------------------------------------------------------------------- 4. training


# A network of the same shape with chosen weights: its bump is a target a perfect fit exists for, so a
# run that ends far from zero loss is stuck in a local minimum, not short of capacity.
TEACHER = {(1, 3): 4, (2, 3): -2, (1, 4): 4, (2, 4): 2, (3, 6): -6, (4, 6): 6, (5, 6): -3, (4, 7): 3, (5, 7): -1.5,
           (6, 9): 2, (7, 9): 0.5, (8, 9): -0.5}


def teacher() -> NeuronNetwork:
    return NeuronNetwork(EDGES, inputs=INPUTS, biases=BIASES, outputs=OUTPUTS, activation=ACTIVATION, weights=TEACHER)


def training_data(points: int) -> list[tuple[float, float]]:
    """`points` evenly spaced x in [-2, 2], with the teacher network's output as y."""
    net = teacher()
    with tg.no_grad():
        return [(x, net(x).data) for x in (-2 + 4 * k / (points - 1) for k in range(points))]


def train(net: NeuronNetwork, data: list[tuple[float, float]], epochs: int, seed: int) -> list[float]:
    """SGD one point at a time; the step size decreases as 1 / (1 + epoch / 20). Returns the mean
    loss of every epoch (each point's loss before its own update)."""
    rng = random.Random(seed)
    order = list(data)
    history = []
    for epoch in range(epochs):
        step = 1.0 / (1 + epoch / 20)
        rng.shuffle(order)
        total = 0.0
        for x, y in order:
            _, _, loss = point_loss(net, x, y)
            net.zero_grad()
            loss.backward()
            for w in net.parameters():
                w.data -= step * w.grad
            total += loss.data
        history.append(total / len(order))
    return history


def show_training(out: Path, quick: bool) -> dict[str, Any]:
    data = training_data(9 if quick else 21)
    epochs, restarts = (15, 3) if quick else (300, 10)
    histories: dict[int, list[float]] = {}

    def run_one(net: NeuronNetwork) -> list[float]:
        history = train(net, data, epochs, seed=len(histories))
        histories[len(histories)] = history
        return history

    print(f"\n4. Training on {len(data)} points made by a network of the same shape (so zero loss is reachable):\n"
          f"   SGD one point at a time, step 1 / (1 + epoch/20), {epochs} epochs, {restarts} restarts from "
          "different initial weights")
    result = tg.best_of_restarts(restarts, make_model=build_network, train=run_one)
    for i, h in histories.items():
        mark = "  <- kept" if i == result.index else ""
        print(f"   restart {i}: final mean loss {h[-1]:.6f}{mark}")
    fig, (ax, fit) = plt.subplots(1, 2, figsize=(10, 4))
    for i, h in histories.items():
        ax.plot(range(1, epochs + 1), h, lw=2.5 if i == result.index else 1,
                label=f"restart {i}" + (" (best)" if i == result.index else ""))
    ax.set(xlabel="epoch", ylabel="mean loss", yscale="log", title="SGD from different initial weights")
    ax.legend(fontsize=7, loc="upper right")
    grid = [-2 + k / 25 for k in range(101)]
    with tg.no_grad():
        predicted = [result.model(x).data for x in grid]
        target = [teacher()(x).data for x in grid]
    fit.plot(grid, target, "k--", label="target (the teacher network)")
    fit.plot(grid, predicted, label=f"best network (restart {result.index})")
    fit.scatter([x for x, _ in data], [y for _, y in data], s=12, label="training points")
    fit.set(xlabel="x", ylabel="y", title="the kept network")
    fit.legend(fontsize=7)
    fig.tight_layout()
    picture = out / "training_restarts.png"
    fig.savefig(picture, dpi=120)
    plt.close(fig)
    print(f"   loss curves: {picture.resolve()}")
    return {"best_loss": result.loss, "best_restart": result.index, "final_losses": result.losses,
            "pictures": [picture]}


def run(quick: bool = False, out: Path = Path("out/article_network"), seed: int = 0) -> dict[str, Any]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    net = build_network(seed)
    z, a, loss = point_loss(net, X, Y)
    show_forward(net, z, a)
    results = show_backward(net, z, a, loss)
    results["forward"] = {"z": {j: v.data for j, v in z.items()}, "a": {j: v.data for j, v in a.items()}}
    pictures = draw(net, loss, out)
    training = show_training(out, quick)
    results["training"] = training
    results["pictures"] = pictures + training["pictures"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short training run")
    parser.add_argument("--out", type=Path, default=Path("out/article_network"), help="where pictures go")
    args = parser.parse_args()
    run(quick=args.quick, out=args.out)


if __name__ == "__main__":
    main()
