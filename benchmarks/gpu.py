"""The device script of issue 18: the same Tensor on a GPU (CuPy), checked and timed in one run.

Sized to finish within `--budget` seconds (540 by default, under the device tool's 600 per command;
CuPy compiles each new kernel once, which takes part of that on a fresh machine). The benchmarks run
first, then the checks, each given what is left; gpu.json is written after every section. Sections,
each one guarded (a failure is printed and the next runs), in the order they run: 4, 5, 6, 2, 1, 3.

1. tests: `pytest -m gpu tests/test_devices.py tests/test_device_api.py` (every registry op's forward and
   gradient on CUDA against the CPU, gradcheck and gradgradcheck in float64 for a subset, MLP/CNN/GPT
   training steps, moving, saving, drawing; then every public function and Tensor method as a user calls
   it, with host masks, indices and lists);
2. gradcheck: the registry's gradcheck on CUDA in float64, one drawn case per op (every op);
3. examples: examples/digits.py, cnn_digits.py, char_gpt.py and char_lstm.py, each --quick --device cuda;
4. MLP step: user code (tg.nn.Linear, ReLU, cross_entropy, tg.optim.SGD) on cuda against the same step
   written by hand in CuPy (the limit for a CuPy engine) and torch CUDA (nn.Linear, F.cross_entropy,
   torch.optim.SGD), at 784-1024-1024-10/b256 and 4096-4096-4096-10/b1024, float32 and float64; the
   ratios side by side; the CPU's user-code step at the small size for the crossover;
5. GPT: the char GPT's training step at its large size (4 layers, width 128, batch 32), GPU vs CPU; then
   at its default size (2 layers, width 64), where docs/howto/use-a-gpu.md predicts about even;
6. CNN: a CIFAR-sized CNN's training step (32 and 64 channels on 3x32x32, batch 128), GPU vs CPU; then the
   char LSTM's step (hidden 64, batch 64), where the docs predict the CPU faster.

Run (from the repository root, CuPy installed):
    PYTHONPATH=. python benchmarks/gpu.py --out gpu_results
Prints everything and writes gpu_results/gpu.json (and the examples' pictures under gpu_results/).
Through the device tool (one command of at most 600 s; at most 8 files come back from $OUT):
    PYTHONPATH=. PYTHONUNBUFFERED=1 python3 benchmarks/gpu.py --out gpu_results; cp gpu_results/gpu.json "$OUT"/
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Tensor  # noqa: E402

RESULTS: dict[str, Any] = {}
DEVICE = "cuda"  # --device foreign: a dry run on the CPU with the tests' fake array library (no CuPy, no torch)


def section(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run a section, timing it; print the traceback of a failure and go on."""
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            print(f"\n== {name}", flush=True)
            start = time.perf_counter()
            try:
                RESULTS[name] = fn(*args)
            except Exception:
                traceback.print_exc()
                RESULTS[name] = {"error": traceback.format_exc(limit=3)}
            print(f"   ({name}: {time.perf_counter() - start:.1f} s)", flush=True)
        return run
    return wrap


def sync() -> None:
    if DEVICE == "cuda":
        tg.cuda.synchronize()


def per_step(step: Callable[[], Any], synchronize: Callable[[], None], budget: float = 0.6, repeats: int = 5) -> float:
    """Median seconds per step over `repeats` samples, each of as many steps as fit in budget/repeats."""
    for _ in range(3):
        step()
    synchronize()
    start = time.perf_counter()
    step()
    synchronize()
    one = max(time.perf_counter() - start, 1e-6)
    n = max(1, int(budget / repeats / one))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            step()
        synchronize()
        samples.append((time.perf_counter() - start) / n)
    return float(np.median(samples))


# --------------------------------------------------------------------------- 1. tests


@section("tests (pytest -m gpu tests/test_devices.py tests/test_device_api.py)")
def run_tests(timeout: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "pytest", "-m", "gpu", "tests/test_devices.py", "tests/test_device_api.py", "-q",
           "-p", "no:cacheprovider", "-o", "addopts=", "--maxfail=5", "--tb=short"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        print(f"   timed out after {timeout} s")
        return {"timed_out": True, "tail": str(e.stdout)[-3000:] if e.stdout else ""}
    tail = (done.stdout + done.stderr)[-4000:]
    print(tail)
    return {"returncode": done.returncode, "tail": tail[-1500:]}


# --------------------------------------------------------------------------- 2. gradcheck


@section("gradcheck of every registry op on cuda, float64")
def run_gradcheck() -> dict[str, Any]:
    from hypothesis.errors import NonInteractiveExampleWarning

    from tests.test_devices import _params_to_device
    from tests.test_ops_registry import ALL_OPS, CASES
    from tinygrad_edu.ops import REGISTRY

    warnings.simplefilter("ignore", NonInteractiveExampleWarning)
    warnings.simplefilter("ignore")  # (float32 inputs are checked in float64 copies: said once per call)
    results = {}
    for name in ALL_OPS:
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        try:
            case = CASES[name](REGISTRY[name], lambda strategy: strategy.example(), rng)
            _params_to_device(case.call, DEVICE)
            inputs = [Tensor(a, requires_grad=True, device=DEVICE) for a in case.inputs]
            ok = bool(tg.gradcheck(case.call, inputs, raise_exception=False))
            results[name] = "ok" if ok else "FAILED"
        except Exception as e:
            results[name] = f"ERROR {type(e).__name__}: {e}"[:300]
        print(f"   {name:22s} {results[name]}  ({time.perf_counter() - start:.2f} s)", flush=True)
    bad = {k: v for k, v in results.items() if v != "ok"}
    print(f"   {len(results) - len(bad)}/{len(results)} ops pass")
    return results


# --------------------------------------------------------------------------- 3. examples


EXAMPLES = ("digits", "cnn_digits", "char_gpt", "char_lstm")  # the two first, each given an equal share


@section("examples on cuda: digits, cnn_digits, char_gpt and char_lstm, --quick")
def run_examples(out: Path, timeout: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    results = {}
    for example in EXAMPLES:
        cmd = [sys.executable, f"examples/{example}.py", "--quick", "--device", DEVICE, "--out", str(out / example)]
        start = time.perf_counter()
        try:
            done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
            text = done.stdout + done.stderr
            results[example] = {"returncode": done.returncode, "seconds": time.perf_counter() - start,
                                "tail": text[-1500:]}
        except subprocess.TimeoutExpired:
            results[example] = {"timed_out": True, "seconds": timeout}
            text = "(timed out)"
        print(f"   -- {example} ({time.perf_counter() - start:.1f} s):\n{text[-1500:]}", flush=True)
    return results


# --------------------------------------------------------------------------- 4. MLP step


def _layers(sizes: tuple[int, ...], dtype: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [(rng.uniform(-1, 1, (o, i)).astype(dtype) / np.sqrt(i), np.zeros(o, dtype=dtype))
            for i, o in zip(sizes[:-1], sizes[1:])]


def tg_mlp_step(sizes: tuple[int, ...], batch: int, dtype: Any, device: str, lr: float = 0.01) -> Callable[[], None]:
    """User code: a Sequential of Linear and ReLU, cross_entropy, SGD."""
    layers = _layers(sizes, dtype)
    modules: list[tg.nn.Module] = []
    for k, (w, b) in enumerate(layers):
        linear = tg.nn.Linear(w.shape[1], w.shape[0], dtype=dtype)
        linear.load_state_dict({"weight": w, "bias": b})
        modules += [linear] + ([tg.nn.ReLU()] if k < len(layers) - 1 else [])
    model = tg.nn.Sequential(*modules).to(device)
    opt = tg.optim.SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(1)
    x = Tensor(rng.normal(size=(batch, sizes[0])).astype(dtype), device=device)
    y = Tensor(rng.integers(0, sizes[-1], batch), device=device)

    def step() -> None:
        opt.zero_grad()
        loss = tg.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return step


def hand_mlp_step(sizes: tuple[int, ...], batch: int, dtype: Any, xp: Any = None,
                  to_device: Callable[[np.ndarray], Any] | None = None, lr: float = 0.01) -> Callable[[], None]:
    """The same step written by hand with the array library `xp` (CuPy by default): on CuPy, the limit for an
    engine that runs CuPy's kernels."""
    if xp is None:
        import cupy

        xp = cupy
    to_device = to_device or xp.asarray
    params = [(to_device(w), to_device(b)) for w, b in _layers(sizes, dtype)]
    rng = np.random.default_rng(1)
    x = to_device(rng.normal(size=(batch, sizes[0])).astype(dtype))
    y = to_device(rng.integers(0, sizes[-1], batch))
    rows = xp.arange(batch)

    def step() -> None:
        acts, h = [x], x
        for k, (w, b) in enumerate(params):
            h = h @ w.T + b
            if k < len(params) - 1:
                h = xp.maximum(h, 0)
            acts.append(h)
        shifted = h - h.max(axis=1, keepdims=True)
        exps = xp.exp(shifted)
        sums = exps.sum(axis=1)
        _loss = (xp.log(sums) - shifted[rows, y]).mean()
        d = exps / sums[:, None]
        d[rows, y] -= 1
        d /= batch
        for k in reversed(range(len(params))):
            w, b = params[k]
            gw, gb = d.T @ acts[k], d.sum(axis=0)
            if k:
                d = (d @ w) * (acts[k] > 0)
            w -= lr * gw
            b -= lr * gb

    return step


def torch_mlp_step(sizes: tuple[int, ...], batch: int, dtype: Any, lr: float = 0.01) -> Callable[[], None] | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():  # (a CPU build of torch: no contender, the others still run)
        return None
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    layers: list[Any] = []
    for k, (w, b) in enumerate(_layers(sizes, dtype)):
        linear = torch.nn.Linear(w.shape[1], w.shape[0], dtype=tdtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear] + ([torch.nn.ReLU()] if k < len(sizes) - 2 else [])
    model = torch.nn.Sequential(*layers).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.normal(size=(batch, sizes[0])).astype(dtype)).cuda()
    y = torch.from_numpy(rng.integers(0, sizes[-1], batch)).cuda()

    def step() -> None:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return step


def launches_of(step: Callable[[], None]) -> dict[str, Any]:
    """The array operations of one step (on CuPy each is a kernel launch, 15-30 µs of the CPU's time: most
    of a small model's step) and its reads of device values on the host (each waits for the GPU), counted
    on the tests' fake device, where `step` must run."""
    from tests import foreign_array

    step()  # (the first step makes what later steps reuse)
    foreign_array.OPERATIONS.clear()
    foreign_array.HOST_READS.clear()
    step()
    return {"operations": dict(foreign_array.OPERATIONS), "host reads": dict(foreign_array.HOST_READS)}


def operations_per_step(sizes: tuple[int, ...], batch: int) -> dict[str, Any]:
    """launches_of the MLP step, user code and by hand."""
    from tests import foreign_array

    foreign_array.register()
    ours = launches_of(tg_mlp_step(sizes, batch, np.float32, "foreign"))
    hand = launches_of(hand_mlp_step(sizes, batch, np.float32, foreign_array.namespace, foreign_array.to_device))
    return {"tinygrad_edu": ours["operations"], "hand": hand["operations"],
            "tinygrad_edu host reads": ours["host reads"], "hand host reads": hand["host reads"]}


@section("MLP step: user code on cuda / hand CuPy / torch CUDA")
def run_mlp_benchmark() -> dict[str, Any]:
    try:
        import torch
        torch_sync: Callable[[], None] = torch.cuda.synchronize
    except ImportError:
        torch_sync = sync
    counts = operations_per_step((784, 1024, 1024, 10), 256)
    ours_ops, hand_ops = collections.Counter(counts["tinygrad_edu"]), collections.Counter(counts["hand"])
    print(f"   array operations (kernel launches) per step: tinygrad_edu {ours_ops.total()} ({dict(ours_ops - hand_ops)} "
          f"more, {dict(hand_ops - ours_ops)} fewer), hand {hand_ops.total()}; reads of device values on the host per step (each waits "
          f"for the GPU): tinygrad_edu {counts['tinygrad_edu host reads']}, hand {counts['hand host reads']}")
    results: dict[str, Any] = {"operations per step": counts}
    for sizes, batch in (((784, 1024, 1024, 10), 256), ((4096, 4096, 4096, 10), 1024)):
        for dtype in (np.float32, np.float64):
            name = f"{'-'.join(map(str, sizes))}/b{batch} {np.dtype(dtype).name}"
            if DEVICE != "cuda" and batch > 256:
                continue  # (a dry run: the small size only)
            times = {"tinygrad_edu cuda": per_step(tg_mlp_step(sizes, batch, dtype, DEVICE), sync)}
            if DEVICE == "cuda":
                times["hand CuPy"] = per_step(hand_mlp_step(sizes, batch, dtype), sync)
            torch_step = torch_mlp_step(sizes, batch, dtype) if DEVICE == "cuda" else None
            if torch_step is not None:
                times["torch CUDA"] = per_step(torch_step, torch_sync)
            if batch == 256:  # the CPU beside it: where the GPU starts to pay
                times["tinygrad_edu cpu"] = per_step(tg_mlp_step(sizes, batch, dtype, "cpu"), lambda: None, budget=1.0,
                                                     repeats=3)
            ours = times["tinygrad_edu cuda"]
            ratios = {k: ours / v for k, v in times.items()}
            print(f"   {name:34s} " + "  ".join(f"{k} {v * 1e3:8.3f} ms" for k, v in times.items()))
            print(f"   {'':34s} tinygrad_edu cuda / hand CuPy = {ratios.get('hand CuPy', float('nan')):.2f}x (target <= 1.2x)"
                  + (f", / torch CUDA = {ratios['torch CUDA']:.2f}x" if "torch CUDA" in ratios else "")
                  + (f", / its own CPU step = {ratios['tinygrad_edu cpu']:.3f}x" if "tinygrad_edu cpu" in ratios else ""),
                  flush=True)
            results[name] = {"ms": {k: v * 1e3 for k, v in times.items()}, "ours_over": ratios}
    return results


# --------------------------------------------------------------------------- 5. GPT


def gpt_training_step(size: str, device: str) -> Callable[[], None]:
    """The char GPT example's own training step at SIZES[size] on `device`: AdamW, clipping, the schedule."""
    from tests.test_examples import load_example

    gpt = load_example("char_gpt")
    config = gpt.SIZES[size]
    X, Y = tg.data.name_sequences("train")
    model = gpt.GPT(config, len(gpt.VOCAB), X.shape[1]).to(device)
    opt, schedule = gpt.configure_optimizer(model, config)
    rng = np.random.default_rng(0)

    def step() -> None:
        rows = rng.integers(0, len(X), config.batch_size)
        loss = gpt.loss_of(model, X[rows], Y[rows])
        opt.zero_grad()
        loss.backward()
        gpt.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        schedule.step()

    return step


def classifier_step(make_model: Callable[[], tg.nn.Module], shape: tuple[int, ...], classes: int, batch: int,
                    labels_on_device: bool = False) -> Callable[[str], Callable[[], None]]:
    """A classifier's step on random inputs of `shape`: cross_entropy, SGD with momentum and weight decay."""
    def make(device: str) -> Callable[[], None]:
        model = make_model().to(device)
        opt = tg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        rng = np.random.default_rng(0)
        x = tg.Tensor(rng.normal(size=(batch,) + shape).astype(model.parameters()[0].dtype), device=device)
        labels = rng.integers(0, classes, batch)
        y = tg.Tensor(labels, device=device) if labels_on_device else labels

        def step() -> None:
            opt.zero_grad()
            tg.cross_entropy(model(x), y).backward()
            opt.step()

        return step
    return make


def wider_cnn() -> tg.nn.Module:
    """32 and 64 channels of 3x3 on 32x32 colour images: a CIFAR-sized CNN, as the examples would grow."""
    nn = tg.nn
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, rng=0, dtype=np.float32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1, rng=1, dtype=np.float32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 8 * 8, 10, rng=2, dtype=np.float32))


def gpu_against_cpu(what: str, make: Callable[[str], Callable[[], None]], seconds: float) -> dict[str, Any]:
    """A training step's launches (counted on the fake device) and its time on the GPU and on the CPU,
    printed as it goes; seconds of timing for the GPU, one more for the CPU."""
    from tests import foreign_array

    foreign_array.register()
    counts = launches_of(make("foreign"))
    found: dict[str, Any] = {"operations per step": counts}
    print(f"   {what}: array operations (kernel launches) per step: {sum(counts['operations'].values())}; "
          f"reads of device values on the host: {counts['host reads']}", flush=True)
    for device, budget in ((DEVICE, seconds), ("cpu", seconds + 1.0)):
        found[device] = per_step(make(device), sync if device == DEVICE else lambda: None, budget=budget,
                                 repeats=3) * 1e3
        print(f"   {what}, {device}: {found[device]:.2f} ms per step", flush=True)
    found["speedup"] = found["cpu"] / found[DEVICE]
    print(f"   GPU speed-up on the {what} step: {found['speedup']:.2f}x", flush=True)
    return found


@section("wider CNN training step (32 and 64 channels on 3x32x32, batch 128): GPU vs CPU")
def run_cnn_benchmark() -> dict[str, Any]:
    """docs/howto/use-a-gpu.md predicts a CIFAR-sized CNN many times faster on a GPU: 173 launches a step."""
    return gpu_against_cpu("CNN", classifier_step(wider_cnn, (3, 32, 32), 10, 128), 2.0)


def lstm_training_step(device: str, kind: str = "lstm") -> Callable[[], None]:
    """The char_lstm example's own step on one batch of 64 names (so every step runs as many time steps),
    AdamW, clipping (its schedule left out)."""
    from tests.test_examples import load_example

    lstm = load_example("char_lstm")
    X, Y = tg.data.name_sequences("train")
    model = lstm.CharModel(kind).to(device)
    opt = tg.optim.AdamW(model.parameters(), lr=lstm.LR, weight_decay=lstm.WEIGHT_DECAY)
    xb, yb = lstm.trim(X[:lstm.BATCH_SIZE], Y[:lstm.BATCH_SIZE])

    def step() -> None:
        loss = lstm.sequence_loss(model(xb)[0], yb)
        opt.zero_grad()
        loss.backward()
        tg.nn.utils.clip_grad_norm_(model.parameters(), lstm.MAX_NORM)
        opt.step()

    return step


@section("char GPT training step (large size, then default): GPU vs CPU")
def run_gpt_benchmark() -> dict[str, Any]:
    """The issue's figure at the large size (4 layers, width 128, batch 32); the default size too (2 layers,
    width 64), where the docs predict about even."""
    return {size: gpu_against_cpu(f"{size} GPT", lambda device, size=size: gpt_training_step(size, device), seconds)
            for size, seconds in (("large", 3.0), ("default", 1.5))}


@section("char LSTM training step (hidden 64, batch 64): GPU vs CPU")
def run_lstm_benchmark() -> dict[str, Any]:
    """docs/howto/use-a-gpu.md predicts the LSTM slower on a GPU: its time steps run one after another."""
    return gpu_against_cpu("LSTM", lstm_training_step, 1.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("gpu_results"), help="folder for gpu.json and the pictures")
    parser.add_argument("--skip", nargs="*", default=[], choices=["tests", "gradcheck", "examples", "mlp", "gpt", "cnn"],
                        help="sections to leave out")
    parser.add_argument("--budget", type=float, default=540,
                        help="seconds the whole run may take (the device tool's limit is 600 per command)")
    parser.add_argument("--device", default="cuda", choices=["cuda", "foreign"],
                        help="foreign: a dry run of the script on the CPU with the tests' fake array library")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    global DEVICE
    DEVICE = args.device
    if DEVICE == "cuda":
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
        RESULTS["machine"] = {"gpu": name, "cupy": cupy.__version__}
    else:
        from tests.foreign_array import register
        register()
        RESULTS["machine"] = {"gpu": "none: a dry run on the fake device"}
    RESULTS["machine"].update(numpy=np.__version__, python=sys.version.split()[0])
    print("machine:", RESULTS["machine"], flush=True)
    start = time.perf_counter()
    path = args.out / "gpu.json"

    def left() -> float:
        return args.budget - (time.perf_counter() - start)

    def save() -> None:  # after every section: a run stopped at the device's limit keeps what it measured
        RESULTS["seconds"] = time.perf_counter() - start
        path.write_text(json.dumps(RESULTS, indent=1, default=str))

    # the figures first (the benchmarks), then the checks, each given what is left of the budget
    # (CuPy compiles every new kernel once, so a fresh machine's first sections take longer)
    if "mlp" not in args.skip:
        run_mlp_benchmark()
        save()
    if "gpt" not in args.skip:
        run_gpt_benchmark()
        save()
    if "cnn" not in args.skip:
        run_cnn_benchmark()
        save()
        run_lstm_benchmark()
        save()
    if "gradcheck" not in args.skip:
        run_gradcheck()
        save()
    if "tests" not in args.skip and DEVICE == "cuda":
        run_tests(max(30, int(left() - 100)))  # (leaving the examples about 100 s)
        save()
    if "examples" not in args.skip and DEVICE == "cuda":
        run_examples(args.out, max(20, int(left() / len(EXAMPLES))))
        save()
    print(f"\nwrote {path} ({RESULTS['seconds']:.0f} s in all)")


if __name__ == "__main__":
    main()
