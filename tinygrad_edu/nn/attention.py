"""Multi-head attention as a layer, with torch's constructor, parameter names and forward.

Each head projects the queries, keys and values to embed_dim / num_heads numbers, attends with
`functional._attention_weights` (softmax of the scaled scores plus the masks), and the heads'
outputs, side by side again, go through one more Linear (`out_proj`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..device import array_module

from ..random import generator as random_generator
from ..tensor import Tensor, concatenate
from . import init
from .functional import _attention_bias, _attention_weights, linear
from .layers import Linear, Rng
from .module import Module


class MultiheadAttention(Module):
    """Attention with `num_heads` heads over `embed_dim` features, as torch's `nn.MultiheadAttention`.

    forward(query (L, N, E), key (S, N, kdim), value (S, N, vdim)) -> (output (L, N, E), weights (N, L, S)
    averaged over heads, or (N, H, L, S), or None), with (N, L, E) inputs and outputs when `batch_first`,
    and (L, E) without a batch. Masks as torch's: in `key_padding_mask` (N, S) and a boolean `attn_mask`
    ((L, S) or (N·H, L, S)) True means "leave this key out"; float masks are added to the scores.
    Parameters (torch's names): `in_proj_weight` (3E, E), or `q_proj_weight`, `k_proj_weight`,
    `v_proj_weight` when kdim or vdim differ from E; `in_proj_bias` (3E,); `bias_k`, `bias_v` (1, 1, E)
    with `add_bias_kv`; `out_proj`, a Linear(E, E). Initialised as torch does: xavier_uniform in-projections,
    zero biases, out_proj's weight as a Linear's, xavier_normal bias_k and bias_v (drawn in that order
    from `rng`, which then drives the dropout of attention weights in training mode).

    >>> mha = MultiheadAttention(4, 2, rng=0)
    >>> out, weights = mha(*[Tensor(np.ones((3, 1, 4)))] * 3)
    >>> out.shape, weights.shape, [name for name, _ in mha.named_parameters()]
    ((3, 1, 4), (1, 3, 3), ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'])
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        rng: Rng = None,
        dtype: Any = np.float64,
    ) -> None:
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim = self.embed_dim if kdim is None else int(kdim)
        self.vdim = self.embed_dim if vdim is None else int(vdim)
        if self.embed_dim < 1 or self.num_heads < 1 or self.embed_dim % self.num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive multiple of num_heads ({num_heads})"
            )
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be between 0 and 1, got {dropout!r}")
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout, self.batch_first, self.add_zero_attn = float(dropout), bool(batch_first), bool(add_zero_attn)
        generator = random_generator(rng, type(self).__name__)
        E = self.embed_dim

        def parameter(shape: tuple[int, ...], label: str) -> Tensor:
            return Tensor(np.zeros(shape), requires_grad=True, dtype=dtype, label=label)

        self.in_proj_weight: Tensor | None = None
        self.q_proj_weight: Tensor | None = None
        self.k_proj_weight: Tensor | None = None
        self.v_proj_weight: Tensor | None = None
        if self.kdim == E and self.vdim == E:  # one packed weight: rows for q, then k, then v
            self.in_proj_weight = init.xavier_uniform_(parameter((3 * E, E), "in_proj_weight"), generator=generator)
        else:
            self.q_proj_weight = init.xavier_uniform_(parameter((E, E), "q_proj_weight"), generator=generator)
            self.k_proj_weight = init.xavier_uniform_(parameter((E, self.kdim), "k_proj_weight"), generator=generator)
            self.v_proj_weight = init.xavier_uniform_(parameter((E, self.vdim), "v_proj_weight"), generator=generator)
        self.in_proj_bias = parameter((3 * E,), "in_proj_bias") if bias else None
        self.bias_k: Tensor | None = None
        self.bias_v: Tensor | None = None
        if add_bias_kv:  # one more key and value, learned, that every query can attend to
            self.bias_k = init.xavier_normal_(parameter((1, 1, E), "bias_k"), generator=generator)
            self.bias_v = init.xavier_normal_(parameter((1, 1, E), "bias_v"), generator=generator)
        self.out_proj = Linear(E, E, bias=bias, rng=generator, dtype=dtype)
        if self.out_proj.bias is not None:
            init.zeros_(self.out_proj.bias)  # torch zeroes it after the Linear's own initialisation
        self._dropout_rng = None if rng is None else generator  # None: the default generator, when drawn

    def forward(
        self,
        query: Any,
        key: Any,
        value: Any,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """(output, attention weights or None). `is_causal` is torch's hint that attn_mask is causal:
        it needs attn_mask, which is what is used."""
        name = "MultiheadAttention"
        if is_causal and attn_mask is None:
            raise RuntimeError(f"{name}: is_causal is a hint that attn_mask is the causal mask; give attn_mask too")
        self_attention = query is key and key is value
        query, key, value = (self._as_tensor(t) for t in (query, key, value))
        batched = self._check_shapes(query, key, value, key_padding_mask)
        if not batched:  # a batch of one, on axis 1
            query, key, value = (t.reshape(t.shape[0], 1, t.shape[1]) for t in (query, key, value))
        elif self.batch_first:  # (N, L, E) -> (L, N, E)
            query, key, value = (t.transpose(1, 0, 2) for t in (query, key, value))
        L, N, E = query.shape
        S, H = key.shape[0], self.num_heads

        q, k, v = self._project(query, key, value, self_attention)
        bias = self._bias(attn_mask, key_padding_mask, query.dtype, L, S, N, batched)
        if self.bias_k is not None and self.bias_v is not None:  # the learned key and value join the S others
            k = concatenate([k, self.bias_k.broadcast_to((1, N, E))], axis=0)
            v = concatenate([v, self.bias_v.broadcast_to((1, N, E))], axis=0)
        # heads: (seq, N, E) -> (N, H, seq, head_dim)
        q, k, v = (t.reshape(t.shape[0], N, H, self.head_dim).transpose(1, 2, 0, 3) for t in (q, k, v))
        if self.add_zero_attn:  # and a key and value of zeros
            zeros = Tensor(np.zeros((N, H, 1, self.head_dim), dtype=k.dtype), device=k.device)
            k, v = concatenate([k, zeros], axis=2), concatenate([v, zeros], axis=2)

        weights = _attention_weights(
            q, k, bias, 1.0 / float(np.sqrt(self.head_dim)), self.dropout if self.training else 0.0,
            self._dropout_rng, empty_rows_attend_to_nothing=not need_weights,  # as torch's two paths
        )
        heads = weights @ v  # (N, H, L, head_dim)
        output = self.out_proj(heads.transpose(2, 0, 1, 3).reshape(L, N, E))
        if not batched:
            output = output.reshape(L, E)
        elif self.batch_first:
            output = output.transpose(1, 0, 2)
        if not need_weights:
            return output, None
        if average_attn_weights:
            weights = weights.mean(axis=1)
        return output, weights if batched else weights.reshape(weights.shape[1:])

    def _as_tensor(self, x: Any) -> Tensor:
        dtype = self.out_proj.weight.dtype
        return x if isinstance(x, Tensor) else Tensor(np.asarray(x), dtype=dtype)

    def _project(self, query: Tensor, key: Tensor, value: Tensor, self_attention: bool) -> tuple[Tensor, ...]:
        """query, key and value through their input projections: x @ Wᵀ + b for each (F.linear)."""
        E, b = self.embed_dim, self.in_proj_bias
        if self.in_proj_weight is not None and self_attention:  # one product gives q, k and v side by side
            qkv = linear(query, self.in_proj_weight, b)
            return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
        if self.in_proj_weight is not None:
            w = self.in_proj_weight
            weights = (w[:E], w[E:2 * E], w[2 * E:])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)  # type: ignore[assignment]
        projected = []
        for i, (x, w) in enumerate(zip((query, key, value), weights)):
            projected.append(linear(x, w, None if b is None else b[i * E:(i + 1) * E]))
        return tuple(projected)

    def _bias(
        self, attn_mask: Any, key_padding_mask: Any, dtype: np.dtype, L: int, S: int, N: int, batched: bool
    ) -> Any:
        """attn_mask and key_padding_mask merged into what is added to the scores (N or 1, H or 1, L, S),
        with a 0 column for bias_k's key and for the zero key."""
        name, H = "MultiheadAttention", self.num_heads
        bias: Any = None
        if attn_mask is not None:
            ndim = np.ndim(attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask)
            expected = (L, S) if ndim == 2 else (N * H, L, S) if batched else (H, L, S)
            shape = np.shape(attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask)
            if ndim not in (2, 3) or shape != expected:
                raise RuntimeError(
                    f"{name}: attn_mask has shape {shape}; expected (L, S) = {(L, S)} or (N·num_heads, L, S) = "
                    f"{(N * H, L, S)}" + ("" if batched else f" (unbatched: (num_heads, L, S) = {(H, L, S)})")
                )
            bias = _attention_bias(attn_mask, expected, dtype, name, true_takes_part=False)
            if ndim == 3:
                bias = bias.reshape(N, H, L, S)
        if key_padding_mask is not None:  # (N, S): per sequence of the batch, the keys to leave out
            padding = _attention_bias(key_padding_mask, (N, S) if batched else (S,), dtype, name, true_takes_part=False)
            padding = padding.reshape(N, 1, 1, S)
            bias = padding if bias is None else bias + padding
        if bias is not None:
            for _ in range((self.bias_k is not None) + self.add_zero_attn):  # those keys take part everywhere
                bias = _pad_last_axis(bias)
        return bias

    def _check_shapes(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any) -> bool:
        """Whether the inputs are batched, (seq, N, features) or (N, seq, features); errors name the shapes."""
        name = "MultiheadAttention"
        shapes = f"query {query.shape}, key {key.shape}, value {value.shape}"
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise RuntimeError(
                f"{name}: expected query, key and value all 3-D (batched) or all 2-D (unbatched); got {shapes}"
            )
        batched = query.ndim == 3
        features = (query.shape[-1], key.shape[-1], value.shape[-1])
        if features != (self.embed_dim, self.kdim, self.vdim):
            raise RuntimeError(
                f"{name}: expected {self.embed_dim}, {self.kdim} and {self.vdim} features in the last axis of "
                f"query, key and value (embed_dim, kdim, vdim); got {shapes}"
            )
        seq = 1 if batched and self.batch_first else 0
        if key.shape[:-1] != value.shape[:-1] or (batched and key.shape[1 - seq] != query.shape[1 - seq]):
            raise RuntimeError(
                f"{name}: key and value need the same sequence length and batch size, and query the same batch "
                f"size; got {shapes}" + (" (batch_first)" if self.batch_first else "")
            )
        if key_padding_mask is not None:
            n, s = (key.shape[1 - seq], key.shape[seq]) if batched else (None, key.shape[0])
            expected = (n, s) if batched else (s,)
            got = np.shape(key_padding_mask.data if isinstance(key_padding_mask, Tensor) else key_padding_mask)
            if got != expected:
                raise RuntimeError(f"{name}: key_padding_mask has shape {got}, expected (N, S) = {expected} for {shapes}")
        return batched

    def extra_repr(self) -> str:
        parts = [f"embed_dim={self.embed_dim}", f"num_heads={self.num_heads}"]
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        if self.kdim != self.embed_dim or self.vdim != self.embed_dim:
            parts.append(f"kdim={self.kdim}, vdim={self.vdim}")
        if self.batch_first:
            parts.append("batch_first=True")
        return ", ".join(parts)


def _pad_last_axis(bias: Any) -> Any:
    """bias with one more column of 0 on its last axis (an array, or a Tensor that requires grad)."""
    if isinstance(bias, Tensor):
        return concatenate([bias, Tensor(np.zeros(bias.shape[:-1] + (1,), dtype=bias.dtype), device=bias.device)], axis=-1)
    return np.concatenate([bias, array_module(bias).zeros(bias.shape[:-1] + (1,), dtype=bias.dtype)], axis=-1)
