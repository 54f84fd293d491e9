"""Helpers shared by the benchmark scripts: interleaved timing, medians, targets and JSON output.

Not a benchmark itself. Each script sets the thread variables before it imports NumPy, then imports
this module. Nothing here asserts anything about speed: targets are reported as met or not met.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def import_torch() -> tuple[Any, str]:
    """(torch on one thread, "") or (None, why it could not be imported): a peer that is missing (or
    broken) is skipped, never fatal."""
    try:
        import torch
    except Exception as e:
        return None, f"{type(e).__name__}: {e}"
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before torch's first parallel work
        pass
    return torch, ""


def take_option(name: str, has_value: bool) -> Any:
    """Remove --name [value] from sys.argv and return the value (True for a flag, None when absent): the
    options of one script, taken before parse_args sees the ones every script has."""
    if name not in sys.argv:
        return None
    i = sys.argv.index(name)
    value = sys.argv[i + 1] if has_value else True
    del sys.argv[i:i + 1 + has_value]
    return value


def profile_steps(step: Callable[[], Any], n: int, title: str, top: int) -> None:
    """cProfile's top entries (by own time) for n calls of step, after 3 untimed ones."""
    for _ in range(3):
        step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        step()
    profiler.disable()
    print(f"== profile of {title} ({n} steps)")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def parse_args(description: str) -> argparse.Namespace:
    """The options every script takes: --quick (short runs while developing) and --repeats N."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes (noisy; for development)")
    parser.add_argument("--repeats", type=int, default=None, help="timed samples per contender (default 11, quick 5)")
    args = parser.parse_args()
    if args.repeats is None:
        args.repeats = 5 if args.quick else 11
    return args


def interleaved(
    contenders: dict[str, Callable[[], Any]],
    repeats: int,
    warmup: int = 1,
    number: int | None = None,
    min_sample_s: float = 0.02,
    before_sample: dict[str, Callable[[], Any]] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Seconds per call of each contender, `repeats` samples each, taken side by side.

    Every round times each contender once, in an order rotated from round to round so that none is
    always first. A sample runs the function `number` times in a row (by default enough calls to last
    about `min_sample_s`, calibrated per contender on its last warm-up call) and is divided by that
    count. At least one warm-up round always runs.
    Before each sample, untimed: the contender's `before_sample` hook (e.g. reset the weights), then a
    full gc.collect(), so no contender pays for collecting another one's garbage. The GC stays enabled
    while timing. `clock` is wall time by default; time.process_time counts only the CPU time of this
    process, so that waiting while other programs hold the cores does not count (single-threaded work).
    """
    names = list(contenders)
    before = before_sample or {}
    last: dict[str, float] = {}
    for _ in range(max(1, warmup)):
        for name in names:
            before.get(name, _nothing)()
            t0 = clock()
            contenders[name]()
            last[name] = max(clock() - t0, 1e-7)
    # calls per sample: fixed, or calibrated from the last warm-up call
    counts = {name: number or max(1, math.ceil(min_sample_s / last[name])) for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            fn, n = contenders[name], counts[name]
            before.get(name, _nothing)()
            gc.collect()
            t0 = clock()
            for _ in range(n):
                fn()
            samples[name].append((clock() - t0) / n)
    return samples


def _nothing() -> None:
    pass


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float]) -> float:
    """(max - min) / median of the samples: how noisy the measurement was."""
    m = statistics.median(xs)
    return (max(xs) - min(xs)) / m if m else float("nan")


def target(name: str, value: float, op: str, threshold: float, unit: str = "x") -> dict[str, Any]:
    """A number measured against its target (op is '<=', '<' or '>='). Reports; never asserts."""
    met = {"<=": value <= threshold, "<": value < threshold, ">=": value >= threshold}[op]
    return {"name": name, "value": value, "op": op, "target": threshold, "unit": unit, "met": bool(met)}


def print_target(t: dict[str, Any]) -> None:
    verdict = "met" if t["met"] else "NOT met"
    print(f"  {t['name']:<52} {t['value']:>10.3g}{t['unit']}   target {t['op']} {t['target']:g}{t['unit']}: {verdict}")


def fmt_time(seconds: float) -> str:
    """Seconds in the most readable unit."""
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} us"
    return f"{seconds * 1e9:.0f} ns"


def version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def environment(extra_packages: tuple[str, ...] = ()) -> dict[str, Any]:
    """What the numbers were taken on: enough to tell two runs apart."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "thread_vars": {k: os.environ.get(k) for k in THREAD_VARS},
        "packages": {p: version(p) for p in ("tinygrad_edu", "numpy", *extra_packages)},
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def run_line(env: dict[str, Any], args: argparse.Namespace, contender: str = "torch") -> str:
    """The line a benchmark starts with: the versions of Python, NumPy and the contender; the repeats."""
    return (f"python {env['python']}, numpy {env['packages']['numpy']}, {contender} {env['packages'][contender] or '-'}; "
            f"{args.repeats} repeats{' (quick)' if args.quick else ''}")


def write_results(script: str, payload: dict[str, Any]) -> Path:
    """Write benchmarks/results/<script>.json and return its path."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{script}.json"
    path.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")
    print(f"\nwrote {path}")
    return path


def _jsonable(x: Any) -> Any:
    if hasattr(x, "tolist"):  # NumPy scalars and arrays
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
