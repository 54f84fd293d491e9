"""Random numbers: one default generator, as PyTorch's, for whatever is given no seed of its own.

Layers, factories (`randn`, `rand`, `randint`), dropout, `nn.init`, `data.batches` and the datasets take
`rng=` (or `seed=`, `generator=`): an int (a generator seeded with it: the same numbers every time), a
NumPy Generator (drawn from, so successive calls differ), or None: the default generator, seeded from
the operating system's entropy when the package is imported, or by `manual_seed`, as `torch.manual_seed`
seeds torch's.

>>> import tinygrad_edu as tg
>>> _ = tg.manual_seed(0); first = tg.randn(2).tolist()
>>> _ = tg.manual_seed(0); tg.randn(2).tolist() == first
True
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

_default = [np.random.default_rng()]  # (in a list: manual_seed replaces it)


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the default generator (PyTorch's `torch.manual_seed`): everything drawn after it without a
    seed of its own repeats from run to run. Returns the generator."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise TypeError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _default[0] = np.random.default_rng(int(seed))
    return _default[0]


def generator(rng: Any, where: str, name: str = "rng") -> np.random.Generator:
    """The NumPy Generator that `rng` stands for: itself, a new one seeded with an int, or (None) the
    default generator. `where` and `name` say who asked, for the error.

    >>> generator(0, "example").integers(10, size=3).tolist() == generator(0, "example").integers(10, size=3).tolist()
    True
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return _default[0]
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and int(rng) >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"{where}: {name} must be a non-negative int, a numpy.random.Generator or None, got {rng!r}")
