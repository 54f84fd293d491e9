"""Speed and peak memory of conv2d forward + backward: tinygrad_edu against NumPy by hand and PyTorch (CPU).

What it measures, all in one process, contenders interleaved, medians of repeated samples, one thread
everywhere, in float32 and in float64:

  (a) tinygrad_edu, user code: y = F.conv2d(x, w, b, padding=1); y.backward(g), for x, w and b
      Tensors that require grad (so every gradient is computed), g a fixed upstream gradient;
  (b) NumPy by hand, the same computation as a NumPy engine would do it (im2col): pad, the windows as
      a strided view copied into columns (C·kH·kW, N·H_out·W_out), one matrix product for the output;
      backward: dW from the forward's columns (kept, not recomputed), db as a sum, the columns'
      gradient as one matrix product and col2im as kH·kW strided adds;
  (c) PyTorch: torch.nn.functional.conv2d(...).backward(g).
All three start from the same arrays; (a) and (c) are checked against (b) once. The timing process
keeps the memory it frees, as importing tinygrad_edu sets up (tinygrad_edu/_malloc.py; it applies to the
whole process, so to every contender): with glibc's defaults freed memory goes back to the system
between calls at thresholds set by whichever contender ran before, and each contender pays page faults
for the others' allocations (on a virtual machine, microseconds each: more than the arithmetic here).

Target: (a) / (b) <= 1.2 at every size and dtype (the issue's "within 1.2x of the same computation
written by hand in NumPy"). Torch's time is printed for reference.

Peak memory of one forward + backward, each contender in a fresh subprocess: the growth of the resident
set's high-water mark (VmHWM in /proc/self/status, reset through /proc/self/clear_refs after a warm-up
call) above the memory held before the call, with glibc told to give every allocation of 128 KiB or
more straight back to the system (MALLOC_MMAP_THRESHOLD_, with TINYGRAD_EDU_SYSTEM_MALLOC=1 so that
importing tinygrad_edu leaves it so), so that the high-water mark follows the arrays alive at once
(smaller ones may reuse freed heap memory: the smallest problems' figures are a lower bound).
Reported beside torch's; there is no target. Linux only (skipped elsewhere).

Run: python benchmarks/conv.py [--quick] [--repeats N]
Writes benchmarks/results/conv.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy (or torch) is imported

import json  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import _bench  # noqa: E402
from tinygrad_edu import Tensor, _malloc  # noqa: E402
from tinygrad_edu.nn import functional as F  # noqa: E402

torch, TORCH_MISSING = _bench.import_torch()

TARGET = 1.2
# (N, C_in, H=W, C_out, k): a 3x3 convolution with padding 1 (the output keeps the input's size)
CONFIGS = [
    (64, 1, 8, 16, 3),  # the digits CNN's first layer, batch 64
    (64, 16, 8, 32, 3),  # its second layer
    (32, 16, 16, 32, 3),
    (8, 64, 32, 64, 3),
]
QUICK_CONFIGS = CONFIGS[:3]
DTYPES = {"float32": np.float32, "float64": np.float64}
PAD = 1

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x, w, b, g


def make_problem(config: tuple[int, ...], dtype: Any) -> Arrays:
    n, c, h, o, k = config
    rng = np.random.default_rng(0)
    out = h + 2 * PAD - k + 1
    x = rng.standard_normal((n, c, h, h)).astype(dtype)
    w = (rng.standard_normal((o, c, k, k)) / np.sqrt(c * k * k)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    g = rng.standard_normal((n, o, out, out)).astype(dtype)
    return x, w, b, g


# --------------------------------------------------------------------------- (b) NumPy by hand


def numpy_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, ...]:
    """Forward (stride 1, padding PAD) and the three gradients, written out in NumPy."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * PAD, wd + 2 * PAD), dtype=x.dtype)
    xp[:, :, PAD:PAD + h, PAD:PAD + wd] = x
    ho, wo = h + 2 * PAD - kh + 1, wd + 2 * PAD - kw + 1
    s = xp.strides
    windows = np.lib.stride_tricks.as_strided(xp, (c, kh, kw, n, ho, wo), (s[1], s[2], s[3], s[0], s[2], s[3]))
    cols = windows.reshape(c * kh * kw, n * ho * wo)  # the copy: im2col
    y = (w.reshape(o, -1) @ cols).reshape(o, n, ho, wo).transpose(1, 0, 2, 3) + b.reshape(o, 1, 1)
    gm = g.transpose(1, 0, 2, 3).reshape(o, n * ho * wo)
    dw = (gm @ cols.T).reshape(w.shape)
    db = g.sum(axis=(0, 2, 3))
    dcols = (w.reshape(o, -1).T @ gm).reshape(c, kh, kw, n, ho, wo)
    dxp = np.zeros_like(xp)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + ho, j:j + wo] += dcols[:, i, j].transpose(1, 0, 2, 3)
    return y, dxp[:, :, PAD:PAD + h, PAD:PAD + wd], dw, db


# --------------------------------------------------------------------------- the contenders


def contenders(arrays: Arrays) -> dict[str, Callable[[], Any]]:
    x, w, b, g = arrays
    xt, wt, bt = (Tensor(a, requires_grad=True) for a in (x, w, b))

    def ours() -> None:
        xt.grad = wt.grad = bt.grad = None
        F.conv2d(xt, wt, bt, padding=PAD).backward(g)

    result = {"tinygrad_edu": ours, "numpy": lambda: numpy_conv(x, w, b, g)}
    if torch is not None:
        X, W, B = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        G = torch.from_numpy(g)

        def theirs() -> None:
            X.grad = W.grad = B.grad = None
            torch.nn.functional.conv2d(X, W, B, padding=PAD).backward(G)

        result["torch"] = theirs
    return result


def check(arrays: Arrays) -> dict[str, float]:
    """Largest |difference| from the NumPy contender, relative to the largest |value|, of y, dx, dw, db."""
    x, w, b, g = arrays
    expected = numpy_conv(x, w, b, g)
    xt, wt, bt = (Tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xt, wt, bt, padding=PAD)
    y.backward(g)
    result = {"tinygrad_edu": _relative_error([y.data, xt.grad, wt.grad, bt.grad], expected)}
    if torch is not None:
        X, W, B = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        Y = torch.nn.functional.conv2d(X, W, B, padding=PAD)
        Y.backward(torch.from_numpy(g))
        got = [Y.detach().numpy(), X.grad.numpy(), W.grad.numpy(), B.grad.numpy()]
        result["torch"] = _relative_error(got, expected)
    return result


def _relative_error(got: list[np.ndarray], expected: tuple[np.ndarray, ...]) -> float:
    return max(float(np.max(np.abs(a - e)) / max(np.max(np.abs(e)), 1e-30)) for a, e in zip(got, expected))


# --------------------------------------------------------------------------- peak memory


def _status(key: str) -> int:
    with open("/proc/self/status") as f:
        match = re.search(rf"{key}:\s+(\d+) kB", f.read())
    assert match is not None
    return int(match.group(1)) * 1024


def memory_child(who: str, config: tuple[int, ...], dtype: str) -> None:
    """In a fresh process: one warm-up call, then the peak growth of the resident set during one call."""
    run = contenders(make_problem(config, DTYPES[dtype]))[who]
    run()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current resident set
    before = _status("VmRSS")
    run()
    print(json.dumps({"peak_bytes": _status("VmHWM") - before}))


def peak_memory(config: tuple[int, ...], dtype: str, names: list[str]) -> dict[str, int | None]:
    if not os.path.exists("/proc/self/clear_refs"):
        return dict.fromkeys(names)
    # glibc's defaults in the child (importing tinygrad_edu would otherwise raise the threshold to 32 MB)
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(128 * 1024), "TINYGRAD_EDU_SYSTEM_MALLOC": "1"}
    result: dict[str, int | None] = {}
    for who in names:
        proc = subprocess.run([sys.executable, __file__, "--memory-child", who, json.dumps(config), dtype],
                              capture_output=True, text=True, env=env)
        try:
            result[who] = int(json.loads(proc.stdout.strip().splitlines()[-1])["peak_bytes"])
        except (ValueError, IndexError, KeyError):
            print(f"  (memory of {who} not measured: {proc.stderr.strip()[-200:]})")
            result[who] = None
    return result


# --------------------------------------------------------------------------- main


def bench(config: tuple[int, ...], dtype: str, repeats: int, quick: bool) -> dict[str, Any]:
    n, c, h, o, k = config
    label = f"N={n} C_in={c} {h}x{h} C_out={o} {k}x{k} pad {PAD}, {dtype}"
    print(f"== conv2d forward + backward, {label}")
    arrays = make_problem(config, DTYPES[dtype])
    errors = check(arrays)
    tolerance = 1e-4 if dtype == "float32" else 1e-10
    for who, err in errors.items():
        verdict = "OK" if err <= tolerance else "MISMATCH"
        print(f"  check {who} against numpy: max relative difference {err:.1e} -> {verdict}")
    samples = _bench.interleaved(contenders(arrays), repeats, warmup=2, min_sample_s=0.02 if quick else 0.05)
    med = {who: _bench.median(s) for who, s in samples.items()}
    for who, m in med.items():
        print(f"  {who:<14} {_bench.fmt_time(m):>12}   (spread {_bench.spread(samples[who]):.0%})")
    ratio = med["tinygrad_edu"] / med["numpy"]
    if "torch" in med:
        print(f"  tinygrad_edu / torch = {med['tinygrad_edu'] / med['torch']:.3g}x (no target)")
    memory = peak_memory(config, dtype, list(med))
    if any(v is not None for v in memory.values()):
        print("  peak memory: " + ", ".join(f"{who} {v / 2**20:.2f} MiB" for who, v in memory.items() if v is not None))
    t = _bench.target(f"{label}: tinygrad_edu / numpy", ratio, "<=", TARGET)
    _bench.print_target(t)
    return {"config": dict(zip(("N", "C_in", "H", "C_out", "k"), config)), "dtype": dtype, "check": errors,
            "check_ok": all(e <= tolerance for e in errors.values()), "seconds": med, "samples": samples,
            "peak_memory_bytes": memory, "targets": [t]}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--memory-child":
        memory_child(sys.argv[2], tuple(json.loads(sys.argv[3])), sys.argv[4])
        return
    args = _bench.parse_args(__doc__.splitlines()[0])
    kept = _malloc.KEPT
    env = _bench.environment(("torch",))
    print(f"{_bench.run_line(env, args)}; freed memory kept by malloc: {kept}")
    if torch is None:
        print(f"skipped: torch not installed ({TORCH_MISSING})")
    print()
    runs = [bench(config, dtype, args.repeats, args.quick)
            for dtype in DTYPES for config in (QUICK_CONFIGS if args.quick else CONFIGS)]
    _bench.write_results("conv", {
        "script": "conv", "environment": env, "quick": args.quick, "repeats": args.repeats, "runs": runs,
        "freed_memory_kept": kept,
        "targets": [t for r in runs for t in r["targets"]] + [
            _bench.target("check: tinygrad_edu and torch agree with NumPy (1 = yes)",
                          float(all(r["check_ok"] for r in runs)), ">=", 1, unit=""),
        ],
    })


if __name__ == "__main__":
    main()
