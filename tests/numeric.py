"""Test-side truth: central finite differences of a forward function, and input sampling by domain.

Nothing here reads a backward rule, so the gradients it computes are independent of the engine's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def central_differences(
    f: Callable[[list[np.ndarray]], float], arrays: Sequence[np.ndarray], eps: float = 1e-6
) -> list[np.ndarray]:
    """d f / d arrays[i], element by element: (f(x + eps) - f(x - eps)) / (2 eps)."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        flat, gflat = a.reshape(-1), g.reshape(-1)
        for j in range(flat.size):
            keep = flat[j]
            flat[j] = keep + eps
            up = f(arrays)
            flat[j] = keep - eps
            down = f(arrays)
            flat[j] = keep
            gflat[j] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def sample(rng: np.random.Generator, domain: str, shape: tuple[int, ...]) -> np.ndarray:
    """Random float64 inputs inside an op's domain (see tinygrad_edu.ops.DOMAINS)."""
    size = int(np.prod(shape))
    if domain == "real":
        return rng.uniform(-2, 2, shape)
    if domain == "positive":
        return rng.uniform(0.5, 2, shape)
    if domain == "nonzero":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2, shape)
    if domain == "smooth":  # at least 0.1 from the kink at 0, far beyond eps
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 2, shape)
    if domain == "distinct":  # elements at least 0.05 apart: no ties, even after eps
        return (rng.permutation(size) * 0.1 - 0.05 * size + rng.uniform(0, 0.05, size)).reshape(shape)
    if domain == "steps":  # at least 0.05 from every multiple of 0.5: far from the jumps of round and floor
        return np.asarray((rng.integers(-4, 4, shape) + rng.uniform(0.1, 0.9, shape)) * 0.5)
    if domain == "halves":  # nonzero multiples of 0.5: divisors under which a "steps" x/y is never whole
        return rng.choice([-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0], shape)
    raise ValueError(f"unknown domain {domain!r}")


def assert_close(actual: object, expected: object, what: str, atol: float = 1e-6, rtol: float = 1e-5) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, atol=atol, rtol=rtol, err_msg=what)
