"""The tools on convolution, recurrence and attention: drawings boxed by module, explain on conv and
attention edges, graph_stats of attention, check_module_grads on a CNN and an LSTM."""

from __future__ import annotations

import gc
import re
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, Value, nn
from tinygrad_edu.nn.module import module_calls
from tinygrad_edu.viz import draw_graph, explain, graph_stats

BOX = re.compile(r'^\t(b\d+) \[label="((?:[^"\\]|\\.)*)"', re.M)
NODE = re.compile(r'^\t(n\d+) \[label="((?:[^"\\]|\\.)*)"', re.M)
EDGE = re.compile(r"^\t([bn]\d+) -> ([bn]\d+) \[?(.*?)\]?$", re.M)
CARRIES = re.compile(r"carries \|\|g\|\| ([^ \"\\]+)")


# --------------------------------------------------------------------------- small models


class Block(nn.Module):
    """A pre-norm transformer block: x + attn(ln1(x)), then + mlp(ln2(x)), with a causal mask."""

    def __init__(self, d: int, heads: int, rng: np.random.Generator) -> None:
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True, rng=rng)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d, rng=rng), nn.GELU(), nn.Linear(4 * d, d, rng=rng))

    def forward(self, x: Tensor, mask: np.ndarray) -> Tensor:
        h = self.ln1(x)
        a, _ = self.attn(h, h, h, attn_mask=mask, need_weights=False)
        x = x + a
        return x + self.mlp(self.ln2(x))


class TinyGPT(nn.Module):
    """Token and position embeddings, transformer blocks, a final LayerNorm and a linear head."""

    def __init__(self, vocab: int = 7, block: int = 4, d: int = 8, heads: int = 2, layers: int = 1) -> None:
        rng = np.random.default_rng(0)
        self.tok = nn.Embedding(vocab, d, rng=rng)
        self.pos = nn.Embedding(block, d, rng=rng)
        self.blocks = [Block(d, heads, rng) for _ in range(layers)]
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, rng=rng)

    def forward(self, idx: Tensor) -> Tensor:
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(tg.arange(t))
        mask = np.triu(np.ones((t, t), dtype=bool), 1)  # True: a later token, left out
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.ln_f(x))


TOKENS = np.random.default_rng(1).integers(0, 7, (2, 5))  # inputs tokens[:, :4], targets tokens[:, 1:]


def gpt_loss(layers: int = 1) -> tuple[TinyGPT, Tensor]:
    model = TinyGPT(layers=layers)
    logits = model(Tensor(TOKENS[:, :4]))
    return model, F.cross_entropy(logits.reshape(-1, 7), Tensor(TOKENS[:, 1:].reshape(-1)))


def small_cnn() -> nn.Sequential:
    rng = np.random.default_rng(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(3, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 2 * 2, 5, rng=rng))


class CharLSTM(nn.Module):
    def __init__(self, vocab: int = 5, emb: int = 3, hidden: int = 4) -> None:
        rng = np.random.default_rng(0)
        self.emb = nn.Embedding(vocab, emb, rng=rng)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True, rng=rng)
        self.head = nn.Linear(hidden, vocab, rng=rng)

    def forward(self, idx: Tensor) -> Tensor:
        out, _ = self.lstm(self.emb(idx))
        return self.head(out)


def boxes(source: str) -> dict[str, list[str]]:
    return {bid: text.split("\\n") for bid, text in BOX.findall(source)}


def carried(attrs: str) -> float:
    return float(CARRIES.search(attrs).group(1))  # type: ignore[union-attr]


def norm(a: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(a))))


# --------------------------------------------------------------------------- module notes


def test_module_calls_are_noted_innermost_first_on_what_they_return() -> None:
    net = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Identity())
    x = Tensor(np.ones((1, 2)), requires_grad=True)
    y = net(x)  # the Identity returns the Linear's output as it is: no note of its own
    assert [type(c.module).__name__ for c in module_calls(y)] == ["Linear", "Sequential"]
    assert module_calls(x) == [] and module_calls(y)[0].inputs == {id(x)}
    mha = nn.MultiheadAttention(4, 2, rng=0)
    q = Tensor(np.ones((3, 1, 4)), requires_grad=True)
    out, weights = mha(q, q, q)  # a tuple: both noted, as one call
    assert module_calls(out)[-1].key == module_calls(weights)[-1].key
    with tg.no_grad():
        assert module_calls(net(x)) == []  # nothing recorded, nothing noted
    assert module_calls(nn.ScalarMLP([2, 1], rng=0)([1.0, 2.0])) == []  # Values are not noted


def test_notes_keep_no_graph_alive() -> None:
    model, loss = gpt_loss()
    ref = weakref.ref(loss)
    gc.disable()
    try:
        del loss
        assert ref() is None  # freed by reference counting: the notes make no cycle
    finally:
        gc.enable()


# --------------------------------------------------------------------------- drawings by module


def test_a_transformer_block_is_drawn_by_module_by_default() -> None:
    model, loss = gpt_loss()
    drawing = draw_graph(loss, names=model)
    source = drawing.source
    found = boxes(source)
    singles = dict(NODE.findall(source))
    assert 8 <= len(found) and len(found) + len(singles) <= 15
    titles = {rows[0] for rows in found.values()}
    assert {"tok: Embedding", "pos: Embedding", "blocks.0.ln1: LayerNorm", "blocks.0.attn: MultiheadAttention",
            "blocks.0.ln2: LayerNorm", "blocks.0.mlp: Sequential", "ln_f: LayerNorm", "head: Linear"} <= titles
    attn = next(rows for rows in found.values() if rows[0].startswith("blocks.0.attn"))
    assert attn[1].startswith(f"{model.blocks[0].attn.num_parameters():,} parameters")
    assert attn[2] == "→ (2, 4, 8) float64"
    assert sum(rows[0].startswith("+") for rows in (text.split("\\n") for text in singles.values())) == 3  # residuals
    assert "rankdir=TB" in source and "by module at depth 2" in drawing.notes[0]
    edges = EDGE.findall(source)
    assert len(edges) >= len(found) and all("carries" in attrs for _, _, attrs in edges)


def test_edges_between_boxes_carry_the_true_gradient() -> None:
    model, loss = gpt_loss()
    source = draw_graph(loss, names=model, precision=10).source
    ids = {rows[0].split(":")[0]: bid for bid, rows in boxes(source).items()}
    (into_head,) = [attrs for a, b, attrs in EDGE.findall(source) if a == ids["ln_f"] and b == ids["head"]]
    # the truth: dL/d(ln_f's output), by finite differences of the loss computed from it (head, loss)
    ln_out = next(n for n in tg.viz.graph.every_node(loss) if any(c.module is model.ln_f for c in module_calls(n)))

    def loss_from(h: np.ndarray) -> float:
        logits = model.head(Tensor(h))
        return float(F.cross_entropy(logits.reshape(-1, 7), Tensor(TOKENS[:, 1:].reshape(-1))).data)

    h0 = ln_out.data
    truth = np.zeros_like(h0)
    for i in np.ndindex(h0.shape):
        up, down = h0.copy(), h0.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        truth[i] = (loss_from(up) - loss_from(down)) / 2e-6
    assert carried(into_head) == pytest.approx(norm(truth), rel=1e-5)


def test_collapse_options() -> None:
    model, loss = gpt_loss()
    deeper = draw_graph(loss, names=model, collapse=3)
    titles = {rows[0] for rows in boxes(deeper.source).values()}
    assert "blocks.0.attn.out_proj: Linear" in titles and "blocks.0.mlp.1: GELU" in titles
    assert "blocks.0.attn: MultiheadAttention" not in titles  # opened: its own ops are drawn one by one
    assert "softmax" in deeper.source
    whole = draw_graph(loss, names=model, collapse=0)
    assert [rows[0] for rows in boxes(whole.source).values()] == ["TinyGPT"]
    every = draw_graph(loss, names=model, collapse=None)
    assert not boxes(every.source) and every.notes == [] and "rankdir=LR" in every.source
    by_op = draw_graph(loss, names=model, collapse="op")
    assert "drawn as" in by_op.notes[0] and "one op" in by_op.notes[0]
    assert "rankdir=LR" in draw_graph(loss, names=model, rankdir="LR").source
    with pytest.raises(ValueError, match="collapse must be one of"):
        draw_graph(loss, names=model, collapse="layers")
    with pytest.raises(ValueError, match="pass names=model"):
        draw_graph(loss, collapse="module")


def test_two_blocks_pick_a_shallower_depth_that_fits() -> None:
    model, loss = gpt_loss(layers=2)
    drawing = draw_graph(loss, names=model)
    titles = [rows[0] for rows in boxes(drawing.source).values()]
    assert "blocks.0: Block" in titles and "blocks.1: Block" in titles
    assert len(titles) + len(NODE.findall(drawing.source)) <= 16


def test_a_cnn_and_an_lstm_are_drawn_by_module() -> None:
    net = small_cnn()
    x = Tensor(np.random.default_rng(0).normal(size=(2, 1, 8, 8)), label="images")
    loss = nn.CrossEntropyLoss()(net(x), np.array([1, 3]))
    titles = [rows[0] for rows in boxes(draw_graph(loss, names=net, collapse="module").source).values()]
    assert titles[:3] == ["0: Conv2d", "1: ReLU", "2: MaxPool2d"] and "CrossEntropyLoss" in titles  # (outside the model)
    lstm = CharLSTM()
    logits = lstm(Tensor(np.array([[0, 1, 2], [3, 4, 0]])))
    titles = [rows[0] for rows in boxes(draw_graph(logits.sum(), names=lstm, collapse="module").source).values()]
    assert titles == ["emb: Embedding", "lstm: LSTM", "head: Linear"]
    # small enough to draw op by op (the LSTM layer is one node, as in torch): no boxes unless asked for
    auto = draw_graph(logits.sum(), names=lstm).source
    assert not boxes(auto) and auto.count("LSTM  lstm") == 1


def test_drawings_by_module_render(tmp_path) -> None:
    model, loss = gpt_loss()
    for fmt, magic in (("png", b"\x89PNG"), ("svg", b"<?xml")):
        path = tg.render(loss, tmp_path / f"gpt.{fmt}", names=model, backend="wasm")
        assert path.read_bytes().startswith(magic)


def test_one_convolution_drawn_node_by_node_says_what_its_edges_carry() -> None:
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(1, 1, 3, 3)), requires_grad=True, label="x")
    w = Tensor(rng.normal(size=(2, 1, 2, 2)), requires_grad=True, label="w")
    loss = F.conv2d(x, w).relu().sum()
    source = draw_graph(loss).source
    assert "local convᵀ(g, w)" in source and "local Σ windows(x)·g" in source
    # and the gradient ops of a second derivative say theirs
    (gx,) = tg.grad(loss, [x], create_graph=True)
    source = draw_graph((gx * gx).sum()).source
    assert "conv2d_input_grad" in source and "local conv(h, w)" in source


# --------------------------------------------------------------------------- explain


def test_explain_words_a_convolution_edge_with_true_numbers() -> None:
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(1, 1, 4, 4)), requires_grad=True, label="x")
    w = Tensor(rng.normal(size=(1, 1, 3, 3)), requires_grad=True, label="w")
    y = F.conv2d(x, w)
    y.label = "y"
    loss = (y * y).sum()
    loss.backward()
    lines = explain(x, precision=10).splitlines()
    assert lines[0].startswith("dL/dx = convᵀ(dL/dy, w) = [")
    assert lines[1].startswith("  edge x -> y: convᵀ(dL/dy, w) = ")
    assert explain(w).startswith("dL/dw = Σ windows(x)·dL/dy = [")
    low, mean, high = map(float, re.findall(r"(-?\d[\d.e+-]*)", lines[0].split("= [")[1])[:3])
    assert (low, high) == (pytest.approx(x.grad.min()), pytest.approx(x.grad.max()))
    assert mean == pytest.approx(x.grad.mean())


def test_explain_words_an_attention_query() -> None:
    rng = np.random.default_rng(0)
    q, k, v = (Tensor(rng.normal(size=(3, 4)), requires_grad=True, label=name) for name in "qkv")
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    loss = (out * out).sum()
    loss.backward()
    text = explain(q)
    assert text.startswith("dL/dq = dL/d(q@kᵀ) @ k = [")  # the scores are q @ kᵀ: back through k
    assert explain(k).startswith("dL/dk = dL/dkᵀ × (transpose back) = [")
    assert re.match(r"dL/dv = softmax\(.*\)ᵀ @ dL/d", explain(v))  # the attention weights, transposed


def test_explain_where_softmax_and_einsum_edges() -> None:
    a = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True, label="a")
    loss = tg.where(a.data > 0, a, a * 3).sum()
    assert "dL/dwhere(a, (a*3)) × (1 where cond, else 0)" in explain(a, loss)
    loss = (a.softmax(axis=0) * Tensor([1.0, 2.0, 3.0])).sum()
    assert explain(a, loss).startswith("dL/da = dL/dsoftmax(a) × s(δ - s) = [")
    b = Tensor(np.eye(3), requires_grad=True, label="B")
    loss = tg.einsum("i,ij->j", a, b).sum()
    assert explain(b, loss).startswith("dL/dB = einsum of dL/deinsum(a, B) with the others")


# --------------------------------------------------------------------------- graph_stats, check_module_grads


def test_graph_stats_counts_attentions_two_products() -> None:
    n, h, length, s, e, ev = 2, 3, 4, 5, 6, 7
    rng = np.random.default_rng(0)
    q = Tensor(rng.normal(size=(n, h, length, e)), requires_grad=True)
    k = Tensor(rng.normal(size=(n, h, s, e)), requires_grad=True)
    v = Tensor(rng.normal(size=(n, h, s, ev)), requires_grad=True)
    stats = graph_stats(F.scaled_dot_product_attention(q, k, v).sum())
    scores, mix = n * h * length * s * e, n * h * length * s * ev  # q @ kᵀ, weights @ v
    assert stats.forward_macs_by_op["matmul"] == scores + mix
    assert stats.backward_macs_by_op["matmul"] == 2 * (scores + mix)  # both factors need a gradient, twice
    model, loss = gpt_loss()
    total = graph_stats(loss)
    assert total.forward_macs_by_op["matmul"] > 0  # the attention's two products (the projections are linear)
    assert total.forward_macs_by_op["linear"] > 0  # out_proj, the MLP and the head: Linear layers


def test_check_module_grads_on_a_cnn_and_an_lstm() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 1, 8, 8))
    assert tg.check_module_grads(small_cnn(), F.cross_entropy, Tensor(x), np.array([0, 4]))
    idx = Tensor(np.array([[0, 1, 2], [3, 4, 0]]))
    targets = Tensor(np.array([1, 2, 3, 4, 0, 1]))
    assert tg.check_module_grads(CharLSTM(), lambda out, y: F.cross_entropy(out.reshape(-1, 5), y), idx, targets)
