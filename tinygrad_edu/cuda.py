"""PyTorch's `torch.cuda` questions, answered through CuPy: is there a GPU, and wait for it.

>>> import tinygrad_edu as tg
>>> device = "cuda" if tg.cuda.is_available() else "cpu"
"""

from __future__ import annotations

from .device import get_device


def is_available() -> bool:
    """Whether the device "cuda" can be used: CuPy is installed and finds a GPU."""
    try:
        get_device("cuda")
    except RuntimeError:
        return False
    return True


def device_count() -> int:
    """How many GPUs tinygrad_edu can use: 1 or 0 (it drives one, "cuda:0")."""
    return int(is_available())


def synchronize() -> None:
    """Wait until the GPU has finished the work queued on it (CuPy's kernels run asynchronously): call
    it before reading a clock. Raises, saying what is missing, where there is no GPU."""
    get_device("cuda").namespace.cuda.Device().synchronize()
