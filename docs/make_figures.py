"""Draw the figures of the documentation with the library itself: `python docs/make_figures.py`.

It writes docs/figures/*.svg (run it again after a change to the drawings):

* post-network.svg     the post's network, neuron by neuron, on the example x = 0.5, y = 0.8
* post-graph.svg       the computation graph of that example's loss, with what flows on each edge (top to bottom)
* expression.svg       the small scalar expression tanh(a*b + b**2)

The network and its weights are the tutorial's (docs/tutorial.md), so the numbers in the pictures
are the numbers in the text. Importing this file draws nothing.
"""

from __future__ import annotations

import pathlib

import tinygrad_edu as tg

FIGURES = pathlib.Path(__file__).resolve().parent / "figures"

# the post's network: neurons 1..9, bias neurons 2, 5, 8; neuron 3 feeds only neuron 6
EDGES = [(1, 3), (1, 4), (2, 3), (2, 4), (3, 6), (4, 6), (4, 7), (5, 6), (5, 7), (6, 9), (7, 9), (8, 9)]
WEIGHTS = {(1, 3): 0.5, (1, 4): -1.0, (2, 3): 0.1, (2, 4): 0.3, (3, 6): 0.8, (4, 6): -0.5, (4, 7): 1.2,
           (5, 6): 0.2, (5, 7): -0.3, (6, 9): 1.5, (7, 9): -0.7, (8, 9): 0.1}
ACTIVATION = {3: "sigmoid", 4: "sigmoid", 6: "sigmoid", 7: "sigmoid", 9: "identity"}
X, Y = 0.5, 0.8


def post_network() -> tg.nn.NeuronNetwork:
    """The tutorial's network, with the tutorial's weights."""
    return tg.nn.NeuronNetwork(EDGES, inputs=[1], biases=[2, 5, 8], outputs=[9], activation=ACTIVATION,
                               weights=WEIGHTS)


def main() -> None:
    FIGURES.mkdir(exist_ok=True)
    net = post_network()
    written = [tg.render(tg.draw_network(net, x=X, target=Y), FIGURES / "post-network.svg", backend="auto")]

    _, a = net.evaluate(X)
    loss = (Y - a[9]) ** 2
    loss.label = "L"
    loss.backward()
    # top to bottom: drawn left to right it is about 3000 pt wide, unreadable at page width
    written.append(tg.render(tg.draw_graph(loss, rankdir="TB"), FIGURES / "post-graph.svg", backend="auto"))

    a_, b_ = tg.Value(2.0, label="a"), tg.Value(-3.0, label="b")
    e = (a_ * b_ + b_**2).tanh()
    e.label = "e"
    e.backward()
    written.append(tg.render(tg.draw_graph(e), FIGURES / "expression.svg", backend="auto"))

    for path in written:
        print(f"{path}  {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
