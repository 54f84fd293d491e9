"""Speed of gradient checking (tinygrad_edu.gradcheck) against PyTorch's and against plain NumPy.

What it measures, all in one process, contenders interleaved, medians of repeated samples, float64,
one thread everywhere. The model is a two-layer MLP with a tanh hidden layer and a mean squared
error loss on a fixed batch of 16, checked with respect to all its parameters, at three sizes
chosen to match the parameter counts of the issue's PyTorch figures: 4-16-2 (114 parameters),
32-26-4 (966) and 100-100-4 (10,504).

1. A full check: tg.gradcheck over the four parameter tensors (2P + 1 forward evaluations plus one
   backward) beside torch.autograd.gradcheck of the same function (the issue quotes about 10.5 ms,
   85 ms and 0.94 s for PyTorch on its machine).
2. Fast mode: tg.gradcheck(fast_mode=True) beside torch.autograd.gradcheck(fast_mode=True).
3. The cost of each forward evaluation of a full check, beside the same computation written in
   plain NumPy (the batch is wrapped in Tensors once, outside the timing). The issue counts a full
   check as "2P forward evaluations plus the analytical pass, each forward within 1.5x of NumPy", so
   the target is on the check's differencing loop, timed alone (nudge an element, evaluate, record
   the output: 2P + 1 evaluations inside one no_grad, as gradcheck runs them), per evaluation.
   Two diagnostics beside it, each dearer than a forward for its own reason: the full check's time
   divided by its evaluations (it also carries the analytical pass, one backward, and the report:
   at 114 parameters they add about 1 us per evaluation), and the model's loss alone with
   `with tg.no_grad():` entered on every call (about 0.7 us more, where the check enters it once).

Run: python benchmarks/gradcheck.py [--quick] [--repeats N]
Writes benchmarks/results/gradcheck.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy (or torch) is imported

from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import _bench  # noqa: E402
import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu.gradcheck import _Evaluator, _find_leaves, _numerical_jacobian  # noqa: E402  (for a diagnostic)
from tinygrad_edu import Tensor  # noqa: E402

torch, TORCH_MISSING = _bench.import_torch()

BATCH = 16
SIZES = [(4, 16, 2), (32, 26, 4), (100, 100, 4)]  # 114, 966 and 10,504 parameters
PYTORCH_QUOTED = {114: 10.5e-3, 966: 85e-3, 10504: 0.94}  # the figures, for reference only


def parameter_count(n_in: int, hidden: int, n_out: int) -> int:
    return (n_in + 1) * hidden + (hidden + 1) * n_out


def problem(n_in: int, hidden: int, n_out: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    bound1, bound2 = 1 / np.sqrt(n_in), 1 / np.sqrt(hidden)
    arrays = [rng.uniform(-bound1, bound1, (n_in, hidden)), rng.uniform(-bound1, bound1, hidden),
              rng.uniform(-bound2, bound2, (hidden, n_out)), rng.uniform(-bound2, bound2, n_out)]
    return {"x": rng.normal(size=(BATCH, n_in)), "y": rng.normal(size=(BATCH, n_out)), "arrays": arrays}


def contenders(p: dict[str, Any]) -> dict[str, Any]:
    x, y = p["x"], p["y"]
    tx, ty = Tensor(x), Tensor(y)  # wrapped once, outside the timing, as a data loader hands a batch over
    params = [Tensor(a, requires_grad=True) for a in p["arrays"]]

    def tg_loss(w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) -> Tensor:
        return (((tx @ w1 + b1).tanh() @ w2 + b2 - ty) ** 2).mean()

    def numpy_loss(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> float:
        return (((np.tanh(x @ w1 + b1) @ w2 + b2) - y) ** 2).mean()

    def tg_forward() -> Any:
        with tg.no_grad():
            return tg_loss(*params)

    # the check's own forward evaluations, alone: its differencing loop (nudge one element, evaluate),
    # without the analytical pass and the report (a diagnostic; it uses the checker's internals)
    leaves = _find_leaves(params)
    evaluator = _Evaluator(tg_loss, params, record=False, where="gradcheck")

    def tg_differencing() -> Any:
        return _numerical_jacobian(evaluator, leaves, 1e-6)

    out: dict[str, Any] = {
        "tg_differencing": tg_differencing,
        "params": params, "tg_loss": tg_loss,
        "tg_forward": tg_forward, "numpy_forward": lambda: numpy_loss(*p["arrays"]),
        "tg_full": lambda: tg.gradcheck(tg_loss, params),
        "tg_fast": lambda: tg.gradcheck(tg_loss, params, fast_mode=True),
    }
    if torch is not None:
        px, py = torch.from_numpy(x), torch.from_numpy(y)
        tparams = tuple(torch.tensor(a, requires_grad=True) for a in p["arrays"])

        def torch_loss(w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
            return (((torch.tanh(px @ w1 + b1) @ w2 + b2) - py) ** 2).mean()

        out["torch_full"] = lambda: torch.autograd.gradcheck(torch_loss, tparams)
        out["torch_fast"] = lambda: torch.autograd.gradcheck(torch_loss, tparams, fast_mode=True)
    return out


def main() -> None:
    args = _bench.parse_args(__doc__.splitlines()[0])
    sizes = SIZES[:2] if args.quick else SIZES
    results: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    diagnostics: list[tuple[str, float]] = []  # ratios printed for reading, with no target
    if TORCH_MISSING:
        print(f"torch not available ({TORCH_MISSING}): PyTorch columns skipped")
    for n_in, hidden, n_out in sizes:
        count = parameter_count(n_in, hidden, n_out)
        c = contenders(problem(n_in, hidden, n_out))
        report = tg.gradcheck(c["tg_loss"], c["params"], report=True)
        assert report.passed and report.evaluations == 2 * count + 1, report
        print(f"\n{n_in}-{hidden}-{n_out} MLP, {count} parameters, batch {BATCH}: "
              f"{report.evaluations} forward evaluations in a full check", flush=True)

        forward = _bench.interleaved({k: c[k] for k in ("tg_forward", "numpy_forward")}, args.repeats)
        checks = {k: c[k] for k in ("tg_full", "tg_differencing", "torch_full") if k in c}
        # a full check of the big model takes about a second: fewer samples there, one call each
        big = count > 5000
        full = _bench.interleaved(checks, max(3, args.repeats // 3) if big else args.repeats, number=1 if big else None)
        fast = _bench.interleaved({k: c[k] for k in ("tg_fast", "torch_fast") if k in c}, args.repeats)
        row: dict[str, Any] = {"model": f"{n_in}-{hidden}-{n_out}", "parameters": count,
                               "evaluations": report.evaluations, "pytorch_quoted_s": PYTORCH_QUOTED[count]}
        for name, samples in {**forward, **full, **fast}.items():
            row[name] = {"median_s": _bench.median(samples), "spread": _bench.spread(samples)}
            print(f"  {name:<14} {_bench.fmt_time(_bench.median(samples)):>12}  (spread {_bench.spread(samples):.0%})")
        numpy_forward = row["numpy_forward"]["median_s"]
        in_loop = row["tg_differencing"]["median_s"] / report.evaluations
        per_evaluation = row["tg_full"]["median_s"] / report.evaluations
        row["tg_differencing_per_evaluation_s"] = in_loop
        row["tg_full_per_evaluation_s"] = per_evaluation
        print(f"  {'per evaluation':<14} {_bench.fmt_time(in_loop):>12}  (differencing loop / evaluations)")
        print(f"  {'':<14} {_bench.fmt_time(per_evaluation):>12}  (full check / evaluations)")
        results.append(row)
        targets.append(_bench.target(f"{count} params: each forward in a full check / NumPy",
                                     in_loop / numpy_forward, "<=", 1.5))
        diagnostics.append((f"{count} params: full check / evaluations / NumPy", per_evaluation / numpy_forward))
        diagnostics.append((f"{count} params: forward alone, entering no_grad / NumPy",
                            row["tg_forward"]["median_s"] / numpy_forward))
        if "torch_full" in row:
            targets.append(_bench.target(f"{count} params: full check tg / torch",
                                         row["tg_full"]["median_s"] / row["torch_full"]["median_s"], "<=", 1.0))
            targets.append(_bench.target(f"{count} params: fast mode tg / torch",
                                         row["tg_fast"]["median_s"] / row["torch_fast"]["median_s"], "<=", 1.0))

    print("\ntargets (ratios; below 1 means tinygrad_edu is faster):")
    for t in targets:
        _bench.print_target(t)
    print("diagnostics (ratios, no target):")
    for name, ratio in diagnostics:
        print(f"  {name:<58} {ratio:.3g}x")
    _bench.write_results("gradcheck", {
        "environment": _bench.environment(("torch",)), "torch_missing": TORCH_MISSING,
        "batch": BATCH, "results": results, "targets": targets,
        "diagnostics": [{"name": name, "value": ratio} for name, ratio in diagnostics],
    })


if __name__ == "__main__":
    main()
