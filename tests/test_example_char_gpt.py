"""What examples/char_gpt.py shows: a small GPT learns the names (below the untrained model and the bigram
counts), its attention is causal, and graph_stats counts about 6N + 12·n_layer·T·d FLOPs per token for a
training step (the matmuls exactly: every weight once per token, plus the scores and their weighted sum)."""

from __future__ import annotations

import math
import pathlib
import re
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor

from .test_examples import load_example


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example("char_gpt")


@pytest.fixture(scope="module")
def results(example: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return example.run(quick=True, out=tmp_path_factory.mktemp("char_gpt"))  # type: ignore[no-any-return]


def test_training_beats_the_untrained_model_and_the_bigram(results: dict[str, Any]) -> None:
    untrained, trained, bigram = results["untrained_val_loss"], results["val_loss"], results["bigram_val_loss"]
    assert abs(untrained - math.log(27)) < 0.1  # small initial weights: about a uniform guess
    assert trained < untrained - 0.8
    assert trained < bigram - 0.05  # (quick: about 2.26 against 2.41)
    assert results["history"]["val"][-1] == trained and len(results["history"]["train"]) == results["config"]["steps"]


def test_samples_are_names_of_a_to_z(results: dict[str, Any]) -> None:
    for samples in (results["samples_before"], results["samples_after"]):
        assert samples and all(re.fullmatch("[a-z]*", s) for s in samples), samples
    assert sum(len(s) > 0 for s in results["samples_after"]) >= len(results["samples_after"]) - 1


def test_attention_maps_are_causal_and_rows_sum_to_one(results: dict[str, Any]) -> None:
    maps = results["attention"]
    config, T = results["config"], len(results["attention_name"]) + 1
    assert maps.shape == (config["n_layer"], config["n_head"], T, T)
    assert np.all(maps[..., np.triu_indices(T, k=1)[0], np.triu_indices(T, k=1)[1]] == 0)  # no look at the future
    assert np.allclose(maps.sum(axis=-1), 1.0, atol=1e-5)
    assert np.all(maps >= 0)


def test_attention_weights_are_what_the_forward_pass_uses(example: ModuleType) -> None:
    """weights @ v, heads side by side, through proj, is the attention layer's output (sdpa's)."""
    config = example.Config(n_embd=16, n_head=4, n_layer=1)
    model = example.GPT(config, 27, 6, dtype=np.float64)
    attn = model.blocks[0].attn
    x = Tensor(np.random.default_rng(0).normal(size=(2, 6, 16)))
    w = attn.weights(x)
    _, _, v = attn.heads(x)
    y = (w @ v).transpose(0, 2, 1, 3).reshape(2, 6, 16)
    assert np.allclose(attn.proj(y).data, attn(x).data, atol=1e-12)


def test_flops_ratio_to_the_formula(results: dict[str, Any], example: ModuleType) -> None:
    flops, config = results["flops"], results["config"]
    assert 0.8 < flops["ratio"] < 1.3  # the rest is elementwise work: LayerNorm, GELU, softmax, biases
    assert flops["ratio"] == pytest.approx(flops["flops_per_token"] / flops["formula_flops_per_token"])
    # the matmuls exactly: per token each weight matrix once, and per layer T·d MACs for the scores and
    # T·d for their weighted sum, forward; the backward twice that (both inputs of every matmul)
    d, L, V, T = config["n_embd"], config["n_layer"], 27, results["block_size"]
    assert T == 14  # the names' width: the longest name (13) plus the "." in front
    weights = L * (d * 3 * d + d * d + d * 4 * d + 4 * d * d) + d * V  # qkv, proj, fc, proj; the head
    assert flops["weight_macs_per_token"] == weights
    assert flops["matmul_flops_per_token"] == 3 * 2 * (weights + 2 * L * T * d)
    biases_and_gains = L * (3 * d + d + 4 * d + d + 2 * 2 * d) + V + 2 * d  # two LayerNorms a block; ln_f
    assert flops["non_embedding_parameters"] == weights + biases_and_gains


def test_pictures_are_pngs(results: dict[str, Any]) -> None:
    assert len(results["pictures"]) == 2
    for picture in results["pictures"]:
        assert pathlib.Path(picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture


def test_bigram_loss_against_counts_by_hand(example: ModuleType) -> None:
    X, Y = np.array([[0, 1, 2]]), np.array([[1, 2, 0]])  # ".ab" -> "ab."
    # the pairs (., a), (a, b), (b, .): each row of counts is 1 + 27 ones, so every seen pair has p = 2/28
    assert example.bigram_loss(X, Y, X, Y) == pytest.approx(-math.log(2 / 28))
    Y_padded = np.array([[1, 2, example.IGNORE]])
    assert example.bigram_loss(X, Y_padded, X, Y_padded) == pytest.approx(-math.log(2 / 28))


def test_weight_decay_on_matrices_only(example: ModuleType) -> None:
    model = example.GPT(example.Config(n_embd=8, n_head=2, n_layer=1, steps=10, warmup=2), 27, 5)
    opt, _ = example.configure_optimizer(model, model.config)
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] > 0 and plain["weight_decay"] == 0
    assert all(p.ndim == 2 for p in decayed["params"]) and all(p.ndim == 1 for p in plain["params"])
    assert len(decayed["params"]) + len(plain["params"]) == len(model.parameters())


def test_the_model_matches_torch(example: ModuleType) -> None:
    """The same GPT written in torch, with our weights loaded: logits and every gradient at 1e-10 in float64."""
    torch = pytest.importorskip("torch")
    tnn, TF = torch.nn, torch.nn.functional
    config = example.Config(n_embd=16, n_head=4, n_layer=2)
    model = example.GPT(config, 27, 7, dtype=np.float64)

    class TorchGPT(tnn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            d = config.n_embd
            self.token_embedding, self.position_embedding = tnn.Embedding(27, d), tnn.Embedding(7, d)
            self.blocks = tnn.ModuleList()
            for _ in range(config.n_layer):
                block = tnn.Module()
                block.ln_1, block.ln_2 = tnn.LayerNorm(d), tnn.LayerNorm(d)
                block.attn, block.mlp = tnn.Module(), tnn.Module()
                block.attn.qkv, block.attn.proj = tnn.Linear(d, 3 * d), tnn.Linear(d, d)
                block.mlp.fc, block.mlp.proj = tnn.Linear(d, 4 * d), tnn.Linear(4 * d, d)
                self.blocks.append(block)
            self.ln_f, self.lm_head = tnn.LayerNorm(d), tnn.Linear(d, 27)

        def forward(self, idx: Any) -> Any:
            B, T = idx.shape
            d, H = config.n_embd, config.n_head
            x = self.token_embedding(idx) + self.position_embedding(torch.arange(T))
            for b in self.blocks:
                q, k, v = b.attn.qkv(b.ln_1(x)).split(d, dim=2)
                q, k, v = (t.view(B, T, H, d // H).transpose(1, 2) for t in (q, k, v))
                y = TF.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, d)
                x = x + b.attn.proj(y)
                x = x + b.mlp.proj(TF.gelu(b.mlp.fc(b.ln_2(x)), approximate="tanh"))
            return self.lm_head(self.ln_f(x))

    reference = TorchGPT().double()
    reference.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()})
    X = np.random.default_rng(0).integers(0, 27, (3, 7))
    Y = np.random.default_rng(1).integers(0, 27, (3, 7))
    Y[0, 5:] = example.IGNORE
    loss = example.loss_of(model, X, Y)
    loss.backward()
    logits = reference(torch.from_numpy(X))
    expected = TF.cross_entropy(logits.reshape(-1, 27), torch.from_numpy(Y).reshape(-1), ignore_index=example.IGNORE)
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), abs=1e-10)
    grads = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        assert np.allclose(p.grad, grads[name].grad.numpy(), atol=1e-10), name


def test_model_names_read_like_nanogpt(example: ModuleType) -> None:
    model = example.GPT(example.Config(n_embd=8, n_head=2, n_layer=2), 27, 5)
    names = [name for name, _ in model.named_parameters()]
    assert names[:2] == ["token_embedding.weight", "position_embedding.weight"]
    assert "blocks.1.attn.qkv.weight" in names and "blocks.0.mlp.fc.bias" in names
    assert names[-4:] == ["ln_f.weight", "ln_f.bias", "lm_head.weight", "lm_head.bias"]
    assert isinstance(tg.graph_stats(example.loss_of(model, np.zeros((1, 5), dtype=np.int64),
                                                     np.zeros((1, 5), dtype=np.int64))), tg.GraphStats)


def test_the_lstm_baseline_runs_on_the_same_split(example: ModuleType) -> None:
    data = example.names_data()
    loss = example.lstm_val_loss(data, steps=5)
    assert 2.0 < loss < math.log(27) + 0.2  # five steps: barely trained, but a loss of the same kind
