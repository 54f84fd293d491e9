"""Speed of the code users write: nn.Sequential + a loss + an optimizer, against hand NumPy and torch.

The benchmark with targets for the Tensor engine (benchmarks/tensor_engine.py is the diagnostic of the
raw engine beside it). One training step of an MLP with ReLU hidden layers, for 64-128-10 at batch 32,
784-256-10 at batch 64 and 784-1024-1024-10 at batch 256, in float32 and float64, with SGD (lr 0.01)
or Adam (lr 1e-3) and cross-entropy or MSE (against the one-hot labels). Three contenders start from
the same weights and batch:

  (a) tinygrad_edu, the user's code: nn.Sequential(nn.Linear, nn.ReLU, ...), F.cross_entropy(logits,
      labels) or F.mse_loss(out, target), and opt.zero_grad(); loss.backward(); opt.step() with
      tg.optim.SGD or tg.optim.Adam;
  (b) NumPy by hand, as a careful NumPy programmer writes it: the forward in place where it can be,
      the loss, the backward derived by hand (no gradient for the input batch), the optimizer's update
      in place (Adam's through one scratch array per parameter, allocated once);
  (c) torch (CPU, one thread) running the identical user code: torch.nn.Sequential, torch.optim.SGD or
      Adam, F.cross_entropy or F.mse_loss, opt.zero_grad() (torch's default: set_to_none) etc.

Before timing, once per case: the three contenders take one step from the same weights, and their
losses, gradients (relative to the largest gradient) and weight updates (relative to the largest update)
are compared with NumPy's: to 1e-9 in float64 and 1e-4 in float32, except Adam's updates in float32, to
5e-2: its first update lr·g/(|g| + eps) turns a float32 rounding of a gradient near eps into a visible
change of the update.

Targets (on the medians): ours / NumPy <= 1.5x, 1.10x, 1.05x for the three sizes, and ours / torch < 1
at all three, for every dtype, optimizer and loss; SGD with cross-entropy is the headline. All in one
process, contenders interleaved, medians of repeated samples, one thread everywhere. Time is the CPU
time of the process (time.process_time) so that waiting for a busy core does not count; --wall times
by the wall clock. Nothing is asserted about speed: targets are reported as met or not met. After the
timing, the minor page faults per step of each contender are counted (a diagnostic): a step that frees
large arrays may have the C library give their pages back to the system and fault them in again next
step, which can double its time.

Run: python benchmarks/user_path.py [--quick] [--repeats N] [--only sgd-ce,adam-mse,...] [--wall] [--profile]
(--profile: cProfile's top entries for tinygrad_edu's step of each selected case instead of the timing)
Writes benchmarks/results/user_path.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy (or torch) is imported

import math  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import _bench  # noqa: E402
import tinygrad_edu as tg  # noqa: E402

torch, TORCH_MISSING = _bench.import_torch()

SEED = 0
LR = {"sgd": 0.01, "adam": 1e-3}
BETAS, EPS = (0.9, 0.999), 1e-8
CONFIGS = [  # (layer sizes, batch, target for tinygrad_edu / NumPy)
    ((64, 128, 10), 32, 1.5),
    ((784, 256, 10), 64, 1.10),
    ((784, 1024, 1024, 10), 256, 1.05),
]
DTYPES = ("float32", "float64")
CASES = ("sgd-ce", "sgd-mse", "adam-ce", "adam-mse")  # optimizer-loss; sgd-ce is the headline

Layers = list[tuple[np.ndarray, np.ndarray]]  # (W of shape (out, in), b of shape (out,)) per layer, torch's layout


def make_problem(sizes: tuple[int, ...], batch: int, dtype: str) -> tuple[Layers, np.ndarray, np.ndarray, np.ndarray]:
    """torch's default Linear initialisation (U(-k, k), k = 1/√in), a standard-normal batch, random labels
    and their one-hot rows (the MSE target), all drawn in float64 then cast."""
    rng = np.random.default_rng(SEED)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        k = 1 / math.sqrt(n_in)
        layers.append((rng.uniform(-k, k, (n_out, n_in)).astype(dtype), rng.uniform(-k, k, n_out).astype(dtype)))
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], batch)
    onehot = np.eye(sizes[-1], dtype=dtype)[labels]
    return layers, x, labels, onehot


# =========================================================================== (a) and (c): the user's code
# `lib` is the module tinygrad_edu or torch: the same lines run on both.


def user_model(lib: Any, sizes: tuple[int, ...], dtype: Any) -> Any:
    nn = lib.nn
    modules: list[Any] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        modules += [nn.Linear(n_in, n_out, dtype=dtype), nn.ReLU()]
    return nn.Sequential(*modules[:-1])


def user_optimizer(lib: Any, model: Any, optimizer: str) -> Any:
    if optimizer == "sgd":
        return lib.optim.SGD(model.parameters(), lr=LR["sgd"])
    return lib.optim.Adam(model.parameters(), lr=LR["adam"])


def user_step(lib: Any, model: Any, opt: Any, x: Any, target: Any, loss_name: str) -> Callable[[], Any]:
    """The user's training step, as a function of nothing (what is timed)."""
    F = lib.nn.functional
    loss_fn = F.cross_entropy if loss_name == "ce" else F.mse_loss

    def step() -> Any:
        opt.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()
        return loss

    return step


def tg_contender(layers: Layers, x: np.ndarray, target: np.ndarray, case: str) -> tuple[Any, Callable[[], Any]]:
    optimizer, loss_name = case.split("-")
    model = user_model(tg, tuple([layers[0][0].shape[1]] + [W.shape[0] for W, _ in layers]), x.dtype)
    model.load_state_dict({f"{2 * i}.{k}": a for i, (W, b) in enumerate(layers) for k, a in (("weight", W), ("bias", b))})
    step = user_step(tg, model, user_optimizer(tg, model, optimizer), tg.Tensor(x), tg.Tensor(target), loss_name)
    return model, step


def torch_contender(layers: Layers, x: np.ndarray, target: np.ndarray, case: str) -> tuple[Any, Callable[[], Any]]:
    optimizer, loss_name = case.split("-")
    dtype = {np.float32: torch.float32, np.float64: torch.float64}[x.dtype.type]
    model = user_model(torch, tuple([layers[0][0].shape[1]] + [W.shape[0] for W, _ in layers]), dtype)
    with torch.no_grad():
        for i, (W, b) in enumerate(layers):
            model[2 * i].weight.copy_(torch.from_numpy(W))
            model[2 * i].bias.copy_(torch.from_numpy(b))
    step = user_step(torch, model, user_optimizer(torch, model, optimizer), torch.from_numpy(x.copy()),
                     torch.from_numpy(target.copy()), loss_name)
    return model, step


# =========================================================================== (b) NumPy by hand


class NumpyMLP:
    """The same step written by hand in NumPy: weights in torch's layout, updated in place."""

    def __init__(self, layers: Layers, x: np.ndarray, target: np.ndarray, case: str) -> None:
        self.optimizer, self.loss_name = case.split("-")
        self.params = [a.copy() for layer in layers for a in layer]  # W0, b0, W1, b1, ...
        self.x, self.target = x, target
        self.rows = np.arange(len(x))
        if self.optimizer == "adam":
            self.t = 0
            self.m = [np.zeros_like(p) for p in self.params]
            self.v = [np.zeros_like(p) for p in self.params]
            self.scratch = [np.empty_like(p) for p in self.params]

    def loss_and_grads(self) -> tuple[float, list[np.ndarray]]:
        """Forward, the loss, and dL/dW, dL/db of every layer (no gradient for the batch)."""
        p = self.params
        n_layers = len(p) // 2
        acts = [self.x]  # the input of each layer
        for i in range(n_layers - 1):
            h = acts[-1] @ p[2 * i].T
            h += p[2 * i + 1]
            np.maximum(h, 0, out=h)
            acts.append(h)
        out = acts[-1] @ p[-2].T
        out += p[-1]
        B = len(out)
        if self.loss_name == "ce":  # mean of -log softmax[label], from logits shifted by their row maximum
            out -= out.max(axis=1, keepdims=True)
            exp = np.exp(out)
            total = exp.sum(axis=1, keepdims=True)
            loss = float(np.log(total).mean() - out[self.rows, self.target].mean())
            delta = exp  # dL/dlogits = (softmax - onehot) / B, built in place
            delta /= total
            delta[self.rows, self.target] -= 1
            delta *= 1 / B
        else:  # mean of (out - target)² over all elements
            delta = out
            delta -= self.target
            loss = float(np.vdot(delta, delta)) / delta.size
            delta *= 2 / delta.size
        grads: list[np.ndarray] = []
        for i in range(n_layers - 1, -1, -1):
            a = acts[i]
            grads += [delta.sum(axis=0), delta.T @ a]  # (gb, gW), reversed below
            if i:  # back through layer i's weights and the ReLU that made its input
                delta = delta @ p[2 * i]
                delta *= a > 0
        grads.reverse()
        return loss, grads

    def step(self) -> float:
        loss, grads = self.loss_and_grads()
        if self.optimizer == "sgd":
            lr = LR["sgd"]
            for p, g in zip(self.params, grads):
                g *= lr
                p -= g
            return loss
        self.t += 1
        (b1, b2), lr = BETAS, LR["adam"]
        step_size = lr / (1 - b1**self.t)
        root = math.sqrt(1 - b2**self.t)
        for p, g, m, v, s in zip(self.params, grads, self.m, self.v, self.scratch):
            m *= b1  # m = b1 m + (1 - b1) g
            np.multiply(g, 1 - b1, out=s)
            m += s
            v *= b2  # v = b2 v + (1 - b2) g²
            np.multiply(g, g, out=s)
            s *= 1 - b2
            v += s
            np.sqrt(v, out=s)  # p -= step_size · m / (√v / √(1 - b2^t) + eps)
            s *= 1 / root
            s += EPS
            np.divide(m, s, out=s)
            s *= step_size
            p -= s
        return loss


# =========================================================================== check: the same step


def check(layers: Layers, x: np.ndarray, labels: np.ndarray, onehot: np.ndarray, case: str) -> dict[str, Any]:
    """One step of each contender from the same weights: the loss, the gradients (left in .grad by the
    step) and the weight updates, each against NumPy's."""
    optimizer, loss_name = case.split("-")
    target = labels if loss_name == "ce" else onehot
    before = [a.copy() for layer in layers for a in layer]
    grads_np = NumpyMLP(layers, x, target, case).loss_and_grads()[1]
    ref = NumpyMLP(layers, x, target, case)
    loss_np = ref.step()
    delta_np = [a - b for a, b in zip(ref.params, before)]
    grad_scale = max(float(np.max(np.abs(g))) for g in grads_np)
    scale = max(float(np.max(np.abs(d))) for d in delta_np)
    tolerance = 1e-4 if x.dtype == np.float32 else 1e-9
    update_tolerance = 5e-2 if x.dtype == np.float32 and optimizer == "adam" else tolerance
    result: dict[str, Any] = {"loss": loss_np, "max_abs_grad": grad_scale, "max_abs_update": scale,
                              "tolerance": tolerance, "update_tolerance": update_tolerance}
    runs = [("tinygrad_edu", tg_contender)] + ([("torch", torch_contender)] if torch is not None else [])
    ok = True
    for who, make in runs:
        model, step = make(layers, x, target, case)
        loss = float(step().item())
        params = list(model.parameters())
        after = [np.asarray(p.detach().numpy()) for p in params]
        grads = [np.asarray(p.grad.numpy() if who == "torch" else p.grad) for p in params]
        dtype_kept = all(a.dtype == x.dtype for a in after + grads)
        grad_diff = max(float(np.max(np.abs(g - gn))) for g, gn in zip(grads, grads_np))
        diff = max(float(np.max(np.abs((a - b) - d))) for a, b, d in zip(after, before, delta_np))
        loss_diff = abs(loss - loss_np)
        good = (loss_diff <= tolerance * max(1.0, abs(loss_np)) and grad_diff <= tolerance * grad_scale
                and diff <= update_tolerance * scale and dtype_kept)
        result[who] = {"loss_abs_diff": loss_diff, "max_grad_abs_diff": grad_diff, "max_update_abs_diff": diff,
                       "dtype_kept": dtype_kept, "ok": good}
        ok = ok and good
    result["ok"] = ok
    return result


# =========================================================================== timing


def bench(sizes: tuple[int, ...], batch: int, numpy_target: float, dtype: str, case: str, repeats: int,
          quick: bool, clock: Callable[[], float]) -> dict[str, Any]:
    name = f"{'-'.join(map(str, sizes))}/b{batch} {dtype} {case}"
    layers, x, labels, onehot = make_problem(sizes, batch, dtype)
    target = labels if case.endswith("-ce") else onehot
    print(f"== {name}")
    c = check(layers, x, labels, onehot, case)
    whos = [w for w in ("tinygrad_edu", "torch") if w in c]
    print("  check: loss " + f"{c['loss']:.8g}; " + "; ".join(
        f"{w} |loss diff| {c[w]['loss_abs_diff']:.1e}, max |grad diff| {c[w]['max_grad_abs_diff']:.1e}, "
        f"max |update diff| {c[w]['max_update_abs_diff']:.1e}" for w in whos)
        + f" (largest grad {c['max_abs_grad']:.2g}, update {c['max_abs_update']:.2g}) -> {'OK' if c['ok'] else 'MISMATCH'}")

    steps = {"tinygrad_edu": tg_contender(layers, x, target, case)[1],
             "numpy": NumpyMLP(layers, x, target, case).step}
    if torch is not None:
        steps["torch"] = torch_contender(layers, x, target, case)[1]
    samples = _bench.interleaved(steps, repeats, warmup=3, min_sample_s=0.02 if quick else 0.1, clock=clock)
    med = {who: _bench.median(s) for who, s in samples.items()}
    line = "  " + "   ".join(f"{who} {_bench.fmt_time(m)}" for who, m in med.items())
    print(line + f"   (spread {', '.join(f'{_bench.spread(s):.0%}' for s in samples.values())})")
    faults = {who: page_faults(step, 5 if quick else 20) for who, step in steps.items()}
    print("  (diagnostic) page faults per step: " + ", ".join(f"{who} {f:.0f}" for who, f in faults.items()))
    targets = [_bench.target(f"{name}: ours / numpy", med["tinygrad_edu"] / med["numpy"], "<=", numpy_target)]
    if "torch" in med:
        targets.append(_bench.target(f"{name}: ours / torch", med["tinygrad_edu"] / med["torch"], "<", 1))
    for t in targets:
        _bench.print_target(t)
    return {"sizes": list(sizes), "batch": batch, "dtype": dtype, "case": case, "check": c,
            "seconds_per_step": med, "samples": samples, "page_faults_per_step": faults, "targets": targets}


def page_faults(step: Callable[[], Any], n: int) -> float:
    """Minor page faults per call of step, untimed: memory the C library gave back to the system and that
    is touched again. Many per step mean the step's time includes the kernel zeroing fresh pages."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(n):
        step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / n


def profile(sizes: tuple[int, ...], batch: int, dtype: str, case: str, top: int = 25) -> None:
    """cProfile's top entries (by own time) for tinygrad_edu's step."""
    layers, x, labels, onehot = make_problem(sizes, batch, dtype)
    _, step = tg_contender(layers, x, labels if case.endswith("-ce") else onehot, case)
    n = min(500, max(5, int(2000 / (sum(a * b for a, b in zip(sizes, sizes[1:])) * batch / 1e5))))
    _bench.profile_steps(step, n, f"tinygrad_edu's step: {'-'.join(map(str, sizes))}/b{batch} {dtype} {case}", top)


def main() -> None:
    only = _bench.take_option("--only", True)
    cases = CASES if only is None else tuple(c for c in only.split(",") if c in CASES)
    sizes_only = _bench.take_option("--sizes", True)  # e.g. "784-256-10": one configuration
    dtypes_only = _bench.take_option("--dtypes", True)
    clock = time.perf_counter if _bench.take_option("--wall", False) else time.process_time
    profiling = _bench.take_option("--profile", False)
    args = _bench.parse_args(__doc__.splitlines()[0])
    configs = [c for c in CONFIGS if sizes_only is None or "-".join(map(str, c[0])) in sizes_only.split(",")]
    dtypes = DTYPES if dtypes_only is None else tuple(dtypes_only.split(","))
    if profiling:
        for sizes, batch, _ in configs:
            for dtype in dtypes:
                for case in cases:
                    profile(sizes, batch, dtype, case)
        return
    env = _bench.environment(("torch",))
    print(f"{_bench.run_line(env, args)}; clock: {'wall time' if clock is time.perf_counter else 'CPU time of this process'}")
    if torch is None:
        print(f"torch not installed ({TORCH_MISSING}): no ratios against torch")
    else:
        print(f"torch threads: {torch.get_num_threads()}")
    print()
    runs = [bench(sizes, batch, tgt, dtype, case, args.repeats, args.quick, clock)
            for sizes, batch, tgt in configs for dtype in dtypes for case in cases]
    print("\n== summary: ours / numpy (ours / torch)")
    for case in cases:
        for dtype in dtypes:
            cells = []
            for r in (r for r in runs if r["case"] == case and r["dtype"] == dtype):
                s = r["seconds_per_step"]
                cells.append(f"{s['tinygrad_edu'] / s['numpy']:.2f}x" + (f" ({s['tinygrad_edu'] / s['torch']:.2f}x)" if "torch" in s else ""))
            print(f"  {case:<9} {dtype:<8} " + "   ".join(cells))
    _bench.write_results("user_path", {
        "script": "user_path", "environment": env, "quick": args.quick, "repeats": args.repeats,
        "clock": "wall" if clock is time.perf_counter else "process_time", "runs": runs,
        "targets": [t for r in runs for t in r["targets"]] + [
            _bench.target("check: the three contenders agree, every case (1 = yes)",
                          float(all(r["check"]["ok"] for r in runs)), ">=", 1, unit="")],
    })


if __name__ == "__main__":
    main()
