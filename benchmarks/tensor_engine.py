"""Speed of the Tensor engine (tinygrad_edu.Tensor) against hand-written NumPy and PyTorch (CPU).

A diagnostic of the raw engine: the step below is written with raw Tensor ops and a hand-rolled
in-place update, not as users write it. The benchmark with the targets for the code users write
(nn.Sequential, F.cross_entropy, an optimizer's zero_grad/backward/step) is benchmarks/user_path.py;
when that one is slow, this one says whether the engine or the layers and optimizers around it are.

What it measures, all in one process, contenders interleaved, medians of repeated samples, float64,
one thread everywhere:

1. One SGD step of an MLP with ReLU hidden layers and a cross-entropy loss: forward, loss, backward,
   update of every parameter (lr 0.01), for 64-128-10 at batch 32, 784-256-10 at batch 64 and
   784-1024-1024-10 at batch 256. Contenders start from the same weights and batch:
     (a) tinygrad_edu: loss = tg.cross_entropy(logits, labels) (one fused, stable node);
         loss.backward(); then the in-place update p.grad *= lr; p.data -= p.grad; p.grad = None;
     (b) NumPy by hand, the limit for any NumPy engine: forward, stable log-softmax, the backward
         derived by hand (no gradient for the input batch), in-place update;
     (c) PyTorch: torch.nn.functional.cross_entropy, loss.backward(), then the in-place update
         p.add_(p.grad, alpha=-lr); p.grad = None (what torch.optim.SGD does).
   All three update in place, so the comparison is of the engines, not of the update line.
   Targets, tinygrad_edu / NumPy: <= 1.5x, <= 1.15x, <= 1.05x for the three sizes;
   tinygrad_edu / torch < 1 at 64-128-10. (a) and (b) are checked once to give the same loss and
   gradients.
2. Per-op overhead: a chain of N recorded adds of 1-element tensors (x = x + c, x requiring grad, c a
   1-element constant) plus its backward, in microseconds per op; torch's same chain beside it.
   Target <= 3 us per op.

The batch is wrapped once, outside the timing (tinygrad_edu.Tensor, torch.from_numpy), as a data
loader would hand it over; everything from the forward to the update is timed.

Run: python benchmarks/tensor_engine.py [--quick] [--repeats N]
Writes benchmarks/results/tensor_engine.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy (or torch) is imported

from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import _bench  # noqa: E402
import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Tensor  # noqa: E402

torch, TORCH_MISSING = _bench.import_torch()
F = torch.nn.functional if torch is not None else None

SEED = 0
LR = 0.01
CONFIGS = [  # (layer sizes, batch, target for tinygrad_edu / NumPy)
    ((64, 128, 10), 32, 1.5),
    ((784, 256, 10), 64, 1.15),
    ((784, 1024, 1024, 10), 256, 1.05),
]

Layers = list[tuple[np.ndarray, np.ndarray]]  # (W of shape (n_in, n_out), b of shape (n_out,)) per layer


def make_problem(sizes: tuple[int, ...], batch: int, seed: int) -> tuple[Layers, np.ndarray, np.ndarray]:
    """He-initialised weights, small random biases, a standard-normal batch and random labels."""
    rng = np.random.default_rng(seed)
    layers = [
        (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in), rng.uniform(-0.1, 0.1, n_out))
        for n_in, n_out in zip(sizes[:-1], sizes[1:])
    ]
    x = rng.standard_normal((batch, sizes[0]))
    labels = rng.integers(0, sizes[-1], batch)
    return layers, x, labels


# --------------------------------------------------------------------------- (a) tinygrad_edu


def tg_params(layers: Layers) -> list[Tensor]:
    return [Tensor(a.copy(), requires_grad=True) for layer in layers for a in layer]


def tg_loss(params: list[Tensor], x: Tensor, labels: np.ndarray) -> Tensor:
    h = x
    for i in range(0, len(params) - 2, 2):
        h = (h @ params[i] + params[i + 1]).relu()
    logits = h @ params[-2] + params[-1]
    return tg.cross_entropy(logits, labels)


def tg_step(params: list[Tensor], x: Tensor, labels: np.ndarray) -> None:
    loss = tg_loss(params, x, labels)
    loss.backward()
    for p in params:
        p.grad *= LR
        p.data -= p.grad
        p.grad = None


# --------------------------------------------------------------------------- (b) NumPy by hand


def np_loss_and_grads(layers: Layers, x: np.ndarray, labels: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """Forward, mean cross-entropy from a stable log-softmax, and dL/dW, dL/db for every layer."""
    B = x.shape[0]
    acts = [x]  # the input of each layer
    for W, b in layers[:-1]:
        h = acts[-1] @ W
        h += b
        np.maximum(h, 0.0, out=h)
        acts.append(h)
    W, b = layers[-1]
    logits = acts[-1] @ W
    logits += b
    logits -= logits.max(axis=1, keepdims=True)  # shifted: the largest exponent is 0
    exp = np.exp(logits)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(B)
    loss = float(np.log(total).mean() - logits[rows, labels].mean())  # -mean(log_softmax[label])

    delta = exp  # dL/dlogits = (softmax - onehot) / B, built in place
    delta /= total
    delta[rows, labels] -= 1.0
    delta /= B
    grads: list[np.ndarray] = []
    for i in range(len(layers) - 1, -1, -1):
        a = acts[i]
        grads += [delta.sum(axis=0), a.T @ delta]  # reversed below: (gW, gb) per layer
        if i:  # back through layer i's weights and the ReLU that made its input
            delta = delta @ layers[i][0].T
            delta *= a > 0
    grads.reverse()
    return loss, grads


def np_step(layers: Layers, x: np.ndarray, labels: np.ndarray) -> None:
    _, grads = np_loss_and_grads(layers, x, labels)
    for p, g in zip((a for layer in layers for a in layer), grads):
        g *= LR
        p -= g


# --------------------------------------------------------------------------- (c) PyTorch


def torch_params(layers: Layers) -> list[Any]:
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for layer in layers for a in layer]


def torch_loss(params: list[Any], x: Any, labels: Any) -> Any:
    h = x
    for i in range(0, len(params) - 2, 2):
        h = torch.relu(h @ params[i] + params[i + 1])
    logits = h @ params[-2] + params[-1]
    return F.cross_entropy(logits, labels)


def torch_step(params: list[Any], x: Any, labels: Any) -> None:
    loss = torch_loss(params, x, labels)
    loss.backward()
    with torch.no_grad():
        for p in params:
            p.add_(p.grad, alpha=-LR)
            p.grad = None


# --------------------------------------------------------------------------- part 1: the SGD step


def check_step(layers: Layers, x: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Loss and gradients of (a), and of (c) when installed, against (b) at the same weights."""
    copies = [(W.copy(), b.copy()) for W, b in layers]
    loss_np, grads_np = np_loss_and_grads(copies, x, labels)
    result: dict[str, Any] = {}
    params = tg_params(layers)
    loss = tg_loss(params, Tensor(x), labels)
    loss.backward()
    result["tinygrad_edu_vs_numpy"] = _compare(loss.item(), loss_np, [p.grad for p in params], grads_np)
    if torch is not None:
        tparams = torch_params(layers)
        tloss = torch_loss(tparams, torch.from_numpy(x), torch.from_numpy(labels))
        tloss.backward()
        result["torch_vs_numpy"] = _compare(tloss.item(), loss_np, [p.grad.numpy() for p in tparams], grads_np)
    return result


def _compare(loss_a: float, loss_b: float, ga: list[np.ndarray], gb: list[np.ndarray]) -> dict[str, Any]:
    assert len(ga) == len(gb) and all(a.shape == b.shape for a, b in zip(ga, gb))
    loss_diff = abs(loss_a - loss_b)
    grad_diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ga, gb))
    scale = max(float(np.max(np.abs(b))) for b in gb)
    return {"loss": loss_b, "loss_abs_diff": loss_diff, "max_grad_abs_diff": grad_diff, "max_abs_grad": scale,
            "ok": loss_diff <= 1e-9 * max(1.0, abs(loss_b)) and grad_diff <= 1e-9 * max(1.0, scale)}


def bench_step(sizes: tuple[int, ...], batch: int, numpy_target: float, repeats: int, quick: bool) -> dict[str, Any]:
    name = "-".join(map(str, sizes))
    layers, x, labels = make_problem(sizes, batch, SEED)
    print(f"== SGD step, MLP {name}, batch {batch}, float64")
    check = check_step(layers, x, labels)
    for who, c in check.items():
        print(f"  check {who}: loss {c['loss']:.12f}, |loss diff| {c['loss_abs_diff']:.1e}, "
              f"max |grad diff| {c['max_grad_abs_diff']:.1e} (largest |grad| {c['max_abs_grad']:.2g}) -> "
              f"{'OK' if c['ok'] else 'MISMATCH'}")

    params = tg_params(layers)
    x_tg = Tensor(x)
    np_layers = [(W.copy(), b.copy()) for W, b in layers]
    contenders = {
        "tinygrad_edu": lambda: tg_step(params, x_tg, labels),
        "numpy": lambda: np_step(np_layers, x, labels),
    }
    if torch is not None:
        tparams = torch_params(layers)
        x_t, labels_t = torch.from_numpy(x), torch.from_numpy(labels)
        contenders["torch"] = lambda: torch_step(tparams, x_t, labels_t)
    samples = _bench.interleaved(contenders, repeats, warmup=2, min_sample_s=0.02 if quick else 0.05)
    med = {k: _bench.median(v) for k, v in samples.items()}
    for who, m in med.items():
        print(f"  {who:<14} {_bench.fmt_time(m):>12} per step   (spread {_bench.spread(samples[who]):.0%})")
    targets = [_bench.target(f"step {name}/b{batch}: tinygrad_edu / numpy", med["tinygrad_edu"] / med["numpy"],
                             "<=", numpy_target)]
    if "torch" in med:
        ratio = med["tinygrad_edu"] / med["torch"]
        if sizes == (64, 128, 10):
            targets.append(_bench.target(f"step {name}/b{batch}: tinygrad_edu / torch", ratio, "<", 1))
        else:
            print(f"  tinygrad_edu / torch = {ratio:.3g}x (no target)")
    else:
        print("  skipped: torch not installed")
    for t in targets:
        _bench.print_target(t)
    return {"sizes": list(sizes), "batch": batch, "check": check, "seconds_per_step": med, "samples": samples,
            "targets": targets}


# --------------------------------------------------------------------------- part 2: per-op overhead


def tg_chain(n: int) -> None:
    x = Tensor(np.ones(1), requires_grad=True)
    c = Tensor(np.full(1, 1e-3))
    for _ in range(n):
        x = x + c
    x.backward()


def torch_chain(n: int) -> None:
    x = torch.ones(1, dtype=torch.float64, requires_grad=True)
    c = torch.full((1,), 1e-3, dtype=torch.float64)
    for _ in range(n):
        x = x + c
    x.backward()


def bench_per_op(repeats: int, quick: bool) -> dict[str, Any]:
    n = 2_000 if quick else 10_000
    print(f"\n== per-op overhead: a chain of {n:,} recorded 1-element adds + backward")
    contenders = {"tinygrad_edu": lambda: tg_chain(n)}
    if torch is not None:
        contenders["torch"] = lambda: torch_chain(n)
    samples = _bench.interleaved(contenders, repeats, warmup=1, min_sample_s=0.02 if quick else 0.05)
    us = {k: _bench.median(v) / n * 1e6 for k, v in samples.items()}
    for who, u in us.items():
        print(f"  {who:<14} {u:8.2f} us per op (forward + backward)")
    if "torch" in us:
        print(f"  tinygrad_edu / torch = {us['tinygrad_edu'] / us['torch']:.3g}x")
    else:
        print("  skipped: torch not installed")
    t = _bench.target("per-op overhead, tinygrad_edu (1-element add)", us["tinygrad_edu"], "<=", 3, unit=" us")
    _bench.print_target(t)
    return {"ops": n, "us_per_op": us, "targets": [t]}


def main() -> None:
    args = _bench.parse_args(__doc__.splitlines()[0])
    env = _bench.environment(("torch",))
    print(_bench.run_line(env, args))
    if torch is None:
        print(f"skipped: torch not installed ({TORCH_MISSING})")
    else:
        print(f"torch threads: {torch.get_num_threads()}; torch update: in place, p.add_(p.grad, alpha=-lr), under torch.no_grad()")
    print()
    steps = [bench_step(sizes, batch, tgt, args.repeats, args.quick) for sizes, batch, tgt in CONFIGS]
    per_op = bench_per_op(args.repeats, args.quick)
    _bench.write_results("tensor_engine", {
        "script": "tensor_engine", "environment": env, "quick": args.quick, "repeats": args.repeats,
        "torch_update": "manual SGD under torch.no_grad(): p -= lr * p.grad; p.grad = None",
        "sgd_step": steps, "per_op": per_op,
        "targets": [t for s in steps for t in s["targets"]] + per_op["targets"] + [
            _bench.target("check: Tensor and NumPy agree, all sizes (1 = yes)",
                          float(all(s["check"]["tinygrad_edu_vs_numpy"]["ok"] for s in steps)), ">=", 1, unit=""),
        ],
    })


if __name__ == "__main__":
    main()
