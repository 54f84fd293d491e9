"""scaled_dot_product_attention and MultiheadAttention: against a per-row loop, gradcheck, and torch."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.nn import Module, MultiheadAttention
from tinygrad_edu.nn.functional import scaled_dot_product_attention as sdpa

from .numeric import assert_close

# --------------------------------------------------------------------------- the per-row loop


def loop_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, allowed: Any = None, added: Any = None,
                   scale: float | None = None) -> np.ndarray:
    """Attention by its definition, one query row at a time with math.exp: for query i, the softmax over
    the allowed keys j of q_i·k_j·scale (+ added[i, j]), then the weighted sum of the values."""
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    L, S, E = q.shape[-2], k.shape[-2], q.shape[-1]
    scale = 1 / math.sqrt(E) if scale is None else scale
    q, k, v = (np.broadcast_to(a, batch + a.shape[-2:]) for a in (q, k, v))
    allowed = np.broadcast_to(np.ones((L, S), bool) if allowed is None else allowed, batch + (L, S))
    added = np.broadcast_to(np.zeros((L, S)) if added is None else added, batch + (L, S))
    out = np.zeros(batch + (L, v.shape[-1]))
    for b in itertools.product(*map(range, batch)):
        for i in range(L):
            keys = [j for j in range(S) if allowed[b][i, j]]
            if not keys:
                continue  # nothing to attend to: zeros
            scores = {j: sum(q[b][i, e] * k[b][j, e] for e in range(E)) * scale + added[b][i, j] for j in keys}
            top = max(scores.values())
            total = sum(math.exp(s - top) for s in scores.values())
            for j in keys:
                out[b][i] += math.exp(scores[j] - top) / total * v[b][j]
    return out


def _qkv(rng: np.random.Generator, batch: tuple[int, ...], L: int, S: int, E: int, Ev: int) -> list[np.ndarray]:
    return [rng.normal(size=batch + (L, E)), rng.normal(size=batch + (S, E)), rng.normal(size=batch + (S, Ev))]


# --------------------------------------------------------------------------- scaled_dot_product_attention


def test_sdpa_matches_the_loop_with_each_kind_of_mask() -> None:
    rng = np.random.default_rng(0)
    q, k, v = _qkv(rng, (2,), 3, 5, 4, 3)
    tq, tk, tv = map(Tensor, (q, k, v))
    assert_close(sdpa(tq, tk, tv).data, loop_attention(q, k, v), "no mask", atol=1e-12)
    assert_close(sdpa(tq, tk, tv, scale=0.3).data, loop_attention(q, k, v, scale=0.3), "scale", atol=1e-12)
    allowed = rng.random((3, 5)) > 0.4
    allowed[:, 0] = True
    assert_close(sdpa(tq, tk, tv, attn_mask=allowed).data, loop_attention(q, k, v, allowed), "bool mask", atol=1e-12)
    added = rng.normal(size=(2, 1, 5))  # broadcasts over the queries
    assert_close(sdpa(tq, tk, tv, attn_mask=added).data, loop_attention(q, k, v, added=added), "float mask", atol=1e-12)
    causal = np.tril(np.ones((3, 5), bool))  # top-left aligned, as torch
    assert_close(sdpa(tq, tk, tv, is_causal=True).data, loop_attention(q, k, v, causal), "causal", atol=1e-12)


def test_sdpa_broadcasts_batch_axes() -> None:
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(2, 1, 3, 4)), rng.normal(size=(3, 5, 4)), rng.normal(size=(1, 1, 5, 2))
    out = sdpa(Tensor(q), Tensor(k), Tensor(v))
    assert out.shape == (2, 3, 3, 2)
    assert_close(out.data, loop_attention(q, k, v), "broadcast batch", atol=1e-12)
    assert sdpa(Tensor(q[0, 0]), Tensor(k[0]), Tensor(v[0, 0])).shape == (3, 2)  # no batch axes at all


def test_a_query_with_nowhere_to_look_gives_zeros_and_zero_gradients() -> None:
    """As torch's safe softmax (2.5 and later): a fully masked row is 0, not nan; its gradients are 0."""
    rng = np.random.default_rng(2)
    q, k, v = (Tensor(a, requires_grad=True) for a in _qkv(rng, (), 3, 4, 2, 2))
    allowed = np.ones((3, 4), bool)
    allowed[1] = False
    for mask in (allowed, np.where(allowed, 0.0, -np.inf)):
        out = sdpa(q, k, v, attn_mask=mask)
        assert np.array_equal(out.data[1], [0.0, 0.0]) and np.isfinite(out.data).all()
        q.grad = None
        out.sum().backward()
        assert np.array_equal(q.grad[1], [0.0, 0.0]) and np.isfinite(k.grad).all()


def test_sdpa_gradcheck_with_a_causal_mask() -> None:
    rng = np.random.default_rng(3)
    q, k, v = (Tensor(a, requires_grad=True) for a in _qkv(rng, (2,), 3, 3, 2, 2))
    assert tg.gradcheck(lambda q, k, v: sdpa(q, k, v, is_causal=True), [q, k, v])
    mask = Tensor(rng.normal(size=(3, 3)), requires_grad=True)  # a float mask is differentiable too
    assert tg.gradcheck(lambda q, m: sdpa(q, k, v, attn_mask=m), [q, mask])
    assert tg.gradgradcheck(lambda q, k, v: sdpa(q, k, v, is_causal=True), [q, k, v])


def test_sdpa_keeps_float32() -> None:
    rng = np.random.default_rng(4)
    q, k, v = (Tensor(a.astype(np.float32), requires_grad=True) for a in _qkv(rng, (2,), 3, 4, 2, 2))
    out = sdpa(q, k, v, attn_mask=rng.random((3, 4)) > 0.5, dropout_p=0.1, rng=0)
    assert out.dtype == np.float32
    out.sum().backward()
    assert q.grad.dtype == k.grad.dtype == v.grad.dtype == np.float32
    assert sdpa(q, k, v, is_causal=True).dtype == np.float32


def test_sdpa_dropout_is_repeatable_with_rng() -> None:
    rng = np.random.default_rng(5)
    q, k, v = map(Tensor, _qkv(rng, (2,), 4, 6, 3, 8))
    a, b = sdpa(q, k, v, dropout_p=0.5, rng=7), sdpa(q, k, v, dropout_p=0.5, rng=7)
    assert np.array_equal(a.data, b.data)
    assert not np.array_equal(a.data, sdpa(q, k, v, dropout_p=0.5, rng=8).data)
    assert np.array_equal(sdpa(q, k, v, dropout_p=0.0, rng=7).data, sdpa(q, k, v).data)
    # the same dropped weights by hand: keep where U >= p, scale the kept by 1 / (1 - p)
    keep = np.random.default_rng(7).random((2, 4, 6)) >= 0.5
    weights = np.exp(q.data @ k.data.swapaxes(-1, -2) / math.sqrt(3))
    weights /= weights.sum(-1, keepdims=True)
    assert_close(a.data, (weights * keep / 0.5) @ v.data, "dropout by hand", atol=1e-12)
    assert np.array_equal(sdpa(q, k, v, dropout_p=1.0, rng=0).data, np.zeros((2, 4, 8)))


def test_sdpa_errors_name_the_shapes() -> None:
    q, k, v = Tensor(np.zeros((2, 3, 4))), Tensor(np.zeros((2, 5, 4))), Tensor(np.zeros((2, 5, 6)))
    with pytest.raises(RuntimeError, match=r"the mask of shape \(4, 5\) does not broadcast to the attention scores' "
                                           r"shape \(2, 3, 5\)"):
        sdpa(q, k, v, attn_mask=np.ones((4, 5), bool))
    with pytest.raises(RuntimeError, match="an explicit attn_mask should not be given with is_causal=True"):
        sdpa(q, k, v, attn_mask=np.ones((3, 5), bool), is_causal=True)
    with pytest.raises(TypeError, match="attn_mask must be boolean or floating point, got dtype int64"):
        sdpa(q, k, v, attn_mask=np.ones((3, 5), np.int64))
    with pytest.raises(RuntimeError, match=r"the same E in query and key.*\(2, 3, 4\), \(2, 5, 3\) and \(2, 5, 6\)"):
        sdpa(q, Tensor(np.zeros((2, 5, 3))), v)
    with pytest.raises(RuntimeError, match=r"same S in key and value.*\(2, 5, 4\) and \(2, 4, 6\)"):
        sdpa(q, k, Tensor(np.zeros((2, 4, 6))))
    with pytest.raises(RuntimeError, match=r"need at least 2 dimensions.*got shapes \(4,\), \(4,\) and \(4,\)"):
        sdpa(Tensor(np.zeros(4)), Tensor(np.zeros(4)), Tensor(np.zeros(4)))
    with pytest.raises(RuntimeError, match=r"batch\) axes of query \(2, 3, 4\), key \(3, 5, 4\) .* do not broadcast"):
        sdpa(q, Tensor(np.zeros((3, 5, 4))), v)
    with pytest.raises(ValueError, match="dropout_p must be between 0 and 1, got 1.5"):
        sdpa(q, k, v, dropout_p=1.5)


def test_sdpa_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    F = torch.nn.functional
    rng = np.random.default_rng(6)
    shapes = [((2,), (2,), (2,), 3, 5), ((2, 1), (3,), (1,), 4, 4), ((), (), (), 3, 2)]
    for (bq, bk, bv, L, S), mask_kind, scale in itertools.product(
            shapes, ["none", "bool", "float", "float-grad", "causal", "empty-row"], [None, 0.7]):
        q, k, v = rng.normal(size=bq + (L, 3)), rng.normal(size=bk + (S, 3)), rng.normal(size=bv + (S, 2))
        ours: dict[str, Any] = {}
        theirs: dict[str, Any] = {}
        if mask_kind in ("bool", "empty-row"):
            allowed = rng.random((L, S)) > 0.4
            allowed[:, 0] = True
            if mask_kind == "empty-row":
                allowed[1] = False
            ours["attn_mask"], theirs["attn_mask"] = allowed, torch.tensor(allowed)
        elif mask_kind in ("float", "float-grad"):
            added = rng.normal(size=(L, S))
            grad = mask_kind == "float-grad"
            ours["attn_mask"] = Tensor(added, requires_grad=True) if grad else added
            theirs["attn_mask"] = torch.tensor(added, requires_grad=grad)
        elif mask_kind == "causal":
            ours["is_causal"] = theirs["is_causal"] = True
        tensors = [Tensor(a, requires_grad=True) for a in (q, k, v)]
        torch_tensors = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        out = sdpa(*tensors, scale=scale, **ours)
        expected = F.scaled_dot_product_attention(*torch_tensors, scale=scale, **theirs)
        what = f"{bq} {bk} {bv} L={L} S={S} {mask_kind} scale={scale}"
        assert_close(out.data, expected.detach().numpy(), what, atol=1e-8, rtol=1e-8)
        cotangent = rng.normal(size=out.shape)
        out.backward(cotangent)
        expected.backward(torch.tensor(cotangent))
        for name, t, tt in zip("qkv", tensors, torch_tensors):
            assert_close(t.grad, tt.grad.numpy(), f"d{name} {what}", atol=1e-8, rtol=1e-8)
        if mask_kind == "float-grad":
            assert_close(ours["attn_mask"].grad, theirs["attn_mask"].grad.numpy(), "dmask " + what, atol=1e-8)


# --------------------------------------------------------------------------- MultiheadAttention


def test_mha_parameters_and_initialisation() -> None:
    mha = MultiheadAttention(8, 2, rng=0)
    assert [(n, p.shape) for n, p in mha.named_parameters()] == [
        ("in_proj_weight", (24, 8)), ("in_proj_bias", (24,)), ("out_proj.weight", (8, 8)), ("out_proj.bias", (8,))]
    assert np.abs(mha.in_proj_weight.data).max() <= math.sqrt(6 / (8 + 24))  # xavier_uniform
    assert np.abs(mha.in_proj_weight.data).max() > 0.8 * math.sqrt(6 / (8 + 24))
    assert np.abs(mha.out_proj.weight.data).max() <= 1 / math.sqrt(8)  # a Linear's
    assert not mha.in_proj_bias.data.any() and not mha.out_proj.bias.data.any()
    assert np.array_equal(MultiheadAttention(8, 2, rng=0).in_proj_weight.data, mha.in_proj_weight.data)
    names = [n for n, _ in MultiheadAttention(8, 2, bias=False, add_bias_kv=True, kdim=3, vdim=5).named_parameters()]
    assert names == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k", "bias_v", "out_proj.weight"]
    assert MultiheadAttention(4, 2, dtype=np.float32).in_proj_weight.dtype == np.float32


def _loop_mha(mha: MultiheadAttention, x: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Self-attention of x (L, E) through mha's weights, head by head, with the per-row loop."""
    w, b = mha.in_proj_weight.data, mha.in_proj_bias.data
    E, H = mha.embed_dim, mha.num_heads
    q, k, v = (x @ w[i * E:(i + 1) * E].T + b[i * E:(i + 1) * E] for i in range(3))
    hd = E // H
    heads = [loop_attention(q[:, h * hd:(h + 1) * hd], k[:, h * hd:(h + 1) * hd], v[:, h * hd:(h + 1) * hd], allowed)
             for h in range(H)]
    return np.concatenate(heads, axis=-1) @ mha.out_proj.weight.data.T + mha.out_proj.bias.data


def test_mha_matches_a_head_by_head_loop() -> None:
    rng = np.random.default_rng(7)
    mha = MultiheadAttention(4, 2, rng=1)
    mha.in_proj_bias.data[...] = rng.normal(size=12)
    mha.out_proj.bias.data[...] = rng.normal(size=4)
    x = rng.normal(size=(3, 4))
    leave_out = np.triu(np.ones((3, 3), bool), k=1)  # MultiheadAttention's boolean masks: True = left out
    out, weights = mha(Tensor(x), Tensor(x), Tensor(x), attn_mask=leave_out)
    assert_close(out.data, _loop_mha(mha, x, ~leave_out), "unbatched self-attention", atol=1e-12)
    assert weights.shape == (3, 3) and np.allclose(weights.data.sum(-1), 1) and not np.triu(weights.data, 1).any()
    batched, _ = mha(Tensor(x[:, None]), Tensor(x[:, None]), Tensor(x[:, None]), attn_mask=leave_out)
    assert_close(batched.data[:, 0], out.data, "a batch of one", atol=1e-12)


def test_mha_batch_first_is_the_transpose() -> None:
    rng = np.random.default_rng(8)
    first, second = MultiheadAttention(4, 2, rng=2, batch_first=True), MultiheadAttention(4, 2, rng=2)
    q, kv = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    a, wa = first(Tensor(q), Tensor(kv), Tensor(kv), key_padding_mask=np.array([[0, 0, 0, 1, 1], [0] * 5], bool))
    b, wb = second(Tensor(q.transpose(1, 0, 2)), Tensor(kv.transpose(1, 0, 2)), Tensor(kv.transpose(1, 0, 2)),
                   key_padding_mask=np.array([[0, 0, 0, 1, 1], [0] * 5], bool))
    assert_close(a.data, b.data.transpose(1, 0, 2), "batch_first", atol=1e-12)
    assert_close(wa.data, wb.data, "weights", atol=1e-12)
    assert wa.shape == (2, 3, 5) and not wa.data[0, :, 3:].any()


def test_mha_dropout_follows_rng_and_training() -> None:
    rng = np.random.default_rng(9)
    x = Tensor(rng.normal(size=(4, 2, 8)))
    a, b = MultiheadAttention(8, 2, dropout=0.5, rng=3), MultiheadAttention(8, 2, dropout=0.5, rng=3)
    assert np.array_equal(a(x, x, x)[0].data, b(x, x, x)[0].data)
    plain = MultiheadAttention(8, 2, rng=3)
    assert not np.allclose(a(x, x, x)[0].data, plain(x, x, x)[0].data)
    a.eval()
    assert np.array_equal(a(x, x, x)[0].data, plain(x, x, x)[0].data)


class _SelfAttention(Module):
    """mha(x, x, x) with a causal mask: a model of one input for check_module_grads."""

    def __init__(self, mha: MultiheadAttention) -> None:
        self.mha = mha

    def forward(self, x: Tensor) -> Tensor:
        mask = np.triu(np.ones((x.shape[0], x.shape[0]), bool), k=1)
        out, _ = self.mha(x, x, x, attn_mask=mask)
        return out  # type: ignore[no-any-return]


def test_mha_gradcheck() -> None:
    rng = np.random.default_rng(10)
    model = _SelfAttention(MultiheadAttention(4, 2, rng=4, add_bias_kv=True, add_zero_attn=True))
    for p in model.parameters():
        p.data[...] = rng.normal(size=p.shape) * 0.5
    assert tg.check_module_grads(model, lambda out: (out * out).sum(), Tensor(rng.normal(size=(3, 2, 4))))


def test_mha_errors_name_the_shapes() -> None:
    mha = MultiheadAttention(4, 2)
    x = Tensor(np.zeros((3, 2, 4)))
    with pytest.raises(ValueError, match=r"embed_dim \(5\) must be a positive multiple of num_heads \(2\)"):
        MultiheadAttention(5, 2)
    with pytest.raises(RuntimeError, match="is_causal is a hint that attn_mask is the causal mask; give attn_mask too"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match=r"attn_mask has shape \(2, 3\); expected \(L, S\) = \(3, 3\) or "
                                           r"\(N·num_heads, L, S\) = \(4, 3, 3\)"):
        mha(x, x, x, attn_mask=np.zeros((2, 3), bool))
    with pytest.raises(RuntimeError, match=r"key_padding_mask has shape \(3, 3\), expected \(N, S\) = \(2, 3\)"):
        mha(x, x, x, key_padding_mask=np.zeros((3, 3), bool))
    with pytest.raises(RuntimeError, match=r"expected 4, 4 and 4 features .* value \(3, 2, 5\)"):
        mha(x, x, Tensor(np.zeros((3, 2, 5))))
    with pytest.raises(RuntimeError, match=r"same sequence length and batch size.*key \(3, 2, 4\), value \(4, 2, 4\)"):
        mha(x, x, Tensor(np.zeros((4, 2, 4))))
    with pytest.raises(RuntimeError, match=r"all 3-D \(batched\) or all 2-D \(unbatched\); got query \(3, 2, 4\), "
                                           r"key \(3, 4\)"):
        mha(x, Tensor(np.zeros((3, 4))), Tensor(np.zeros((3, 4))))


# --------------------------------------------------------------------------- MultiheadAttention against torch

MHA_CONFIGS = [
    {},
    {"batch_first": True},
    {"bias": False},
    {"kdim": 3, "vdim": 5},
    {"add_bias_kv": True},
    {"add_zero_attn": True},
    {"add_bias_kv": True, "add_zero_attn": True, "batch_first": True},
]

CALLS = [  # (inputs: "self" / "cross" / "unbatched", forward keywords as names of masks)
    ("self", {}),
    ("self", {"attn_mask": "causal-bool", "is_causal": True}),
    ("cross", {"key_padding_mask": "padding-bool", "average_attn_weights": False}),
    ("cross", {"attn_mask": "float-3d", "key_padding_mask": "padding-float"}),
    ("self", {"attn_mask": "float-2d", "need_weights": False}),
    ("cross", {"attn_mask": "empty-row", "need_weights": False}),  # torch's SDPA path: zeros there
    ("cross", {"attn_mask": "empty-row"}),  # torch's path with weights: nan there
    ("unbatched", {"attn_mask": "causal-bool", "key_padding_mask": "padding-bool"}),
]


def _mask(kind: str, rng: np.random.Generator, N: int, H: int, L: int, S: int, batched: bool) -> np.ndarray:
    if kind == "causal-bool":
        return np.triu(np.ones((L, S), bool), k=1)
    if kind == "padding-bool":
        m = np.zeros((N, S) if batched else (S,), bool)
        m[..., -1] = True
        return m
    if kind == "padding-float":
        return rng.normal(size=(N, S))
    if kind == "float-3d":
        return rng.normal(size=(N * H, L, S))
    if kind == "float-2d":
        return rng.normal(size=(L, S))
    if kind == "empty-row":
        m = np.zeros((L, S), bool)
        m[1] = True
        return m
    raise AssertionError(kind)


@pytest.mark.parametrize("config", MHA_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_mha_matches_torch_both_ways(config: dict[str, Any]) -> None:
    """torch's weights loaded into ours and ours into torch: outputs, weights and every gradient at 1e-8."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    E, H, N, L, S = 4, 2, 2, 3, 4
    rng = np.random.default_rng(11)
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, H, dtype=torch.float64, **config)
    ours = MultiheadAttention(E, H, rng=5, **config)
    for name, p in ours.named_parameters():  # biases away from 0, so that they matter
        p.data[...] = rng.normal(size=p.shape) * 0.5
    for direction in ("torch into ours", "ours into torch"):
        if direction == "torch into ours":
            with torch.no_grad():
                for p in theirs.parameters():
                    p.normal_()
            ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        else:
            theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
        for inputs, keywords in CALLS:
            batched = inputs != "unbatched"
            kdim, vdim = config.get("kdim", E), config.get("vdim", E)
            lead = (N,) if config.get("batch_first") else ()
            trail = () if config.get("batch_first") else (N,)
            if not batched:
                lead = trail = ()
            q = rng.normal(size=lead + (L,) + trail + (E,))
            if inputs == "self" and kdim == vdim == E:
                arrays = [q, q, q]
            else:
                arrays = [q, rng.normal(size=lead + (S,) + trail + (kdim,)), rng.normal(size=lead + (S,) + trail + (vdim,))]
            s = arrays[1].shape[-2] if config.get("batch_first") or not batched else arrays[1].shape[0]
            named = {k: _mask(v, rng, N, H, L, s, batched) if isinstance(v, str) else v for k, v in keywords.items()}
            what = f"{direction} {config} {inputs} {keywords}"
            ours.zero_grad()
            theirs.zero_grad()
            tensors = [Tensor(a, requires_grad=True) for a in arrays[:1]] if arrays[0] is arrays[1] else \
                [Tensor(a, requires_grad=True) for a in arrays]
            torch_tensors = [torch.tensor(a, requires_grad=True) for a in arrays[:len(tensors)]]
            call = tensors * 3 if len(tensors) == 1 else tensors
            torch_call = torch_tensors * 3 if len(torch_tensors) == 1 else torch_tensors
            torch_named = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in named.items()}
            with np.errstate(invalid="ignore"):  # the row with nowhere to look is nan with weights, as torch's
                out, weights = ours(*call, **named)
            expected, expected_weights = theirs(*torch_call, **torch_named)
            assert_close(out.data, expected.detach().numpy(), "output " + what, atol=1e-8, rtol=1e-8)
            if expected_weights is None:
                assert weights is None, what
            else:
                assert_close(weights.data, expected_weights.detach().numpy(), "weights " + what, atol=1e-8, rtol=1e-8)
            cotangent = rng.normal(size=out.shape)
            total = (out * cotangent).sum()
            expected_total = (expected * torch.tensor(cotangent)).sum()
            if weights is not None and np.isfinite(weights.data).all():
                w_cotangent = rng.normal(size=weights.shape)
                total = total + (weights * w_cotangent).sum()
                expected_total = expected_total + (expected_weights * torch.tensor(w_cotangent)).sum()
            with np.errstate(invalid="ignore"):
                total.backward()
            expected_total.backward()
            torch_params = dict(theirs.named_parameters())
            for name, p in ours.named_parameters():
                assert_close(p.grad, torch_params[name].grad.numpy(), f"d{name} {what}", atol=1e-8, rtol=1e-8)
            for i, (t, tt) in enumerate(zip(tensors, torch_tensors)):
                assert_close(t.grad, tt.grad.numpy(), f"d input {i} {what}", atol=1e-8, rtol=1e-8)
