"""Embedding: a lookup table of learned vectors, one row per token id (a composite of getitem).

Looking up rows is indexing, `weight[ids]`, whose gradient adds each output row's gradient back into
the row it came from (twice for an id used twice): the registry's getitem and scatter_add.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..device import is_array

from ..random import generator as random_generator
from ..tensor import Tensor, _all_below, where
from .module import Module

__all__ = ["Embedding", "embedding"]

Rng = np.random.Generator | int | None


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """The rows of `weight` (num_embeddings, dim) picked by the integer ids in `input`: shape input.shape + (dim,).

    Rows picked at `padding_idx` give their value but pass no gradient back to that row.

    >>> embedding([[2, 0]], Tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])).data
    array([[[4., 5.],
            [0., 1.]]])
    """
    return _lookup(input, weight, padding_idx, "embedding")


def _lookup(input: Any, weight: Tensor, padding_idx: int | None, op_name: str) -> Tensor:
    ids = input.data if isinstance(input, Tensor) else input
    ids = ids if is_array(ids) else np.asarray(ids)  # (host ids index a GPU's weight too: CuPy copies them)
    if ids.dtype.kind not in "iu":
        raise ValueError(f"{op_name}: expected integer ids, got an array of dtype {ids.dtype} and shape {ids.shape}")
    size = weight.shape[0]
    if not _all_below(ids, size):
        bad = ids[(ids < 0) | (ids >= size)]
        raise IndexError(
            f"{op_name}: index {bad.flat[0]} is out of range for {size} embeddings (valid ids: 0 to {size - 1}); "
            f"{bad.size} of the {ids.size} ids are outside"
        )
    rows = weight[ids]
    if padding_idx is not None:
        padding = ids == padding_idx
        if padding.any():  # those rows: their value, as a constant, which passes no gradient back
            rows = where(padding[..., np.newaxis], weight.data[padding_idx], rows)
    return rows


class Embedding(Module):
    """A table of `num_embeddings` vectors of size `embedding_dim`, initialised N(0, 1) as in PyTorch.

    `padding_idx` (if given) names a row that starts at zero and is never trained: it gets no gradient.

    >>> emb = Embedding(10, 3, rng=0)
    >>> emb([[1, 2, 4], [4, 3, 9]]).shape
    (2, 3, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        rng: Rng = None,
        dtype: Any = np.float64,
    ) -> None:
        for key, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
                raise ValueError(f"Embedding: {key} must be a positive integer, got {n!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx must be within num_embeddings ({self.num_embeddings}), got {padding_idx}"
                )
            padding_idx = int(padding_idx) % self.num_embeddings  # PyTorch keeps a negative one as positive
        self.padding_idx = padding_idx
        generator = random_generator(rng, "Embedding")
        weight = generator.standard_normal((self.num_embeddings, self.embedding_dim))
        if padding_idx is not None:
            weight[padding_idx] = 0
        self.weight = Tensor(weight, requires_grad=True, dtype=dtype, label="weight")

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None) -> Embedding:
        """An Embedding whose table is a copy of `embeddings` (a (num_embeddings, embedding_dim) tensor or
        array: its values, dtype and device), frozen (no gradient; still a parameter) unless freeze=False,
        as torch's `nn.Embedding.from_pretrained`.

        >>> emb = Embedding.from_pretrained(np.array([[0.0, 1.0], [2.0, 3.0]]))
        >>> emb([1, 0]).tolist(), emb.weight.requires_grad
        ([[2.0, 3.0], [0.0, 1.0]], False)
        """
        table = embeddings.detach() if isinstance(embeddings, Tensor) else Tensor(np.asarray(embeddings))
        if table.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D (num_embeddings, embedding_dim), "
                             f"got shape {table.shape}")
        if table.dtype.kind != "f":
            raise TypeError(f"Embedding.from_pretrained: embeddings must be floats, got {table.dtype}")
        embedding = cls(table.shape[0], table.shape[1], padding_idx=padding_idx, rng=0, dtype=table.dtype)
        embedding.weight = table.clone().requires_grad_(True)  # (rng=0: a table drawn only to be replaced)
        embedding.weight.label = "weight"
        if freeze:
            embedding.weight.requires_grad_(False)
        return embedding

    def forward(self, input: Any) -> Tensor:
        """The vectors of the integer ids in `input` (any shape): shape input.shape + (embedding_dim,)."""
        return _lookup(input, self.weight, self.padding_idx, f"Embedding({self.extra_repr()})")

    def extra_repr(self) -> str:
        padding = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
