"""The LSTM language model's training step written by hand in NumPy: the floor for any NumPy framework.

Embedding(V, E) -> LSTM(E, H, batch_first) -> Linear(H, V), cross-entropy, clip_grad_norm_(1.0), AdamW
(torch's defaults, lr 1e-3): the same step as benchmarks/models.py's `lstm` row, with every trick a
framework could not use on a user's graph: time-major buffers allocated once and reused, the input's
projection for all steps in one product, the gate nonlinearities as one tanh per step (σ(x) =
(1 + tanh(x/2))/2, with the 1/2 folded into the weights), every local derivative of the backward made
for all steps at once outside the loop, and W_hh's gradient as one product over all steps. The loop
over time holds only what must be sequential (one product and a few array operations per step).

Not part of the package: imported by benchmarks/models.py (the contender "numpy by hand"), and run
alone it checks its gradients against torch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class HandLSTM:
    """Parameters (torch's names and layouts) and one training step, all in NumPy at one dtype."""

    def __init__(self, state: dict[str, np.ndarray], dtype: Any, lr: float = 1e-3, weight_decay: float = 0.01,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, clip: float = 1.0) -> None:
        self.p = {k: np.array(v, dtype=dtype) for k, v in state.items()}
        self.dtype = np.dtype(dtype)
        self.lr, self.wd, self.betas, self.eps, self.clip = lr, weight_decay, betas, eps, clip
        self.m = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.t = 0
        self.grads: dict[str, np.ndarray] = {}
        self._buffers: dict[tuple[int, int], dict[str, np.ndarray]] = {}

    def _buffers_for(self, steps: int, batch: int) -> dict[str, np.ndarray]:
        if (steps, batch) not in self._buffers:
            h4 = self.p["lstm.weight_hh_l0"].shape[0]
            h = h4 // 4
            e = lambda *shape: np.empty(shape, dtype=self.dtype)  # noqa: E731
            self._buffers[steps, batch] = {
                "act": e(steps, batch, h4), "hs": e(steps + 1, batch, h), "cs": e(steps + 1, batch, h),
                "tc": e(steps, batch, h), "tmp4": e(batch, h4), "tmp": e(batch, h), "dG": e(steps, batch, h4),
                "local": e(steps, batch, h4), "E": e(steps, batch, h), "dh": e(batch, h), "dc": e(batch, h),
            }
        return self._buffers[steps, batch]

    def loss_and_grads(self, ids: np.ndarray, labels: np.ndarray) -> float:
        p = self.p
        n, steps = ids.shape
        w_ih, w_hh = p["lstm.weight_ih_l0"], p["lstm.weight_hh_l0"]
        h4 = w_hh.shape[0]
        h = h4 // 4
        b = self._buffers_for(steps, n)
        act, hs, cs, tc, tmp, tmp4 = b["act"], b["hs"], b["cs"], b["tc"], b["tmp"], b["tmp4"]
        # σ(x) = (1 + tanh(x/2))/2: the i, f, o rows of the weights halved, so one tanh serves all four gates
        half = np.repeat(np.array([0.5, 0.5, 1.0, 0.5], dtype=self.dtype), h)
        w_ih_s = np.ascontiguousarray((w_ih * half[:, None]).T)  # (row order: BLAS is faster with it)
        w_hh_s = np.ascontiguousarray((w_hh * half[:, None]).T)
        bias_s = (p["lstm.bias_ih_l0"] + p["lstm.bias_hh_l0"]) * half
        emb = p["embed.weight"]
        x = emb[ids.T]  # (T, N, E), time-major
        np.matmul(x.reshape(steps * n, -1), w_ih_s, out=act.reshape(steps * n, h4))
        act += bias_s
        hs[0] = 0
        cs[0] = 0
        shift = np.repeat(np.array([0.5, 0.5, 0.0, 0.5], dtype=self.dtype), h)
        for t in range(steps):
            a = act[t]
            np.matmul(hs[t], w_hh_s, out=tmp4)
            a += tmp4
            np.tanh(a, out=a)
            a *= half  # then (1 + t)/2 on the i, f, o blocks: σ
            a += shift
            np.multiply(a[:, h:2 * h], cs[t], out=cs[t + 1])
            np.multiply(a[:, :h], a[:, 2 * h:3 * h], out=tmp)
            cs[t + 1] += tmp
            np.tanh(cs[t + 1], out=tc[t])
            np.multiply(a[:, 3 * h:], tc[t], out=hs[t + 1])
        hflat = hs[1:].reshape(steps * n, h)
        logits = hflat @ p["head.weight"].T
        logits += p["head.bias"]
        y = labels.T.reshape(-1)
        logits -= logits.max(axis=1, keepdims=True)
        rows = np.arange(len(y))
        picked = logits[rows, y]
        np.exp(logits, out=logits)
        sums = logits.sum(axis=1)
        loss = float(np.mean(np.log(sums) - picked))
        logits /= sums[:, None]
        logits[rows, y] -= 1
        logits *= 1.0 / len(y)
        d_logits = logits
        grads = self.grads
        grads["head.weight"] = d_logits.T @ hflat
        grads["head.bias"] = d_logits.sum(axis=0)
        d_hs = (d_logits @ p["head.weight"]).reshape(steps, n, h)
        # local derivatives of every step, outside the loop: dG = [dc·g·σ'(i), dc·c·σ'(f), dc·i·tanh'(g), dh·tc·σ'(o)]
        i, f, g, o = (act[..., k * h:(k + 1) * h] for k in range(4))
        local = b["local"]
        np.multiply(act, act, out=local)
        np.subtract(act, local, out=local)  # σ' = s(1 - s) of i, f, o (the g block is overwritten below)
        local[..., :h] *= g
        local[..., h:2 * h] *= cs[:-1]
        np.multiply(g, g, out=local[..., 2 * h:3 * h])
        np.subtract(1, local[..., 2 * h:3 * h], out=local[..., 2 * h:3 * h])
        local[..., 2 * h:3 * h] *= i
        local[..., 3 * h:] *= tc
        e_ = b["E"]  # dc += dh·o·(1 - tc²)
        np.multiply(tc, tc, out=e_)
        np.subtract(1, e_, out=e_)
        e_ *= o
        dG, dh, dc = b["dG"], b["dh"], b["dc"]
        dh[...] = 0
        dc[...] = 0
        w_hh_c = np.ascontiguousarray(w_hh)
        for t in range(steps - 1, -1, -1):
            if t < steps - 1:
                np.matmul(dG[t + 1], w_hh_c, out=dh)
                dh += d_hs[t]
                dc *= f[t + 1]
            else:
                dh[...] = d_hs[t]
            np.multiply(dh, e_[t], out=tmp)
            dc += tmp
            np.multiply(dc[:, None, :], local[t].reshape(n, 4, h)[:, :3], out=dG[t].reshape(n, 4, h)[:, :3])
            np.multiply(dh, local[t, :, 3 * h:], out=dG[t, :, 3 * h:])
        dg_flat = dG.reshape(steps * n, h4)
        grads["lstm.weight_hh_l0"] = dg_flat[n:].T @ hs[1:steps].reshape(-1, h)
        grads["lstm.weight_ih_l0"] = dg_flat.T @ x.reshape(steps * n, -1)
        grads["lstm.bias_ih_l0"] = dg_flat.sum(axis=0)
        grads["lstm.bias_hh_l0"] = grads["lstm.bias_ih_l0"].copy()
        dx = dg_flat @ w_ih
        d_emb = np.empty_like(emb)
        _scatter_rows(d_emb, ids.T.reshape(-1), dx)
        grads["embed.weight"] = d_emb
        return loss

    def step(self, ids: np.ndarray, labels: np.ndarray) -> float:
        loss = self.loss_and_grads(ids, labels)
        grads = self.grads
        total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
        coef = min(self.clip / (total + 1e-6), 1.0)
        self.t += 1
        b1, b2 = self.betas
        step_size = self.lr / (1 - b1**self.t)
        root = math.sqrt(1 - b2**self.t)
        for k, w in self.p.items():
            g = grads[k]
            g *= coef
            w *= 1 - self.lr * self.wd
            m, v = self.m[k], self.v[k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            g *= g
            g *= 1 - b2
            v += g
            denom = np.sqrt(v)
            denom /= root
            denom += self.eps
            np.divide(m, denom, out=denom)
            denom *= step_size
            w -= denom
        return loss


def _scatter_rows(out: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """out[rows[k]] += values[k] for every k (rows repeat): one product with a one-hot matrix."""
    onehot = np.zeros((out.shape[0], len(rows)), dtype=out.dtype)
    onehot[rows, np.arange(len(rows))] = 1
    np.matmul(onehot, values, out=out)


def _check_against_torch() -> None:
    import torch

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    ids, labels = rng.integers(0, 65, (32, 64)), rng.integers(0, 65, (32, 64))
    emb, lstm, head = torch.nn.Embedding(65, 32), torch.nn.LSTM(32, 128, batch_first=True), torch.nn.Linear(128, 65)
    for m in (emb, lstm, head):
        m.double()
    out, _ = lstm(emb(torch.from_numpy(ids)))
    logits = head(out)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 65), torch.from_numpy(labels).reshape(-1))
    loss.backward()
    named = {**{f"embed.{k}": v for k, v in emb.named_parameters()}, **{f"lstm.{k}": v for k, v in lstm.named_parameters()},
             **{f"head.{k}": v for k, v in head.named_parameters()}}
    model = HandLSTM({k: v.detach().numpy() for k, v in named.items()}, np.float64)
    mine = model.loss_and_grads(ids, labels)
    print("loss", mine, loss.item(), abs(mine - loss.item()))
    for k, v in named.items():
        print(k, float(np.max(np.abs(model.grads[k] - v.grad.numpy()))))


if __name__ == "__main__":
    _check_against_torch()
