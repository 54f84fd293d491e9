"""TransformerEncoder(Layer) and TransformerDecoder(Layer): against a loop written from the formulas,
gradcheck, torch (weights moved both ways), and seeded dropout."""

from __future__ import annotations

import copy
import functools
import math
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn

from .numeric import assert_close

E, H, FF = 4, 2, 6  # d_model, nhead, dim_feedforward


def _causal(n: int) -> np.ndarray:
    """True above the diagonal: position i leaves out the keys after it."""
    return np.triu(np.ones((n, n), dtype=bool), k=1)


def _padding(batch: int, length: int) -> np.ndarray:
    """True on the last positions of some sequences (never on the first, so every query has a key)."""
    mask = np.zeros((batch, length), dtype=bool)
    mask[0, -2:] = True
    mask[-1, -1] = True
    return mask


def _as_float(mask: np.ndarray) -> np.ndarray:
    return np.where(mask, -np.inf, 0.0)


def _randomise(parameters: Any, rng: np.random.Generator) -> None:
    """Every parameter drawn anew (the layers of a stack start equal; this makes them differ)."""
    for p in parameters:
        p.data[...] = rng.normal(size=p.shape) * 0.5 + (1.0 if p.ndim == 1 and p.shape == (E,) else 0.0)


# --------------------------------------------------------------------------- one layer by its formula


def _layer_norm(v: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    mean = sum(v) / len(v)
    var = sum((x - mean) ** 2 for x in v) / len(v)
    return np.array([(x - mean) / math.sqrt(var + eps) for x in v]) * w + b


def _loop_self_attention(xs: np.ndarray, p: dict[str, np.ndarray], left_out: np.ndarray) -> np.ndarray:
    """xs (S, E): per head and query, softmax over the keys not left out of q·k/√d, times the values."""
    S, d = xs.shape[0], E // H
    w, b = p["self_attn.in_proj_weight"], p["self_attn.in_proj_bias"]
    q, k, v = (xs @ w[i * E:(i + 1) * E].T + b[i * E:(i + 1) * E] for i in range(3))
    heads = np.zeros((S, E))
    for h in range(H):
        cols = slice(h * d, (h + 1) * d)
        for i in range(S):
            keys = [j for j in range(S) if not left_out[i, j]]
            scores = {j: sum(q[i, cols] * k[j, cols]) / math.sqrt(d) for j in keys}
            top = max(scores.values())
            total = sum(math.exp(s - top) for s in scores.values())
            for j in keys:
                heads[i, cols] += math.exp(scores[j] - top) / total * v[j, cols]
    return heads @ p["self_attn.out_proj.weight"].T + p["self_attn.out_proj.bias"]


def _loop_encoder_layer(x: np.ndarray, p: dict[str, np.ndarray], norm_first: bool, activation: str,
                        causal: np.ndarray, padding: np.ndarray) -> np.ndarray:
    """One encoder layer, sequence by sequence, x (S, N, E): post-norm x = norm(x + block(x)),
    pre-norm x = x + block(norm(x)), for the self-attention block and then the feed-forward one."""
    act = {"relu": lambda z: max(z, 0.0), "gelu": lambda z: z / 2 * (1 + math.erf(z / math.sqrt(2)))}[activation]

    def norm(k: int, xs: np.ndarray) -> np.ndarray:
        return np.array([_layer_norm(row, p[f"norm{k}.weight"], p[f"norm{k}.bias"]) for row in xs])

    def feed_forward(xs: np.ndarray) -> np.ndarray:
        hidden = np.vectorize(act)(xs @ p["linear1.weight"].T + p["linear1.bias"])
        return hidden @ p["linear2.weight"].T + p["linear2.bias"]

    out = np.zeros_like(x)
    for n in range(x.shape[1]):
        left_out = causal | padding[n][None, :]
        attend = functools.partial(_loop_self_attention, p=p, left_out=left_out)
        xs = x[:, n]
        for k, block in ((1, attend), (2, feed_forward)):
            xs = xs + block(norm(k, xs)) if norm_first else norm(k, xs + block(xs))
        out[:, n] = xs
    return out


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_the_loop(norm_first: bool, activation: str) -> None:
    rng = np.random.default_rng(1)
    layer = nn.TransformerEncoderLayer(E, H, FF, dropout=0.5, activation=activation, norm_first=norm_first, rng=2)
    _randomise(layer.parameters(), rng)
    layer.eval()  # dropout off
    x, causal, padding = rng.normal(size=(5, 3, E)), _causal(5), _padding(3, 5)
    out = layer(Tensor(x), src_mask=causal, src_key_padding_mask=padding)
    expected = _loop_encoder_layer(x, layer.state_dict(), norm_first, activation, causal, padding)
    assert_close(out.data, expected, f"{activation}, norm_first={norm_first}", atol=1e-12, rtol=1e-12)


def test_the_stack_is_its_layers_in_turn_then_norm() -> None:
    rng = np.random.default_rng(3)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, rng=0), 3, norm=nn.LayerNorm(E))
    _randomise(encoder.parameters(), rng)
    x, causal = rng.normal(size=(4, 2, E)), _causal(4)
    expected = x
    for k in range(3):
        expected = _loop_encoder_layer(expected, encoder.layers[k].state_dict(), False, "relu", causal, np.zeros((2, 4), bool))
    expected = np.array([[_layer_norm(row, encoder.norm.weight.data, encoder.norm.bias.data) for row in seq] for seq in expected])
    assert_close(encoder(Tensor(x), mask=causal).data, expected, "three layers and a norm", atol=1e-12, rtol=1e-12)


def test_the_stack_copies_the_layer() -> None:
    layer = nn.TransformerEncoderLayer(E, H, FF, rng=0)
    encoder = nn.TransformerEncoder(layer, 2)
    first, second = encoder.layers[0], encoder.layers[1]
    assert first is not layer and first is not second and first.linear1.weight is not second.linear1.weight
    np.testing.assert_array_equal(first.linear1.weight.data, layer.linear1.weight.data)  # equal, as torch's
    first.linear1.weight.data[...] = 0.0
    assert second.linear1.weight.data.any() and layer.linear1.weight.data.any()


# --------------------------------------------------------------------------- gradcheck


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_gradcheck(norm_first: bool) -> None:
    rng = np.random.default_rng(4)
    layer = nn.TransformerEncoderLayer(E, H, 3, dropout=0.0, activation="gelu", norm_first=norm_first, rng=0)
    encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(E))
    _randomise(encoder.parameters(), rng)
    x, causal = Tensor(rng.normal(size=(3, 2, E)), requires_grad=True), _causal(3)
    weights = Tensor(rng.normal(size=(3, 2, E)))
    loss = lambda x: (encoder(x, mask=causal, src_key_padding_mask=_padding(2, 3)) * weights).sum()
    assert tg.gradcheck(loss, [x])
    assert tg.gradcheck(lambda *parameters: loss(x.detach()), encoder.parameters())  # (read by the layers)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_gradcheck(norm_first: bool) -> None:
    rng = np.random.default_rng(5)
    decoder = nn.TransformerDecoderLayer(E, H, 3, dropout=0.0, activation="gelu", norm_first=norm_first, rng=0)
    _randomise(decoder.parameters(), rng)
    tgt, memory = (Tensor(rng.normal(size=shape), requires_grad=True) for shape in ((3, 2, E), (4, 2, E)))
    weights = Tensor(rng.normal(size=(3, 2, E)))
    assert tg.gradcheck(lambda t, m: (decoder(t, m, tgt_mask=_causal(3), memory_key_padding_mask=_padding(2, 4))
                                      * weights).sum(), [tgt, memory])
    assert tg.gradcheck(lambda *parameters: (decoder(tgt.detach(), memory.detach(), tgt_mask=_causal(3)) * weights).sum(),
                        decoder.parameters())  # (read by the layer)


# --------------------------------------------------------------------------- dropout


def test_dropout_follows_rng_and_training() -> None:
    x = Tensor(np.random.default_rng(6).normal(size=(5, 2, E)))

    def encoder(rng: Any) -> nn.TransformerEncoder:
        return nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF, dropout=0.5, rng=rng), 2)

    a, b = encoder(3), encoder(3)
    first = a(x).data
    np.testing.assert_array_equal(first, b(x).data)  # the same seed: the same masks
    assert not np.array_equal(first, a(x).data)  # a new draw each call
    eval_out = a.eval()(x).data
    np.testing.assert_array_equal(eval_out, a(x).data)  # eval: no dropout
    assert not np.allclose(first, eval_out)
    plain = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, rng=3), 2)
    np.testing.assert_array_equal(eval_out, plain(x).data)  # the dropout rate changes no initial weight


# each dropout of a layer, and the weights whose zeroing does what that dropout does at p = 1
DROPOUT_PLACES = {
    "encoder": {"dropout1": ["self_attn.out_proj.weight", "self_attn.out_proj.bias"], "dropout": ["linear2.weight"],
                "dropout2": ["linear2.weight", "linear2.bias"], "self_attn": ["self_attn.out_proj.weight"]},
    "decoder": {"dropout1": ["self_attn.out_proj.weight", "self_attn.out_proj.bias"],
                "dropout2": ["multihead_attn.out_proj.weight", "multihead_attn.out_proj.bias"],
                "dropout": ["linear2.weight"], "dropout3": ["linear2.weight", "linear2.bias"],
                "self_attn": ["self_attn.out_proj.weight"], "multihead_attn": ["multihead_attn.out_proj.weight"]},
}


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize(("kind", "place"), [(k, p) for k in DROPOUT_PLACES for p in DROPOUT_PLACES[k]])
def test_each_dropout_sits_where_torch_puts_it(kind: str, place: str, norm_first: bool) -> None:
    """One dropout at p = 1, the others at 0: the output of the same layer with what that dropout
    follows zeroed instead (a block's output, the hidden layer of the feed-forward, attention weights)."""
    rng = np.random.default_rng(16)
    make = nn.TransformerEncoderLayer if kind == "encoder" else nn.TransformerDecoderLayer
    layer = make(E, H, FF, dropout=0.0, norm_first=norm_first, rng=0)
    _randomise(layer.parameters(), rng)
    reference = copy.deepcopy(layer)
    for name in DROPOUT_PLACES[kind][place]:
        reference.get_parameter(name).data[...] = 0.0
    module = getattr(layer, place)
    setattr(module, "dropout" if isinstance(module, nn.MultiheadAttention) else "p", 1.0)
    inputs = [Tensor(rng.normal(size=(3, 2, E)))] + ([] if kind == "encoder" else [Tensor(rng.normal(size=(4, 2, E)))])
    assert_close(layer(*inputs).data, reference(*inputs).data, f"{place} of the {kind}", atol=1e-12, rtol=1e-12)


def test_the_copies_draw_different_masks() -> None:
    """The layers of a stack start equal; in training their masks differ (one stream, as torch's)."""
    x = Tensor(np.random.default_rng(7).normal(size=(5, 2, E)))
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF, dropout=0.5, rng=4), 2)
    assert not np.array_equal(encoder.layers[0](x).data, encoder.layers[1](x).data)
    encoder.eval()
    np.testing.assert_array_equal(encoder.layers[0](x).data, encoder.layers[1](x).data)


def test_manual_seed_reaches_layers_made_without_rng() -> None:
    x, memory = Tensor(np.ones((3, 1, E))), Tensor(np.ones((4, 1, E)))
    outs = []
    for _ in range(2):
        tg.manual_seed(11)
        encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF, dropout=0.5), 2)
        decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, FF, dropout=0.5), 2)
        outs.append((encoder(x).data, decoder(x, memory).data))
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


def test_decoder_dropout_follows_rng() -> None:
    rng = np.random.default_rng(8)
    tgt, memory = Tensor(rng.normal(size=(2, 3, E))), Tensor(rng.normal(size=(2, 5, E)))
    a, b = (nn.TransformerDecoderLayer(E, H, FF, dropout=0.3, batch_first=True, rng=5) for _ in range(2))
    np.testing.assert_array_equal(a(tgt, memory).data, b(tgt, memory).data)
    assert not np.array_equal(a(tgt, memory).data, a.eval()(tgt, memory).data)


# --------------------------------------------------------------------------- errors


def test_errors_say_what_is_wrong() -> None:
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(E, H, activation="tanh")
    with pytest.raises(ValueError, match="embed_dim .5. must be a positive multiple of num_heads .2."):
        nn.TransformerDecoderLayer(5, 2)
    with pytest.raises(ValueError, match="num_layers must be a positive integer, got 0"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H), 0)
    with pytest.raises(RuntimeError, match="is_causal is a hint"):
        nn.TransformerEncoderLayer(E, H)(Tensor(np.ones((3, 1, E))), is_causal=True)


# --------------------------------------------------------------------------- against torch


def _torch_parity(ours: nn.Module, theirs: Any, arrays: list[np.ndarray], masks: dict[str, Any], seed: int) -> None:
    """torch's parameters loaded into ours and ours into torch: the same output, input gradients and
    every parameter gradient, to 1e-10 (float64 on both sides)."""
    import torch

    rng = np.random.default_rng(seed)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    torch_masks = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in masks.items()}
    for direction in ("torch into ours", "ours into torch"):
        if direction == "torch into ours":
            with torch.no_grad():
                for p in theirs.parameters():
                    p.copy_(torch.tensor(rng.normal(size=tuple(p.shape)) * 0.5 + 0.2))
            ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        else:
            _randomise(ours.parameters(), rng)
            theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
        ours.zero_grad()
        theirs.zero_grad()
        tensors = [Tensor(a, requires_grad=True) for a in arrays]
        torch_tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        out, expected = ours(*tensors, **masks), theirs(*torch_tensors, **torch_masks)
        assert_close(out.data, expected.detach().numpy(), f"output, {direction}", atol=1e-10, rtol=1e-10)
        cotangent = rng.normal(size=out.shape)
        (out * Tensor(cotangent)).sum().backward()
        (expected * torch.tensor(cotangent)).sum().backward()
        torch_params = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            assert_close(p.grad, torch_params[name].grad.numpy(), f"d{name}, {direction}", atol=1e-10, rtol=1e-10)
        for k, (t, tt) in enumerate(zip(tensors, torch_tensors)):
            assert_close(t.grad, tt.grad.numpy(), f"d input {k}, {direction}", atol=1e-10, rtol=1e-10)


def _torch() -> Any:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("float_masks", [False, True])
def test_encoder_matches_torch_both_ways(norm_first: bool, batch_first: bool, activation: str, float_masks: bool) -> None:
    torch = _torch()
    S, N = 5, 3
    options: dict[str, Any] = {"dim_feedforward": FF, "dropout": 0.0, "activation": activation, "batch_first": batch_first,
               "norm_first": norm_first}
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, rng=0, **options), 2, norm=nn.LayerNorm(E))
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(E, H, dtype=torch.float64, **options), 2,
        norm=torch.nn.LayerNorm(E, dtype=torch.float64), enable_nested_tensor=False,
    )
    causal, padding = _causal(S), _padding(N, S)
    if float_masks:
        causal, padding = _as_float(causal), _as_float(padding)
    x = np.random.default_rng(9).normal(size=(N, S, E) if batch_first else (S, N, E))
    _torch_parity(ours, theirs, [x], {"mask": causal, "src_key_padding_mask": padding}, seed=10)


def test_unbatched_encoder_layer_and_callable_activation_match_torch() -> None:
    torch = _torch()
    S = 4
    ours = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, activation=nn.GELU("tanh"), norm_first=True, rng=0)
    theirs = torch.nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, activation=torch.nn.GELU(approximate="tanh"),
                                              norm_first=True, dtype=torch.float64)
    x = np.random.default_rng(11).normal(size=(S, E))
    padding = np.array([False, False, False, True])
    _torch_parity(ours, theirs, [x], {"src_mask": _causal(S), "src_key_padding_mask": padding}, seed=12)
    plain = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, activation=nn.functional.silu, rng=0)
    theirs_plain = torch.nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, activation=torch.nn.functional.silu,
                                                    dtype=torch.float64)
    _torch_parity(plain, theirs_plain, [x], {"src_mask": _causal(S)}, seed=13)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_decoder_matches_torch_both_ways(norm_first: bool, batch_first: bool, activation: str) -> None:
    torch = _torch()
    T, S, N = 4, 5, 3
    options: dict[str, Any] = {"dim_feedforward": FF, "dropout": 0.0, "activation": activation, "batch_first": batch_first,
               "norm_first": norm_first}
    ours = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, rng=0, **options), 2, norm=nn.LayerNorm(E))
    theirs = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(E, H, dtype=torch.float64, **options), 2,
                                         norm=torch.nn.LayerNorm(E, dtype=torch.float64))
    rng = np.random.default_rng(14)
    tgt, memory = (rng.normal(size=(N, n, E) if batch_first else (n, N, E)) for n in (T, S))
    memory_mask = np.zeros((T, S), dtype=bool)
    memory_mask[0, 1] = True  # one query leaves out one more key of the memory
    masks = {"tgt_mask": _causal(T), "memory_mask": memory_mask, "tgt_key_padding_mask": _padding(N, T),
             "memory_key_padding_mask": _padding(N, S)}
    _torch_parity(ours, theirs, [tgt, memory], masks, seed=15)
