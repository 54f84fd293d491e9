"""Transformer layers as torch.nn's: TransformerEncoderLayer, TransformerDecoderLayer, and the stacks
TransformerEncoder and TransformerDecoder. Composites of MultiheadAttention, Linear, LayerNorm and
Dropout, with torch's constructors, submodule names (so `state_dict` keys match) and forward math.

An encoder layer is two residual blocks: self-attention, then a feed-forward network
(Linear, activation, dropout, Linear), each block's output through a dropout of its own. A decoder
layer has a third block between those two: attention from the target to the encoder's output (memory).
Where the LayerNorm goes is `norm_first`'s choice:

    post-norm (norm_first=False, the 2017 paper):  x = norm(x + block(x))
    pre-norm  (norm_first=True):                    x = x + block(norm(x))

torch's fast path and nested tensors change speed, not results; they are left out, and is_causal is
what torch calls it, a hint: the mask given is what is used.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from ..random import generator as random_generator
from ..tensor import Tensor
from .attention import MultiheadAttention
from .containers import ModuleList
from .dropout import Dropout
from .functional import ACTIVATIONS
from .layers import Linear, Rng
from .module import Module
from .normalization import LayerNorm

__all__ = ["TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder", "TransformerEncoderLayer"]


def _residual(x: Tensor, block: Callable[[Tensor], Tensor], norm: LayerNorm, norm_first: bool) -> Tensor:
    """One residual block, with its LayerNorm before the block (pre-norm) or after the sum (post-norm)."""
    return x + block(norm(x)) if norm_first else norm(x + block(x))


def _activation(activation: str | Callable[[Tensor], Tensor], where: str) -> Callable[[Tensor], Tensor]:
    """torch's two names ("relu", "gelu") as their functions; a callable (a function or a Module) as it is."""
    if isinstance(activation, str):
        if activation not in ("relu", "gelu"):  # torch's list: code that runs here runs there
            raise RuntimeError(f"{where}: activation should be relu/gelu, not {activation}")
        return cast(Callable[[Tensor], Tensor], ACTIVATIONS[activation])
    if not callable(activation):
        raise TypeError(f"{where}: activation must be 'relu', 'gelu' or a callable, got a {type(activation).__name__}")
    return activation


def _shared_generator(rng: Rng, where: str) -> np.random.Generator | None:
    """The one generator every sublayer initialises from and draws dropout masks from; None (each draws
    from the default generator, when it draws) where no rng is given, so that manual_seed still reaches it."""
    return None if rng is None else random_generator(rng, where)


def _as_tensor(x: Any, like: Tensor) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x), dtype=like.dtype)


def _feed_forward(layer: TransformerEncoderLayer | TransformerDecoderLayer, x: Tensor) -> Tensor:
    """The feed-forward block both layers share: linear2(dropout(activation(linear1(x))))."""
    return layer.linear2(layer.dropout(layer.activation(layer.linear1(x))))  # type: ignore[no-any-return]


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward network, each a residual block with dropout and a LayerNorm, as
    torch's `nn.TransformerEncoderLayer`.

    forward(src (S, N, E), or (N, S, E) with `batch_first`, or (S, E)) -> the same shape; `src_mask`
    ((S, S) or (N·nhead, S, S)) and `src_key_padding_mask` (N, S) as MultiheadAttention's attn_mask and
    key_padding_mask (boolean True: leave that key out; float: added to the scores). Submodules, in
    torch's order: self_attn, linear1 (E -> dim_feedforward), dropout, linear2, norm1, norm2, dropout1,
    dropout2. `rng` initialises them and then draws every dropout mask (None: the default generator).

    >>> layer = TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0, rng=0)
    >>> layer(Tensor(np.ones((3, 1, 4)))).shape, list(layer.state_dict())[:3]
    ((3, 1, 4), ['self_attn.in_proj_weight', 'self_attn.in_proj_bias', 'self_attn.out_proj.weight'])
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        rng: Rng = None,
        dtype: Any = np.float64,
    ) -> None:
        shared = _shared_generator(rng, type(self).__name__)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            rng=shared, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, rng=shared, dtype=dtype)
        self.dropout = Dropout(dropout, rng=shared)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, rng=shared, dtype=dtype)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=shared)
        self.dropout2 = Dropout(dropout, rng=shared)
        self.activation = _activation(activation, type(self).__name__)

    def forward(self, src: Any, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        """The layer's output, of src's shape. is_causal: torch's hint that src_mask is causal (it needs src_mask)."""
        def attend(x: Tensor) -> Tensor:
            out, _ = self.self_attn(x, x, x, attn_mask=src_mask, key_padding_mask=src_key_padding_mask,
                                    need_weights=False, is_causal=is_causal)
            return self.dropout1(out)  # type: ignore[no-any-return]

        x = _residual(_as_tensor(src, self.linear1.weight), attend, self.norm1, self.norm_first)
        return _residual(x, lambda y: self.dropout2(_feed_forward(self, y)), self.norm2, self.norm_first)


class TransformerDecoderLayer(Module):
    """Self-attention, attention to the encoder's output (memory) and a feed-forward network, each a
    residual block with dropout and a LayerNorm, as torch's `nn.TransformerDecoderLayer`.

    forward(tgt (T, N, E), memory (S, N, E); (N, ·, E) with `batch_first`, or unbatched) -> tgt's shape.
    tgt_mask (T, T) and tgt_key_padding_mask (N, T) mask the self-attention, memory_mask (T, S) and
    memory_key_padding_mask (N, S) the attention to memory, as MultiheadAttention's masks. Submodules, in
    torch's order: self_attn, multihead_attn, linear1, dropout, linear2, norm1, norm2, norm3, dropout1,
    dropout2, dropout3. `rng` initialises them and then draws every dropout mask.

    >>> layer = TransformerDecoderLayer(4, 2, dim_feedforward=8, dropout=0.0, rng=0)
    >>> layer(Tensor(np.ones((3, 1, 4))), Tensor(np.ones((5, 1, 4)))).shape
    (3, 1, 4)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        rng: Rng = None,
        dtype: Any = np.float64,
    ) -> None:
        shared = _shared_generator(rng, type(self).__name__)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            rng=shared, dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, rng=shared, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, rng=shared, dtype=dtype)
        self.dropout = Dropout(dropout, rng=shared)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, rng=shared, dtype=dtype)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=shared)
        self.dropout2 = Dropout(dropout, rng=shared)
        self.dropout3 = Dropout(dropout, rng=shared)
        self.activation = _activation(activation, type(self).__name__)

    def forward(
        self,
        tgt: Any,
        memory: Any,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """The layer's output, of tgt's shape; the *_is_causal flags are torch's hints (their masks are used)."""
        memory = _as_tensor(memory, self.linear1.weight)

        def attend_to_self(x: Tensor) -> Tensor:
            out, _ = self.self_attn(x, x, x, attn_mask=tgt_mask, key_padding_mask=tgt_key_padding_mask,
                                    need_weights=False, is_causal=tgt_is_causal)
            return self.dropout1(out)  # type: ignore[no-any-return]

        def attend_to_memory(x: Tensor) -> Tensor:
            out, _ = self.multihead_attn(x, memory, memory, attn_mask=memory_mask,
                                         key_padding_mask=memory_key_padding_mask, need_weights=False,
                                         is_causal=memory_is_causal)
            return self.dropout2(out)  # type: ignore[no-any-return]

        x = _residual(_as_tensor(tgt, self.linear1.weight), attend_to_self, self.norm1, self.norm_first)
        x = _residual(x, attend_to_memory, self.norm2, self.norm_first)
        return _residual(x, lambda y: self.dropout3(_feed_forward(self, y)), self.norm3, self.norm_first)


def _clones(layer: Module, num_layers: int, where: str) -> ModuleList:
    """num_layers deep copies of layer in a ModuleList, as torch's: equal parameters, each its own. The
    generators the layer draws dropout masks from are shared, not copied, so that the copies draw
    different masks from one stream (as torch's draw from its one global generator)."""
    if isinstance(num_layers, bool) or not isinstance(num_layers, numbers.Integral) or num_layers < 1:
        raise ValueError(f"{where}: num_layers must be a positive integer, got {num_layers!r}")
    if not isinstance(layer, Module):
        raise TypeError(f"{where}: expected a layer (a Module) to copy, got a {type(layer).__name__}")
    generators = {id(g): g for m in layer.modules() for g in vars(m).values() if isinstance(g, np.random.Generator)}
    return ModuleList([copy.deepcopy(layer, dict(generators)) for _ in range(int(num_layers))])


class TransformerEncoder(Module):
    """num_layers copies of an encoder layer applied in turn, then `norm` (if given), as torch's
    `nn.TransformerEncoder`. The copies start with equal parameters, as torch's do; they are
    `layers` (a ModuleList), so state_dict keys are torch's ("layers.0.linear1.weight", ...).
    `enable_nested_tensor` and `mask_check` are accepted for code written for torch; they choose
    torch's fast path, which gives the same numbers.

    >>> encoder = TransformerEncoder(TransformerEncoderLayer(4, 2, dim_feedforward=8, rng=0), num_layers=2)
    >>> encoder(Tensor(np.ones((3, 1, 4)))).shape, len(encoder.layers)
    ((3, 1, 4), 2)
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        self.layers = _clones(encoder_layer, num_layers, type(self).__name__)
        self.num_layers = int(num_layers)
        self.norm = norm

    def forward(self, src: Any, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool | None = None) -> Tensor:
        """src through every layer with the same masks, then through norm."""
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                           is_causal=is_causal is True)
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """num_layers copies of a decoder layer applied in turn, each attending to the same memory, then
    `norm` (if given), as torch's `nn.TransformerDecoder`; the copies are `layers`, as in TransformerEncoder.

    >>> decoder = TransformerDecoder(TransformerDecoderLayer(4, 2, dim_feedforward=8, rng=0), num_layers=2)
    >>> decoder(Tensor(np.ones((3, 1, 4))), Tensor(np.ones((5, 1, 4)))).shape
    (3, 1, 4)
    """

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        self.layers = _clones(decoder_layer, num_layers, type(self).__name__)
        self.num_layers = int(num_layers)
        self.norm = norm

    def forward(
        self,
        tgt: Any,
        memory: Any,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """tgt through every layer, each attending to memory with the same masks, then through norm."""
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=tgt_is_causal is True, memory_is_causal=memory_is_causal)
        return output if self.norm is None else self.norm(output)
