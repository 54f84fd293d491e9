"""Memory over a long training run: does the process's memory stay flat after warm-up?

What it measures, with the cyclic garbage collector switched off during training (so only reference
counting frees the graphs; if they were kept alive by reference cycles, memory would grow at every step):

1. A Tensor MLP [8, 32, 32, 1] (ReLU) trained on one fixed batch of 32 points for 10,000 steps: forward,
   mse_loss, zero_grad, backward, SGD with momentum 0.9.
2. A ScalarMLP [2, 8, 8, 1] (tanh) made of Values, trained on 4 points for 5,000 steps with the same SGD
   (about 1,000 graph nodes a step).

Each is run twice from the same initial weights: once sampling the resident set size (RSS, from
/proc/self/statm; ru_maxrss where there is no /proc) every 100 steps, once under tracemalloc, sampling
the Python and NumPy allocations still held (and the peak after warm-up). After each run the cyclic GC
is switched back on and gc.collect() reports what it found: nothing, when no graph was in a cycle.

"Flat" means: from the end of warm-up (step 1,000, or half the run if shorter) to the last step, memory
grows by at most 64 KiB per 1,000 steps on average (that is, by at most 576 KiB over steps 1,000 to
10,000). The least-squares slope over the same samples, and the growth as a share of the memory at
warm-up, are printed beside it. Nothing here asserts anything: the verdict is reported.

Run: python benchmarks/memory.py [--quick] [--steps N] [--scalar-steps N] [--every N]
Writes benchmarks/results/memory.json and benchmarks/results/memory.png (with matplotlib).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy is imported (tinygrad_edu imports it)

import argparse  # noqa: E402
import gc  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import _bench  # noqa: E402
import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Tensor, Value, nn, optim  # noqa: E402

FLAT_KIB_PER_1K_STEPS = 64.0  # the verdict's threshold: growth after warm-up, per 1,000 steps
KIB = 1024


# --------------------------------------------------------------------------- memory readings


def rss_bytes() -> int:
    """The resident set size now: /proc/self/statm where there is one, else the peak from getrusage."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


RSS_SOURCE = "/proc/self/statm" if os.path.exists("/proc/self/statm") else "getrusage ru_maxrss (peak)"


# --------------------------------------------------------------------------- the two trainings


def tensor_training() -> tuple[Callable[[], float], int]:
    """One training step of a Tensor MLP on a fixed batch, and its parameter count."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 8))
    model = nn.MLP([8, 32, 32, 1], rng=0)
    X, Y = Tensor(x), Tensor(np.sin(x.sum(axis=1, keepdims=True)))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> float:
        loss = nn.functional.mse_loss(model(X), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step, model.num_parameters()


def scalar_training() -> tuple[Callable[[], float], int]:
    """One training step of a ScalarMLP (Values) on 4 points, and its parameter count."""
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((4, 2)).tolist()
    ys = [float(np.sin(a + b)) for a, b in xs]
    model = nn.ScalarMLP([2, 8, 8, 1], activation="tanh", rng=0)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> float:
        loss = Value(0.0)
        for x, y in zip(xs, ys):
            loss = loss + (model(x) - y) ** 2
        loss = loss * (1 / len(xs))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.data)

    return step, model.num_parameters()


# --------------------------------------------------------------------------- one run


def run(make: Callable[[], tuple[Callable[[], float], int]], steps: int, every: int, traced: bool) -> dict[str, Any]:
    """Train for `steps` steps with the cyclic GC off, sampling memory every `every` steps (and at step 0).

    traced=False samples RSS; traced=True samples tracemalloc's current size (started before the model
    is made) and, from warm-up on, its peak."""
    # where the samples go, allocated before measuring: a growing list would itself grow by ~1 B a step
    at = np.array(sorted({0, steps, *range(every, steps + 1, every)}), dtype=np.int64)
    memory = np.zeros(len(at), dtype=np.int64)
    gc.collect()
    if traced:
        tracemalloc.start()
    step, n_params = make()
    read = (lambda: tracemalloc.get_traced_memory()[0]) if traced else rss_bytes
    warmup = warmup_steps(steps)
    peak, k = 0, 1
    loss = float("nan")
    was_enabled = gc.isenabled()
    gc.disable()
    t0 = time.perf_counter()
    try:
        memory[0] = read()
        for i in range(1, steps + 1):
            loss = step()
            if i == warmup and traced:
                tracemalloc.reset_peak()
            if i == at[k]:
                memory[k] = read()
                k += 1
        if traced:
            peak = tracemalloc.get_traced_memory()[1]
    finally:
        seconds = time.perf_counter() - t0
        if was_enabled:
            gc.enable()
        if traced:
            tracemalloc.stop()
    del step
    found = gc.collect()  # what the cyclic GC would have had to free: 0 when nothing was in a cycle
    samples = [(int(i), int(m)) for i, m in zip(at, memory)]
    out = {"samples": samples, "seconds": seconds, "final_loss": loss, "parameters": n_params, "gc_found": found}
    if traced:
        out["peak_after_warmup_bytes"] = peak
    return out


def warmup_steps(steps: int) -> int:
    return max(1, min(1000, steps // 2))


def summarize(samples: list[tuple[int, int]], warmup: int) -> dict[str, Any]:
    """Memory at warm-up and at the end, growth between them (total, per 1,000 steps, least-squares slope)."""
    after = [(s, v) for s, v in samples if s >= warmup]
    (s0, v0), (s1, v1) = after[0], after[-1]
    k_steps = (s1 - s0) / 1000
    growth = v1 - v0
    xs = np.array([s for s, _ in after], dtype=float)
    ys = np.array([v for _, v in after], dtype=float)
    slope = float(np.polyfit(xs, ys, 1)[0]) * 1000 if len(after) > 1 else 0.0  # bytes per 1,000 steps
    return {
        "warmup_step": s0,
        "last_step": s1,
        "at_warmup_kib": v0 / KIB,
        "at_end_kib": v1 / KIB,
        "growth_kib": growth / KIB,
        "growth_kib_per_1k_steps": growth / KIB / k_steps if k_steps else 0.0,
        "slope_kib_per_1k_steps": slope / KIB,
        "growth_percent_of_warmup": 100 * growth / v0 if v0 else float("nan"),
        "max_kib": max(v for _, v in samples) / KIB,
        "flat": bool(growth / KIB <= FLAT_KIB_PER_1K_STEPS * k_steps),
    }


# --------------------------------------------------------------------------- report


def print_summary(name: str, what: str, s: dict[str, Any]) -> None:
    verdict = "FLAT" if s["flat"] else "NOT flat"
    print(
        f"  {name:<12} {what:<12} step {s['warmup_step']:>5}: {s['at_warmup_kib']:>10.0f} KiB   "
        f"step {s['last_step']:>5}: {s['at_end_kib']:>10.0f} KiB   growth {s['growth_kib']:>+8.1f} KiB "
        f"({s['growth_kib_per_1k_steps']:+.2f} KiB/1k steps, fit {s['slope_kib_per_1k_steps']:+.2f}, "
        f"{s['growth_percent_of_warmup']:+.3f}%): {verdict}"
    )


def plot(results: dict[str, Any], path: Any) -> str | None:
    """Memory against step for both models: growth since warm-up, RSS and tracemalloc, and the budget."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return f"no picture: {e}"
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.2), squeeze=False)
    for ax, (name, r) in zip(axes[0], results.items()):
        for what, color in (("rss", "tab:blue"), ("tracemalloc", "tab:orange")):
            samples, s = r[what]["samples"], r[what]["summary"]
            base = s["at_warmup_kib"]
            steps = [i for i, _ in samples]
            ax.plot(steps, [v / KIB - base for _, v in samples], color=color,
                    label=f"{what} (at warm-up {base / 1024:.1f} MiB)")
        w, last = r["rss"]["summary"]["warmup_step"], r["rss"]["summary"]["last_step"]
        ax.axvline(w, color="grey", linestyle=":", label="end of warm-up")
        ax.plot([w, last], [0, FLAT_KIB_PER_1K_STEPS * (last - w) / 1000], color="tab:red", linestyle="--",
                label=f"'flat' budget: {FLAT_KIB_PER_1K_STEPS:g} KiB per 1,000 steps")
        ax.set_title(f"{name}: {r['description']}", fontsize=9)
        ax.set_xlabel("training step")
        ax.set_ylabel("memory held, relative to warm-up (KiB)")
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
    fig.suptitle("Memory over a long training run (cyclic GC off: reference counting alone frees the graphs)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 1,000 steps instead of 10,000 and 5,000")
    parser.add_argument("--repeats", type=int, default=None, help="ignored (run_all passes it to every script)")
    parser.add_argument("--steps", type=int, default=None, help="steps of the Tensor MLP (default 10,000)")
    parser.add_argument("--scalar-steps", type=int, default=None, help="steps of the ScalarMLP (default 5,000)")
    parser.add_argument("--every", type=int, default=100, help="sample memory every N steps (default 100)")
    args = parser.parse_args()
    args.steps = args.steps or (2000 if args.quick else 10_000)
    args.scalar_steps = args.scalar_steps or (1000 if args.quick else 5000)
    return args


def main() -> None:
    args = parse_args()
    runs = {
        "tensor MLP": (tensor_training, args.steps, "MLP [8, 32, 32, 1], batch 32, SGD momentum 0.9"),
        "ScalarMLP": (scalar_training, args.scalar_steps, "[2, 8, 8, 1] of Values, 4 points, SGD momentum 0.9"),
    }
    print(f"Memory over long training runs; cyclic GC off while training; RSS from {RSS_SOURCE}")
    print(f"'flat': at most {FLAT_KIB_PER_1K_STEPS:g} KiB of growth per 1,000 steps after warm-up\n")
    results: dict[str, Any] = {}
    targets = []
    for name, (make, steps, description) in runs.items():
        warmup = warmup_steps(steps)
        r: dict[str, Any] = {"description": description, "steps": steps, "warmup": warmup, "every": args.every}
        for what, traced in (("rss", False), ("tracemalloc", True)):
            out = run(make, steps, args.every, traced)
            out["summary"] = summarize(out["samples"], warmup)
            r[what] = out
            print_summary(name, what, out["summary"])
        tm = r["tracemalloc"]
        print(f"  {'':<12} {'':<12} tracemalloc peak after warm-up {tm['peak_after_warmup_bytes'] / KIB:.0f} KiB; "
              f"gc.collect() afterwards found {r['rss']['gc_found']} and {tm['gc_found']} objects; "
              f"{steps / r['rss']['seconds']:.0f} steps/s untraced; final loss {r['rss']['final_loss']:.3g}\n")
        for what in ("rss", "tracemalloc"):
            growth = r[what]["summary"]["growth_kib_per_1k_steps"]
            targets.append(_bench.target(f"{name}: {what} growth after warm-up", growth, "<=", FLAT_KIB_PER_1K_STEPS,
                                         " KiB/1k steps"))
        results[name] = r
    flat = all(t["met"] for t in targets)
    print("verdict:", "memory is FLAT after warm-up in every run" if flat else "memory GROWS after warm-up (see above)")
    for t in targets:
        _bench.print_target(t)

    _bench.RESULTS_DIR.mkdir(exist_ok=True)
    picture = _bench.RESULTS_DIR / "memory.png"
    problem = plot(results, picture)
    print(f"\n{problem}" if problem else f"\nwrote {picture}")
    _bench.write_results("memory", {
        "benchmark": "memory",
        "environment": _bench.environment(),
        "rss_source": RSS_SOURCE,
        "cyclic_gc_during_training": "disabled",
        "flat_definition": f"growth after warm-up <= {FLAT_KIB_PER_1K_STEPS:g} KiB per 1,000 steps",
        "flat": flat,
        "runs": results,
        "targets": targets,
        "picture": None if problem else str(picture.name),
    })


if __name__ == "__main__":
    main()
