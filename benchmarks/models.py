"""Speed of whole training steps, tinygrad_edu against PyTorch (CPU) running the identical user code.

Three models, each written once as a module tree over a framework `lib` (the module `torch` or the
module `tinygrad_edu`: the same class bodies, the same lines of training code, run on both):

  cnn   the digits CNN, a batch of 64 8x8 images (1 channel): Conv2d(1,16,3,p=1)-ReLU-Conv2d(16,32,3,p=1)-
        ReLU-MaxPool2d(2)-Flatten-Linear(512,64)-ReLU-Linear(64,10), SGD with momentum 0.9.
        Target: faster than torch (ratio < 1).
  gpt   a small GPT: vocab 27, block 32, width 64, 4 heads, 2 layers, batch 32; token + position
        Embedding, pre-LayerNorm blocks of causal self-attention (F.scaled_dot_product_attention with
        is_causal=True, heads split by view and swapaxes) and a GELU MLP, residuals, a final LayerNorm
        and a Linear head; AdamW and clip_grad_norm_(1.0). Target: within 1.25x of torch.
  lstm  an LSTM language model: Embedding(65, 32) -> nn.LSTM(32, 128, batch_first=True) -> Linear(128, 65),
        64 steps, batch 32; AdamW and clip_grad_norm_(1.0). Target: within 1.5x of torch's fused nn.LSTM.
        A third contender, "numpy by hand" (lstm_numpy.py), is the same step written directly in NumPy:
        the floor any NumPy framework can reach.

One training step, timed whole, is the user's code: opt.zero_grad(); loss = F.cross_entropy(...);
loss.backward(); [clip_grad_norm_]; opt.step(). The batch is wrapped once, outside the timing (torch.from_numpy,
tinygrad_edu.Tensor), as a data loader hands it over.

Before timing, each model is checked to be the same computation in both frameworks: ours loads torch's
state_dict, and one step's loss and every parameter's gradient are compared (relative to the largest
gradient), in float32 and float64. Then both take steps from those same weights.

All in one process, contenders interleaved, medians of repeated samples, one thread everywhere, float32 and
float64. Time is the CPU time of the process (time.process_time): time spent waiting while other programs
hold the cores does not count (every contender runs on one thread), though their use of the caches still
does, so on a shared machine run it more than once; --wall times by the wall clock instead. The ratio of
the fastest samples is printed beside the ratio of the medians. Nothing is asserted about speed: targets are
reported as met or not met (on the medians).

Run: python benchmarks/models.py [--quick] [--repeats N] [--only cnn,gpt,lstm] [--wall] [--profile]
(--profile: cProfile's top entries for tinygrad_edu's step of each model and dtype instead of the timing)
Writes benchmarks/results/models.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy (or torch) is imported

import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import _bench  # noqa: E402
from lstm_numpy import HandLSTM  # noqa: E402
import tinygrad_edu as tg  # noqa: E402

torch, TORCH_MISSING = _bench.import_torch()

DTYPES = ("float32", "float64")
SEED = 0


# =========================================================================== the models: one text, two frameworks
# `lib` is the module torch or the module tinygrad_edu; `dtype` is lib's float32 or float64.


def cnn(lib: ModuleType, dtype: Any) -> Any:
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, dtype=dtype), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, dtype=dtype), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(512, 64, dtype=dtype), nn.ReLU(),
        nn.Linear(64, 10, dtype=dtype),
    )


def gpt_class(lib: ModuleType) -> type:
    """The GPT's classes, defined over `lib` (a minimal nanoGPT: pre-LayerNorm blocks, GELU MLP)."""
    nn, F = lib.nn, lib.nn.functional

    class SelfAttention(nn.Module):
        def __init__(self, width: int, heads: int, dtype: Any) -> None:
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(width, 3 * width, dtype=dtype)
            self.proj = nn.Linear(width, width, dtype=dtype)

        def forward(self, x: Any) -> Any:
            B, T, C = x.shape
            q, k, v = self.qkv(x).split(C, dim=2)
            q = q.view(B, T, self.heads, C // self.heads).swapaxes(1, 2)  # (B, heads, T, head size)
            k = k.view(B, T, self.heads, C // self.heads).swapaxes(1, 2)
            v = v.view(B, T, self.heads, C // self.heads).swapaxes(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.proj(y.swapaxes(1, 2).reshape(B, T, C))

    class Block(nn.Module):
        def __init__(self, width: int, heads: int, dtype: Any) -> None:
            super().__init__()
            self.ln1 = nn.LayerNorm(width, dtype=dtype)
            self.attn = SelfAttention(width, heads, dtype)
            self.ln2 = nn.LayerNorm(width, dtype=dtype)
            self.mlp = nn.Sequential(nn.Linear(width, 4 * width, dtype=dtype), nn.GELU(),
                                     nn.Linear(4 * width, width, dtype=dtype))

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self, vocab: int, block: int, width: int, heads: int, layers: int, dtype: Any) -> None:
            super().__init__()
            self.tokens = nn.Embedding(vocab, width, dtype=dtype)
            self.positions = nn.Embedding(block, width, dtype=dtype)
            self.blocks = nn.Sequential(*[Block(width, heads, dtype) for _ in range(layers)])
            self.ln = nn.LayerNorm(width, dtype=dtype)
            self.head = nn.Linear(width, vocab, dtype=dtype)

        def forward(self, ids: Any) -> Any:
            T = ids.shape[1]
            x = self.tokens(ids) + self.positions(lib.arange(T))
            return self.head(self.ln(self.blocks(x)))

    return GPT


def lstm_class(lib: ModuleType) -> type:
    nn = lib.nn

    class CharLSTM(nn.Module):
        def __init__(self, vocab: int, embedding: int, hidden: int, dtype: Any) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, embedding, dtype=dtype)
            self.lstm = nn.LSTM(embedding, hidden, batch_first=True, dtype=dtype)
            self.head = nn.Linear(hidden, vocab, dtype=dtype)

        def forward(self, ids: Any) -> Any:
            out, _ = self.lstm(self.embed(ids))
            return self.head(out)

    return CharLSTM


def training_step(lib: ModuleType, model: Any, opt: Any, x: Any, y: Any, clip: float | None) -> Callable[[], Any]:
    """The user's training step, as a function of nothing (what the benchmark times)."""
    F = lib.nn.functional

    def step() -> Any:
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        if clip is not None:
            lib.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return loss

    return step


# =========================================================================== problems


class Problem:
    """One model at one dtype: how to build it, its optimizer and batch, in either framework."""

    def __init__(self, name: str, title: str, target: float, op: str, build: Callable[[ModuleType, Any], Any],
                 optimizer: Callable[[ModuleType, Any], Any], x: np.ndarray, y: np.ndarray, clip: float | None) -> None:
        self.name, self.title, self.target, self.op = name, title, target, op
        self.build, self.optimizer, self.x, self.y, self.clip = build, optimizer, x, y, clip


def problems(quick: bool) -> list[Problem]:
    rng = np.random.default_rng(SEED)
    images, labels = tg.data.digits(flatten=False)
    rows = rng.choice(len(labels), 64, replace=False)
    digits_x, digits_y = images[rows].reshape(64, 1, 8, 8), labels[rows]
    text = rng.integers(0, 27, (32, 33))  # GPT: 32 sequences of 32 tokens and their next tokens
    chars = rng.integers(0, 65, (32, 65))  # LSTM: 32 sequences of 64 characters
    return [
        Problem("cnn", "digits CNN, batch 64, SGD momentum", 1.0, "<",
                lambda lib, dt: cnn(lib, dt),
                lambda lib, m: lib.optim.SGD(m.parameters(), lr=0.01, momentum=0.9),
                digits_x, digits_y, None),
        Problem("gpt", "GPT vocab 27, block 32, width 64, 4 heads, 2 layers, batch 32, AdamW + clip", 1.25, "<=",
                lambda lib, dt: gpt_class(lib)(27, 32, 64, 4, 2, dt),
                lambda lib, m: lib.optim.AdamW(m.parameters(), lr=3e-4),
                text[:, :-1], text[:, 1:], 1.0),
        Problem("lstm", "LSTM LM emb 32, hidden 128, 64 steps, batch 32, AdamW + clip", 1.5, "<=",
                lambda lib, dt: lstm_class(lib)(65, 32, 128, dt),
                lambda lib, m: lib.optim.AdamW(m.parameters(), lr=1e-3),
                chars[:, :-1], chars[:, 1:], 1.0),
    ]


def np_dtype(dtype: str) -> Any:
    return {"float32": np.float32, "float64": np.float64}[dtype]


def torch_dtype(dtype: str) -> Any:
    return {"float32": torch.float32, "float64": torch.float64}[dtype]


def contender(lib: ModuleType, problem: Problem, dtype: str,
              state: dict[str, np.ndarray] | None) -> tuple[Any, Callable[[], Any]]:
    """(model, step) in framework `lib`, at `dtype`, starting from `state` (torch's weights) if given."""
    if lib is torch:
        torch.manual_seed(SEED)
        model = problem.build(torch, torch_dtype(dtype))
        wrap = torch.from_numpy
    else:
        model = problem.build(tg, np_dtype(dtype))
        if state is not None:
            model.load_state_dict(state)
        wrap = tg.Tensor
    x = problem.x.astype(np_dtype(dtype)) if problem.x.dtype.kind == "f" else problem.x
    step = training_step(lib, model, problem.optimizer(lib, model), wrap(x), wrap(problem.y), problem.clip)
    return model, step


def torch_state(model: Any) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# =========================================================================== check: the same computation


def check(problem: Problem, dtype: str) -> dict[str, Any]:
    """One step's loss and gradients (taken before the update) in both, from torch's weights."""
    tmodel, _ = contender(torch, problem, dtype, None)
    ours, _ = contender(tg, problem, dtype, torch_state(tmodel))
    losses, grads = {}, {}
    for lib, model in ((torch, tmodel), (tg, ours)):
        x = problem.x.astype(np_dtype(dtype)) if problem.x.dtype.kind == "f" else problem.x
        wrap = torch.from_numpy if lib is torch else tg.Tensor
        logits = model(wrap(x))
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), wrap(problem.y).reshape(-1))
        loss.backward()
        losses[lib.__name__] = float(loss.item())
        grads[lib.__name__] = {name: np.asarray(p.grad.numpy() if lib is torch else p.grad)
                               for name, p in model.named_parameters()}
    theirs, mine = grads["torch"], grads["tinygrad_edu"]
    assert theirs.keys() == mine.keys(), (sorted(theirs), sorted(mine))
    scale = max(float(np.max(np.abs(g))) for g in theirs.values())
    grad_diff = max(float(np.max(np.abs(mine[k] - theirs[k]))) for k in theirs)
    loss_diff = abs(losses["torch"] - losses["tinygrad_edu"])
    tolerance = 1e-4 if dtype == "float32" else 1e-10
    dtypes_kept = all(g.dtype == np_dtype(dtype) for g in mine.values())
    return {"loss": losses["torch"], "loss_abs_diff": loss_diff, "max_grad_abs_diff": grad_diff,
            "max_abs_grad": scale, "dtype_kept": dtypes_kept,
            "ok": loss_diff <= tolerance * max(1.0, abs(losses["torch"])) and grad_diff <= tolerance * scale
            and dtypes_kept}


# =========================================================================== timing


def bench(problem: Problem, dtype: str, repeats: int, quick: bool, clock: Callable[[], float]) -> dict[str, Any]:
    label = f"{problem.name}, {dtype}"
    print(f"== {problem.title}, {dtype}")
    result: dict[str, Any] = {"model": problem.name, "dtype": dtype, "targets": []}
    if torch is not None:
        c = check(problem, dtype)
        result["check"] = c
        print(f"  check: loss {c['loss']:.10g}, |loss diff| {c['loss_abs_diff']:.1e}, max |grad diff| "
              f"{c['max_grad_abs_diff']:.1e} (largest |grad| {c['max_abs_grad']:.2g}), dtype kept {c['dtype_kept']} -> "
              f"{'OK' if c['ok'] else 'MISMATCH'}")
        tmodel, tstep = contender(torch, problem, dtype, None)
        _, ostep = contender(tg, problem, dtype, torch_state(tmodel))
        steps = {"tinygrad_edu": ostep, "torch": tstep}
        if problem.name == "lstm":  # the floor: the same step written by hand in NumPy
            hand = HandLSTM(torch_state(tmodel), np_dtype(dtype))
            steps["numpy by hand"] = lambda: hand.step(problem.x, problem.y)
    else:
        steps = {"tinygrad_edu": contender(tg, problem, dtype, None)[1]}
    samples = _bench.interleaved(steps, repeats, warmup=3, min_sample_s=0.05 if quick else 0.2, clock=clock)
    med = {who: _bench.median(s) for who, s in samples.items()}
    for who, m in med.items():
        s = samples[who]
        print(f"  {who:<14} {_bench.fmt_time(m):>12} per step   (range {_bench.fmt_time(min(s))} - "
              f"{_bench.fmt_time(max(s))}, spread {_bench.spread(s):.0%})")
    result.update(seconds_per_step=med, samples=samples)
    if "torch" in med:
        ratio = med["tinygrad_edu"] / med["torch"]
        fastest = min(samples["tinygrad_edu"]) / min(samples["torch"])
        result["ratio_of_fastest"] = fastest
        print(f"  tinygrad_edu / torch = {ratio:.3g}x (of the fastest samples: {fastest:.3g}x)")
        t = _bench.target(f"{label}: tinygrad_edu / torch", ratio, problem.op, problem.target)
        _bench.print_target(t)
        result["targets"].append(t)
        if "numpy by hand" in med:
            floor = med["numpy by hand"]
            result["floor"] = {"numpy_by_hand_over_torch": floor / med["torch"],
                               "tinygrad_edu_over_numpy_by_hand": med["tinygrad_edu"] / floor}
            print(f"  numpy by hand / torch = {floor / med['torch']:.3g}x (the floor); "
                  f"tinygrad_edu / numpy by hand = {med['tinygrad_edu'] / floor:.3g}x")
    else:
        print("  skipped: torch not installed (no ratio)")
    return result


def profile(problem: Problem, dtype: str, top: int = 15) -> None:
    """cProfile's top entries (by own time) for 20 of tinygrad_edu's training steps."""
    state = torch_state(contender(torch, problem, dtype, None)[0]) if torch is not None else None
    _, step = contender(tg, problem, dtype, state)
    _bench.profile_steps(step, 20, f"tinygrad_edu's step: {problem.title}, {dtype}", top)


def main() -> None:
    only = _bench.take_option("--only", True)
    only = None if only is None else set(only.split(","))
    clock = time.perf_counter if _bench.take_option("--wall", False) else time.process_time
    profiling = _bench.take_option("--profile", False)
    args = _bench.parse_args(__doc__.splitlines()[0])
    if profiling:
        for p in problems(args.quick):
            if only is None or p.name in only:
                for dtype in DTYPES:
                    profile(p, dtype)
        return
    env = _bench.environment(("torch",))
    print(_bench.run_line(env, args))
    if torch is None:
        print(f"torch not installed ({TORCH_MISSING}): tinygrad_edu is timed alone, no ratios")
    else:
        print(f"torch threads: {torch.get_num_threads()}")
    print()
    print(f"clock: {'wall time' if clock is time.perf_counter else 'CPU time of this process'}")
    runs = [bench(p, dtype, args.repeats, args.quick, clock)
            for p in problems(args.quick) if only is None or p.name in only for dtype in DTYPES]
    checks = [r["check"]["ok"] for r in runs if "check" in r]
    _bench.write_results("models", {
        "script": "models", "environment": env, "quick": args.quick, "repeats": args.repeats,
        "clock": "wall" if clock is time.perf_counter else "process_time", "runs": runs,
        "targets": [t for r in runs for t in r["targets"]] + ([
            _bench.target("check: same loss and gradients as torch, every model and dtype (1 = yes)",
                          float(all(checks)), ">=", 1, unit="")] if checks else []),
    })


if __name__ == "__main__":
    main()
