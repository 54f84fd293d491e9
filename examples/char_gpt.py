"""A character-level GPT on the names: attention, LayerNorm, GELU, AdamW, and the 6N rule of thumb, checked.

The model is nanoGPT's, at a size a laptop trains in a minute or two: each name is a row of tokens
". e m m a ." (27 of them: "." and a-z), a token embedding plus a position embedding, `n_layer`
blocks of

    x = x + attn(ln_1(x))    causal self-attention: each position looks at itself and the ones before
    x = x + mlp(ln_2(x))     Linear(d, 4d), GELU, Linear(4d, d), at each position on its own

then a final LayerNorm and a Linear head that gives the logits of the next character. AdamW (weight
decay on the matrices only, as nanoGPT), gradient clipping at norm 1, a linear warmup and a cosine
decay of the learning rate.

It trains on the same names, split and loss as examples/char_lstm.py (tg.data.name_sequences: 9,000
names to train on, 1,000 to validate on; the mean cross-entropy over every character and the final
"." of each name, padding ignored), so the numbers compare. A row is the longest name (13) plus the
"." in front, so the block (context) is 14 positions: every name fits whole. The bigram model (counts
of which character follows which, plus one) is the baseline a model of context must beat; the full
run also trains the char LSTM with examples/char_lstm.py's own code, for a line on the same picture.

Full run (`python examples/char_gpt.py`, seed 0: width 64, 4 heads, 2 layers, 104,475 parameters,
4,000 steps of 32 names, about 90 s on one core): val loss 1.985 nats per character, against the
bigram's 2.410, the char LSTM's 1.968 (2,000 steps of 64 names) and a uniform guess's ln 27 = 3.296.
The GPT overfits a little on 9,000 names (train 1.82); dropout 0.1 or 0.2 did not help at this budget.

The back-of-the-envelope check: a training step costs about 6 FLOPs per parameter per token (2 for the
forward matmuls, 4 for the backward's two), plus the attention scores and their weighted sum, which
have no parameters: 2 matmuls of T·d multiply-adds per token and layer, so 4·T·d FLOPs forward and
12·n_layer·T·d for a training step (nanoGPT's `estimate_mfu`, from the PaLM paper, appendix B; Kaplan
et al. 2020 count the scores only, 6N + 6·n_layer·T·d). N counts the parameters outside the two
embedding tables (they are looked up, not multiplied; the head is not tied to them, so it counts).
`tg.graph_stats` counts the FLOPs of one recorded training step from the graph alone; the full run
prints 630,505 FLOPs per token against 6N + 12·n_layer·T·d = 632,610: a ratio of 0.997. Its matmuls
are exactly 6 x (the 100,032 weights) + 12·n_layer·T·d; the elementwise work (LayerNorm, GELU, softmax,
residual adds: 1.4% here) about cancels the biases and LayerNorm gains that 6N counts as if they multiplied.

Pictures in `out/char_gpt/`: char_gpt_loss.png (train and val loss against the steps, with the bigram's,
the LSTM's and the uniform guess's as lines), char_gpt_attention.png (the attention weights of every
head of every layer for one name, the characters on the axes). Samples are printed before and after
training.

Run: python examples/char_gpt.py [--quick | --large] [--out out/char_gpt] [--device cuda]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # the pictures go to files; no window opens
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Tensor, nn  # noqa: E402
from tinygrad_edu.nn import functional as F  # noqa: E402

VOCAB = tg.data.NAMES_VOCAB  # ".abc...z": token 0 is "." (start and end of a name), then a-z
IGNORE = -100  # the targets' padding (cross_entropy's default ignore_index)


@dataclass(frozen=True)
class Config:
    """The model's and the training's sizes."""

    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64  # the width d
    batch_size: int = 32
    steps: int = 4000
    lr: float = 3e-3
    weight_decay: float = 0.1
    warmup: int = 100  # steps of linear warmup before the cosine decay
    eval_every: int = 200
    seed: int = 0


SIZES = {
    "quick": Config(n_embd=32, steps=300, warmup=20, eval_every=50),
    "default": Config(),
    "large": Config(n_layer=4, n_embd=128, steps=5000, lr=1e-3, warmup=200, eval_every=250),
}


# --------------------------------------------------------------------------- the model


class CausalSelfAttention(nn.Module):
    """n_head heads of causal attention over the positions: one Linear makes every position's query, key
    and value (3 x d numbers, each split into heads of d / n_head), then `proj` mixes the heads."""

    def __init__(self, config: Config, rng: np.random.Generator, dtype: Any) -> None:
        d = config.n_embd
        if d % config.n_head:
            raise ValueError(f"CausalSelfAttention: n_embd ({d}) must be a multiple of n_head ({config.n_head})")
        self.n_head = config.n_head
        self.qkv = nn.Linear(d, 3 * d, rng=rng, dtype=dtype)
        self.proj = nn.Linear(d, d, rng=rng, dtype=dtype)

    def heads(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The queries, keys and values of x (B, T, d), each (B, n_head, T, d / n_head)."""
        B, T, d = x.shape
        q, k, v = (t.reshape(B, T, self.n_head, d // self.n_head).transpose(0, 2, 1, 3)
                   for t in self.qkv(x).split(d, dim=2))
        return q, k, v

    def forward(self, x: Tensor) -> Tensor:
        B, T, d = x.shape
        q, k, v = self.heads(x)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, n_head, T, head size)
        return self.proj(y.transpose(0, 2, 1, 3).reshape(B, T, d))  # the heads side by side again

    def weights(self, x: Tensor) -> Tensor:
        """The attention weights (B, n_head, T, T): row i is how much position i takes from each position,
        softmax(q·k / √(head size)) over the positions 0..i (written out here: sdpa does not return them)."""
        q, k, _ = self.heads(x)
        T = x.shape[1]
        scores = q @ k.swapaxes(-1, -2) / math.sqrt(q.shape[-1])
        future = np.triu(np.ones((T, T), dtype=bool), k=1)  # key j > query i: not seen yet
        return scores.masked_fill(future, -np.inf).softmax(axis=-1)


class MLP(nn.Module):
    """At each position: Linear(d, 4d), GELU, Linear(4d, d)."""

    def __init__(self, config: Config, rng: np.random.Generator, dtype: Any) -> None:
        d = config.n_embd
        self.fc = nn.Linear(d, 4 * d, rng=rng, dtype=dtype)
        self.gelu = nn.GELU(approximate="tanh")  # GPT-2's x/2·(1 + tanh(√(2/π)(x + 0.044715x³))), one node
        self.proj = nn.Linear(4 * d, d, rng=rng, dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.gelu(self.fc(x)))


class Block(nn.Module):
    """x + attn(ln_1(x)), then that + mlp(ln_2(that)): pre-norm residual blocks, as GPT-2."""

    def __init__(self, config: Config, rng: np.random.Generator, dtype: Any) -> None:
        self.ln_1 = nn.LayerNorm(config.n_embd, dtype=dtype)
        self.attn = CausalSelfAttention(config, rng, dtype)
        self.ln_2 = nn.LayerNorm(config.n_embd, dtype=dtype)
        self.mlp = MLP(config, rng, dtype)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Token ids (B, T) -> logits (B, T, vocab) of the next token at each position."""

    def __init__(self, config: Config, vocab_size: int, block_size: int, dtype: Any = np.float32) -> None:
        rng = np.random.default_rng(config.seed)
        self.config, self.block_size = config, block_size
        self.token_embedding = nn.Embedding(vocab_size, config.n_embd, rng=rng, dtype=dtype)
        self.position_embedding = nn.Embedding(block_size, config.n_embd, rng=rng, dtype=dtype)
        self.blocks = [Block(config, rng, dtype) for _ in range(config.n_layer)]
        self.ln_f = nn.LayerNorm(config.n_embd, dtype=dtype)
        self.lm_head = nn.Linear(config.n_embd, vocab_size, rng=rng, dtype=dtype)
        self._init_weights(rng)

    def _init_weights(self, rng: np.random.Generator) -> None:
        """nanoGPT's: matrices N(0, 0.02), biases 0, and the projections back into the residual stream
        N(0, 0.02/√(2·n_layer)), so that the sum of 2·n_layer of them starts at the embeddings' scale."""
        for name, p in self.named_parameters():
            if name.startswith("blocks") and name.endswith("bias") or name == "lm_head.bias":
                p.data[...] = 0
            elif np.ndim(p.data) == 2:
                std = 0.02 / math.sqrt(2 * self.config.n_layer) if name.endswith("proj.weight") else 0.02
                p.data[...] = rng.normal(0.0, std, np.shape(p.data))

    def forward(self, idx: np.ndarray) -> Tensor:
        B, T = idx.shape
        if T > self.block_size:
            raise ValueError(f"GPT: a sequence of {T} tokens is longer than the block size {self.block_size}")
        x = self.token_embedding(idx) + self.position_embedding(np.arange(T))
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))  # type: ignore[no-any-return]

    def non_embedding_parameters(self) -> int:
        """N of the rule of thumb: every parameter that takes part in a multiplication (not the lookups)."""
        tables = self.token_embedding.weight.size + self.position_embedding.weight.size
        return self.num_parameters() - tables


def loss_of(model: GPT, X: np.ndarray, Y: np.ndarray) -> Tensor:
    """Mean cross-entropy of the next character over every position that holds one (padding ignored)."""
    logits = model(X)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1), ignore_index=IGNORE)


def evaluate(model: GPT, X: np.ndarray, Y: np.ndarray, batch: int = 500) -> float:
    """The loss over all of X, Y (in batches, no graph): the mean over every character counted."""
    total = count = 0.0
    with tg.no_grad():
        for i in range(0, len(X), batch):
            n = float((Y[i:i + batch] != IGNORE).sum())
            total += loss_of(model, X[i:i + batch], Y[i:i + batch]).item() * n
            count += n
    return total / count


def sample(model: GPT, n: int, rng: np.random.Generator, temperature: float = 1.0) -> list[str]:
    """n names, one character at a time from the model's distribution, until it picks "." (or the block ends)."""
    idx = np.zeros((n, 1), dtype=np.int64)  # every name starts after "."
    done = np.zeros(n, dtype=bool)
    with tg.no_grad():
        while idx.shape[1] < model.block_size and not done.all():
            logits = model(idx)[:, -1, :].numpy().astype(np.float64) / temperature
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
            nxt = np.minimum((cdf < rng.random((n, 1))).sum(axis=1), len(VOCAB) - 1)  # inverse-CDF draws
            nxt[done] = 0
            done |= nxt == 0
            idx = np.concatenate([idx, nxt[:, None]], axis=1)
    return ["".join(VOCAB[t] for t in row[1:]).split(".")[0] for row in idx]


# --------------------------------------------------------------------------- data and the bigram baseline


def names_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, Y_train, X_val, Y_val) from tg.data.name_sequences: the char LSTM's split."""
    X_train, Y_train = tg.data.name_sequences("train")
    X_val, Y_val = tg.data.name_sequences("val")
    return X_train, Y_train, X_val, Y_val


def bigram_loss(X_train: np.ndarray, Y_train: np.ndarray, X_val: np.ndarray, Y_val: np.ndarray) -> float:
    """Val loss of P(next | this character) = (count + 1) / (row total + 27), counted on the train names."""
    V = len(VOCAB)
    counts = np.ones((V, V))
    keep = Y_train != IGNORE
    np.add.at(counts, (X_train[keep], Y_train[keep]), 1)
    logp = np.log(counts / counts.sum(axis=1, keepdims=True))
    keep = Y_val != IGNORE
    return float(-logp[X_val[keep], Y_val[keep]].mean())


def lstm_val_loss(data: tuple[np.ndarray, ...], steps: int | None = None, seed: int = 0) -> float:
    """The char LSTM's final val loss on the same split, trained here by examples/char_lstm.py's own code
    (its model, its training loop; `steps` defaults to its full run's)."""
    spec = importlib.util.spec_from_file_location("char_lstm", Path(__file__).with_name("char_lstm.py"))
    assert spec is not None and spec.loader is not None
    lstm = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, lstm)  # (dataclasses look their module up while it loads)
    spec.loader.exec_module(lstm)
    X_train, Y_train, X_val, Y_val = data
    model = lstm.CharModel("lstm", seed=seed)
    history = lstm.train(model, X_train, Y_train, X_val, Y_val, lstm.STEPS if steps is None else steps, seed)
    return float(history["val"][-1])


# --------------------------------------------------------------------------- training


def configure_optimizer(model: GPT, config: Config) -> tuple[tg.optim.AdamW, Any]:
    """AdamW with weight decay on the matrices (and embedding tables) only, as nanoGPT: biases and
    LayerNorm gains are not pulled towards 0. Warmup, then cosine decay to a tenth of the rate."""
    params = model.parameters()
    groups = [
        {"params": [p for p in params if p.data.ndim >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.data.ndim < 2], "weight_decay": 0.0},
    ]
    opt = tg.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.99))
    sched = tg.optim.lr_scheduler
    warmup = sched.LinearLR(opt, start_factor=0.01, total_iters=config.warmup)
    decay = sched.CosineAnnealingLR(opt, T_max=config.steps - config.warmup, eta_min=config.lr / 10)
    return opt, sched.SequentialLR(opt, [warmup, decay], milestones=[config.warmup])


def train(model: GPT, config: Config, data: tuple[np.ndarray, ...], log: bool = True) -> dict[str, list[float]]:
    """config.steps steps of AdamW on random batches of names; the train loss of every step and the
    val loss every `eval_every` steps (and at the end)."""
    X_train, Y_train, X_val, Y_val = data
    opt, schedule = configure_optimizer(model, config)
    rng = np.random.default_rng(config.seed + 1)
    history: dict[str, list[float]] = {"train": [], "val_step": [], "val": [], "grad_norm": []}
    start = time.perf_counter()
    for step in range(config.steps + 1):
        if step % config.eval_every == 0 or step == config.steps:
            history["val_step"].append(step)
            history["val"].append(evaluate(model, X_val, Y_val))
            if log:
                recent = f"{np.mean(history['train'][-config.eval_every:]):.4f}" if history["train"] else "  -   "
                print(f"  step {step:5d}  train {recent}  val {history['val'][-1]:.4f}  "
                      f"lr {opt.param_groups[0]['lr']:.2e}  ({time.perf_counter() - start:.0f} s)")
        if step == config.steps:
            break
        rows = rng.integers(0, len(X_train), config.batch_size)
        loss = loss_of(model, X_train[rows], Y_train[rows])
        opt.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        schedule.step()
        history["train"].append(loss.item())
        history["grad_norm"].append(norm.item())
    return history


# --------------------------------------------------------------------------- the back-of-the-envelope


def flops_check(model: GPT, X: np.ndarray, Y: np.ndarray) -> dict[str, float]:
    """graph_stats of one training step's graph, per token, beside 6N + 12·n_layer·T·d."""
    config = model.config
    B, T = X.shape
    d, L = config.n_embd, config.n_layer
    stats = tg.graph_stats(loss_of(model, X, Y), params=model, batch=B)
    tokens = B * T  # every position is computed (padding too)
    N = model.non_embedding_parameters()
    counted = stats.training_flops / tokens
    formula = 6 * N + 12 * L * T * d
    row = "  {:<44}{:>12,.0f}{:>12,.0f}{:>12,.0f}"
    print(f"\nFLOPs per token of one training step (batch {B} x block {T} = {tokens} positions; "
          f"N = {N:,} parameters that multiply)")
    print(f"  {'':<44}{'forward':>12}{'backward':>12}{'training':>12}")
    print(row.format("graph_stats, every op", stats.forward_flops / tokens, stats.backward_flops / tokens, counted))
    fwd_mm, bwd_mm = 2 * stats.forward_macs / tokens, 2 * stats.backward_macs / tokens
    print(row.format("  of which matmuls (2 x MACs)", fwd_mm, bwd_mm, fwd_mm + bwd_mm))
    print(row.format("rule of thumb: 2N, 4N, 6N", 2 * N, 4 * N, 6 * N))
    print(row.format(f"attention: 4, 8, 12 x n_layer·T·d ({L}·{T}·{d})", 4 * L * T * d, 8 * L * T * d, 12 * L * T * d))
    print(row.format("formula: 6N + 12·n_layer·T·d", 2 * N + 4 * L * T * d, 4 * N + 8 * L * T * d, formula))
    ratio = counted / formula
    weights = stats.forward_macs // tokens - 2 * L * T * d  # MACs per token outside the attention: each weight once
    elementwise = (stats.forward_elementwise + stats.backward_elementwise) / tokens
    print(f"  graph_stats / formula = {ratio:.3f}: the matmuls are exactly 6 x {weights:,} weights + 12·n_layer·T·d;"
          f" graph_stats adds {elementwise:,.0f}\n  elementwise FLOPs (LayerNorm, GELU, softmax, residual adds, biases),"
          f" while 6N also counts the {N - weights:,} biases and LayerNorm gains as if they multiplied")
    return {"flops_per_token": counted, "formula_flops_per_token": float(formula), "ratio": ratio,
            "matmul_flops_per_token": fwd_mm + bwd_mm, "non_embedding_parameters": float(N),
            "weight_macs_per_token": float(weights), "elementwise_flops_per_token": elementwise}


# --------------------------------------------------------------------------- pictures


def attention_maps(model: GPT, name: str) -> np.ndarray:
    """The attention weights of every head of every layer for one name: (n_layer, n_head, T, T)."""
    idx = np.array([[0] + [VOCAB.index(c) for c in name]])
    maps = []
    with tg.no_grad():
        T = idx.shape[1]
        x = model.token_embedding(idx) + model.position_embedding(np.arange(T))
        for block in model.blocks:
            maps.append(block.attn.weights(block.ln_1(x)).numpy()[0])
            x = block(x)
    return np.stack(maps)


def plot_attention(maps: np.ndarray, name: str, path: Path) -> str:
    """A grid of heatmaps, layers down and heads across: row i of each is what position i attends to."""
    L, H, T, _ = maps.shape
    chars = list("." + name)
    fig, axes = plt.subplots(L, H, figsize=(2.6 * H + 1.2, 2.9 * L + 0.8), squeeze=False, layout="constrained")
    cmap = plt.get_cmap("viridis").with_extremes(bad="#e8e8e8")  # the masked future in light grey
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    for layer in range(L):
        for head in range(H):
            ax = axes[layer, head]
            im = ax.imshow(np.ma.masked_array(maps[layer, head], future), cmap=cmap, vmin=0, vmax=1)
            ax.set_xticks(range(T), chars, fontsize=8, family="monospace")
            ax.set_yticks(range(T), chars, fontsize=8, family="monospace")
            ax.tick_params(length=0)
            ax.set_title(f"layer {layer}, head {head}", fontsize=9)
            if head == 0:
                ax.set_ylabel("query: the position reading", fontsize=8)
            if layer == L - 1:
                ax.set_xlabel("key: the position read", fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.6, label="attention weight")
    fig.suptitle(f"What each position of \"{name}\" attends to, every head of every layer\n(each row sums to 1; "
                 "grey: the future, masked)", fontsize=10)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return str(path)


def plot_losses(history: dict[str, list[float]], bigram: float, untrained: float, path: Path,
                lstm: float | None = None) -> str:
    """Train loss (smoothed) and val loss against the steps, with the bigram's (and the LSTM's) val loss."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    train = np.array(history["train"])
    window = max(1, min(50, len(train) // 20))
    smooth = np.convolve(train, np.ones(window) / window, mode="valid")
    ax.plot(np.arange(window, len(train) + 1), smooth, color="tab:blue", alpha=0.6, lw=1,
            label=f"GPT train (mean of {window} steps)")
    ax.plot(history["val_step"], history["val"], "o-", color="tab:blue", ms=3, label="GPT val")
    ax.axhline(bigram, color="tab:red", ls="--", label=f"bigram val {bigram:.3f}")
    if lstm is not None:
        ax.axhline(lstm, color="tab:green", ls="--", label=f"char LSTM val {lstm:.3f}")
    ax.axhline(math.log(len(VOCAB)), color="gray", ls=":", label=f"uniform guess log 27 = {math.log(27):.3f}")
    ax.set(xlabel="step", ylabel="cross-entropy (nats per character)",
           title=f"Character-level GPT on the names: val {history['val'][-1]:.3f} (untrained {untrained:.3f})")
    ax.set_ylim(min(smooth.min(), *history["val"], bigram) - 0.1, math.log(len(VOCAB)) + 0.15)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


# --------------------------------------------------------------------------- the whole story


def run(quick: bool = False, out: Path = Path("out/char_gpt"), size: str | None = None,
        attention_name: str = "isabella", device: str = "cpu") -> dict[str, Any]:
    """Train the GPT, print samples, the losses and the FLOPs check; draw the loss curve and the
    attention maps. Returns the key numbers and "pictures": the files written."""
    out.mkdir(parents=True, exist_ok=True)
    size = size or ("quick" if quick else "default")
    config = SIZES[size]
    data = names_data()
    X_train, Y_train, X_val, Y_val = data
    model = GPT(config, len(VOCAB), X_train.shape[1]).to(device)  # "cuda": the same code on a GPU (CuPy)
    print(f"GPT ({device}): {config.n_layer} layers, {config.n_head} heads, width {config.n_embd}, block {model.block_size}; "
          f"{model.num_parameters():,} parameters ({model.non_embedding_parameters():,} outside the embeddings)")
    rng = np.random.default_rng(config.seed + 2)
    before = sample(model, 8, rng)
    print("Samples before training:", ", ".join(before))
    bigram = bigram_loss(*data)
    print(f"Bigram baseline: val loss {bigram:.4f}")

    print(f"Training {config.steps} steps of {config.batch_size} names:")
    start = time.perf_counter()
    history = train(model, config, data)
    seconds = time.perf_counter() - start
    untrained, final = history["val"][0], history["val"][-1]
    after = sample(model, 12, rng)
    print(f"Val loss: untrained {untrained:.4f}, trained {final:.4f}, bigram {bigram:.4f} ({seconds:.0f} s)")
    print("Samples after training:", ", ".join(after))
    lstm = None
    if size != "quick":  # (the tests run the quick size: no LSTM there, to keep them short)
        start = time.perf_counter()
        lstm = lstm_val_loss(data)
        print(f"The char LSTM of examples/char_lstm.py on the same split: val loss {lstm:.4f} "
              f"({time.perf_counter() - start:.0f} s)")

    flops = flops_check(model, X_train[:config.batch_size], Y_train[:config.batch_size])
    maps = attention_maps(model, attention_name)
    pictures = [plot_losses(history, bigram, untrained, out / "char_gpt_loss.png", lstm),
                plot_attention(maps, attention_name, out / "char_gpt_attention.png")]
    return {"config": asdict(config), "block_size": model.block_size, "history": history,
            "untrained_val_loss": untrained, "val_loss": final, "bigram_val_loss": bigram, "lstm_val_loss": lstm,
            "samples_before": before, "samples_after": after, "flops": flops, "attention": maps,
            "attention_name": attention_name, "seconds": seconds, "pictures": pictures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="a few seconds: a narrow model, few steps")
    group.add_argument("--large", action="store_true", help="4 layers of width 128 (for a fast machine)")
    parser.add_argument("--out", type=Path, default=Path("out/char_gpt"), help="folder for the pictures")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda (needs CuPy: pip install 'tinygrad_edu[gpu]')")
    args = parser.parse_args()
    results = run(out=args.out, size="quick" if args.quick else "large" if args.large else "default",
                  device=args.device)
    print("\nPictures:", *results["pictures"], sep="\n  ")
