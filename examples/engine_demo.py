"""The engine end to end on the post's example network (neurons 1..9; 2, 5, 8 are bias neurons).

1. Forward pass neuron by neuron with Values, backward with the engine.
2. The post's three steps by hand (delta_9, deltas layer by layer, dL/dw_ij = delta_j * a_i),
   side by side with the engine's gradients and central finite differences (tg.numerical_grad),
   then tg.gradcheck's report on every weight.
3. Pictures: the computation graph with what flows on every edge, and the neuron view (the post's
   colours, weights, deltas and weight gradients), written to out/pictures/ as SVG and PNG; the
   chain rule for neuron 4 and the whole backward pass in the post's three steps, as text.
4. Training by SGD, one point at a time, with a decreasing step size.
5. The same engine on Tensors, through nn and optim: an MLP (gradients checked per parameter) learns XOR.

Run: python examples/engine_demo.py  (or `make demo`)
"""

from __future__ import annotations

import math
import pathlib
import random

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, Value

# The post's network: edge i->j carries weight w[i, j]; bias neurons output 1, neuron 1 is the input.
EDGES = [(1, 3), (1, 4), (2, 3), (2, 4), (3, 6), (4, 6), (4, 7), (5, 6), (5, 7), (6, 9), (7, 9), (8, 9)]
BIAS = {2, 5, 8}
HIDDEN = [3, 4, 6, 7]  # sigmoid neurons; 9 is the (identity) output


def forward(weights: dict[tuple[int, int], Value], x: float) -> tuple[dict[int, Value], dict[int, Value]]:
    """z_j = sum_i w_ij a_i and a_j = f_j(z_j), neuron by neuron in the post's order."""
    a: dict[int, Value] = {1: Value(x, label="a1", requires_grad=False)}
    a.update({b: Value(1.0, label=f"a{b}", requires_grad=False) for b in BIAS})
    z: dict[int, Value] = {}
    for j in [3, 4, 6, 7, 9]:
        z[j] = sum((weights[i, j] * a[i] for i, jj in EDGES if jj == j), Value(0.0, requires_grad=False))
        a[j] = z[j].sigmoid() if j in HIDDEN else z[j]
    return z, a


def loss_at(weights: dict[tuple[int, int], Value], x: float, y: float) -> Value:
    return (y - forward(weights, x)[1][9]) ** 2


def by_hand(weights: dict[tuple[int, int], Value], x: float, y: float) -> dict[tuple[int, int], float]:
    """Backpropagation as the post does it, with plain floats."""
    z, a = forward(weights, x)
    w = {e: v.data for e, v in weights.items()}
    act = {n: v.data for n, v in a.items()}
    s_prime = {j: act[j] * (1 - act[j]) for j in HIDDEN}  # sigmoid' = s(1 - s)
    delta = {9: -2 * (y - act[9]) * 1.0}  # step 1: dL/dz9 (identity output, f9' = 1)
    delta[6] = delta[9] * w[6, 9] * s_prime[6]  # step 2: layer by layer, in reverse
    delta[7] = delta[9] * w[7, 9] * s_prime[7]
    delta[3] = delta[6] * w[3, 6] * s_prime[3]  # 3 feeds only 6
    delta[4] = (delta[6] * w[4, 6] + delta[7] * w[4, 7]) * s_prime[4]  # 4 feeds 6 and 7: a sum
    return {(i, j): delta[j] * act[i] for i, j in EDGES}  # step 3: dL/dw_ij = delta_j * a_i


def draw_pictures(weights: dict[tuple[int, int], Value], x: float, y: float) -> None:
    """The same network as a NeuronNetwork: its graph and neuron view as files, its backward as text."""
    net = tg.nn.NeuronNetwork(EDGES, inputs=[1], biases=sorted(BIAS), outputs=[9],
                              activation={j: "sigmoid" if j in HIDDEN else "identity" for j in [3, 4, 6, 7, 9]},
                              weights={e: v.data for e, v in weights.items()})
    z, a = net.evaluate(x)
    loss = (y - a[9]) ** 2
    loss.label = "L"
    loss.backward()
    print("\nThe chain rule at neuron 4, which feeds two neurons (6 and 7):")
    print(tg.explain(a[4]))
    print("\nThe whole backward pass, in the post's three steps:")
    print(tg.trace_backward(loss, network=net))
    folder = pathlib.Path("out/pictures")
    written = []
    for fmt in ("svg", "png"):
        written.append(tg.render(loss, folder / f"post_graph.{fmt}"))
        written.append(tg.render(net, folder / f"post_network.{fmt}", x=x, target=y))
    print("\nPictures (open them in a browser or image viewer):")
    for path in written:
        print(f"  {path.resolve()}")


def main() -> None:
    rng = random.Random(0)
    weights = {(i, j): Value(rng.uniform(-1, 1), label=f"w{i}{j}") for i, j in EDGES}
    x, y = 0.5, 0.8

    loss = loss_at(weights, x, y)
    loss.backward()
    edges, values = list(weights), list(weights.values())
    # central finite differences of the forward alone (each weight nudged in place, then put back)
    numeric = dict(zip(edges, tg.numerical_grad(lambda *_: loss_at(weights, x, y), values)))
    hand = by_hand(weights, x, y)
    print(f"The post's network at x={x}, y={y}: loss = {loss.data:.6f}\n")
    print(f"{'weight':>7} {'engine':>12} {'by hand':>12} {'finite diff':>12}")
    worst = 0.0
    for e, v in weights.items():
        print(f"w{e[0]}{e[1]:<5} {v.grad:12.8f} {hand[e]:12.8f} {numeric[e]:12.8f}")
        worst = max(worst, abs(v.grad - hand[e]), abs(v.grad - numeric[e]))
    print(f"largest disagreement: {worst:.2e}")
    assert worst < 1e-6, "the engine disagrees with the chain rule by hand"
    print("\n" + str(tg.gradcheck(lambda *_: loss_at(weights, x, y), values, report=True)))
    draw_pictures(weights, x, y)

    # Train on y = sin(3x) with SGD, one point at a time, step size 0.5 / (1 + epoch / 10).
    data = [(xi, math.sin(3 * xi)) for xi in np.linspace(-1, 1, 21)]
    print("\nTraining on y = sin(3x), 21 points, SGD with a decreasing step:")
    for epoch in range(61):
        step = 0.5 / (1 + epoch / 10)
        rng.shuffle(data)
        total = 0.0
        for xi, yi in data:
            point_loss = loss_at(weights, xi, yi)
            for v in weights.values():
                v.grad = 0.0
            point_loss.backward()
            for v in weights.values():
                v.data -= step * v.grad
            total += point_loss.data
        if epoch % 10 == 0:
            print(f"  epoch {epoch:3d}  step {step:.3f}  mean loss {total / len(data):.5f}")

    # The same engine on Tensors, through nn and optim: a 2-8-1 MLP learns XOR.
    X = Tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
    Y = Tensor([[0], [1], [1], [0]])
    model = tg.nn.MLP([2, 8, 1], activation="tanh", output_activation="sigmoid", rng=1)
    print(f"\nA Tensor MLP on XOR:\n{model}")
    print(tg.check_module_grads(model, tg.nn.functional.mse_loss, X, Y, report=True))
    opt = tg.optim.SGD(model.parameters(), lr=2.0, momentum=0.5)
    for it in range(501):
        pred = model(X)
        mse = tg.nn.functional.mse_loss(pred, Y)
        opt.zero_grad()
        mse.backward()
        opt.step()
        if it % 100 == 0:
            print(f"  step {it:3d}  loss {mse.item():.5f}")
    print("  predictions:", np.round(pred.numpy().ravel(), 3), "targets:", Y.numpy().ravel())

if __name__ == "__main__":
    main()
