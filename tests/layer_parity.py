"""Layer parity with PyTorch: the same weights (moved by load_state_dict), the same inputs and upstream
gradients, and then every output, input gradient and parameter gradient compared.

Callers import torch themselves with `pytest.importorskip("torch")`; this module never imports it at
import time, so test files that use it still collect where torch is missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_edu import Tensor
from tinygrad_edu.nn import Module


def numpy_state(torch_module: Any) -> dict[str, np.ndarray]:
    """A torch module's state_dict as NumPy arrays (what our load_state_dict takes)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in torch_module.state_dict().items()}


def torch_state(module: Module) -> dict[str, Any]:
    """Our state_dict as torch tensors (what torch's load_state_dict takes)."""
    import torch

    return {k: torch.from_numpy(np.array(v)) for k, v in module.state_dict().items()}


def randomize(module: Module, seed: int) -> None:
    """New random values in every parameter (so that a transfer is seen to move something)."""
    rng = np.random.default_rng(seed)
    for p in module.parameters():
        p.data[...] = rng.uniform(-0.8, 0.8, p.data.shape)


def _ours(x: Any) -> Any:
    if isinstance(x, tuple):
        return tuple(_ours(a) for a in x)
    if isinstance(x, np.ndarray):
        return Tensor(x.copy(), requires_grad=x.dtype.kind == "f")
    return x


def _theirs(x: Any) -> Any:
    import torch

    if isinstance(x, tuple):
        return tuple(_theirs(a) for a in x)
    if isinstance(x, np.ndarray):
        return torch.tensor(x, requires_grad=x.dtype.kind == "f")
    return x


def _flat(x: Any) -> list[Any]:
    if isinstance(x, (tuple, list)):
        return [leaf for item in x for leaf in _flat(item)]
    return [x] if x is not None else []


def assert_parity(ours: Module, theirs: Any, *args: Any, seed: int = 0, atol: float = 1e-8) -> None:
    """ours(*args) and theirs(*args) agree: outputs, the gradient of every input array that is float,
    and every parameter's gradient (matched by name), under one random upstream gradient per output."""
    import torch

    ours_args, their_args = [_ours(a) for a in args], [_theirs(a) for a in args]
    outs, their_outs = _flat(ours(*ours_args)), _flat(theirs(*their_args))
    assert len(outs) == len(their_outs)
    rng = np.random.default_rng(seed)
    upstream = [rng.standard_normal(o.shape) for o in outs]
    for k, (o, t) in enumerate(zip(outs, their_outs)):
        assert o.shape == tuple(t.shape), f"output {k}: shape {o.shape} != torch's {tuple(t.shape)}"
        np.testing.assert_allclose(o.data, t.detach().numpy(), rtol=0, atol=atol, err_msg=f"output {k}")
    sum((o * g).sum() for o, g in zip(outs, upstream)).backward()  # type: ignore[union-attr]
    sum((t * torch.from_numpy(g)).sum() for t, g in zip(their_outs, upstream)).backward()
    for k, (a, b) in enumerate(zip(_flat(ours_args), _flat(their_args))):
        if isinstance(a, Tensor) and a.requires_grad:
            np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=0, atol=atol, err_msg=f"gradient of input {k}")
    names = [n for n, _ in ours.named_parameters()]
    assert names == [n for n, _ in theirs.named_parameters()]
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert q.grad is not None, name
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=0, atol=atol, err_msg=f"gradient of {name}")
