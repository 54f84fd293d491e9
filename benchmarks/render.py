"""Speed of building drawings: the DOT text for graphs of about 10,000 nodes (the layout is Graphviz's).

What it measures, medians of repeated samples, one process:
1. draw_graph on a ScalarMLP's graph (Values; 2-42-42-1 on 2 points: about 10,000 nodes, all drawn
   with max_nodes=None, every label on: data, grad, formula, local value, contribution). This
   includes computing every node's gradient and every edge's contribution with the engine's rules.
2. The same graph with the default node limit (collapsed into groups).
3. draw_graph on a chain of 10,000 Value ops, all drawn.
4. draw_network on MLP([784, 128, 10]) with the default per-layer limit.
Target (the issue's): building the DOT for a 10,000-node graph takes well under a second; we read
"well under" as at most 0.5 s.

Run: python benchmarks/render.py [--quick] [--repeats N]
Writes benchmarks/results/render.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy is imported

import numpy as np  # noqa: E402

import _bench  # noqa: E402
import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Value  # noqa: E402
from tinygrad_edu.viz.graph import every_node  # noqa: E402

TARGET_S = 0.5


def mlp_graph() -> Value:
    net = tg.nn.ScalarMLP([2, 42, 42, 1], rng=0)
    points = [([0.5, -1.0], 1.0), ([1.5, 0.3], -1.0)]
    loss = sum(((net(x) - y) ** 2 for x, y in points), Value(0.0))
    loss.backward()
    return loss


def chain_graph(n: int) -> Value:
    y = Value(0.1, label="x")
    for _ in range(n // 2):
        y = (y * 0.9).tanh()
    return y


def main() -> None:
    args = _bench.parse_args(__doc__.splitlines()[0])
    repeats = args.repeats
    loss = mlp_graph()
    chain = chain_graph(10_000)
    mlp = tg.nn.MLP([784, 128, 10], rng=0)
    sizes = {"scalar MLP": len(every_node(loss)), "chain": len(every_node(chain))}
    print(f"graphs: scalar MLP {sizes['scalar MLP']} nodes, chain {sizes['chain']} nodes (constants included)")
    samples = _bench.interleaved({
        "scalar MLP, every node": lambda: tg.draw_graph(loss, max_nodes=None).source,
        "scalar MLP, default limit": lambda: tg.draw_graph(loss).source,
        "chain, every node": lambda: tg.draw_graph(chain, max_nodes=None).source,
        "MLP 784-128-10 neuron view": lambda: tg.draw_network(mlp).source,
    }, repeats=repeats, number=1)
    results = {}
    for name, xs in samples.items():
        m = _bench.median(xs)
        results[name] = {"median_s": m, "spread": _bench.spread(xs)}
        print(f"  {name:<32} {_bench.fmt_time(m):>12}   (spread {_bench.spread(xs):.0%})")
    targets = [
        _bench.target(f"DOT for the {sizes['scalar MLP']}-node scalar MLP graph, seconds",
                      results["scalar MLP, every node"]["median_s"], "<=", TARGET_S, " s"),
        _bench.target(f"DOT for the {sizes['chain']}-node chain, seconds",
                      results["chain, every node"]["median_s"], "<=", TARGET_S, " s"),
    ]
    print()
    for t in targets:
        _bench.print_target(t)
    _bench.write_results("render", {"environment": _bench.environment(("graphviz",)), "sizes": sizes,
                                    "results": results, "targets": targets})


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
