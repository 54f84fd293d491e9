"""A character-level language model of first names: an LSTM and a GRU against the bigram counts, and the
gradient through time of the trained models against a plain tanh RNN's.

1. Data: 10,000 US first names shipped with the package (`tg.data.names`), each one a sequence
   ".emma" -> "emma." of (context, next character) pairs over 27 tokens ("." starts and ends a name);
   `tg.data.name_sequences` splits them, seeded, into 9,000 names to train on and 1,000 to validate on.
2. Baseline: the bigram model, P(next | previous) from counts (plus one) over the training names. Its
   validation loss is the floor a model that reads more than one character back has to beat.
3. Models: Embedding(27, 16) -> LSTM(16, 64, batch_first) -> Linear(64, 27), the same with a GRU, and
   with a plain tanh RNN (nn.RNN): every position predicts the next character; the loss is the
   cross-entropy over the real (unpadded) positions, in nats per character.
4. Training: AdamW, the gradient's norm clipped at 1 (nn.utils.clip_grad_norm_), and a step size that
   warms up linearly, then follows a cosine to zero (SequentialLR of LinearLR and CosineAnnealingLR,
   stepped every batch); 2,000 batches of 64 names. Names are sampled before and after training.
5. Gradient through time: run each model one step at a time through its cell (LSTMCell, GRUCell or
   RNNCell, sharing the layer's weights) over streams of validation names (".ann.bo.eve...", so that
   t - k can reach past one name), take the loss L_t of the last step, and ask the engine (tg.grad, one
   backward pass) for dL_t/dh_k at every earlier step k. The Q&A's back-of-the-envelope, continued:
   dh_t/dh_k = prod_{k<i<=t} dh_i/dh_(i-1). For the tanh RNN each factor is diag(1 - h_i^2) W_hh, so the
   norm shrinks (or grows) about like (rho(W_hh) mean(1 - h^2))^(t-k), rho the largest |eigenvalue|. The
   LSTM's cell state c_i = f_i * c_(i-1) + i_i * g_i adds a path whose factor is diag(f_i) alone (no
   weight matrix, no squashing derivative): never above 1, and near 1 where a forget gate stays open.
   The GRU's h_i = z_i * h_(i-1) + (1 - z_i) * n_i has the same kind of path through its update gate z.

Results of the full run (seed 0, `python examples/char_lstm.py`: about 40 s on one core). Validation loss
in nats per character: bigram 2.410, LSTM 1.968, GRU 1.976, tanh RNN 2.022 (a uniform guess: ln 27 =
3.296). Gradient through time (per-step factor of a geometric fit to the median ||dL_t/dh_k||, t = 48):
- untrained, every gradient vanishes fast: tanh RNN x0.50 per step (its envelope: rho(W_hh) = 0.57
  times mean(1 - h^2) = 0.90 gives 0.52), LSTM x0.62 (forget gates near sigmoid(0) = 0.5), GRU x0.64;
  48 steps back, 1e-10 to 1e-15 of the gradient is left.
- trained: tanh RNN x0.862 (envelope 3.26 x 0.265 = 0.863: W_hh grew to rho = 3.26 while its units
  saturated), LSTM x0.921, GRU x0.954. The median norm falls from 3.9 to 0.026 over 48 steps for the
  LSTM, from 2.9 to 0.18 for the GRU, and from 2.2 to 0.0016 for the tanh RNN. 40% of the LSTM's
  forget-gate values are above 0.9 (16% of the GRU's update gates): those units carry the gradient.
  Names need little memory beyond a few characters, which is likely why training does not hold the
  gates open longer: on this data gating gives a slower decay than the tanh RNN's, not a flat one.

Pictures in `out`: losses.png (train and validation loss of the three models, the bigram's as a line),
gradient_through_time.png (||dL_t/dh_k|| against t - k, trained and untrained, with the tanh RNN's
envelope), gate_factors.png (histograms of f, z and 1 - h^2 in the trained models).

Run: python examples/char_lstm.py [--quick] [--out out/char_lstm] [--seed 0] [--device cuda]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # pictures go to files; no window opens
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)
import numpy as np  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Tensor  # noqa: E402
from tinygrad_edu.data import NAMES_VOCAB  # noqa: E402
from tinygrad_edu.device import to_host  # noqa: E402

VOCAB = len(NAMES_VOCAB)  # 27: "." and a-z
IGNORE = -100  # the padding of the targets in tg.data.name_sequences
KINDS = ("lstm", "gru", "rnn")  # the recurrent layer of each model; "rnn" is the plain tanh RNN
LABELS = {"lstm": "LSTM", "gru": "GRU", "rnn": "tanh RNN", "bigram": "bigram (counts)"}
COLORS = {"lstm": "tab:blue", "gru": "tab:green", "rnn": "tab:red", "bigram": "black"}
EMBED, HIDDEN = 16, 64
BATCH_SIZE = 64
STEPS, QUICK_STEPS = 2000, 150  # optimizer steps per model
QUICK_NAMES = 2000  # --quick trains on the first 2,000 of the (shuffled) training names only
LR, WEIGHT_DECAY, MAX_NORM = 1e-2, 1e-2, 1.0
WARMUP = 0.05  # the fraction of the steps spent warming up
EVALUATIONS = 20  # validation losses measured along each run
STREAM, QUICK_STREAM = 48, 24  # steps t of the gradient-through-time measurement
STREAMS, QUICK_STREAMS = 128, 32  # sequences it averages over
SAMPLES = 12


class CharModel(tg.nn.Module):
    """Embedding -> one recurrent layer (LSTM, GRU or tanh RNN; batch_first) -> Linear to 27 logits."""

    def __init__(self, kind: str = "lstm", embed: int = EMBED, hidden: int = HIDDEN, seed: int = 0,
                 dtype: Any = np.float32) -> None:
        rng = np.random.default_rng(seed)
        layer = {"lstm": tg.nn.LSTM, "gru": tg.nn.GRU, "rnn": tg.nn.RNN}[kind]
        self.kind = kind
        self.embedding = tg.nn.Embedding(VOCAB, embed, rng=rng, dtype=dtype)
        self.rnn = layer(embed, hidden, batch_first=True, rng=rng, dtype=dtype)
        self.head = tg.nn.Linear(hidden, VOCAB, rng=rng, dtype=dtype)

    def forward(self, ids: np.ndarray, state: Any = None) -> tuple[Tensor, Any]:
        """Logits (N, L, 27) for token ids (N, L), and the recurrent state after the last step."""
        out, state = self.rnn(self.embedding(ids), state)
        return self.head(out), state


def sequence_loss(logits: Tensor, Y: np.ndarray) -> Tensor:
    """Mean cross-entropy over the positions whose target is a character (not padding)."""
    keep = np.flatnonzero(Y.ravel() != IGNORE)
    return tg.cross_entropy(logits.reshape(-1, VOCAB)[keep], Y.ravel()[keep])


def trim(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop the columns that are padding in every row (a batch of short names needs fewer steps)."""
    width = int((Y != IGNORE).sum(axis=1).max())
    return X[:, :width], Y[:, :width]


def evaluate(model: CharModel, X: np.ndarray, Y: np.ndarray) -> float:
    """The mean loss per character over all of X, Y (no graph recorded)."""
    with tg.no_grad():
        X, Y = trim(X, Y)
        return float(sequence_loss(model(X)[0], Y).item())


# --------------------------------------------------------------------------- the bigram baseline


def bigram_counts(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """counts[a, b] = how often character b follows character a in the names (plus one, so none is 0)."""
    keep = Y != IGNORE
    return np.bincount(VOCAB * X[keep] + Y[keep], minlength=VOCAB * VOCAB).reshape(VOCAB, VOCAB) + 1


def bigram_loss(counts: np.ndarray, X: np.ndarray, Y: np.ndarray) -> float:
    """-mean log P(next | previous) of the bigram model over the characters of Y."""
    keep = Y != IGNORE
    log_p = np.log(counts / counts.sum(axis=1, keepdims=True))
    return float(-log_p[X[keep], Y[keep]].mean())


# --------------------------------------------------------------------------- sampling


def sample(next_probabilities: Any, n: int, rng: np.random.Generator, max_length: int = 20) -> list[str]:
    """n names, each drawn one character at a time from next_probabilities(ids, state) -> (p, state),
    starting from "." and stopping at the next "." (or after max_length characters)."""
    ids = np.zeros((n, 1), dtype=np.int64)
    state: Any = None
    chars: list[list[str]] = [[] for _ in range(n)]
    done = np.zeros(n, dtype=bool)
    for _ in range(max_length):
        p, state = next_probabilities(ids, state)
        cumulative = np.cumsum(p, axis=1)
        u = rng.random((n, 1)) * cumulative[:, -1:]
        nxt = np.minimum((cumulative < u).sum(axis=1), VOCAB - 1)  # the inverse of the cumulative distribution
        for i in np.flatnonzero(~done):
            if nxt[i] == 0:
                done[i] = True
            else:
                chars[i].append(NAMES_VOCAB[nxt[i]])
        if done.all():
            break
        ids = nxt[:, None]
    return ["".join(c) for c in chars]


def sample_model(model: CharModel, n: int, seed: int) -> list[str]:
    """n names drawn from the model (softmax of its logits), feeding back its state step by step."""

    def step(ids: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        with tg.no_grad():
            logits, state = model(ids, state)
        z = logits[:, -1].numpy().astype(np.float64)  # (.numpy(): a copy on the host, wherever the model is)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True), state

    return sample(step, n, np.random.default_rng(seed))


def sample_bigram(counts: np.ndarray, n: int, seed: int) -> list[str]:
    """n names drawn from the bigram model."""
    p = counts / counts.sum(axis=1, keepdims=True)
    return sample(lambda ids, state: (p[ids[:, -1]], None), n, np.random.default_rng(seed))


# --------------------------------------------------------------------------- training


def train(model: CharModel, X: np.ndarray, Y: np.ndarray, X_val: np.ndarray, Y_val: np.ndarray, steps: int,
          seed: int) -> dict[str, list[float]]:
    """AdamW with clipping and warmup + cosine, batches of BATCH_SIZE names; returns the train loss of every
    step and the validation loss at EVALUATIONS points (and at step 0)."""
    params = model.parameters()
    optimizer = tg.optim.AdamW(params, lr=LR, weight_decay=WEIGHT_DECAY)
    warmup = max(1, int(WARMUP * steps))
    scheduler = tg.optim.lr_scheduler.SequentialLR(
        optimizer,
        [tg.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.01, total_iters=warmup),
         tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps - warmup)],
        milestones=[warmup],
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"train": [], "val_steps": [0.0], "val": [evaluate(model, X_val, Y_val)]}
    every = max(1, steps // EVALUATIONS)
    order = rng.permutation(len(X))
    position = 0
    for step in range(1, steps + 1):
        if position + BATCH_SIZE > len(order):  # a new epoch
            order, position = rng.permutation(len(X)), 0
        rows = order[position : position + BATCH_SIZE]
        position += BATCH_SIZE
        xb, yb = trim(X[rows], Y[rows])
        loss = sequence_loss(model(xb)[0], yb)
        optimizer.zero_grad()
        loss.backward()
        tg.nn.utils.clip_grad_norm_(params, MAX_NORM)
        optimizer.step()
        scheduler.step()
        history["train"].append(float(loss.item()))
        if step % every == 0 or step == steps:
            history["val_steps"].append(float(step))
            history["val"].append(evaluate(model, X_val, Y_val))
    return history


# --------------------------------------------------------------------------- gradient through time


def stream(X: np.ndarray, Y: np.ndarray, length: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, targets): count windows of `length` tokens cut at random from the names written one after another
    (".ann.bo.eve..."), and the token that follows each window."""
    rng = np.random.default_rng(seed)
    text = np.concatenate([x[: int((y != IGNORE).sum())] for x, y in zip(X, Y)])  # each row: "." and its name
    starts = rng.integers(0, len(text) - length, size=count)  # the last window ends at the last token
    windows = np.stack([text[s : s + length + 1] for s in starts])
    return windows[:, :-1], windows[:, -1]


def cell_of(model: CharModel) -> tg.nn.Module:
    """The one-step cell of the model's recurrent layer, sharing its weights (not copies)."""
    rnn = model.rnn
    cell: tg.nn.Module = {"lstm": tg.nn.LSTMCell, "gru": tg.nn.GRUCell, "rnn": tg.nn.RNNCell}[model.kind](
        rnn.input_size, rnn.hidden_size, dtype=rnn.weight_ih_l0.dtype)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        setattr(cell, name, getattr(rnn, f"{name}_l0"))
    return cell


def unroll(model: CharModel, ids: np.ndarray) -> tuple[list[Tensor], list[Tensor]]:
    """Run the model over ids (N, t) one step at a time; returns [h_0, ..., h_t] as nodes of one graph
    (h_0 = 0 a leaf, so that it too gets a gradient) and the cell states [c_0, ..., c_t] (LSTM only)."""
    cell = cell_of(model)
    x = model.embedding(ids)
    zeros = np.zeros((ids.shape[0], model.rnn.hidden_size), dtype=x.dtype)
    h = Tensor(zeros, requires_grad=True, device=x.device)
    c = Tensor(zeros, requires_grad=True, device=x.device)
    hs, cs = [h], [c]
    for t in range(ids.shape[1]):
        if model.kind == "lstm":
            h, c = cell(x[:, t], (h, c))
            cs.append(c)
        else:
            h = cell(x[:, t], h)
        hs.append(h)
    return hs, cs


def last_step_loss(model: CharModel, hs: list[Tensor], targets: np.ndarray) -> Tensor:
    """L_t summed over the sequences: the loss of the last step's prediction, each sequence's own."""
    return tg.cross_entropy(model.head(hs[-1]), targets) * len(targets)


def gradients_through_time(model: CharModel, ids: np.ndarray, targets: np.ndarray) -> dict[str, np.ndarray]:
    """||dL_t/dh_k|| for every sequence (columns) and every k = 0..t, row i holding the distance t - k = i
    (and ||dL_t/dc_k|| for the LSTM, under "c"); all from one backward pass of the engine."""
    hs, cs = unroll(model, ids)
    loss = last_step_loss(model, hs, targets)
    grads = tg.grad(loss, hs + (cs if model.kind == "lstm" else []))
    norms = np.array([np.linalg.norm(to_host(g).astype(np.float64), axis=1) for g in grads])
    t = ids.shape[1]
    out = {"h": norms[t::-1]}  # reversed: row i is k = t - i
    if model.kind == "lstm":
        out["c"] = norms[: t :-1]
    return out


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def direct_path_factors(model: CharModel, ids: np.ndarray) -> np.ndarray:
    """What each step multiplies the state's gradient by on its most direct path, for every unit and step:
    the LSTM's forget gate f (c' = f * c + ...), the GRU's update gate z (h' = z * h + ...), and for the
    tanh RNN 1 - h'^2 (h' = tanh(W_hh h + ...): the path also goes through W_hh)."""
    hs, _ = unroll(model, ids)
    with tg.no_grad():
        x = model.embedding(ids).numpy().astype(np.float64)
    H = model.rnn.hidden_size
    w_ih, w_hh, b_ih, b_hh = (getattr(model.rnn, f"{name}_l0").numpy().astype(np.float64)
                              for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    factors = []
    for t in range(ids.shape[1]):
        h = hs[t].numpy().astype(np.float64)
        if model.kind == "rnn":
            factors.append(1 - hs[t + 1].numpy().astype(np.float64) ** 2)
        else:  # the second block of gates: f for the LSTM (i, f, g, o), z for the GRU (r, z, n)
            gates = x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
            factors.append(sigmoid(gates[:, H : 2 * H]))
    return np.concatenate(factors).ravel()


def decay_rate(norms: np.ndarray) -> float:
    """The per-step factor r of a geometric fit median ||dL_t/dh_k|| ~ C r^(t-k) (least squares on the
    log of the median over sequences, distances 1..t)."""
    median = np.median(norms, axis=1)
    gaps = np.arange(len(median))
    return float(np.exp(np.polyfit(gaps[1:], np.log(median[1:]), 1)[0]))


def rnn_envelope(model: CharModel, ids: np.ndarray) -> tuple[float, float]:
    """The two parts of the tanh RNN's back-of-the-envelope per-step factor (their product): each step's
    dh_i/dh_(i-1) = diag(1 - h_i^2) W_hh, so about rho(W_hh) (the largest |eigenvalue|) times the mean of
    1 - h^2 over the units and steps of the streams. Returns (rho(W_hh), mean(1 - h^2))."""
    hs, _ = unroll(model, ids)
    return spectral_radius(model), float(np.mean([1 - h.numpy().astype(np.float64) ** 2 for h in hs[1:]]))


def spectral_radius(model: CharModel) -> float:
    """rho(W_hh): the largest |eigenvalue| of the recurrent weight matrix."""
    return float(np.abs(np.linalg.eigvals(model.rnn.weight_hh_l0.numpy().astype(np.float64))).max())


# --------------------------------------------------------------------------- pictures


def plot_losses(histories: dict[str, dict[str, list[float]]], bigram: float, path: Path) -> Path:
    """Train loss (smoothed) and validation loss per step for each model, the bigram's as a line."""
    fig, ax = plt.subplots(figsize=(9, 5))
    smooth_lows = []
    for kind, history in histories.items():
        train = np.asarray(history["train"])
        window = max(1, len(train) // 40)
        smooth = np.convolve(train, np.ones(window) / window, mode="valid")
        smooth_lows.append(float(smooth.min()))
        ax.plot(np.arange(window, len(train) + 1), smooth, color=COLORS[kind], alpha=0.35, lw=1)
        ax.plot(history["val_steps"], history["val"], color=COLORS[kind], marker="o", ms=3, lw=1.5,
                label=f"{LABELS[kind]}: val {history['val'][-1]:.3f}")
    ax.axhline(bigram, color=COLORS["bigram"], ls="--", lw=1.2, label=f"{LABELS['bigram']}: val {bigram:.3f}")
    ax.axhline(np.log(VOCAB), color="gray", ls=":", lw=1, label=f"uniform guess: ln 27 = {np.log(VOCAB):.3f}")
    lows = [min(h["val"]) for h in histories.values()] + [bigram] + smooth_lows
    ax.set_ylim(min(lows) - 0.05, np.log(VOCAB) + 0.1)
    ax.set(xlabel="optimizer step (batches of 64 names)", ylabel="cross-entropy, nats per character",
           title="Next-character loss: validation (dots), training (faint, smoothed)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_gradients(trained: dict[str, dict[str, np.ndarray]], untrained: dict[str, dict[str, np.ndarray]],
                   envelopes: dict[str, float], path: Path) -> Path:
    """||dL_t/dh_k|| against t - k (median over the sequences, quartiles shaded), trained and untrained,
    with the tanh RNN's back-of-the-envelope (rho(W_hh) mean(1 - h^2))^(t-k) dotted."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    panels = ((axes[0], trained, "trained", envelopes["trained"]),
              (axes[1], untrained, "untrained (initial weights)", envelopes["untrained"]))
    for ax, norms, when, envelope in panels:
        for kind, n in norms.items():
            gaps = np.arange(len(n["h"]))
            low, mid, high = np.percentile(n["h"], [25, 50, 75], axis=1)
            ax.semilogy(gaps, mid, color=COLORS[kind], lw=2,
                        label=f"{LABELS[kind]}: ||dL_t/dh_k||, x{decay_rate(n['h']):.2f} per step")
            ax.fill_between(gaps, low, high, color=COLORS[kind], alpha=0.12, lw=0)
            if "c" in n:
                ax.semilogy(gaps, np.median(n["c"], axis=1), color=COLORS[kind], ls="--", lw=1.5,
                            label=f"{LABELS[kind]}: ||dL_t/dc_k|| (cell state)")
        rnn = np.median(norms["rnn"]["h"], axis=1)
        gaps = np.arange(len(rnn))
        ax.semilogy(gaps, rnn[0] * envelope**gaps, color=COLORS["rnn"], ls=":", lw=1.5,
                    label=f"tanh RNN's envelope: (rho(W_hh) mean(1-h^2))^(t-k) = {envelope:.2f}^(t-k)")
        ax.set(xlabel="distance t - k (steps back in time)", title=when)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower left", fontsize=8.5)
    axes[0].set_ylabel("gradient norm (median over sequences, quartiles shaded)")
    fig.suptitle("How much of the last step's loss gradient reaches the state t - k steps back (streams of names)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_factors(factors: dict[str, np.ndarray], rho: float, path: Path) -> Path:
    """Histograms of each trained model's per-step factor on the state's most direct path."""
    titles = {
        "lstm": "LSTM: c' = f * c + i * g\nforget gate f",
        "gru": "GRU: h' = z * h + (1 - z) * n\nupdate gate z",
        "rnn": f"tanh RNN: h' = tanh(W_hh h + ...)\n1 - h'^2, then times W_hh (rho = {rho:.2f})",
    }
    fig, axes = plt.subplots(1, len(factors), figsize=(4.3 * len(factors), 4.3), sharey=True)
    bins = np.linspace(0, 1, 41)
    for ax, (kind, values) in zip(np.atleast_1d(axes), factors.items()):
        ax.hist(values, bins=bins, color=COLORS[kind], weights=np.full(len(values), 100 / len(values)))
        ax.set(title=titles[kind], xlabel=f"value ({100 * np.mean(values > 0.9):.0f}% above 0.9)")
        ax.grid(True, alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("% of (unit, step) pairs")
    fig.suptitle("What each step multiplies the state's gradient by on its most direct path (trained models)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- the whole run


def run(quick: bool = False, out: Path = Path("out/char_lstm"), seed: int = 0, device: str = "cpu") -> dict[str, Any]:
    """Train the models, sample, measure the gradients through time and write the pictures; returns the
    results (all numbers for `seed`). The models train and are measured on `device` ("cuda": a GPU)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    X, Y = tg.data.name_sequences("train", seed=seed)
    X_val, Y_val = tg.data.name_sequences("val", seed=seed)
    if quick:
        X, Y = X[:QUICK_NAMES], Y[:QUICK_NAMES]
        X_val, Y_val = X_val[: QUICK_NAMES // 4], Y_val[: QUICK_NAMES // 4]
    steps = QUICK_STEPS if quick else STEPS
    print(f"Names: {len(X)} to train on, {len(X_val)} to validate on; {VOCAB} tokens ('.' and a-z)")

    counts = bigram_counts(X, Y)
    bigram = bigram_loss(counts, X_val, Y_val)
    bigram_samples = sample_bigram(counts, SAMPLES, seed)
    print(f"bigram (counts + 1): val loss {bigram:.4f} nats/char; samples: {', '.join(bigram_samples)}")

    length = QUICK_STREAM if quick else STREAM
    ids, targets = stream(X_val, Y_val, length, count=QUICK_STREAMS if quick else STREAMS, seed=seed)

    models: dict[str, CharModel] = {}
    histories: dict[str, dict[str, list[float]]] = {}
    samples: dict[str, dict[str, list[str]]] = {}
    untrained: dict[str, dict[str, np.ndarray]] = {}
    envelope_parts: dict[str, tuple[float, float]] = {}
    for kind in KINDS:
        model = CharModel(kind, seed=seed).to(device)
        before = sample_model(model, SAMPLES, seed)
        untrained[kind] = gradients_through_time(model, ids, targets)
        if kind == "rnn":
            envelope_parts["untrained"] = rnn_envelope(model, ids)
        start = time.perf_counter()
        histories[kind] = train(model, X, Y, X_val, Y_val, steps, seed)
        seconds = time.perf_counter() - start
        after = sample_model(model, SAMPLES, seed)
        models[kind], samples[kind] = model, {"before": before, "after": after}
        h = histories[kind]
        print(f"{LABELS[kind]} ({model.num_parameters()} parameters, {steps} steps, {seconds:.1f} s): "
              f"val loss {h['val'][0]:.4f} -> {h['val'][-1]:.4f}")
        print(f"  samples before: {', '.join(before)}")
        print(f"  samples after:  {', '.join(after)}")

    trained = {kind: gradients_through_time(models[kind], ids, targets) for kind in KINDS}
    factors = {kind: direct_path_factors(models[kind], ids) for kind in KINDS}
    envelope_parts["trained"] = rnn_envelope(models["rnn"], ids)
    envelopes = {when: rho * slope for when, (rho, slope) in envelope_parts.items()}
    rates = {kind: decay_rate(trained[kind]["h"]) for kind in KINDS}
    rates_untrained = {kind: decay_rate(untrained[kind]["h"]) for kind in KINDS}
    print(f"\nMedian ||dL_t/dh_k|| over {len(ids)} streams of validation names, t = {length} (trained models)")
    print("t - k " + "".join(f"{LABELS[k]:>12}" for k in KINDS) + f"{'LSTM dL/dc_k':>14}")
    for gap in range(0, length + 1, 4):
        cells = [np.median(trained[k]["h"][gap]) for k in KINDS] + [np.median(trained["lstm"]["c"][gap])]
        print(f"{gap:5d} " + "".join(f"{c:12.2e}" for c in cells[:-1]) + f"{cells[-1]:14.2e}")
    for when, r in (("trained", rates), ("untrained", rates_untrained)):
        print(f"per-step factor of a geometric fit, {when}: "
              + ", ".join(f"{LABELS[k]} {r[k]:.3f}" for k in KINDS)
              + f"; the tanh RNN's envelope rho(W_hh) mean(1 - h^2) = {envelope_parts[when][0]:.3f} x "
              f"{envelope_parts[when][1]:.3f} = {envelopes[when]:.3f}")
    print("share of the per-step factors on the most direct path above 0.9: "
          + ", ".join(f"{LABELS[k]} {100 * np.mean(factors[k] > 0.9):.0f}%" for k in KINDS))

    pictures = [
        plot_losses(histories, bigram, out / "losses.png"),
        plot_gradients(trained, untrained, envelopes, out / "gradient_through_time.png"),
        plot_factors(factors, spectral_radius(models["rnn"]), out / "gate_factors.png"),
    ]
    print("Pictures:")
    for path in pictures:
        print(f"  {path.resolve()}")
    return {
        "bigram_val_loss": bigram,
        "val_loss": {kind: histories[kind]["val"][-1] for kind in KINDS},
        "histories": histories,
        "samples": samples,
        "bigram_samples": bigram_samples,
        "models": models,
        "gradient_norms": trained,
        "gradient_norms_untrained": untrained,
        "decay_rates": rates,
        "decay_rates_untrained": rates_untrained,
        "rnn_envelopes": envelopes,
        "rnn_envelope_parts": envelope_parts,
        "factors": factors,
        "stream": (ids, targets),
        "pictures": pictures,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_STEPS} steps on {QUICK_NAMES} names")
    parser.add_argument("--out", type=Path, default=Path("out/char_lstm"), help="folder for the pictures")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the weights and the batches")
    parser.add_argument("--device", default="cpu", help='where the models train: "cpu" or "cuda" (a GPU, with CuPy)')
    args = parser.parse_args()
    run(quick=args.quick, out=args.out, seed=args.seed, device=args.device)
