"""Pictures and explanations of backpropagation: computation graphs, neuron views, chain-rule text.

`draw_graph` draws a recorded graph with what flows on every edge, `draw_network` the neuron view of
a model, `explain` and `trace_backward` write the chain rule out with numbers, `graph_stats` counts,
and `render` writes any drawing to SVG, PNG, JPEG or PDF, with the system Graphviz or in-process.
"""

from .dot import Drawing
from .explain import explain, trace_backward
from .files import render
from .graph import draw_graph
from .network import draw_network
from .output import RendererNotFound
from .stats import GraphStats, graph_stats

__all__ = ["Drawing", "GraphStats", "RendererNotFound", "draw_graph", "draw_network", "explain", "graph_stats",
           "render", "trace_backward"]
