"""Run every benchmark script, each in its own process, then print all ratios against their targets.

Each script runs in a subprocess (so one that crashes does not stop the others) and writes
benchmarks/results/<script>.json; the summary is read from those files. Only the JSON written by this
run is used: a script that failed shows as failed, not with old numbers. Targets are reported as met
or not met; nothing here fails because of a timing. The exit status is 1 only if a script crashed.

Run: python benchmarks/run_all.py [--quick] [--repeats N]   (the options are passed to each script)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SCRIPTS = ["scalar_engine", "tensor_engine", "user_path", "user_path_floor", "gradcheck", "render", "memory", "conv", "models"]


def run(script: str, args: list[str]) -> tuple[int, float]:
    print(f"\n{'=' * 30} {script} {'=' * 30}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(HERE / f"{script}.py"), *args], cwd=HERE.parent)
    return proc.returncode, time.perf_counter() - t0


def fresh_results(script: str, since: float) -> dict | None:
    path = RESULTS / f"{script}.json"
    if not path.exists() or path.stat().st_mtime < since:
        return None
    return json.loads(path.read_text())


def main() -> int:
    args = sys.argv[1:]
    status: dict[str, str] = {}
    rows: list[tuple[str, dict]] = []
    for script in SCRIPTS:
        started = time.time()
        code, seconds = run(script, args)
        data = fresh_results(script, started)
        if code != 0:
            status[script] = f"CRASHED (exit {code}) after {seconds:.0f} s"
        elif data is None:
            status[script] = f"no results written ({seconds:.0f} s)"
        else:
            status[script] = f"ok ({seconds:.0f} s)"
        if data is not None:
            rows += [(script, t) for t in data.get("targets", [])]

    print(f"\n{'=' * 30} summary {'=' * 30}")
    for script, s in status.items():
        print(f"  {script:<16} {s}")
    print()
    width = max([len(t["name"]) for _, t in rows] + [7])
    print(f"  {'script':<15} {'measure':<{width}} {'value':>10}  {'target':<10} result")
    for script, t in rows:
        value = f"{t['value']:.3g}{t['unit']}"
        goal = f"{t['op']} {t['target']:g}{t['unit']}"
        print(f"  {script:<15} {t['name']:<{width}} {value:>10}  {goal:<10} {'met' if t['met'] else 'NOT met'}")
    met = sum(t["met"] for _, t in rows)
    print(f"\n  {met} of {len(rows)} targets met (timings are medians; on a busy machine they are noisy)")
    return 1 if any(not s.startswith("ok") for s in status.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
