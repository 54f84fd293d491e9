"""Embedding and Dropout: lookups and masks checked directly in NumPy, and torch as a second witness."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.nn import Dropout, Embedding
from tinygrad_edu.nn import functional as F

from .layer_parity import assert_parity, numpy_state, torch_state

IDS = np.array([[1, 4, 4, 0], [2, 1, 0, 0]])  # repeated ids: their gradients add up in one row

# ----------------------------------------------------------------------------- Embedding


def test_embedding_picks_rows_and_adds_gradients_of_repeated_ids() -> None:
    emb = Embedding(5, 3, rng=0)
    out = emb(IDS)
    np.testing.assert_array_equal(out.data, emb.weight.data[IDS])
    g = np.random.default_rng(1).normal(size=out.shape)
    (out * g).sum().backward()
    expected = np.zeros((5, 3))
    for idx, row in zip(IDS.reshape(-1), g.reshape(-1, 3)):
        expected[idx] += row
    np.testing.assert_allclose(emb.weight.grad, expected, rtol=0, atol=1e-14)


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient() -> None:
    emb = Embedding(5, 3, padding_idx=-5, rng=0)  # a negative padding_idx counts from the end, as in torch
    assert emb.padding_idx == 0 and not emb.weight.data[0].any()
    emb.weight.data[0] = 7.0  # a padding row loaded with values: they are returned, never trained
    out = emb(IDS)
    np.testing.assert_array_equal(out.data, emb.weight.data[IDS])
    out.sum().backward()
    assert not emb.weight.grad[0].any() and emb.weight.grad[4].tolist() == [2.0, 2.0, 2.0]  # type: ignore[index]


def test_embedding_initialisation_is_standard_normal() -> None:
    w = Embedding(200, 50, rng=0).weight.data
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02


def test_embedding_errors_name_the_layer_index_and_size() -> None:
    emb = Embedding(5, 3, rng=0)
    with pytest.raises(IndexError, match=r"Embedding\(5, 3\): index 7 is out of range for 5 embeddings"):
        emb([[1, 7]])
    with pytest.raises(IndexError, match="index -1 is out of range"):
        emb([-1])
    with pytest.raises(ValueError, match="integer ids"):
        emb(Tensor([1.0]))
    with pytest.raises(ValueError, match="padding_idx"):
        Embedding(5, 3, padding_idx=5)


@pytest.mark.parametrize("padding_idx", [None, 0])
def test_embedding_matches_torch(padding_idx: int | None) -> None:
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Embedding(5, 3, padding_idx=padding_idx, dtype=torch.float64)
    ours = Embedding(5, 3, padding_idx=padding_idx, rng=0)
    ours.load_state_dict(numpy_state(theirs))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert_parity(ours, theirs, IDS)
    ours.weight.data[...] = np.arange(15.0).reshape(5, 3)
    theirs.load_state_dict(torch_state(ours))
    np.testing.assert_array_equal(ours(IDS).data, theirs(torch.from_numpy(IDS)).detach().numpy())


# ----------------------------------------------------------------------------- Dropout


def test_dropout_scales_the_kept_elements_and_passes_their_gradient() -> None:
    x = Tensor(np.ones((100, 100)), requires_grad=True)
    y = Dropout(0.3, rng=0)(x)
    kept = y.data != 0
    assert abs(1 - kept.mean() - 0.3) < 0.02
    np.testing.assert_allclose(y.data[kept], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # d y / d x is the scaled mask itself


def test_dropout_is_seedable_and_the_identity_in_eval() -> None:
    x = Tensor(np.random.default_rng(0).normal(size=(4, 5)))
    a, b = Dropout(0.5, rng=3), Dropout(0.5, rng=3)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert not np.array_equal(a(x).data, a(x).data)  # a new mask every call
    assert a.eval()(x) is x and Dropout(0.0)(x) is x
    assert not Dropout(1.0)(x).data.any()
    np.testing.assert_array_equal(F.dropout(x, 0.5, training=True, rng=3).data, Dropout(0.5, rng=3)(x).data)


def test_dropout_keeps_float32_and_refuses_bad_probabilities() -> None:
    x = Tensor(np.ones(4, dtype=np.float32), requires_grad=True)
    y = Dropout(0.5, rng=0)(x)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == np.float32  # type: ignore[union-attr]
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=f"between 0 and 1, but got {p}"):
            Dropout(p)
    assert tg.nn.Dropout is Dropout and repr(Dropout(0.25)) == "Dropout(p=0.25)"
