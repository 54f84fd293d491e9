"""Where the user path's time goes beyond NumPy's (a diagnostic for benchmarks/user_path.py, no targets).

One SGD training step of the user_path MLPs (cross-entropy or MSE), four contenders interleaved in one
process, one thread, medians of repeated samples, CPU time of the process:

  numpy    the step written by hand in NumPy (user_path.NumpyMLP: in place wherever it can be);
  ops      tinygrad_edu's own op definitions called in a fixed order, no engine: each op's forward, then
           its rules (ops.LINEAR, ops.RELU, ops.CROSS_ENTROPY or ops.MSE_LOSS), then the optimizer's
           update: the arithmetic our ops do, and nothing else;
  tape     the same ops under the least engine that still records a graph as it computes: a tape of
           (op, output, inputs, params), walked backwards with a dictionary of gradients, layers as
           objects with a weight and a bias; no checks, no module notes, no in-place tracking;
  ours     the user's code of user_path.py: nn.Sequential, F.cross_entropy/F.mse_loss, optim.SGD.

ops / numpy is what our op definitions cost over hand-written NumPy; tape / ops what any Python engine
that records a graph adds; ours / tape what tinygrad_edu's API and features add on top (Module calls
noted for the drawings, argument checks with their messages, saved-value and in-place checks, the
optimizer's parameter groups and state). All four are checked against NumPy's gradients once.

Run: python benchmarks/user_path_floor.py [--quick] [--repeats N] [--sizes 64-128-10,...] [--dtypes float64,...]
Writes benchmarks/results/user_path_floor.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy is imported

import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import _bench  # noqa: E402
import user_path  # noqa: E402
from tinygrad_edu import ops  # noqa: E402

LR = user_path.LR["sgd"]
CASES = ("sgd-ce", "sgd-mse")


def loss_op(case: str, target: np.ndarray) -> tuple[ops.Op, dict[str, Any], tuple[Any, ...]]:
    """The fused loss op, its params and its extra inputs (cross-entropy's labels are a param)."""
    if case.endswith("-ce"):
        return ops.CROSS_ENTROPY, {"labels": target}, ()
    return ops.MSE_LOSS, {"reduction": "mean"}, (target,)


# --------------------------------------------------------------------------- ops: no engine


def ops_step(layers: user_path.Layers, x: np.ndarray, target: np.ndarray, case: str) -> tuple[list[np.ndarray], Callable[[], list[np.ndarray]]]:
    params = [a.copy() for layer in layers for a in layer]
    scratch = np.empty(max(p.size for p in params), dtype=x.dtype)
    op, loss_params, extra = loss_op(case, target)
    linear, relu = ops.LINEAR, ops.RELU

    def step() -> list[np.ndarray]:
        acts, lin = [x], []  # the input of every layer, and every linear node's output
        for i in range(0, len(params), 2):
            y = linear.forward(acts[-1], params[i], params[i + 1])
            lin.append(y)
            acts.append(relu.forward(y) if i + 2 < len(params) else y)
        loss, saved = op.saving_forward(acts[-1], *extra, **loss_params)
        seed = np.ones((), dtype=x.dtype)
        g = op.vjps[0](seed, loss, acts[-1], *extra, **loss_params, saved=saved)
        grads: list[np.ndarray] = [None] * len(params)  # type: ignore[list-item]
        for k in range(len(lin) - 1, -1, -1):  # layer k: its linear node, then the ReLU before it
            args = (g, lin[k], acts[k], params[2 * k], params[2 * k + 1])
            grads[2 * k], grads[2 * k + 1] = linear.vjps[1](*args), linear.vjps[2](*args)
            if k:
                g = relu.vjps[0](linear.vjps[0](*args), acts[k], lin[k - 1])
        for p, gp in zip(params, grads):
            s = scratch[:p.size].reshape(p.shape)
            np.subtract(p, np.multiply(gp, LR, out=s), out=p)
        return grads

    return params, step


# --------------------------------------------------------------------------- tape: the least engine


class TapeTensor:
    __slots__ = ("data", "grad", "requires_grad")

    def __init__(self, data: np.ndarray, requires_grad: bool = False) -> None:
        self.data, self.grad, self.requires_grad = data, None, requires_grad


class Tape:
    """A define-by-run graph at its smallest: what each op made from what, in the order it ran."""

    def __init__(self) -> None:
        self.records: list[tuple[ops.Op, TapeTensor, tuple[TapeTensor, ...], dict[str, Any]]] = []

    def apply(self, op: ops.Op, *inputs: TapeTensor, **params: Any) -> TapeTensor:
        arrays = [t.data for t in inputs]
        if op.saving_forward is not None:
            data, params["saved"] = op.saving_forward(*arrays, **params)
        else:
            data = op.forward(*arrays, **params)
        out = TapeTensor(data, any(t.requires_grad for t in inputs))
        if out.requires_grad:
            self.records.append((op, out, inputs, params))
        return out

    def backward(self, loss: TapeTensor) -> None:
        grads = {id(loss): np.ones((), dtype=loss.data.dtype)}  # id -> the gradient summed so far
        holders: dict[int, TapeTensor] = {}
        for op, out, inputs, params in reversed(self.records):
            g = grads.pop(id(out), None)  # every edge leaving out has been walked: complete
            if g is None:
                continue
            args = (g, out.data, *[t.data for t in inputs])
            for t, rule in zip(inputs, op.vjps):
                if t.requires_grad:
                    gk = rule(*args, **params)
                    prev = grads.get(id(t))
                    grads[id(t)] = gk if prev is None else prev + gk
                    holders[id(t)] = t
        for key, g in grads.items():  # what is left belongs to leaves (every op's output was popped)
            holders[key].grad = g
        self.records.clear()


class TapeLinear:
    def __init__(self, tape: Tape, w: np.ndarray, b: np.ndarray) -> None:
        self.tape, self.weight, self.bias = tape, TapeTensor(w.copy(), True), TapeTensor(b.copy(), True)

    def __call__(self, x: TapeTensor) -> TapeTensor:
        return self.tape.apply(ops.LINEAR, x, self.weight, self.bias)


def tape_step(layers: user_path.Layers, x: np.ndarray, target: np.ndarray, case: str) -> tuple[list[TapeTensor], Callable[[], list[np.ndarray]]]:
    tape = Tape()
    model = [TapeLinear(tape, w, b) for w, b in layers]
    params = [t for layer in model for t in (layer.weight, layer.bias)]
    scratch = np.empty(max(p.data.size for p in params), dtype=x.dtype)
    op, loss_params, extra = loss_op(case, target)
    xt, extra_t = TapeTensor(x), tuple(TapeTensor(e) for e in extra)

    def step() -> list[np.ndarray]:
        for p in params:
            p.grad = None
        h = xt
        for i, layer in enumerate(model):
            h = layer(h)
            if i + 1 < len(model):
                h = tape.apply(ops.RELU, h)
        loss = tape.apply(op, h, *extra_t, **loss_params)
        tape.backward(loss)
        for p in params:
            s = scratch[:p.data.size].reshape(p.data.shape)
            np.subtract(p.data, np.multiply(p.grad, LR, out=s), out=p.data)
        return [p.grad for p in params]

    return params, step


# --------------------------------------------------------------------------- main


def contenders(layers: user_path.Layers, x: np.ndarray, target: np.ndarray, case: str) -> dict[str, Callable[[], Any]]:
    ours = user_path.tg_contender(layers, x, target, case)[1]
    return {"numpy": user_path.NumpyMLP(layers, x, target, case).step, "ops": ops_step(layers, x, target, case)[1],
            "tape": tape_step(layers, x, target, case)[1], "ours": ours}


def check(layers: user_path.Layers, x: np.ndarray, target: np.ndarray, case: str) -> float:
    """The largest difference of a contender's first-step gradients from NumPy's, relative to the largest."""
    expected = user_path.NumpyMLP(layers, x, target, case).loss_and_grads()[1]
    model, ours = user_path.tg_contender(layers, x, target, case)
    ours()
    got = {"ops": ops_step(layers, x, target, case)[1](), "tape": tape_step(layers, x, target, case)[1](),
           "ours": [np.asarray(p.grad) for p in model.parameters()]}
    scale = max(float(np.max(np.abs(g))) for g in expected)
    return max(float(np.max(np.abs(g - e))) / scale for grads in got.values() for g, e in zip(grads, expected))


def main() -> None:
    sizes_only = _bench.take_option("--sizes", True)
    dtypes_only = _bench.take_option("--dtypes", True)
    args = _bench.parse_args(__doc__.splitlines()[0])
    configs = [c for c in user_path.CONFIGS if sizes_only is None or "-".join(map(str, c[0])) in sizes_only.split(",")]
    dtypes = user_path.DTYPES if dtypes_only is None else tuple(dtypes_only.split(","))
    runs = []
    for sizes, batch, _ in configs:
        for dtype in dtypes:
            for case in CASES:
                layers, x, labels, onehot = user_path.make_problem(sizes, batch, dtype)
                target = labels if case.endswith("-ce") else onehot
                name = f"{'-'.join(map(str, sizes))}/b{batch} {dtype} {case}"
                error = check(layers, x, target, case)
                steps = contenders(layers, x, target, case)
                samples = _bench.interleaved(steps, args.repeats, warmup=3, min_sample_s=0.02 if args.quick else 0.1,
                                             clock=time.process_time)
                med = {who: _bench.median(s) for who, s in samples.items()}
                print(f"== {name} (gradients agree with NumPy's to {error:.0e} relative)")
                print("  " + "   ".join(f"{who} {_bench.fmt_time(m)}" for who, m in med.items())
                      + f"   (spread {', '.join(f'{_bench.spread(s):.0%}' for s in samples.values())})")
                print(f"  ops / numpy {med['ops'] / med['numpy']:.2f}x   tape / numpy {med['tape'] / med['numpy']:.2f}x   "
                      f"ours / numpy {med['ours'] / med['numpy']:.2f}x   (ours - tape: {_bench.fmt_time(med['ours'] - med['tape'])}"
                      f" per step)")
                runs.append({"sizes": list(sizes), "batch": batch, "dtype": dtype, "case": case, "max_grad_error": error,
                             "seconds_per_step": med, "samples": samples})
    _bench.write_results("user_path_floor", {"script": "user_path_floor", "environment": _bench.environment(),
                                             "quick": args.quick, "repeats": args.repeats, "runs": runs, "targets": []})


if __name__ == "__main__":
    main()
