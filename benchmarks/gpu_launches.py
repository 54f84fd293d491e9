"""What a training step costs on a GPU before the GPU does any work: its kernel launches, counted on the CPU.

Each array operation on CuPy is a kernel launch, 15-30 µs of the CPU's time whatever the size, so a step
takes at least (launches x that) on a GPU. This counts the launches and the reads of device values on the
host of the examples' training steps on the tests' fake device (tests/foreign_array.py, which counts as
CuPy launches), measures the same steps on the CPU, and prints the table of docs/howto/use-a-gpu.md; then the issue's MLP ratio against the same step by
hand in CuPy as these counts and the engine's own time per step predict it:

    PYTHONPATH=. python benchmarks/gpu_launches.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import tinygrad_edu as tg  # noqa: E402
from gpu import (classifier_step, gpt_training_step, hand_mlp_step, launches_of, lstm_training_step,  # noqa: E402
                 operations_per_step, tg_mlp_step, wider_cnn)
from tests import foreign_array  # noqa: E402
from tests.test_examples import load_example  # noqa: E402

MakeStep = Callable[[str], Callable[[], None]]


def mlp_step(sizes: tuple[int, ...], batch: int) -> MakeStep:
    """The digits example's kind of step: an MLP in float32, its labels on the device (so checked there)."""
    return classifier_step(lambda: tg.nn.MLP(list(sizes), activation="relu", rng=0, dtype=np.float32),
                           (sizes[0],), sizes[-1], batch, labels_on_device=True)


def gpt_step(size: str) -> MakeStep:
    """The char GPT example's own step: AdamW, gradient clipping, the schedule."""
    return lambda device: gpt_training_step(size, device)


def cpu_ms(step: Callable[[], None], seconds: float = 2.0) -> float:
    for _ in range(3):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return (time.perf_counter() - start) / n * 1e3


def engine_seconds(sizes: tuple[int, ...] = (4, 4, 4, 2), batch: int = 2, seconds: float = 2.0) -> float:
    """The engine's own time in the issue's MLP step (recording, backward's bookkeeping, the optimizer's
    loop): our step minus the same step by hand in NumPy, at a size where the arithmetic costs nothing."""
    ours = tg_mlp_step(sizes, batch, np.float32, "cpu")
    hand = hand_mlp_step(sizes, batch, np.float32, np, np.asarray)
    return (cpu_ms(ours, seconds) - cpu_ms(hand, seconds)) / 1e3


def main() -> None:
    foreign_array.register()
    steps: dict[str, MakeStep] = {
        "digits MLP 64-64-10, batch 32, SGD with momentum and decay": mlp_step((64, 64, 10), 32),
        "MLP 784-1024-1024-10, batch 256, the same SGD": mlp_step((784, 1024, 1024, 10), 256),
        "digits CNN (cnn_digits: 16 and 32 channels on 8x8), batch 32, the same SGD":
            classifier_step(lambda: load_example("cnn_digits").build_model(), (1, 8, 8), 10, 32),
        "wider CNN (32 and 64 channels on 3x32x32), batch 128, the same SGD": classifier_step(wider_cnn, (3, 32, 32), 10, 128),
        "char GPT default (2 layers, width 64), AdamW, clipping": gpt_step("default"),
        "char GPT large (4 layers, width 128), AdamW, clipping": gpt_step("large"),
        "char LSTM (char_lstm: hidden 64), batch 64 names, AdamW, clipping": lstm_training_step,
    }
    print("| training step | launches | reads | GPU floor (launches x 15-30 µs) | CPU step |\n|---|---:|---:|---:|---:|")
    for name, make in steps.items():
        counts: dict[str, Any] = launches_of(make("foreign"))
        launches, reads = sum(counts["operations"].values()), sum(counts["host reads"].values())
        print(f"| {name} | {launches} | {reads} | {launches * 0.015:.1f}-{launches * 0.03:.1f} ms | "
              f"{cpu_ms(make('cpu')):.2f} ms |", flush=True)
    # the MLP target (our step within 1.2x of the same step by hand in CuPy), predicted where the
    # step is launch bound: each side's launches at L µs each, plus the engine's own time on ours
    counts = operations_per_step((784, 1024, 1024, 10), 256)
    ours, hand = sum(counts["tinygrad_edu"].values()), sum(counts["hand"].values())
    engine = engine_seconds()
    print(f"\nMLP 784-1024-1024-10/b256 (the issue's benchmark, plain SGD): {ours} launches, by hand {hand}; the "
          f"engine's own time {engine * 1e6:.0f} µs a step")
    for launch in (15e-6, 30e-6):
        predicted = (ours * launch + engine) / (hand * launch)
        print(f"  at {launch * 1e6:.0f} µs a launch: ours / hand CuPy = {predicted:.2f} (predicted; target <= 1.2)")


if __name__ == "__main__":
    main()
