"""How fast can NumPy run the digits CNN's training step at all? A floor for the CNN target of models.py.

The step of benchmarks/models.py's CNN (batch 64 of 8x8 digits: Conv2d(1,16,3,p=1)-ReLU-Conv2d(16,32,3,p=1)-
ReLU-MaxPool2d(2)-Flatten-Linear(512,64)-ReLU-Linear(64,10), cross-entropy, SGD with momentum 0.9), written
by hand in NumPy as fast as we know how, none of it constrained by a framework:

  - activations kept in (C, N, H, W) order throughout, the order a convolution's product gives, so no
    array is ever transposed back to NCHW (only the 64x512 block that enters the first Linear);
  - im2col into columns (C·3·3, N·H·W), one matrix product per convolution for the whole batch; the
    kernels' gradient from the forward's columns; the input's gradient as one product with g widened
    by two zero columns a row, then col2im as 9 adds that each run along whole flattened planes;
  - bias and ReLU applied in place on the product; max-pooling by np.maximum over the four strided
    quarters, its gradient to the first quarter equal to the maximum (torch's choice on ties, which
    occur: the images' blank background gives equal activations); the first convolution's input
    gradient is not computed (torch does not compute it either: the images do not require grad).

Checked against torch on the same weights (loss and every gradient), then timed against torch and
tinygrad_edu running models.py's identical user code, interleaved in one process, one thread, CPU time
(time.process_time), medians; float32 and float64. If this floor is not faster than torch, no NumPy
framework can meet "faster than torch" with this algorithm: torch's CPU convolutions are oneDNN's
direct (not im2col) kernels.

Run: python benchmarks/cnn_floor.py [--quick] [--repeats N]
Writes benchmarks/results/cnn_floor.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy (or torch) is imported

import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import _bench  # noqa: E402
import models  # noqa: E402
import tinygrad_edu as tg  # noqa: E402

torch, TORCH_MISSING = _bench.import_torch()

LR, MOMENTUM = 0.01, 0.9


def _im2col(a: np.ndarray) -> np.ndarray:
    """Images (C, N, H, W) padded by 1 -> columns (C·3·3, N·H·W) of every 3x3 window."""
    c, n, h, w = a.shape
    ap = np.zeros((c, n, h + 2, w + 2), dtype=a.dtype)
    ap[:, :, 1:-1, 1:-1] = a
    s = ap.strides
    windows = np.lib.stride_tricks.as_strided(ap, (c, 3, 3, n, h, w), (s[0], s[2], s[3], s[1], s[2], s[3]))
    return windows.reshape(c * 9, n * h * w)


def _col2im_grad(g: np.ndarray, wm: np.ndarray, c: int, n: int, h: int, w: int) -> np.ndarray:
    """The input gradient (C, N, H, W) of a 3x3 padding-1 convolution from its output gradient g (O, N·H·W)."""
    o = g.shape[0]
    wp, plane = w + 2, (h + 2) * (w + 2)
    wide = np.zeros((o, n, h, wp), dtype=g.dtype)
    wide[..., :w] = g.reshape(o, n, h, w)
    cols = (wm.T @ wide.reshape(o, -1)).reshape(c, 9, n, h * wp)
    size = n * plane
    flat = np.zeros((c, size + 2 * wp + 2), dtype=g.dtype)
    for k in range(9):
        shift = (k // 3) * wp + k % 3
        flat[:, shift:shift + size].reshape(c, n, plane)[..., :h * wp] += cols[:, k]
    return flat[:, :size].reshape(c, n, h + 2, wp)[:, :, 1:-1, 1:-1]


class NumpyCNN:
    """The CNN's parameters (torch's state_dict keys), their momentum buffers, and one training step."""

    def __init__(self, state: dict[str, np.ndarray], dtype: Any) -> None:
        self.params = {k: v.astype(dtype) for k, v in state.items()}
        self.buffers: dict[str, np.ndarray] = {}

    def grads(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        p = self.params
        n = x.shape[0]
        w1, w2 = p["0.weight"].reshape(16, 9), p["2.weight"].reshape(32, 144)
        # forward, activations (C, N, H, W)
        cols1 = _im2col(x.reshape(1, n, 8, 8))  # (one channel: NCHW and CNHW are the same array)
        y1 = w1 @ cols1
        y1 += p["0.bias"][:, None]
        np.maximum(y1, 0, out=y1)
        cols2 = _im2col(y1.reshape(16, n, 8, 8))
        y2 = w2 @ cols2
        y2 += p["2.bias"][:, None]
        np.maximum(y2, 0, out=y2)
        y2 = y2.reshape(32, n, 8, 8)
        quarters = [y2[:, :, i::2, j::2] for i in (0, 1) for j in (0, 1)]
        pooled = np.maximum(np.maximum(quarters[0], quarters[1]), np.maximum(quarters[2], quarters[3]))
        h0 = pooled.transpose(1, 0, 2, 3).reshape(n, 512)
        z = h0 @ p["6.weight"].T
        z += p["6.bias"]
        np.maximum(z, 0, out=z)
        logits = z @ p["8.weight"].T
        logits += p["8.bias"]
        # cross-entropy and its gradient
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        sums = e.sum(axis=1)
        loss = float((np.log(sums) - shifted[np.arange(n), labels]).mean())
        d = e / sums[:, None]
        d[np.arange(n), labels] -= 1
        d /= n
        # backward
        g: dict[str, np.ndarray] = {"8.weight": d.T @ z, "8.bias": d.sum(axis=0)}
        dz = d @ p["8.weight"]
        dz *= z > 0
        g["6.weight"], g["6.bias"] = dz.T @ h0, dz.sum(axis=0)
        dpooled = (dz @ p["6.weight"]).reshape(n, 32, 4, 4).transpose(1, 0, 2, 3)
        dy2 = np.empty_like(y2)
        free = np.ones(pooled.shape, dtype=bool)  # windows whose (first) maximum is not yet found
        for k, q in enumerate(quarters):
            first = (q == pooled) & free
            free &= ~first
            dy2[:, :, k // 2::2, k % 2::2] = dpooled * first
        dy2 *= y2 > 0
        gm2 = dy2.reshape(32, -1)
        g["2.weight"], g["2.bias"] = (gm2 @ cols2.T).reshape(32, 16, 3, 3), gm2.sum(axis=1)
        dy1 = _col2im_grad(gm2, w2, 16, n, 8, 8)
        gm1 = (dy1 * (y1.reshape(16, n, 8, 8) > 0)).reshape(16, -1)
        g["0.weight"], g["0.bias"] = (gm1 @ cols1.T).reshape(16, 1, 3, 3), gm1.sum(axis=1)
        return loss, g

    def step(self, x: np.ndarray, labels: np.ndarray) -> float:
        loss, grads = self.grads(x, labels)
        for k, grad in grads.items():  # torch's SGD: buf = momentum·buf + grad; p -= lr·buf
            buf = self.buffers.get(k)
            if buf is None:
                self.buffers[k] = buf = grad.copy()
            else:
                buf *= MOMENTUM
                buf += grad
            self.params[k] -= LR * buf
        return loss


def check(problem: models.Problem, dtype: str) -> float:
    """Largest |gradient difference| from torch's, relative to the largest gradient (loss included)."""
    tmodel, _ = models.contender(torch, problem, dtype, None)
    x = problem.x.astype(models.np_dtype(dtype))
    loss, grads = NumpyCNN(models.torch_state(tmodel), models.np_dtype(dtype)).grads(x, problem.y)
    theirs = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x)), torch.from_numpy(problem.y))
    theirs.backward()
    ref = {k: v.grad.numpy() for k, v in tmodel.named_parameters()}
    scale = max(float(np.abs(v).max()) for v in ref.values())
    diff = max(float(np.abs(grads[k] - ref[k]).max()) for k in ref)
    return max(diff / scale, abs(loss - float(theirs.item())))


def main() -> None:
    args = _bench.parse_args(__doc__.splitlines()[0])
    if torch is None:
        print(f"skipped: torch not installed ({TORCH_MISSING})")
        return
    problem = next(p for p in models.problems(args.quick) if p.name == "cnn")
    runs = []
    for dtype in models.DTYPES:
        print(f"== {problem.title}, {dtype}")
        err = check(problem, dtype)
        ok = err <= (1e-4 if dtype == "float32" else 1e-10)
        print(f"  check numpy floor against torch: max relative difference {err:.1e} -> {'OK' if ok else 'MISMATCH'}")
        tmodel, tstep = models.contender(torch, problem, dtype, None)
        state = models.torch_state(tmodel)
        _, ostep = models.contender(tg, problem, dtype, state)
        floor = NumpyCNN(state, models.np_dtype(dtype))
        x = problem.x.astype(models.np_dtype(dtype))
        steps = {"numpy floor": lambda: floor.step(x, problem.y), "torch": tstep, "tinygrad_edu": ostep}
        samples = _bench.interleaved(steps, args.repeats, warmup=3, min_sample_s=0.05 if args.quick else 0.2,
                                     clock=time.process_time)
        med = {who: _bench.median(s) for who, s in samples.items()}
        for who, m in med.items():
            print(f"  {who:<14} {_bench.fmt_time(m):>12} per step   (spread {_bench.spread(samples[who]):.0%})")
        print(f"  numpy floor / torch = {med['numpy floor'] / med['torch']:.3g}x,"
              f" tinygrad_edu / numpy floor = {med['tinygrad_edu'] / med['numpy floor']:.3g}x")
        runs.append({"dtype": dtype, "check_relative_error": err, "check_ok": ok, "seconds_per_step": med,
                     "samples": samples})
    _bench.write_results("cnn_floor", {"script": "cnn_floor", "environment": _bench.environment(("torch",)),
                                       "quick": args.quick, "repeats": args.repeats, "runs": runs})


if __name__ == "__main__":
    main()
